"""A low-overhead HTTP/1.1 stream on asyncio protocols, for `aimux bench` (issue 6). Part of the network edge.

httpx spends hundreds of µs of CPU per body chunk in its async layers (anyio cancel scopes, h11 events, pool
bookkeeping); at 64 streams of 200 chunks/s that alone saturates a core and delays the very chunks being timed.
LeanSession speaks HTTP/1.1 on asyncio protocols instead (the parser is lean_http.LeanConn) and stamps each chunk
in data_received, before parsing. It has the same stream interface as client_async.AsyncSession (aopen/aclose,
aiter_timed, timing, status, headers, received) and the same errors, but no proxies (see lean_supported), redirects
or retries: bench falls back to AsyncSession where those are needed. `LeanStream.connect_s` is the time its new
connection took to open (TCP, and TLS for https), None when an idle one was reused (bench reports it apart).

Content-Encoding: requests say `Accept-Encoding: identity`, but a server (or a CDN in front of it) may compress
anyway, so a gzip or deflate reply is decoded rather than refused (bounded; chunks keep the time their encoded bytes
arrived). Any other coding is refused with an error naming it, never read as text.

Errors: a reply that is not HTTP (a bad status line, `content-length: abc`, a bad chunk size line) is a NetworkError
naming what was wrong; a body that cannot be decoded (corrupt gzip, an unknown coding) a ProviderError, as in
client.py; either is an IncompleteError (a stream cut short) when some of the body had arrived.
Running out of file descriptors while connecting says so ("out of file descriptors").
"""

from __future__ import annotations

import asyncio
import errno
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson

from aimux_cli.client import (
    BACKOFF_BASE,
    ERROR_BODY_LIMIT,
    _cut_short,
    _network_error,
    _policy,
    http_error,
)
from aimux_cli.client_async import AsyncStream
from aimux_cli.client_text import log, log_error_body, log_request, log_response, one_line, who
from aimux_cli.errors import AimuxError, IncompleteError, NetworkError, ProviderError
from aimux_cli.lean_http import BadResponse, LeanConn
from aimux_cli.request import PreparedRequest, redact, safe_url


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


class LeanSession:
    """Connection pool + concurrency limit for LeanStreams; use only where lean_supported(url)."""

    def __init__(self, *, max_connections: int = 100) -> None:
        self._idle: dict[tuple[str, str, int], list[LeanConn]] = {}
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

    async def _checkout(self, key: tuple[str, str, int], timeout: float) -> tuple[LeanConn, bool]:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn.closed:
                return conn, True
        scheme, host, port = key
        self.prepare(scheme)
        tls = self._ssl if scheme == "https" else None
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(LeanConn, host, port, ssl=tls, server_hostname=host if tls else None), timeout)
        except asyncio.TimeoutError:
            raise httpx.ConnectTimeout("connect") from None
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE):
                raise httpx.ConnectError("out of file descriptors (too many open files; see ulimit -n)") from exc
            raise httpx.ConnectError(exc.strerror or str(exc)) from exc
        return conn, False

    def prepare(self, scheme: str) -> None:
        """Load now what a first connection with `scheme` needs (TLS reads the CA bundle), so that a run that opens
        every descriptor it may does not need one more for a file later."""
        if scheme == "https" and self._ssl is None:
            self._ssl = httpx.create_ssl_context()

    def _checkin(self, key: tuple[str, str, int], conn: LeanConn) -> None:
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
        self._conn: LeanConn | None = None
        self._slot = False
        self.connect_s: float | None = None  # TCP (+ TLS) set-up of a new connection; None when one was reused

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
                log_error_body(self.prepared, body)
                raise http_error(self.prepared, conn.status, conn.headers, body[:ERROR_BODY_LIMIT])
        except BaseException:
            await self.aclose()
            raise
        return self

    async def _send(self) -> LeanConn:
        """Write the request and wait for the response head; a reused connection that closed first is replaced."""
        for _ in range(2):
            t_connect = time.monotonic()
            try:
                conn, reused = await self._session._checkout(self._key, self.timeout)
            except httpx.TransportError as exc:
                raise _network_error(self.prepared, exc, self.timeout) from exc
            if not reused:
                self.connect_s = time.monotonic() - t_connect
            self._conn = conn
            self.timing.t_sent = time.monotonic()
            conn.begin(self.timeout, self._payload)
            self._log_sent()
            while not conn.head_done and conn.error is None:
                await conn.wait()
            if conn.head_done:
                log_response(self.prepared, conn.status, conn.reason, conn.headers, conn.t_head - self.timing.t_sent)
                return conn
            if not (reused and not conn.got_bytes):  # only a stale keep-alive connection is safe to resend on
                break
        raise _broken(self.prepared, conn.error, self.timeout, [], 0) from conn.error  # type: ignore[arg-type]

    def _log_sent(self) -> None:
        """--debug: the request as written (client_text redacts credentials and scrubs the body)."""
        if log.isEnabledFor(logging.DEBUG):
            head, _, body = self._payload.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")[1:]
            log_request(self.prepared, dict(line.split(": ", 1) for line in lines), body or None, 1)

    async def _drain(self, conn: LeanConn, limit: int = ERROR_BODY_LIMIT) -> list[tuple[float, bytes]]:
        """An error body's pieces: up to `limit` bytes, within the timeout in all (a body dripping forever is not
        waited for: the status is the news)."""
        out, size = [], 0
        enough = time.monotonic() + self.timeout
        while size < limit:
            try:
                await asyncio.wait_for(conn.wait(), max(0.0, enough - time.monotonic()))
            except asyncio.TimeoutError:
                out += conn.pieces
                break
            out += conn.pieces
            size += sum(len(d) for _, d in conn.pieces)
            conn.pieces = []
            if conn.done or conn.error is not None:  # an error body cut short still says something
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
                    raise _broken(self.prepared, conn.error, self.timeout, self._chunks, self.status or 0)
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
                raise _broken(self.prepared, conn.error, self.timeout, self._chunks, self.status or 0)
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


def _broken(prepared: PreparedRequest, exc: Exception, timeout: float, chunks: list[bytes], status: int) -> AimuxError:
    """The error for a transport failure: client.py's for a dropped or silent connection. For a reply that is not
    HTTP (a network error) or whose body cannot be decoded (a provider error, as client.py has it), one naming what
    was wrong; either is a stream cut short (IncompleteError) once some of the body had arrived."""
    if not isinstance(exc, BadResponse):
        return _cut_short(prepared, exc, timeout, chunks, status)
    received = b"".join(chunks)
    if received:
        err: AimuxError = IncompleteError(redact(one_line(
            f"{who(prepared)}: stream cut short after {len(received)} bytes ({exc})"), prepared.secrets))
        err.received, err.status = received, status  # type: ignore[attr-defined]
    else:
        what = "unreadable response" if exc.coding else "invalid response"
        kind = ProviderError if exc.coding else NetworkError
        err = kind(redact(one_line(f"{who(prepared)}: {what} from {safe_url(prepared.url)}: {exc}"),
                          prepared.secrets))
    err.provider = prepared.provider  # type: ignore[attr-defined]
    return err
