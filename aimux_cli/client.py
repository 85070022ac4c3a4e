"""The network edge (with client_async.py, its asyncio half, and client_lean.py, bench's twin): imports httpx.

    send(prepared, timeout=30)          -> Response (status, headers, body, timing, attempts)
    with stream(prepared, timeout=30) as s:
        for chunk in s: ...             # raw body bytes as they arrive (s.iter_timed() gives (t, bytes))
    client_async.AsyncSession / astream the same over httpx.AsyncClient, for bench and test-providers

Retries (the policy is retry_policy.py): connection failures and HTTP 408, 409, 429, 500, 502, 503, 504, 529 are
retried up to `retries` times with exponential backoff and jitter, or after the delay the server asks for
(`retry-after-ms`, then `Retry-After` in seconds or as an HTTP date), capped at 60 s. A retry happens only before
any body byte reached the caller; read timeouts are not retried (a slow model would only be asked again). Final
failures raise from errors.py: 401/403 AuthError, 429 RateLimitError, other statuses ProviderError (all with
.status, .body, .headers, .provider), connection problems and timeouts NetworkError, a body cut short after bytes
arrived IncompleteError (with .received, the bytes delivered), a request that cannot be put on the wire (a header
value that is not ASCII or holds a control character) ConfigError. Proxies come from the standard environment
variables (trust_env).

Bodies are decoded here, not by httpx (content_coding.py; `Accept-Encoding: gzip, deflate`), and bounded: an error
body is read to ERROR_BODY_LIMIT (1 MiB) decoded and the rest never read; a 2xx body, whole or streamed, may decode to
BODY_LIMIT (256 MiB, prettify's input limit) and may not inflate past 500:1 beyond 16 MiB (a gzip bomb). A body past
a bound, corrupt, or in a coding never asked for is not retried: before any byte reached the caller, and always for
send(), it is a ProviderError (exit 7) naming the URL; once a stream delivered bytes, an IncompleteError (exit 9)
whose .received keeps what decoded before the corrupt point, like any stream cut short.

Secrets: messages and logs show safe_url() and redacted headers only; error bodies are scrubbed of the key.
--debug (the "aimux.client" logger at DEBUG): per attempt the request line, headers (credentials replaced) and body
(first 2 KB), then the status line and response headers, and an error body; see client_text.py.
Timing: monotonic timestamps for request sent, headers received, first and last byte, and each chunk.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from aimux_cli.client_text import (  # noqa: F401 - http_error and the helpers are this module's API too
    bad_body,
    cut_short,
    error_detail as _error_detail,
    http_error,
    log_error_body,
    log_note,
    log_request,
    log_response,
    one_line as _one_line,
    who as _who,
)
from aimux_cli.content_coding import SUPPORTED as ACCEPT_ENCODING, BodyTooLarge, DecodeError, Decoder, Truncating
from aimux_cli.errors import AimuxError, ConfigError, NetworkError
from aimux_cli.inputs import MAX_INPUT_BYTES
from aimux_cli.request import PreparedRequest, redact, safe_url
from aimux_cli.retry_policy import (  # noqa: F401 - re-exported: the policy is part of this module's API
    BACKOFF_BASE,
    MAX_DELAY,
    RETRY_STATUSES,
    OnRetry,
    _Policy,
    _policy,
    retry_after_seconds,
)

ERROR_BODY_LIMIT = 1 << 20  # bytes of an error body read, and kept decoded; the rest is not read
BODY_LIMIT = MAX_INPUT_BYTES  # decoded bytes of a body (whole or streamed): prettify's input limit, 256 MiB

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


def _headers(response: httpx.Response) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers.items()}


def _network_error(prepared: PreparedRequest, exc: Exception, timeout: float) -> NetworkError:
    if isinstance(exc, httpx.TimeoutException):
        phase = type(exc).__name__.removesuffix("Timeout").lower() or "request"
        what = f"{phase} timed out after {timeout:g} s"
    elif isinstance(exc, httpx.ConnectError):
        what = f"cannot connect: {exc or 'connection failed'}"
    else:
        what = f"connection failed: {exc or type(exc).__name__}"
    # scrubbed before _one_line joins lines and cuts: a key spanning lines or the cut would no longer match
    err = NetworkError(_one_line(redact(f"{_who(prepared)}: {safe_url(prepared.url)}: {what}", prepared.secrets)))
    err.provider = prepared.provider  # type: ignore[attr-defined]
    return err


def _cut_short(prepared: PreparedRequest, exc: Exception, timeout: float, chunks: list[bytes], status: int) -> AimuxError:
    if not chunks:  # nothing reached the caller: an ordinary network failure
        return _network_error(prepared, exc, timeout)
    why = f"no data for {timeout:g} s" if isinstance(exc, httpx.TimeoutException) else "connection closed"
    return cut_short(prepared, why, chunks, status)


def _retry_delay(prepared: PreparedRequest, policy: _Policy, attempt: int, timeout: float, *, exc: Exception | None = None,
                 status: int = 0, headers: Mapping[str, str] | None = None, body: bytes = b"") -> float:
    """After a failed attempt: the delay before the next one (announced), or raise the final error."""
    if exc is not None:
        if isinstance(exc, httpx.LocalProtocolError):  # h11 refused what we would send: no network fault
            raise _unsendable(prepared, "a header name or value is not allowed in HTTP (a control character?)")
        if not (isinstance(exc, _RETRYABLE) and policy.may_retry(attempt)):
            raise _network_error(prepared, exc, timeout) from exc
        reason = type(exc).__name__
    else:
        if not (status in RETRY_STATUSES and policy.may_retry(attempt)):
            raise http_error(prepared, status, headers or {}, body)
        reason = f"HTTP {status}"
    delay = policy.delay(attempt, headers)
    log_note(prepared, "%s %s: %s; retry %d in %.2f s", prepared.method, safe_url(prepared.url), reason, attempt,
             delay)
    if policy.on_retry is not None:
        policy.on_retry(attempt, delay, reason)
    return delay


def _request(client: httpx.Client | httpx.AsyncClient, prepared: PreparedRequest, timeout: float) -> httpx.Request:
    content = orjson.dumps(prepared.json_body) if prepared.json_body is not None else None
    # Bodies are decoded here (content_coding.py, bounded), not by httpx: ask only for what that module decodes.
    headers = {"accept-encoding": ACCEPT_ENCODING, **prepared.headers}
    try:
        return client.build_request(prepared.method, prepared.url, headers=headers, content=content,
                                    timeout=httpx.Timeout(timeout))
    except UnicodeEncodeError:
        raise _unsendable(prepared, "a header name or value is not ASCII") from None
    except (httpx.InvalidURL, ValueError) as exc:
        raise _unsendable(prepared, f"invalid URL ({exc})") from None


def _unsendable(prepared: PreparedRequest, why: str) -> ConfigError:
    """A request that cannot be put on the wire (config.py validates first; this is the last line, exit 3). The
    message never quotes a header value: the one refused may be the key."""
    return ConfigError(_one_line(redact(f"{_who(prepared)}: cannot send to {safe_url(prepared.url)}: {why}",
                                        prepared.secrets)))


def _sending(prepared: PreparedRequest, request: httpx.Request, timing: Timing, attempt: int) -> None:
    timing.t_sent = time.monotonic()
    log_request(prepared, request.headers, request.content if prepared.json_body is not None else None, attempt)


def _answered(prepared: PreparedRequest, response: httpx.Response, timing: Timing) -> None:
    timing.t_headers = time.monotonic()
    log_response(prepared, response.status_code, response.reason_phrase, response.headers,
                 timing.t_headers - (timing.t_sent or timing.t_headers))


def _limits(max_connections: int) -> httpx.Limits:
    return httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)


def _needs_tls(url: str) -> bool:
    """Whether a one-off request may use TLS: an https target, or any proxy (which may itself be https).
    Otherwise the client skips loading the CA bundle, which costs tens of milliseconds at start-up."""
    proxies = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
    return not url.startswith("http://") or any(os.environ.get(v) or os.environ.get(v.lower()) for v in proxies)


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
            _sending(prepared, request, timing, attempt)
            try:
                response = self._client.send(request, stream=True)
            except httpx.TransportError as exc:
                time.sleep(_retry_delay(prepared, policy, attempt, timeout, exc=exc))
                continue
            _answered(prepared, response, timing)
            if 200 <= response.status_code < 300:
                return response, attempt
            status, headers = response.status_code, _headers(response)
            reader = Truncating(headers.get("content-encoding"), ERROR_BODY_LIMIT)
            enough = time.monotonic() + timeout  # an error body dripping forever is not waited for either
            try:
                for raw in response.iter_raw():
                    if reader.feed(raw) or time.monotonic() > enough:
                        break
            except httpx.HTTPError:
                pass  # keep what was read: the status is the news
            finally:
                response.close()
            body = reader.body()
            log_error_body(prepared, body)
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
        self._decoder = Decoder(None, BODY_LIMIT)
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
        try:
            self._decoder = Decoder(self.headers.get("content-encoding"), BODY_LIMIT)
        except DecodeError as exc:  # open() closes the response
            raise bad_body(self.prepared, str(exc), [], self.status, streamed=False) from None

    def _decoded(self, raw: bytes | None) -> Iterator[tuple[float, bytes]]:
        """(time, chunk) for each decoded piece of `raw` (None: the end of the body), noted as delivered."""
        try:
            for chunk in (self._decoder.end() if raw is None else self._decoder.feed(raw)):
                yield self._note(chunk), chunk
        except (DecodeError, BodyTooLarge) as exc:  # not retried: a corrupt or oversize body is the answer
            raise bad_body(self.prepared, str(exc), self._chunks, self.status or 0,
                           streamed=not self._buffered) from None

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
                    for raw in self._response.iter_raw():
                        yield from self._decoded(raw)
                    yield from self._decoded(None)
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
