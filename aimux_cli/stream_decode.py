"""What every stream parser shares: the stream errors, incremental UTF-8 decoding, and `collect`.

Contract: `Decoder.decode(chunk, final)` -> text (bad bytes become U+FFFD, counted for `warnings()`);
`collect(parser, data)` -> `Collected(items, warnings, cut)`, a whole body run through a parser past each bad item.
The parsers themselves are in aimux_cli/streams.py (SSE, NDJSON) and aimux_cli/stream_array.py (JSON arrays);
streams.py re-exports everything here, and its docstring is the reference for the behaviour.
"""

from __future__ import annotations

import codecs

from .errors import InputError

BOM = "\ufeff"


class StreamError(InputError):
    """A fault in a stream; `values` holds what the failing call had completed before it."""

    def __init__(self, message: str, *, values: list | None = None) -> None:
        super().__init__(message)
        self.values: list = values if values is not None else []


class InputDecodeError(StreamError):
    """The bytes are not UTF-8; `offset` is the index of the first bad byte in the whole stream."""

    def __init__(self, offset: int, *, values: list | None = None) -> None:
        super().__init__(f"invalid UTF-8 at byte {offset}", values=values)
        self.offset = offset


class StreamSyntaxError(StreamError):
    """A line or element that is not valid JSON, or a JSON array cut short (`truncated`)."""

    def __init__(self, message: str, line_no: int, *, truncated: bool = False, values: list | None = None) -> None:
        super().__init__(f"{message} (line {line_no})", values=values)
        self.message = message
        self.line_no = line_no
        self.truncated = truncated


_EXACT_BAD = 100  # bad sequences located one by one per decode call; the rest of that call is replaced in bulk


class Decoder:
    """Incremental UTF-8, the leading BOM dropped; bad bytes become U+FFFD and are counted (see `warnings`)."""

    __slots__ = ("_pending", "_consumed", "_started", "first_bad", "bad", "more_bad", "notes", "dropped")

    def __init__(self) -> None:
        self._pending = b""  # the start of a character whose remaining bytes have not arrived yet
        self._consumed = 0  # bytes decoded so far, not counting _pending
        self._started = False
        self.first_bad: int | None = None  # offset of the first bad byte in the whole stream
        self.bad = 0  # bad sequences replaced
        self.more_bad = False  # some were replaced in bulk, uncounted
        self.notes: list[str] = []  # the parser's own warnings (see Parser.warnings)
        self.dropped = 0  # notes beyond MAX_NOTES, counted only

    def decode(self, chunk: bytes | memoryview, final: bool = False) -> str:
        """Decode what can be decoded (a character cut at the end of `chunk` waits for its other bytes)."""
        data = self._pending + chunk if self._pending else bytes(chunk)
        try:
            text, used = codecs.utf_8_decode(data, "strict", final)
        except UnicodeDecodeError as exc:
            text, used = self._replace(data, exc, final)
        self._pending = data[used:]
        self._consumed += used
        if not self._started and text:
            self._started = True
            if text[0] == BOM:
                text = text[1:]
        return text

    def _replace(self, data: bytes, exc: UnicodeDecodeError, final: bool) -> tuple[str, int]:
        """Decode `data` with each bad sequence replaced by U+FFFD, as errors="replace" does, noting where."""
        view, pos, out, located = memoryview(data), 0, [], 0
        while True:
            start = pos + exc.start  # exc is relative to view[pos:]
            out.append(codecs.utf_8_decode(view[pos:start], "strict", True)[0])
            out.append("\ufffd")
            pos = pos + exc.end
            self.bad += 1
            located += 1
            if self.first_bad is None:
                self.first_bad = self._consumed + start
            if located == _EXACT_BAD:  # a body of garbage: replace the rest of this call in one go
                text, used = codecs.utf_8_decode(view[pos:], "replace", final)
                self.more_bad = self.more_bad or "\ufffd" in text
                return "".join(out) + text, pos + used
            try:
                text, used = codecs.utf_8_decode(view[pos:], "strict", final)
            except UnicodeDecodeError as again:
                exc = again
                continue
            out.append(text)
            return "".join(out), pos + used

    def warnings(self) -> list[str]:
        if self.first_bad is None:
            return []
        others = self.bad - 1
        more = f" and {others:,}{'+' if self.more_bad else ''} more place(s)" if others or self.more_bad else ""
        return [f"invalid UTF-8 at byte {self.first_bad}{more}, replaced with U+FFFD"]


class Parser:
    """What every parser shares: the decoder, the problems it went past, and whether the stream was cut."""

    _decoder: Decoder
    cut = False  # set by close() when the body ends inside an item (an NDJSON line, a JSON array)

    @property
    def warnings(self) -> list[str]:
        """Problems met so far that did not stop the parser (bytes that are not UTF-8, an item that is not JSON
        and was skipped), one line each, at most MAX_NOTES of the parser's own."""
        notes = self._decoder.notes
        extra = [f"… and {self._decoder.dropped} more item(s) skipped"] if self._decoder.dropped else []
        return self._decoder.warnings() + notes + extra

    def note(self, message: str) -> None:
        """Record a problem the parser went past (a bad line is skipped, never raised: the stream goes on)."""
        if len(self._decoder.notes) < MAX_NOTES:
            self._decoder.notes.append(message)
        else:
            self._decoder.dropped += 1


MAX_NOTES = 20


class Collected:
    """What `collect` read from a whole body: the items, the warnings, and whether the body was cut inside an item."""

    __slots__ = ("items", "warnings", "cut")

    def __init__(self, items: list, warnings: list[str], cut: bool) -> None:
        self.items = items
        self.warnings = warnings
        self.cut = cut  # the body ends inside an NDJSON line or a JSON array (a stream cut short)


def collect(parser: Parser, data: bytes) -> Collected:
    """Run a whole body through `parser`: its items (every good one, before and after a fault), its warnings, and
    whether it was cut short (issue 9: `feed() + close()` once lost feed's items when close raised)."""
    items = parser.feed(data)
    items += parser.close()
    return Collected(items, parser.warnings, parser.cut)
