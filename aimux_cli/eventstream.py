"""AWS event streams (`application/vnd.amazon.eventstream`, Bedrock's ConverseStream and InvokeModelWithResponseStream)
-> one JSON value per message. Pure: no I/O, no terminal.

The binary framing, as AWS documents it, each message:

    total length (uint32 BE) | headers length (uint32 BE) | prelude CRC32 (of the 8 bytes before it)
    headers: name length (uint8), name (UTF-8), value type (uint8), value
             (0 true, 1 false, 2 int8, 3 int16, 4 int32, 5 int64, 6 bytes (uint16 length), 7 string (uint16
             length, UTF-8), 8 timestamp (int64 ms since the epoch), 9 UUID (16 bytes))
    payload (total - headers - 16 bytes) | message CRC32 (of everything before it)

Contract: `EventStreamParser` has the interface of the other stream parsers (aimux_cli/stream_decode.Parser):
`feed(bytes)` in chunks of any size -> the messages that chunk completed; `close()`; `warnings`; `cut`. A message
becomes `{NAME: payload}`, the shape the AWS SDKs give a stream's union members:

- `:message-type` `event` (or none): NAME is the `:event-type` header (`contentBlockDelta`, `chunk`, ...);
- `exception`: NAME is the `:exception-type` header (`throttlingException`, `modelStreamErrorException`, ...);
- `error`: `{"eventStreamError": {"code": :error-code, "message": :error-message}}`.

The payload is JSON (an empty payload is `{}`); bytes that are not UTF-8 in it become U+FFFD, with a warning.

Faults never stop the parser and never lose what came before (issue 15). A message whose message CRC does not
match, whose headers do not parse or whose payload is not JSON is skipped with a warning, and the next message is
read (its prelude said where it ends). A prelude whose CRC does not match (or that claims lengths past AWS's
limits: 128 KiB of headers, 16 MiB of payload) cannot be trusted to say where anything ends: the bytes from there
are skipped, with a warning, up to the next offset where a valid prelude starts. Nothing is allocated from a
length the bytes claim: a frame claiming 4 GB is a bad prelude. A stream that ends inside a frame sets `cut`
(blanks after the last frame, a line end a file was saved with, are not a frame).
"""

from __future__ import annotations

import re
import struct
from zlib import crc32

import orjson

from .stream_decode import Decoder, Parser

PRELUDE = 12  # total length, headers length, prelude CRC
MIN_FRAME = 16  # a prelude and the message CRC
MAX_HEADERS = 128 * 1024  # AWS's limits (botocore eventstream.py); beyond them a prelude is not believed
MAX_PAYLOAD = 16 * 1024 * 1024
CONTENT_TYPE = "application/vnd.amazon.eventstream"

_PRELUDE = struct.Struct(">III")
# Where a prelude within AWS's limits may start: total length below 0x02000000 and at least 16, headers length
# below 0x00030000 (a regex scans at C speed; the CRC is checked only where it matches).
_CANDIDATE = re.compile(rb"\x00(?:\x01[\s\S]{2}|\x00(?!\x00[\x00-\x0f])[\s\S]{2})\x00\x00[\x00-\x02]")
_U16 = struct.Struct(">H")
_FIXED = {2: struct.Struct(">b"), 3: struct.Struct(">h"), 4: struct.Struct(">i"), 5: struct.Struct(">q"),
          8: struct.Struct(">q")}


class HeaderError(ValueError):
    """The headers of a message do not parse (a value runs past their end, an unknown value type)."""


def looks_like(head: bytes) -> bool:
    """True when a body's first bytes can only be an event stream: its first byte is NUL (the top byte of a frame
    length below 16 MiB), which no JSON, SSE or NDJSON text starts with."""
    return head[:1] == b"\x00"


def prelude_ok(data: bytes | bytearray | memoryview, at: int = 0) -> bool:
    """True when a plausible prelude with a matching CRC starts at `at` (12 bytes must be there)."""
    if len(data) - at < PRELUDE:
        return False
    total, headers, crc = _PRELUDE.unpack_from(data, at)
    return (MIN_FRAME <= total and headers <= MAX_HEADERS and headers <= total - MIN_FRAME
            and total - headers - MIN_FRAME <= MAX_PAYLOAD and crc32(data[at : at + 8]) == crc)


def parse_headers(data: bytes | memoryview) -> dict[str, object]:
    """The headers of one message, by name (a repeated name keeps its last value); HeaderError when they do not
    parse. Byte arrays and UUIDs are given as bytes, timestamps as milliseconds since the epoch."""
    headers: dict[str, object] = {}
    pos, end = 0, len(data)
    while pos < end:
        size = data[pos]
        name_end = pos + 1 + size
        if name_end + 1 > end:
            raise HeaderError("a header name runs past the headers")
        name = bytes(data[pos + 1 : name_end]).decode("utf-8", "replace")
        kind = data[name_end]
        pos = name_end + 1
        if kind in (0, 1):
            value: object = kind == 0
        elif kind in _FIXED:
            fmt = _FIXED[kind]
            if pos + fmt.size > end:
                raise HeaderError(f"header {name!r} runs past the headers")
            value = fmt.unpack_from(data, pos)[0]
            pos += fmt.size
        elif kind in (6, 7):
            if pos + 2 > end:
                raise HeaderError(f"header {name!r} runs past the headers")
            length = _U16.unpack_from(data, pos)[0]
            raw = bytes(data[pos + 2 : pos + 2 + length])
            if len(raw) < length:
                raise HeaderError(f"header {name!r} runs past the headers")
            value = raw.decode("utf-8", "replace") if kind == 7 else raw
            pos += 2 + length
        elif kind == 9:
            if pos + 16 > end:
                raise HeaderError(f"header {name!r} runs past the headers")
            value = bytes(data[pos : pos + 16])
            pos += 16
        else:
            raise HeaderError(f"header {name!r} has an unknown value type {kind}")
        headers[name] = value
    return headers


class EventStreamParser(Parser):
    """Incremental AWS event-stream decoder: `feed(bytes)` -> the messages completed by that chunk, as JSON values
    (see the module docstring). Bytes wait in one buffer until their frame is whole; a consumed prefix is dropped
    once per feed, so the work stays linear in the stream."""

    def __init__(self) -> None:
        self._decoder = Decoder()  # unused for decoding: it holds the notes (Parser.warnings)
        self._buf = bytearray()
        self._base = 0  # the stream offset of _buf[0]
        self._skipping: int | None = None  # the stream offset where unreadable bytes began, while resyncing
        self.frames = 0  # messages seen (good or not)

    def feed(self, chunk: bytes) -> list[object]:
        self._buf += chunk
        out: list[object] = []
        buf, pos = self._buf, 0
        while True:
            if self._skipping is not None:
                pos = self._resync(pos)
                if self._skipping is not None:
                    break
            if len(buf) - pos < PRELUDE:
                break
            if not prelude_ok(buf, pos):
                self._skipping = self._base + pos
                pos += 1
                continue
            total = _PRELUDE.unpack_from(buf, pos)[0]
            if len(buf) - pos < total:
                break
            self.frames += 1
            self._message(memoryview(buf)[pos : pos + total], self._base + pos, out)
            pos += total
        if pos:
            del buf[:pos]
            self._base += pos
        return out

    def close(self) -> list[object]:
        if self._skipping is not None:
            self._skipped(self._base + len(self._buf))
        elif self._buf.strip():  # a line end after the last frame (a file saved by an editor) is no frame
            self.cut = True
            self.note(f"the stream ends inside the frame at byte {self._base} "
                      f"({len(self._buf)} of its bytes arrived): it was cut short")
        self._base += len(self._buf)
        self._buf = bytearray()
        return []

    def _resync(self, pos: int) -> int:
        """Skip to the next offset where a valid prelude starts; with none in the buffer yet, keep only its last
        11 bytes (they may be the start of one). Candidates are found by a regex (256 MiB of NUL bytes must not
        take minutes in a Python loop); only those get their CRC checked."""
        buf = self._buf
        while True:
            match = _CANDIDATE.search(buf, pos)
            if match is None:
                return max(pos, len(buf) - PRELUDE + 1)
            pos = match.start()
            if len(buf) - pos < PRELUDE:
                return pos
            if prelude_ok(buf, pos):
                self._skipped(self._base + pos)
                return pos
            pos += 1

    def _skipped(self, end: int) -> None:
        start, self._skipping = self._skipping, None
        self.note(f"bytes {start}-{end - 1} skipped: not a valid event-stream frame (bad prelude: its CRC or "
                  "lengths do not check out)")

    def _message(self, frame: memoryview, offset: int, out: list[object]) -> None:
        total, hlen, _ = _PRELUDE.unpack_from(frame)
        where = f"frame {self.frames} (byte {offset})"
        if crc32(frame[: total - 4]) != int.from_bytes(frame[total - 4 :], "big"):
            self.note(f"{where} skipped: its message CRC does not match (a corrupt event)")
            return
        try:
            headers = parse_headers(frame[PRELUDE : PRELUDE + hlen])
        except HeaderError as exc:
            self.note(f"{where} skipped: {exc}")
            return
        value = self._payload(frame[PRELUDE + hlen : total - 4], where)
        if value is _BAD:
            return
        kind = headers.get(":message-type", "event")
        if kind == "error":
            out.append({"eventStreamError": {"code": _text(headers.get(":error-code")),
                                             "message": _text(headers.get(":error-message"))}})
            return
        name = headers.get(":exception-type" if kind == "exception" else ":event-type")
        out.append({_text(name) or str(kind): value})

    def _payload(self, payload: memoryview, where: str) -> object:
        if not payload:
            return {}
        data = bytes(payload)
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
        fixed = data.decode("utf-8", "replace")
        if fixed.encode() != data:
            try:
                value = orjson.loads(fixed)
            except orjson.JSONDecodeError:
                pass
            else:
                self.note(f"{where}: invalid UTF-8 in its payload, replaced with U+FFFD")
                return value
        self.note(f"{where} skipped: its payload is not JSON")
        return _BAD


_BAD = object()


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else None
