"""The time `aimux ask` spends writing its log entry (aimux_cli/logdb.py), for a 2 KB answer.

Measured in this process, as ask does it after the answer: read the config's `log` setting, build the row (redact,
JSON, zlib) and write it (open + migrate check + insert + commit in WAL mode, close), into a fresh database in a
temporary directory that grows by one row per run. Also: `import sqlite3` in a fresh interpreter (paid once per ask
process, never by prettify or --version). Median and p95 over --runs. Nothing leaves the machine.

Run from the repo root: `.venv/bin/python benchmarks/bench_log.py`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    from aimux_cli import config, logdb
    from aimux_cli.inputs import Source
    from aimux_cli.prettify import normalize
    from aimux_cli.request import PreparedRequest

    fixture = ROOT / "fixtures" / "openai" / "chat-2kb.json"
    raw = fixture.read_bytes()
    doc = normalize(Source(str(fixture), raw)).document
    prepared = PreparedRequest("POST", "https://api.example/v1/chat/completions",
                               {"authorization": "Bearer sk-bench-SECRET-0000", "content-type": "application/json"},
                               {"model": "gpt-x", "messages": [{"role": "user", "content": "hello " * 40}]},
                               False, "openai", ("sk-bench-SECRET-0000",))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "logs.db"
        os.environ["AIMUX_CONFIG"] = str(Path(tmp) / "config.toml")
        Path(os.environ["AIMUX_CONFIG"]).write_text("default_provider = 'openai'\n")
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            config.load().log
            logdb.record(logdb.entry(command="ask", prepared=prepared, wire="openai.chat", model="gpt-x",
                                     prompt="hello " * 40, status=200, response_headers={"x-request-id": "r"},
                                     raw=raw, doc=doc, ttft_s=None, total_s=0.5, exit_code=0), path)
            times.append((time.perf_counter() - t0) * 1000)
        size = path.stat().st_size
    times.sort()
    imports = []
    for _ in range(15):
        out = subprocess.run([sys.executable, "-c", "import time; t=time.perf_counter(); import sqlite3; "
                              "print((time.perf_counter()-t)*1000)"], capture_output=True, text=True, check=True)
        imports.append(float(out.stdout))
    print(f"answer body {len(raw)} bytes, document text {len(doc.text())} characters, {args.runs} entries "
          f"({size / args.runs / 1024:.1f} KiB per entry on disk)")
    print(f"log write: median {statistics.median(times):.2f} ms, p95 {times[int(len(times) * 0.95)]:.2f} ms, "
          f"max {times[-1]:.2f} ms")
    print(f"import sqlite3 (once per ask process): median {statistics.median(imports):.2f} ms")


if __name__ == "__main__":
    main()
