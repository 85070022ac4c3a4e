"""Raw provider bytes -> events: SSE, NDJSON and JSON arrays of chunks. Pure: no I/O, no terminal.

Contract:

- `SSEParser` turns a `text/event-stream` body into `SSEEvent`s by the WHATWG rules (lines end with CRLF, LF or
  CR; `:` comments; one space stripped after `field:`; `data` lines joined with "\\n"; `id` persists across events
  and is ignored when it contains NUL; `retry` and unknown fields ignored; no data lines, no event). One deliberate
  deviation, required by issue 3: `close()` dispatches a final event that lacks its trailing blank line.
- `NDJSONParser` yields one JSON value per non-blank line (lines end with LF, CRLF or CR).
- `JSONArrayParser` yields each top-level element of a JSON array (Gemini `streamGenerateContent` without `alt=sse`)
  as soon as its closing brace arrives.
- Every parser takes bytes in chunks of any size (`feed`) and is flushed with `close()`; feeding a body in pieces
  gives the same result as feeding it whole. Bytes are UTF-8, decoded incrementally (a character split across
  chunks is fine); a leading BOM is dropped. Bytes that are not UTF-8 are replaced with U+FFFD (as
  `bytes.decode(errors="replace")` does) and the parser goes on: `parser.warnings` then names the first bad byte
  and counts the others (issue 9: one bad byte in a trailing `ping` event used to throw away a whole answer).
- `sniff(head)` names the kind of a body from its first bytes ("sse", "ndjson", "json-array", "json";
  "eventstream" for AWS's binary event stream, parsed by aimux_cli/eventstream.py);
  `needs_more(head)` says when a head is too short to be sure (`Head` gathers one as it arrives, in linear work);
  `iter_events(body)` parses a whole body.

Faults never lose data and never stop a parser (issue 9: one bad line or byte used to cost every later event, and
with `feed() + close()` every earlier one too). A line or array element that is not JSON is skipped; bytes that are
not UTF-8 become U+FFFD; each is named, with its line or byte, in `parser.warnings` (at most 20 lines, then a
count), which callers put into the document's `warnings`. `parser.cut` is True once `close()` found the body ending
inside an item (an NDJSON line without its line end that does not parse, a JSON array without its "]"): a stream
cut short. `collect(parser, data)` runs a whole body: its items, warnings and `cut`. `iter_events` raises
`StreamSyntaxError` (an `InputError`, exit 4) only for an empty body or one that is neither a stream nor JSON, and
`InputDecodeError` ("invalid UTF-8 at byte N") for such a body that is not UTF-8.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import orjson

from .stream_array import JSONArrayParser
from .stream_decode import Decoder as _Decoder
from .stream_decode import InputDecodeError, Parser, StreamError, StreamSyntaxError, collect
from .surrogates import REFUSED, loads_refused

__all__ = ["InputDecodeError", "JSONArrayParser", "NDJSONParser", "SSEEvent", "SSEParser", "StreamError",
           "StreamSyntaxError", "Head", "collect", "iter_events", "needs_more", "sniff"]  # fmt: skip

_SLICE = 64 * 1024
_SSE_PREFIXES = (b"data:", b"event:", b":", b"id:", b"retry:")
_BOM_UTF8 = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched server-sent event."""

    data: str  # the data lines joined with "\n"
    event: str = "message"  # the event name; "message" when no (or an empty) event: field was given
    id: str | None = None  # the last event id seen so far (WHATWG keeps it across events); None when unset or empty


# A frozen dataclass's __init__ pays three object.__setattr__ calls; the hot loop below fills the slots through
# their descriptors instead, which is about twice as fast and builds the same immutable SSEEvent.
_new = object.__new__
_set_data = SSEEvent.data.__set__  # type: ignore[attr-defined]
_set_event = SSEEvent.event.__set__  # type: ignore[attr-defined]
_set_id = SSEEvent.id.__set__  # type: ignore[attr-defined]


class SSEParser(Parser):
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


_LONG_LINE = 1 << 16  # characters


class NDJSONParser(Parser):
    """Incremental NDJSON: one JSON value per non-blank line; blank lines skipped; lines end with LF, CRLF or CR
    (a CR cannot be inside a JSON value's line: JSON strings escape it)."""

    def __init__(self) -> None:
        self._decoder = _Decoder()
        self._tail: list[str] = []  # the unfinished last line, in pieces: one long line grown by `+` was quadratic
        self._line_no = 0  # lines consumed so far

    def feed(self, chunk: bytes) -> list[object]:
        text = self._decoder.decode(chunk)
        if "\r" in text:  # a CRLF cut between chunks leaves one blank line, which is skipped
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        out: list[object] = []
        if "\n" in text:
            tail = self._tail
            lines = ("".join(tail) + text if tail else text).split("\n")
            text = None  # released before the lines are parsed (issue 9: a 1 MB line was held twice)
            rest = lines.pop()
            self._tail = [rest] if rest else []
            self._lines(lines, out)
        elif text:
            self._tail.append(text)
        return out

    def close(self) -> list[object]:
        text = self._decoder.decode(b"", final=True).replace("\r", "\n")
        out: list[object] = []
        lines = ("".join(self._tail) + text).split("\n")
        self._tail, text = [], None
        self._lines(lines, out, closing=True)
        return out

    def _lines(self, lines: list[str], out: list[object], closing: bool = False) -> None:
        loads = orjson.loads
        for i in range(len(lines)):  # not enumerate: its reused tuple would keep a released line alive
            line = lines[i]
            self._line_no += 1
            if not line or line.isspace():
                continue
            if len(line) > _LONG_LINE:
                # a long line goes to orjson as UTF-8 bytes and leaves the list first: the str, the UTF-8 copy
                # orjson would cache in it and the value would otherwise all be held at once (issue 9)
                lines[i] = ""
                line = line.encode()
            try:
                out.append(loads(line))
            except orjson.JSONDecodeError as exc:
                value = loads_refused(line, exc)
                if value is not REFUSED:
                    out.append(value)
                    self.note(f"line {self._line_no}: half of a UTF-16 surrogate pair replaced with U+FFFD")
                elif closing and i == len(lines) - 1:  # the last line, with no line end: cut inside it
                    self.cut = True
                    self.note(f"the stream ends inside line {self._line_no}: it was cut short")
                else:
                    self.note(f"line {self._line_no} skipped: invalid JSON: {exc.msg}")


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
    NDJSON record: see `needs_more`. A first byte NUL -> "eventstream": AWS's binary framing
    (aimux_cli/eventstream.py), which no text starts with.
    """
    if head[:1] == b"\x00":
        return "eventstream"
    start, end, more = _first_line(head)
    if head.startswith(_SSE_PREFIXES, start):
        return "sse"
    if head.startswith(b"[", start):
        return "json-array"
    if head.startswith(b"{", start) and more and _parses(head[start:end]):
        return "ndjson"
    return "json"


def needs_more(head: bytes) -> bool:
    """True when `sniff(head)` could change with more bytes: nothing but blanks (or part of a BOM) yet, the start
    of an SSE field name ("da" of "data:": a network read may be that short), a "{" head with no line end yet, or
    one parsed line."""
    start, end, more = _first_line(head)
    if start == len(head) or _BOM_UTF8.startswith(head):
        return True
    if head.startswith(b"{", start):
        return end < 0 or (not more and _parses(head[start:end]))
    word = head[start : start + 6]
    return any(len(word) < len(prefix) and prefix.startswith(word) for prefix in _SSE_PREFIXES)


class Head:
    """A body's first bytes, gathered as they arrive until `sniff` can name its kind, in linear work: the head of
    NDJSON is its whole first line, which may be 100 MB in thousands of reads (growing `bytes` and asking
    `needs_more` of all of it per read was quadratic: 16 s for such a line)."""

    __slots__ = ("data", "_open_line")

    def __init__(self) -> None:
        self.data = bytearray()
        self._open_line = False  # a "{" line not ended yet: only a line end can change what `sniff` says

    def add(self, chunk: bytes) -> bool:
        """Take `chunk`; True once the head is enough for `sniff` (see `needs_more`)."""
        self.data += chunk
        if self._open_line and b"\n" not in chunk and b"\r" not in chunk:
            return False
        if needs_more(self.data):
            start, end, _ = _first_line(self.data)
            self._open_line = end < 0 and self.data.startswith(b"{", start)
            return False
        return True


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
    streaming parser runs, going past bad items (see the module docstring); only a body that is none of these
    raises.
    """
    kind = sniff(data)
    if kind == "sse":
        return kind, _run(SSEParser(), data)
    if kind == "eventstream":
        from .eventstream import EventStreamParser

        frames = _run(EventStreamParser(), data)
        if not frames:
            raise StreamSyntaxError("not JSON, nor an event stream with a valid frame", 1)
        return kind, frames
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


def wire_parser(wire: str | None) -> Parser:
    """A new parser for the streams `wire`'s API sends: NDJSON (Ollama), AWS event stream (Bedrock: its items are
    JSON values, as NDJSON's are) or SSE (the others). Callers feed SSE events with `feed_sse`, the others'
    values with `feed_json`."""
    if wire == "ollama.chat":
        return NDJSONParser()
    if wire == "bedrock.converse":
        from .eventstream import EventStreamParser

        return EventStreamParser()
    return SSEParser()


def _run(parser: SSEParser | NDJSONParser | JSONArrayParser, data: bytes) -> list:
    return collect(parser, data).items
