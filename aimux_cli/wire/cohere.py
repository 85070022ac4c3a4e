"""Cohere Chat API v2 (`POST /v2/chat`): bodies, SSE streams and error bodies -> the aimux document.

Contract: a `{"id", "message": {...}, "finish_reason", "usage"}` body, each event of its stream, or an error body
(`{"id", "message": "..."}`, read when the wire is known: it is too plain a shape to detect) -> Accumulator calls.

- `message.content[]`: `text` -> text, `thinking` (reasoning models) -> thinking, keyed by their position (a
  stream's `index`), so a body and its stream agree; any other item is kept with its type and fields.
- `message.tool_plan` (the plan the model writes before calling tools) -> a thinking block before the content;
  `message.tool_calls[]` -> tool calls (`function.arguments` is JSON text, parsed like OpenAI's).
- `message.citations[]` (`{start, end, text, sources, content_index, type}`) -> citations of the text block at
  `content_index` (of the last text block for a plan or thinking citation): one `{url, title}` per source, the
  document's `url` and `title` when it has them, else the source `id` as the title (a tool result's
  `get_weather_…:0`); each source once per answer, in order of first citation.
- `finish_reason` (`COMPLETE`, `STOP_SEQUENCE`, `MAX_TOKENS`, `TOOL_CALL`, `ERROR`, `TIMEOUT`) is `finish_raw`.
  Usage: `tokens.input_tokens` / `tokens.output_tokens` -> input/output tokens, `cached_tokens` -> cache_read_tokens;
  `billed_units` (what Cohere bills: input/output tokens, search units) is a different measure, kept as
  `cost: {billed_units: {...}}` rather than mixed into the token counts.
- Stream (SSE with `event:` lines, ended by `data: [DONE]`): `message-start` (id), `content-start` /
  `content-delta` / `content-end`, `tool-plan-delta`, `tool-call-start` / `tool-call-delta` / `tool-call-end`,
  `citation-start` / `citation-end`, `message-end` (finish reason, usage, `error`; the terminal event), `debug`
  (ignored). The event names are Cohere's alone (hyphens), so detection is exact.
"""

from __future__ import annotations

from typing import Any

from aimux_cli.document import Accumulator

API = "cohere.chat"
VENDOR = "cohere"
DONE_MARKERS = ("[DONE]",)

Delta = tuple[str, str]

_EVENTS = frozenset({"message-start", "content-start", "content-delta", "content-end", "tool-plan-delta",
                     "tool-call-start", "tool-call-delta", "tool-call-end", "citation-start", "citation-end",
                     "message-end", "debug"})
_PLAN = "tool_plan"  # the block key of the tool plan (content blocks are keyed by ("content", index))


def detect(obj: Any) -> bool:
    """A v2 chat body (an assistant `message` object beside `finish_reason`) or a v2 stream event."""
    if not isinstance(obj, dict):
        return False
    kind = obj.get("type")
    if kind.__class__ is str:
        return kind in _EVENTS
    message = obj.get("message")
    return isinstance(message, dict) and "finish_reason" in obj and "choices" not in obj


def parse(obj: dict, acc: Accumulator) -> None:
    """Fold a whole body (an answer or an error body); a whole body is terminal."""
    message = obj.get("message")
    if not isinstance(message, dict):
        if isinstance(message, str) and "finish_reason" not in obj:
            acc.set_error(message=message)  # `{"id": ..., "message": "invalid api token"}`
        acc.mark_terminal()
        return
    acc.meta(id=obj.get("id"))
    acc.ensure_choice(0)
    _message(acc, message, [])
    acc.set_finish(obj.get("finish_reason"))
    _usage(acc, obj.get("usage"))
    acc.mark_terminal()


def _message(acc: Accumulator, message: dict, deltas: list[Delta]) -> None:
    """A whole assistant message (a body's, or the empty one of `message-start`)."""
    plan = message.get("tool_plan")
    if plan and isinstance(plan, str):
        acc.thinking(plan, key=_PLAN)
        deltas.append(("thinking", plan))
    content = message.get("content")
    if isinstance(content, list):
        for index, item in enumerate(content):
            if isinstance(item, dict):
                _content(acc, item, index, deltas)
    elif isinstance(content, str) and content:  # not documented for answers; read as the text it is
        acc.text(content, key=("content", 0))
        deltas.append(("text", content))
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        for position, call in enumerate(calls):
            if isinstance(call, dict):
                fn = call.get("function") if isinstance(call.get("function"), dict) else {}
                acc.tool_call(position, id=call.get("id"), name=fn.get("name"), arguments=fn.get("arguments"))
    citations = message.get("citations")
    if isinstance(citations, list):
        for citation in citations:
            _citation(acc, citation)


def _content(acc: Accumulator, item: dict, index: Any, deltas: list[Delta]) -> None:
    """One content item, whole (a body) or opening (`content-start`, whose text is usually empty)."""
    kind = item.get("type")
    key = ("content", index)
    if kind == "text" or (kind is None and "text" in item):
        _piece(acc, "text", item.get("text"), key, deltas)
    elif kind == "thinking" or (kind is None and "thinking" in item):
        _piece(acc, "thinking", item.get("thinking"), key, deltas)
    elif isinstance(kind, str):
        acc.other({k: v for k, v in item.items() if isinstance(v, (str, int, float, bool))}, key=key)


def _piece(acc: Accumulator, kind: str, text: Any, key: Any, deltas: list[Delta]) -> None:
    if text and isinstance(text, str):
        if kind == "text":
            acc.text(text, key=key)
        else:
            acc.thinking(text, key=key)
        deltas.append((kind, text))


def fold(acc: Accumulator, obj: Any, event: str | None) -> list[Delta]:
    """Fold one stream event; returns the visible deltas it carried."""
    if not isinstance(obj, dict):
        return []
    kind = obj.get("type") or event
    delta = obj.get("delta")
    message = delta.get("message") if isinstance(delta, dict) else None
    if not isinstance(message, dict):
        message = {}
    deltas: list[Delta] = []
    if kind == "content-delta":
        content = message.get("content")
        if isinstance(content, dict):
            key = ("content", obj.get("index", 0))
            _piece(acc, "text", content.get("text"), key, deltas)
            _piece(acc, "thinking", content.get("thinking"), key, deltas)
    elif kind == "tool-call-delta":
        call = message.get("tool_calls")
        fn = call.get("function") if isinstance(call, dict) else None
        if isinstance(fn, dict):
            acc.tool_call(obj.get("index", 0), arguments=fn.get("arguments"))
    elif kind == "tool-plan-delta":
        _piece(acc, "thinking", message.get("tool_plan"), _PLAN, deltas)
    elif kind == "content-start":
        content = message.get("content")
        if isinstance(content, dict):
            _content(acc, content, obj.get("index", 0), deltas)
    elif kind == "tool-call-start":
        call = message.get("tool_calls")
        if isinstance(call, dict):
            fn = call.get("function") if isinstance(call.get("function"), dict) else {}
            acc.tool_call(obj.get("index", 0), id=call.get("id"), name=fn.get("name"), arguments=fn.get("arguments"))
    elif kind == "citation-start":
        _citation(acc, message.get("citations"))
    elif kind == "message-start":
        acc.meta(id=obj.get("id"))
        acc.ensure_choice(0)
        _message(acc, message, deltas)
    elif kind == "message-end":
        _end(acc, delta if isinstance(delta, dict) else {})
    return deltas


def _end(acc: Accumulator, delta: dict) -> None:
    acc.set_finish(delta.get("finish_reason"))
    _usage(acc, delta.get("usage"))
    error = delta.get("error")
    if error:
        acc.set_error(message=error)
    acc.mark_terminal()


def _usage(acc: Accumulator, usage: Any) -> None:
    if not isinstance(usage, dict):
        return
    tokens = usage.get("tokens")
    if isinstance(tokens, dict):
        acc.set_usage(input_tokens=tokens.get("input_tokens"), output_tokens=tokens.get("output_tokens"))
    acc.set_usage(cache_read_tokens=usage.get("cached_tokens"))
    billed = usage.get("billed_units")
    if isinstance(billed, dict) and billed:
        acc.set_cost({"billed_units": billed})


def _citation(acc: Accumulator, citation: Any) -> None:
    """One Cohere citation -> `{url, title}` entries on its text block, each source once per answer."""
    if not isinstance(citation, dict):
        return
    seen = acc.state.setdefault("cohere_sources", set())
    cites = []
    for source in citation.get("sources") or ():
        if not isinstance(source, dict):
            continue
        doc = source.get("document") if isinstance(source.get("document"), dict) else {}
        url, title = doc.get("url"), doc.get("title") or source.get("id")
        entry = {k: v for k, v in (("url", url), ("title", title)) if v and isinstance(v, str)}
        marker = (entry.get("url"), entry.get("title"))
        if entry and marker not in seen:
            seen.add(marker)
            cites.append(entry)
    if not cites:
        return
    index = citation.get("content_index")
    on_text = citation.get("type") in (None, "TEXT_CONTENT")
    acc.citations(cites, key=("content", index if isinstance(index, int) else 0) if on_text else None)
