"""`aimux bench locust` (aimux_cli/commands/bench_locust.py) and its locustfile (aimux_cli/bench_locust.py): headless
on one machine, and a master with two workers on 127.0.0.1, against the loopback provider server.

Runs are bounded in time (--run-time) and in requests (--requests-per-user); the checks are on what was measured:
the merged report holds every worker's requests (its count equals the sum of the counts the workers print, and the
number of requests the server saw), with bench's timings (the server sends a chunk every 5 ms: the median ITL is
near that). Skips when Locust is not installed (the `distributed` extra).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from provider_server import Reply, split_body

# Looked up, not imported: importing locust monkey-patches the standard library with gevent (subprocess, os, signal,
# select) for the whole pytest process, and other tests then failed (pipes non-blocking, Ctrl-C handling, exec errors).
# Locust runs only in the subprocesses these tests start.
if importlib.util.find_spec("locust") is None:
    pytest.skip("Locust is not installed (pip install 'aimux[distributed]')", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-locust-secret-0123456789"
ROUTE = "/v1/chat/completions"
GAP = 0.005


def stream_reply() -> Reply:
    events = split_body((ROOT / "tests" / "data" / "bench" / "openai-21-chunks.sse").read_bytes(), ".sse")
    return Reply(200, {"content-type": "text/event-stream"}, [(GAP, e) for e in events])


@pytest.fixture
def locust_env(provider_server, tmp_path):
    provider_server.route(ROUTE, stream_reply(), headers={"authorization": f"Bearer {KEY}"})
    config = tmp_path / "config.toml"
    config.write_text(f'[providers.local]\nwire = "openai.chat"\nbase_url = "{provider_server.url}/v1"\n'
                      f'api_key_env = "LOCAL_LOCUST_KEY"\nmodel = "locust-model"\n')
    return {**os.environ, "AIMUX_CONFIG": str(config), "LOCAL_LOCUST_KEY": KEY, "NO_COLOR": "1"}


def aimux(*args: str, env: dict) -> list[str]:
    return [sys.executable, "-m", "aimux_cli", "bench", "locust", *args]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_headless_run_writes_bench_providers_report(provider_server, locust_env, tmp_path):
    out, page = tmp_path / "run.json", tmp_path / "run.html"
    done = subprocess.run(aimux("-p", "local", "-u", "3", "-n", "4", "-t", "3s", "-f", "json", "-o", str(out),
                                "--html", str(page), env=locust_env),
                          env=locust_env, cwd=ROOT, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report == json.loads(out.read_text())
    assert set(report) == {"meta", "summary", "requests"}
    assert report["meta"]["engine"] == "locust" and report["meta"]["locust"]["mode"] == "local"
    assert report["meta"]["provider"] == "local" and report["meta"]["model"] == "locust-model"
    summary = report["summary"]
    assert summary["completed"] == 12 == len(report["requests"]) == provider_server.count(ROUTE)
    assert summary["output_tokens_from"] == "usage" and summary["output_tokens"] == 12 * 21
    assert abs(summary["itl_ms"]["median"] - GAP * 1000) < 3  # bench's timings: chunks 5 ms apart
    assert [r["index"] for r in report["requests"]] == list(range(12))
    starts = [r["start_ms"] for r in report["requests"]]
    assert starts == sorted(starts) and starts[0] == 0
    assert KEY not in done.stdout.decode() and KEY not in done.stderr.decode()
    assert "local · locust-model" in page.read_text() and KEY not in page.read_text()


def test_a_master_and_two_workers_merge_every_sample(provider_server, locust_env, tmp_path):
    port = str(free_port())
    out = tmp_path / "merged.json"
    master = subprocess.Popen(aimux("-p", "local", "--master", "--expect-workers", "2", "--master-port", port,
                                    "-u", "4", "-n", "3", "-t", "4s", "-f", "json", "-o", str(out), env=locust_env),
                              env=locust_env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    workers = [subprocess.Popen(aimux("-p", "local", "--worker", "--master-port", port, env=locust_env),
                                env=locust_env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for _ in range(2)]
    try:
        stdout, stderr = master.communicate(timeout=300)
        worker_err = [w.communicate(timeout=120)[1].decode() for w in workers]
    finally:
        for proc in [master, *workers]:
            if proc.poll() is None:
                proc.kill()
    assert master.returncode == 0, stderr
    assert all(w.returncode == 0 for w in workers), worker_err
    counts = [int(m) for err in worker_err for m in re.findall(r"aimux: locust worker \d+: (\d+) requests measured",
                                                                err)]
    assert len(counts) == 2 and all(counts)  # each worker measured, and said how many
    report = json.loads(stdout)
    assert report["meta"]["locust"]["mode"] == "master"
    assert sorted(w["requests"] for w in report["meta"]["locust"]["workers"]) == sorted(counts)
    assert len(report["requests"]) == report["summary"]["completed"] == sum(counts) == 12
    assert provider_server.count(ROUTE) == 12
    assert {r["worker"] for r in report["requests"]} == {0, 1}
    assert abs(report["summary"]["itl_ms"]["median"] - GAP * 1000) < 3


def test_options_and_errors(locust_env):
    from aimux_cli.commands.bench_locust import LocustOptions, locust_args

    args = locust_args(LocustOptions(provider="local", users=8, run_time="1m", requests_per_user=5, master=True,
                                     expect_workers=3), "/tmp/r.json")
    assert args[1:4] == ["-m", "locust", "-f"] and args[4].endswith("aimux_cli/bench_locust.py")
    joined = " ".join(args)
    for part in ("--headless", "-u 8", "-r 8", "-t 1m", "--aimux-requests-per-user 5", "--master",
                 "--expect-workers 3", "--aimux-output /tmp/r.json", "--exit-code-on-error 0"):
        assert part in joined
    shown = subprocess.run([sys.executable, "-m", "aimux_cli", "bench", "--help"], env={**locust_env, "COLUMNS": "200"},
                           cwd=ROOT, capture_output=True, timeout=120).stdout.decode()
    assert "pip install 'aimux[distributed]'" in shown  # not eaten as Rich markup
    worker = " ".join(locust_args(LocustOptions(provider="local", worker=True, master_host="10.0.0.5"), None))
    assert "--worker --master-host 10.0.0.5" in worker and "--headless" not in worker
    for bad, says in ((["-p", "nope"], "nope"), (["-p", "local", "--master", "--worker"], "not both"), ([], "-p NAME")):
        done = subprocess.run(aimux(*bad, env=locust_env), env=locust_env, cwd=ROOT, capture_output=True, timeout=120)
        assert done.returncode in (2, 3) and says in done.stderr.decode(), done.stderr
        assert len(done.stderr.decode().strip().splitlines()) <= 2 and b"Traceback" not in done.stderr
