"""`aimux bench`: statistics, load shapes, error categories, timing accuracy against the loopback provider server,
the lean stream transport it uses, and `bench prettify`.

The accuracy tests check intervals that the server schedules (first text chunk 50 ms after the request, then 20
chunks 10 ms apart) against what bench reports: medians within 5 ms (TTFT) and 2 ms (TPOT, ITL). They bound
measured intervals, not the test's own duration.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from aimux_cli import bench
from aimux_cli.bench import Plan, Sample
from aimux_cli.config import ResolvedProvider
from aimux_cli.request import build
from provider_server import Reply, split_body
from pty_support import read_terminal

ROOT = Path(__file__).resolve().parents[1]
STREAM = ROOT / "tests" / "data" / "bench" / "openai-21-chunks.sse"
KEY = "sk-bench-secret-0123456789"
ROUTE = "/v1/chat/completions"


# --- statistics ---

def test_percentiles_interpolate_linearly_like_numpy():
    values = list(range(1, 11))  # 1..10
    s = bench.stats(values)
    # rank = (n - 1) * q / 100: p50 -> 4.5 -> 5.5; p90 -> 8.1 -> 9.1; p95 -> 8.55 -> 9.55; p99 -> 8.91 -> 9.91
    assert s == {"mean": 5.5, "median": 5.5, "p90": 9.1, "p95": 9.55, "p99": 9.91, "min": 1, "max": 10}


def test_percentiles_of_unsorted_and_tiny_inputs():
    assert bench.stats([30.0, 10.0, 20.0])["median"] == 20.0
    assert bench.stats([30.0, 10.0, 20.0])["p90"] == 28.0  # rank 1.8 between 20 and 30
    assert bench.stats([7.0]) == dict.fromkeys(bench.STAT_KEYS, 7.0)
    assert bench.stats([]) == dict.fromkeys(bench.STAT_KEYS)
    with pytest.raises(ValueError):
        bench.percentile([], 50)


def test_timings_define_ttft_e2e_itl_and_tpot():
    sample = bench.timings(Sample(0, 0.0), t_sent=1.0, marks=[1.050, 1.060, 1.075], t_end=1.080, tokens=5)
    assert sample.ttft_ms == pytest.approx(50.0)
    assert sample.e2e_ms == pytest.approx(80.0)
    assert sample.itl_ms == pytest.approx([10.0, 15.0])
    assert sample.tpot_ms == pytest.approx((80.0 - 50.0) / 4)
    one = bench.timings(Sample(1, 0.0), 1.0, [1.05], 1.06, tokens=1)
    assert one.tpot_ms is None and one.itl_ms == []


def test_summary_counts_errors_by_category_and_rates_over_wall_time():
    ok = [bench.timings(Sample(i, 0.0), 0.0, [0.1, 0.2], 0.3, tokens=10) for i in range(3)]
    failed = [Sample(3, 0.0, status="auth"), Sample(4, 0.0, status="rate_limit"), Sample(5, 0.0, status="auth")]
    s = bench.summarize(ok + failed, wall_s=2.0)
    assert (s["completed"], s["failed"]) == (3, 3)
    assert s["errors"] == {"auth": 2, "rate_limit": 1, "provider": 0, "network": 0, "incomplete": 0}
    assert s["requests_per_s"] == 1.5 and s["output_tokens"] == 30 and s["output_tokens_per_s"] == 15.0
    assert s["ttft_ms"]["median"] == 100.0 and s["itl_ms"]["max"] == 100.0


def test_histogram_bins_cover_the_range():
    bins = bench.histogram([1.0, 2.0, 2.5, 10.0], bins=3)
    assert [c for _, _, c in bins] == [3, 0, 1]
    assert bins[0][0] == 1.0 and bins[-1][1] == 10.0
    assert bench.histogram([4.0, 4.0]) == [(4.0, 4.0, 2)]


def test_poisson_spacing_has_mean_one_over_rate():
    offsets = bench.poisson_offsets(8.0, random.Random(1234))
    starts = [next(offsets) for _ in range(20001)]
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    mean = sum(gaps) / len(gaps)
    assert starts[0] == 0.0
    assert mean == pytest.approx(1 / 8.0, rel=0.03)
    # exponential gaps: the standard deviation equals the mean (a fixed spacing would have none)
    sd = (sum((g - mean) ** 2 for g in gaps) / len(gaps)) ** 0.5
    assert sd == pytest.approx(mean, rel=0.05)
    again = bench.poisson_offsets(8.0, random.Random(1234))
    assert [next(again) for _ in range(5)] == starts[:5]


# --- runs against the loopback provider server ---

def resolved_for(server, **kw) -> ResolvedProvider:
    base_url = kw.pop("base_url", server.url + "/v1")
    return ResolvedProvider(name="local", wire="openai.chat", base_url=base_url, model="bench-model",
                            api_key=KEY, headers={}, timeout=kw.pop("timeout", 10.0), auth="bearer", key_env=None,
                            config_path="-")


def scheduled(first: float = 0.05, gap: float = 0.01, usage: bool = True) -> Reply:
    """The scripted stream: first text event after `first` s, the other 20 `gap` s apart, then finish, [DONE]."""
    events = split_body(STREAM.read_bytes(), ".sse")
    if not usage:
        events = [e for e in events if b'"usage":{' not in e]
    texts = sum(1 for e in events if b'"content"' in e)
    delays = [first] + [gap] * (texts - 1) + [0.0] * (len(events) - texts)
    return Reply(200, {"content-type": "text/event-stream"}, list(zip(delays, events)))


def run_bench(server, plan: Plan, **kw) -> bench.Run:
    resolved = resolved_for(server, **kw)
    prepared = build(resolved, prompt="hello", max_tokens=64, stream=True)
    return asyncio.run(bench.run(prepared, resolved.wire, plan, timeout=resolved.timeout))


@pytest.mark.parametrize("concurrency", [1, 16])
def test_reported_timings_match_the_server_schedule(provider_server, concurrency):
    provider_server.route(ROUTE, scheduled(), json={"stream": True, "stream_options": {"include_usage": True}},
                          headers={"authorization": f"Bearer {KEY}"})
    requests = max(8, 4 * concurrency)  # several rounds: one hiccup of a busy machine cannot move a median
    result = run_bench(provider_server, Plan(requests=requests, concurrency=concurrency, warmup=concurrency))
    s = bench.summarize(result.samples, result.wall_s)
    assert s["completed"] == requests and s["failed"] == 0
    assert all(r.output_tokens == 21 and not r.tokens_estimated for r in result.samples)
    assert all(1 <= r.chunks <= 21 for r in result.samples)  # text events that arrive together share one read
    assert abs(s["ttft_ms"]["median"] - 50) <= 5, s["ttft_ms"]
    assert abs(s["tpot_ms"]["median"] - 10) <= 2, s["tpot_ms"]
    assert abs(s["itl_ms"]["median"] - 10) <= 2, s["itl_ms"]


def test_without_usage_tokens_are_counted_chunks_marked_estimated(provider_server):
    provider_server.route(ROUTE, scheduled(first=0.02, gap=0.005, usage=False))
    result = run_bench(provider_server, Plan(requests=2, concurrency=1, warmup=0))
    assert [(r.output_tokens, r.tokens_estimated) for r in result.samples] == [(21, True), (21, True)]
    assert bench.summarize(result.samples, result.wall_s)["tokens_estimated"] is True


def test_http_errors_are_counted_by_category_and_not_retried(provider_server):
    err = {"error": {"type": "x", "message": "no"}}
    provider_server.route(ROUTE, Reply.json(err, 401), Reply.json(err, 429, headers={"retry-after": "0"}),
                          Reply.json(err, 500), scheduled(first=0.0, gap=0.0))
    result = run_bench(provider_server, Plan(requests=5, concurrency=1, warmup=0))
    assert [r.status for r in result.samples] == ["auth", "rate_limit", "provider", "ok", "ok"]
    assert provider_server.count(ROUTE) == 5  # a 429 or a 500 is not asked again
    s = bench.summarize(result.samples, result.wall_s)
    assert s["errors"] == {"auth": 1, "rate_limit": 1, "provider": 1, "network": 0, "incomplete": 0}
    assert (s["completed"], s["failed"]) == (2, 3)
    assert "HTTP 401" in result.samples[0].error and KEY not in result.samples[0].error


def test_cut_streams_error_events_and_silence_are_categorized(provider_server):
    cut = scheduled(first=0.0, gap=0.0)
    cut.drop_after = 5
    in_stream_error = Reply.body(b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n',
                                 content_type="text/event-stream")
    provider_server.route(ROUTE, cut, in_stream_error, Reply(hang=True))
    result = run_bench(provider_server, Plan(requests=3, concurrency=1, warmup=0), timeout=0.3)
    assert [r.status for r in result.samples] == ["incomplete", "provider", "network"]
    assert "overloaded" in result.samples[1].error
    assert "timed out" in result.samples[2].error


def test_a_stream_that_does_not_parse_is_a_provider_failure(provider_server):
    provider_server.route(ROUTE, Reply.body(b"data: {\"choices\": []}\n\ndata: \xff\xfe\n\n",
                                            content_type="text/event-stream"))
    result = run_bench(provider_server, Plan(requests=1, concurrency=1, warmup=0))
    # the bad event is skipped (issue 9, defect 6); the stream then lacks its terminal event
    assert result.samples[0].status in ("provider", "incomplete") and result.samples[0].error


def test_unreachable_provider_is_a_network_error(provider_server):
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_bench(provider_server, Plan(requests=2, concurrency=2, warmup=0),
                       base_url=f"http://127.0.0.1:{port}/v1")
    assert [r.status for r in result.samples] == ["network", "network"]


def test_warmup_requests_are_sent_but_not_counted(provider_server):
    provider_server.route(ROUTE, scheduled(first=0.0, gap=0.0))
    result = run_bench(provider_server, Plan(requests=4, concurrency=2, warmup=3))
    assert provider_server.count(ROUTE) == 7
    assert [r.index for r in result.samples] == [0, 1, 2, 3]
    assert bench.summarize(result.samples, result.wall_s)["completed"] == 4


def test_rate_mode_starts_requests_open_loop(provider_server):
    provider_server.route(ROUTE, scheduled(first=0.0, gap=0.0))
    result = run_bench(provider_server, Plan(requests=6, rate=50.0, seed=7, warmup=0))
    assert bench.summarize(result.samples, result.wall_s)["completed"] == 6
    starts = [r.start_ms for r in result.samples]
    assert starts == sorted(starts) and starts[0] < starts[-1]


def test_duration_mode_stops_starting_requests(provider_server):
    provider_server.route(ROUTE, scheduled(first=0.02, gap=0.0))
    result = run_bench(provider_server, Plan(requests=None, duration=0.2, concurrency=2, warmup=0))
    assert 2 <= len(result.samples) == provider_server.count(ROUTE)
    assert all(r.start_ms < 300 for r in result.samples)


# --- the lean transport (client_lean.LeanSession) ---

def _conn_fed(data: bytes, piece: int):
    from aimux_cli.lean_http import LeanConn

    conn = LeanConn()
    for i in range(0, len(data), piece):
        conn.data_received(data[i:i + piece])
    return conn


@pytest.mark.parametrize("piece", [1, 2, 3, 7, 1000])
def test_lean_connection_decodes_chunked_bodies_split_anywhere(piece):
    body = b"".join(split_body(STREAM.read_bytes(), ".sse"))
    framed = b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in split_body(body, ".sse")) + b"0\r\n\r\n"
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    conn = _conn_fed(head + framed, piece)
    assert conn.status == 200 and conn.headers["content-type"] == "text/event-stream"
    assert b"".join(d for _, d in conn.pieces) == body
    assert conn.done and conn.keep_alive and conn.error is None


def test_lean_connection_content_length_and_interim_responses():
    conn = _conn_fed(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 401 Unauthorized\r\ncontent-length: 5\r\n\r\nnope!", 4)
    assert conn.status == 401 and b"".join(d for _, d in conn.pieces) == b"nope!" and conn.done


def test_lean_transport_only_without_a_proxy(monkeypatch):
    from aimux_cli.client_lean import lean_supported

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
                 "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert lean_supported("https://api.groq.com/openai/v1/chat/completions")
    assert not lean_supported("https://user:pw@example.com/v1")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    assert not lean_supported("https://api.groq.com/v1")
    assert lean_supported("http://127.0.0.1:8080/v1")  # no proxy for plain http
    monkeypatch.setenv("NO_PROXY", "api.groq.com")
    assert lean_supported("https://api.groq.com/v1")


def test_through_the_httpx_session_too(provider_server):
    """With a proxy variable set bench uses client_async.AsyncSession: same measurements, same categories."""
    from aimux_cli import client_async

    provider_server.route(ROUTE, Reply.json({"error": {"message": "no"}}, 401), scheduled(first=0.0, gap=0.0))
    resolved = resolved_for(provider_server)
    prepared = build(resolved, prompt="hello", stream=True)

    async def go():
        async with client_async.AsyncSession(max_connections=1, tls=False) as session:
            return await bench.run(prepared, resolved.wire, Plan(requests=2, warmup=0), timeout=5, session=session)

    result = asyncio.run(go())
    assert [r.status for r in result.samples] == ["auth", "ok"]
    assert result.samples[1].output_tokens == 21 and result.samples[1].ttft_ms is not None


# --- the commands ---

def aimux(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "NO_COLOR": "", "COLUMNS": "120", **(env or {})}
    return subprocess.run([sys.executable, "-m", "aimux_cli", *args], capture_output=True, cwd=ROOT, env=full_env,
                          timeout=120)


@pytest.fixture
def bench_config(provider_server, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'[providers.local]\nwire = "openai.chat"\nbase_url = "{provider_server.url}/v1"\n'
                      f'api_key_env = "LOCAL_BENCH_KEY"\nmodel = "bench-model"\n')
    return {"AIMUX_CONFIG": str(config), "LOCAL_BENCH_KEY": KEY}


def test_bench_provider_json_report_and_saved_file(provider_server, bench_config, tmp_path):
    provider_server.route(ROUTE, scheduled(first=0.0, gap=0.0), headers={"authorization": f"Bearer {KEY}"})
    saved = tmp_path / "report.json"
    result = aimux("bench", "provider", "-p", "local", "-n", "3", "-c", "2", "--warmup", "0", "-f", "json",
                   "-o", str(saved), env=bench_config)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"meta", "summary", "requests"}
    meta = report["meta"]
    assert {k: meta[k] for k in ("provider", "model", "concurrency", "rate", "requests")} == {
        "provider": "local", "model": "bench-model", "concurrency": 2, "rate": None, "requests": 3}
    assert meta["started_at"] and meta["aimux_version"]
    assert set(report["summary"]) >= {"ttft_ms", "tpot_ms", "itl_ms", "e2e_ms", "output_tokens_per_s",
                                      "requests_per_s", "completed", "failed", "errors"}
    assert set(report["summary"]["ttft_ms"]) == {"mean", "median", "p90", "p95", "p99", "min", "max"}
    assert len(report["requests"]) == 3 and report["summary"]["completed"] == 3
    assert json.loads(saved.read_text()) == report
    assert KEY not in result.stdout.decode() and KEY not in saved.read_text()


def test_bench_provider_toon_and_rich_outputs(provider_server, bench_config):
    import toon_format

    provider_server.route(ROUTE, scheduled(first=0.0, gap=0.0))
    toon = aimux("bench", "provider", "-p", "local", "-n", "2", "--warmup", "0", env=bench_config)  # piped: TOON
    assert toon.returncode == 0, toon.stderr
    assert toon_format.decode(toon.stdout.decode())["summary"]["completed"] == 2
    rich = aimux("bench", "provider", "-p", "local", "-n", "2", "--warmup", "0", "-f", "rich", env=bench_config)
    out = rich.stdout.decode()
    assert rich.returncode == 0 and "TTFT" in out and "E2E latency (ms)" in out and "█" in out


def test_bench_provider_exit_code_when_every_request_fails(provider_server, bench_config):
    provider_server.route(ROUTE, Reply.json({"error": {"message": "bad key"}}, 401))
    result = aimux("bench", "provider", "-p", "local", "-n", "2", "--warmup", "0", "-f", "json", env=bench_config)
    assert result.returncode == 5
    assert json.loads(result.stdout)["summary"]["errors"]["auth"] == 2


def test_bench_provider_rejects_requests_with_duration(bench_config):
    result = aimux("bench", "provider", "-p", "local", "-n", "2", "--duration", "1", env=bench_config)
    assert result.returncode == 2 and b"--requests or --duration" in result.stderr


def test_bench_prettify_sizes_match_prettify_output():
    files = ["fixtures/openai/chat-text.json", "fixtures/gemini/wire-grounding.json"]
    result = aimux("bench", "prettify", "--min-time", "0.01", "-f", "json", *files)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    rows = {r["file"]: r for r in report["results"]}
    assert list(rows) == files
    for name, row in rows.items():
        assert row["input_bytes"] == (ROOT / name).stat().st_size
        assert row["json_bytes"] == len(aimux("prettify", "-f", "json", name).stdout)
        assert row["toon_bytes"] == len(aimux("prettify", "-f", "toon", name).stdout)
        assert row["runs"] >= 5 and row["median_us"] > 0 and row["mb_per_s"] > 0
    grounding = rows["fixtures/gemini/wire-grounding.json"]  # its citations become a TOON table
    assert grounding["toon_bytes"] < grounding["json_compact_bytes"] < grounding["json_bytes"]
    assert report["summary"]["files"] == 2
    assert report["summary"]["toon_bytes"] == sum(r["toon_bytes"] for r in rows.values())


def test_bench_prettify_default_set_skips_broken_fixtures():
    result = aimux("bench", "prettify", "--min-time", "0.0005", "-f", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    files = {r["file"] for r in report["results"]}
    assert "fixtures/openai/chat-text.json" in files and "fixtures/README.md" not in files
    assert set(report["summary"]["skipped"]) == {"fixtures/hostile/garbage.bin", "fixtures/hostile/truncated.json"}


def test_bench_prettify_named_broken_file_is_an_input_error():
    result = aimux("bench", "prettify", "--min-time", "0.01", "fixtures/hostile/truncated.json")
    assert result.returncode == 4 and b"truncated.json" in result.stderr


# --- failures are reported with their message (issue 10), interrupts and warm-up (issue 9) ---

def test_bench_provider_shows_the_first_message_of_each_error_category(provider_server, bench_config):
    in_stream = Reply.body(b'data: {"error": {"message": "overloaded right now", "type": "server_error"}}\n\n',
                           content_type="text/event-stream")
    replies = (Reply.json({"error": {"type": "invalid_api_key", "message": "bad key one"}}, 401),
               Reply.json({"error": {"message": "bad key two"}}, 401), in_stream, scheduled(first=0.0, gap=0.0))
    for fmt in ("json", "toon", "rich"):
        provider_server.route(ROUTE, *replies)
        result = aimux("bench", "provider", "-p", "local", "-n", "4", "-c", "1", "--warmup", "0", "-f", fmt,
                       env=bench_config)
        assert result.returncode == 0, result.stderr
        out = result.stdout.decode()
        assert "bad key one" in out and "overloaded right now" in out, out
        if fmt == "json":
            messages = json.loads(out)["summary"]["error_messages"]
            assert set(messages) == {"auth", "provider"} and "bad key one" in messages["auth"]
            assert messages["provider"] == "overloaded right now"
    assert "bad key two" not in out  # the rich view shows the first message of a category, not every one
    assert "auth 2: local: HTTP 401: invalid_api_key: bad key one" in out  # the rich view, one line per category


def test_bench_provider_when_every_request_fails_says_why_instead_of_dashes(provider_server, bench_config):
    provider_server.route(ROUTE, Reply.json({"error": {"message": "no such model"}}, 404))
    result = aimux("bench", "provider", "-p", "local", "-n", "2", "--warmup", "0", "-f", "rich", env=bench_config)
    out = result.stdout.decode()
    assert result.returncode == 7
    assert "no request completed" in out and "provider 2: local: HTTP 404: no such model" in out
    assert "–" not in out


def test_a_failed_warmup_stops_the_run_with_its_message(provider_server, bench_config):
    provider_server.route(ROUTE, Reply.json({"error": {"type": "x", "message": f"wrong key {KEY}"}}, 401))
    result = aimux("bench", "provider", "-p", "local", "-n", "5", "-c", "2", "--warmup", "3", "-f", "json",
                   env=bench_config)
    assert result.returncode == 5 and result.stdout == b""
    line = result.stderr.decode()
    assert line.count("\n") == 1 and "warm-up request failed" in line and "HTTP 401: x: wrong key" in line
    assert KEY not in line
    assert provider_server.count(ROUTE) <= 2  # the warm-up stops at its first failure; nothing is measured


def test_ctrl_c_prints_the_partial_report_and_exits_130(provider_server, bench_config):
    import signal
    import time

    provider_server.route(ROUTE, scheduled(first=0.05, gap=0.005))
    proc = subprocess.Popen([sys.executable, "-m", "aimux_cli", "bench", "provider", "-p", "local", "-n", "1000",
                             "-c", "2", "--warmup", "0", "-f", "json"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, **bench_config})
    try:
        while provider_server.count(ROUTE) < 6:  # a few requests finished, more are in flight
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    report = json.loads(out)
    assert report["meta"]["interrupted"] is True
    assert 1 <= report["summary"]["completed"] < 1000 and report["summary"]["failed"] == 0
    assert len(report["requests"]) == report["summary"]["completed"]
    assert err.decode().count("\n") == 1 and "interrupted" in err.decode()


def test_an_unwritable_output_file_exits_1_after_the_report(provider_server, bench_config, tmp_path):
    provider_server.route(ROUTE, scheduled(first=0.0, gap=0.0))
    result = aimux("bench", "provider", "-p", "local", "-n", "1", "--warmup", "0", "-f", "json",
                   "-o", str(tmp_path / "missing" / "report.json"), env=bench_config)
    assert result.returncode == 1
    assert json.loads(result.stdout)["summary"]["completed"] == 1  # what was measured is still shown
    assert result.stderr.decode().count("\n") == 1 and "report.json" in result.stderr.decode()
    prettify = aimux("bench", "prettify", "--min-time", "0.001", "fixtures/openai/chat-text.json", "-f", "json",
                     "-o", str(tmp_path))  # a directory
    assert prettify.returncode == 1 and json.loads(prettify.stdout)["summary"]["files"] == 1


def test_a_key_echoed_in_a_stream_error_event_never_reaches_a_report(provider_server, bench_config, tmp_path):
    echo = json.dumps({"error": {"type": "invalid_request_error", "message": f"Incorrect API key provided: {KEY}"}})
    saved = tmp_path / "report.json"
    for fmt in ("json", "toon", "rich"):
        provider_server.route(ROUTE, Reply.body(f"data: {echo}\n\n".encode(), content_type="text/event-stream"),
                              scheduled(first=0.0, gap=0.0))
        result = aimux("bench", "provider", "-p", "local", "-n", "2", "-c", "1", "--warmup", "0", "-f", fmt,
                       "-o", str(saved), env=bench_config)
        assert result.returncode == 0, result.stderr
        assert b"Incorrect API key provided" in result.stdout
        for text in (result.stdout, result.stderr, saved.read_bytes()):
            assert KEY.encode() not in text


# --- bench prettify: progress, and sizes compared both ways (issue 10) ---

def test_bench_prettify_shows_progress_on_a_terminal_and_nothing_when_piped():
    import pty

    files = ["fixtures/openai/chat-text.json", "fixtures/gemini/wire-grounding.json"]
    piped = aimux("bench", "prettify", "--min-time", "0.01", "-f", "json", *files)
    assert piped.returncode == 0 and piped.stderr == b""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "aimux_cli", "bench", "prettify", "--min-time", "0.2", "-f",
                             "json", *files], cwd=ROOT, stdout=subprocess.PIPE, stderr=slave,
                            env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"})
    os.close(slave)
    terminal = read_terminal(master)
    out = proc.stdout.read()
    assert proc.wait(timeout=120) == 0
    # the bar counts timings: 2 files x 5 repeats (the default)
    assert b"bench prettify" in terminal and b"wire-grounding.json" in terminal and b"/10" in terminal
    assert json.loads(out)["summary"]["files"] == 2


def test_bench_prettify_compares_with_compact_and_indented_json_and_never_claims_a_false_saving():
    larger = "fixtures/anthropic/pause-turn-web-search.json"  # TOON beats indented JSON, not compact JSON
    result = aimux("bench", "prettify", "--min-time", "0.001", "-f", "json", larger)
    row = json.loads(result.stdout)["results"][0]
    assert row["toon_bytes"] > row["json_compact_bytes"] and row["toon_bytes"] < row["json_bytes"]
    assert row["toon_saving_compact_pct"] == round(100 * (1 - row["toon_bytes"] / row["json_compact_bytes"]), 1) < 0
    assert row["toon_saving_pct"] == round(100 * (1 - row["toon_bytes"] / row["json_bytes"]), 1) > 0
    rich = aimux("bench", "prettify", "--min-time", "0.001", "-f", "rich", larger).stdout.decode()
    lines = " ".join(rich.split())
    assert f"{row['toon_saving_pct']:.1f} % smaller than indented JSON" in lines
    assert f"larger by {-row['toon_saving_compact_pct']:.1f} % than compact JSON" in lines
    assert "smaller than compact" not in lines


def test_bench_prettify_ctrl_c_prints_what_was_measured_and_exits_130():
    import signal
    import time

    proc = subprocess.Popen([sys.executable, "-m", "aimux_cli", "bench", "prettify", "--min-time", "0.2", "-f",
                             "json"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(3)  # started and measuring: the default set takes far longer than this at 0.2 s a file
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    report = json.loads(out)
    assert report["meta"]["interrupted"] is True and report["summary"]["files"] == len(report["results"])
    assert err.decode().count("\n") == 1 and "interrupted" in err.decode()


def test_debug_logs_the_lean_transports_exchange_without_the_key(provider_server, bench_config):
    provider_server.route(ROUTE, Reply.json({"error": {"type": "x", "message": f"bad key {KEY}"}}, 401))
    result = aimux("--debug", "bench", "provider", "-p", "local", "-n", "1", "--warmup", "0", "-f", "json",
                   env=bench_config)
    assert result.returncode == 5
    log = result.stderr.decode()
    assert f"> POST {provider_server.url}{ROUTE} (attempt 1)" in log
    assert "authorization: [REDACTED]" in log and '"max_tokens":256' in log
    assert "< HTTP 401" in log and "< body" in log and "bad key [REDACTED]" in log
    assert KEY not in log and KEY not in result.stdout.decode()


def test_an_error_event_is_counted_by_its_type_as_ask_exits(provider_server):
    """A stream's error event with `invalid_api_key` is an auth failure (ask exits 5, test-providers says auth):
    bench counted every error event as `provider`."""
    from aimux_cli.errors import ExitCode, exit_code_for_error

    bad_key = Reply.body(b'data: {"error": {"message": "Incorrect API key", "type": "invalid_request_error", '
                         b'"code": "invalid_api_key"}}\n\n', content_type="text/event-stream")
    quota = Reply.body(b'data: {"error": {"message": "quota", "code": "insufficient_quota"}}\n\n',
                       content_type="text/event-stream")
    provider_server.route(ROUTE, bad_key, quota)
    result = run_bench(provider_server, Plan(requests=2, concurrency=1, warmup=0))
    assert [s.status for s in result.samples] == ["auth", "rate_limit"]
    assert exit_code_for_error({"code": "invalid_api_key"}) == ExitCode.AUTH == bench.EXIT_CODES["auth"]
    for reply, status in zip((bad_key, quota), ("auth", "rate_limit")):  # prettify --fail reads the same bytes alike
        done = subprocess.run([sys.executable, "-m", "aimux_cli", "prettify", "--fail", "-f", "json", "--wire",
                               "openai.chat"], input=b"".join(piece for _, piece in reply.chunks),
                              capture_output=True, cwd=ROOT)
        assert done.returncode == bench.EXIT_CODES[status], done.stderr
