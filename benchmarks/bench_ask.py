"""`aimux ask` against a loopback server: start-up to request, and client CPU per streamed chunk.

1. Start-up: the time from just before the process is spawned to the moment its request has fully reached a
   loopback server started here (both clocks are this script's time.monotonic()); median of --runs.
2. CPU per chunk: the server streams --chunks (10,000) OpenAI chat chunks (one SSE event each, a few characters of text) as
   fast as it can; the aimux process's user+system CPU comes from resource.getrusage(RUSAGE_CHILDREN). The
   per-chunk figure is marginal: (CPU of the long stream - CPU of a 1-chunk stream) / (chunks - 1), so start-up
   is not counted. Medians over --cpu-runs, per output format.
   For comparison, the same events fed in this process through ask's Pump (parse, fold, show; no network, output
   to /dev/null): the share of the per-chunk cost that is aimux's own, the rest being httpx and the socket.
3. Teardown: the time from the last byte of the answer on stdout (read here as it arrives) to the process's exit,
   for a 20-chunk answer in `-f text`; median of --runs. What runs there (closing the client, threads, the
   interpreter's finalization) delays every pipeline that waits for aimux. Measured with the exchange log on (as
   ask runs by default) and with --no-log: the difference is what writing the log costs there.
4. Import check: `aimux --version` and `aimux ask --help` must not import httpx (exit status 1 if they do).

Run from the repo root: `.venv/bin/python benchmarks/bench_ask.py`. Nothing leaves 127.0.0.1, and the log goes to a
temporary database ($AIMUX_LOG_DB), removed at the end: never into the user's own log.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-bench-not-a-secret"


def chunk_event(i: int, text: str) -> bytes:
    obj = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1767225600, "model": "bench",
           "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def stream_body(chunks: int) -> list[bytes]:
    events = [chunk_event(i, f"w{i % 10} ") for i in range(chunks)]
    end = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1767225600, "model": "bench",
           "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
           "usage": {"prompt_tokens": 5, "completion_tokens": chunks, "total_tokens": chunks + 5}}
    events.append(b"data: " + json.dumps(end).encode() + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return events


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: Server

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.server.arrivals.append(time.monotonic())
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for event in self.server.events:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
        self.wfile.write(b"0\r\n\r\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    arrivals: list[float]
    events: list[bytes]


def start_server() -> Server:
    server = Server(("127.0.0.1", 0), Handler)
    server.arrivals, server.events = [], stream_body(1)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def env_for(server: Server) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(OPENAI_API_KEY=KEY, NO_PROXY="*", AIMUX_CONFIG=os.devnull)
    return env


def ask_argv(server: Server, fmt: str, log: bool = True) -> list[str]:
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    return [sys.executable, "-m", "aimux_cli", "ask", "-p", "openai", "--base-url", url, "-f", fmt,
            *(() if log else ("--no-log",)), "hello"]


def run_once(server: Server, fmt: str) -> tuple[float, float]:
    """One ask: (seconds from spawn to request arrival, CPU seconds of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server.arrivals.clear()
    t0 = time.monotonic()
    done = subprocess.run(ask_argv(server, fmt), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, env=env_for(server), cwd=ROOT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0 or not server.arrivals:
        raise SystemExit(f"aimux ask failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return server.arrivals[0] - t0, cpu


def startup(server: Server, runs: int) -> float:
    server.events = stream_body(1)
    times = [run_once(server, "text")[0] for _ in range(runs + 3)][3:]  # the first runs warm the page cache
    return statistics.median(times)


def teardown(server: Server, runs: int, log: bool = True) -> float:
    """Median seconds from the last byte read from the child's stdout to the child's exit (the log is written
    there, unless not `log`)."""
    server.events = stream_body(20)
    gaps = []
    for _ in range(runs + 3):
        proc = subprocess.Popen(ask_argv(server, "text", log), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=env_for(server), cwd=ROOT)
        last = None
        while True:
            data = os.read(proc.stdout.fileno(), 65536)
            if not data:
                break
            last = time.monotonic()
        proc.wait()
        gaps.append(time.monotonic() - last)
        proc.stdout.close()
        if proc.returncode != 0:
            raise SystemExit(f"aimux ask failed ({proc.returncode})")
    return statistics.median(gaps[3:])


def cpu_per_chunk(server: Server, fmt: str, chunks: int, runs: int) -> tuple[float, float]:
    """(marginal CPU µs per chunk, CPU ms of the whole long run), medians over `runs`; short and long runs
    alternate so that a change in machine load affects both alike."""
    short_body, long_body = stream_body(1), stream_body(chunks)
    shorts, longs = [], []
    for _ in range(runs):
        server.events = short_body
        shorts.append(run_once(server, fmt)[1])
        server.events = long_body
        longs.append(run_once(server, fmt)[1])
    short, long = statistics.median(shorts), statistics.median(longs)
    return (long - short) / (chunks - 1) * 1e6, long * 1000


def pump_per_chunk(fmt: str, chunks: int) -> float:
    """CPU µs per event of ask's Pump alone, in this process, output to /dev/null."""
    from aimux_cli import wire as wires
    from aimux_cli.commands.ask import Pump, View
    from aimux_cli.render.console import TerminalEnv

    events = stream_body(chunks)
    saved, sys.stdout = sys.stdout, open(os.devnull, "w")
    try:
        view = View(fmt, TerminalEnv.detect())
        pump = Pump(wires.StreamFolder(api="openai.chat", provider="openai"), view)
        t0 = time.process_time()
        for event in events:
            pump.feed(event)
        pump.close(complete=True)
        view.close(pump.document())
        return (time.process_time() - t0) / len(events) * 1e6
    finally:
        sys.stdout.close()
        sys.stdout = saved


def imports_httpx(*args: str) -> bool:
    code = ("import sys\nfrom aimux_cli.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "sys.stderr.write('HTTPX=%s' % ('httpx' in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, cwd=ROOT, stdin=subprocess.DEVNULL)
    return not done.stderr.endswith(b"HTTPX=False")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="start-up runs")
    parser.add_argument("--chunks", type=int, default=10000, help="chunks in the long stream")
    parser.add_argument("--cpu-runs", type=int, default=7, help="runs per CPU figure")
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory(prefix="aimux-bench-ask-") as tmp:
        os.environ["AIMUX_LOG_DB"] = str(Path(tmp) / "logs.db")  # every child inherits it: env_for copies environ
        return measure(args)


def measure(args: argparse.Namespace) -> int:
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "aimux_cli")], check=True)
    server = start_server()
    try:
        ms = startup(server, args.runs) * 1000
        print(f"aimux ask against 127.0.0.1 ({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})")
        print(f"{'measure':62} {'median':>12}")
        print(f"{'process start -> request at the server':62} {ms:9.1f} ms")
        for log in (True, False):
            label = f"last byte of the answer -> process exit (-f text, log {'on' if log else 'off'})"
            print(f"{label:62} {teardown(server, args.runs, log) * 1000:9.1f} ms")
        for fmt in ("text", "json", "raw"):
            per_chunk, whole = cpu_per_chunk(server, fmt, args.chunks, args.cpu_runs)
            label = f"client CPU per streamed chunk (-f {fmt}, {args.chunks} chunks)"
            print(f"{label:62} {per_chunk:9.1f} µs   (whole run {whole:.0f} ms CPU)")
        for fmt in ("text", "json"):
            label = f"ask's Pump alone, in process (-f {fmt})"
            print(f"{label:62} {pump_per_chunk(fmt, args.chunks):9.1f} µs")
    finally:
        server.shutdown()
    bad = [" ".join(a) for a in (("--version",), ("ask", "--help")) if imports_httpx(*a)]
    print("httpx imported by: " + (", ".join(bad) if bad else "neither `aimux --version` nor `aimux ask --help`"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
