"""Tests for aimux_cli.toon: the spec's encode fixtures, reference-encoder choices, round trips, depth."""

from __future__ import annotations

import json
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import orjson
import pytest
import toon_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aimux_cli.toon import DELIMITERS, encode

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "toon-spec" / "fixtures" / "encode"


def _fixture_cases() -> list[Any]:
    if not FIXTURES.is_dir():
        reason = f"TOON spec fixtures not found at {FIXTURES} (clone the spec next to the repo to run them)"
        return [pytest.param(None, id="fixtures-absent", marks=pytest.mark.skip(reason=reason))]
    cases = []
    for path in sorted(FIXTURES.glob("*.json")):
        for case in json.loads(path.read_text(encoding="utf-8"))["tests"]:
            cases.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return cases


@pytest.mark.parametrize("case", _fixture_cases())
def test_encode_fixture(case: dict[str, Any]) -> None:
    options = case.get("options") or {}
    kwargs = {"indent": options.get("indentSize", 2), "delimiter": options.get("delimiter", ",")}
    if case.get("shouldError"):
        with pytest.raises((ValueError, TypeError)):
            encode(case["input"], **kwargs)
        return
    assert encode(case["input"], **kwargs) == case["expected"]


# Where the spec leaves a choice, the output of the reference encoder @toon-format/toon 4.4.0 (checked with
# node against these exact inputs), except where noted.
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (-0.0, "0"),
        (1e-6, "0.000001"),
        (1.5e-5, "0.000015"),
        (1e-7, "1e-7"),
        (-2.5e-7, "-2.5e-7"),
        (5e-324, "5e-324"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1.0, "1"),
        (10**21, "1e+21"),  # an int the reference can hold exactly: its form
        (2**100, "1.2676506002282294e+30"),
        (-(2**80), "-1.2089258196146292e+24"),
        # The reference rounds these to doubles; aimux keeps every digit (lossless, spec §2).
        (10**30, "1000000000000000000000000000000"),  # reference: 1e+30
        (2**64 + 1, "18446744073709551617"),
        (10**21 + 1, "1000000000000000000001"),
        (2.0**60, "1152921504606846976"),  # reference: 1152921504606847000, which decodes to another int
        (float("nan"), "null"),
        (float("inf"), "null"),
        (float("-inf"), "null"),
        ({"#x": 1, "$ref": "#/a", "a.b": "x", "é": 1}, '"#x": 1\n"$ref": "#/a"\na.b: x\n"é": 1'),
        ("\ufeffx", '"\ufeffx"'),  # a root string may not start with what reads as a byte-order mark
    ],
    ids=repr,
)
def test_reference_choices(value: Any, expected: str) -> None:
    assert encode(value) == expected


def test_options_and_mapping() -> None:
    assert DELIMITERS == {"comma": ",", "tab": "\t", "pipe": "|"}
    assert encode({"a": [1, "x|y"]}, delimiter=DELIMITERS["pipe"]) == 'a[2|]: 1|"x|y"'
    assert encode({"a": {"b": 1}}, indent=3) == "a:\n   b: 1"
    for bad in (";", "", ",,", " "):
        with pytest.raises(ValueError):
            encode({}, delimiter=bad)
    with pytest.raises(ValueError):
        encode({}, indent=0)


def test_rejects_what_json_cannot_hold() -> None:
    with pytest.raises(ValueError, match="surrogate"):
        encode({"a": "x\ud800"})
    with pytest.raises(TypeError):
        encode({"a": {1, 2}})
    with pytest.raises(TypeError):
        encode({1: "a"})


def _nested(depth: int, inner: Any) -> Any:
    for _ in range(depth):
        inner = {"a": inner}
    return inner


def _with_recursion_limit(func: Any, *args: Any, **kwargs: Any) -> Any:
    """toon_format is recursive; give it room for the 1024-level documents (our encoder needs none)."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 20_000))
    try:
        return func(*args, **kwargs)
    finally:
        sys.setrecursionlimit(old)


def test_deepest_list_orjson_parses() -> None:
    value = orjson.loads("[" * 1024 + "]" * 1024)
    expected = "\n".join(["[1]:"] + ["  " * i + "- [1]:" for i in range(1, 1023)] + ["  " * 1023 + "- [0]:"])
    assert encode(value) == expected
    assert _with_recursion_limit(toon_format.encode, value) == expected


def test_deepest_object_orjson_parses() -> None:
    value = orjson.loads('{"a":' * 1023 + "{}" + "}" * 1023)
    expected = "\n".join("  " * i + "a:" for i in range(1023))
    assert encode(value) == expected
    assert _with_recursion_limit(toon_format.encode, value) == expected


def test_deep_nested_field_group() -> None:
    value = [_nested(1022, 1)]
    assert encode(value) == "[1]" + "{a" * 1022 + "}" * 1022 + ":\n  1"
    decoded = _with_recursion_limit(toon_format.decode, encode(value))
    assert _with_recursion_limit(lambda: decoded == value)  # == on nested dicts recurses too


# --- Round trip through the independent decoder (toon_format) ------------------------------------------

TRICKY = [
    "", " ", "  ", "a b", " a", "a ", "\t", "-", "-a", "- item", "#", "#x", "$ref", "true", "false", "null",
    "True", "42", "05", "+1", "-3.14", "1e-6", "1E5", "1.", ".5", "0x10", "Infinity", "NaN", "a:b", "a,b",
    "a|b", "a\tb", "a\nb", "\r\n", "\x00", "\x1f", "\x7f", "é", "你好", "🚀", "[x]", "{y}", "[3]: x", '"q"',
    "back\\slash", "x.y", "_k", "a-b", "\u00a0", "\u2028", "key:", "1 2", "[]", "-1", "1e+21",
]
EDGE_FLOATS = [1e-7, 1e-6, 9.99e-7, 1e21, 1e20, 5e-324, 1.7976931348623157e308, 2.0**53, 2.0**60, 1e16, 0.1]
EDGE_INTS = [2**53 + 1, 2**63, -(2**64) - 1, 10**21, 10**21 + 1, 10**40, 2**100]

any_char = st.characters(blacklist_categories=("Cs",))
texts = st.one_of(
    st.sampled_from(TRICKY),
    st.text(any_char, max_size=12),
    # Strings of 64 characters and more take another quoting path.
    st.tuples(st.sampled_from(TRICKY), st.sampled_from(TRICKY)).map(lambda pair: pair[0] + "y" * 64 + pair[1]),
    st.text(any_char, min_size=64, max_size=90),
)
numbers = st.one_of(
    st.integers(),
    st.sampled_from(EDGE_INTS),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(EDGE_FLOATS + [-0.0]).map(lambda x: x if x == 0 else x * -1 if hash(x) % 2 else x),
)
primitives = st.one_of(st.none(), st.booleans(), numbers, texts)


def _uniform_rows(children: st.SearchStrategy[Any]) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Lists of objects sharing one key set, so that tabular forms (and near misses) come up often."""
    cell = st.one_of(primitives, st.dictionaries(st.sampled_from(["x", "y z"]), primitives, max_size=2), children)
    return st.lists(texts, min_size=1, max_size=4, unique=True).flatmap(
        lambda keys: st.lists(st.fixed_dictionaries({key: cell for key in keys}), min_size=1, max_size=4)
    )


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(texts, children, max_size=5),
        _uniform_rows(children),
        _uniform_rows(children).map(lambda rows: {f"k{i}": row for i, row in enumerate(rows)}),
    )


json_values = st.recursive(primitives, _containers, max_leaves=25)


def _model(value: Any) -> Any:
    """JSON-model view (spec §2): numbers by exact value (1.0 == 1, -0.0 == 0), booleans apart from 1/0."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return (type(value).__name__, value)
    if isinstance(value, (int, float)):
        return ("number", Fraction(value))
    if isinstance(value, list):
        return ("list", [_model(item) for item in value])
    return ("object", {key: _model(item) for key, item in value.items()})


@pytest.mark.parametrize("delimiter", list(DELIMITERS.values()), ids=list(DELIMITERS))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values, indent=st.sampled_from([2, 1, 4]))
def test_round_trip(delimiter: str, value: Any, indent: int) -> None:
    text = encode(value, indent=indent, delimiter=delimiter)
    assert _model(toon_format.decode(text, indent_size=indent)) == _model(value)

