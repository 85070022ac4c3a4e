"""Time aimux's TOON encoder against toon_format.encode on three inputs built in code (no network).

(a) an OpenAI chat completion with two tool calls and usage (~1.4 KB; fixtures/openai/chat-two-tool-calls.json
    when present), (b) 10,000 uniform objects with six fields (tabular form), (c) a ~1 MB string-heavy object.
Prints the best time per call (the two encoders take turns, so load from other processes hits both alike) and
the speed-up; exits 1 when a bar (>= 2x on (a) and (b)) is missed, unless --no-check. Each input is first
checked to decode back (with toon_format) to itself.

    .venv/bin/python benchmarks/bench_toon.py [--no-check] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any, Callable

import toon_format

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aimux_cli.toon import encode  # noqa: E402

BAR = 2.0
FIXTURE = ROOT / "fixtures" / "openai" / "chat-two-tool-calls.json"


def chat_completion() -> dict[str, Any]:
    """(a) The bundled fixture, or an equivalent completion built here."""
    if FIXTURE.exists():
        return json.loads(FIXTURE.read_text(encoding="utf-8"))
    call = {"id": "call_Qm4vT8sLx2NbR7kWc1HdEa0Z", "type": "function"}
    return {
        "id": "chatcmpl-AmX1tools3Hn8cRw2PqLd6VbT0sJ",
        "object": "chat.completion",
        "created": 1767225600,
        "model": "o4-mini-2025-04-16",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        call | {"function": {"name": "get_current_weather", "arguments": '{"city":"Lisbon"}'}},
                        call | {"function": {"name": "get_local_time", "arguments": '{"tz":"Europe/Lisbon"}'}},
                    ],
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 1187,
            "completion_tokens": 214,
            "total_tokens": 1401,
            "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 192, "audio_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": None,
    }


def uniform_rows(count: int = 10_000) -> list[dict[str, Any]]:
    """(b) Six fields per row: int, str, str needing quotes now and then, float, bool, null or str."""
    rng = random.Random(42)
    roles = ["admin", "user", "viewer", "ops, on call", "guest"]
    return [
        {
            "id": i,
            "name": f"user_{i:05d}",
            "role": rng.choice(roles),
            "score": round(rng.uniform(0, 100), 2),
            "active": rng.random() < 0.7,
            "team": None if i % 7 == 0 else f"team {i % 13}",
        }
        for i in range(count)
    ]


def string_heavy(target: int = 1_000_000) -> dict[str, Any]:
    """(c) ~1 MB of prose-like strings in nested messages, some with quotes, newlines and colons."""
    rng = random.Random(7)
    words = "the quick brown fox jumps over lazy dog lorem ipsum dolor sit amet token model stream".split()
    messages, size = [], 0
    while size < target:
        text = " ".join(rng.choice(words) for _ in range(rng.randint(20, 400)))
        if rng.random() < 0.3:
            text += '\nNote: "quoted" part\tand a tab'
        messages.append({"role": rng.choice(["user", "assistant"]), "content": text, "tokens": len(text) // 4})
        size += len(text)
    return {"conversation": {"id": "conv-1", "messages": messages}}


def best_seconds(funcs: list[Callable[[Any], str]], value: Any, repeat: int, batch: int) -> list[float]:
    """Best-of-`repeat` seconds per call for each function; the functions take turns, so that load from
    other processes on the machine hits both alike."""
    for func in funcs:
        func(value)  # warm-up: compiles regexes, fills the indentation cache
    best = [float("inf")] * len(funcs)
    for _ in range(repeat):
        for index, func in enumerate(funcs):
            start = time.perf_counter()
            for _ in range(batch):
                func(value)
            best[index] = min(best[index], (time.perf_counter() - start) / batch)
    return best


def human(seconds: float) -> str:
    return f"{seconds * 1e6:9.1f} µs" if seconds < 1e-3 else f"{seconds * 1e3:9.2f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-check", action="store_true", help="report only; do not fail when a bar is missed")
    parser.add_argument("--repeat", type=int, default=15, help="timed samples per encoder and input (best kept)")
    args = parser.parse_args()
    cases = [
        ("(a) chat completion, 2 tool calls", chat_completion(), 200, True),
        ("(b) 10,000 uniform objects x 6", uniform_rows(), 1, True),
        ("(c) ~1 MB string-heavy object", string_heavy(), 1, False),
    ]
    print(f"{'input':36} {'JSON':>9} {'aimux':>12} {'toon_format':>12} {'speed-up':>9}  bar")
    missed = []
    for name, value, batch, barred in cases:
        ours = encode(value)
        if toon_format.decode(ours) != value:
            print(f"{name}: aimux output does not decode back to the input", file=sys.stderr)
            return 1
        size = len(json.dumps(value, ensure_ascii=False).encode())
        mine, theirs = best_seconds([encode, toon_format.encode], value, args.repeat, batch)
        ratio = theirs / mine
        verdict = (">= 2x ok" if ratio >= BAR else "MISSED") if barred else "-"
        if barred and ratio < BAR:
            missed.append(name)
        print(f"{name:36} {size / 1024:7.1f}KB {human(mine)} {human(theirs)} {ratio:8.2f}x  {verdict}")
    if missed and not args.no_check:
        print(f"speed bar missed on: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
