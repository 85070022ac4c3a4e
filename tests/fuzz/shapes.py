"""Hypothesis strategies for provider-shaped JSON: the real key names of the wire modules holding random types.

Contract: `inputs()` is a strategy of `(label, bytes)`: a JSON body or an SSE / NDJSON stream. Most are a seed's body
or events with some entries dropped, added (a known key) or given a random value; the rest are random objects made
of known keys. `draw(rng)` turns a `random.Random` into one such input through hypothesis's `fuzz_one_input`, so a
case number and a seed pick the same input every time with the same hypothesis version (and the long run needs no
hypothesis database).
"""

from __future__ import annotations

import functools
import json
import random

from hypothesis import HealthCheck, given, settings, strategies as st

from .mutate import HUGE_NUMBERS, Raw, dumps, wire_keys
from .seeds import load_seeds

_MAX_DEPTH = 10


@functools.lru_cache(maxsize=None)
def _keys():
    return st.sampled_from(wire_keys())


@functools.lru_cache(maxsize=None)
def values():
    """Any JSON value, its keys and strings often the wire modules' own names."""
    base = st.one_of(
        st.none(), st.booleans(),
        st.integers(min_value=-2**70, max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=30), _keys(),
        st.sampled_from([Raw(n) for n in HUGE_NUMBERS] + [Raw("9" * 400), "\n" * 500, "\x1b]52;c;AAAA\x07"]),
    )
    return st.recursive(base, lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(_keys(), st.text(max_size=8)), inner, max_size=5)), max_leaves=24)


_ROLL, _DROP, _ADD = st.integers(0, 15), st.integers(0, 11), st.integers(0, 2)


def _perturb(draw, template, depth: int = 0):
    """`template` with entries dropped, added or replaced by random values, at any depth."""
    roll = draw(_ROLL)
    if roll == 0:
        return draw(values())
    if depth > _MAX_DEPTH:
        return template
    if isinstance(template, dict):
        out = {}
        for key, child in template.items():
            if draw(_DROP) == 0:
                continue
            out[key] = _perturb(draw, child, depth + 1)
        for _ in range(draw(_ADD) if roll == 1 else 0):
            out[draw(_keys())] = draw(values())
        return out
    if isinstance(template, list):
        items = [_perturb(draw, child, depth + 1) for child in template[:12]]
        if roll == 2 and items:
            items = draw(st.permutations(items))
        return items
    return template


@st.composite
def perturbed(draw, template):
    return _perturb(draw, template)


@functools.lru_cache(maxsize=None)
def _templates():
    """(bodies, streams): JSON bodies of the seeds, and streams as (kind, [(event name, JSON)])."""
    bodies, streams = [], []
    for seed in load_seeds():
        if seed.kind == "json" and seed.value is not None:
            bodies.append(seed.value)
        elif seed.kind in ("sse", "ndjson"):
            events = []
            for start, end in seed.spans:
                event = _event(seed.data[start:end], seed.kind)
                if event is not None:
                    events.append(event)
            if events:
                streams.append((seed.kind, events))
    return bodies, streams


def _event(block: bytes, kind: str):
    if kind == "ndjson":
        try:
            return None, json.loads(block)
        except ValueError:
            return None
    name, data = None, None
    for line in block.decode("utf-8", "replace").split("\n"):
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data = line[5:].strip()
    if data is None:
        return None
    try:
        return name, json.loads(data)
    except ValueError:
        return name, data  # [DONE]


def bodies():
    templates, _ = _templates()
    known = st.sampled_from(templates).flatmap(perturbed)
    invented = st.dictionaries(_keys(), values(), min_size=1, max_size=8)
    return st.one_of(known, known, invented).map(lambda v: ("body", dumps(v)))


@st.composite
def streams(draw):
    _, templates = _templates()
    kind, events = draw(st.sampled_from(templates))
    picked = draw(st.lists(st.integers(0, len(events) - 1), min_size=1, max_size=min(2 * len(events), 40)))
    if draw(st.booleans()):
        picked = sorted(picked)  # mostly in order, as a provider sends them
    out = []
    for i in picked:
        name, value = events[i]
        if not isinstance(value, str):
            value = _perturb(draw, value)
        data = value.encode() if isinstance(value, str) else dumps(value)
        if kind == "ndjson":
            out.append(data + b"\n")
        else:
            head = f"event: {name}\n".encode() if name else b""
            out.append(head + b"data: " + data + b"\n\n")
    return kind, b"".join(out)


def inputs():
    return st.one_of(bodies(), streams())


_box: list = []
_settings = settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))


@given(bodies())
@_settings
def _draw_body(value) -> None:
    _box.append(value)


@given(streams())
@_settings
def _draw_stream(value) -> None:
    _box.append(value)


def draw(rng: random.Random) -> tuple[str, bytes]:
    """One input drawn with `rng` (through hypothesis's fuzz_one_input, retried when the buffer runs short):
    a body 60% of the time, else a stream."""
    target = _draw_body if rng.random() < 0.6 else _draw_stream
    for _ in range(20):
        size = rng.choice((1024, 4096, 8192))
        zeros = int(256 * rng.choice((0.0, 0.3, 0.6, 0.85)))  # hypothesis reads zeros as "simple"
        buffer = bytes(b if m >= zeros else 0 for b, m in zip(rng.randbytes(size), rng.randbytes(size)))
        _box.clear()
        target.hypothesis.fuzz_one_input(buffer)
        if _box:
            return _box[-1]
    return "body", b"{}"
