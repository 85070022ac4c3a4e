"""Lone surrogates: JSON may spell a half of a UTF-16 pair (`"\\ud800"`), which no UTF-8 text can hold.

Contract: `clean_document(doc) -> (doc, count)` and `clean_value(value) -> (value, count)` replace every lone
surrogate in every string (keys included) with U+FFFD and say how many strings they changed; a value without any
comes back as the very same object. orjson and json.loads both accept such escapes, and then every writer of
UTF-8 (the terminal, a pipe, orjson.dumps, the TOON encoder) refuses the string: issue 9 found it as exit 1 in
`-f json`, `-f toon` and `-f text`. The walk is iterative: a value 1,000 levels deep costs no recursion.
"""

from __future__ import annotations

from typing import Any

import orjson


def _fixed(text: str) -> str:
    # in a Python string every surrogate is a lone one (parsers pair them); `re` is imported here, not on start-up
    import re

    return re.sub("[\ud800-\udfff]", "\ufffd", text)


def _is_broken(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def clean_value(value: Any) -> tuple[Any, int]:
    """`value` with lone surrogates replaced (containers are changed in place), and the number of strings fixed."""
    if isinstance(value, str):
        return (_fixed(value), 1) if _is_broken(value) else (value, 0)
    if not isinstance(value, (dict, list)):
        return value, 0
    count = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, child in list(item.items()):
                if isinstance(child, str) and _is_broken(child):
                    item[key], count = _fixed(child), count + 1
                elif isinstance(child, (dict, list)):
                    stack.append(child)
                if isinstance(key, str) and _is_broken(key):
                    item[_fixed(key)] = item.pop(key)
                    count += 1
        else:
            for index, child in enumerate(item):
                if isinstance(child, str) and _is_broken(child):
                    item[index], count = _fixed(child), count + 1
                elif isinstance(child, (dict, list)):
                    stack.append(child)
    return value, count


def has_lone_surrogates(value: Any) -> bool:
    """Cheap for the usual value: orjson writes it, or refuses it for one of a few reasons, this among them."""
    try:
        orjson.dumps(value)
    except TypeError as exc:
        return "surrogates" in str(exc) or _walk_finds(value)
    return False


def clean_document(doc: Any) -> tuple[Any, int]:
    """A Document without lone surrogates (a new one when some were replaced), and the number of strings fixed."""
    from aimux_cli.document import Document

    names = Document.__slots__
    values = [getattr(doc, name) for name in names]
    if not has_lone_surrogates(values):
        return doc, 0
    tuples = {name for name, value in zip(names, values) if isinstance(value, tuple)}
    fixed, count = clean_value([list(v) if isinstance(v, tuple) else v for v in values])
    fields = {name: tuple(value) if name in tuples else value for name, value in zip(names, fixed)}
    fields["warnings"] += (f"{count} string(s) held half of a UTF-16 surrogate pair (a lone \\udXXX escape), "
                           "replaced with U+FFFD",)
    return Document(**fields), count


def _walk_finds(value: Any) -> bool:
    """Whether any string in `value` is broken (orjson refused it for another reason: a big integer, a key)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _is_broken(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


REFUSED = object()


def loads_refused(text: str | bytes, exc: Exception) -> Any:
    """The value of JSON text that orjson refused only because it spells a lone surrogate ("\\ud800"), with the
    surrogates replaced; REFUSED when it was refused for another reason (or is not JSON at all)."""
    if "surrogate" not in str(exc):
        return REFUSED
    import json

    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return REFUSED
    return clean_value(value)[0]
