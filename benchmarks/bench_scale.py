"""How far can `aimux bench provider` push one machine (issue 14)? The largest concurrency at which the median ITL
it measures stays within 1 ms of the server's 5 ms schedule, with 1 and N worker processes, with and without uvloop.

A light loopback provider runs in its own process: asyncio (uvloop when installed, so that the server is not what
gives out first), OpenAI chat chunks pre-encoded once, each stream's chunk i sent at arrival + i x 5 ms (absolute
deadlines). For each configuration, concurrency doubles from --start until the median ITL misses the bar (or
--max is reached); each step is one `aimux bench provider` process (a warm-up of one request per stream, then
--rounds rounds of `concurrency` streams), exactly as a user runs it. The table gives, per configuration, the
largest concurrency that held and, for every step, the median ITL and the client's CPU use per process.

    .venv/bin/python benchmarks/bench_scale.py [--chunks 60] [--start 16] [--max 1024] [--rounds 2]
        [--processes 2] [--json FILE]

The machine's other load shows in the figures: run it on a quiet machine and read it with its CPU count in mind
(client processes and the server share the cores). The client's CPU per chunk is the figure least moved by other
load; the last column turns it into the streams of 200 chunks/s one process could time at 80 % of a CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GAP_S = 0.005
BAR_MS = 1.0


def encoded(chunks: int) -> list[bytes]:
    """bench_client_overhead's events, framed as HTTP chunks: `chunks` text events, then finish, usage and [DONE]
    with the body's end, all in the last chunk."""
    from bench_client_overhead import events  # beside this file

    *texts, finish, usage, done = events(chunks)
    texts[-1] += finish + usage + b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done)
    return texts


HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
TICK_S = 0.0005


class Scheduler:
    """Every stream's next chunk, filed by its due time in TICK_S slots; one task writes what is due. A sleep per
    chunk (tens of µs of timer work each in asyncio) would make the server, not the client, give out first."""

    def __init__(self, body: list[bytes]) -> None:
        self.body = body
        self.slots: dict[int, list[list]] = {}  # slot -> [writer, start, next chunk index, done future]
        self.wake = asyncio.Event()

    def add(self, writer: asyncio.StreamWriter, start: float) -> asyncio.Future:
        done = asyncio.get_running_loop().create_future()
        writer.write(HEAD)
        self._file([writer, start, 0, done])
        return done

    def _file(self, entry: list) -> None:
        due = entry[1] + entry[2] * GAP_S
        self.slots.setdefault(int(due / TICK_S), []).append(entry)
        self.wake.set()

    async def run(self) -> None:
        last = len(self.body) - 1
        while True:
            if not self.slots:
                self.wake.clear()
                await self.wake.wait()
            now_slot = int(time.monotonic() / TICK_S)
            for slot in [k for k in self.slots if k <= now_slot]:
                for entry in self.slots.pop(slot):
                    writer, _, i, done = entry
                    if writer.is_closing():
                        done.set_result(None)
                        continue
                    writer.write(self.body[i])
                    if i == last:
                        done.set_result(None)
                    else:
                        entry[2] = i + 1
                        self._file(entry)
            await asyncio.sleep(TICK_S)


async def _stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, scheduler: Scheduler) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            start = time.monotonic()
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            await reader.readexactly(length)
            await scheduler.add(writer, start)
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


def serve(chunks: int) -> None:
    """Child process: the loopback provider; prints its port, stops when stdin closes."""

    async def main() -> None:
        scheduler = Scheduler(encoded(chunks))
        ticker = asyncio.create_task(scheduler.run())  # noqa: F841  # runs until the process ends
        server = await asyncio.start_server(lambda r, w: _stream(r, w, scheduler), "127.0.0.1", 0, backlog=4096)
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

    try:
        import uvloop
        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def step(config: Path, concurrency: int, processes: int, loop: str, rounds: int, server_pid: int,
         chunks: int) -> dict:
    """One `aimux bench provider` run: median ITL, per-process CPU %, CPU µs per chunk, the client's own
    bottleneck verdict, and the server's CPU % over the run (is the server what gave out?)."""
    cmd = [sys.executable, "-m", "aimux_cli", "bench", "provider", "-p", "scale", "-c", str(concurrency),
           "-n", str(concurrency * rounds), "--warmup", str(concurrency), "--processes", str(processes),
           "--loop", loop, "-f", "json"]
    env = {**os.environ, "AIMUX_CONFIG": str(config), "SCALE_KEY": "k"}
    cpu0, t0 = cpu_seconds(server_pid), time.monotonic()
    done = subprocess.run(cmd, capture_output=True, cwd=ROOT, env=env, timeout=600)
    server_pct = round(100 * (cpu_seconds(server_pid) - cpu0) / (time.monotonic() - t0), 1)
    if done.returncode != 0:
        return {"concurrency": concurrency, "error": done.stderr.decode().strip()[:200]}
    try:
        report = json.loads(done.stdout)
    except ValueError as exc:  # keep what came, to look at
        kept = Path(tempfile.gettempdir()) / f"bench_scale-{concurrency}-{processes}-{loop}.out"
        kept.write_bytes(done.stdout)
        return {"concurrency": concurrency, "error": f"report not JSON ({exc}); {len(done.stdout)} bytes in {kept}"}
    summary, client = report["summary"], report["meta"]["client"]
    cpu = sum(w["cpu_s"] for w in client["workers"])
    return {"concurrency": concurrency, "itl_median_ms": summary["itl_ms"]["median"],
            "itl_p90_ms": summary["itl_ms"]["p90"], "failed": summary["failed"],
            "cpu_pct": [w["cpu_pct"] for w in client["workers"]],
            "cpu_us_per_chunk": round(cpu / (summary["completed"] * chunks) * 1e6, 1) if summary["completed"] else None,
            "server_cpu_pct_whole_step": server_pct, "bottleneck": client["bottleneck"]}


def held(result: dict) -> bool:
    return ("error" not in result and not result["failed"] and result["itl_median_ms"] is not None
            and abs(result["itl_median_ms"] - GAP_S * 1000) <= BAR_MS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chunks", type=int, default=60, help="text chunks per stream (5 ms apart)")
    ap.add_argument("--start", type=int, default=16)
    ap.add_argument("--max", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--processes", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = ap.parse_args()
    try:
        import uvloop  # noqa: F401
        loops = ["asyncio", "uvloop"]
    except ImportError:
        loops = ["asyncio"]
        print("uvloop is not installed (pip install 'aimux[fast]'): asyncio only", file=sys.stderr)
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(args.chunks)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    port = int(server.stdout.readline())
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        config.write_text(f'[providers.scale]\nwire = "openai.chat"\nbase_url = "http://127.0.0.1:{port}/v1"\n'
                          f'api_key_env = "SCALE_KEY"\nmodel = "m"\ntimeout = 60\n')
        try:
            for processes in sorted({1, args.processes}):
                for loop in loops:
                    results.append(_ladder(config, processes, loop, args, server.pid))
        finally:
            server.stdin.close()
            server.wait(timeout=10)
    _print(results, args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


def _ladder(config: Path, processes: int, loop: str, args: argparse.Namespace, server_pid: int) -> dict:
    steps, best, c = [], None, args.start
    while c <= args.max:
        result = step(config, c, processes, loop, args.rounds, server_pid, args.chunks)
        if not held(result):  # one more try: a neighbour's burst on a shared machine must not end the ladder
            result = step(config, c, processes, loop, args.rounds, server_pid, args.chunks)
        steps.append(result)
        print(f"processes {processes} {loop:7} c={c:5}: {result}", file=sys.stderr, flush=True)
        if not held(result):
            break
        best, c = c, c * 2
    return {"processes": processes, "loop": loop, "largest_concurrency": best, "steps": steps}


def _print(results: list[dict], args: argparse.Namespace) -> None:
    print(f"\nmedian ITL within {BAR_MS:g} ms of a {GAP_S * 1000:g} ms schedule ({args.chunks} chunks a stream, "
          f"{len(os.sched_getaffinity(0))} CPUs shared with the server; load average now "
          f"{os.getloadavg()[0]:.1f})\n")
    print("| processes | loop | largest concurrency | median ITL (ms) by concurrency | client CPU % per process, "
          "µs CPU per chunk, server CPU % at the largest | streams a process could time at 80 % CPU |")
    print("|---|---|---|---|---|---|")
    for r in results:
        itls = ", ".join(f"{s['concurrency']}: {s.get('itl_median_ms', 'error')}" for s in r["steps"])
        best = next((s for s in r["steps"] if s["concurrency"] == r["largest_concurrency"]), None)
        cpu = (f"{'/'.join(f'{p:.0f}' for p in best['cpu_pct'])} %, {best['cpu_us_per_chunk']} µs, "
               f"{best['server_cpu_pct_whole_step']:.0f} %") if best else "–"
        measured = [s["cpu_us_per_chunk"] for s in r["steps"] if s.get("cpu_us_per_chunk")]
        # the CPU-bound ceiling, from the cost per chunk at the largest step (the most amortized): what the client
        # would reach on a machine with nothing else running
        ceiling = f"{0.8e6 / (measured[-1] * (1 / GAP_S)):.0f}" if measured else "–"
        print(f"| {r['processes']} | {r['loop']} | {r['largest_concurrency'] or '< ' + str(args.start)} | {itls} | "
              f"{cpu} | {ceiling} |")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
    else:
        main()
