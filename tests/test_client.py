"""client.py against the loopback provider server: success, errors and exit codes, retries, cut-short streams,
timeouts, proxies, concurrency and secrets. Delays are asserted as lower bounds only."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import json
import logging
import time
import tracemalloc
from pathlib import Path

import pytest

from aimux_cli import client, client_async, client_text, config, request
from aimux_cli.config import Config, ResolvedProvider
from aimux_cli.errors import (
    AuthError,
    ExitCode,
    IncompleteError,
    NetworkError,
    ProviderError,
    RateLimitError,
)
from provider_server import CORPUS, FIXTURES, Reply, http_date, split_body

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
        (400, "gemini/error-400-invalid-argument.json", AuthError, ExitCode.AUTH),  # reason API_KEY_INVALID
        (401, "groq/error-401-invalid-api-key.json", AuthError, ExitCode.AUTH),
        (403, "azure/error-401.json", AuthError, ExitCode.AUTH),
        (404, "gemini/error-404-not-found.json", ProviderError, ExitCode.PROVIDER),
        (429, "anthropic/error-429-rate-limit.json", RateLimitError, ExitCode.RATE_LIMIT),
        (500, "ollama/error-model-not-found.json", ProviderError, ExitCode.PROVIDER),
        (529, "anthropic/error-529-overloaded.json", ProviderError, ExitCode.PROVIDER),
        (529, "anthropic/error-429-rate-limit.json", RateLimitError, ExitCode.RATE_LIMIT),  # the body's type decides
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
    assert client._error_detail(b"plain\x1b[31mbad\ngateway") == "plain [31mbad gateway"  # no live escapes
    assert client._error_detail(b"<html>\x1b[31mbad\ngateway</html>") == "[31mbad gateway"  # HTML: its text


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
        async with client_async.AsyncSession(max_connections=64) as session:
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
            async with client_async.astream(chat(provider_server), timeout=5) as s:
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


# --- Content-Encoding: decoded here, bounded (issue 9 defects 3 and 8) -------------------------------------------


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
def test_encoded_bodies_are_decoded_and_accept_encoding_names_only_what_is_decoded(provider_server, coding):
    text = fixture_bytes("openai/chat-text.json")
    provider_server.route(CHAT, Reply.gzip(text, coding=coding),
                          check=lambda seen: (seen.headers["accept-encoding"] == "gzip, deflate") or None)
    assert client.send(chat(provider_server, stream=False), timeout=5).body == text


def test_corrupt_gzip_mid_stream_keeps_what_decoded_and_is_incomplete(provider_server):
    """Defect 8: httpx's DecodingError escaped as `internal error`, exit 1, losing the text before the corrupt point."""
    provider_server.route(CHAT, Reply.corrupt_gzip(b"data: 1\n\ndata: 2\n\n"))
    got = []
    with pytest.raises(IncompleteError, match="corrupt gzip data after 18 decoded bytes") as info:
        with client.stream(chat(provider_server), timeout=5, retries=2, **FAST) as s:
            got.extend(s)
    assert b"".join(got) == info.value.received == b"data: 1\n\ndata: 2\n\n"
    assert info.value.exit_code == ExitCode.INCOMPLETE and provider_server.count(CHAT) == 1  # not retried


@pytest.mark.parametrize(("reply", "streamed_error"), [
    (Reply.corrupt_gzip(b""), ProviderError),  # garbage from the first block on
    (Reply(200, {"content-encoding": "gzip"}, [(0, b"this is not gzip")], "length"), ProviderError),
    (Reply(200, {"content-encoding": "br"}, [(0, b"\x8b\x02\x80hi\x03")], "length"), ProviderError),  # never asked for
    (Reply(200, {"content-encoding": "gzip"}, [(0, gzip.compress(b'{"ok": true}')[:-10])], "length"),
     IncompleteError),  # ends early: a stream keeps what decoded
])
def test_an_undecodable_body_is_a_one_line_error_never_retried(provider_server, reply, streamed_error):
    provider_server.route(CHAT, reply)
    url = f"{provider_server.url}/v1/chat/completions"
    with pytest.raises(ProviderError) as info:
        client.send(chat(provider_server, stream=False), timeout=5, retries=2, **FAST)
    assert str(info.value).startswith(f"openai: unreadable response from {url}: ") and "\n" not in str(info.value)
    assert info.value.exit_code == ExitCode.PROVIDER
    with pytest.raises(streamed_error) as info:
        list(client.stream(chat(provider_server), timeout=5, retries=2, **FAST))
    assert "gzip" in str(info.value) or "Content-Encoding 'br'" in str(info.value)
    assert provider_server.count(CHAT) == 2


def _peak_traced(fn) -> tuple[int, BaseException | None]:
    tracemalloc.start()
    try:
        fn()
        raised = None
    except Exception as exc:  # noqa: BLE001 - returned for the caller's assertions
        raised = exc
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, raised


@pytest.mark.parametrize("status", [500, 401])
def test_an_error_body_bomb_is_read_to_one_mib_only(provider_server, status):
    """Defect 3: response.read() inflated a 2 MB error body to 2 GiB (23 GB RSS on a 500 with retries)."""
    provider_server.route(CHAT, Reply.gzip_bomb(1 << 30, status=status, content_type="application/json"))
    peak, err = _peak_traced(lambda: client.send(chat(provider_server), timeout=5, retries=0))
    assert isinstance(err, ProviderError | AuthError) and err.status == status
    assert len(err.body) == client.ERROR_BODY_LIMIT
    assert peak < 12 * client.ERROR_BODY_LIMIT, f"{peak >> 20} MiB traced"


@pytest.mark.parametrize("streamed", [False, True])
def test_a_gzip_bomb_on_a_200_is_refused_early(provider_server, streamed):
    """Defect 3: a 200 bomb took 4.2 GB; it is refused once it inflates past 500:1 (16 MiB decoded at most)."""
    provider_server.route(CHAT, Reply.gzip_bomb(1 << 30, prefix=b"data: 1\n\n"))
    if streamed:
        peak, err = _peak_traced(lambda: list(client.stream(chat(provider_server), timeout=5, retries=0)))
        assert isinstance(err, IncompleteError) and err.received.startswith(b"data: 1\n\n")
    else:
        peak, err = _peak_traced(lambda: client.send(chat(provider_server), timeout=5, retries=0))
        assert isinstance(err, ProviderError) and err.exit_code == ExitCode.PROVIDER
    assert "inflates more than 500:1 (a decompression bomb)" in str(err)
    assert peak < 96 << 20, f"{peak >> 20} MiB traced"


def test_a_body_past_the_size_bound_is_refused(provider_server, monkeypatch):
    """Plain (not compressed) bodies have the same bound as prettify's input: 256 MiB; here lowered to 1 MiB."""
    monkeypatch.setattr(client, "BODY_LIMIT", 1 << 20)
    provider_server.route(CHAT, Reply(chunks=[(0, b"x" * (1 << 19))] * 3))
    with pytest.raises(ProviderError, match="the body is larger than 1 MiB decoded"):
        client.send(chat(provider_server), timeout=5, retries=0)
    with pytest.raises(IncompleteError, match=r"cut short after 1048576 bytes \(the body is larger than 1 MiB"):
        list(client.stream(chat(provider_server), timeout=5, retries=0))
    assert client.BODY_LIMIT == 1 << 20 and client.MAX_INPUT_BYTES == 256 << 20


def test_async_streams_decode_and_bound_like_the_sync_ones(provider_server):
    provider_server.route(CHAT, Reply.corrupt_gzip(b"data: 1\n\n"))

    async def run() -> IncompleteError:
        with pytest.raises(IncompleteError) as info:
            async with client_async.astream(chat(provider_server), timeout=5) as s:
                async for _ in s:
                    pass
        return info.value

    assert asyncio.run(run()).received == b"data: 1\n\n"


# --- HTML error pages, Retry-After forms -------------------------------------------------------------------------

NGINX_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
             b"</center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n")


def test_an_html_error_page_is_its_title_and_the_url(provider_server):
    """Issue 10: an HTML 502 from a proxy was flattened (`<html> <head><title>…`) and did not say which URL."""
    provider_server.route(CHAT, Reply.body(NGINX_502, 502, "text/html"))
    built = chat(provider_server, stream=False)
    prepared = dataclasses.replace(built, url=built.url + "?key=secret-in-query#frag")
    with pytest.raises(ProviderError) as info:
        client.send(prepared, timeout=5, retries=0)
    assert str(info.value) == f"openai: HTTP 502 from {provider_server.url}/v1/chat/completions: 502 Bad Gateway"
    assert client._error_detail(b"<!DOCTYPE html><html><body><h1>Oops</h1><script>x()</script>gone</body>") == (
        "Oops gone")


@pytest.mark.parametrize(("headers", "at_least"), [
    (lambda: {"retry-after": http_date(2)}, 1.0),  # an HTTP date has whole seconds: 2 s ahead is at least 1 s
    (lambda: {"retry-after": "soon, maybe"}, 0.0),  # garbage: ordinary backoff
    (lambda: {"retry-after": "nan", "retry-after-ms": "-5"}, 0.0),
])
def test_every_retry_after_form_is_honoured_or_ignored(provider_server, headers, at_least):
    provider_server.route(CHAT, lambda seen: Reply.json({"error": "later"}, 503, headers()), Reply.json({"ok": True}))
    assert client.send(chat(provider_server), timeout=5, backoff_base=0.01).json() == {"ok": True}
    first, second = provider_server.seen(CHAT)
    assert second.t - first.t >= at_least


def test_retry_after_garbage_never_raises():
    for value in ("nan", "inf", "1e999", "Mon, 99 Jan 2026 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "\x00"):
        for name in ("retry-after", "retry-after-ms"):
            asked = client.retry_after_seconds({name: value})
            assert asked is None or asked >= 0
    assert client._Policy(1, 0.5, None).delay(1, {"retry-after": "inf"}) == client.MAX_DELAY


# --- --debug -----------------------------------------------------------------------------------------------------


def test_debug_log_shows_the_request_and_the_response_once_each_without_secrets(provider_server, caplog):
    """Issue 10: --debug logged the request headers after the status, as if they were the response's, and never
    showed the request body or the response headers."""
    caplog.set_level(logging.DEBUG, logger="aimux.client")
    provider_server.route(CHAT, Reply.json({"error": {"type": "busy", "message": f"no, {KEY}"}}, 503,
                                           {"x-request-id": "req-42", "set-cookie": f"s={KEY}"}),
                          Reply.json({"ok": True}, headers={"x-request-id": "req-43"}))
    long_prompt = "p" * 5000
    client.send(request.build(provider(provider_server), prompt=long_prompt, stream=False), timeout=5, **FAST)
    lines = [r.getMessage() for r in caplog.records]
    text = "\n".join(lines)
    assert KEY not in text
    url = f"{provider_server.url}/v1/chat/completions"
    assert lines[0] == f"> POST {url} (attempt 1)"
    assert lines[1].startswith("> headers: ") and "authorization: [REDACTED];" in lines[1]
    assert "accept-encoding: gzip, deflate;" in lines[1]
    assert lines[2].startswith("> body (50") and "… " in lines[2] and len(lines[2]) < 2200  # cut at 2 KB
    assert lines[3].startswith("< HTTP 503 Service Unavailable (")
    assert lines[4].startswith("< headers: ") and "x-request-id: req-42;" in lines[4]
    assert "authorization" not in lines[4] and "set-cookie: [REDACTED];" in lines[4]
    assert lines[5].startswith("< body (") and "[REDACTED]" in lines[5]
    assert "retry 1 in" in lines[6]
    assert lines[7] == f"> POST {url} (attempt 2)"
    assert "x-request-id: req-43;" in text and sum("> headers:" in line for line in lines) == 2


def test_debug_body_is_scrubbed_before_it_is_cut(provider_server, caplog):
    caplog.set_level(logging.DEBUG, logger="aimux.client")
    provider_server.route(CHAT, Reply.json({"ok": True}))
    prompt = "x" * (client_text.DEBUG_BODY_LIMIT - 90) + KEY  # the key straddles the 2 KB cut of the logged body
    client.send(request.build(provider(provider_server), prompt=prompt, stream=False), timeout=5)
    assert KEY[:8] not in caplog.text


@pytest.mark.parametrize(("headers", "url_tail"), [
    ({"authorization": f"Bearer {KEY}\nline2"}, ""),  # a multi-line `pass show`: h11 refuses it at send time
    ({"authorization": f"Bearer {KEY}é"}, ""),  # not ASCII: httpx refuses it while building the request
    ({"x-team": "caf\x00é"}, ""),
    ({}, ":abc"),  # a port that is not a number
])
def test_a_request_that_cannot_be_sent_is_a_config_error_that_never_quotes_the_value(provider_server, headers,
                                                                                     url_tail):
    """Issue 9 defect 1 (last line of defence; config.py validates keys first): httpx's "Illegal header value
    b'Bearer sk-…\\nline2'" was printed, and a non-ASCII value crashed with UnicodeEncodeError (exit 1)."""
    from aimux_cli.errors import ConfigError

    built = chat(provider_server)
    url = built.url.replace(f":{provider_server.port}", url_tail) if url_tail else built.url
    prepared = dataclasses.replace(built, url=url, headers={**built.headers, **headers})
    with pytest.raises(ConfigError) as info:
        client.send(prepared, timeout=5, retries=2, **FAST)
    assert info.value.exit_code == ExitCode.CONFIG and "cannot send to " in str(info.value)
    assert KEY[:10] not in str(info.value) and "line2" not in str(info.value) and "caf" not in str(info.value)
    assert provider_server.count() == 0


def test_an_error_body_that_drips_forever_is_read_for_one_timeout_at_most(provider_server):
    provider_server.route(CHAT, Reply(502, {"content-type": "text/plain"},
                                      [(0, b"bad gateway ")] + [(0.05, b".")] * 100_000))
    with pytest.raises(ProviderError, match=r"HTTP 502: bad gateway \.") as info:
        client.send(chat(provider_server), timeout=0.5, retries=0)
    assert 5 <= len(info.value.body) < 100  # a lower bound only on the bytes: what 0.5 s of drip brought
