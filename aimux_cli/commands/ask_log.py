"""`aimux ask` and the exchange log (aimux_cli/logdb.py): writing each exchange, and conversations read back from it.

Writing: `record(state, code)` runs once ask prepared a request, whatever the outcome (an answer, an HTTP error, a
stream cut short, Ctrl-C), unless `--no-log` or `log = false` in the config; it never raises (logdb.record warns once
on stderr). `prefetch()` imports logdb (and sqlite3, about 2 ms) in a thread while the request is under way.

Conversations: every ask that starts one gets a new conversation id (12 hex digits). `ask -c/--continue` continues
the conversation of the newest logged ask, `--cid ID` a given one: `history(...)` reads its turns in order and
returns them as role/content messages (the user's prompt, then the assistant's answer text) that request.build
writes in the wire's own format (OpenAI and Ollama `messages`, Anthropic `messages`, Gemini `contents` with role
`model`, Responses `input`), so a conversation can move between providers of different wires. Turns that failed
(a non-zero exit code) or brought no answer text are left out; tool calls are not re-sent (ask runs no tools, so
there are no results to pair them with). The system prompt of the conversation's newest turn is kept unless
`--system` gives another.
"""

from __future__ import annotations

import time
from typing import Any

from aimux_cli.errors import AimuxError, ExitCode, InputError


def exit_code_of(exc: BaseException) -> int:
    if isinstance(exc, AimuxError):
        return int(exc.exit_code)
    if isinstance(exc, KeyboardInterrupt):
        return int(ExitCode.INTERRUPTED)
    return int(ExitCode.FAILURE)


def enabled() -> bool:
    """The config's `log` setting (true unless the file says `log = false`)."""
    from aimux_cli import config

    try:
        return config.load().log
    except AimuxError:  # resolve() read the same file without error; one changed since is not worth a warning
        return False


def record(state: dict, code: int | None) -> None:
    """Write the exchange in `state` (exchange, view, prompt, system, conversation) to the log."""
    if not enabled():
        return
    exchange, view = state["exchange"], state.get("view")
    if exchange.prefetch is not None:
        exchange.prefetch.join()
    from aimux_cli import logdb

    doc = exchange.pump.document() if exchange.pump is not None else None
    first = view.first_delta if view is not None else None
    ttft = round(first - exchange.t_start, 4) if first is not None and exchange.prepared.stream else None
    total = round((exchange.t_end or time.monotonic()) - exchange.t_start, 4)
    raw = b"".join(exchange.received) if exchange.received else exchange.error_body
    row = logdb.entry(command="ask", prepared=exchange.prepared, wire=exchange.wire, model=exchange.model,
                      prompt=state.get("prompt"), status=exchange.status, response_headers=exchange.headers,
                      raw=raw, doc=doc, ttft_s=ttft, total_s=total,
                      exit_code=int(ExitCode.OK) if code is None else code,
                      conversation_id=state.get("conversation"), system=state.get("system"))
    logdb.record(row)


def prefetch(module: str = "aimux_cli.logdb"):
    """A thread importing `module` (joined before it is used): its import overlaps the wait for the provider."""
    import importlib
    import threading

    def load() -> None:
        try:
            importlib.import_module(module)
        except Exception:  # the importer in the main thread meets the same error and reports it
            pass

    thread = threading.Thread(target=load, name=f"import {module}", daemon=True)
    thread.start()
    return thread


def new_conversation() -> str:
    import os

    return os.urandom(6).hex()


def history(cid: str | None) -> tuple[str, list[dict[str, str]], str | None]:
    """(conversation id, earlier turns as role/content messages, its newest system prompt) of `cid`, or of the
    newest logged ask when `cid` is None. InputError (exit 4) when there is no such conversation."""
    from aimux_cli import logdb

    try:
        conn = logdb.connect(create=False)
    except logdb.LogError as exc:
        raise InputError(f"no conversation to continue: {exc}") from None
    try:
        if cid is None:
            row = conn.execute("SELECT conversation_id FROM exchanges WHERE command = 'ask' AND conversation_id "
                               "IS NOT NULL ORDER BY id DESC LIMIT 1").fetchone()
            if row is None:
                raise InputError("no conversation to continue: the log has no ask yet")
            cid = row[0]
        rows = conn.execute("SELECT prompt, answer, exit_code, system FROM exchanges WHERE conversation_id = ? "
                            "ORDER BY id", (cid,)).fetchall()
    except Exception as exc:
        if isinstance(exc, AimuxError):
            raise
        raise InputError(f"cannot read the log: {exc}") from None
    finally:
        conn.close()
    if not rows:
        raise InputError(f"no conversation {cid!r} in the log (aimux logs -f json lists conversation_id)")
    return cid, turns(rows), rows[-1]["system"]


def turns(rows: Any) -> list[dict[str, str]]:
    messages: list[dict[str, str]] = []
    for row in rows:
        if row["exit_code"] != 0 or not row["prompt"] or not (row["answer"] or "").strip():
            continue
        messages += [{"role": "user", "content": row["prompt"]}, {"role": "assistant", "content": row["answer"]}]
    return messages
