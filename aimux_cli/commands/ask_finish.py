"""`aimux ask` after the body: the document (toon/json, with the `client` section), the footer (rich) or the notes
(text), then the exit code of what happened (an error document, a cut, an incomplete stream).
"""

from __future__ import annotations

import sys
import time

from aimux_cli import output
from aimux_cli.commands.ask_exchange import Exchange, _scrub, _type_message
from aimux_cli.errors import AimuxError, ExitCode, IncompleteError, SchemaInvalid, exit_code_for_error
from aimux_cli.live import INTERRUPTS, View, interrupted_line
from aimux_cli.present import dumps_json, scrubbed, warn


def finish(doc, cut: IncompleteError | None, fmt: str, env, view: View, exchange: Exchange) -> int:
    """After the body: the document (toon/json), the footer (rich), then the exit code of what happened."""
    provider = exchange.prepared.provider
    if doc is None:
        return outcome(doc, cut, exchange)  # raises
    skipped = exchange.pump.folder.skipped if exchange.pump is not None else 0
    if skipped:  # as prettify (and prettify --follow) says it of the same bytes
        warn(f"{provider}: skipped {skipped} event(s) whose data was not JSON")
    verdict = schema_verdict(doc, cut, exchange.extras)
    data = doc.to_dict()
    if fmt in ("json", "toon"):
        if verdict is not None:
            data["schema"] = verdict.to_dict()
        data["client"] = {**client_timing(view.first_delta, exchange), **getattr(exchange, "client_extra", {})}
    if fmt == "json":
        output.write(dumps_json(data) + "\n")
    elif fmt == "toon":
        from aimux_cli.toon import encode

        output.write(encode(data) + "\n")
    elif fmt == "rich":
        footer(doc, env, view, exchange)
    elif fmt == "text" and doc.status != "error":  # an error document gets its own line below
        from aimux_cli.present import text_notes

        text_notes(doc)  # what else the answer was (a refusal, warnings, content filtering), on stderr
    return outcome(doc, cut, exchange, verdict)


def outcome(doc, cut: IncompleteError | None, exchange: Exchange, verdict=False) -> int:
    """The exit code of what arrived, printing nothing: 0, or the AimuxError of no answer, a cut, an error document,
    an incomplete stream or an answer that fails --schema is raised (commands/ask_many.py judges each provider
    with it). `verdict`: schema_verdict's, when the caller has it."""
    provider = exchange.prepared.provider
    if doc is None:
        if cut is not None:
            raise cut
        raise IncompleteError(f"{provider}: the response ended before any answer arrived")
    if verdict is False:
        verdict = schema_verdict(doc, cut, exchange.extras)
    if cut is not None:
        raise IncompleteError(f"{cut}; what arrived is printed above")
    if doc.status == "error":
        err = doc.error
        status = err.get("status")
        where = f"HTTP {status}" if status else "error in the response"
        line = f"{provider}: {where}: {_type_message(err) or 'no details given'}"
        raise AimuxError(_scrub(line, exchange.prepared), exit_code=exit_code_for_error(err))
    if doc.status == "incomplete":
        raise IncompleteError(f"{provider}: the stream ended before its terminal event: the answer is incomplete")
    if verdict is not None and not verdict.valid:
        raise SchemaInvalid(_scrub(f"{provider}: the answer does not validate against --schema: "
                                   f"{verdict.first_line()}", exchange.prepared))
    return int(ExitCode.OK)


def schema_verdict(doc, cut, extras):
    """The answer checked against --schema (schema_check.SchemaCheck), or None: no schema, or no whole answer to
    check (an error, a stream cut short or incomplete)."""
    if extras is None or getattr(extras, "schema", None) is None or cut is not None:
        return None
    if doc.status in ("error", "incomplete"):
        return None
    from aimux_cli.request_extras import structured_answer
    from aimux_cli.schema_check import check

    return check(structured_answer(doc, extras) or "", extras.schema)


def client_timing(first_delta: float | None, exchange: Exchange) -> dict:
    """What aimux measured itself (the footer's figures): time to the first visible token of a stream, the whole
    exchange, and the attempts it took, in seconds from the start of the request that succeeded."""
    t0, t_end = exchange.t_start, exchange.t_end or time.monotonic()
    timing = {}
    if first_delta is not None and exchange.prepared.stream:
        timing["first_token_s"] = round(first_delta - t0, 4)
    timing["total_s"] = round(t_end - t0, 4)
    timing["attempts"] = exchange.attempts
    return timing


def footer(doc, env, view: View, exchange: Exchange) -> None:
    """One dimmed line on stderr: model · tokens · time to first token · total time · tokens per second."""
    from rich.text import Text

    from aimux_cli.render.sanitize import for_terminal

    env.stderr_console.print(Text(for_terminal(footer_text(doc, view.first_delta, exchange)), style="dim"),
                             soft_wrap=True)


def footer_text(doc, first_delta: float | None, exchange: Exchange) -> str:
    usage = doc.usage or {}
    t0, t_end = exchange.t_start, exchange.t_end or time.monotonic()
    parts = [doc.model or exchange.prepared.provider]
    if getattr(exchange, "label", None):  # ask --fallback: the provider that answered
        parts.insert(0, exchange.label)
    if "input_tokens" in usage or "output_tokens" in usage:
        parts.append(f"{usage.get('input_tokens', '?')} in / {usage.get('output_tokens', '?')} out tokens")
    if first_delta is not None and exchange.prepared.stream:
        parts.append(f"first token {first_delta - t0:.2f} s")
    parts.append(f"total {t_end - t0:.2f} s")
    out = usage.get("output_tokens")
    start = first_delta if first_delta is not None and exchange.prepared.stream else t0
    if isinstance(out, int) and out > 0 and t_end > start:
        parts.append(f"{out / (t_end - start):.1f} tok/s")
    if doc.finish not in (None, "stop"):
        parts.append(f"finish {doc.finish}")
    return " · ".join(parts)


def interrupted(view: View, exchange: Exchange) -> int:
    """Ctrl-C: the view is closed (what was drawn stays, once), then one line on stderr with what had arrived."""
    INTERRUPTS.restore()  # a second Ctrl-C now ends aimux at once
    exchange.t_end = exchange.t_end or time.monotonic()
    try:
        view.close(None, interrupted=True)
    except KeyboardInterrupt:
        pass
    doc = exchange.pump.document() if exchange.pump is not None else None
    line = interrupted_line(exchange.t_end - exchange.t_start, doc, view.deltas, "chunks", view.chars)
    from aimux_cli.render.sanitize import for_terminal

    sys.stderr.write(f"aimux: {for_terminal(scrubbed(line))}\n")
    sys.stderr.flush()
    return int(ExitCode.INTERRUPTED)


