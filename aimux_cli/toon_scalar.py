"""TOON scalars: how one string, number, literal or key is written (spec v4.0 §2, §7), for aimux_cli/toon.py.

`_scalar_encoder(delimiter)` gives the function that encodes a primitive in a document of that delimiter (it raises
`_Container` for a dict or list, so the writer picks a block form instead); `_key` encodes an object key or field
name; `_quote` quotes and escapes. Split from toon.py, which keeps the document walk and the tabular forms.
"""

from __future__ import annotations

import re
from typing import Any

_BIG = 10**21  # ints below this print as plain digits (the §2 canonical range)
_LITERALS = frozenset(("true", "false", "null"))
_NUMBER_START = frozenset("0123456789+")  # "-" already forces quotes on its own
_KEY_OK = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*").fullmatch  # §7.3
_NUMERIC_LIKE = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?").fullmatch  # §7.2
# Kept free of surrogate ranges: a class mixing them with ASCII takes milliseconds to compile at import.
_CONTROL = re.compile("[\x00-\x1f]").search
_RARE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")  # controls without a short escape
_SURROGATE = re.compile("[\ud800-\udfff]").search
# From this length on, a few str scans (memchr speed) beat one regex scan over a class (~10 ns a char).
_LONG = 64


class _Container(Exception):
    """Raised by a scalar encoder that meets a dict or list: the caller picks a block form instead."""


def _rare_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _no_surrogate(text: str) -> None:
    """Raise ValueError for a lone surrogate (json.loads lets them through; orjson does not)."""
    found = _SURROGATE(text)
    if found:
        raise ValueError(f"string contains a lone surrogate U+{ord(found.group()):04X}, which has no UTF-8 form")


def _quote(text: str) -> str:
    """Quote and escape per §7.1 (\\\\ \\" \\n \\r \\t, other controls as lowercase \\uXXXX)."""
    if "\\" in text or '"' in text or not text.isprintable():  # controls and surrogates are unprintable
        if not text.isascii():
            _no_surrogate(text)
        text = text.replace("\\", "\\\\").replace('"', '\\"')
        text = text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
        if not text.isprintable() and _RARE.search(text):
            text = _RARE.sub(_rare_escape, text)
    return f'"{text}"'  # one copy of a long text; '"' + text + '"' made two at once


def _long_needs_quotes(text: str, delimiter: str) -> bool:
    """The structural-character test of §7.2 for long strings, by str scans instead of a regex."""
    return (
        ":" in text
        or '"' in text
        or "\\" in text
        or "[" in text
        or "]" in text
        or "{" in text
        or "}" in text
        or delimiter in text
        or (not text.isprintable() and _CONTROL(text) is not None)
    )


def _float(number: float) -> str:
    """JavaScript's String(number): shortest round-trip digits, plain decimal in [1e-6, 1e21).

    One deliberate difference: integral floats from 1e16 to 1e21 print their exact digits, where JavaScript
    pads the shortest digits with zeros (2.0**60 -> 1152921504606847000); a decoder that reads integer
    tokens as exact ints (toon_format does) would get a different number back.
    """
    if number - number != 0.0:
        return "null"  # NaN or an infinity (§3)
    text = repr(number)
    if "e" not in text:  # Python prints [1e-4, 1e16) in plain decimal, as JavaScript does
        if text[-2:] == ".0":
            text = text[:-2]
            return "0" if text == "-0" else text
        return text
    if 1e16 <= number < 1e21 or -1e21 < number <= -1e16:
        return str(int(number))
    return _exponent(text)


def _exponent(text: str) -> str:
    """Re-lay Python's exponent repr of |x| < 1e-4 or |x| >= 1e21 the way JavaScript does."""
    mantissa, _, exp = text.partition("e")
    sign = ""
    if mantissa[0] == "-":
        sign, mantissa = "-", mantissa[1:]
    digits = mantissa.replace(".", "")
    power = int(exp)
    if -7 < power < 0:  # [1e-6, 1e-4): still plain decimal in JavaScript
        return sign + "0." + "0" * (-power - 1) + digits
    fraction = "." + digits[1:] if len(digits) > 1 else ""
    return f"{sign}{digits[0]}{fraction}e{'+' if power >= 0 else '-'}{abs(power)}"


def _big_int(number: int) -> str:
    """An int of 1e21 or more: the reference's exponent form when exact, else all the digits."""
    try:
        as_float = float(number)
    except OverflowError:
        return str(number)
    return _float(as_float) if int(as_float) == number else str(number)


def _scalar_encoder(delimiter: str) -> Any:
    """Build the primitive encoder for one delimiter (document and active delimiter are the same here).

    It runs once per primitive, so it is one flat function with the common cases first.
    """
    forbidden = re.compile('[:"\\\\\\[\\]{}\x00-\x1f' + re.escape(delimiter) + "]").search
    # Short strings already encoded, to their form: documents repeat keys' values ("tool_call", "openai.chat",
    # model names) and one dict lookup beats the quoting tests. Cleared when full, so it holds the recent ones.
    seen: dict[str, str] = {}
    seen_get = seen.get

    def scalar(value: Any) -> str:
        kind = type(value)
        if kind is str:
            encoded = seen_get(value)
            if encoded is not None:
                return encoded
            if value.isalnum():  # the common enum-like word: only the literal and number rules can apply
                if value in _LITERALS or (value[0] in _NUMBER_START and _NUMERIC_LIKE(value)):
                    encoded = _quote(value)
                else:
                    encoded = value
            elif not value:
                return '""'
            elif len(value) >= _LONG:
                return _string(value, _long_needs_quotes(value, delimiter))
            else:
                encoded = _string(value, forbidden(value))
            if len(seen) >= _SEEN_MAX:
                seen.clear()
            seen[value] = encoded
            return encoded
        if kind is int:
            return str(value) if -_BIG < value < _BIG else _big_int(value)
        if kind is float:
            return _float(value)
        if value is None:
            return "null"
        if value is True:
            return "true"
        if value is False:
            return "false"
        if kind is dict or kind is list:
            raise _Container
        raise TypeError(f"{kind.__name__} is not a JSON value")

    scalar.seen = seen_get  # type: ignore[attr-defined]  # for the writer's inline look-up
    return scalar


def _string(value: str, structural: Any) -> str:
    """A non-empty string that is not alphanumeric, bare or quoted (§7.2); `structural`: it holds a
    character that forces quotes."""
    first = value[0]
    if structural or first in "-# " or value[-1] == " " or (first in _NUMBER_START and _NUMERIC_LIKE(value)):
        return _quote(value)
    if not value.isascii() and not value.isprintable():
        _no_surrogate(value)
    return value


_SEEN_MAX = 2048
_SCALARS: dict[str, Any] = {}
_CONTAINERS = frozenset((dict, list))


# Keys already known to print bare: documents reuse a small vocabulary of keys, and one set lookup is cheaper
# than the two str tests below. Bounded, so that a huge object of distinct keys cannot grow it without end.
_BARE_KEYS: set[str] = set()
_BARE_KEYS_MAX = 4096


def _key(name: str) -> str:
    """Encode an object key, entry key or field name (§7.3)."""
    if name in _BARE_KEYS:
        return name
    if (name.isidentifier() and name.isascii()) or _KEY_OK(name):  # the first test: a fast subset of §7.3
        if len(_BARE_KEYS) < _BARE_KEYS_MAX:
            _BARE_KEYS.add(name)
        return name
    return _quote(name)
