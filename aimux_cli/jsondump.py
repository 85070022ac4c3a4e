"""JSON text of any value aimux holds, whatever its depth or the size of its numbers.

Contract: `dumps(value, indent=None)` -> str. orjson writes almost every value; what it refuses (nesting deeper
than 255, integers beyond 64 bits) is written by a small iterative encoder with the same layout as
`json.dumps(value, indent=indent, ensure_ascii=False)`, so a value 1,000 levels deep costs no recursion. Floats
that JSON cannot hold (inf, nan) are written `null`, as orjson does. Keys are written as strings. Indentation
stops growing at INDENT_DEPTH levels (what is nested deeper is written on one line): indenting every level of a
value 1,000 deep would write a million spaces, and the text must stay linear in the size of the value.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

_ORJSON_OPTIONS = {None: 0, 2: orjson.OPT_INDENT_2}
INDENT_DEPTH = 64  # orjson refuses more than 255 levels, so its own output never reaches this


def dumps(value: Any, indent: int | None = None) -> str:
    """`value` as JSON text; `indent` None gives the compact form ("," and ":" without spaces)."""
    option = _ORJSON_OPTIONS.get(indent)
    if option is not None:
        try:
            return orjson.dumps(value, option=option | orjson.OPT_NON_STR_KEYS).decode()
        except TypeError:  # orjson's refusals: too deep, an integer beyond 64 bits, a type it does not know
            pass
    return "".join(_iterencode(value, indent))


def _scalar(value: Any) -> str:
    if value is None or value is True or value is False:
        return "null" if value is None else ("true" if value else "false")
    if isinstance(value, str):
        return orjson.dumps(value).decode()
    if isinstance(value, int):
        try:
            return str(value)
        except ValueError:  # beyond the interpreter's digit limit: say what it was rather than fail
            return orjson.dumps(f"<an integer of about {int(value.bit_length() * 0.30103)} digits>").decode()
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "null"
    return orjson.dumps(str(value)).decode()


def _iterencode(value: Any, indent: int | None):
    """Yield the pieces of the JSON text of `value`, depth-first, with an explicit stack instead of recursion."""
    item_sep, key_sep = ",", (":" if indent is None else ": ")
    # each frame: (iterator over the container's items, is a dict, depth, closing bracket, first item pending)
    stack: list[list] = []
    pending: Any = value
    have_pending = True
    while True:
        if have_pending:
            have_pending = False
            item = pending
            if isinstance(item, dict) and item:
                yield "{"
                stack.append([iter(item.items()), True, len(stack) + 1, "}", True])
            elif isinstance(item, (list, tuple)) and item:
                yield "["
                stack.append([iter(item), False, len(stack) + 1, "]", True])
            elif isinstance(item, dict):
                yield "{}"
            elif isinstance(item, (list, tuple)):
                yield "[]"
            else:
                yield _scalar(item)
        if not stack:
            return
        frame = stack[-1]
        iterator, is_dict, depth, closing, first = frame
        try:
            nxt = next(iterator)
        except StopIteration:
            stack.pop()
            if indent is not None and depth <= INDENT_DEPTH:
                yield "\n" + " " * (indent * (depth - 1))
            yield closing
            continue
        if not first:
            yield item_sep
        frame[4] = False
        if indent is not None and depth <= INDENT_DEPTH:
            yield "\n" + " " * (indent * depth)
        if is_dict:
            key, pending = nxt
            yield orjson.dumps(key if isinstance(key, str) else str(key)).decode() + key_sep
        else:
            pending = nxt
        have_pending = True
