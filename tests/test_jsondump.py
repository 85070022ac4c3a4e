"""aimux_cli.jsondump: JSON text of any value, without recursion, in json.dumps's layout."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from aimux_cli.jsondump import INDENT_DEPTH, _iterencode, dumps

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                    | st.text(), lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner,
                                                                                                  max_size=4),
                    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_the_fallback_writes_what_json_dumps_writes(value):
    for indent in (None, 2):
        separators = (",", ":") if indent is None else None
        assert "".join(_iterencode(value, indent)) == json.dumps(value, indent=indent, ensure_ascii=False,
                                                                  separators=separators)
        assert json.loads(dumps(value, indent)) == value


def nested(depth: int):
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


def test_any_depth_is_written_without_recursion_and_in_linear_size():
    text = dumps(nested(5000), 2)
    assert text.count("[") == 5000 and text.count("1") == 1
    assert len(text) < 5000 * 4 + INDENT_DEPTH ** 2 * 2  # the indentation stops growing
    assert dumps(nested(5000)) == "[" * 5000 + "1" + "]" * 5000


def test_numbers_json_cannot_hold():
    assert dumps({"a": float("inf"), "b": float("nan")}) == '{"a":null,"b":null}'
    assert dumps(10 ** 30) == str(10 ** 30)  # beyond 64 bits: orjson refuses, the fallback writes it whole
    assert dumps(10 ** 5000) == '"<an integer of about 5000 digits>"'  # beyond the interpreter's digit limit
