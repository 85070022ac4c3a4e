"""A low-overhead HTTP/1.1 stream on asyncio protocols, for `aimux bench` (issue 6). Part of the network edge.

httpx spends hundreds of µs of CPU per body chunk in its async layers (anyio cancel scopes, h11 events, pool
bookkeeping); at 64 streams of 200 chunks/s that alone saturates a core and delays the very chunks being timed.
LeanSession speaks HTTP/1.1 on asyncio protocols instead and stamps each chunk in data_received, before parsing.
It has the same stream interface as client.AsyncSession (aopen/aclose, aiter_timed, timing, status, headers,
received) and the same errors, but no proxies (see lean_supported), redirects, retries or content decoding:
bench falls back to AsyncSession where those are needed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson

from aimux_cli.client import (
    BACKOFF_BASE,
    ERROR_BODY_LIMIT,
    AsyncStream,
    _cut_short,
    _network_error,
    _policy,
    http_error,
)
from aimux_cli.request import PreparedRequest


def lean_supported(url: str) -> bool:
    """Whether LeanSession can carry a request to `url`: http(s), no userinfo, no proxy variable applying to it."""
    import urllib.request
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username is not None:
        return False
    proxies = urllib.request.getproxies_environment()
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return True
    return bool(urllib.request.proxy_bypass_environment(parts.hostname, proxies))


class _LeanConn(asyncio.Protocol):
    """One HTTP/1.1 connection: parses one response at a time into (monotonic time, body bytes) pieces."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.begin(0.0)

    def begin(self, timeout: float, payload: bytes = b"") -> None:
        self.head, self.head_done, self.status, self.headers = bytearray(), False, 0, {}
        self.pieces: list[tuple[float, bytes]] = []
        self.done, self.error, self.keep_alive, self.got_bytes = False, None, True, False
        self.mode, self.remaining, self.buf, self.trailer = "", 0, b"", False
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
        try:
            if not self.head_done:
                data = self._head(t, data)
            if data and not self.done:
                body = self._chunked(data) if self.mode == "chunked" else self._plain(data)
                if body and self.sink is not None:
                    self.sink(t, body)
                elif body:
                    self.pieces.append((t, body))
        except Exception as exc:  # a framing fault, or the sink's own (e.g. a StreamError)
            self.error = self.error or exc  # even when the body had just ended: the caller must see it
            self._fail(exc)
        if self.sink is None or self.done or self.error is not None:
            self._wake()  # a sink takes the pieces: the waiting task wakes only at the end

    def _head(self, t: float, data: bytes) -> bytes:
        self.head += data
        end = self.head.find(b"\r\n\r\n")
        if end < 0:
            if len(self.head) > 1 << 16:
                raise ValueError("response head too large")
            return b""
        lines = bytes(self.head[:end]).decode("latin-1").split("\r\n")
        rest = bytes(self.head[end + 4:])
        version, _, code = lines[0].partition(" ")
        status = int(code[:3])
        if 100 <= status < 200:  # an interim response (100 Continue): the real head follows
            self.head = bytearray()
            return self._head(t, rest) if rest else b""
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            self.headers[name] = f"{self.headers[name]}, {value}" if name in self.headers else value
        self.status, self.head_done, self.t_head = status, True, t
        self.keep_alive = version == "HTTP/1.1" and "close" not in self.headers.get("connection", "").lower()
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            self.mode = "chunked"
        elif "content-length" in self.headers:
            self.mode, self.remaining = "length", int(self.headers["content-length"])
            self.done = self.remaining == 0
        elif status in (204, 304):
            self.mode, self.done = "length", True
        else:
            self.mode, self.keep_alive = "close", False
        return rest

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
                size = int(line.split(b";", 1)[0].strip() or b"x", 16)
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
        if self.head_done and self.mode == "close":
            self.done = True
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed, self.keep_alive = True, False
        if self.head_done and self.mode == "close":
            self.done = True
        elif not self.done and self.error is None:
            self.error = httpx.RemoteProtocolError(str(exc) if exc else "server closed the connection")
        self._wake()

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


class LeanSession:
    """Connection pool + concurrency limit for LeanStreams; use only where lean_supported(url)."""

    def __init__(self, *, max_connections: int = 100) -> None:
        self._idle: dict[tuple[str, str, int], list[_LeanConn]] = {}
        self._slots = asyncio.Semaphore(max_connections)
        self._ssl: Any = None

    async def __aenter__(self) -> LeanSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                if conn.transport is not None:
                    conn.transport.close()
        self._idle.clear()

    def stream(self, prepared: PreparedRequest, *, timeout: float, **_ignored: Any) -> LeanStream:
        """A LeanStream (never retried: `retries` and the rest of AsyncSession.stream's options are ignored)."""
        return LeanStream(self, prepared, timeout)

    async def _checkout(self, key: tuple[str, str, int], timeout: float) -> tuple[_LeanConn, bool]:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn.closed:
                return conn, True
        scheme, host, port = key
        if scheme == "https" and self._ssl is None:
            self._ssl = httpx.create_ssl_context()
        tls = self._ssl if scheme == "https" else None
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(_LeanConn, host, port, ssl=tls, server_hostname=host if tls else None), timeout)
        except asyncio.TimeoutError:
            raise httpx.ConnectTimeout("connect") from None
        except OSError as exc:
            raise httpx.ConnectError(exc.strerror or str(exc)) from exc
        return conn, False

    def _checkin(self, key: tuple[str, str, int], conn: _LeanConn) -> None:
        conn.finish()
        if conn.done and conn.keep_alive and not conn.closed:
            self._idle.setdefault(key, []).append(conn)
        elif conn.transport is not None:
            conn.transport.close()


def _lean_payload(prepared: PreparedRequest) -> tuple[tuple[str, str, int], bytes]:
    from urllib.parse import urlsplit

    parts = urlsplit(prepared.url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    body = orjson.dumps(prepared.json_body) if prepared.json_body is not None else b""
    skip = {"host", "content-length", "connection", "transfer-encoding", "accept-encoding"}
    lines = [f"{prepared.method} {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1",
             f"host: {parts.netloc}", "accept-encoding: identity"]
    lines += [f"{k}: {v}" for k, v in prepared.headers.items() if k.lower() not in skip]
    if body or prepared.method in ("POST", "PUT", "PATCH"):
        lines.append(f"content-length: {len(body)}")
    return (parts.scheme, parts.hostname or "", port), ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class LeanStream(AsyncStream):
    """AsyncStream's interface over a LeanSession connection: `async with`, `aiter_timed()`, timing, status."""

    def __init__(self, session: LeanSession, prepared: PreparedRequest, timeout: float) -> None:
        super().__init__(session, prepared, timeout, _policy(0, BACKOFF_BASE, None), owns_session=False)
        self._key, self._payload = _lean_payload(prepared)
        self._conn: _LeanConn | None = None
        self._slot = False

    async def aopen(self) -> LeanStream:
        if self._conn is not None or self.complete:
            return self
        await self._session._slots.acquire()
        self._slot = True
        try:
            conn = await self._send()
            self.attempts, self.status, self.headers = 1, conn.status, conn.headers
            self.timing.t_headers = conn.t_head
            if not 200 <= conn.status < 300:
                body = b"".join(data for _, data in await self._drain(conn))
                raise http_error(self.prepared, conn.status, conn.headers, body[:ERROR_BODY_LIMIT])
        except BaseException:
            await self.aclose()
            raise
        return self

    async def _send(self) -> _LeanConn:
        """Write the request and wait for the response head; a reused connection that closed first is replaced."""
        for _ in range(2):
            try:
                conn, reused = await self._session._checkout(self._key, self.timeout)
            except httpx.TransportError as exc:
                raise _network_error(self.prepared, exc, self.timeout) from exc
            self._conn = conn
            self.timing.t_sent = time.monotonic()
            conn.begin(self.timeout, self._payload)
            while not conn.head_done and conn.error is None:
                await conn.wait()
            if conn.head_done:
                return conn
            if not (reused and not conn.got_bytes):  # only a stale keep-alive connection is safe to resend on
                break
        raise _network_error(self.prepared, conn.error, self.timeout) from conn.error  # type: ignore[arg-type]

    async def _drain(self, conn: _LeanConn, limit: int = ERROR_BODY_LIMIT) -> list[tuple[float, bytes]]:
        out, size = [], 0
        while size < limit:
            await conn.wait()
            if conn.error is not None:
                break
            out += conn.pieces
            size += sum(len(d) for _, d in conn.pieces)
            conn.pieces = []
            if conn.done:
                break
        return out

    async def aclose(self) -> None:
        if self._conn is not None:
            self._session._checkin(self._key, self._conn)
            self._conn = None
        if self._slot:
            self._slot = False
            self._session._slots.release()

    async def aiter_timed(self) -> AsyncIterator[tuple[float, bytes]]:
        """Yield (time.monotonic() at arrival, body bytes) per received piece; closes when the body ends or fails."""
        try:
            await self.aopen()
            conn = self._conn
            while conn is not None:
                await conn.wait()
                pieces, conn.pieces = conn.pieces, []
                for t, data in pieces:
                    self._note_at(t, data)
                    yield t, data
                if conn.error is not None:
                    raise _cut_short(self.prepared, conn.error, self.timeout, self._chunks, self.status or 0)
                if conn.done and not conn.pieces:
                    break
            self.complete = True
        finally:
            await self.aclose()

    async def aconsume(self, sink: Callable[[float, bytes], None]) -> None:
        """Like iterating aiter_timed(), but `sink(t, bytes)` is called from the protocol as data arrives: no task
        switch per chunk, which matters at thousands of chunks per second. An exception from `sink` ends the
        stream and is raised here."""
        try:
            await self.aopen()
            conn = self._conn
            assert conn is not None

            def take(t: float, data: bytes) -> None:
                self._note_at(t, data)
                sink(t, data)

            pending, conn.pieces = conn.pieces, []
            for t, data in pending:
                take(t, data)
            conn.sink = take
            while not conn.done and conn.error is None:
                await conn.wait()
            conn.sink = None
            if isinstance(conn.error, httpx.TransportError):
                raise _cut_short(self.prepared, conn.error, self.timeout, self._chunks, self.status or 0)
            if conn.error is not None:
                raise conn.error
            self.complete = True
        finally:
            await self.aclose()

    def _note_at(self, t: float, chunk: bytes) -> None:
        timing = self.timing
        if timing.t_first_byte is None:
            timing.t_first_byte = t
        timing.t_last_byte, timing.chunks, timing.bytes = t, timing.chunks + 1, timing.bytes + len(chunk)
        self._chunks.append(chunk)
