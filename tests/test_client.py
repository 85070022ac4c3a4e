"""client.py against the loopback provider server: success, errors and exit codes, retries, cut-short streams,
timeouts, proxies, concurrency and secrets. Delays are asserted as lower bounds only."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import pytest

from aimux_cli import client, config, request
from aimux_cli.config import Config, ResolvedProvider
from aimux_cli.errors import (
    AuthError,
    ExitCode,
    IncompleteError,
    NetworkError,
    ProviderError,
    RateLimitError,
)
from provider_server import CORPUS, FIXTURES, Reply, split_body

KEY = "sk-aimux-test-SECRET-7f3a9c21"  # recognizable: the secrets test greps every message for it
CHAT = "/v1/chat/completions"
FAST = {"backoff_base": 0.01}  # keep backoff short where the test is not about the delay


def provider(server, name: str = "openai", **overrides) -> ResolvedProvider:
    cfg = Config(Path("/nonexistent/aimux.toml"), exists=False)
    env = {"OPENAI_API_KEY": KEY, "ANTHROPIC_API_KEY": KEY, "GEMINI_API_KEY": KEY}
    base = {"ollama": server.url, "gemini": server.url + "/v1beta"}.get(name, server.url + "/v1")
    return config.resolve(name, {"base_url": base, **overrides}, env=env, config=cfg)


def chat(server, stream: bool = True, **kw) -> request.PreparedRequest:
    return request.build(provider(server), prompt="hello", stream=stream, **kw)


def fixture_bytes(rel: str) -> bytes:
    return (FIXTURES / rel).read_bytes()


# --- success -----------------------------------------------------------------------------------------------------


def test_send_returns_body_headers_and_timing(provider_server):
    provider_server.route(CHAT, Reply.file("openai/chat-text.json"), method="POST",
                          headers={"authorization": f"Bearer {KEY}"}, json={"model": "gpt-4.1-mini", "stream": False})
    resp = client.send(chat(provider_server, stream=False), timeout=5)
    assert resp.status == 200 and resp.attempts == 1
    assert resp.body == fixture_bytes("openai/chat-text.json")
    assert resp.json() == json.loads(fixture_bytes("openai/chat-text.json"))
    assert resp.headers["content-type"] == "application/json"
    t = resp.timing
    assert t.t_start <= t.t_sent <= t.t_headers <= t.t_first_byte <= t.t_last_byte


@pytest.mark.parametrize(
    ("name", "path", "fixture"),
    [
        ("openai", CHAT, "openai/chat-text-stream.sse"),
        ("anthropic", "/v1/messages", "anthropic/text-end-turn-stream.sse"),
        ("gemini", "/v1beta/models/gemini-2.5-flash:streamGenerateContent", "gemini/text-stream.sse"),
        ("ollama", "/api/chat", "ollama/chat-stream.ndjson"),
    ],
)
def test_stream_delivers_provider_bytes_exactly_in_arrival_order(provider_server, name, path, fixture):
    provider_server.route(path, Reply.file(fixture, delay=0.01), method="POST")
    prepared = request.build(provider(provider_server, name), prompt="hello")
    with client.stream(prepared, timeout=5) as s:
        timed = list(s.iter_timed())
    expected = fixture_bytes(fixture)
    assert b"".join(c for _, c in timed) == expected == s.received
    assert len(timed) == len(split_body(expected, Path(fixture).suffix))  # one chunk per event, none merged
    times = [t for t, _ in timed]
    assert times == sorted(times) and s.timing.t_headers <= times[0]
    assert s.complete and s.status == 200 and s.timing.chunks == len(timed) and s.timing.bytes == len(expected)
    if name == "gemini":
        assert provider_server.requests[0].query == "alt=sse"


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/provider-corpus is absent (third-party recordings)")
def test_stream_replays_a_real_recording_byte_for_byte(provider_server):
    recording = CORPUS / "anthropic" / "stream-text-end_turn.sse"
    provider_server.route("/v1/messages", Reply.file(recording, framing="close"))
    prepared = request.build(provider(provider_server, "anthropic"), prompt="hello")
    with client.stream(prepared, timeout=5) as s:
        assert b"".join(s) == recording.read_bytes()


# --- error statuses ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "fixture", "exc_type", "code"),
    [
        (400, "gemini/error-400-invalid-argument.json", ProviderError, ExitCode.PROVIDER),
        (401, "groq/error-401-invalid-api-key.json", AuthError, ExitCode.AUTH),
        (403, "azure/error-401.json", AuthError, ExitCode.AUTH),
        (404, "gemini/error-404-not-found.json", ProviderError, ExitCode.PROVIDER),
        (429, "anthropic/error-429-rate-limit.json", RateLimitError, ExitCode.RATE_LIMIT),
        (500, "ollama/error-model-not-found.json", ProviderError, ExitCode.PROVIDER),
        (529, "anthropic/error-429-rate-limit.json", ProviderError, ExitCode.PROVIDER),
    ],
)
def test_error_status_maps_to_exception_and_exit_code(provider_server, status, fixture, exc_type, code):
    provider_server.route(CHAT, Reply.file(fixture, status=status))
    with pytest.raises(exc_type) as info:
        client.send(chat(provider_server), timeout=5, retries=0)
    err = info.value
    assert err.exit_code == code and err.status == status and err.provider == "openai"
    assert err.body == fixture_bytes(fixture)
    assert str(err).startswith(f"openai: HTTP {status}") and "\n" not in str(err)
    error = json.loads(err.body).get("error")
    message = error.get("message") if isinstance(error, dict) else error
    assert message.split()[0] in str(err)  # the provider's own words reach the one-line message


def test_error_detail_shapes():
    assert client._error_detail(b'[{"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "m"}}]') == (
        "INVALID_ARGUMENT: m")
    assert client._error_detail(b'{"error": "model \'x\' not found"}') == "model 'x' not found"
    assert client._error_detail(b"<html>\x1b[31mbad\ngateway</html>") == "<html> [31mbad gateway</html>"


def test_error_body_of_a_stream_is_read_before_raising(provider_server):
    provider_server.route(CHAT, Reply.body(b"upstream exploded", status=502, content_type="text/plain"))
    with pytest.raises(ProviderError, match="HTTP 502: upstream exploded") as info:
        with client.stream(chat(provider_server), timeout=5, retries=0):
            pass
    assert info.value.body == b"upstream exploded"


# --- retries -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(client.RETRY_STATUSES))
def test_retryable_status_is_retried_then_succeeds(provider_server, status):
    provider_server.route(CHAT, Reply.json({"error": "busy"}, status), Reply.file("openai/chat-text.json"),
                          json={"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hello"}]})
    seen = []
    resp = client.send(chat(provider_server, stream=False), timeout=5, retries=2,
                       on_retry=lambda *a: seen.append(a), **FAST)
    assert resp.status == 200 and resp.attempts == 2 and provider_server.count(CHAT) == 2
    assert [(a, r) for a, _, r in seen] == [(1, f"HTTP {status}")]


def test_retries_are_counted_and_the_last_error_is_raised(provider_server):
    provider_server.route(CHAT, Reply.json({"error": {"type": "rate_limit", "message": "slow down"}}, 429))
    with pytest.raises(RateLimitError, match="rate_limit: slow down"):
        client.send(chat(provider_server), timeout=5, retries=3, **FAST)
    assert provider_server.count(CHAT) == 4


def test_non_retryable_status_is_sent_once(provider_server):
    provider_server.route(CHAT, Reply.json({"error": "bad"}, 400))
    with pytest.raises(ProviderError):
        client.send(chat(provider_server), timeout=5, retries=5, **FAST)
    assert provider_server.count(CHAT) == 1


@pytest.mark.parametrize(
    ("headers", "asked"),
    [({"retry-after": "1"}, 1.0), ({"retry-after-ms": "300"}, 0.3), ({"retry-after-ms": "250", "retry-after": "9"}, 0.25)],
)
def test_retry_waits_at_least_what_the_server_asks(provider_server, headers, asked):
    provider_server.route(CHAT, Reply.json({"error": "later"}, 503, headers), Reply.json({"ok": True}))
    delays = []
    client.send(chat(provider_server), timeout=5, on_retry=lambda a, d, r: delays.append(d), backoff_base=0.0)
    first, second = provider_server.seen(CHAT)
    assert delays == [pytest.approx(asked)]
    assert second.t - first.t >= asked


def test_retry_after_parsing_and_cap():
    now = 1_000_000.0
    date = "Mon, 12 Jan 1970 13:46:50 GMT"  # now + 10 s
    assert client.retry_after_seconds({"retry-after": date}, now=now) == pytest.approx(10.0)
    assert client.retry_after_seconds({"retry-after": "Mon, 12 Jan 1970 13:46:30 GMT"}, now=now) == 0.0
    assert client.retry_after_seconds({"retry-after": "soon"}) is None
    assert client.retry_after_seconds({}) is None
    assert client.retry_after_seconds({"retry-after-ms": "x", "retry-after": "2"}) == 2.0
    policy = client._Policy(2, 0.5, None)
    assert policy.delay(1, {"retry-after": "3600"}) == client.MAX_DELAY
    assert all(0.25 <= policy.delay(1, {}) <= 0.5 for _ in range(50))
    assert all(policy.delay(30, None) <= client.MAX_DELAY for _ in range(50))


def test_connection_refused_is_retried_then_network_error(provider_server):
    prepared = chat(provider_server)
    provider_server.close()  # nothing listens on the port any more
    seen = []
    with pytest.raises(NetworkError, match="cannot connect") as info:
        client.send(prepared, timeout=5, retries=2, on_retry=lambda *a: seen.append(a), **FAST)
    assert info.value.exit_code == ExitCode.NETWORK and len(seen) == 2


def test_drop_before_any_byte_is_retried(provider_server):
    body = fixture_bytes("openai/chat-text-stream.sse")
    provider_server.route(CHAT, Reply(chunks=[(0, body)], drop_after=0), Reply(chunks=[(0, body)]))
    with client.stream(chat(provider_server), timeout=5, **FAST) as s:
        assert b"".join(s) == body
    assert provider_server.count(CHAT) == 2 and s.attempts == 2


def test_no_retry_once_bytes_were_delivered(provider_server):
    pieces = split_body(fixture_bytes("openai/chat-text-stream.sse"), ".sse")
    provider_server.route(CHAT, Reply(chunks=[(0.01, p) for p in pieces], drop_after=2))
    got = []
    with pytest.raises(IncompleteError) as info:
        with client.stream(chat(provider_server), timeout=5, retries=3, **FAST) as s:
            got.extend(s)
    assert provider_server.count(CHAT) == 1
    assert info.value.exit_code == ExitCode.INCOMPLETE
    assert info.value.received == b"".join(got) == b"".join(pieces[:2])
    assert f"after {len(info.value.received)} bytes" in str(info.value)


@pytest.mark.parametrize("reply", [
    Reply(chunks=[(0, b"data: 1\n\n"), (0.01, b"data: 2\n\n"), (0, b"never")], drop_after=2, reset=True),
    Reply(chunks=[(0, b"data: 1\n\n"), (0.01, b"data: 2\n\n"), (0, b"never")], drop_after=2, framing="length"),
])
def test_reset_or_short_body_mid_stream_is_incomplete(provider_server, reply):
    provider_server.route(CHAT, reply)
    with pytest.raises(IncompleteError) as info:
        with client.stream(chat(provider_server), timeout=5, **FAST) as s:
            for _ in s:
                pass
    assert info.value.received == b"data: 1\n\ndata: 2\n\n" and provider_server.count(CHAT) == 1


def test_send_retries_a_body_that_breaks_off(provider_server):
    provider_server.route(CHAT, Reply(chunks=[(0, b'{"par'), (0, b"tial")], drop_after=1, framing="length"),
                          Reply.json({"ok": True}))
    assert client.send(chat(provider_server), timeout=5, **FAST).json() == {"ok": True}
    assert provider_server.count(CHAT) == 2


# --- timeouts ----------------------------------------------------------------------------------------------------


def test_hang_is_a_network_error_after_the_timeout_without_retry(provider_server):
    provider_server.route(CHAT, Reply(hang=True))
    start = time.monotonic()
    with pytest.raises(NetworkError, match="read timed out after 0.3 s") as info:
        client.send(chat(provider_server), timeout=0.3, retries=2, **FAST)
    assert time.monotonic() - start >= 0.3
    assert info.value.exit_code == ExitCode.NETWORK and provider_server.count(CHAT) == 1


def test_silence_mid_stream_is_incomplete(provider_server):
    provider_server.route(CHAT, Reply(chunks=[(0, b"data: 1\n\n"), (30, b"data: 2\n\n")]))
    with pytest.raises(IncompleteError, match=r"no data for 0.3 s") as info:
        with client.stream(chat(provider_server), timeout=0.3) as s:
            list(s)
    assert info.value.received == b"data: 1\n\n"


# --- proxies, concurrency ----------------------------------------------------------------------------------------


def test_http_proxy_from_environment_is_used(provider_server, monkeypatch):
    for var in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HTTP_PROXY", provider_server.url)  # the loopback server plays the proxy
    provider_server.route(CHAT, Reply.json({"via": "proxy"}))
    r = config.resolve("openai", {"base_url": "http://provider.invalid/v1"}, env={"OPENAI_API_KEY": KEY},
                       config=Config(Path("/nonexistent"), exists=False))
    assert client.send(request.build(r, prompt="hi", stream=False), timeout=5).json() == {"via": "proxy"}
    (seen,) = provider_server.requests
    assert seen.target == "http://provider.invalid/v1/chat/completions"


def test_64_concurrent_async_streams(provider_server):
    pieces = split_body(fixture_bytes("openai/chat-text-stream.sse"), ".sse")
    provider_server.route(CHAT, Reply(chunks=[(0.005, p) for p in pieces]))
    prepared = chat(provider_server)

    async def run() -> list[tuple[bytes, int]]:
        async with client.AsyncSession(max_connections=64) as session:
            async def one() -> tuple[bytes, int]:
                async with session.stream(prepared, timeout=10) as s:
                    return b"".join([c async for c in s]), s.timing.chunks
            return await asyncio.gather(*(one() for _ in range(64)))

    results = asyncio.run(run())
    assert results == [(b"".join(pieces), len(pieces))] * 64
    assert provider_server.count(CHAT) == 64


def test_async_stream_retries_and_cuts_short_like_the_sync_one(provider_server):
    provider_server.route(CHAT, Reply.json({"e": 1}, 503, {"retry-after-ms": "10"}),
                          Reply(chunks=[(0, b"data: 1\n\n"), (0, b"x")], drop_after=1))

    async def run() -> IncompleteError:
        with pytest.raises(IncompleteError) as info:
            async with client.astream(chat(provider_server), timeout=5) as s:
                async for _ in s:
                    pass
        assert s.attempts == 2
        return info.value

    assert asyncio.run(run()).received == b"data: 1\n\n"
    assert provider_server.count(CHAT) == 2


# --- secrets -----------------------------------------------------------------------------------------------------


def test_no_secret_in_any_message_repr_log_or_body(provider_server, caplog, capsys):
    caplog.set_level(logging.DEBUG, logger="aimux.client")
    echo = {"error": {"type": "invalid_api_key", "message": f"Incorrect API key provided: {KEY}"}}
    texts: list[str] = []
    cases = [
        ("openai", CHAT, Reply.json(echo, 401)),
        ("anthropic", "/v1/messages", Reply.json(echo, 429, {"retry-after-ms": "1"})),
        ("gemini", "/v1beta/models/gemini-2.5-flash:streamGenerateContent", Reply(chunks=[(0, KEY.encode())],
                                                                                   drop_after=0)),
        ("openai", CHAT, Reply(hang=True)),
        ("openai", CHAT, Reply(chunks=[(0, b"data: x\n\n"), (0, b"y")], drop_after=1)),
    ]
    for name, path, reply in cases:
        provider_server.route(path, reply)
        prepared = request.build(provider(provider_server, name), prompt="q")
        texts += [repr(prepared), str(prepared)]
        with pytest.raises(Exception) as info:
            with client.stream(prepared, timeout=0.3, retries=1, on_retry=lambda *a: texts.append(repr(a)),
                               **FAST) as s:
                list(s)
        err = info.value
        texts += [str(err), repr(err), repr(getattr(err, "body", b"")), repr(getattr(err, "headers", {}))]
        assert isinstance(err, AuthError | RateLimitError | NetworkError | IncompleteError)
    out = capsys.readouterr()
    texts += [caplog.text, out.out, out.err]
    assert caplog.text  # debug logging ran, so the check below means something
    leaked = [t for t in texts if KEY in t]
    assert not leaked


def test_tls_setup_is_skipped_only_when_no_tls_can_happen(monkeypatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    assert not client._needs_tls("http://127.0.0.1:8080/v1/chat/completions")
    assert client._needs_tls("https://api.openai.com/v1/chat/completions")
    monkeypatch.setenv("https_proxy", "https://proxy.example:3128")
    assert client._needs_tls("http://127.0.0.1:8080/v1/chat/completions")
