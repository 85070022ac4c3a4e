"""Anthropic Messages (`POST /v1/messages`): bodies, SSE streams and error bodies -> the aimux document.

Contract: a `{"type": "message", ...}` body, each event of its SSE stream, or an error body
`{"type": "error", "error": {"type", "message"}, "request_id"}` -> Accumulator calls (aimux_cli/document.py).

- Content blocks are keyed by their position: the list index in a body, the event's `index` in a stream, so
  adjacent blocks of the same kind stay apart and a body and its stream give the same document.
- `text` -> text (citations -> `{url, title}`); `thinking` -> thinking; `redacted_thinking` -> thinking with
  `redacted: true`; `tool_use` -> tool_call (`input` is the arguments); any other block (`server_tool_use`,
  `web_search_tool_result`, images, ...) is kept with its type and its fields. Opaque blobs (`signature`,
  redacted `data`, `encrypted_content`, `encrypted_index`) are never copied.
- `stop_reason` is `finish_raw`; `stop_sequence` is kept when given. Usage: `input_tokens`, `output_tokens`,
  `cache_read_input_tokens` -> cache_read_tokens, `cache_creation_input_tokens` (or, when absent, the sum of the
  `cache_creation` breakdown) -> cache_write_tokens, `output_tokens_details.thinking_tokens` -> reasoning_tokens.
  No total: Anthropic does not report one. In a stream, `message_delta` usage replaces `message_start`'s.
- `message_stop` is the terminal event; `error` events keep the blocks that came before them; `ping` is ignored.
- A legacy text completion (`{"type": "completion"}`) is not a Messages response: `detect` is False, and the
  `anthropic.complete` wire (anthropic_complete.py) reads it.
"""

from __future__ import annotations

from typing import Any

from aimux_cli.document import Accumulator, ArgumentPieces, call_arguments, parse_arguments
from aimux_cli.document_fields import without_opaque

API = "anthropic.messages"
VENDOR = "anthropic"
DONE_MARKERS: tuple[str, ...] = ()

_STREAM_TYPES = frozenset({"message_start", "content_block_start", "content_block_delta", "content_block_stop",
                           "message_delta", "message_stop", "ping"})
# Opaque or noise fields never copied into a kept block (signatures and encrypted payloads are large blobs
# meaningful only to the provider; `caller` is routing detail).
_OPAQUE = frozenset({"signature", "data", "encrypted_content", "encrypted_index", "caller"})
_DEPTH = 32  # how deep `_clean` looks for opaque fields


def detect(obj: Any) -> bool:
    """True for a Messages body, an Anthropic stream event or an Anthropic error body."""
    if not isinstance(obj, dict):
        return False
    kind = obj.get("type")
    if kind == "message":
        return "content" in obj or "role" in obj
    if kind == "error":
        return isinstance(obj.get("error"), dict)
    return kind in _STREAM_TYPES


def parse(obj: dict, acc: Accumulator) -> None:
    """Fold a whole body (a message or an error) into `acc`."""
    if obj.get("type") == "error":
        _error(acc, obj)
        return
    _message_start(acc, obj)
    _content(acc, obj)
    acc.set_finish(obj.get("stop_reason"), stop_sequence=obj.get("stop_sequence"))
    acc.mark_terminal()


def _content(acc: Accumulator, message: dict) -> None:
    """A whole message's content blocks (a body, or the message of `message_start`)."""
    content = message.get("content")
    if content and not isinstance(content, list):
        acc.warn(f"{API}: `content` is not a list; ignored")
        return
    for index, block in enumerate(content or ()):
        if isinstance(block, dict):
            _block(acc, block, index, body=True)


def fold(acc: Accumulator, obj: Any, event: str | None) -> list[tuple[str, str]]:
    """Fold one stream event; returns the visible deltas it carried."""
    if not isinstance(obj, dict):
        return []
    kind = obj.get("type") or event
    if kind == "content_block_delta":
        delta = obj.get("delta")
        return _delta(acc, delta, obj.get("index", 0)) if isinstance(delta, dict) else []
    if kind == "content_block_start":
        block = obj.get("content_block")
        return _block(acc, block, obj.get("index", 0), body=False) if isinstance(block, dict) else []
    if kind == "content_block_stop":
        _close_other(acc, obj.get("index", 0))
    elif kind == "message_start":
        message = obj.get("message")
        message = message if isinstance(message, dict) else {}
        _message_start(acc, message)
        _content(acc, message)
    elif kind == "message_delta":
        delta = obj.get("delta")
        if isinstance(delta, dict):
            acc.set_finish(delta.get("stop_reason"), stop_sequence=delta.get("stop_sequence"))
        _usage(acc, obj.get("usage"))
    elif kind == "message_stop":
        acc.mark_terminal()
    elif kind == "error":
        _error(acc, obj)
    elif kind == "message":  # a proxy that sends the whole message as one event
        parse(obj, acc)
    return []


def _message_start(acc: Accumulator, message: dict) -> None:
    acc.meta(model=message.get("model"), id=message.get("id"))
    acc.ensure_choice(0)
    _usage(acc, message.get("usage"))


def _error(acc: Accumulator, obj: dict) -> None:
    err = obj.get("error")
    if not isinstance(err, dict):
        err = {"message": err}
    acc.set_error(type=err.get("type"), message=err.get("message"))
    if obj.get("request_id"):
        acc.request_id = str(obj["request_id"])


def _usage(acc: Accumulator, usage: Any) -> None:
    if not isinstance(usage, dict):
        return
    cache_write = usage.get("cache_creation_input_tokens")
    breakdown = usage.get("cache_creation")
    if cache_write is None and isinstance(breakdown, dict):
        counts = [v for v in breakdown.values() if isinstance(v, int)]
        cache_write = sum(counts) if counts else None
    details = usage.get("output_tokens_details")
    reasoning = details.get("thinking_tokens") if isinstance(details, dict) else None
    acc.set_usage(input_tokens=usage.get("input_tokens"), output_tokens=usage.get("output_tokens"),
                  reasoning_tokens=reasoning, cache_read_tokens=usage.get("cache_read_input_tokens"),
                  cache_write_tokens=cache_write)


def _block(acc: Accumulator, block: dict, index: Any, body: bool) -> list[tuple[str, str]]:
    """One content block: a whole one in a body, or the opening of a streamed one (`body=False`)."""
    kind = block.get("type")
    if kind == "text":
        text = _text(block, "text")
        acc.text(text, key=index)
        acc.citations(_citations(block.get("citations")), key=index)
        return [("text", text)] if text else []
    if kind == "thinking":
        text = _text(block, "thinking")
        acc.thinking(text, key=index)
        return [("thinking", text)] if text else []
    if kind == "redacted_thinking":
        acc.redacted_thinking(key=index)
    elif kind == "tool_use":
        args = block.get("input")
        # a streamed block opens with `input: {}` and its arguments follow as input_json_delta pieces
        acc.tool_call(index, id=block.get("id"), name=block.get("name"),
                      arguments=args if body or args else None)
    else:
        acc.other(_clean(block), key=index)
    return []


def _delta(acc: Accumulator, delta: dict, index: Any) -> list[tuple[str, str]]:
    kind = delta.get("type")
    if kind == "text_delta":
        text = _text(delta, "text")
        acc.text(text, key=index)
        return [("text", text)] if text else []
    if kind == "thinking_delta":
        text = _text(delta, "thinking")
        acc.thinking(text, key=index)
        return [("thinking", text)] if text else []
    if kind == "input_json_delta":
        _input_json(acc, index, _text(delta, "partial_json"))  # JSON text; anything else carries nothing
    elif kind == "citations_delta":
        acc.citations(_citations([delta.get("citation")]), key=index)
    return []  # signature_delta and unknown deltas carry nothing to show


def _text(source: dict, key: str) -> str:
    text = source.get(key)
    return text if isinstance(text, str) else ""


def _input_json(acc: Accumulator, index: Any, piece: str) -> None:
    block = acc.block_for(index)
    if block is None:  # a tool_use block (tool calls are not index blocks) or one whose start was lost
        acc.tool_call(index, arguments=piece)
        return
    if block["type"] in ("text", "thinking"):
        return  # not a block that takes input
    # a server_tool_use block kept as is: its input arrives as JSON text, parsed when the block stops
    current = block.get("input")
    if type(current) is not ArgumentPieces:  # kept as pieces, joined once: `+` copied all of it per piece
        current = block["input"] = ArgumentPieces()
    current.append(piece)


def _close_other(acc: Accumulator, index: Any) -> None:
    block = acc.block_for(index)
    if block is not None and isinstance(block.get("input"), (str, ArgumentPieces)):
        block["input"] = parse_arguments(call_arguments({"arguments": block["input"]}))


def _citations(cites: Any) -> list[dict]:
    """Provider citations -> `{url, title}`; document citations have a title but no url."""
    out = []
    for cite in cites or ():
        if not isinstance(cite, dict):
            continue
        url = cite.get("url") or cite.get("source")
        title = cite.get("title") or cite.get("document_title")
        entry = {k: v for k, v in (("url", url), ("title", title)) if v}
        if entry:
            out.append(entry)
    return out


def _clean(value: Any) -> Any:
    return without_opaque(value, _OPAQUE, limit=_DEPTH)
