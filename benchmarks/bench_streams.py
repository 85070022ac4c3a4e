"""SSE parser throughput on a 10,000-event OpenAI chat stream, built in code (no fixture file, no network).

Reports events per second for the whole body fed at once and for the body fed in 4 KiB chunks (as a pipe or an
HTTP stream delivers it), plus parse + orjson.loads of every event as a floor for stream folding.

    .venv/bin/python benchmarks/bench_streams.py [--events N] [--repeat R]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aimux_cli.streams import SSEParser  # noqa: E402

WORDS = ("The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ".", " Ünï", " 🦊", "\n")


def openai_chat_stream(n_events: int) -> bytes:
    """A realistic `chat.completion.chunk` stream: a role delta, n content deltas, a finish chunk, usage, [DONE]."""
    base = {"id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", "object": "chat.completion.chunk", "created": 1741570283,
            "model": "gpt-4o-2024-08-06", "service_tier": "default", "system_fingerprint": "fp_eb9dce56a8"}

    def chunk(delta: dict, finish: str | None = None, usage: dict | None = None) -> bytes:
        choices = [] if usage else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        body = {**base, "choices": choices, "usage": usage}
        return b"data: " + orjson.dumps(body) + b"\n\n"

    parts = [chunk({"role": "assistant", "content": "", "refusal": None})]
    parts += [chunk({"content": WORDS[i % len(WORDS)]}) for i in range(n_events - 4)]
    parts.append(chunk({}, "stop"))
    parts.append(chunk({}, usage={"prompt_tokens": 19, "completion_tokens": n_events, "total_tokens": n_events + 19}))
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def best_of(repeat: int, fn) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        count = fn()
        best = min(best, time.perf_counter() - start)
    return best, count


def whole(body: bytes) -> int:
    parser = SSEParser()
    return len(parser.feed(body)) + len(parser.close())


def chunked(body: bytes, size: int = 4096) -> int:
    parser = SSEParser()
    n = 0
    for i in range(0, len(body), size):
        n += len(parser.feed(body[i : i + size]))
    return n + len(parser.close())


def with_loads(body: bytes, size: int = 4096) -> int:
    parser, loads, n = SSEParser(), orjson.loads, 0
    for i in range(0, len(body), size):
        for event in parser.feed(body[i : i + size]):
            if event.data != "[DONE]":
                loads(event.data)
            n += 1
    return n + len(parser.close())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    body = openai_chat_stream(args.events)
    print(f"stream: {args.events} events, {len(body) / 1e6:.2f} MB; best of {args.repeat}")
    for name, fn in (("whole body", whole), ("4 KiB chunks", chunked), ("4 KiB + orjson.loads", with_loads)):
        seconds, count = best_of(args.repeat, lambda fn=fn: fn(body))
        assert count == args.events, (name, count)
        print(f"  {name:<22} {count / seconds:>12,.0f} events/s   {seconds * 1e3:7.2f} ms")


if __name__ == "__main__":
    main()
