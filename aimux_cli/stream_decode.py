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

    __slots__ = ("_pending", "_consumed", "_started", "first_bad", "bad", "more_bad", "notes")

    def __init__(self) -> None:
        self._pending = b""  # the start of a character whose remaining bytes have not arrived yet
        self._consumed = 0  # bytes decoded so far, not counting _pending
        self._started = False
        self.first_bad: int | None = None  # offset of the first bad byte in the whole stream
        self.bad = 0  # bad sequences replaced
        self.more_bad = False  # some were replaced in bulk, uncounted
        self.notes: list[str] = []  # the parser's own warnings (see _Parser.warnings)

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
            return self.notes[:20]
        others = self.bad - 1
        more = f" and {others:,}{'+' if self.more_bad else ''} more place(s)" if others or self.more_bad else ""
        return [f"invalid UTF-8 at byte {self.first_bad}{more}, replaced with U+FFFD", *self.notes[:20]]


def fail(err: StreamError | None, out: list) -> list:
    """Raise `err` carrying the values completed before it, or return them."""
    if err is None:
        return out
    err.values = out
    raise err


class Parser:
    """What every parser shares: the decoder, and the warnings about the bytes it decoded."""

    _decoder: Decoder

    @property
    def warnings(self) -> list[str]:
        """Problems met so far that did not stop the parser (bytes that are not UTF-8), one line each."""
        return self._decoder.warnings()


class Collected:
    """What `collect` read from a whole body: the items, the warnings, and whether the body was cut inside an item."""

    __slots__ = ("items", "warnings", "cut")

    def __init__(self) -> None:
        self.items: list = []
        self.warnings: list[str] = []
        self.cut = False  # the body ends inside an NDJSON line or a JSON array (a stream cut short)


def collect(parser: Parser, data: bytes) -> Collected:
    """Run a whole body through `parser`, going on past each bad item (it is skipped, with a warning): what
    arrived before a fault, and after it, is kept (issue 9: `feed() + close()` lost feed's result when close
    raised). The decoder's warnings (bytes that are not UTF-8) come first."""
    out = Collected()
    skipped: list[str] = []
    for closing in (False, True):
        chunk, last = data, None
        while True:
            try:
                out.items += parser.close() if closing else parser.feed(chunk)
                break
            except StreamSyntaxError as err:
                out.items += err.values
                if err.truncated:
                    out.cut = True
                    skipped.append(f"the stream ends inside an item (line {err.line_no}): it was cut short")
                    break
                if (err.message, err.line_no) == last:  # a fault the parser cannot move past
                    break
                last = (err.message, err.line_no)
                skipped.append(f"skipped {err}")
                chunk = b""  # the parser keeps what followed the bad item: go on with it
        if out.cut:
            break
    out.warnings = parser.warnings + _capped(skipped)
    return out


def _capped(messages: list[str], limit: int = 20) -> list[str]:
    if len(messages) <= limit:
        return messages
    return messages[:limit] + [f"… and {len(messages) - limit} more bad item(s) skipped"]
