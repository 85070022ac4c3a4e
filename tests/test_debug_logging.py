"""`--debug` on a command other than ask: the client's request and response lines on stderr, never a key.

cli.py installs the one stderr handler for the "aimux" loggers (with redact.LogFilter); test-providers' case is in
tests/test_test_providers.py, ask's in tests/test_ask.py and tests/test_faults.py. Here `bench provider`: its lean
transport (client_lean.py) logs nothing yet, so the run goes through a proxy, which makes bench use client_async.py's
AsyncSession (the proxy is the loopback server itself, answering the absolute-form request).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from provider_server import Reply

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-bench-debug-SECRET-0427"


def test_bench_provider_debug_shows_the_exchange_without_the_key(provider_server, tmp_path):
    provider_server.route("/v1/chat/completions", Reply.file("openai/chat-text-stream.sse"))
    config = tmp_path / "config.toml"
    config.write_text(f'[providers.openai]\nbase_url = "{provider_server.url}/v1"\n')
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "AIMUX_CONFIG": str(config),
           "OPENAI_API_KEY": KEY, "HTTP_PROXY": provider_server.url, "NO_PROXY": ""}
    proc = subprocess.run([sys.executable, "-m", "aimux_cli", "bench", "provider", "-p", "openai", "-n", "1",
                           "--warmup", "0", "-f", "json", "--debug"], capture_output=True, cwd=ROOT, env=env,
                          timeout=120)  # a guard against a hung test, not an assertion
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    assert KEY.encode() not in proc.stdout + proc.stderr
    lines = [line.split("aimux.client: ", 1)[1] for line in err.splitlines() if "aimux: debug: aimux.client: " in line]
    assert lines[0] == f"> POST {provider_server.url}/v1/chat/completions (attempt 1)"
    assert lines[1].startswith("> headers: ") and "authorization: [REDACTED];" in lines[1]
    assert lines[2].startswith("> body (")
    assert lines[3].startswith("< HTTP 200 OK (")
    assert lines[4].startswith("< headers: ")
