"""The vocabulary of the aimux response document, for document.py's Accumulator and the wire modules: the finish
classes, usage/timing/error keys, tool-call argument pieces, and the pure steps that finish a document's blocks
(arguments parsed, a leading <think> tag split off). No state: split from document.py along that seam.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

# Normalized finish classes, from the provider's own value. One table for all wires: the raw values of the
# providers do not collide, and a single table keeps the classes consistent.
FINISH_CLASSES: dict[str, str] = {
    # natural end or stop sequence
    "stop": "stop", "end_turn": "stop", "stop_sequence": "stop", "STOP": "stop", "eos": "stop",
    "completed": "stop", "end": "stop", "COMPLETE": "stop", "STOP_SEQUENCE": "stop",
    # token limit
    "length": "length", "max_tokens": "length", "MAX_TOKENS": "length", "max_output_tokens": "length",
    "model_length": "length", "model_context_window_exceeded": "length",
    # tool use
    "tool_calls": "tool_call", "function_call": "tool_call", "tool_use": "tool_call", "TOOL_CALL": "tool_call",
    # filters
    "content_filter": "content_filter", "SAFETY": "content_filter", "RECITATION": "content_filter",
    "PROHIBITED_CONTENT": "content_filter", "BLOCKLIST": "content_filter", "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter", "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter", "LANGUAGE": "content_filter",
    # the rest
    "refusal": "refusal", "pause_turn": "pause",
    "guardrail_intervened": "content_filter", "content_filtered": "content_filter",  # Bedrock Converse
    "malformed_model_output": "error", "malformed_tool_use": "error",
    "error": "error", "failed": "error", "MALFORMED_FUNCTION_CALL": "error", "UNEXPECTED_TOOL_CALL": "error",
    "TOO_MANY_TOOL_CALLS": "error", "ERROR": "error", "TIMEOUT": "error",
}

USAGE_KEYS = ("input_tokens", "output_tokens", "total_tokens", "reasoning_tokens", "cache_read_tokens",
              "cache_write_tokens")
TIMING_KEYS = ("queue_s", "load_s", "prompt_s", "completion_s", "total_s")
ERROR_KEYS = ("status", "type", "code", "message")

_THINK_OPEN = re.compile(r"<(think|thinking)>")
_CONTENT_KINDS = frozenset(("text", "thinking", "refusal", "tool_call"))  # blocks only the accumulator makes
_PIECED = frozenset(("text", "thinking", "refusal"))  # their text is a list of pieces until the document is made


class ArgumentPieces(list):
    """The string pieces of a tool call's arguments while they stream, joined once (`call_arguments`, or when the
    document is made): `+=` on the string copied all of it per piece, quadratic in a call streamed in 10,000
    pieces. A list type of its own, so that a list a provider sent as the arguments is never taken for pieces."""

    __slots__ = ()


def call_arguments(call: dict) -> Any:
    """A tool call's arguments so far, as the accumulator holds them while streaming: the string pieces joined, or
    the value a provider sent whole."""
    args = call.get("arguments", "")
    return "".join(args) if type(args) is ArgumentPieces else args
MAX_WARNINGS = 20  # a document keeps this many distinct warnings; a broken stream could produce one per event


def normalize_finish(raw: Any) -> str | None:
    """The finish class of a provider's raw stop reason; None when none was given or it is unknown (every known
    reason is a string: anything else, a number or a nested value, is unknown without being looked at)."""
    return FINISH_CLASSES.get(raw) if isinstance(raw, str) else None


def first_reported(source: Any, *keys: str) -> Any:
    """The value of the first of `keys` that a provider's dict reports (0 counts as reported), else None."""
    if isinstance(source, dict):
        for key in keys:
            if source.get(key) is not None:
                return source[key]
    return None


def _plain(value: Any, text: bool = False) -> Any:
    """An error field as a provider should send it, a string or a number (`text`: a string); an object or a list
    (of any depth) is kept as its JSON text, so that every reader of `error` can print it as it is."""
    if isinstance(value, (dict, list)) or (text and value is not None and not isinstance(value, str)):
        from aimux_cli.jsondump import dumps
        return dumps(value)
    return value


def _digits(value: Any) -> bool:
    """An all-digit string that is a number (ASCII only: "²".isdigit() is True, and int() refuses it)."""
    return isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 9


def parse_arguments(args: Any) -> Any:
    """Tool-call arguments: the parsed JSON value when the string is valid JSON, else the string as received."""
    if not isinstance(args, str):
        return args
    if args.strip() == "":
        return {} if args == "" else args
    try:
        return orjson.loads(args)
    except orjson.JSONDecodeError:
        return args


def _choice_order(index: Any) -> tuple:
    """Choices in index order; an index a provider sent as something other than an integer sorts after them."""
    return (0, index, "") if isinstance(index, int) else (1, 0, repr(index)[:100])


def _type_name(kind: Any) -> str:
    return repr(kind) if isinstance(kind, str) else f"<{type(kind).__name__}>"


def _finalize_block(block: dict) -> dict:
    if block["type"] != "tool_call":
        out = dict(block)
        if block["type"] in _PIECED and isinstance(out.get("text"), list):  # a block still in pieces (_extend)
            out["text"] = "".join(out["text"])
        elif type(out.get("input")) is ArgumentPieces:  # a server tool's input cut before its block stopped
            out["input"] = "".join(out["input"])
        return out
    out = {"type": "tool_call"}
    if block["id"]:
        out["id"] = block["id"]
    if block["name"]:
        out["name"] = block["name"]
    out["arguments"] = parse_arguments(call_arguments(block))
    return out


def _split_think_tags(blocks: list[dict]) -> list[dict]:
    """A leading <think>...</think> at the very start of the first text answer becomes a thinking block."""
    if not blocks or blocks[0]["type"] != "text":
        return blocks
    first = blocks[0]
    match = _THINK_OPEN.match(first["text"])
    if not match:
        return blocks
    close = f"</{match.group(1)}>"
    end = first["text"].find(close, match.end())
    if end < 0:
        return blocks  # an unterminated tag is not a thinking block we can trust; keep the text as sent
    thought = first["text"][match.end():end].strip()
    answer = first["text"][end + len(close):].lstrip()
    out: list[dict] = []
    if thought:
        out.append({"type": "thinking", "text": thought})
    if answer:
        rest = dict(first)
        rest["text"] = answer
        out.append(rest)
    return out + blocks[1:]


def without_opaque(value: Any, opaque: frozenset, depth: int = 0, limit: int = 32) -> Any:
    """A copy of a provider block without its opaque fields (`opaque`: signatures, base64 blobs) or null fields.
    Nesting deeper than `limit` (no real block comes near) is kept as it is rather than walked: a 1,000-deep value
    would exhaust the stack."""
    if depth >= limit:
        return value
    if isinstance(value, dict):
        return {k: without_opaque(v, opaque, depth + 1, limit) for k, v in value.items()
                if k not in opaque and v is not None}
    if isinstance(value, list):
        return [without_opaque(v, opaque, depth + 1, limit) for v in value]
    return value
