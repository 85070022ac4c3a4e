"""`aimux ask` and the exchange log (aimux_cli/logdb.py): writing each exchange, and conversations read back from it.

Writing: `record(state, code)` runs once ask prepared a request, whatever the outcome (an answer, an HTTP error, a
stream cut short, Ctrl-C), unless `--no-log` or `log = false` in the config; it never raises (logdb.record warns once
on stderr). `prefetch()` imports logdb (and sqlite3, about 2 ms) in a thread while the request is under way.

Conversations: every ask that starts one gets a new conversation id (12 hex digits). `ask -c/--continue` continues
the conversation of the newest logged ask, `--cid ID` a given one: `history(...)` reads its turns in order and
returns them as neutral turns (request_wire.py: the user's prompt, the assistant's answer text and tool calls, the
tool results sent back with `--tool-result`) that request.build writes in the wire's own format (OpenAI and Ollama
`messages`, Anthropic `messages` with tool_use/tool_result blocks, Gemini `contents` with role `model` and
functionCall/functionResponse parts, Responses `input` items), so a conversation can move between providers of
different wires. Turns that failed (a non-zero exit code) or brought neither text nor a tool call are left out.
`--tool-result ID=TEXT` (or `ID=@FILE`) answers a tool call of the conversation's newest answer, by its id or its
name (`tool_results`); a call no result answers is left out of the turns re-sent (`settle`, with a warning), as
every API refuses a call without its result. The system prompt of the conversation's newest turn is kept unless
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
                      conversation_id=state.get("conversation"), system=state.get("system"),
                      tool_results=state.get("tool_results"))
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


def history(cid: str | None) -> tuple[str, list[dict[str, Any]], str | None]:
    """(conversation id, earlier turns as neutral messages, its newest system prompt) of `cid`, or of the newest
    logged ask when `cid` is None. InputError (exit 4) when there is no such conversation."""
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
        rows = conn.execute("SELECT prompt, answer, document, tool_results, exit_code, system FROM exchanges "
                            "WHERE conversation_id = ? ORDER BY id", (cid,)).fetchall()
    except Exception as exc:
        if isinstance(exc, AimuxError):
            raise
        raise InputError(f"cannot read the log: {exc}") from None
    finally:
        conn.close()
    if not rows:
        raise InputError(f"no conversation {cid!r} in the log (aimux logs -f json lists conversation_id)")
    return cid, turns(rows), rows[-1]["system"]


def turns(rows: Any) -> list[dict[str, Any]]:
    """The neutral turns of logged rows: per row, the tool results it sent, its prompt, then its answer."""
    messages: list[dict[str, Any]] = []
    for row in rows:
        calls = _tool_calls(row["document"])
        results = _loads(row["tool_results"]) or []
        answer = row["answer"] or ""
        if row["exit_code"] != 0 or not (row["prompt"] or results) or not (answer.strip() or calls):
            continue
        messages += [{"role": "tool", "tool_call_id": r.get("tool_call_id"), "name": r.get("name"),
                      "content": r.get("content", "")} for r in results if isinstance(r, dict)]
        if row["prompt"]:
            messages.append({"role": "user", "content": row["prompt"]})
        turn: dict[str, Any] = {"role": "assistant", "content": answer}
        if calls:
            turn["tool_calls"] = calls
        messages.append(turn)
    return messages


def tool_results(specs: list[str], earlier: list[dict[str, Any]]) -> list[dict[str, str]]:
    """`--tool-result` items (`ID=TEXT`, `ID=@FILE`, `ID=@-` for stdin) as results of the newest answer's calls,
    matched by call id, else by tool name (the first call of that name not answered yet). UsageError (2) naming the
    item when it matches no call; InputError (4) for a file that cannot be read."""
    from aimux_cli.errors import UsageError

    last = earlier[-1] if earlier and earlier[-1]["role"] == "assistant" else {}
    pending = list(last.get("tool_calls") or ())
    names = ", ".join(f"{c['id']} ({c['name']})" for c in pending) or "none"
    out = []
    for spec in specs:
        key, sep, value = spec.partition("=")
        if not sep or not key:
            raise UsageError(f"--tool-result {spec!r}: give CALL=TEXT or CALL=@FILE (CALL: the call's id or name)")
        call = next((c for c in pending if c["id"] == key), None) or next((c for c in pending if c["name"] == key),
                                                                           None)
        if call is None:
            raise UsageError(f"--tool-result {key!r}: the conversation's last answer has no such tool call "
                             f"(its calls: {names})")
        pending.remove(call)
        out.append({"tool_call_id": call["id"], "name": call["name"], "content": _result_text(key, value)})
    return out


def settle(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`messages` without the tool calls that no tool turn right after them answers (every API refuses a call
    without its result), with a warning naming them; an assistant turn left with neither text nor calls goes, and
    so does a result whose call is not right before it (its answer failed and was left out)."""
    out: list[dict[str, Any]] = []
    open_ids: set = set()
    for i, turn in enumerate(messages):
        if turn["role"] == "tool":
            if turn.get("tool_call_id") in open_ids:
                out.append(turn)
            continue
        open_ids = set()
        calls = turn.get("tool_calls") if turn["role"] == "assistant" else None
        if calls:
            answered = set()
            for later in messages[i + 1:]:
                if later["role"] != "tool":
                    break
                answered.add(later.get("tool_call_id"))
            kept = [c for c in calls if c["id"] in answered]
            if len(kept) < len(calls):
                from aimux_cli.present import warn

                missed = ", ".join(c["name"] for c in calls if c["id"] not in answered)
                warn(f"an earlier answer's tool call(s) got no result and are not re-sent: {missed} "
                     "(answer them with --tool-result CALL=TEXT)")
                turn = {**turn, "tool_calls": kept} if kept else {k: v for k, v in turn.items() if k != "tool_calls"}
            open_ids = {c["id"] for c in kept}
            if not kept and not turn["content"].strip():
                continue
        out.append(turn)
    return out


def _result_text(key: str, value: str) -> str:
    if not value.startswith("@"):
        return value
    from aimux_cli.inputs import read_source

    source = read_source(value[1:] or "-")
    try:
        return source.data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"--tool-result {key}: {source.label}: invalid UTF-8 at byte {exc.start}") from None


def _tool_calls(document: str | None) -> list[dict[str, str]]:
    """The tool calls of a logged document as neutral calls: id, name and the arguments as JSON text."""
    data = _loads(document)
    if not isinstance(data, dict):
        return []
    import orjson

    calls = []
    for block in data.get("blocks") or ():
        if not isinstance(block, dict) or block.get("type") != "tool_call" or not block.get("name"):
            continue
        arguments = block.get("arguments")
        text = arguments if isinstance(arguments, str) else orjson.dumps(arguments if arguments is not None
                                                                         else {}).decode()
        calls.append({"id": str(block.get("id") or f"call_{len(calls) + 1}"), "name": str(block["name"]),
                      "arguments": text})
    return calls


def _loads(text: str | None) -> Any:
    if not text:
        return None
    import orjson

    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
