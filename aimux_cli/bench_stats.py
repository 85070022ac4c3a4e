"""The statistics of `aimux bench provider` (pure): samples in, the report's summary out.

Contract: `summarize(samples, wall_s, first_wave=None, slos=None) -> dict`, a function of the samples alone, so that
samples measured by several worker processes and merged give exactly the figures one process would have given for
them (percentiles are computed over all samples, never averaged across workers). Samples are bench.Sample objects
(duck-typed here: status, start_ms, ttft_ms, e2e_ms, tpot_ms, itl_ms, output_tokens, tokens_estimated, connect_ms).

- Percentiles interpolate linearly between ranks (numpy's default, as vLLM's benchmark_serving uses).
- Goodput (vLLM's definition): completed requests meeting every service-level objective given (TTFT, TPOT, E2E, in
  ms), per second of the run. A request of one token has no TPOT and meets a TPOT objective, as in vLLM.
- First wave: the first `first_wave` requests started (a closed loop's first `concurrency` starts, which open their
  connections and hit a cold server together) against the rest: what a median over the whole run hides.
- Over time: the run cut into equal buckets (at most MAX_BUCKETS, of 0.1, 0.2, 0.5, 1, 2, 5... s); per bucket the
  requests that ended in it, their TTFT and E2E (median, p90), the ITL gaps that ended in it, and the output tokens
  whose chunks arrived in it (a request's tokens spread evenly over its text chunks).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

CATEGORIES = ("auth", "rate_limit", "provider", "network", "incomplete")
STAT_KEYS = ("mean", "median", "p90", "p95", "p99", "min", "max")
SLO_KEYS = {"ttft": "ttft_ms", "tpot": "tpot_ms", "e2e": "e2e_ms", "e2el": "e2e_ms"}  # e2el: vLLM's spelling
MAX_BUCKETS = 60
_BUCKET_STEPS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600)


def percentile(ordered: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) of sorted values, interpolating linearly (numpy's default, as vLLM uses)."""
    if not ordered:
        raise ValueError("percentile of no values")
    pos = (len(ordered) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def stats(values: Sequence[float]) -> dict[str, float | None]:
    """{mean, median, p90, p95, p99, min, max} of `values`, rounded to µs when they are ms; all None when empty."""
    if not values:
        return dict.fromkeys(STAT_KEYS)
    ordered = sorted(values)
    out = {"mean": math.fsum(ordered) / len(ordered), "median": percentile(ordered, 50),
           "p90": percentile(ordered, 90), "p95": percentile(ordered, 95), "p99": percentile(ordered, 99),
           "min": ordered[0], "max": ordered[-1]}
    return {k: round(v, 3) for k, v in out.items()}


def histogram(values: Sequence[float], bins: int = 10) -> list[tuple[float, float, int]]:
    """Equal-width bins over [min, max]: [(low, high, count)]; one bin when every value is the same."""
    if not values:
        return []
    lo, hi = min(values), max(values)
    if hi == lo:
        return [(lo, hi, len(values))]
    width = (hi - lo) / bins
    counts = [0] * bins
    for v in values:
        counts[min(int((v - lo) / width), bins - 1)] += 1
    return [(lo + i * width, lo + (i + 1) * width, c) for i, c in enumerate(counts)]


def parse_slos(specs: Sequence[str]) -> dict[str, float]:
    """`["ttft:500 tpot:50", "e2e:10000"]` (ms; spaces or commas between them) -> {"ttft_ms": 500.0, ...};
    ValueError naming what is wrong."""
    out: dict[str, float] = {}
    for spec in specs:
        for item in spec.replace(",", " ").split():
            name, sep, value = item.partition(":")
            key = SLO_KEYS.get(name.strip().lower())
            if not sep or key is None:
                raise ValueError(f"{item!r}: give NAME:MS with NAME one of ttft, tpot, e2e (e.g. ttft:500)")
            try:
                ms = float(value)
            except ValueError:
                raise ValueError(f"{item!r}: {value!r} is not a number of milliseconds") from None
            if not ms > 0 or math.isinf(ms):
                raise ValueError(f"{item!r}: the objective must be a positive number of milliseconds")
            out[key] = ms
    return out


def meets(sample: Any, slos: Mapping[str, float]) -> bool:
    """Whether a completed sample meets every objective (a missing TPOT, one token, counts as 0 as in vLLM)."""
    for key, limit in slos.items():
        value = getattr(sample, key)
        if value is None:
            if key != "tpot_ms":
                return False
            value = 0.0
        if value > limit:
            return False
    return True


def token_source(done: Sequence[Any]) -> str | None:
    """Where the output-token counts came from: "usage" (the provider's), "chunks" (text chunks counted, no usage
    reported), "mixed", or None when nothing completed."""
    kinds = {s.tokens_estimated for s in done}
    if not kinds:
        return None
    return "mixed" if len(kinds) == 2 else ("chunks" if kinds == {True} else "usage")


def summarize(samples: Sequence[Any], wall_s: float, *, first_wave: int | None = None,
              slos: Mapping[str, float] | None = None) -> dict[str, Any]:
    """The run's summary: counts, errors by category, throughput over `wall_s`, the latency stats, connect time,
    goodput (with `slos`), the first wave against the rest (with `first_wave`), and figures over time."""
    done = [s for s in samples if s.ok]
    errors = dict.fromkeys(CATEGORIES, 0)
    messages: dict[str, str | None] = {}  # the first message of each category met, by request index
    for s in sorted(samples, key=lambda s: s.index):
        if not s.ok:
            errors[s.status] = errors.get(s.status, 0) + 1
            messages.setdefault(s.status, s.error)
    tokens = sum(s.output_tokens or 0 for s in done)
    per_s = (lambda n: round(n / wall_s, 3) if wall_s > 0 else None)
    connects = [s.connect_ms for s in samples if getattr(s, "connect_ms", None) is not None]
    out = {
        "completed": len(done), "failed": len(samples) - len(done), "errors": errors, "error_messages": messages,
        "duration_s": round(wall_s, 3), "requests_per_s": per_s(len(done)),
        "output_tokens": tokens, "output_tokens_per_s": per_s(tokens),
        "tokens_estimated": any(s.tokens_estimated for s in done), "output_tokens_from": token_source(done),
        "ttft_ms": stats([s.ttft_ms for s in done if s.ttft_ms is not None]),
        "tpot_ms": stats([s.tpot_ms for s in done if s.tpot_ms is not None]),
        "itl_ms": stats([g for s in done for g in s.itl_ms]),
        "e2e_ms": stats([s.e2e_ms for s in done if s.e2e_ms is not None]),
        "connect_ms": stats(connects), "connections_opened": len(connects),
    }
    if slos:
        good = sum(1 for s in done if meets(s, slos))
        out["goodput"] = {"slo_ms": {k.removesuffix("_ms"): v for k, v in slos.items()}, "good": good,
                          "requests_per_s": per_s(good),
                          "good_pct": round(100 * good / len(samples), 1) if samples else None}
    if first_wave:
        out["first_wave"] = _first_wave(samples, first_wave)
    out["over_time"] = over_time(samples, wall_s)
    return out


def _first_wave(samples: Sequence[Any], size: int) -> dict[str, Any]:
    ordered = sorted(samples, key=lambda s: (s.start_ms, s.index))
    first, rest = ordered[:size], ordered[size:]

    def ttfts(group: Sequence[Any]) -> list[float]:
        return [s.ttft_ms for s in group if s.ok and s.ttft_ms is not None]

    return {"requests": len(first), "ttft_ms": stats(ttfts(first)), "rest_ttft_ms": stats(ttfts(rest)),
            "connect_ms": stats([s.connect_ms for s in first if getattr(s, "connect_ms", None) is not None])}


def bucket_width(span_s: float) -> float:
    """The smallest step of 0.1, 0.2, 0.5, 1, 2, 5... s that cuts `span_s` into at most MAX_BUCKETS buckets."""
    for step in _BUCKET_STEPS:
        if span_s / step <= MAX_BUCKETS:
            return float(step)
    return float(math.ceil(span_s / MAX_BUCKETS))


def over_time(samples: Sequence[Any], wall_s: float) -> dict[str, Any]:
    """{"bucket_s": width, "buckets": [{t_s, started, completed, failed, requests_per_s, output_tokens_per_s,
    ttft_ms: {median, p90}, e2e_ms: {median, p90}, itl_ms: {median, p90}}]} over the run's span."""
    ends = [s.start_ms + (s.e2e_ms or 0.0) for s in samples]
    span = max([wall_s * 1000, *ends]) / 1000 if samples else wall_s
    width = bucket_width(max(span, 1e-3))
    count = max(1, math.ceil(span / width - 1e-9))
    rows = [{"started": 0, "completed": 0, "failed": 0, "tokens": 0.0, "ttft": [], "e2e": [], "itl": []}
            for _ in range(count)]

    def at(ms: float) -> dict[str, Any]:
        return rows[min(max(int(ms / 1000 / width), 0), count - 1)]

    for s, end in zip(samples, ends):
        at(s.start_ms)["started"] += 1
        row = at(end)
        if not s.ok:
            row["failed"] += 1
            continue
        row["completed"] += 1
        if s.ttft_ms is not None:
            row["ttft"].append(s.ttft_ms)
        if s.e2e_ms is not None:
            row["e2e"].append(s.e2e_ms)
        _spread_tokens(s, at)
    return {"bucket_s": width, "buckets": [_bucket(i * width, width, r) for i, r in enumerate(rows)]}


def _spread_tokens(s: Any, at: Any) -> None:
    """A request's output tokens and ITL gaps, placed at its text chunks' arrival times (start + TTFT + gaps)."""
    if s.ttft_ms is None:
        return
    t = s.start_ms + s.ttft_ms
    marks = [t]
    for gap in s.itl_ms:
        t += gap
        marks.append(t)
        at(t)["itl"].append(gap)
    per_chunk = (s.output_tokens or 0) / len(marks)
    for mark in marks:
        at(mark)["tokens"] += per_chunk


def _bucket(t_s: float, width: float, row: dict[str, Any]) -> dict[str, Any]:
    def two(values: list[float]) -> dict[str, float | None]:
        if not values:
            return {"median": None, "p90": None}
        ordered = sorted(values)
        return {"median": round(percentile(ordered, 50), 3), "p90": round(percentile(ordered, 90), 3)}

    return {"t_s": round(t_s, 3), "started": row["started"], "completed": row["completed"], "failed": row["failed"],
            "requests_per_s": round(row["completed"] / width, 3),
            "output_tokens_per_s": round(row["tokens"] / width, 3),
            "ttft_ms": two(row["ttft"]), "e2e_ms": two(row["e2e"]), "itl_ms": two(row["itl"])}
