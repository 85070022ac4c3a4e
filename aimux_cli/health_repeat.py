"""Repeated probes of `aimux test-providers` (--repeat N, --watch): runs of every target -> one summary per check.

    history = asyncio.run(probe(targets, 30, runs=3, interval=5.0))   # [[ProviderResult per run] per target]
    doc = report(history, started, min_pass_rate=100.0)              # the report, with "runs" per provider/check

Each target runs its checks again and again, at most one run in flight per provider: a run starts `interval`
seconds after the previous one started, or as soon as it ended when it took longer. Providers run concurrently.
`runs=None` repeats until `stop` is set (--watch ends on Ctrl-C); the run in flight is then dropped, and the runs
that finished are summarized. A target that is not checked (no key) is reported once.

Per check: `runs` = {"count", "passed", "pass_rate" (0..1), "latency_ms": {"p50", "p95", "max"} (nearest-rank, over
the runs in which the check ran; None when it never ran)}; the check passes when its pass rate reaches
`min_pass_rate` percent, and its other fields are those of its latest run that did not pass (else its latest run),
so the error says what went wrong last (for a run in which it did not run: which earlier check failed, and its
category). A provider passes when all its checks do.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from typing import Any


async def probe(targets: Sequence[Any], timeout: float, *, runs: int | None, interval: float,
                on_run: Callable[[int, list], None] | None = None,
                stop: asyncio.Event | None = None) -> list[list[Any]]:
    """The results of every run of every target; `on_run(index, that target's results)` after each run."""
    from aimux_cli import health

    stop = stop or asyncio.Event()
    history: list[list[Any]] = [[] for _ in targets]

    async def series(index: int, target: Any, session: Any) -> None:
        while runs is None or len(history[index]) < runs:
            began = time.monotonic()
            run = asyncio.ensure_future(health.check_target(session, target, timeout))
            halt = asyncio.ensure_future(stop.wait())
            await asyncio.wait({run, halt}, return_when=asyncio.FIRST_COMPLETED)
            halt.cancel()
            if not run.done():  # stopped: the run in flight does not count
                run.cancel()
                await asyncio.gather(run, return_exceptions=True)
                return
            history[index].append(run.result())
            if on_run is not None:
                on_run(index, history[index])
            if target.resolved is None or (runs is not None and len(history[index]) >= runs):
                return
            wait = interval - (time.monotonic() - began)
            if wait > 0:
                try:
                    await asyncio.wait_for(stop.wait(), wait)
                except TimeoutError:
                    pass
            if stop.is_set():
                return

    async with health.session_for(targets) as session:
        await asyncio.gather(*(series(i, t, session) for i, t in enumerate(targets)))
    return history


def summary(results: Sequence[Any], min_pass_rate: float) -> dict[str, Any]:
    """One provider's runs -> its report entry with "runs" (count) and a "runs" summary per check."""
    last = results[-1]
    out = last.to_dict()
    out["runs"] = len(results)
    if last.status == "skip":
        return out
    checks = []
    for i, name in enumerate(c.name for c in last.checks):
        series = [r.checks[i] for r in results if i < len(r.checks)]
        latencies = sorted(c.latency_ms for c in series if c.latency_ms is not None)
        passed = sum(1 for c in series if c.status == "pass")
        rate = passed / len(series)
        missed = next((j for j in reversed(range(len(series))) if series[j].status != "pass"), None)
        entry = series[-1 if missed is None else missed].to_dict()
        if missed is not None and series[missed].status == "skip":  # an earlier check of that run failed
            gate = next((c for c in results[missed].checks if c.status == "fail"), None)
            if gate is not None:
                entry["error"] = f"not run: the {gate.name} check failed ({gate.error})"
                entry["category"] = gate.category
        entry["status"] = "pass" if rate * 100 >= min_pass_rate - 1e-9 else "fail"
        entry["runs"] = {"count": len(series), "passed": passed, "pass_rate": round(rate, 4),
                         "latency_ms": {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
                                        "max": latencies[-1] if latencies else None}}
        checks.append(entry)
    out["checks"] = checks
    out["status"] = "fail" if any(c["status"] == "fail" for c in checks) else "pass"
    return out


def report(history: Sequence[Sequence[Any]], started: float | None, min_pass_rate: float) -> dict[str, Any]:
    """The report of repeated runs: the shape of health.report, providers summarized, plus min_pass_rate."""
    from aimux_cli import __version__
    from aimux_cli.health import iso_utc

    providers = [summary(results, min_pass_rate) for results in history if results]
    counts = {s: sum(1 for p in providers if p["status"] == s) for s in ("pass", "fail", "skip")}
    return {"aimux_version": __version__, "started_at": iso_utc(started), "min_pass_rate": min_pass_rate,
            "providers": providers, "passed": counts["pass"], "failed": counts["fail"], "skipped": counts["skip"]}


def percentile(ordered: Sequence[int], p: float) -> int | None:
    """The nearest-rank percentile of sorted values; None when there are none."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]
