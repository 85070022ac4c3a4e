"""Raw provider bytes -> events: SSE, NDJSON and JSON arrays of chunks. Pure: no I/O, no terminal.

Contract:

- `SSEParser` turns a `text/event-stream` body into `SSEEvent`s by the WHATWG rules (lines end with CRLF, LF or
  CR; `:` comments; one space stripped after `field:`; `data` lines joined with "\\n"; `id` persists across events
  and is ignored when it contains NUL; `retry` and unknown fields ignored; no data lines, no event). One deliberate
  deviation, required by issue 3: `close()` dispatches a final event that lacks its trailing blank line.
- `NDJSONParser` yields one JSON value per non-blank line (LF or CRLF).
- `JSONArrayParser` yields each top-level element of a JSON array (Gemini `streamGenerateContent` without `alt=sse`)
  as soon as its closing brace arrives.
- Every parser takes bytes in chunks of any size (`feed`) and is flushed with `close()`; feeding a body in pieces
  gives the same result as feeding it whole. Bytes are UTF-8, decoded incrementally (a character split across
  chunks is fine); a leading BOM is dropped. Bytes that are not UTF-8 are replaced with U+FFFD (as
  `bytes.decode(errors="replace")` does) and the parser goes on: `parser.warnings` then names the first bad byte
  and counts the others (issue 9: one bad byte in a trailing `ping` event used to throw away a whole answer).
- `sniff(head)` names the kind of a body from its first bytes ("sse", "ndjson", "json-array", "json");
  `needs_more(head)` says when a head is too short to be sure; `iter_events(body)` parses a whole body.

Errors never lose data. A parser raises a `StreamError` (an `InputError`, exit 4) and attaches to it, as
`err.values`, the events or values completed by that same call before the fault; everything earlier was already
returned. A bad NDJSON line or array element raises `StreamSyntaxError` with its line number; that parser stays
usable: the bad item is consumed, and the next `feed()` (even `feed(b"")`) or `close()` goes on with what followed
it. Raising was chosen over an `.error` attribute so that a caller cannot overlook a fault. `collect(parser, data)`
runs a whole body through a parser that way, skipping bad items and keeping a warning for each.
`InputDecodeError` ("invalid UTF-8 at byte N") is raised only by `iter_events` for a body that is one JSON value.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import orjson

from .errors import InputError
from .surrogates import REFUSED, loads_refused

__all__ = ["InputDecodeError", "JSONArrayParser", "NDJSONParser", "SSEEvent", "SSEParser", "StreamError",
           "StreamSyntaxError", "collect", "iter_events", "needs_more", "sniff"]  # fmt: skip

_BOM = "\ufeff"
_SLICE = 64 * 1024
_SSE_PREFIXES = (b"data:", b"event:", b":", b"id:", b"retry:")


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


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched server-sent event."""

    data: str  # the data lines joined with "\n"
    event: str = "message"  # the event name; "message" when no (or an empty) event: field was given
    id: str | None = None  # the last event id seen so far (WHATWG keeps it across events); None when unset or empty


_EXACT_BAD = 100  # bad sequences located one by one per decode call; the rest of that call is replaced in bulk


class _Decoder:
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
            if text[0] == _BOM:
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


def _fail(err: StreamError | None, out: list) -> list:
    """Raise `err` carrying the values completed before it, or return them."""
    if err is None:
        return out
    err.values = out
    raise err


# A frozen dataclass's __init__ pays three object.__setattr__ calls; the hot loop below fills the slots through
# their descriptors instead, which is about twice as fast and builds the same immutable SSEEvent.
_new = object.__new__
_set_data = SSEEvent.data.__set__  # type: ignore[attr-defined]
_set_event = SSEEvent.event.__set__  # type: ignore[attr-defined]
_set_id = SSEEvent.id.__set__  # type: ignore[attr-defined]


class _Parser:
    """What every parser shares: the decoder, and the warnings about the bytes it decoded."""

    _decoder: _Decoder

    @property
    def warnings(self) -> list[str]:
        """Problems met so far that did not stop the parser (bytes that are not UTF-8), one line each."""
        return self._decoder.warnings()


class SSEParser(_Parser):
    """Incremental WHATWG event-stream parser: `feed(bytes)` -> events completed by that chunk.

    Text is cut at blank lines (two LFs once CR and CRLF are made LF) into blocks, one per event. The common block,
    a single "data: ..." line, takes a fast path; any other goes through the full line rules. The text after the
    last blank line waits, unparsed, for the rest of its event, so no line state crosses a chunk boundary.
    """

    def __init__(self) -> None:
        self._decoder = _Decoder()
        self._pending: list[str] = []  # the text since the last blank line, in pieces (joined only when needed)
        self._skip_lf = False  # the last text ended with CR: a LF opening the next one belongs to that CRLF
        self._id: str | None = None  # the last event id: WHATWG keeps it from one event to the next

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if len(chunk) <= _SLICE:
            return self._feed(chunk)
        # A whole body is taken in slices: the work stays in cache and one emoji does not widen the whole text to
        # four bytes a character. (A decode error kills the parser, so no later slice is owed to anyone.)
        out: list[SSEEvent] = []
        view = memoryview(chunk)
        try:
            for i in range(0, len(view), _SLICE):
                out += self._feed(view[i : i + _SLICE])
        except StreamError as err:
            err.values = out + err.values
            raise
        return out

    def _feed(self, chunk: bytes | memoryview) -> list[SSEEvent]:
        text = self._decoder.decode(chunk)
        out: list[SSEEvent] = []
        if text:
            text = self._normalize(text)
            pending = self._pending
            if "\n\n" in text or (pending and pending[-1][-1] == "\n" and text[:1] == "\n"):
                blocks = ("".join(pending) + text if pending else text).split("\n\n")
                rest = blocks.pop()
                self._pending = [rest] if rest else []
                self._blocks(blocks, out)
            elif text:
                pending.append(text)
        return out

    def close(self) -> list[SSEEvent]:
        """Flush: a final event without its blank line is dispatched (see module docstring)."""
        text = self._decoder.decode(b"", final=True)
        out: list[SSEEvent] = []
        rest = "".join(self._pending) + (self._normalize(text) if text else "")
        self._pending = []
        if rest:
            self._blocks(rest.split("\n\n"), out)
        return out

    def _normalize(self, text: str) -> str:
        if self._skip_lf and text[0] == "\n":
            text = text[1:]
        self._skip_lf = False
        if "\r" in text:  # only CR and CRLF streams pay for this
            self._skip_lf = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        return text

    def _blocks(self, blocks: list[str], out: list[SSEEvent]) -> None:
        append, last_id = out.append, self._id
        for block in blocks:
            if block.startswith("data: ") and "\n" not in block:
                event = _new(SSEEvent)
                _set_data(event, block[6:])
                _set_event(event, "message")
                _set_id(event, last_id)
                append(event)
            elif block:
                self._block(block, out)
                last_id = self._id

    def _block(self, block: str, out: list[SSEEvent]) -> None:
        """The full WHATWG line rules for one block; a blank line inside it comes from extra blank lines."""
        data: list[str] = []
        name = ""
        for line in block.split("\n"):
            if not line:
                if data:
                    out.append(SSEEvent("\n".join(data), name or "message", self._id))
                data, name = [], ""
                continue
            if line[0] == ":":
                continue
            field, colon, value = line.partition(":")
            if value[:1] == " ":
                value = value[1:]
            if field == "data":  # "data" alone, with no colon, is an empty data line
                data.append(value)
            elif field == "event":
                name = value
            elif field == "id" and "\0" not in value:
                self._id = value or None
        if data:
            out.append(SSEEvent("\n".join(data), name or "message", self._id))


class NDJSONParser(_Parser):
    """Incremental NDJSON: one JSON value per non-blank line; blank lines skipped; lines end with LF, CRLF or CR
    (a CR cannot be inside a JSON value's line: JSON strings escape it)."""

    def __init__(self) -> None:
        self._decoder = _Decoder()
        self._tail = ""
        self._line_no = 0  # lines consumed so far

    def feed(self, chunk: bytes) -> list[object]:
        text = self._decoder.decode(chunk)
        if "\r" in text:  # a CRLF cut between chunks leaves one blank line, which is skipped
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        out: list[object] = []
        if text or self._tail:
            lines = (self._tail + text).split("\n")
            self._tail = lines.pop()
            self._lines(lines, out)
        return out

    def close(self) -> list[object]:
        text = self._decoder.decode(b"", final=True).replace("\r", "\n")
        out: list[object] = []
        lines = (self._tail + text).split("\n")
        self._tail = ""
        self._lines(lines, out, closing=True)
        return out

    def _lines(self, lines: list[str], out: list[object], closing: bool = False) -> None:
        loads = orjson.loads
        for i, line in enumerate(lines):
            self._line_no += 1
            if not line or line.isspace():
                continue
            try:
                out.append(loads(line))
            except orjson.JSONDecodeError as exc:
                value = loads_refused(line, exc)
                if value is not REFUSED:
                    out.append(value)
                    self._decoder.notes.append(f"line {self._line_no}: half of a UTF-16 surrogate pair replaced "
                                               "with U+FFFD")
                    continue
                # Keep the lines after the bad one for the next call, so that the caller may go on.
                rest = lines[i + 1 :]
                self._tail = "\n".join([*rest, self._tail])
                cut = closing and not rest  # the last line, with no line end: the stream was cut inside it
                message = "last line cut short" if cut else f"invalid JSON: {exc.msg}"
                raise StreamSyntaxError(message, self._line_no, truncated=cut, values=out) from None


_TOKEN = re.compile(r'[\[\]{},"]')
_STRING_BODY = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*', re.S)  # stops at the closing quote, or before a lone "\"


class JSONArrayParser(_Parser):
    """Incremental top-level JSON array: each element as soon as it is complete.

    A scanner finds the structural characters with a regular expression (strings are skipped whole, so brackets,
    braces and escaped quotes inside them do not count) and tracks the depth; each element's text is then given to
    orjson, which does the real validation. Scalar elements are complete only at the next "," or "]".
    """

    def __init__(self) -> None:
        self._decoder = _Decoder()
        self._buf = ""
        self._pos = 0  # scanned up to here
        self._lines_before = 0  # newlines in the text already dropped from _buf
        self._depth = 0
        self._in_string = False
        self._state = "before"  # "before" the "[", "inside", "after" the "]"
        self._start: int | None = None  # where the current element's text starts
        self._gap: int | None = None  # after a complete element: from here to the next "," or "]" must be blank

    def feed(self, chunk: bytes) -> list[object]:
        text = self._decoder.decode(chunk)
        out: list[object] = []
        self._buf += text
        self._scan(out)
        self._trim()
        return out

    def close(self) -> list[object]:
        text = self._decoder.decode(b"", final=True)
        out: list[object] = []
        self._buf += text
        self._scan(out)
        err = None
        if self._state != "after":
            what = "before its closing ']'" if self._state == "inside" else "before its opening '['"
            err = StreamSyntaxError(f"JSON array ended {what}", self._line(len(self._buf)), truncated=True)
        elif self._buf[self._pos :].strip():
            err = StreamSyntaxError("text after the JSON array", self._line(self._pos))
        return _fail(err, out)

    def _scan(self, out: list[object]) -> None:
        buf = self._buf
        try:
            while True:
                if self._in_string:
                    end = _STRING_BODY.match(buf, self._pos).end()
                    if end >= len(buf) or buf[end] != '"':
                        self._pos = end  # the string goes on in a later chunk
                        return
                    self._pos, self._in_string = end + 1, False
                    continue
                match = _TOKEN.search(buf, self._pos)
                if match is None:
                    return
                i = match.start()
                self._pos = i + 1  # past the token first, so that a fault leaves the parser able to go on
                self._token(buf[i], i, out)
        except StreamSyntaxError as err:
            err.values = out
            raise

    def _token(self, char: str, i: int, out: list[object]) -> None:
        if self._state != "inside":
            if self._state == "after" or char != "[" or self._buf[:i].strip():
                self._pos = i  # leave the offending text in place: close() reports it too
                what = "not a JSON array" if self._state == "before" else "text after the JSON array"
                raise StreamSyntaxError(what, self._line(i))
            self._state, self._depth, self._start = "inside", 1, i + 1
        elif char == '"':
            self._in_string = True
        elif char in "{[":
            self._depth += 1
            if self._depth == 2 and self._start is None:  # an element right after another one: take it anyway
                self._start, self._gap = i, None
                raise StreamSyntaxError("expected ',' between array elements", self._line(i))
        elif self._depth > 1:
            if char in "}]":
                self._depth -= 1
                if self._depth == 1:  # an object or array element just closed
                    start, self._start, self._gap = self._start, None, i + 1
                    self._emit(start, i + 1, out)
        elif char == ",":
            self._end_element(i, i + 1, out)
        elif char == "]":
            self._depth, self._state = 0, "after"
            self._end_element(i, None, out)

    def _end_element(self, i: int, next_start: int | None, out: list[object]) -> None:
        """At a depth-1 "," or "]": emit a pending scalar element, or check the gap after an emitted one."""
        start, gap = self._start, self._gap
        self._start, self._gap = next_start, None
        if start is not None and self._buf[start:i].strip():
            self._emit(start, i, out)
        elif gap is not None and self._buf[gap:i].strip():
            raise StreamSyntaxError("expected ',' between array elements", self._line(gap))

    def _emit(self, start: int, end: int, out: list[object]) -> None:
        text = self._buf[start:end]
        try:
            out.append(orjson.loads(text))
        except orjson.JSONDecodeError as exc:
            line = self._line(start + len(text) - len(text.lstrip()))  # where the element itself begins
            raise StreamSyntaxError(f"invalid JSON array element: {exc.msg}", line) from None

    def _line(self, i: int) -> int:
        return self._lines_before + self._buf.count("\n", 0, i) + 1

    def _trim(self) -> None:
        """Drop the text no longer needed, so that memory stays bounded by the largest element."""
        keep = min(x for x in (self._start, self._gap, self._pos) if x is not None)
        if self._state == "before":
            keep = 0
        if keep:
            self._lines_before += self._buf.count("\n", 0, keep)
            self._buf = self._buf[keep:]
            self._pos -= keep
            self._start = None if self._start is None else self._start - keep
            self._gap = None if self._gap is None else self._gap - keep


_HEAD = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*")  # a BOM, then whitespace
_NON_BLANK = re.compile(rb"[^ \t\r\n]")


def _first_line(head: bytes) -> tuple[int, int, bool]:
    """Where the content starts, where its first line ends (-1: not yet), and whether anything but blanks follows.

    Indexes, not slices: `iter_events` sniffs a whole body, which may be large.
    """
    start = _HEAD.match(head).end()
    end = head.find(b"\n", start)
    cr = head.find(b"\r", start, end if end >= 0 else len(head))  # a CR-only stream (old Mac line ends)
    end = cr if cr >= 0 else end
    return start, end, end >= 0 and _NON_BLANK.search(head, end) is not None


def sniff(head: bytes) -> str:
    """Name the kind of a body from its first bytes: "sse", "ndjson", "json-array" or "json".

    After a BOM and whitespace: an SSE field name ("data:", "event:", "id:", "retry:") or a ":" comment -> "sse";
    "[" -> "json-array"; "{" -> "ndjson" when its first line is a complete JSON value followed by more non-blank
    text (the first line of a pretty-printed object never parses alone), else "json". Anything else -> "json", whose
    parser then reports the problem. With only a head, one complete line cannot tell one-line JSON from the first
    NDJSON record: see `needs_more`.
    """
    start, end, more = _first_line(head)
    if head.startswith(_SSE_PREFIXES, start):
        return "sse"
    if head.startswith(b"[", start):
        return "json-array"
    if head.startswith(b"{", start) and more and _parses(head[start:end]):
        return "ndjson"
    return "json"


def needs_more(head: bytes) -> bool:
    """True when `sniff(head)` could change with more bytes: a "{" head with no line end yet, or one parsed line."""
    start, end, more = _first_line(head)
    if not head.startswith(b"{", start):
        return False
    return end < 0 or (not more and _parses(head[start:end]))


def _parses(line: bytes) -> bool:
    """True when `line`, which starts with "{", is one complete JSON value."""
    if not line.rstrip().endswith(b"}"):
        # not a whole object: the usual case, the "{" line of a pretty-printed body, then costs no exception
        return False
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return loads_refused(line, exc) is not REFUSED
    return True


def iter_events(data: bytes) -> tuple[str, list]:
    """Parse a whole body: ("sse", [SSEEvent...]) | ("ndjson", values) | ("json-array", elements) | ("json", [value]).

    A body that orjson reads as one value is "json" (or "json-array" when that value is a list); otherwise the sniffed
    streaming parser runs. Faults raise as described in the module docstring, `err.values` then holding everything
    parsed before the fault.
    """
    kind = sniff(data)
    if kind == "sse":
        return kind, _run(SSEParser(), data)
    if _HEAD.match(data).end() == len(data):
        raise StreamSyntaxError("empty input", 1)
    try:
        value = orjson.loads(data[3:] if data.startswith(codecs.BOM_UTF8) else data)
    except orjson.JSONDecodeError as exc:
        if kind == "json":
            decoder = _Decoder()
            decoder.decode(data, final=True)
            if decoder.first_bad is not None:
                raise InputDecodeError(decoder.first_bad) from None
            raise StreamSyntaxError(f"invalid JSON: {exc.msg}", exc.lineno) from None
        parser = NDJSONParser() if kind == "ndjson" else JSONArrayParser()
        return kind, _run(parser, data)
    return ("json-array", value) if isinstance(value, list) else ("json", [value])


def _run(parser: SSEParser | NDJSONParser | JSONArrayParser, data: bytes) -> list:
    out: list = []
    try:
        out.extend(parser.feed(data))
        out.extend(parser.close())
    except StreamError as err:
        err.values = out + err.values
        raise
    return out


class Collected:
    """What `collect` read from a whole body: the items, the warnings, and whether the body was cut inside an item."""

    __slots__ = ("items", "warnings", "cut")

    def __init__(self) -> None:
        self.items: list = []
        self.warnings: list[str] = []
        self.cut = False  # the body ends inside an NDJSON line or a JSON array (a stream cut short)


def collect(parser: SSEParser | NDJSONParser | JSONArrayParser, data: bytes) -> Collected:
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
