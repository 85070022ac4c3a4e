"""The HTTP/1.1 response parser of the lean bench client (client_lean.py): an asyncio Protocol per connection.

Contract: LeanConn.begin(timeout, payload) writes a request; data_received parses the response as it arrives into
(time.monotonic() at arrival, body bytes) pieces, or hands them to `sink` when one is set, stamping each before any
parsing. `done`, `error` (an httpx transport error, a BadResponse, or the sink's own exception), `status`, `headers`
and `keep_alive` tell the caller where the response stands; `wait()` sleeps until something changes.

Parsing is as lenient as h11's: a head may end its lines with a bare LF. Anything that is not HTTP (a bad status
line, `content-length: abc`, a bad chunk size line, corrupt gzip) is a BadResponse, raised after the body bytes that
came before it were delivered. Content-Encoding gzip and deflate are decoded (aimux_cli.content_coding, bounded:
STREAM_BODY_LIMIT for a 2xx body, client.ERROR_BODY_LIMIT for an error body); any other coding is a BadResponse.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable

import httpx

from aimux_cli.client import ERROR_BODY_LIMIT, _one_line
from aimux_cli.content_coding import Decoder

STREAM_BODY_LIMIT = 256 << 20  # decoded bytes of one streamed body (as a non-stream body in client.py)
_HEAD_END = re.compile(rb"\n\r?\n")  # the blank line after a head; h11 accepts bare LF line ends too
_LINE_END = re.compile(r"\r?\n")


class BadResponse(httpx.RemoteProtocolError):
    """The server's bytes are not HTTP/1.1 (`coding` False: framing), or its body cannot be decoded (`coding` True:
    corrupt, cut short, too large, or in a coding aimux does not read); the message says what was wrong."""

    def __init__(self, message: str, *, coding: bool = False) -> None:
        super().__init__(message)
        self.coding = coding


class LeanConn(asyncio.Protocol):
    """One HTTP/1.1 connection: parses one response at a time into (monotonic time, body bytes) pieces."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.begin(0.0)

    def begin(self, timeout: float, payload: bytes = b"") -> None:
        self.head, self.head_done, self.status, self.headers = bytearray(), False, 0, {}
        self.reason = ""  # the status line's reason phrase (for --debug)
        self.pieces: list[tuple[float, bytes]] = []
        self.done, self.error, self.keep_alive, self.got_bytes = False, None, True, False
        self.mode, self.remaining, self.buf, self.trailer = "", 0, b"", False
        self.decoder: Decoder | None = None  # set when the reply has a Content-Encoding
        self.bad: BadResponse | None = None  # a framing fault met after some body bytes, raised once they are out
        self.waiter: asyncio.Future | None = None
        self.sink: Callable[[float, bytes], None] | None = None  # set by LeanStream.aconsume
        self.timeout, self.last, self.t_head = timeout, time.monotonic(), 0.0
        if payload and self.transport is not None:
            loop = asyncio.get_running_loop()
            self.watchdog = loop.call_at(self.last + timeout, self._check)
            self.transport.write(payload)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        t = self.last = time.monotonic()
        self.got_bytes = True
        body = b""
        try:
            if not self.head_done:
                data = self._head(t, data)
            if data and not self.done:
                body = self._chunked(data) if self.mode == "chunked" else self._plain(data)
                if self.decoder is not None:
                    body = self._decode(body)
            if self.bad is not None:  # a framing or decoding fault after `body`: deliver what came before it
                raise self.bad
        except BadResponse as exc:
            self.error = self.error or exc  # even when the body had just ended (a gzip member cut short)
            self._fail(exc)
        if body:
            try:
                if self.sink is not None:
                    self.sink(t, body)
                else:
                    self.pieces.append((t, body))
            except Exception as err:  # the sink's own (e.g. a StreamError)
                self.error = self.error or err  # even when the body had just ended: the caller must see it
                self._fail(err)
        if self.sink is None or self.done or self.error is not None:
            self._wake()  # a sink takes the pieces: the waiting task wakes only at the end

    def _head(self, t: float, data: bytes) -> bytes:
        self.head += data
        found = _HEAD_END.search(self.head)
        if found is None:
            if len(self.head) > 1 << 16:
                raise BadResponse("response head too large")
            return b""
        lines = _LINE_END.split(bytes(self.head[:found.start()]).decode("latin-1"))
        rest = bytes(self.head[found.end():])
        version, _, code = lines[0].partition(" ")
        if not version.startswith("HTTP/") or not code[:3].isdigit():
            raise BadResponse(f"bad status line {_one_line(lines[0], 60)!r}")
        status = int(code[:3])
        if 100 <= status < 200:  # an interim response (100 Continue): the real head follows
            self.head = bytearray()
            return self._head(t, rest) if rest else b""
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self._framing(status, version, headers)
        self.status, self.headers, self.head_done, self.t_head = status, headers, True, t
        self.reason = code[4:].strip()
        return rest

    def _framing(self, status: int, version: str, headers: dict[str, str]) -> None:
        """How the body is delimited and encoded, from the head; BadResponse when the head does not say it sanely."""
        self.keep_alive = version == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
        coding = headers.get("content-encoding", "")
        if coding and coding.strip().lower() != "identity":
            try:
                self.decoder = Decoder(coding, STREAM_BODY_LIMIT if 200 <= status < 300 else ERROR_BODY_LIMIT)
            except ValueError as exc:
                raise BadResponse(f"{exc} (aimux asked for identity)", coding=True) from None
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self.mode = "chunked"
        elif "content-length" in headers:
            length = headers["content-length"]
            if not length.isdigit():  # a negative, a list of values, garbage: no safe way to find the body's end
                raise BadResponse(f"bad content-length {_one_line(length, 40)!r}")
            self.mode, self.remaining = "length", int(length)
            self.done = self.remaining == 0
        elif status in (204, 304):
            self.mode, self.done = "length", True
        else:
            self.mode, self.keep_alive = "close", False

    def _decode(self, body: bytes) -> bytes:
        """Body bytes in their Content-Encoding -> decoded bytes (all of them: the end flushes the decoder)."""
        decoder = self.decoder
        assert decoder is not None
        out = []
        try:
            out.extend(decoder.feed(body))
            if self.done:
                out.extend(decoder.end())
        except ValueError as exc:  # corrupt data or past the limit: keep what decoded before it
            self.bad = self.bad or BadResponse(str(exc), coding=True)
        return b"".join(out)

    def _plain(self, data: bytes) -> bytes:
        if self.mode == "length":
            data = data[: self.remaining]
            self.remaining -= len(data)
            self.done = self.remaining == 0
        return data

    def _chunked(self, data: bytes) -> bytes:
        """Chunked transfer decoding; `remaining` > 0 inside a chunk, -2 before its CRLF, 0 before a size line."""
        buf, pos, out = (self.buf + data if self.buf else data), 0, []
        while pos < len(buf) and not self.done:
            if self.remaining > 0:
                end = min(len(buf), pos + self.remaining)
                out.append(buf[pos:end])
                self.remaining -= end - pos
                pos = end
                self.remaining = self.remaining or -2
                continue
            if self.remaining == -2:
                if len(buf) - pos < 2:
                    break
                pos, self.remaining = pos + 2, 0
                continue
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                break
            line, pos = buf[pos:eol], eol + 2
            if self.trailer:
                self.done = not line
            else:
                digits = line.split(b";", 1)[0].strip()
                if not digits or len(digits) > 16 or digits.strip(b"0123456789abcdefABCDEF"):
                    self.bad = BadResponse(f"bad chunk size line {_one_line(line[:40].decode('latin-1'), 60)!r}")
                    break
                size = int(digits, 16)
                self.trailer, self.remaining = size == 0, size
        self.buf = buf[pos:]
        return b"".join(out)

    def _fail(self, exc: BaseException) -> None:
        if self.error is None and not self.done:
            self.error = exc
        self.keep_alive = False
        if self.transport is not None:
            self.transport.close()

    def _check(self) -> None:
        if self.done or self.error is not None:
            return
        due = self.last + self.timeout
        if time.monotonic() < due:
            self.watchdog = asyncio.get_running_loop().call_at(due, self._check)
            return
        self._fail(httpx.ReadTimeout("no data") if self.got_bytes else httpx.ReadTimeout("no answer"))
        self._wake()

    def eof_received(self) -> bool | None:
        if self.head_done and self.mode == "close" and not self.done:
            self._closed_body()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed, self.keep_alive = True, False
        if self.head_done and self.mode == "close":
            if not self.done:
                self._closed_body()
        elif not self.done and self.error is None:
            self.error = httpx.RemoteProtocolError(str(exc) if exc else "server closed the connection")
        self._wake()

    def _closed_body(self) -> None:
        """A body delimited by the connection's close has ended: the decoder, if any, gives up its rest."""
        self.done = True
        if self.decoder is None or self.error is not None:
            return
        out: list[bytes] = []
        try:
            out.extend(self.decoder.end())
        except ValueError as exc:  # the encoded data stopped early: what decoded before is kept
            self.error = BadResponse(str(exc), coding=True)
        rest = b"".join(out)
        if rest and self.sink is not None:
            try:
                self.sink(time.monotonic(), rest)
            except Exception as err:
                self.error = self.error or err
        elif rest:
            self.pieces.append((time.monotonic(), rest))

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def wait(self) -> None:
        """Until something new: pieces, the head, the end of the response, or an error."""
        if self.pieces or self.done or self.error is not None:
            return
        self.waiter = asyncio.get_running_loop().create_future()
        await self.waiter

    def finish(self) -> None:
        watchdog = getattr(self, "watchdog", None)
        if watchdog is not None:
            watchdog.cancel()
