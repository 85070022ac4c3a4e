"""test-providers' repeated probes (issue 13): --repeat N [--interval S] with a flaky provider (pass rate 2/3), pass
rates and p50/p95/max per check, --min-pass-rate, one run in flight per provider, the live table on a terminal, and
--watch ended by SIGINT in a subprocess (summary, exit 0/10, the metrics file rewritten after each run)."""

from __future__ import annotations

import itertools
import os
import pty
import signal
import subprocess
import sys
import time

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from aimux_cli import health_repeat
from provider_server import Reply
from pty_support import read_terminal
from test_test_providers import DATA, KEY, ROOT, Run, aimux, paths, serve, write_config

UNAVAILABLE = Reply.json({"error": {"type": "server_error", "message": "overloaded"}}, status=503)


def flaky(server, every: int = 3) -> None:
    """openai whose model list fails every `every`-th time (the 2nd of each 3): the run fails at its first check."""
    counter = itertools.count(1)
    listing = Reply.file(DATA / "models-openai.json")
    serve(server, "openai", models=lambda seen: UNAVAILABLE if next(counter) % every == 2 else listing)


def checks(run: Run) -> dict[str, dict]:
    return {c["name"]: c for c in run.provider("openai")["checks"]}


def test_repeat_reports_pass_rates_and_latency_percentiles(tmp_path, provider_server):
    flaky(provider_server)
    config = write_config(tmp_path, provider_server, ["openai"])
    run = aimux(tmp_path, config, "-f", "json", "--repeat", "3")
    assert run.code == 10, run.stderr  # 2/3 is under the default minimum of 100%
    report = run.report()
    assert report["min_pass_rate"] == 100 and report["failed"] == 1
    assert run.provider("openai")["runs"] == 3
    models = checks(run)["models"]
    assert models["runs"]["count"] == 3 and models["runs"]["passed"] == 2 and models["runs"]["pass_rate"] == 0.6667
    assert models["status"] == "fail" and models["http_status"] == 503 and "overloaded" in models["error"]
    stats = models["runs"]["latency_ms"]
    assert 0 <= stats["p50"] <= stats["p95"] <= stats["max"]
    stream = checks(run)["stream"]
    assert stream["runs"]["passed"] == 2 and stream["status"] == "fail"  # skipped in the failed run
    assert stream["error"].startswith("not run: the models check failed (HTTP 503") and stream["category"] == "provider"
    assert provider_server.count(paths("openai")[0]) == 3


def test_min_pass_rate_decides_the_exit_code(tmp_path, provider_server):
    flaky(provider_server)
    config = write_config(tmp_path, provider_server, ["openai"])
    run = aimux(tmp_path, config, "-f", "json", "--repeat", "3", "--min-pass-rate", "60")
    assert run.code == 0, run.stdout
    assert all(c["status"] == "pass" for c in checks(run).values())
    assert checks(run)["models"]["error"]  # the last error is still told


def test_repeated_runs_keep_the_interval_and_one_run_in_flight(tmp_path, provider_server):
    interval = 0.5
    serve(provider_server, "openai")
    config = write_config(tmp_path, provider_server, ["openai"])
    run = aimux(tmp_path, config, "-f", "json", "--repeat", "3", "--interval", str(interval))
    assert run.code == 0, run.stderr
    models, _, chat = paths("openai")
    starts = [s.t for s in provider_server.requests if s.path == models]
    assert len(starts) == 3
    # a run starts `interval` after the previous one started; the first one's arrival also waited for its connection
    # (later runs reuse it), so the gap between arrivals may be that much shorter: a few ms on loopback, not 100
    assert all(b - a >= interval - 0.1 for a, b in zip(starts, starts[1:]))
    streams = [s.t for s in provider_server.requests if s.path == chat][1::2]  # each run's last request
    assert all(start > stream for start, stream in zip(starts[1:], streams))  # one run in flight at a time


def test_a_run_waits_for_the_previous_one_to_end_without_an_interval(tmp_path, provider_server):
    delay = 0.05  # before each of the stream's 16 events after the first: the stream lasts at least 15 delays
    serve(provider_server, "openai", stream=Reply.file("openai/chat-text-stream.sse", delay=delay))
    config = write_config(tmp_path, provider_server, ["openai"])
    run = aimux(tmp_path, config, "-f", "json", "--repeat", "2")
    assert run.code == 0, run.stderr
    models, _, chat = paths("openai")
    (_, second) = [s.t for s in provider_server.requests if s.path == models]
    first_stream = [s.t for s in provider_server.requests if s.path == chat][1]
    assert second - first_stream >= 15 * delay


def test_junit_and_openmetrics_of_repeated_runs(tmp_path, provider_server):
    flaky(provider_server)
    config = write_config(tmp_path, provider_server, ["openai"])
    prom = tmp_path / "a.prom"
    run = aimux(tmp_path, config, "-f", "junit", "--repeat", "3", "--metrics-file", str(prom))
    assert run.code == 10
    from junitparser import JUnitXml

    (suite,) = JUnitXml.fromstring(run.stdout.encode())
    failure = list(suite)[0].result[0]
    assert failure.message.startswith("pass rate 2/3 (66.7%); last error: HTTP 503")
    samples = {(s.name, s.labels.get("check")): s.value for f in text_string_to_metric_families(prom.read_text())
               for s in f.samples}
    assert samples[("aimux_check_pass_ratio", "models")] == pytest.approx(0.6667)
    assert samples[("aimux_provider_up", None)] == 0


def test_on_a_terminal_the_table_shows_runs_passed_and_percentiles(tmp_path, provider_server):
    import pyte

    flaky(provider_server)
    config = write_config(tmp_path, provider_server, ["openai"])
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "aimux_cli", "test-providers", "--repeat", "3"],
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, cwd=ROOT, env=_env(tmp_path, config))
    os.close(slave)
    received = read_terminal(master)
    assert proc.wait(timeout=60) == 10, received.decode(errors="replace")
    screen = pyte.Screen(160, 40)
    pyte.Stream(screen).feed(received.decode().replace("\n", "\r\n"))
    lines = [line.rstrip() for line in screen.display if line.strip()]
    row = next(line for line in lines if line.startswith("openai"))
    assert row.count("2/3") == 3 and "ms" in row
    assert lines[-1].startswith("0 passed, 1 failed, 0 skipped (3 runs")


def test_watch_runs_until_sigint_then_prints_the_summary(tmp_path, provider_server):
    flaky(provider_server)
    config = write_config(tmp_path, provider_server, ["openai"])
    prom = tmp_path / "watch.prom"
    proc = subprocess.Popen([sys.executable, "-m", "aimux_cli", "test-providers", "--watch", "--interval", "0.05",
                             "-f", "json", "--metrics-file", str(prom), "--min-pass-rate", "50"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                            env=_env(tmp_path, config))
    models = paths("openai")[0]
    while provider_server.count(models) < 4 and proc.poll() is None:
        time.sleep(0.02)
    assert prom.exists()  # written after each run, before the end
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    assert err == b""
    run = Run(0, out.decode(), "")
    runs = run.provider("openai")["runs"]
    assert runs >= 3
    passed = checks(run)["models"]["runs"]["passed"]
    assert passed == runs - runs // 3 - (1 if runs % 3 >= 2 else 0)  # every 2nd of 3 failed
    assert KEY.encode() not in out + prom.read_bytes()


def test_watch_exits_10_when_a_pass_rate_is_under_the_minimum(tmp_path, provider_server):
    flaky(provider_server)
    config = write_config(tmp_path, provider_server, ["openai"])
    proc = subprocess.Popen([sys.executable, "-m", "aimux_cli", "test-providers", "--watch", "-f", "json"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                            env=_env(tmp_path, config))
    while provider_server.count(paths("openai")[0]) < 3 and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 10, err.decode()
    assert Run(10, out.decode(), "").provider("openai")["status"] == "fail"


@pytest.mark.parametrize(("args", "says"), [
    (["--watch", "--repeat", "2"], "not both"),
    (["--min-pass-rate", "101"], "--min-pass-rate"),
    (["--repeat", "0"], "--repeat"),
])
def test_bad_repeat_options_are_usage_errors(tmp_path, args, says):
    run = aimux(tmp_path, tmp_path / "none.toml", *args)
    assert run.code == 2 and says in run.stderr


def test_percentiles_are_nearest_rank():
    assert health_repeat.percentile([], 50) is None
    assert health_repeat.percentile([10, 20, 30], 50) == 20
    assert health_repeat.percentile([10, 20, 30], 95) == 30
    assert health_repeat.percentile(list(range(1, 101)), 95) == 95


def _env(tmp_path, config) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "AIMUX_CONFIG": str(config),
            "COLUMNS": "160", "LINES": "40", "TERM": "xterm-256color", "PYTHONIOENCODING": "utf-8",
            "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1", "OPENAI_API_KEY": KEY,
            "AIMUX_LOG_DB": str(tmp_path / "log.db")}




def test_watch_on_a_terminal_ends_on_ctrl_c_with_the_table_and_summary(tmp_path, provider_server):
    import pyte

    flaky(provider_server)
    config = write_config(tmp_path, provider_server, ["openai"])
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "aimux_cli", "test-providers", "--watch", "--interval", "0.05"],
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, cwd=ROOT, env=_env(tmp_path, config),
                            start_new_session=True)
    os.close(slave)
    while provider_server.count(paths("openai")[0]) < 4 and proc.poll() is None:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)  # the terminal's Ctrl-C reaches the whole foreground group
    received = read_terminal(master)
    assert proc.wait(timeout=60) == 10, received.decode(errors="replace")
    assert b"Traceback" not in received and KEY.encode() not in received
    screen = pyte.Screen(160, 40)
    pyte.Stream(screen).feed(received.decode().replace("\n", "\r\n"))
    lines = [line.rstrip() for line in screen.display if line.strip()]
    assert lines[0].split()[:5] == ["provider", "┃", "model", "┃", "status"]
    row = next(line for line in lines if line.startswith("openai"))
    assert row.count("✗") >= 3 and "ms" in row
    assert lines[-1].startswith("0 passed, 1 failed, 0 skipped (")


def test_json_on_a_terminal_with_repeat_shows_a_run_counter_then_only_the_report(tmp_path, provider_server):
    import pyte

    serve(provider_server, "openai")
    config = write_config(tmp_path, provider_server, ["openai"])
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "aimux_cli", "test-providers", "--repeat", "3", "--interval",
                             "0.2", "-f", "json"], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, cwd=ROOT,
                            env=_env(tmp_path, config))
    os.close(slave)
    received = read_terminal(master)
    assert proc.wait(timeout=60) == 0, received.decode(errors="replace")
    assert b"checking 1 provider: " in received and b"runs done" in received
    screen = pyte.Screen(160, 200)
    pyte.Stream(screen).feed(received.decode().replace("\n", "\r\n"))
    lines = [line.rstrip() for line in screen.display if line.strip()]
    assert lines[0] == "{" and lines[-1] == "}"  # the counter left nothing behind
