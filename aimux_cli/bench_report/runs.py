"""Bench reports read back: a JSON file that `aimux bench provider -o FILE` (or `-f json`) wrote -> its runs.

Contract: `load(path) -> list[RunData]` (an InputError, exit 4, naming the file when it is unreadable, not JSON or
not a bench provider report); `label_runs(runs)` gives each run a short label, unique among them; the series
functions (`interval_for`, `latency_over_time`, `tokens_over_time`, `requests_over_time`) are pure.

A report is `{"meta", "summary", "requests"}`; a file may also hold several, as `{"runs": [report, ...]}` or a JSON
array of reports. Only `summary` is required: `requests` (the samples) may be absent, and then what needs them
(histograms, series over time, bootstrap intervals) says so instead of being drawn. Fields a newer bench adds are
shown when present and never required: any summary entry shaped like the latency stats (`{"median": ...}`) is a
metric, any other meta or summary entry a parameter. Values of the wrong type are skipped, never trusted: a number
must be a finite int or float.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from aimux_cli.errors import InputError

# The four metrics bench measures, in the order they are shown; other stat-shaped summary entries follow them.
CORE_METRICS = ("ttft_ms", "itl_ms", "tpot_ms", "e2e_ms")
METRIC_LABELS = {"ttft_ms": "TTFT", "itl_ms": "ITL", "tpot_ms": "TPOT", "e2e_ms": "E2E latency",
                 "connect_ms": "connect", "first_wave.ttft_ms": "TTFT, first wave",
                 "first_wave.rest_ttft_ms": "TTFT, after the first wave",
                 "first_wave.connect_ms": "connect, first wave"}
STAT_KEYS = ("mean", "median", "p90", "p95", "p99", "min", "max")
_NICE_STEPS = (0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)


LIMIT = 1e15  # beyond this a figure is no measurement (1e15 ms is 31,000 years): read as missing, never drawn


def number(value: Any) -> float | None:
    """`value` as a float when it is a JSON number (not a bool) of magnitude below LIMIT, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if -LIMIT < value < LIMIT else None


@dataclass
class RunData:
    """One run of a report: what bench wrote, and where it came from."""

    source: str  # the file it was read from
    meta: dict[str, Any]
    summary: dict[str, Any]
    requests: list[dict[str, Any]] = field(default_factory=list)  # the samples; empty when the report has none
    label: str = ""
    _groups: dict[str, list[list[float]]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def has_samples(self) -> bool:
        return bool(self.requests)

    def ok(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r.get("status") == "ok"]

    def groups(self, metric: str) -> list[list[float]]:
        """The values of `metric` per completed request: one value each, or a request's gaps for a list (ITL).
        Computed once per metric (a large run pools millions of gaps)."""
        if metric not in self._groups:
            self._groups[metric] = [g for g in map(_values_of, (r.get(metric) for r in self.ok())) if g]
        return self._groups[metric]

    def values(self, metric: str) -> list[float]:
        """Every sample of `metric` over the completed requests (ITL's gaps pooled, as bench pools them)."""
        return [v for group in self.groups(metric) for v in group]

    def metrics(self) -> list[str]:
        """The summary's stat-shaped entries: the core four first (when present), then any others in file order;
        one level down too, as "group.metric" (bench's first_wave.ttft_ms), after the top-level ones."""
        found = [k for k, v in self.summary.items() if is_stats(v)]
        nested = [f"{k}.{sub}" for k, v in self.summary.items() if isinstance(v, dict) and not is_stats(v)
                  for sub, w in v.items() if is_stats(w)]
        return [m for m in CORE_METRICS if m in found] + [m for m in found if m not in CORE_METRICS] + nested

    def stat(self, metric: str, key: str) -> float | None:
        entry: Any = self.summary
        for part in metric.split("."):
            entry = entry.get(part) if isinstance(entry, dict) else None
        return number(entry.get(key)) if isinstance(entry, dict) else None

    def total(self) -> int:
        done, failed = number(self.summary.get("completed")), number(self.summary.get("failed"))
        if done is None and failed is None:
            return len(self.requests)
        return int((done or 0) + (failed or 0))


def _values_of(value: Any) -> list[float]:
    """A request's value of a metric as a list of numbers: [] for none, [v] for one, the numbers of a list."""
    if isinstance(value, list):
        if all((type(v) is float or type(v) is int) and -LIMIT < v < LIMIT for v in value):
            return value  # the common case, checked without a call per value
        return [v for v in map(number, value) if v is not None]
    one = number(value)
    return [] if one is None else [one]


def is_stats(value: Any) -> bool:
    """Whether a summary entry is a latency statistics block ({"median": ..., "p90": ...})."""
    return isinstance(value, dict) and "median" in value


def metric_label(metric: str) -> str:
    if metric in METRIC_LABELS:
        return METRIC_LABELS[metric]
    group, _, name = metric.rpartition(".")
    name = METRIC_LABELS.get(name, name.removesuffix("_ms").replace("_", " "))
    return f"{name}, {group.replace('_', ' ')}" if group else name


def load(path: str) -> list[RunData]:
    """The runs in the report file at `path` ("-" for stdin)."""
    from aimux_cli.inputs import load_json, read_source

    source = read_source(path)
    return runs_of(load_json(source), path)


def runs_of(doc: Any, source: str) -> list[RunData]:
    """The runs a decoded report holds; an InputError when it holds none."""
    if isinstance(doc, dict) and isinstance(doc.get("runs"), list):
        items = doc["runs"]
    elif isinstance(doc, list):
        items = doc
    else:
        items = [doc]
    runs = [_run(item, source) for item in items]
    if not runs:
        raise InputError(f"{source}: holds no bench run")
    return runs


def _run(item: Any, source: str) -> RunData:
    if not (isinstance(item, dict) and isinstance(item.get("summary"), dict)):
        raise InputError(f"{source}: not a bench provider report (no summary): write one with "
                         "`aimux bench provider -o FILE`")
    meta = item.get("meta") if isinstance(item.get("meta"), dict) else {}
    requests = item.get("requests") if isinstance(item.get("requests"), list) else []
    return RunData(source, meta, item["summary"], [r for r in requests if isinstance(r, dict)])


def label_runs(runs: list[RunData]) -> None:
    """Label each run `provider · model`; runs that would share a label get their file's name, then a number."""
    import os

    for run in runs:
        parts = [str(run.meta[k]) for k in ("provider", "model") if isinstance(run.meta.get(k), (str, int, float))]
        run.label = " · ".join(parts) or os.path.basename(run.source)
    for attempt in ("file", "number"):
        seen: dict[str, int] = {}
        for run in runs:
            seen[run.label] = seen.get(run.label, 0) + 1
        for i, run in enumerate(runs):
            if seen[run.label] > 1:
                run.label += f" ({os.path.basename(run.source)})" if attempt == "file" else f" #{i + 1}"


# --- series over time (pure) ---

def interval_for(span_s: float, buckets: int = 30) -> float:
    """A round interval width (seconds) that cuts `span_s` into about `buckets` intervals (never many more), at
    least 0.1 s; whole hours past the longest round step."""
    want = span_s / buckets if math.isfinite(span_s) and span_s > 0 else 0.0
    if want > _NICE_STEPS[-1]:
        return math.ceil(want / _NICE_STEPS[-1]) * _NICE_STEPS[-1]
    return next(step for step in _NICE_STEPS if step >= want)


def span_s(runs: list[RunData]) -> float:
    """Seconds from the first start to the last end over the runs' samples (0 when none has a start)."""
    ends = [_start(r) + (number(r.get("e2e_ms")) or 0) / 1000 for run in runs for r in run.requests
            if number(r.get("start_ms")) is not None]
    return max(ends, default=0.0)


def _start(r: dict[str, Any]) -> float:
    return (number(r.get("start_ms")) or 0.0) / 1000


def latency_over_time(run: RunData, metric: str, width: float) -> list[tuple[float, float]]:
    """(middle of an interval in s, median of `metric` over the completed requests started in it), by start time."""
    buckets: dict[int, list[float]] = {}
    for r in run.ok():
        value = number(r.get(metric))
        if value is not None and number(r.get("start_ms")) is not None:
            buckets.setdefault(int(_start(r) // width), []).append(value)
    return [((i + 0.5) * width, _median(v)) for i, v in sorted(buckets.items())]


def tokens_over_time(run: RunData, width: float) -> list[tuple[float, float]]:
    """(middle of an interval, output tokens/s in it): each request's tokens spread evenly from its first token to
    its last byte, so a long answer counts in every interval it was streaming in, not only where it ended."""
    totals: dict[int, float] = {}
    for r in run.ok():
        tokens, ttft, e2e = number(r.get("output_tokens")), number(r.get("ttft_ms")), number(r.get("e2e_ms"))
        if tokens is None or e2e is None or number(r.get("start_ms")) is None:
            continue
        begin = _start(r) + (ttft if ttft is not None else e2e) / 1000
        end = _start(r) + e2e / 1000
        _spread(totals, begin, end, tokens, width)
    if not totals:
        return []
    last, end = max(totals), span_s([run])
    return [((i + 0.5) * width, totals.get(i, 0.0) / _covered(i, last, width, end)) for i in _shown(last, width, end)]


def requests_over_time(run: RunData, width: float) -> dict[str, list[tuple[float, float]]]:
    """{"completed", "failed"}: requests/s per interval, completed ones by when they ended, failed by their start."""
    counts: dict[str, dict[int, int]] = {"completed": {}, "failed": {}}
    for r in run.requests:
        if number(r.get("start_ms")) is None:
            continue
        if r.get("status") == "ok":
            at = _start(r) + (number(r.get("e2e_ms")) or 0) / 1000
            kind = "completed"
        else:
            at, kind = _start(r), "failed"
        index = int(at // width)
        counts[kind][index] = counts[kind].get(index, 0) + 1
    last = max((i for c in counts.values() for i in c), default=-1)
    end = span_s([run])
    return {kind: [((i + 0.5) * width, c.get(i, 0) / _covered(i, last, width, end)) for i in _shown(last, width, end)]
            for kind, c in counts.items()}


def _covered(index: int, last: int, width: float, end: float) -> float:
    """The seconds of interval `index` the run covered: `width`, except the last one, which the run's end may cut
    (a rate over a whole interval would show a drop at the end that is only the run stopping)."""
    part = end - index * width
    return part if index == last and 0 < part < width else width


def _shown(last: int, width: float, end: float) -> range:
    """The intervals a rate is drawn for: all but a last one the run covered less than half of (its few events
    over a sliver of time would be a spike or a drop that only says the run stopped), unless it is the only one."""
    if last > 0 and end - last * width < width / 2:
        return range(last)
    return range(last + 1)


def _spread(totals: dict[int, float], begin: float, end: float, amount: float, width: float) -> None:
    if end <= begin:
        index = int(end // width)
        totals[index] = totals.get(index, 0.0) + amount
        return
    rate = amount / (end - begin)
    t = begin
    while t < end:
        index = int(t // width)
        upto = min(end, (index + 1) * width)
        if upto <= t:  # float rounding at a boundary: step into the next interval
            upto = min(end, t + width * 1e-9)
        totals[index] = totals.get(index, 0.0) + rate * (upto - t)
        t = upto


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def reported_over_time(run: RunData, key: str) -> list[tuple[float, float]]:
    """The same series from the report's own `summary.over_time` buckets, for a report without samples: `key` is
    "ttft_ms" / "e2e_ms" (their median), "output_tokens_per_s" or "completed" (per second)."""
    block = run.summary.get("over_time")
    buckets = block.get("buckets") if isinstance(block, dict) else None
    if not isinstance(buckets, list):
        return []
    width = number(block.get("bucket_s")) or 0.0
    out = []
    for bucket in buckets:
        if not isinstance(bucket, dict) or number(bucket.get("t_s")) is None:
            continue
        value = bucket.get(key)
        value = number(value.get("median")) if isinstance(value, dict) else number(value)
        if key == "completed" and value is not None:
            value = value / width if width else None
        if value is not None:
            out.append((number(bucket["t_s"]) + width / 2, value))
    return out
