"""The inputs the fuzzer mutates: every response file of fixtures/ and of ../shared/provider-corpus.

Contract: `load_seeds()` -> a list of `Seed` (label, bytes, kind, event spans), sorted by label so that a case
number picks the same seed on every machine with the same files. The corpus is read in place, never copied; it is
simply left out when it is not beside the clone.

`Seed.text_before(cut)` is the oracle of the "nothing decoded is lost" check: the text blocks of the answer (each
printed whole by `-f text`) of the events that end before byte `cut`, folded from the clean seed. A block's text
in a prefix is a prefix of its text in the whole stream, so each must appear in the output of any longer input.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
CORPUS = ROOT.parent / "shared" / "provider-corpus"
SUFFIXES = {".json": "json", ".sse": "sse", ".ndjson": "ndjson"}


class Seed:
    """One seed input. `spans` are the byte ranges of its events (blank-line blocks of an SSE stream, lines of an
    NDJSON stream), each including its terminator; empty for a JSON body."""

    def __init__(self, label: str, data: bytes, kind: str) -> None:
        self.label, self.data, self.kind = label, data, kind
        self.spans = _spans(data, kind)

    def __repr__(self) -> str:
        return f"Seed({self.label!r}, {self.kind}, {len(self.data)} bytes)"

    @functools.cached_property
    def value(self):
        """The JSON value of a body (None when it is not valid JSON, or is a stream)."""
        if self.kind != "json":
            return None
        try:
            return json.loads(self.data.decode("utf-8-sig"))
        except ValueError:
            return None

    @functools.cached_property
    def api(self) -> str | None:
        """The wire format the clean seed is detected as (None for the generic path or an error)."""
        from aimux_cli.inputs import Source
        from aimux_cli.prettify import normalize

        try:
            doc = normalize(Source("seed", self.data)).document
        except Exception:
            return None
        if doc is None or getattr(doc, "kind", None) is not None:  # another kind (aimux_cli/kinds): not a wire
            return None
        return doc.api

    def events_before(self, cut: int) -> int:
        """How many events end (terminator included) at or before byte `cut`."""
        return sum(1 for _, end in self.spans if end <= cut)

    def text_before(self, cut: int) -> tuple[tuple[int, str], ...]:
        """The text blocks of the events that end before `cut` (none for a body)."""
        return self._text_of(self.events_before(cut))

    def full_text(self) -> tuple[tuple[int, str], ...]:
        return self._text_of(len(self.spans)) if self.spans else _texts(self.data)

    @functools.lru_cache(maxsize=None)  # noqa: B019 - seeds live as long as the process
    def _text_of(self, events: int) -> tuple[tuple[int, str], ...]:
        if not events:
            return ()
        return _texts(self.data[: self.spans[events - 1][1]])


def _texts(data: bytes) -> tuple[tuple[int, str], ...]:
    """(choice number, text) of the non-empty text blocks of every choice of clean input, normalized by the
    library."""
    from aimux_cli.inputs import Source
    from aimux_cli.prettify import normalize

    try:
        outcome = normalize(Source("seed", data))
    except Exception:  # an error (or a crash) on clean input is reported by its own case, not by the oracle
        return ()
    if outcome.document is None:
        return ()
    doc = outcome.document.to_dict()
    choices = doc.get("choices") or [doc]
    return tuple((i, b["text"]) for i, c in enumerate(choices) for b in c.get("blocks") or ()
                 if b.get("type") == "text" and isinstance(b.get("text"), str) and b["text"])


def _spans(data: bytes, kind: str) -> list[tuple[int, int]]:
    if kind == "sse":
        sep = b"\r\n\r\n" if b"\r\n" in data else b"\n\n"
    elif kind == "ndjson":
        sep = b"\n"
    else:
        return []
    spans, start = [], 0
    while True:
        at = data.find(sep, start)
        if at < 0:
            break
        end = at + len(sep)
        while kind == "sse" and data[end:end + 1] == b"\n":  # a run of blank lines belongs to the event before
            end += 1
        spans.append((start, end))
        start = end
    return spans


def _files(base: Path, prefix: str) -> list[Seed]:
    if not base.is_dir():
        return []
    out = []
    for path in sorted(base.rglob("*")):
        kind = SUFFIXES.get(path.suffix)
        if kind and path.is_file():
            out.append(Seed(f"{prefix}/{path.relative_to(base)}", path.read_bytes(), kind))
    return out


@functools.lru_cache(maxsize=None)
def load_seeds(corpus: bool = True) -> tuple[Seed, ...]:
    """Every fixture, then (when present and `corpus`) every corpus file."""
    seeds = _files(FIXTURES, "fixtures") + (_files(CORPUS, "corpus") if corpus else [])
    return tuple(seeds)


def seed_by_label(label: str) -> Seed:
    for seed in load_seeds():
        if seed.label == label:
            return seed
    raise KeyError(label)
