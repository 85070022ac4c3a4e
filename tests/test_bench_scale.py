"""`aimux bench provider` at scale (issue 14): worker processes whose samples merge exactly, the event loop used,
the client's own load, connect time apart from TTFT, the first wave, figures over time, goodput, request sets
(datasets, synthetic prompts, --ignore-eos), several providers in one run, and `bench prettify`'s spread.

Everything that talks HTTP runs against the loopback server (tests/provider_server.py). Timing assertions bound
measured intervals the server schedules, never the test's own duration.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aimux_cli import bench, bench_inputs, bench_stats, bench_workers
from aimux_cli.bench import Plan, Sample
from provider_server import Reply, split_body

ROOT = Path(__file__).resolve().parents[1]
STREAM = ROOT / "tests" / "data" / "bench" / "openai-21-chunks.sse"
DATA = ROOT / "tests" / "data" / "bench"
KEY = "sk-bench-secret-0123456789"
ROUTE = "/v1/chat/completions"


def scheduled(first: float = 0.0, gap: float = 0.0) -> Reply:
    events = split_body(STREAM.read_bytes(), ".sse")
    texts = sum(1 for e in events if b'"content"' in e)
    delays = [first] + [gap] * (texts - 1) + [0.0] * (len(events) - texts)
    return Reply(200, {"content-type": "text/event-stream"}, list(zip(delays, events)))


def aimux(*args: str, env: dict | None = None, input: bytes | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "NO_COLOR": "", "COLUMNS": "160", **(env or {})}
    return subprocess.run([sys.executable, "-m", "aimux_cli", *args], capture_output=True, cwd=ROOT, env=full_env,
                          input=input, timeout=300)


@pytest.fixture
def config(provider_server, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(f'[providers.local]\nwire = "openai.chat"\nbase_url = "{provider_server.url}/v1"\n'
                    f'api_key_env = "LOCAL_BENCH_KEY"\nmodel = "bench-model"\n\n'
                    f'[providers.other]\nwire = "openai.chat"\nbase_url = "{provider_server.url}/other/v1"\n'
                    f'api_key_env = "LOCAL_BENCH_KEY"\nmodel = "other-model"\n\n'
                    f'[providers.claude]\nwire = "anthropic.messages"\nbase_url = "{provider_server.url}"\n'
                    f'api_key_env = "LOCAL_BENCH_KEY"\nmodel = "c"\n')
    return {"AIMUX_CONFIG": str(path), "LOCAL_BENCH_KEY": KEY}


def report_of(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def resummarize(report: dict) -> dict:
    """The summary one process computes from the report's own samples, with the run's parameters."""
    samples = [Sample.from_dict(r) for r in report["requests"]]
    summary = report["summary"]
    slos = {f"{k}_ms": v for k, v in summary["goodput"]["slo_ms"].items()} if "goodput" in summary else None
    first = summary.get("first_wave", {}).get("requests")
    return bench_stats.summarize(samples, summary["duration_s"], first_wave=first and report["meta"]["concurrency"],
                                 slos=slos)


# --- merging across processes ---

def test_two_processes_merge_samples_exactly(provider_server, config):
    provider_server.route(ROUTE, scheduled(first=0.01, gap=0.002))
    report = report_of(aimux("bench", "provider", "-p", "local", "-n", "24", "-c", "4", "--warmup", "2",
                             "--processes", "2", "--goodput", "ttft:10000 e2e:20000", "-f", "json", env=config))
    meta, summary, requests = report["meta"], report["summary"], report["requests"]
    assert meta["processes"] == 2 and meta["client"]["processes"] == 2
    assert len(meta["client"]["workers"]) == 2 and len({w["pid"] for w in meta["client"]["workers"]}) == 2
    assert summary["completed"] == 24 == len(requests)
    assert provider_server.count(ROUTE) == 24 + 2  # a warm-up request per worker
    assert {r["worker"] for r in requests} == {0, 1}
    assert sorted(r["index"] for r in requests) == list(range(24))
    starts = [r["start_ms"] for r in requests]
    assert starts == sorted(starts) and starts[0] >= 0  # one common zero: the workers started together
    # the figures are those of the report's own samples (rounded to µs in the rows)
    again = resummarize(report)
    for metric in ("ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"):
        for key, value in summary[metric].items():
            assert again[metric][key] == pytest.approx(value, abs=0.002)
    assert summary["goodput"]["good"] == 24


def test_merged_summary_equals_one_process_summary_of_the_same_samples(provider_server):
    """bench_workers.measure over 2 processes: its Run's summary is, figure for figure, summarize() over the
    samples each worker sent (in any order), with the same first wave and objectives."""
    import random

    from aimux_cli.config import ResolvedProvider
    from aimux_cli.request import build

    provider_server.route(ROUTE, scheduled(first=0.005, gap=0.001))
    resolved = ResolvedProvider(name="local", wire="openai.chat", base_url=provider_server.url + "/v1",
                                model="m", api_key=KEY, headers={}, timeout=10.0, auth="bearer", key_env=None,
                                config_path="-")
    job = bench_workers.Job((build(resolved, prompt="hi", max_tokens=8, stream=True),), "openai.chat",
                            Plan(requests=20, concurrency=4, warmup=2), 10.0)
    arrived: list[Sample] = []
    run, client = bench_workers.measure(job, 2, arrived.append)
    assert client["processes"] == 2 and len(run.samples) == 20 and not run.interrupted
    by_worker = {w: [s for s in arrived if s.worker == w] for w in (0, 1)}
    assert sorted(len(v) for v in by_worker.values()) == [10, 10]
    pooled = by_worker[1] + by_worker[0]
    random.Random(5).shuffle(pooled)
    slos = {"ttft_ms": 50.0, "e2e_ms": 500.0}
    merged = bench_stats.summarize(run.samples, run.wall_s, first_wave=4, slos=slos)
    assert merged == bench_stats.summarize(pooled, run.wall_s, first_wave=4, slos=slos)
    assert merged["completed"] == 20


def test_merged_percentiles_are_not_averaged_percentiles():
    """Two workers' samples: the merged median is the median of all of them, which averaging the workers' medians
    would miss."""
    fast = [bench.timings(Sample(i, 0.0, worker=0), 0.0, [0.010], 0.020, tokens=1) for i in range(9)]
    slow = [bench.timings(Sample(i, 0.0, worker=1), 0.0, [0.500], 0.600, tokens=1) for i in range(3)]
    merged = bench_stats.summarize(fast + slow, 1.0)
    assert merged["ttft_ms"]["median"] == 10.0
    averaged = (bench_stats.stats([s.ttft_ms for s in fast])["median"]
                + bench_stats.stats([s.ttft_ms for s in slow])["median"]) / 2
    assert averaged == 255.0 != merged["ttft_ms"]["median"]


def test_the_plan_is_split_evenly_between_workers():
    shares = bench_workers.split_plan(Plan(requests=10, concurrency=5, warmup=3, rate=None, seed=4), 3)
    assert [p.requests for p in shares] == [4, 3, 3] and [p.concurrency for p in shares] == [2, 2, 1]
    assert [p.warmup for p in shares] == [1, 1, 1] and len({p.seed for p in shares}) == 3
    open_loop = bench_workers.split_plan(Plan(requests=None, duration=5, rate=9.0, warmup=0), 3)
    assert [p.rate for p in open_loop] == [3.0, 3.0, 3.0] and all(p.duration == 5 for p in open_loop)
    assert all(p.warmup == 0 for p in open_loop)


def test_processes_auto_and_caps():
    plan = Plan(requests=100, concurrency=3)
    assert bench_workers.processes_for("8", plan) == 3  # never more workers than requests in flight
    assert bench_workers.processes_for("auto", plan) == min(3, len(os.sched_getaffinity(0)))
    assert bench_workers.processes_for(None, plan) == 1
    assert bench_workers.processes_for("4", Plan(requests=2, concurrency=8)) == 2
    with pytest.raises(ValueError, match="--processes"):
        bench_workers.processes_for("many", plan)


def test_bad_processes_value_is_a_usage_error(config):
    result = aimux("bench", "provider", "-p", "local", "--processes", "zero", env=config)
    assert result.returncode == 2 and b"--processes" in result.stderr and result.stderr.count(b"\n") == 1


def test_a_failed_warmup_in_a_worker_stops_every_worker(provider_server, config):
    provider_server.route(ROUTE, Reply.json({"error": {"type": "x", "message": f"wrong key {KEY}"}}, 401))
    result = aimux("bench", "provider", "-p", "local", "-n", "8", "-c", "4", "--processes", "2", "-f", "json",
                   env=config)
    assert result.returncode == 5 and result.stdout == b""
    assert b"warm-up request failed" in result.stderr and KEY.encode() not in result.stderr
    assert result.stderr.count(b"\n") == 1


def test_open_loop_across_processes_notes_start_lateness(provider_server, config):
    provider_server.route(ROUTE, scheduled())
    report = report_of(aimux("bench", "provider", "-p", "local", "-n", "12", "--rate", "200", "--seed", "3",
                             "--warmup", "0", "--processes", "2", "-f", "json", env=config))
    assert report["summary"]["completed"] == 12
    assert all(r["late_ms"] is not None and r["late_ms"] >= 0 for r in report["requests"])


# --- the loop and the client's own load ---

def test_the_report_names_the_loop_and_the_clients_cpu(provider_server, config):
    pytest.importorskip("uvloop")
    provider_server.route(ROUTE, scheduled())
    for loop in ("uvloop", "asyncio"):
        report = report_of(aimux("bench", "provider", "-p", "local", "-n", "3", "--loop", loop, "-f", "json",
                                 env=config))
        client = report["meta"]["client"]
        assert report["meta"]["loop"] == client["loop"] == loop
        worker = client["workers"][0]
        assert worker["cpu_s"] >= 0 and worker["cpu_pct"] is not None and worker["pid"] > 0
        assert set(worker["lag_ms"]) == set(bench_stats.STAT_KEYS)


def test_a_busy_or_late_client_is_called_the_bottleneck():
    calm = bench_workers.client_report([{"pid": 1, "cpu_s": 0.2, "cpu_pct": 20.0,
                                         "lag_ms": [0.1] * 30}], "uvloop")
    assert calm["bottleneck"] is False and calm["bottleneck_reason"] is None
    busy = bench_workers.client_report([{"pid": 1, "cpu_s": 0.9, "cpu_pct": 93.0, "lag_ms": []},
                                        {"pid": 2, "cpu_s": 0.1, "cpu_pct": 10.0, "lag_ms": []}], "asyncio")
    assert busy["bottleneck"] and "process 0 used 93% of a CPU" in busy["bottleneck_reason"]
    growing = [0.1 + i * 0.1 for i in range(30)]  # lag creeping up to 3 ms: falling behind
    late = bench_workers.client_report([{"pid": 1, "cpu_s": 0.5, "cpu_pct": 50.0, "lag_ms": growing}], "asyncio")
    assert late["bottleneck"] and "fell behind" in late["bottleneck_reason"]
    assert late["workers"][0]["lag_growth_ms"] == pytest.approx(2.0)


def test_the_rich_view_says_when_the_client_is_the_bottleneck():
    from aimux_cli.bench_view import provider_view

    report = {"meta": {"provider": "p", "model": "m", "rate": None, "concurrency": 1,
                       "client": bench_workers.client_report([{"pid": 1, "cpu_pct": 95.0, "lag_ms": []}], "asyncio")},
              "summary": bench_stats.summarize([bench.timings(Sample(0, 0.0), 0.0, [0.01, 0.02], 0.03, 2)], 1.0),
              "requests": []}
    text = " ".join(str(getattr(v, "plain", v)) for v in provider_view(report))
    assert "warning: the client used 95% of a CPU" in text and "client: 1 process, asyncio loop" in text


def test_uvloop_is_used_when_installed_and_asyncio_otherwise(monkeypatch):
    import asyncio

    pytest.importorskip("uvloop")

    async def which() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert bench_workers.run_async(which, "auto") == ("uvloop", "uvloop")
    module, name = bench_workers.run_async(which, "asyncio")
    assert name == "asyncio" and module.startswith("asyncio")
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as if not installed: a silent fallback
    assert bench_workers.loop_factory("auto") == (None, "asyncio")
    with pytest.raises(ImportError):
        bench_workers.loop_factory("uvloop")


# --- what the field measures ---

def test_ttft_counts_the_connect_time_which_is_reported_apart(provider_server, config):
    provider_server.route(ROUTE, scheduled(first=0.03))
    report = report_of(aimux("bench", "provider", "-p", "local", "-n", "6", "-c", "3", "--warmup", "0",
                             "-f", "json", env=config))
    requests, summary = report["requests"], report["summary"]
    opened = [r for r in requests if r["connect_ms"] is not None]
    assert len(opened) == 3 == summary["connections_opened"]  # one per connection; the others reused one
    assert all(r["connect_ms"] > 0 for r in opened)
    for r in opened:  # the clock starts before the connection: TTFT holds the connect time and the server's 30 ms
        assert r["ttft_ms"] > r["connect_ms"] and r["ttft_ms"] >= 30
    assert summary["connect_ms"]["median"] is not None
    assert "before a connection" in report["meta"]["definitions"]["ttft"]
    assert "first chunk that carries answer or reasoning text" in report["meta"]["definitions"]["ttft"]


def test_first_wave_against_the_rest_and_figures_over_time():
    # a cold first wave: 4 starts at 0 with a TTFT of 100 ms, then 8 with 50 ms
    samples = [bench.timings(Sample(i, 0.0), 0.0, [0.100, 0.110], 0.120, tokens=2) for i in range(4)]
    samples += [bench.timings(Sample(4 + i, 150.0 + 100 * i), 0.0, [0.050, 0.060], 0.070, tokens=2)
                for i in range(8)]
    s = bench_stats.summarize(samples, 1.0, first_wave=4)
    assert s["first_wave"]["requests"] == 4
    assert s["first_wave"]["ttft_ms"]["median"] == 100.0 and s["first_wave"]["rest_ttft_ms"]["median"] == 50.0
    over = s["over_time"]
    assert over["bucket_s"] == 0.1 and len(over["buckets"]) == 10
    assert sum(b["completed"] for b in over["buckets"]) == 12 == sum(b["started"] for b in over["buckets"])
    assert over["buckets"][1]["ttft_ms"]["median"] == 100.0  # the first wave ended in the second bucket
    assert sum(b["output_tokens_per_s"] * over["bucket_s"] for b in over["buckets"]) == pytest.approx(24)
    assert bench_stats.bucket_width(600) == 10.0 and bench_stats.bucket_width(3) == 0.1


def test_output_tokens_say_where_they_came_from(provider_server, config):
    provider_server.route(ROUTE, scheduled())
    summary = report_of(aimux("bench", "provider", "-p", "local", "-n", "2", "-f", "json", env=config))["summary"]
    assert summary["output_tokens_from"] == "usage"
    estimated = [Sample(0, 0.0, output_tokens=3, tokens_estimated=True), Sample(1, 0.0, output_tokens=3)]
    assert bench_stats.summarize(estimated, 1.0)["output_tokens_from"] == "mixed"


# --- goodput ---

def test_goodput_counts_requests_meeting_every_objective():
    def sample(i: int, ttft: float, e2e: float, tokens: int) -> Sample:
        return bench.timings(Sample(i, 0.0), 0.0, [ttft / 1000], e2e / 1000, tokens)

    samples = [sample(0, 100, 1000, 10),  # TPOT 100 ms: too slow for tpot:50
               sample(1, 100, 500, 11),  # TPOT 40 ms: good
               sample(2, 600, 700, 3),  # TTFT over 500
               sample(3, 100, 150, 1),  # one token, no TPOT: meets it (vLLM)
               Sample(4, 0.0, status="network")]
    slos = bench_stats.parse_slos(["ttft:500 tpot:50", "e2e:10000"])
    assert slos == {"ttft_ms": 500.0, "tpot_ms": 50.0, "e2e_ms": 10000.0}
    good = bench_stats.summarize(samples, 2.0, slos=slos)["goodput"]
    assert good == {"slo_ms": {"ttft": 500.0, "tpot": 50.0, "e2e": 10000.0}, "good": 2, "requests_per_s": 1.0,
                    "good_pct": 40.0}
    assert bench_stats.parse_slos(["e2el:5,ttft:1"]) == {"e2e_ms": 5.0, "ttft_ms": 1.0}


@pytest.mark.parametrize("bad", ["ttft", "speed:5", "ttft:fast", "ttft:-1", "ttft:0"])
def test_a_bad_objective_is_a_usage_error(bad, config):
    with pytest.raises(ValueError):
        bench_stats.parse_slos([bad])
    result = aimux("bench", "provider", "-p", "local", "--goodput", bad, env=config)
    assert result.returncode == 2 and b"--goodput" in result.stderr and result.stderr.count(b"\n") == 1


def test_goodput_in_the_cli_report(provider_server, config):
    provider_server.route(ROUTE, scheduled(first=0.02))
    report = report_of(aimux("bench", "provider", "-p", "local", "-n", "4", "--goodput", "ttft:1", "-f", "json",
                             env=config))
    assert report["summary"]["goodput"]["good"] == 0  # nothing answers within 1 ms when the server waits 20
    rich = aimux("bench", "provider", "-p", "local", "-n", "2", "--goodput", "ttft:60000", "-f", "rich", env=config)
    assert b"goodput" in rich.stdout and b"ttft \xe2\x89\xa4 60000 ms" in rich.stdout


# --- request sets ---

def test_a_jsonl_dataset_is_sent_in_turn(provider_server, config, tmp_path):
    provider_server.route(ROUTE, scheduled())
    data = tmp_path / "prompts.jsonl"
    data.write_text('"first prompt"\n{"prompt": "second prompt", "max_tokens": 7}\n\n{"text": "third prompt"}\n'
                    '{"other": 1}\n')
    report = report_of(aimux("bench", "provider", "-p", "local", "-n", "4", "--warmup", "0", "--dataset",
                             str(data), "-f", "json", env=config))
    sent = [r.json() for r in provider_server.requests]
    assert [b["messages"][-1]["content"] for b in sent] == ["first prompt", "second prompt", "third prompt",
                                                             "first prompt"]
    assert [b["max_tokens"] for b in sent][:2] == [256, 7]  # an entry's own length, else the default
    assert report["meta"]["prompts"]["kind"] == "dataset" and report["meta"]["prompts"]["count"] == 3


def test_a_sharegpt_file_gives_the_first_human_turn_and_its_replys_length():
    prompts = bench_inputs.load_dataset(str(DATA / "sharegpt-sample.json"))
    assert prompts[0] == bench_inputs.Prompt("What is the capital of France?",
                                             bench_inputs.approx_tokens("The capital of France is Paris."))
    assert prompts[1].text == "Write a haiku about rain." and prompts[1].max_tokens is None  # no reply
    assert len(prompts) == 2  # the entry without a human turn is skipped
    assert bench_inputs.load_dataset(str(DATA / "sharegpt-sample.json"), limit=1) == prompts[:1]


def test_a_dataset_that_is_not_one_is_an_input_error(config, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('"ok"\n{not json\n')
    result = aimux("bench", "provider", "-p", "local", "--dataset", str(bad), env=config)
    assert result.returncode == 4 and b"line 2 is not JSON" in result.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"x": 1}\n')
    result = aimux("bench", "provider", "-p", "local", "--dataset", str(empty), env=config)
    assert result.returncode == 4 and b"no prompts found" in result.stderr
    both = aimux("bench", "provider", "-p", "local", "--dataset", str(bad), "--prompt", "x", env=config)
    assert both.returncode == 2 and b"--prompt or --dataset" in both.stderr


def test_synthetic_prompts_have_about_the_asked_length_and_differ():
    prompts = bench_inputs.synthetic(50, 200, 0, seed=1)
    assert len({p.text for p in prompts}) == 50
    assert all(bench_inputs.approx_tokens(p.text) == 200 for p in prompts)
    spread = [bench_inputs.approx_tokens(p.text) for p in bench_inputs.synthetic(400, 100, 20, seed=2)]
    mean = sum(spread) / len(spread)
    sd = (sum((x - mean) ** 2 for x in spread) / len(spread)) ** 0.5
    assert abs(mean - 100) < 4 and 15 < sd < 25
    assert bench_inputs.synthetic(3, 50, 5, seed=9) == bench_inputs.synthetic(3, 50, 5, seed=9)
    assert bench_inputs.parse_length("128:16") == (128, 16)


def test_input_tokens_and_ignore_eos_on_the_wire(provider_server, config):
    provider_server.route(ROUTE, scheduled())
    report = report_of(aimux("bench", "provider", "-p", "local", "-n", "3", "--warmup", "0", "--input-tokens",
                             "64", "--max-tokens", "32", "--ignore-eos", "-f", "json", env=config))
    sent = [r.json() for r in provider_server.requests]
    assert all(b["ignore_eos"] is True and b["min_tokens"] == 32 == b["max_tokens"] for b in sent)
    texts = [b["messages"][-1]["content"] for b in sent]
    assert len(set(texts)) == 3 and all(len(t) == 256 for t in texts)  # 64 tokens x 4 characters
    assert report["meta"]["prompts"]["input_tokens_approx"]["median"] == 64
    assert report["meta"]["ignore_eos"] is True


def test_ignore_eos_on_a_wire_without_it_is_a_usage_error(config):
    result = aimux("bench", "provider", "-p", "claude", "--ignore-eos", env=config)
    assert result.returncode == 2 and b"anthropic.messages" in result.stderr


# --- several providers in one run ---

def test_several_providers_make_one_report_and_one_comparison(provider_server, config, tmp_path):
    provider_server.route(ROUTE, scheduled(first=0.01))
    provider_server.route("/other/v1/chat/completions", scheduled(first=0.05))
    saved = tmp_path / "both.json"
    report = report_of(aimux("bench", "provider", "-p", "local", "-p", "other", "-n", "3", "-f", "json",
                             "-o", str(saved), env=config))
    assert report["meta"]["providers"] == ["local", "other"]
    assert [r["meta"]["provider"] for r in report["runs"]] == ["local", "other"]
    assert [r["summary"]["completed"] for r in report["runs"]] == [3, 3]
    local, other = (r["summary"]["ttft_ms"]["median"] for r in report["runs"])
    assert other - local >= 30  # each provider measured on its own
    assert json.loads(saved.read_text()) == report
    rich = aimux("bench", "provider", "-p", "local", "-p", "other", "-n", "2", "-f", "rich", env=config)
    out = rich.stdout.decode()
    assert rich.returncode == 0 and "comparison" in out and "bench-model" in out and "other-model" in out
    commas = report_of(aimux("bench", "provider", "-p", "local,other", "-n", "1", "-f", "json", env=config))
    assert commas["meta"]["providers"] == ["local", "other"]  # as ask takes -p a,b
    twice = aimux("bench", "provider", "-p", "local", "-p", "local", env=config)
    assert twice.returncode == 2 and b"named twice" in twice.stderr


def test_exit_code_when_no_provider_completed_anything(provider_server, config):
    provider_server.route(ROUTE, Reply.json({"error": {"message": "no"}}, 401))
    provider_server.route("/other/v1/chat/completions", Reply.json({"error": {"message": "no"}}, 401))
    result = aimux("bench", "provider", "-p", "local", "-p", "other", "-n", "1", "--warmup", "0", "-f", "json",
                   env=config)
    assert result.returncode == 5 and len(json.loads(result.stdout)["runs"]) == 2


# --- bench prettify: spread ---

def test_bench_prettify_reports_median_and_p90_over_repeats():
    result = aimux("bench", "prettify", "--min-time", "0.02", "--repeats", "4", "-f", "json",
                   "fixtures/openai/chat-text.json", "fixtures/gemini/wire-grounding.json")
    report = report_of(result)
    assert report["meta"]["repeats"] == 4
    for row in report["results"]:
        assert row["repeats"] == 4 and row["runs"] >= 4 * 5
        assert 0 < row["min_us"] <= row["median_us"] <= row["p90_us"] <= row["max_us"]
    rich = aimux("bench", "prettify", "--min-time", "0.01", "--repeats", "2", "-f", "rich",
                 "fixtures/openai/chat-text.json")
    assert b"p90" in rich.stdout


def test_html_report_of_one_and_of_several_providers(provider_server, config, tmp_path):
    provider_server.route(ROUTE, scheduled())
    provider_server.route("/other/v1/chat/completions", scheduled())
    one, both = tmp_path / "one.html", tmp_path / "both.html"
    report_of(aimux("bench", "provider", "-p", "local", "-n", "2", "--html", str(one), "-f", "json", env=config))
    report_of(aimux("bench", "provider", "-p", "local", "-p", "other", "-n", "2", "--html", str(both), "-f", "json",
                    env=config))
    for page in (one, both):
        text = page.read_text()
        assert text.lstrip().lower().startswith("<!doctype html") and "<svg" in text and KEY not in text
    assert "other-model" in both.read_text()


def test_ctrl_c_stops_every_worker_and_prints_what_finished(provider_server, config):
    """SIGINT to the parent alone (as `kill -INT` sends it): the workers, which ignore SIGINT, stop through the
    parent; the report covers what had finished in both, then exit 130."""
    import signal
    import time

    provider_server.route(ROUTE, scheduled(first=0.02, gap=0.005))
    proc = subprocess.Popen([sys.executable, "-m", "aimux_cli", "bench", "provider", "-p", "local", "-n", "2000",
                             "-c", "4", "--processes", "2", "-f", "json"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, **config})
    try:
        while provider_server.count(ROUTE) < 12:  # warmed up, several measured, more in flight
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    report = json.loads(out)
    assert report["meta"]["interrupted"] is True and report["meta"]["processes"] == 2
    assert 1 <= report["summary"]["completed"] < 2000 and report["summary"]["failed"] == 0
    assert err.decode().count("\n") == 1 and "interrupted" in err.decode()


def test_scheduled_starts_falling_behind_make_the_client_the_bottleneck():
    behind = [0.05 * i for i in range(60)]  # each start later than the last: up to 3 ms
    report = bench_workers.client_report([{"pid": 1, "cpu_pct": 90.0, "lag_ms": [], "start_late_ms": behind}],
                                         "asyncio")
    assert "scheduled starts fell further behind" in report["bottleneck_reason"]
    assert report["workers"][0]["start_late_ms"]["max"] == pytest.approx(2.95)


def test_a_dataset_is_read_in_pieces_and_only_as_far_as_needed(monkeypatch, tmp_path):
    monkeypatch.setattr(bench_inputs, "PIECE", 7)  # every entry spans several reads
    array = tmp_path / "big.json"
    array.write_text(json.dumps([{"conversations": [{"from": "human", "value": f"question {i} [x]"},
                                                    {"from": "gpt", "value": "an answer"}]} for i in range(50)]))
    got = bench_inputs.load_dataset(str(array), limit=3)
    assert [p.text for p in got] == ["question 0 [x]", "question 1 [x]", "question 2 [x]"]
    assert all(p.max_tokens == bench_inputs.approx_tokens("an answer") for p in got)
    assert len(bench_inputs.load_dataset(str(array))) == 50
    lines = tmp_path / "lines.jsonl"
    lines.write_text("".join(json.dumps({"prompt": f"p{i} ünï"}) + "\n" for i in range(20)) + '"last, no newline"')
    got = bench_inputs.load_dataset(str(lines))
    assert len(got) == 21 and got[5].text == "p5 ünï" and got[-1].text == "last, no newline"


def test_more_processes_than_requests_in_flight_is_said_once(provider_server, config):
    provider_server.route(ROUTE, scheduled())
    result = aimux("bench", "provider", "-p", "local", "-n", "2", "-c", "1", "--processes", "4", "-f", "json",
                   env=config)
    assert result.returncode == 0 and json.loads(result.stdout)["meta"]["processes"] == 1
    assert result.stderr.decode() == ("aimux: warning: --processes 4: 1 used, as no more requests than that are in "
                                      "flight or asked\n")
