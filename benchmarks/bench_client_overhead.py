"""Client overhead of `aimux bench provider` (issue 6): does it measure a fast stream faithfully, at what CPU cost?

A loopback provider (a small asyncio HTTP/1.1 server in a child process, so that its work is not counted as aimux's)
streams OpenAI chat chunks at 200 per second per request (one every 5 ms, on absolute deadlines). aimux's bench
runner keeps 64 such streams in flight, exactly as `aimux bench provider -c 64` does, and reports the median ITL it
measured against the 5 ms schedule (bar: within 2 ms), plus aimux's CPU per chunk = process CPU time / chunks.

    .venv/bin/python benchmarks/bench_client_overhead.py [--concurrency 64] [--chunks 200] [--rounds 2]
        [--transport lean|httpx] [--no-check]

Exit 1 when the bar is missed, unless --no-check. `--transport httpx` measures client_async.AsyncSession instead of the
lean transport bench uses, for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BAR_MS = 2.0


def events(chunks: int) -> list[bytes]:
    """`chunks` OpenAI chat text events, then finish, usage and [DONE], each framed as one HTTP chunk."""
    base = {"id": "chatcmpl-overhead", "object": "chat.completion.chunk", "created": 1760000000, "model": "m"}

    def event(obj: dict) -> bytes:
        data = b"data: " + json.dumps({**base, **obj}, separators=(",", ":")).encode() + b"\n\n"
        return b"%x\r\n%s\r\n" % (len(data), data)

    texts = [event({"choices": [{"index": 0, "delta": {"content": f" w{i}"}, "finish_reason": None}]})
             for i in range(chunks)]
    usage = {"prompt_tokens": 5, "completion_tokens": chunks, "total_tokens": chunks + 5}
    return texts + [event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
                    event({"choices": [], "usage": usage}), b"data: [DONE]\n\n"]


async def _stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, chunks: int, gap: float) -> None:
    """Answer each request on the connection: text event i goes out at arrival + i * gap (absolute deadlines)."""
    body = events(chunks)
    body[-1] = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body[-1]), body[-1])
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            start = time.monotonic()
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
            for i, data in enumerate(body):
                delay = start + min(i, chunks - 1) * gap - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                writer.write(data)  # asyncio sets TCP_NODELAY: each chunk leaves at once
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


def serve(chunks: int, gap: float) -> None:
    """Child process: a single-threaded asyncio loopback provider (a thread per stream would itself fall behind
    at 12,800 chunks/s and blur what is measured); prints its port, stops when stdin closes."""

    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: _stream(r, w, chunks, gap), "127.0.0.1", 0, backlog=1024)
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

    asyncio.run(main())


def measure(port: int, args: argparse.Namespace) -> dict:
    from aimux_cli import bench, client_async, client_lean
    from aimux_cli.config import ResolvedProvider
    from aimux_cli.request import build

    resolved = ResolvedProvider(name="loopback", wire="openai.chat", base_url=f"http://127.0.0.1:{port}/v1",
                                model="m", api_key="sk-loopback", headers={}, timeout=30.0, auth="bearer",
                                key_env=None, config_path="-")
    prepared = build(resolved, prompt="go", max_tokens=args.chunks, stream=True)
    make = client_lean.LeanSession if args.transport == "lean" else client_async.AsyncSession

    async def go(plan: bench.Plan) -> bench.Run:
        session = make(max_connections=args.concurrency)
        try:
            return await bench.run(prepared, resolved.wire, plan, timeout=30.0, session=session)
        finally:
            await session.aclose()

    c = args.concurrency
    asyncio.run(go(bench.Plan(requests=c, concurrency=c)))  # warm-up: imports, connections, caches
    before, wall = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    run = asyncio.run(go(bench.Plan(requests=c * args.rounds, concurrency=c)))
    after, wall = resource.getrusage(resource.RUSAGE_SELF), time.monotonic() - wall
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    summary = bench.summarize(run.samples, run.wall_s)
    chunks = sum(s.output_tokens or 0 for s in run.samples if s.ok)
    return {"summary": summary, "cpu_s": user + system, "user_s": user, "sys_s": system, "wall_s": wall,
            "chunks": chunks,
            "reads": sum(s.chunks for s in run.samples)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--chunks", type=int, default=200, help="chunks per request (one every --gap-ms)")
    parser.add_argument("--gap-ms", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2, help="requests per stream slot")
    parser.add_argument("--transport", choices=("lean", "httpx"), default="lean")
    parser.add_argument("--no-check", action="store_true")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.chunks, args.gap_ms / 1000)
        return 0
    child = subprocess.Popen([sys.executable, __file__, "--serve", "--chunks", str(args.chunks), "--gap-ms",
                              str(args.gap_ms)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        result = measure(int(child.stdout.readline()), args)
    finally:
        child.stdin.close()
        child.wait()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    result["server_cpu_s"] = usage.ru_utime + usage.ru_stime  # start-up and warm-up included
    return report(result, args)


def report(result: dict, args: argparse.Namespace) -> int:
    s = result["summary"]
    itl, gap = s["itl_ms"], args.gap_ms
    ok = s["failed"] == 0 and itl["median"] is not None and abs(itl["median"] - gap) <= BAR_MS
    rows = [
        ("transport", args.transport),
        ("streams in flight", args.concurrency),
        ("schedule", f"{args.chunks} chunks/request, one every {gap:g} ms ({1000 / gap:g}/s per request)"),
        ("requests completed / failed", f"{s['completed']} / {s['failed']}"),
        ("ITL median (p90, p99) ms", f"{itl['median']} ({itl['p90']}, {itl['p99']})"),
        ("TPOT median ms", s["tpot_ms"]["median"]),
        ("TTFT median ms", s["ttft_ms"]["median"]),
        ("chunks received (transport reads)", f"{result['chunks']} ({result['reads']})"),
        ("aimux CPU s (user + sys) / wall s",
         f"{result['cpu_s']:.2f} ({result['user_s']:.2f} + {result['sys_s']:.2f}) / {result['wall_s']:.2f}"),
        ("aimux CPU per chunk µs", f"{result['cpu_s'] / max(result['chunks'], 1) * 1e6:.1f}"),
        ("server process CPU s (whole life)", f"{result['server_cpu_s']:.2f}"),
        (f"bar: |ITL median - {gap:g}| <= {BAR_MS:g} ms", "pass" if ok else "MISSED"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0 if ok or args.no_check else 1


if __name__ == "__main__":
    sys.exit(main())
