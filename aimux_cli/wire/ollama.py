"""Ollama `/api/chat`: the NDJSON stream, the non-stream body and the error body -> the aimux document.

Contract: each JSON object of the stream (or the one body) -> Accumulator calls (aimux_cli/document.py).

- Chunks are `{"model", "created_at", "message": {"role", "content", "thinking"?, "tool_calls"?}, "done": false}`;
  `message.content` extends one text block, `message.thinking` one thinking block; each `tool_calls` entry
  (`{"function": {"name", "arguments"}, "id"?}`) is one whole tool call (no id is invented when none is given).
- The final chunk has `"done": true`: it is the terminal event and carries `done_reason` (finish_raw), the
  counts (`prompt_eval_count` -> input_tokens, `eval_count` -> output_tokens, as reported: no total is computed)
  and the timings in nanoseconds (`load_duration` -> load_s, `prompt_eval_duration` -> prompt_s,
  `eval_duration` -> completion_s, `total_duration` -> total_s, converted to seconds).
- A non-stream body is that final chunk with the whole message, so a body and its stream agree. A body or stream
  without `done: true` is incomplete: Ollama itself says the answer is not finished.
- `{"error": "..."}`, as a body or as a line inside a stream, is an error with that message.

`/api/generate` (aimux_cli/wire/ollama_generate.py) shares the final-chunk and error handling defined here.
"""

from __future__ import annotations

from typing import Any

from aimux_cli.document import Accumulator

API = "ollama.chat"
VENDOR = "ollama"
DONE_MARKERS: tuple[str, ...] = ()

_NS = 1e9
_TIMINGS = (("load_duration", "load_s"), ("prompt_eval_duration", "prompt_s"), ("eval_duration", "completion_s"),
            ("total_duration", "total_s"))


def detect(obj: Any) -> bool:
    """True for an /api/chat chunk or body, or the plain `{"error": "..."}` body Ollama returns."""
    if not isinstance(obj, dict):
        return False
    if "message" in obj and "done" in obj:
        return True
    return is_error_body(obj)


def is_error_body(obj: dict) -> bool:
    """Ollama's error body: a string `error` (OpenAI-shaped errors nest an object)."""
    return isinstance(obj.get("error"), str) and "choices" not in obj and "object" not in obj


def parse(obj: Any, acc: Accumulator) -> None:
    """Fold a whole body: the same calls as its final stream chunk (terminal only when `done` is true)."""
    fold(acc, obj, None)


def fold(acc: Accumulator, obj: Any, event: str | None) -> list[tuple[str, str]]:
    """Fold one chunk; returns its visible deltas."""
    message = obj.get("message") if isinstance(obj, dict) else None
    return fold_chunk(acc, obj, message if isinstance(message, dict) else {}, "content")


def fold_chunk(acc: Accumulator, obj: Any, fields: dict, text_key: str) -> list[tuple[str, str]]:
    """One chunk of either Ollama API: `fields` holds `thinking`, the text under `text_key` and `tool_calls`
    (the chat API nests them in `message`, the generate API puts them at the top level)."""
    if not isinstance(obj, dict):
        return []
    if obj.get("error") is not None:
        error(acc, obj)
        return []
    acc.meta(model=obj.get("model"))
    acc.ensure_choice(0)
    deltas: list[tuple[str, str]] = []
    thinking = fields.get("thinking")
    if thinking and isinstance(thinking, str):
        acc.thinking(thinking)
        deltas.append(("thinking", thinking))
    content = fields.get(text_key)
    if content and isinstance(content, str):
        acc.text(content)
        deltas.append(("text", content))
    calls = fields.get("tool_calls")
    for call in calls if isinstance(calls, list) else ():
        _tool_call(acc, call)
    if obj.get("done"):
        done(acc, obj)
    return deltas


def _tool_call(acc: Accumulator, call: Any) -> None:
    if not isinstance(call, dict):
        return
    function = call.get("function") if isinstance(call.get("function"), dict) else {}
    args = function.get("arguments")
    # Ollama sends each call whole, in one chunk: a fresh key keeps parallel calls of one function apart
    acc.tool_call(object(), id=call.get("id"), name=function.get("name"), arguments={} if args is None else args)


def done(acc: Accumulator, obj: dict) -> None:
    """The final chunk (`done: true`): finish reason, counts, timings; the stream's terminal event."""
    acc.set_finish(obj.get("done_reason"))
    acc.set_usage(input_tokens=obj.get("prompt_eval_count"), output_tokens=obj.get("eval_count"))
    for key, name in _TIMINGS:
        value = obj.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                acc.set_timing(**{name: value / _NS})
            except OverflowError:  # an integer of 309+ digits has no float value
                acc.warn(f"{API}: `{key}` is too large a number of nanoseconds; ignored")
    acc.mark_terminal()


def error(acc: Accumulator, obj: dict) -> None:
    """`{"error": "..."}` (a body or a line of a stream); the blocks before it are kept."""
    message = obj.get("error")
    if isinstance(message, dict):  # not Ollama's shape, but keep what it says
        acc.set_error(type=message.get("type"), code=message.get("code"), message=message.get("message"))
    else:
        acc.set_error(message=message)
