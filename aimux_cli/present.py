"""Presenting an outcome (a normalized document or a generic JSON value): the format it is written in, the warnings
and errors on stderr, and the exit code it earns. Shared by the commands (prettify, its --follow mode, ask); only
`output` writes to stdout.

Exit codes of a document: 0; 9 when a stream ended without its terminal event; with `fail`, 5/6/7 for an error
document by the provider's error type or code, else its HTTP status (errors.exit_code_for_error).
"""

from __future__ import annotations

import sys

from aimux_cli import output
from aimux_cli.errors import ExitCode, InputError, exit_code_for_error


class PrettifyOptions:
    """The options of one prettify run (a plain class: a dataclass costs a millisecond of start-up)."""

    def __init__(self, files: list[str], wire: str | None = None, provider: str | None = None,
                 fmt: str | None = None, delimiter: str = "comma", indent: int = 2, follow: bool = False,
                 fail: bool = False, color: bool | None = None) -> None:
        self.files, self.wire, self.provider, self.fmt = files, wire, provider, fmt
        self.delimiter, self.indent, self.follow, self.fail, self.color = delimiter, indent, follow, fail, color


def normalize_and_emit(source, opts: PrettifyOptions, fmt: str, env, *, label: str | None = None,
                       first: bool = True) -> int:
    """Normalize one source, write it, and return its exit code (input errors are reported here)."""
    from aimux_cli.prettify import normalize

    try:
        outcome = normalize(source, wire=opts.wire, provider=opts.provider)
    except InputError as exc:
        warn(str(exc), error=True)
        return int(exc.exit_code)
    for message in outcome.warnings:
        warn(message)
    emit(outcome, fmt, opts, env, label=label, first=first)
    if outcome.error is not None:  # what was received is printed above, the error about the rest here
        warn(str(outcome.error), error=True)
        return int(outcome.error.exit_code)
    return exit_code_of(outcome.document, opts.fail)


def exit_code_of(doc, fail: bool) -> int:
    """0; 9 (with its line) only for a stream cut before its terminal event; with `fail`, the error's code.

    A response the provider itself marks unfinished (Responses `status: incomplete`, `finish_reason: length`)
    arrived whole: its status is ok and `finish` says why, so it exits 0."""
    if doc is None:
        return 0
    if _cut(doc):
        warn("the stream ended before its terminal event: the response is incomplete", error=True)
        return int(ExitCode.INCOMPLETE)
    if doc.status == "error" and fail:
        return int(exit_code_for_error(doc.error))
    return 0


def _cut(doc) -> bool:
    """Whether the transport cut the stream short: the document's `truncated` flag when it has one, else its
    `incomplete` status (which the accumulator gives only to a stream that ended without its terminal event)."""
    truncated = getattr(doc, "truncated", None)
    return bool(truncated) if truncated is not None else doc.status == "incomplete"


def emit(outcome, fmt: str, opts: PrettifyOptions, env, *, label: str | None = None, first: bool = True,
         summary_only: bool = False) -> None:
    """Write one outcome in the chosen format; only this function decides what reaches stdout.

    `summary_only` (Rich view after --follow drew the blocks): the header, usage and errors without the blocks."""
    if fmt == "rich":
        from aimux_cli.render.rich_view import render_rich, render_value
        console = env.stdout_console
        if label is not None:
            from aimux_cli.render.sanitize import for_terminal
            from rich.text import Text
            console.print(Text(f"── {for_terminal(label)} ──", style="bold"))
        if outcome.document is not None:
            render_rich(outcome.document.to_dict(), console, blocks=not summary_only)
        else:
            render_value(outcome.value, console)
        return
    if fmt == "toon":
        _emit_toon(outcome, opts, env, label, first)
        return
    if fmt == "json" and getattr(outcome.document, "kind", None):  # a batch, vectors: in pieces (aimux_cli/kinds)
        from aimux_cli.render.sanitize import for_terminal
        for piece in outcome.document.json_pieces():
            output.write(for_terminal(piece) if env.stdout_isatty else piece)
        return
    text = render(outcome, fmt, opts)
    if env.stdout_isatty:
        # JSON and TOON escape C0 controls, but not C1, bidi or zero-width characters: on a terminal every format
        # goes through the sanitizer (a pipe keeps the data exact)
        from aimux_cli.render.sanitize import for_terminal
        text = for_terminal(text)
    output.write(text)
    if fmt == "text" and outcome.document is not None:
        text_notes(outcome.document)


def _emit_toon(outcome, opts: PrettifyOptions, env, label: str | None, first: bool) -> None:
    """TOON written in pieces of lines: the whole text, joined and then copied with its newline, was two more copies
    of the output at once (issue 9). The same bytes as `render` gives."""
    from aimux_cli.toon import DELIMITERS, encode_pieces

    clean = None
    if env.stdout_isatty:  # a piece ends at a line end, and nothing the sanitizer escapes spans one
        from aimux_cli.render.sanitize import for_terminal as clean
    if label is not None:
        head = f"{'' if first else chr(10)}# {_one_line(label)}\n"
        output.write(clean(head) if clean else head)
    wrote = False
    for piece in encode_pieces(outcome.data, indent=opts.indent, delimiter=DELIMITERS[opts.delimiter]):
        output.write(clean(piece) if clean else piece)
        wrote = True
    if wrote:
        output.write("\n")


def text_notes(doc) -> None:
    """`-f text` shows only answer text: say on stderr what else the answer was (an error, a refusal), so that an
    error never vanishes in a pipeline (the exit code stays 0 without --fail)."""
    if doc.status == "error":
        warn(error_line(doc), error=True)
    for block in doc.blocks:
        if block.get("type") == "refusal":
            warn(f"the model refused: {block.get('text', '')}")
    for message in doc.warnings:  # what could not be read: the document's `warnings`
        warn(message)
    if doc.safety:  # notable content-filter results (a filtered answer, a detected jailbreak)
        from aimux_cli.render.text import safety_notes
        for note in safety_notes({"safety": list(doc.safety)}):
            warn(note)


def error_line(doc) -> str:
    """One line for an error document: provider, HTTP status when known, the error's type and code, its message."""
    err = doc.error
    parts = [str(doc.provider or "the response"), f"HTTP {err['status']}" if err.get("status") else None,
             err.get("type"), err.get("code") if err.get("code") != err.get("type") else None,
             err.get("message") or "(no message)"]
    return ": ".join(str(p) for p in parts if p not in (None, ""))


def render(outcome, fmt: str, opts: PrettifyOptions) -> str:
    """The text of an outcome for the piped formats (toon, json, text)."""
    data = outcome.data
    if fmt == "json" and getattr(outcome.document, "kind", None):  # embeddings keep their vectors in -f json only
        return "".join(outcome.document.json_pieces())
    if fmt == "toon":
        from aimux_cli.toon import DELIMITERS, encode
        text = encode(data, indent=opts.indent, delimiter=DELIMITERS[opts.delimiter])
        return text + "\n" if text else text
    if fmt == "json" or outcome.document is None:  # text of a non-provider JSON value: the JSON itself
        return dumps_json(data) + "\n"
    from aimux_cli.render.text import render_text
    return render_text(outcome.document.to_dict()) + tool_lines(outcome.document)


def tool_lines(doc) -> str:
    """`-f text` after the answer text: one `tool NAME ARGUMENTS-AS-JSON` line per tool call, as `ask -f text` and
    `prettify --follow -f text` print them (render/plain_stream.py), so a body and its stream give the same output."""
    calls = [b for b in doc.blocks if b.get("type") == "tool_call"]
    if not calls:
        return ""
    from aimux_cli.render.plain_stream import plain_call
    return "".join(plain_call(block) + "\n" for block in calls)


def dumps_json(data) -> str:
    """Indented JSON of any depth and any integer (aimux_cli.jsondump takes over where orjson refuses)."""
    from aimux_cli.jsondump import dumps
    return dumps(data, 2)


def write_data(data, fmt: str, env) -> None:
    """Write a plain value (a list of log entries, of models, a report) as `json` or `toon` to stdout, sanitized when
    stdout is a terminal (a pipe keeps the data exact)."""
    if fmt == "json":
        text = dumps_json(data) + "\n"
    else:
        from aimux_cli.toon import encode
        text = encode(data) + "\n"
    if env.stdout_isatty:
        from aimux_cli.render.sanitize import for_terminal
        text = for_terminal(text)
    output.write(text)


def _one_line(label: str) -> str:
    return label.replace("\r", "\\r").replace("\n", "\\n")


def warn(message: str, *, error: bool = False) -> None:
    from aimux_cli.render.sanitize import for_terminal
    kind = "error" if error else "warning"
    sys.stderr.write(f"aimux: {kind}: {for_terminal(' '.join(scrubbed(message).splitlines()))}\n")
    sys.stderr.flush()


def scrubbed(text: str) -> str:
    """`text` without any registered secret. Call it before lines are joined, cut or sanitized: a key that spans
    lines (a multi-line `api_key_cmd` output) no longer matches once they are."""
    redact = sys.modules.get("aimux_cli.redact")  # not imported: no secret was ever registered (prettify)
    return redact.scrub(text) if redact is not None else text
