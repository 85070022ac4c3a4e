"""normalize + encode per fixture, in process, against `toon_format.encode` of the raw body as a reference point.

For every file under fixtures/ that normalizes (the deliberately broken ones are skipped), prints the median µs of
aimux's whole in-process prettify work (`toon.encode(normalize(Source).data)`) and of the reference encoder
encoding the raw JSON body alone (streams: the list of their JSON events), plus the ratio. The reference does
less work (no parsing of the bytes, no normalization), so a ratio below 1 means aimux does more for less time.
Run from the repo root: `.venv/bin/python benchmarks/bench_prettify_fixtures.py [--min-time 0.05]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import orjson
import toon_format

from aimux_cli import streams
from aimux_cli.bench_prettify import default_files, time_per_call, work
from aimux_cli.inputs import Source

ROOT = Path(__file__).resolve().parents[1]


def raw_value(data: bytes):
    """The raw body as JSON: the value itself, or the list of a stream's JSON events."""
    kind, items = streams.iter_events(data)
    if kind == "json":
        return items[0]
    if kind == "sse":
        values = []
        for event in items:
            try:
                values.append(orjson.loads(event.data))
            except orjson.JSONDecodeError:
                pass  # [DONE] and the like
        return values
    return items


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-time", type=float, default=0.05, help="seconds of timing per file and encoder")
    args = parser.parse_args()
    rows = []
    for path in default_files(ROOT / "fixtures"):
        data = path.read_bytes()
        source = Source(str(path.relative_to(ROOT / "fixtures")), data)
        try:
            fn = work(source)
            fn()
            value = raw_value(data)
        except Exception:  # noqa: BLE001 - the broken-on-purpose fixtures
            continue
        ours, _ = time_per_call(fn, args.min_time)
        ref, _ = time_per_call(lambda: toon_format.encode(value), args.min_time)
        rows.append((source.label, len(data), ours * 1e6, ref * 1e6))
    print(f"{'fixture':52} {'bytes':>7} {'aimux µs':>9} {'ref µs':>9} {'ratio':>6}")
    for label, size, ours, ref in rows:
        print(f"{label:52} {size:7d} {ours:9.1f} {ref:9.1f} {ours / ref:6.2f}")
    ratios = [ours / ref for _, _, ours, ref in rows]
    print(f"{len(rows)} fixtures; median ratio aimux/reference {statistics.median(ratios):.2f} "
          f"(aimux parses and normalizes too; the reference only encodes the parsed body)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
