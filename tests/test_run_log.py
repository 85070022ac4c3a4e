"""`test-providers --log` and `bench provider --log [--log-bodies]` (issue 12): their exchanges in the log.

test-providers runs as a real process against the loopback provider server (tests/test_test_providers.py's
helpers); bench runs in process (tests/test_bench.py's helpers) and writes through health_log as run_provider does.
Every test greps the database files (the main file and its WAL) for the test keys in all their printed forms.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from aimux_cli import bench, health_log, logdb
from aimux_cli.bench import Plan
from aimux_cli.bench_request import LOG_BODIES, LOG_ROWS
from aimux_cli.errors import ExitCode, UsageError
from aimux_cli.request import build
from provider_server import Reply
from secret_forms import leaks
from test_bench import KEY as BENCH_KEY, ROUTE, STREAM, resolved_for, scheduled
from test_test_providers import KEY, keys_for, paths, serve, write_config
from pty_support import read_terminal

ROOT = Path(__file__).resolve().parents[1]


def db_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def rows(path: Path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM exchanges ORDER BY id").fetchall()
    finally:
        conn.close()


def test_providers(tmp_path: Path, config: Path, db: Path, *args: str, keys=("OPENAI_API_KEY",)):
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "AIMUX_CONFIG": str(config),
           "AIMUX_LOG_DB": str(db), "NO_COLOR": "1", "PYTHONIOENCODING": "utf-8",
           "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1", **{k: KEY for k in keys}}
    proc = subprocess.run([sys.executable, "-m", "aimux_cli", "test-providers", "-f", "json", *args],
                          capture_output=True, cwd=ROOT, env=env, timeout=120)
    assert not leaks(proc.stdout + proc.stderr, KEY)
    return proc


test_providers.__test__ = False  # a helper, whatever its name says


# --- test-providers --log ----------------------------------------------------------------------------------------


def test_test_providers_log_records_each_step_without_secrets(tmp_path, provider_server):
    echo = {"error": {"type": "invalid_request_error", "code": "invalid_api_key",
                      "message": f"Incorrect API key provided: {KEY}."}}  # providers echo keys back
    serve(provider_server, "openai")
    serve(provider_server, "anthropic", models=Reply.json(echo, status=401))
    config = write_config(tmp_path, provider_server, ["openai", "anthropic"])
    db = tmp_path / "logs.db"
    proc = test_providers(tmp_path, config, db, "--log", keys=keys_for("openai", "anthropic"))
    assert proc.returncode == ExitCode.CHECK_FAILED and proc.stderr == b""
    got = rows(db)
    assert [(r["command"], r["provider"], r["status"], r["exit_code"]) for r in got] == [
        ("test-providers", "anthropic", 401, ExitCode.AUTH),  # the failed step; the skipped ones sent nothing
        ("test-providers", "openai", 200, 0), ("test-providers", "openai", 200, 0),
        ("test-providers", "openai", 200, 0)]
    models, complete, stream = got[1:]
    assert models["url"] == provider_server.url + paths("openai")[0] and models["prompt"] is None
    assert complete["wire"] == "openai.chat" and '"stream":false' in complete["request_body"].replace(" ", "")
    assert complete["document"] and complete["answer"] and stream["document"] and stream["answer"]
    assert b"data:" in logdb.decompress(stream["response_raw"])  # the stream as received
    assert all(r["total_s"] is not None and r["total_s"] >= 0 for r in got)
    assert b"Incorrect API key provided" in logdb.decompress(got[0]["response_raw"])
    assert not leaks(db_bytes(db), KEY)


def test_test_providers_log_keeps_the_prompt_each_check_sent(tmp_path, provider_server):
    """The capability checks ask their own questions: the log named the plain check's prompt for all of them."""
    from aimux_cli.health import PROMPT
    from aimux_cli.health_capabilities import SCHEMA_PROMPT, TOOL_PROMPT

    serve(provider_server, "openai")
    config = write_config(tmp_path, provider_server, ["openai"])
    db = tmp_path / "logs.db"
    test_providers(tmp_path, config, db, "--log", "--checks", "complete,tools,schema", keys=keys_for("openai"))
    got = rows(db)
    assert [r["prompt"] for r in got] == [PROMPT, TOOL_PROMPT, SCHEMA_PROMPT]
    assert [TOOL_PROMPT in r["request_body"] for r in got] == [False, True, False]


def test_test_providers_logs_nothing_without_log(tmp_path, provider_server):
    serve(provider_server, "openai")
    config = write_config(tmp_path, provider_server, ["openai"])
    db = tmp_path / "logs.db"
    assert test_providers(tmp_path, config, db).returncode == 0
    assert not db.exists()


@pytest.mark.parametrize("broken", ["corrupt", "not a directory"])
def test_a_broken_log_is_one_warning_and_the_normal_exit_code(tmp_path, provider_server, broken):
    serve(provider_server, "openai")
    config = write_config(tmp_path, provider_server, ["openai"])
    if broken == "corrupt":
        db = tmp_path / "logs.db"
        db.write_bytes(b"this is not an SQLite database" * 100)
    else:
        (tmp_path / "file").write_text("x")
        db = tmp_path / "file" / "logs.db"  # its parent is a file: the log cannot be created
    proc = test_providers(tmp_path, config, db, "--log")
    assert proc.returncode == 0
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1 and "not logged" in lines[0], lines
    assert all(p["status"] == "pass" for p in __import__("json").loads(proc.stdout)["providers"])


# --- bench provider --log ------------------------------------------------------------------------------------------


def run_logged(server, requests: int, log: int) -> tuple[bench.Run, Path]:
    resolved = resolved_for(server)
    prepared = build(resolved, prompt="hello", max_tokens=64, stream=True)
    result = asyncio.run(bench.run(prepared, resolved.wire, Plan(requests=requests, concurrency=2, warmup=1),
                                   timeout=resolved.timeout, log=log))
    assert health_log.record_bench(result.samples, prepared, resolved.wire, resolved.model, "hello") == requests
    return result, logdb.db_path()


@pytest.mark.parametrize("log", [LOG_ROWS, LOG_BODIES])
def test_bench_log_writes_one_row_per_measured_request(provider_server, log):
    provider_server.route(ROUTE, scheduled(first=0.0, gap=0.0))
    result, db = run_logged(provider_server, 5, log)
    got = rows(db)
    assert len(got) == 5 and provider_server.count(ROUTE) == 6  # the warm-up request is not logged
    for row in got:
        assert (row["command"], row["provider"], row["model"], row["status"], row["exit_code"]) == (
            "bench", "local", "bench-model", 200, 0)
        assert row["ttft_s"] > 0 and row["total_s"] >= row["ttft_s"] and row["document"] and row["answer"]
        assert row["request_headers"] and "authorization" not in row["request_headers"].lower()
        if log == LOG_BODIES:
            assert logdb.decompress(row["response_raw"]) == STREAM.read_bytes()
        else:
            assert row["response_raw"] is None
    assert sorted(r["ttft_s"] for r in got) == sorted(round(s.ttft_ms / 1000, 6) for s in result.samples)
    assert not leaks(db_bytes(db), BENCH_KEY)


def test_bench_log_records_failures_with_their_exit_codes(provider_server):
    err = {"error": {"message": f"bad key {BENCH_KEY}", "type": "invalid_request_error", "code": "invalid_api_key"}}
    provider_server.route(ROUTE, scheduled(first=0.0, gap=0.0), Reply.json(err, 401),
                          Reply.json({"error": {"message": "boom", "type": "server_error"}}, 500))
    resolved = resolved_for(provider_server)
    prepared = build(resolved, prompt="hello", max_tokens=64, stream=True)
    result = asyncio.run(bench.run(prepared, resolved.wire, Plan(requests=2, concurrency=1, warmup=1),
                                   timeout=resolved.timeout, log=LOG_BODIES))
    health_log.record_bench(result.samples, prepared, resolved.wire, resolved.model, "hello")
    got = rows(logdb.db_path())
    assert [(r["status"], r["exit_code"]) for r in got] == [(401, ExitCode.AUTH), (500, ExitCode.PROVIDER)]
    assert b"bad key" in logdb.decompress(got[0]["response_raw"])
    assert not leaks(db_bytes(logdb.db_path()), BENCH_KEY)


def test_log_bodies_needs_log():
    from aimux_cli.commands.bench import ProviderOptions, run_provider

    with pytest.raises(UsageError, match="--log-bodies needs --log"):
        run_provider(ProviderOptions(provider="openai", log_bodies=True))


def test_on_a_terminal_the_live_table_logs_too_and_a_warning_gets_its_own_line(tmp_path, provider_server):
    import pty

    import pyte

    serve(provider_server, "openai")
    config = write_config(tmp_path, provider_server, ["openai"])
    (tmp_path / "file").write_text("x")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "AIMUX_CONFIG": str(config),
           "AIMUX_LOG_DB": str(tmp_path / "file" / "logs.db"), "COLUMNS": "120", "LINES": "40",
           "TERM": "xterm-256color", "PYTHONIOENCODING": "utf-8", "HTTPS_PROXY": "http://127.0.0.1:9",
           "NO_PROXY": "127.0.0.1", "OPENAI_API_KEY": KEY}
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "aimux_cli", "test-providers", "--log"],
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, cwd=ROOT, env=env)
    os.close(slave)
    received = read_terminal(master, 60)
    assert proc.wait(timeout=60) == 0, received.decode(errors="replace")
    assert not leaks(received, KEY)
    screen = pyte.Screen(120, 40)
    pyte.Stream(screen).feed(received.decode().replace("\n", "\r\n"))
    lines = [line.rstrip() for line in screen.display if line.strip()]
    warnings = [line for line in lines if "not logged" in line]
    assert len(warnings) == 1 and "checking" not in warnings[0] and lines[-1] == "1 passed, 0 failed, 0 skipped"
