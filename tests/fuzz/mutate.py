"""Deterministic mutations of seed inputs: `mutate(rng, seed, seeds) -> Case`.

Every mutation is drawn from `rng` (a `random.Random`) alone, so a case number and a seed give the same bytes on
every run. A `Case` records what the checks may expect of it:

- `cut`: the bytes before `cut` are the seed's own; the answer text of the seed's events that end before it must
  appear in `-f text` output (a truncation, a flipped byte, bad UTF-8 and the like must not lose what came first).
- `expect`: text that must appear whole in `-f text` output (a BOM or CRLF line endings change nothing).
- `equivalent`: the input means what the seed means (a leading BOM, CR or CRLF line ends): `-f json` must print
  the very same document for both.
"""

from __future__ import annotations

import ast
import functools
import json
import random
import re
from pathlib import Path

from .seeds import Seed

WIRE_DIR = Path(__file__).resolve().parents[2] / "aimux_cli" / "wire"
# The keys every wire module branches on first: aimed at more often than the rest.
WELL_KNOWN = ("object", "type", "choices", "content", "candidates", "usage", "finish_reason", "delta", "message",
              "error", "parts", "text", "index", "done", "output", "response", "tool_calls", "function",
              "arguments", "stop_reason", "content_block", "usageMetadata", "eval_duration", "total_duration",
              "prompt_eval_count", "eval_count", "created", "model", "role", "id", "status", "code", "param",
              "input", "thinking", "reasoning_content", "finishReason", "functionCall", "item", "part", "logprobs")
BOM = b"\xef\xbb\xbf"
BAD_UTF8 = (b"\xff", b"\xfe", b"\x80", b"\xc3", b"\xc0\xaf", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
            b"\xf0\x9f\x98")
HUGE_NUMBERS = ("1e400", "-1e400", "1e-400", "1E+309", "-0", "0.0000000000000000000000000001", "1.5e308",
                "123456789012345678901234567890")
_NUMBER = re.compile(rb"(?<=[:\[,])\s*-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?=\s*[,\]}])")


@functools.lru_cache(maxsize=None)
def wire_keys() -> tuple[str, ...]:
    """Every identifier-like string constant of aimux_cli/wire/*.py: the key names (and values) the parsers read."""
    names: set[str] = set(WELL_KNOWN)
    for path in sorted(WIRE_DIR.glob("*.py")):
        text = path.read_text()
        try:
            constants = [n.value for n in ast.walk(ast.parse(text))
                         if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        except SyntaxError:  # a module being edited: its quoted words will do
            constants = re.findall(r"[\"']([^\"'\n]{1,41})[\"']", text)
        names.update(c for c in constants if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]{0,40}", c))
    return tuple(sorted(names))


class Case:
    """One fuzz input and what the checks may expect of it (see the module docstring)."""

    __slots__ = ("data", "mutation", "seed", "cut", "expect", "equivalent")

    def __init__(self, data: bytes, mutation: str, seed: Seed | None = None, cut: int | None = None,
                 expect: tuple[tuple[int, str], ...] | None = None, equivalent: bool = False) -> None:
        self.data, self.mutation, self.seed, self.cut, self.expect = data, mutation, seed, cut, expect
        self.equivalent = equivalent

    @property
    def is_stream(self) -> bool:
        """An SSE or NDJSON stream (mutated or drawn): --follow and ask's Pump are tried on it too."""
        kind = self.seed.kind if self.seed is not None else self.mutation.removeprefix("shape-").split(" ")[0]
        return kind in ("sse", "ndjson")

    @property
    def label(self) -> str:
        return f"{self.mutation} of {self.seed.label}" if self.seed else self.mutation

    def expected_text(self) -> tuple[tuple[int, str], ...]:
        """(choice, text) of the text blocks that `-f text` output must each contain."""
        if self.expect:
            return self.expect
        if self.cut is not None and self.seed is not None:
            return self.seed.text_before(self.cut)
        return ()


# --- values that confuse a parser ------------------------------------------------------------------------------


class Raw(str):
    """A JSON token written as it is (1e400, a 3,000-deep array): json.dumps cannot produce these."""


def deep(rng: random.Random) -> Raw:
    depth = rng.choice((100, 999, 1000, 1025, 1500, 3000, 10_000, 50_000))
    key = rng.choice(WELL_KNOWN)
    shape = rng.randrange(3)
    if shape == 0:
        return Raw("[" * depth + "]" * depth)
    if shape == 1:
        return Raw(f'{{"{key}":' * depth + "null" + "}" * depth)
    return Raw(f'[{{"{key}":' * depth + "1" + "}]" * depth)


def confusing(rng: random.Random):
    """A value of the wrong type, size or depth for wherever it is put."""
    kind = rng.randrange(16)
    if kind == 0:
        return rng.choice((None, True, False))
    if kind == 1:
        return rng.choice((0, -1, 1, 2, -2**63, 2**64, 1.5, -0.5))
    if kind == 2:
        return Raw(str(rng.choice((-1, 1)) * rng.randrange(10**18, 10**19)) + "9" * rng.choice((1, 20, 300, 5000)))
    if kind == 3:
        return Raw(rng.choice(HUGE_NUMBERS))
    if kind == 4:
        return rng.choice(("", "x", "null", "[DONE]", "\x1b[31mred\x1b]8;;http://x\x07", "\u202e", "\x00"))
    if kind == 5:
        return rng.choice(([], {}, [None], [[]], [{}], {"": None}, [1, "a", None, True]))
    if kind == 6:
        return {rng.choice(WELL_KNOWN): confusing(rng) for _ in range(rng.randrange(1, 4))}
    if kind == 7:
        return [confusing(rng) for _ in range(rng.randrange(1, 4))]
    if kind == 8:
        return deep(rng)
    if kind == 9:
        return "\n" * rng.choice((10, 1000, 20_000, 100_000))
    if kind == 10:
        return "y" * rng.choice((10_000, 1_000_000))
    if kind == 11:
        return rng.choice(wire_keys())  # a real value of the wrong field ("message", "tool_use", "stop", ...)
    if kind == 12:
        return [rng.choice(wire_keys()) for _ in range(rng.choice((1, 3, 10_000)))]
    if kind == 13:
        return {"type": rng.choice(wire_keys()), rng.choice(wire_keys()): confusing(rng)}
    if kind == 14:
        return [{"type": rng.choice(wire_keys())} for _ in range(rng.choice((1, 2, 5_000)))]
    return rng.choice(("1", "-5", "1e3", "true", "NaN", "Infinity"))  # numbers and constants as strings


def dumps(value) -> bytes:
    """Compact JSON with `Raw` tokens spliced in as they are."""
    raws: list[str] = []

    def swap(node):
        if isinstance(node, Raw):
            raws.append(str(node))
            return f"\x01raw{len(raws) - 1}\x01"
        if isinstance(node, dict):
            return {k: swap(v) for k, v in node.items()}
        if isinstance(node, list):
            return [swap(v) for v in node]
        return node

    text = json.dumps(swap(value), ensure_ascii=False, separators=(",", ":"))
    for i, raw in enumerate(raws):
        text = text.replace(f'"\\u0001raw{i}\\u0001"', raw, 1)
    return text.encode("utf-8", "surrogatepass")


def _paths(value, out: list, path: tuple = (), limit: int = 2000) -> list:
    """(path, key) of every dict entry in `value`, depth-first."""
    if len(out) >= limit or len(path) > 60:
        return out
    if isinstance(value, dict):
        for key, child in value.items():
            out.append(path + (key,))
            _paths(child, out, path + (key,), limit)
    elif isinstance(value, list):
        for i, child in enumerate(value[:50]):
            _paths(child, out, path + (i,), limit)
    return out


def confuse_value(rng: random.Random, value, *, force=None):
    """A copy of `value` with one dict entry (a well-known key more often than not) given a confusing value."""
    value = json.loads(json.dumps(value))
    paths = _paths(value, [])
    if not paths:
        return force if force is not None else confusing(rng)
    known = [p for p in paths if p[-1] in WELL_KNOWN]
    path = rng.choice(known if known and rng.random() < 0.7 else paths)
    node = value
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = force if force is not None else confusing(rng)
    if rng.random() < 0.1:  # and sometimes a known key added where it was not expected
        node[rng.choice(wire_keys())] = confusing(rng)
    return value


# --- stream events -------------------------------------------------------------------------------------------


def _event_json(block: bytes):
    """(prefix lines, JSON value, suffix) of an SSE block with one data line, or None."""
    lines = block.split(b"\n")
    for i, line in enumerate(lines):
        if line.startswith(b"data:"):
            payload = line[5:].lstrip(b" ")
            try:
                value = json.loads(payload)
            except ValueError:
                return None
            return b"\n".join(lines[:i]) + (b"\n" if i else b"") + b"data: ", value, b"\n" + b"\n".join(lines[i + 1:])
    return None


def _rewrite_event(rng: random.Random, seed: Seed, change) -> Case | None:
    """Apply `change(value) -> value` to the JSON of one event of a stream seed."""
    order = list(range(len(seed.spans)))
    rng.shuffle(order)
    for index in order[:8]:
        start, end = seed.spans[index]
        block = seed.data[start:end]
        if seed.kind == "ndjson":
            try:
                value = json.loads(block)
            except ValueError:
                continue
            new = dumps(change(value)) + b"\n"
        else:
            parts = _event_json(block)
            if parts is None:
                continue
            head, value, tail = parts
            new = head + dumps(change(value)) + tail
        return Case(seed.data[:start] + new + seed.data[end:], "", seed, cut=start)
    return None


# --- the mutations ---------------------------------------------------------------------------------------------


def m_flip(rng, seed, seeds):
    if not seed.data:  # a truncation to nothing, flipped next
        return Case(bytes([rng.randrange(256)]), "flip", seed, cut=0)
    data = bytearray(seed.data)
    spots = [rng.randrange(len(data)) for _ in range(rng.choice((1, 1, 1, 2, 3, 8, 32)))]
    for at in spots:
        data[at] = data[at] ^ (1 << rng.randrange(8)) if rng.random() < 0.7 else rng.randrange(256)
    return Case(bytes(data), "flip", seed, cut=min(spots))


def m_truncate(rng, seed, seeds):
    if seed.spans and rng.random() < 0.4:  # near an event boundary, where parsers decide
        at = rng.choice(seed.spans)[1] + rng.randint(-3, 3)
    else:
        at = rng.randrange(len(seed.data) + 1)
    at = max(0, min(at, len(seed.data)))
    return Case(seed.data[:at], "truncate", seed, cut=at)


def m_splice(rng, seed, seeds):
    other = rng.choice(seeds)
    i, j = rng.randrange(len(seed.data) + 1), rng.randrange(len(other.data) + 1)
    if seed.spans and other.spans and rng.random() < 0.5:  # whole events of another stream
        i = rng.choice(seed.spans)[1]
        j = rng.choice(other.spans)[0]
    return Case(seed.data[:i] + other.data[j:], "splice", seed, cut=i)


def m_confuse(rng, seed, seeds, *, force=None, name="confuse"):
    if seed.kind == "json":
        if seed.value is None:
            return None
        return Case(dumps(confuse_value(rng, seed.value, force=force)), name, seed)
    case = _rewrite_event(rng, seed, lambda v: confuse_value(rng, v, force=force))
    if case is not None:
        case.mutation = name
    return case


def m_nest(rng, seed, seeds):
    if rng.random() < 0.3:  # the whole input inside deep nesting
        depth = rng.choice((500, 1000, 2000, 20_000))
        opener = rng.choice((b"[", b'{"choices":', b'{"content":', b'{"candidates":'))
        closer = b"]" if opener == b"[" else b"}"
        return Case(opener * depth + seed.data + closer * depth, "nest", seed)
    return m_confuse(rng, seed, seeds, force=deep(rng), name="nest")


def m_bad_utf8(rng, seed, seeds):
    bad = rng.choice(BAD_UTF8)
    if seed.kind == "sse" and rng.random() < 0.3:  # in a trailing event after a complete answer
        event = b'event: ping\ndata: {"type":"ping","note":"' + bad + b'"}\n\n'
        return Case(seed.data + event, "bad-utf8-tail", seed, cut=len(seed.data))
    if seed.kind == "ndjson" and rng.random() < 0.3:
        return Case(seed.data + b'{"note":"' + bad + b'"}\n', "bad-utf8-tail", seed, cut=len(seed.data))
    at = rng.randrange(len(seed.data) + 1)
    drop = rng.choice((0, 0, 1))
    return Case(seed.data[:at] + bad + seed.data[at + drop:], "bad-utf8", seed, cut=at)


def m_bom(rng, seed, seeds):
    if rng.random() < 0.6:
        return Case(BOM + seed.data, "bom", seed, expect=seed.full_text(), equivalent=True)
    at = rng.choice(seed.spans)[0] if seed.spans else rng.randrange(len(seed.data) + 1)
    return Case(seed.data[:at] + BOM + seed.data[at:], "bom-inside", seed, cut=at)


def m_newlines(rng, seed, seeds):
    style = rng.choice((b"\r\n", b"\r\n", b"\r", b"mixed"))
    if style == b"mixed":
        pieces = seed.data.split(b"\n")
        data = pieces[0]
        for piece in pieces[1:]:
            sep = rng.choice((b"\n", b"\r\n", b"\r"))
            if sep == b"\n" and data.endswith(b"\r"):  # CR then LF would be one line end, not two
                sep = b"\r\n"
            data += sep + piece
        exact = seed.kind != "ndjson"  # a lone CR does not end an NDJSON line
        return Case(data, "newlines-mixed", seed, expect=seed.full_text() if exact else None, equivalent=exact)
    exact = seed.kind != "ndjson" or style == b"\r\n"
    return Case(seed.data.replace(b"\n", style), "crlf" if style == b"\r\n" else "cr", seed,
                expect=seed.full_text() if exact else None, equivalent=exact)


def m_nul(rng, seed, seeds):
    at = rng.randrange(len(seed.data) + 1)
    count = rng.choice((1, 1, 4, 1000))
    return Case(seed.data[:at] + b"\x00" * count + seed.data[at:], "nul", seed, cut=at)


def m_huge_number(rng, seed, seeds):
    spots = list(_NUMBER.finditer(seed.data))
    if not spots:
        return None
    token = rng.choice(HUGE_NUMBERS + ("9" * rng.choice((19, 310, 4301, 20_000)), "-" + "9" * 400))
    hits = rng.sample(spots, min(len(spots), rng.choice((1, 1, 3, 1000))))
    data, first = seed.data, min(h.start() for h in hits)
    for hit in sorted(hits, key=lambda h: h.start(), reverse=True):
        data = data[:hit.start()] + token.encode() + data[hit.end():]
    return Case(data, "huge-number", seed, cut=first)


def m_repeat(rng, seed, seeds):
    if not seed.spans:
        return None
    start, end = rng.choice(seed.spans)
    times = rng.choice((2, 10, 1000, 20_000))
    return Case(seed.data[:end] + seed.data[start:end] * times + seed.data[end:], "repeat", seed, cut=end)


MUTATIONS = (  # (weight, mutation)
    (12, m_flip), (12, m_truncate), (6, m_splice), (20, m_confuse), (5, m_nest), (8, m_bad_utf8), (4, m_bom),
    (5, m_newlines), (5, m_nul), (6, m_huge_number), (3, m_repeat),
)
_BYTE_LEVEL = (m_flip, m_truncate, m_bad_utf8, m_nul)


def mutate(rng: random.Random, seed: Seed, seeds) -> Case:
    """One mutation of `seed` (sometimes two, the second a byte-level one)."""
    funcs = [f for _, f in MUTATIONS]
    weights = [w for w, _ in MUTATIONS]
    case = None
    for _ in range(8):
        case = rng.choices(funcs, weights)[0](rng, seed, seeds)
        if case is not None:
            break
    if case is None:
        return Case(seed.data, "none", seed, expect=seed.full_text())
    if rng.random() < 0.15:
        second = rng.choice(_BYTE_LEVEL)(rng, Seed(seed.label, case.data, seed.kind), seeds)
        cut = second.cut if case.cut is None else min(case.cut, second.cut)
        case = Case(second.data, f"{case.mutation}+{second.mutation}", seed,
                    cut=cut if case.cut is not None else None)
    return case
