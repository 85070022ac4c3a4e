"""Two runs compared metric by metric: A, B, the change, and whether it is beyond noise.

Contract: `compare(a, b) -> dict` (pure, deterministic: a fixed seed) and `view(result) -> list` of Rich renderables.
The result is `{"a", "b", "confidence", "resamples", "rows": [...]}`; each row names its metric and statistic, A's
and B's values as their reports state them, `change` ((B - A) / A in %; for the error rate, the difference in
percentage points: `change_unit` "pp"), which way is better, the 95 % bootstrap interval of the change and a `verdict`:

- "worse" / "better": the interval excludes 0 (B is worse or better than A beyond noise);
- "noise": the interval holds 0;
- "no samples": a report keeps no per-request samples (written without them), so nothing can be resampled;
- "too few samples": fewer than 10 samples, or fewer than 3 beyond the percentile (a p99 needs 300);
- "not tested": a figure with no per-request samples behind it (requests/s, tokens/s, goodput) is compared, never
  tested.

Bootstrap: each run's completed requests are resampled with replacement (1,000 times), and the percentile is
computed over the resampled requests' values; ITL resamples whole requests and pools their gaps, as bench pools
them, so the correlation of one request's gaps is kept. The work is bounded: 1,000 resamples while A and B hold
750 values each or fewer, then fewer (1.2 million values resampled per metric, at least 200 resamples, the number in the
row's `resamples`); a run with more than MAX_VALUES values is resampled from a random subset of its requests holding
about that many (a wider, conservative interval, said in the result's `subsampled`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

from aimux_cli.bench_report.runs import CORE_METRICS, RunData, metric_label, number

RESAMPLES = 1000  # at most; fewer (down to MIN_RESAMPLES) when A and B hold many values, to bound the work
MIN_RESAMPLES = 200
WORK = 1_200_000  # values resampled per metric at most (about a second)
CONFIDENCE = 0.95
MAX_VALUES = 3000
SEED = 0
_QUANTILES = (("median", 50.0, "p50"), ("p90", 90.0, "p90"), ("p99", 99.0, "p99"))
_RATES = (("requests_per_s", "throughput", "requests/s"), ("output_tokens_per_s", "throughput", "output tokens/s"))


def compare(a: RunData, b: RunData, resamples: int = RESAMPLES, seed: int = SEED) -> dict[str, Any]:
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    subsets: list[str] = []
    metrics = [m for m in a.metrics() if m in b.metrics()]
    for metric in [m for m in CORE_METRICS if m in metrics] + [m for m in metrics if m not in CORE_METRICS]:
        rows += _latency_rows(a, b, metric, resamples, rng, subsets)
    for key, _, unit in _RATES:
        rows.append(_row(key, unit, "", a.summary.get(key), b.summary.get(key), "higher", None, "not tested", unit))
    rows.append(_error_row(a, b, resamples, rng))
    goodput = _goodput(a), _goodput(b)
    if goodput != (None, None):
        rows.append(_row("goodput", "goodput", "", goodput[0], goodput[1], "higher", None, "not tested",
                         "requests/s"))
    side = (lambda r: {"label": r.label, "file": r.source, "requests": r.total(), "samples": r.has_samples})
    return {"a": side(a), "b": side(b), "confidence": CONFIDENCE, "resamples": resamples,
            "subsampled": subsets, "rows": rows}


def _row(metric: str, label: str, stat: str, a: Any, b: Any, better: str, interval: list[float] | None,
         verdict: str, unit: str = "ms") -> dict[str, Any]:
    a, b = number(a), number(b)
    change = None if a is None or b is None or a == 0 else round(100 * (b - a) / a, 2)
    return {"metric": metric, "stat": stat, "label": label, "unit": unit, "a": a, "b": b, "change": change,
            "change_unit": "%", "better": better, "interval": interval, "resamples": None, "verdict": verdict}


def _latency_rows(a: RunData, b: RunData, metric: str, resamples: int, rng: random.Random,
                  subsets: list[str]) -> list[dict[str, Any]]:
    name = "E2E" if metric == "e2e_ms" else metric_label(metric)
    nested = "." in metric  # a group's statistics (first_wave.ttft_ms): no per-request field to resample
    groups_a, groups_b = (None, None) if nested else (_sample_groups(a, metric, rng, subsets),
                                                      _sample_groups(b, metric, rng, subsets))
    both = groups_a is not None and groups_b is not None
    if both:
        values = sum(len(g) for g in groups_a) + sum(len(g) for g in groups_b)
        resamples = max(min(resamples, MIN_RESAMPLES), min(resamples, WORK // max(values, 1)))
    draws = _bootstrap(groups_a, groups_b, resamples, rng) if both else {}
    rows = []
    for stat, q, short in _QUANTILES:
        interval, verdict = None, "not tested" if nested else "no samples"
        if both:
            verdict = "too few samples"
            if _enough(groups_a, q) and _enough(groups_b, q):
                interval = _interval(draws[q])
                verdict = _verdict(interval, "lower")
        rows.append(_row(metric, f"{name} {short}", stat, a.stat(metric, stat), b.stat(metric, stat), "lower",
                         interval, verdict))
        rows[-1]["resamples"] = resamples if interval else None
    return rows


def _sample_groups(run: RunData, metric: str, rng: random.Random, subsets: list[str]) -> list[list[float]] | None:
    """The run's per-request values of `metric` (None without samples), cut to about MAX_VALUES values."""
    if not run.has_samples:
        return None
    groups = run.groups(metric)
    total = sum(len(g) for g in groups)
    if total > MAX_VALUES:
        keep = max(1, round(len(groups) * MAX_VALUES / total))
        groups = rng.sample(groups, keep)
        subsets.append(f"{run.label}: {metric_label(metric)} resampled from {keep} of its {len(run.groups(metric))} "
                       "requests")
    return groups


def _enough(groups: list[list[float]], q: float) -> bool:
    n = sum(len(g) for g in groups)
    return n >= 10 and n * (100 - q) / 100 >= 3


def _bootstrap(groups_a: list[list[float]], groups_b: list[list[float]], resamples: int,
               rng: random.Random) -> dict[float, list[float]]:
    """For each quantile, `resamples` draws of the change (B - A) / A in %, A and B resampled independently."""
    out: dict[float, list[float]] = {q: [] for _, q, _ in _QUANTILES}
    if not groups_a or not groups_b:
        return out
    draw_a, draw_b = _sampler(groups_a), _sampler(groups_b)
    for _ in range(resamples):
        qa, qb = _quantiles(draw_a(rng)), _quantiles(draw_b(rng))
        for q in out:
            if qa[q]:
                out[q].append(100 * (qb[q] - qa[q]) / qa[q])
    return out


def _sampler(groups: list[list[float]]):
    """A function of the generator drawing one bootstrap resample of the requests: their values, pooled."""
    if all(len(g) == 1 for g in groups):  # one value per request: resample the values themselves
        flat = [g[0] for g in groups]
        return lambda rng: rng.choices(flat, k=len(flat))
    return lambda rng: [v for g in rng.choices(groups, k=len(groups)) for v in g]


def _quantiles(values: list[float]) -> dict[float, float]:
    values.sort()
    return {q: _percentile(values, q) for _, q, _ in _QUANTILES}


def _percentile(ordered: list[float], q: float) -> float:
    pos = (len(ordered) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _interval(draws: list[float]) -> list[float] | None:
    if not draws:
        return None
    ordered = sorted(draws)
    tail = (1 - CONFIDENCE) / 2 * 100
    return [round(_percentile(ordered, tail), 2), round(_percentile(ordered, 100 - tail), 2)]


def _verdict(interval: list[float] | None, better: str) -> str:
    if interval is None:
        return "too few samples"
    lo, hi = interval
    if lo <= 0 <= hi:
        return "noise"
    higher = lo > 0
    return "better" if higher == (better == "higher") else "worse"


def _error_row(a: RunData, b: RunData, resamples: int, rng: random.Random) -> dict[str, Any]:
    rate_a, rate_b = _error_rate(a), _error_rate(b)
    row = _row("error_rate", "error rate", "", rate_a, rate_b, "lower", None, "no samples", "%")
    row["change"] = None if rate_a is None or rate_b is None else round(rate_b - rate_a, 2)
    row["change_unit"] = "pp"
    n_a, n_b = len(a.requests), len(b.requests)
    if n_a and n_b:
        if min(n_a, n_b) < 10:
            row["verdict"] = "too few samples"
            return row
        p_a = sum(r.get("status") != "ok" for r in a.requests) / n_a
        p_b = sum(r.get("status") != "ok" for r in b.requests) / n_b
        draws = [100 * (_binomial(rng, n_b, p_b) / n_b - _binomial(rng, n_a, p_a) / n_a) for _ in range(resamples)]
        row["interval"] = _interval(draws)
        row["resamples"] = resamples
        row["verdict"] = _verdict(row["interval"], "lower")
    return row


def _binomial(rng: random.Random, n: int, p: float) -> int:
    """Failures in a bootstrap resample of n requests of which a share p failed (a binomial draw): exact up to
    2,000 requests; past that, the normal approximation when it holds (variance 25 or more), else failures counted
    by geometric gaps between them (as few steps as there are failures)."""
    if p <= 0 or p >= 1:
        return round(n * p)
    if n <= 2000:
        return sum(rng.random() < p for _ in range(n))
    variance = n * p * (1 - p)
    if variance >= 25:
        return min(n, max(0, round(rng.gauss(n * p, math.sqrt(variance)))))
    rare = min(p, 1 - p)
    count, position, log_q = 0, 0, math.log(1 - rare)
    while True:
        position += int(math.log(1.0 - rng.random()) / log_q) + 1
        if position > n:
            break
        count += 1
    return count if rare == p else n - count


def _error_rate(run: RunData) -> float | None:
    failed, total = number(run.summary.get("failed")), run.total()
    return None if failed is None or not total else round(100 * failed / total, 3)


def _goodput(run: RunData) -> float | None:
    """Goodput in requests/s when the report has it: a number, or a dict holding one under a requests/s key."""
    value = run.summary.get("goodput")
    if isinstance(value, dict):
        value = next((value[k] for k in ("requests_per_s", "goodput_per_s", "per_s", "value") if k in value), None)
    return number(value)


# --- the terminal view ---

_VERDICT_TEXT = {"worse": ("yes: worse", "bold red"), "better": ("yes: better", "bold green"),
                 "noise": ("no (noise)", ""), "no samples": ("no samples: cannot tell", "yellow"),
                 "too few samples": ("too few samples", "yellow"), "not tested": ("not tested", "dim")}


def view(result: dict[str, Any]) -> list[Any]:
    from rich.table import Table
    from rich.text import Text

    from aimux_cli.render.sanitize import for_terminal

    a, b = result["a"], result["b"]
    head = Text()
    for name, side in (("A", a), ("B", b)):
        samples = "" if side["samples"] else " · no per-request samples"
        head.append(f"{name}: ", style="bold")
        head.append(f"{for_terminal(side['label'])} · {for_terminal(side['file'])} · {side['requests']} requests"
                    f"{samples}\n")
    from rich import box

    table = Table(title="B against A (latencies in ms)", title_justify="left", box=box.SIMPLE_HEAD)
    for name, justify in (("metric", "left"), ("A", "right"), ("B", "right"), ("change", "right"),
                          (f"{round(result['confidence'] * 100)} % interval", "right"), ("beyond noise?", "left")):
        table.add_column(name, justify=justify, no_wrap=name not in ("metric", "beyond noise?"))
    for row in result["rows"]:
        text, style = _VERDICT_TEXT[row["verdict"]]
        table.add_row(row["label"], _figure(row["a"], row), _figure(row["b"], row), _change(row),
                      _interval_text(row), Text(text, style=style))
    note = Text(f"change: (B − A) / A, error rate in percentage points; lower is better for latencies and "
                f"errors, higher for throughput. Interval: bootstrap over requests (up to "
                f"{result['resamples']:,} resamples); beyond noise when it excludes 0.", style="dim")
    views: list[Any] = [head, table, note]
    for line in result["subsampled"]:
        views.append(Text(for_terminal(line) + " (a wider, conservative interval)", style="dim"))
    return views


def _figure(value: float | None, row: dict[str, Any]) -> str:
    if value is None:
        return "–"
    if row["unit"] == "%":
        return f"{value:.1f} %"
    return f"{value:,.1f}" if abs(value) >= 100 else f"{value:,.2f}"


def _change(row: dict[str, Any]) -> str:
    return "–" if row["change"] is None else f"{row['change']:+.1f} {row['change_unit']}"


def _interval_text(row: dict[str, Any]) -> str:
    if not row["interval"]:
        return "–"
    lo, hi = row["interval"]
    return f"[{lo:+.1f}, {hi:+.1f}] {row['change_unit']}"


def pick_two(runs: Sequence[RunData]) -> tuple[RunData, RunData]:
    """The two runs to compare; a UsageError when the files hold any other number of runs."""
    from aimux_cli.errors import UsageError

    if len(runs) != 2:
        names = ", ".join(f"{r.label} ({r.source})" for r in runs)
        raise UsageError(f"compare takes two runs: the files given hold {len(runs)} ({names})")
    return runs[0], runs[1]
