"""`aimux bench prettify`: how fast aimux turns response files into TOON, and how much TOON saves over JSON.

Contract: `measure(source, min_time) -> dict` times `toon.encode(normalize(source).data)` in process (the work of
`aimux prettify FILE` without reading the file or writing stdout) and returns the median µs per run, the runs
made, the throughput over the input bytes, and the output sizes: JSON as `aimux prettify -f json` writes it
(indented), compact JSON, and TOON. `default_files(root)` lists every file under a fixtures directory.

Spread: each file is timed in `repeats` separate windows (the command interleaves the files, so that a busy moment
of the machine spoils one repeat of several files rather than every repeat of one); a row gives the median, p90, min
and max over the repeats, each repeat's figure being the median µs per run within its window.

Within a window, calls are calibrated like `timeit`: calls are grouped so that one timed sample lasts at least a millisecond
(the clock's cost vanishes), and samples are taken until `min_time` has passed and at least five exist; the
garbage collector is paused while timing, as timeit does.

Sizes are compared both ways: `toon_saving_pct` against indented JSON (what `aimux prettify -f json` writes) and
`toon_saving_compact_pct` against compact JSON (what an API would send); each is 100 * (1 - TOON / JSON), negative
when TOON is the larger (deep or irregular documents, where JSON's compact form wins).
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aimux_cli.inputs import Source

SAMPLE_MIN_S = 0.001  # one timed sample lasts at least this long
MIN_SAMPLES = 5
MAX_SAMPLES = 2000
_DOC_SUFFIXES = (".md", ".txt", ".rst")


def work(source: Source) -> Callable[[], str]:
    """The timed operation for one input: normalize, then encode the result as TOON."""
    from aimux_cli.prettify import normalize
    from aimux_cli.toon import encode

    def run() -> str:
        return encode(normalize(source).data)

    return run


def time_per_call(fn: Callable[[], Any], min_time: float) -> tuple[float, int]:
    """(median seconds per call, calls made) over samples of `number` calls each."""
    number = 1
    while True:
        elapsed = _sample(fn, number)
        if elapsed >= SAMPLE_MIN_S or number >= 1 << 20:
            break
        number *= max(2, min(10, int(SAMPLE_MIN_S / max(elapsed, 1e-9)) + 1))
    per_call = [elapsed / number]
    deadline = time.perf_counter() + min_time
    while len(per_call) < MAX_SAMPLES and (len(per_call) < MIN_SAMPLES or time.perf_counter() < deadline):
        per_call.append(_sample(fn, number) / number)
    return statistics.median(per_call), len(per_call) * number


def _sample(fn: Callable[[], Any], number: int) -> float:
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        return time.perf_counter() - start
    finally:
        if enabled:
            gc.enable()


def sizes(source: Source) -> dict[str, int]:
    """Output bytes of the document as indented JSON (what `aimux prettify -f json` writes), compact JSON, TOON."""
    import orjson

    from aimux_cli.present import dumps_json
    from aimux_cli.prettify import normalize
    from aimux_cli.toon import encode

    data = normalize(source).data
    try:
        compact = len(orjson.dumps(data))
    except TypeError:  # integers beyond 64 bits: the standard library writes them
        import json
        compact = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
    toon = encode(data)
    return {"json_bytes": len((dumps_json(data) + "\n").encode()), "json_compact_bytes": compact,
            "toon_bytes": len((toon + "\n" if toon else toon).encode())}


def measure(source: Source, min_time: float = 0.1, repeats: int = 1) -> dict[str, Any]:
    """One result row, `repeats` timings of `min_time / repeats` each in a row; raises InputError when the input
    cannot be normalized. (`aimux bench prettify` interleaves the repeats of several files instead: FileTimer.)"""
    timer = FileTimer(source)
    for _ in range(repeats):
        timer.repeat(min_time / repeats)
    return timer.row()


class FileTimer:
    """One file's sizes (computed first: they prove the input normalizes, else InputError) and its repeated
    timings; `row()` gives the median and p90 over the repeats of the median µs per run within each."""

    def __init__(self, source: Source) -> None:
        self.source, self.sizes = source, sizes(source)
        self.fn = work(source)
        self.repeats: list[float] = []  # seconds per call, one per repeat
        self.runs = 0

    def repeat(self, min_time: float) -> None:
        seconds, runs = time_per_call(self.fn, min_time)
        self.repeats.append(seconds)
        self.runs += runs

    def row(self) -> dict[str, Any]:
        from aimux_cli.bench_stats import percentile

        ordered = sorted(self.repeats)
        seconds = statistics.median(ordered)
        size, out = len(self.source.data), self.sizes
        return {"file": self.source.label, "input_bytes": size, "runs": self.runs, "repeats": len(ordered),
                "median_us": round(seconds * 1e6, 2), "p90_us": round(percentile(ordered, 90) * 1e6, 2),
                "min_us": round(ordered[0] * 1e6, 2), "max_us": round(ordered[-1] * 1e6, 2),
                "mb_per_s": round(size / seconds / 1e6, 2) if seconds > 0 else None, **out,
                "toon_saving_pct": _saving(out["toon_bytes"], out["json_bytes"]),
                "toon_saving_compact_pct": _saving(out["toon_bytes"], out["json_compact_bytes"])}


def _saving(toon: int, json: int) -> float | None:
    return round(100 * (1 - toon / json), 1) if json else None


def summary(rows: list[dict[str, Any]], skipped: list[str]) -> dict[str, Any]:
    """Totals over the measured files: bytes in and out, and the throughput of the whole set."""
    total = {key: sum(r[key] for r in rows) for key in ("input_bytes", "json_bytes", "json_compact_bytes",
                                                        "toon_bytes")}
    us = sum(r["median_us"] for r in rows)
    return {"files": len(rows), "skipped": skipped, **total, "median_us_sum": round(us, 2),
            "mb_per_s": round(total["input_bytes"] / us, 2) if us else None,
            "toon_saving_pct": _saving(total["toon_bytes"], total["json_bytes"]),
            "toon_saving_compact_pct": _saving(total["toon_bytes"], total["json_compact_bytes"])}


def default_files(root: Path) -> list[Path]:
    """Every response file under `root`, sorted (documentation files left out); the caller skips those that do
    not normalize (broken on purpose)."""
    return sorted(p for p in root.rglob("*")
                  if p.is_file() and not p.name.startswith(".") and p.suffix.lower() not in _DOC_SUFFIXES)
