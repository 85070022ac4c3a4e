"""Stream folding and body normalization speed for the OpenAI chat wire. In process, no network.

1. Folding: a 10,000-event `chat.completion.chunk` stream built in code, through the whole path (SSE parse,
   orjson.loads of each event, fold into the accumulator, final document). Bar (issue 3): above 100,000 events/s.
2. Normalize + encode: fixtures/openai/chat-two-tool-calls.json, as prettify does it:
   `toon.encode(prettify.normalize(Source(...)).data)` (sniff, load_json, detect, fold, document, to_dict, TOON),
   against `toon_format.encode` of the raw body as a reference point.
   Bar (issue 3): a 1.4 KB chat completion normalized and encoded in under 60 µs.

Every figure is given as wall and CPU time (process_time): on a shared machine the wall figure also counts the
neighbours, so quote `uptime` with it.

    .venv/bin/python benchmarks/bench_fold.py [--events N] [--repeat R]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aimux_cli.streams import SSEParser  # noqa: E402
from aimux_cli.wire import StreamFolder, parse_body  # noqa: E402

FIXTURE = ROOT / "fixtures" / "openai" / "chat-two-tool-calls.json"
WORDS = ("The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ".", " Ünïcödé", "\n")


def chat_stream(n_events: int) -> bytes:
    """n events: a role delta, content deltas, a finish chunk, a usage chunk (stream_options), then [DONE]."""
    base = {"id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", "object": "chat.completion.chunk", "created": 1741570283,
            "model": "gpt-4o-2024-08-06", "service_tier": "default", "system_fingerprint": "fp_eb9dce56a8"}

    def chunk(delta: dict, finish: str | None = None, usage: dict | None = None) -> bytes:
        choices = [] if usage else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        return b"data: " + orjson.dumps({**base, "choices": choices, "usage": usage}) + b"\n\n"

    parts = [chunk({"role": "assistant", "content": "", "refusal": None})]
    parts += [chunk({"content": WORDS[i % len(WORDS)]}) for i in range(n_events - 4)]
    parts.append(chunk({}, "stop"))
    parts.append(chunk({}, usage={"prompt_tokens": 19, "completion_tokens": n_events, "total_tokens": n_events + 19}))
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def fold_once(body: bytes) -> tuple[float, float, int]:
    """Wall and CPU seconds for parse + fold + document of the whole stream, and the number of events folded.
    CPU time is reported too because on a shared machine wall time also counts the neighbours."""
    wall, cpu = time.perf_counter(), time.process_time()
    parser = SSEParser()
    folder = StreamFolder()
    events = parser.feed(body) + parser.close()
    for event in events:
        folder.feed_sse(event.data, event.event)
    doc = folder.document()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert doc.status == "ok" and doc.finish == "stop", doc.status
    return wall, cpu, len(events)


def per_call_us(fn, repeat: int, number: int) -> str:
    """Best wall and CPU µs per call over `repeat` rounds of `number` calls (the minimum, as timeit advises: on a
    shared machine the other rounds measure the neighbours)."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(number):
            fn()
        walls.append((time.perf_counter() - wall) / number * 1e6)
        cpus.append((time.process_time() - cpu) / number * 1e6)
    return f"wall {min(walls):7.1f} µs   cpu {min(cpus):7.1f} µs"


def bench_normalize(repeat: int) -> None:
    from aimux_cli import prettify, toon
    from aimux_cli.inputs import Source

    raw = FIXTURE.read_bytes()
    source = Source(str(FIXTURE), raw)
    print(f"{FIXTURE.relative_to(ROOT)} ({len(raw)} bytes)")
    body = lambda: parse_body(orjson.loads(raw))  # noqa: E731
    print(f"  loads + parse_body                 {per_call_us(body, repeat, 2000)}")
    full = lambda: toon.encode(prettify.normalize(source).data)  # noqa: E731
    print(f"  normalize + encode (prettify)      {per_call_us(full, repeat, 2000)}   (bar: < 60 µs)")
    try:
        import toon_format
    except ImportError:
        return
    reference = lambda: toon_format.encode(orjson.loads(raw))  # noqa: E731
    print(f"  reference: toon_format.encode(raw) {per_call_us(reference, repeat, 200)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    body = chat_stream(args.events)
    runs = [fold_once(body) for _ in range(args.repeat)]
    n = runs[0][2]
    walls, cpus = [r[0] for r in runs], [r[1] for r in runs]
    print(f"fold: {n} events, {len(body) / 1e6:.2f} MB (SSE parse + orjson.loads + fold + document)")
    print(f"  wall: median {n / statistics.median(walls):>10,.0f} events/s   best {n / min(walls):>10,.0f} events/s"
          "   (bar: > 100,000)")
    print(f"  cpu:  median {n / statistics.median(cpus):>10,.0f} events/s   best {n / min(cpus):>10,.0f} events/s")
    bench_normalize(args.repeat)


if __name__ == "__main__":
    main()
