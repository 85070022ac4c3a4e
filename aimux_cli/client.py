"""The only module that touches the network (and imports httpx): send, stream, retries, timing.

    send(prepared, timeout=30)          -> Response (status, headers, body, timing, attempts)
    with stream(prepared, timeout=30) as s:
        for chunk in s: ...             # raw body bytes as they arrive (s.iter_timed() gives (t, bytes))
    AsyncSession / astream              the same over httpx.AsyncClient, for bench and test-providers

Retries: connection failures and HTTP 408, 409, 429, 500, 502, 503, 504, 529 are retried up to `retries` times with
exponential backoff and jitter, or after the delay the server asks for (`retry-after-ms`, then `Retry-After` in
seconds or as an HTTP date), capped at 60 s. A retry happens only before any body byte reached the caller; read
timeouts are not retried (a slow model would only be asked again). Final failures raise from errors.py:
401/403 AuthError, 429 RateLimitError, other statuses ProviderError (all with .status, .body, .headers,
.provider), connection problems and timeouts NetworkError, a body cut short after bytes arrived IncompleteError
(with .received, the bytes delivered). Proxies come from the standard environment variables (trust_env).

Secrets: messages and logs show safe_url() and redacted headers only; error bodies are scrubbed of the key.
Timing: monotonic timestamps for request sent, headers received, first and last byte, and each chunk.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import os
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from aimux_cli.errors import (
    AimuxError,
    AuthError,
    ExitCode,
    IncompleteError,
    NetworkError,
    ProviderError,
    RateLimitError,
    exit_code_for_http_status,
)
from aimux_cli.request import PreparedRequest, redact, redact_bytes, redact_headers, safe_url

log = logging.getLogger("aimux.client")

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
MAX_DELAY = 60.0  # seconds: the longest wait between two attempts, whatever the server asks
BACKOFF_BASE = 0.5  # seconds before the first retry; doubles each time, then jittered
ERROR_BODY_LIMIT = 1 << 20  # bytes of an error body kept
OnRetry = Callable[[int, float, str], None]  # (attempt that failed, seconds until the next, reason)

# Failures before the response is used that are safe to retry; read/write/pool timeouts are not among them.
_RETRYABLE = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


@dataclass
class Timing:
    """Monotonic timestamps (time.monotonic()) of one exchange; None until it happened."""

    t_start: float  # send()/stream() called
    t_sent: float | None = None  # the last attempt's request handed to the transport
    t_headers: float | None = None  # its response headers received
    t_first_byte: float | None = None  # first body chunk
    t_last_byte: float | None = None  # last body chunk
    chunks: int = 0
    bytes: int = 0


@dataclass
class Response:
    """A complete, successful (2xx) response."""

    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes
    timing: Timing
    attempts: int  # requests made, retries included

    def json(self) -> Any:
        return orjson.loads(self.body)


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The delay a response asks for: `retry-after-ms`, else `Retry-After` (seconds or HTTP date); None if absent."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class _Policy:
    retries: int
    backoff_base: float
    on_retry: OnRetry | None

    def may_retry(self, attempt: int) -> bool:
        return attempt <= self.retries

    def delay(self, attempt: int, headers: Mapping[str, str] | None) -> float:
        asked = retry_after_seconds(headers) if headers is not None else None
        if asked is not None:
            return min(asked, MAX_DELAY)
        delay = min(MAX_DELAY, self.backoff_base * 2 ** (attempt - 1))
        return delay * (0.5 + random.random() / 2)  # jitter keeps parallel clients from retrying in step


def _headers(response: httpx.Response) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers.items()}


def _who(prepared: PreparedRequest) -> str:
    return prepared.provider or safe_url(prepared.url)


def _one_line(text: str, limit: int = 300) -> str:
    text = "".join(c if c.isprintable() else " " for c in text)  # no terminal escapes from a provider
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_detail(body: bytes) -> str:
    """The provider's error type and message in a few words (the wire parsers give the full document)."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _one_line(body.decode("utf-8", "replace"), 200)
    if isinstance(doc, list) and doc and isinstance(doc[0], dict):  # Gemini's JSON-array stream form
        doc = doc[0]
    err = doc.get("error", doc) if isinstance(doc, dict) else doc
    if isinstance(err, dict):
        kind = err.get("type") or err.get("status") or err.get("code") or ""
        message = err.get("message") or err.get("detail") or ""
        return _one_line(f"{kind}: {message}" if kind and message else str(kind or message))
    return _one_line(str(err))


def http_error(prepared: PreparedRequest, status: int, headers: Mapping[str, str], body: bytes) -> AimuxError:
    """The exception for a final error status, carrying .status, .body (scrubbed), .headers and .provider."""
    body = redact_bytes(body, prepared.secrets)
    detail = _error_detail(body) if body else ""
    message = redact(f"{_who(prepared)}: HTTP {status}" + (f": {detail}" if detail else ""), prepared.secrets)
    code = exit_code_for_http_status(status)
    cls = AuthError if code == ExitCode.AUTH else RateLimitError if code == ExitCode.RATE_LIMIT else ProviderError
    err = cls(message)
    err.status, err.body, err.headers, err.provider = status, body, dict(headers), prepared.provider  # type: ignore[attr-defined]
    return err


def _network_error(prepared: PreparedRequest, exc: Exception, timeout: float) -> NetworkError:
    if isinstance(exc, httpx.TimeoutException):
        phase = type(exc).__name__.removesuffix("Timeout").lower() or "request"
        what = f"{phase} timed out after {timeout:g} s"
    elif isinstance(exc, httpx.ConnectError):
        what = f"cannot connect: {exc or 'connection failed'}"
    else:
        what = f"connection failed: {exc or type(exc).__name__}"
    err = NetworkError(redact(_one_line(f"{_who(prepared)}: {safe_url(prepared.url)}: {what}"), prepared.secrets))
    err.provider = prepared.provider  # type: ignore[attr-defined]
    return err


def _cut_short(prepared: PreparedRequest, exc: Exception, timeout: float, chunks: list[bytes], status: int) -> AimuxError:
    if not chunks:  # nothing reached the caller: an ordinary network failure
        return _network_error(prepared, exc, timeout)
    received = b"".join(chunks)
    why = f"no data for {timeout:g} s" if isinstance(exc, httpx.TimeoutException) else "connection closed"
    err = IncompleteError(f"{_who(prepared)}: stream cut short after {len(received)} bytes ({why})")
    err.received, err.status, err.provider = received, status, prepared.provider  # type: ignore[attr-defined]
    return err


def _retry_delay(prepared: PreparedRequest, policy: _Policy, attempt: int, timeout: float, *, exc: Exception | None = None,
                 status: int = 0, headers: Mapping[str, str] | None = None, body: bytes = b"") -> float:
    """After a failed attempt: the delay before the next one (announced), or raise the final error."""
    if exc is not None:
        if not (isinstance(exc, _RETRYABLE) and policy.may_retry(attempt)):
            raise _network_error(prepared, exc, timeout) from exc
        reason = type(exc).__name__
    else:
        if not (status in RETRY_STATUSES and policy.may_retry(attempt)):
            raise http_error(prepared, status, headers or {}, body)
        reason = f"HTTP {status}"
    delay = policy.delay(attempt, headers)
    log.debug("%s %s: %s; retry %d in %.2f s", prepared.method, safe_url(prepared.url), reason, attempt, delay)
    if policy.on_retry is not None:
        policy.on_retry(attempt, delay, reason)
    return delay


def _request(client: httpx.Client | httpx.AsyncClient, prepared: PreparedRequest, timeout: float) -> httpx.Request:
    content = orjson.dumps(prepared.json_body) if prepared.json_body is not None else None
    return client.build_request(
        prepared.method, prepared.url, headers=prepared.headers, content=content, timeout=httpx.Timeout(timeout)
    )


def _policy(retries: int, backoff_base: float, on_retry: OnRetry | None) -> _Policy:
    return _Policy(max(0, retries), backoff_base, on_retry)


def _limits(max_connections: int) -> httpx.Limits:
    return httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)


def _needs_tls(url: str) -> bool:
    """Whether a one-off request may use TLS: an https target, or any proxy (which may itself be https).
    Otherwise the client skips loading the CA bundle, which costs tens of milliseconds at start-up."""
    proxies = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
    return not url.startswith("http://") or any(os.environ.get(v) or os.environ.get(v.lower()) for v in proxies)


def _log_ok(prepared: PreparedRequest, status: int, attempt: int) -> None:
    if log.isEnabledFor(logging.DEBUG):
        headers = redact_headers(prepared.headers)
        log.debug("%s %s -> HTTP %d (attempt %d) %s", prepared.method, safe_url(prepared.url), status, attempt, headers)


class Session:
    """A connection pool (httpx.Client) for several requests; the module's `send`/`stream` make one-off ones."""

    def __init__(self, *, max_connections: int = 100, tls: bool = True) -> None:
        self._client = httpx.Client(limits=_limits(max_connections), trust_env=True, follow_redirects=False,
                                    verify=tls)  # tls=False only when no request will use TLS at all

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def send(self, prepared: PreparedRequest, *, timeout: float, retries: int = 2, on_retry: OnRetry | None = None,
             backoff_base: float = BACKOFF_BASE) -> Response:
        """Send and read the whole body. A body that breaks off is retried too: nothing reached the caller yet."""
        policy = _policy(retries, backoff_base, on_retry)
        with Stream(self, prepared, timeout, policy, owns_session=False, buffered=True) as s:
            for _ in s:  # chunks of a broken-off attempt are dropped from s.received before the retry
                pass
        return Response(s.status or 0, s.headers, s.received, s.timing, s.attempts)

    def stream(self, prepared: PreparedRequest, *, timeout: float, retries: int = 2, on_retry: OnRetry | None = None,
               backoff_base: float = BACKOFF_BASE) -> Stream:
        """A Stream over this session's pool (the session stays open when the stream closes)."""
        return Stream(self, prepared, timeout, _policy(retries, backoff_base, on_retry), owns_session=False)

    def _open(self, prepared: PreparedRequest, timeout: float, policy: _Policy, timing: Timing,
              attempt: int) -> tuple[httpx.Response, int]:
        """Send until a 2xx response's headers arrive, or raise the final error. Returns (response, attempts)."""
        request = _request(self._client, prepared, timeout)
        while True:
            attempt += 1
            timing.t_sent = time.monotonic()
            try:
                response = self._client.send(request, stream=True)
            except httpx.TransportError as exc:
                time.sleep(_retry_delay(prepared, policy, attempt, timeout, exc=exc))
                continue
            timing.t_headers = time.monotonic()
            if 200 <= response.status_code < 300:
                _log_ok(prepared, response.status_code, attempt)
                return response, attempt
            try:
                body = response.read()
            except httpx.HTTPError:
                body = b""
            finally:
                response.close()
            status, headers = response.status_code, _headers(response)
            time.sleep(_retry_delay(prepared, policy, attempt, timeout, status=status, headers=headers, body=body))


class Stream:
    """A streamed response: a context manager and an iterator of body chunks exactly as they arrive.

    Entering (or starting to iterate) sends the request, with retries, and raises the final error for a non-2xx
    status. Then `status`, `headers`, `attempts` and `timing` are set; `received` is every byte delivered so far.
    """

    def __init__(self, session: Any, prepared: PreparedRequest, timeout: float, policy: _Policy, *,
                 owns_session: bool, buffered: bool = False) -> None:
        self.prepared, self.timeout, self._policy = prepared, timeout, policy
        self._session, self._owns, self._buffered = session, owns_session, buffered
        self._response: httpx.Response | None = None
        self._chunks: list[bytes] = []
        self.timing = Timing(time.monotonic())
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.attempts = 0
        self.complete = False  # the body ended normally

    @property
    def received(self) -> bytes:
        return b"".join(self._chunks)

    def _opened(self, response: httpx.Response, attempts: int) -> None:
        self._response, self.attempts = response, attempts
        self.status, self.headers = response.status_code, _headers(response)

    def _note(self, chunk: bytes) -> float:
        t, timing = time.monotonic(), self.timing
        if timing.t_first_byte is None:
            timing.t_first_byte = t
        timing.t_last_byte, timing.chunks, timing.bytes = t, timing.chunks + 1, timing.bytes + len(chunk)
        self._chunks.append(chunk)
        return t

    def _after_drop(self, exc: Exception) -> float:
        """The body broke off: the delay before sending again (nothing delivered yet), or raise."""
        self._response = None
        if self._chunks and not self._buffered:
            raise _cut_short(self.prepared, exc, self.timeout, self._chunks, self.status or 0) from exc
        self._chunks.clear()
        self.timing.t_first_byte, self.timing.chunks, self.timing.bytes = None, 0, 0
        return _retry_delay(self.prepared, self._policy, self.attempts, self.timeout, exc=exc)

    def __enter__(self) -> Stream:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> Stream:
        if self._response is None:
            try:
                self._opened(*self._session._open(self.prepared, self.timeout, self._policy, self.timing,
                                                  self.attempts))
            except BaseException:
                self.close()
                raise
        return self

    def close(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None
        if self._owns:
            self._session.close()

    def __iter__(self) -> Iterator[bytes]:
        for _, chunk in self.iter_timed():
            yield chunk

    def iter_timed(self) -> Iterator[tuple[float, bytes]]:
        """Yield (time.monotonic(), chunk) for each body chunk; the stream closes when the body ends or fails."""
        try:
            self.open()
            while True:
                assert self._response is not None
                try:
                    for chunk in self._response.iter_bytes():
                        if chunk:
                            yield self._note(chunk), chunk
                    break
                except httpx.TransportError as exc:
                    self._response.close()
                    time.sleep(self._after_drop(exc))
                    self.open()
            self.complete = True
        finally:
            self.close()


def send(prepared: PreparedRequest, *, timeout: float, retries: int = 2, on_retry: OnRetry | None = None,
         backoff_base: float = BACKOFF_BASE) -> Response:
    """One request with retries on a one-off connection pool."""
    with Session(max_connections=1, tls=_needs_tls(prepared.url)) as session:
        return session.send(prepared, timeout=timeout, retries=retries, on_retry=on_retry, backoff_base=backoff_base)


def stream(prepared: PreparedRequest, *, timeout: float, retries: int = 2, on_retry: OnRetry | None = None,
           backoff_base: float = BACKOFF_BASE) -> Stream:
    """A Stream that owns its one-off connection pool (closed with the stream)."""
    policy = _policy(retries, backoff_base, on_retry)
    return Stream(Session(max_connections=1, tls=_needs_tls(prepared.url)), prepared, timeout, policy,
                  owns_session=True)


class AsyncSession:
    """The asyncio twin of Session (httpx.AsyncClient), for many concurrent streams (bench, test-providers)."""

    def __init__(self, *, max_connections: int = 100, tls: bool = True) -> None:
        self._client = httpx.AsyncClient(limits=_limits(max_connections), trust_env=True, follow_redirects=False,
                                         verify=tls)

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, prepared: PreparedRequest, *, timeout: float, retries: int = 2,
                   on_retry: OnRetry | None = None, backoff_base: float = BACKOFF_BASE) -> Response:
        """Like Session.send."""
        policy = _policy(retries, backoff_base, on_retry)
        async with AsyncStream(self, prepared, timeout, policy, owns_session=False, buffered=True) as s:
            async for _ in s:
                pass
        return Response(s.status or 0, s.headers, s.received, s.timing, s.attempts)

    def stream(self, prepared: PreparedRequest, *, timeout: float, retries: int = 2,
               on_retry: OnRetry | None = None, backoff_base: float = BACKOFF_BASE) -> AsyncStream:
        return AsyncStream(self, prepared, timeout, _policy(retries, backoff_base, on_retry), owns_session=False)

    async def _open(self, prepared: PreparedRequest, timeout: float, policy: _Policy, timing: Timing,
                    attempt: int) -> tuple[httpx.Response, int]:
        """Like Session._open."""
        request = _request(self._client, prepared, timeout)
        while True:
            attempt += 1
            timing.t_sent = time.monotonic()
            try:
                response = await self._client.send(request, stream=True)
            except httpx.TransportError as exc:
                await asyncio.sleep(_retry_delay(prepared, policy, attempt, timeout, exc=exc))
                continue
            timing.t_headers = time.monotonic()
            if 200 <= response.status_code < 300:
                _log_ok(prepared, response.status_code, attempt)
                return response, attempt
            try:
                body = await response.aread()
            except httpx.HTTPError:
                body = b""
            finally:
                await response.aclose()
            status, headers = response.status_code, _headers(response)
            await asyncio.sleep(_retry_delay(prepared, policy, attempt, timeout, status=status, headers=headers,
                                             body=body))


class AsyncStream(Stream):
    """The asyncio twin of Stream: `async with`, `async for` over bytes, `aiter_timed()` for (t, bytes)."""

    async def __aenter__(self) -> AsyncStream:
        return await self.aopen()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aopen(self) -> AsyncStream:
        if self._response is None:
            try:
                self._opened(*await self._session._open(self.prepared, self.timeout, self._policy, self.timing,
                                                        self.attempts))
            except BaseException:
                await self.aclose()
                raise
        return self

    async def aclose(self) -> None:
        if self._response is not None:
            await self._response.aclose()
            self._response = None
        if self._owns:
            await self._session.aclose()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for _, chunk in self.aiter_timed():
            yield chunk

    async def aiter_timed(self) -> AsyncIterator[tuple[float, bytes]]:
        """Like Stream.iter_timed."""
        try:
            await self.aopen()
            while True:
                assert self._response is not None
                try:
                    async for chunk in self._response.aiter_bytes():
                        if chunk:
                            yield self._note(chunk), chunk
                    break
                except httpx.TransportError as exc:
                    await self._response.aclose()
                    await asyncio.sleep(self._after_drop(exc))
                    await self.aopen()
            self.complete = True
        finally:
            await self.aclose()


def astream(prepared: PreparedRequest, *, timeout: float, retries: int = 2, on_retry: OnRetry | None = None,
            backoff_base: float = BACKOFF_BASE, session: AsyncSession | None = None) -> AsyncStream:
    """An AsyncStream on `session`'s pool, or on a one-off pool that closes with the stream."""
    policy = _policy(retries, backoff_base, on_retry)
    if session is not None:
        return AsyncStream(session, prepared, timeout, policy, owns_session=False)
    session = AsyncSession(max_connections=1, tls=_needs_tls(prepared.url))
    return AsyncStream(session, prepared, timeout, policy, owns_session=True)


def warm_async() -> None:
    """Import httpx's asyncio transport now (httpcore and anyio load it on the first async request, ~0.1 s cold),
    so that the first request's timing measures the provider, not the import. test-providers calls it first."""
    import importlib

    for name in ("httpcore._backends.anyio", "anyio._backends._asyncio", "anyio._core._sockets", "anyio.to_thread"):
        try:
            importlib.import_module(name)
        except ImportError:  # another httpcore/anyio layout: only the first timing suffers
            pass


# --- LeanSession: a low-overhead asyncio stream for `aimux bench` (issue 6) ---
# httpx spends hundreds of µs of CPU per body chunk in its async layers (anyio cancel scopes, h11 events, pool
# bookkeeping); at 64 streams of 200 chunks/s that alone saturates a core and delays the very chunks being timed.
# LeanSession speaks HTTP/1.1 on asyncio protocols instead and stamps each chunk in data_received, before parsing.
# It has the same stream interface as AsyncSession (aopen/aclose, aiter_timed, timing, status, headers, received)
# and the same errors, but no proxies (see lean_supported), redirects, retries or content decoding.

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
