"""The asyncio half of the network edge (client.py is the sync half and the shared machinery): imports httpx.

    async with AsyncSession() as session:           # httpx.AsyncClient pool, for many concurrent streams
        r = await session.send(prepared, timeout=30) # -> client.Response
        async with session.stream(prepared, timeout=30) as s:
            async for chunk in s: ...               # raw body bytes as they arrive (s.aiter_timed() gives (t, bytes))
    astream(prepared, timeout=30)                    an AsyncStream on a one-off pool (or on `session=`)
    warm_async()                                     import httpx's asyncio transport before any clock starts

Used by bench and test-providers (and models); `aimux ask` sends with client.py alone and never imports this module.
Retries, body bounds and decoding, errors, secrets and --debug logging are client.py's, the same for both halves.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx

from aimux_cli.client import (
    BACKOFF_BASE,
    ERROR_BODY_LIMIT,
    OnRetry,
    Response,
    Stream,
    Timing,
    _answered,
    _headers,
    _limits,
    _needs_tls,
    _Policy,
    _policy,
    _request,
    _retry_delay,
    _sending,
)
from aimux_cli.client_text import log_error_body
from aimux_cli.content_coding import Truncating
from aimux_cli.request import PreparedRequest


async def _asleep(seconds: float) -> None:
    # asyncio is imported here, not at the top: `aimux ask` (the sync path) should not pay for it at start-up
    import asyncio

    await asyncio.sleep(seconds)


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
            _sending(prepared, request, timing, attempt)
            try:
                response = await self._client.send(request, stream=True)
            except httpx.TransportError as exc:
                await _asleep(_retry_delay(prepared, policy, attempt, timeout, exc=exc))
                continue
            _answered(prepared, response, timing)
            if 200 <= response.status_code < 300:
                return response, attempt
            status, headers = response.status_code, _headers(response)
            reader = Truncating(headers.get("content-encoding"), ERROR_BODY_LIMIT)
            enough = time.monotonic() + timeout
            try:
                async for raw in response.aiter_raw():
                    if reader.feed(raw) or time.monotonic() > enough:
                        break
            except httpx.HTTPError:
                pass
            finally:
                await response.aclose()
            body = reader.body()
            log_error_body(prepared, body)
            await _asleep(_retry_delay(prepared, policy, attempt, timeout, status=status, headers=headers,
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
                    async for raw in self._response.aiter_raw():
                        for item in self._decoded(raw):
                            yield item
                    for item in self._decoded(None):
                        yield item
                    break
                except httpx.TransportError as exc:
                    await self._response.aclose()
                    await _asleep(self._after_drop(exc))
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
