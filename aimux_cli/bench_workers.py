"""`aimux bench provider --processes N`: one measured run spread over N worker processes, and the event loop each uses.

Contract: `measure(job, processes, on_sample) -> (Run, client)`: with one process the run happens here, in this
process; with more, each worker (multiprocessing, "spawn": no state inherited from the parent's threads) runs its own
event loop with its share of the plan (split_plan: the concurrency, rate, requests and warm-up divided as evenly as
they go, each worker its own Poisson seed) and sends its samples back as they complete. The samples are merged whole
(re-indexed by start time, each marked with its worker), so every percentile is computed over all of them, exactly as
one process measuring them would (bench_stats.summarize); nothing is averaged across workers.

Workers start measuring together: each warms up, says so, and waits for a common start time (time.monotonic() is
one clock for every process on the machine), which is also the zero of every sample's start_ms. A warm-up failure in
any worker stops them all (bench.WarmupFailed). Workers ignore SIGINT themselves: the parent's first Ctrl-C (from
the terminal or a `kill -INT` of the parent alone) raises a shared stop flag, on which each worker cancels its run as
asyncio.run would on Ctrl-C, ending its measured phase and sending what finished; the merged run is marked
`interrupted`. A second Ctrl-C stops waiting for them.

The loop: uvloop when installed (`pip install 'aimux[fast]'`; it roughly halves the client's CPU per chunk) unless
`--loop asyncio`; without it, asyncio's, silently. `client` (client_report) names the loop, gives each process's CPU
use and event-loop lag, and says when the client itself is the bottleneck: a process above BUSY_PCT of a CPU, or lag
that grows over the run or is large, which delays the very chunks being timed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import queue as queue_mod
import time
from collections.abc import Callable, Sequence
from typing import Any

from aimux_cli.bench import Plan, Run, Sample, WarmupFailed
from aimux_cli.bench_stats import percentile, stats

BUSY_PCT = 80.0  # a process using more of a CPU than this is too busy to time chunks faithfully
LAG_P90_MS = 5.0  # event-loop lag beyond this (p90) delays chunk timestamps visibly
LAG_GROWTH_MS = 1.0  # median lag of the run's last third above its first third's by this much: falling behind
FLUSH_S = 0.1  # a worker sends its finished samples at least this often (the parent's progress bar)


@dataclasses.dataclass(frozen=True)
class Job:
    """What every worker needs, picklable: the requests (used in turn), their wire, the plan, the options."""

    prepared: tuple  # request.PreparedRequest, one or more
    wire: str
    plan: Plan
    timeout: float
    loop: str = "auto"  # auto | asyncio | uvloop


# --- the event loop ---

def loop_factory(name: str) -> tuple[Callable[[], Any] | None, str]:
    """(a new-event-loop function for asyncio.Runner or None for asyncio's, the loop's name): uvloop for "uvloop"
    (ImportError when it is missing) and for "auto" when installed."""
    if name in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if name == "uvloop":
                raise
        else:
            return uvloop.new_event_loop, "uvloop"
    return None, "asyncio"


def run_async(coro_fn: Callable[[], Any], loop: str) -> tuple[Any, str]:
    """Run `coro_fn()` to completion on the chosen loop: (its result, the loop's name). Ctrl-C behaves as in
    asyncio.run (the main task is cancelled; KeyboardInterrupt when it does not end on its own)."""
    import asyncio

    factory, name = loop_factory(loop)
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro_fn()), name


# --- the plan, split ---

def processes_for(wanted: str | int | None, plan: Plan) -> int:
    """The worker count: "auto" is the CPUs this process may use; never more than the requests in flight (closed
    loop) or the requests asked for. ValueError for anything but a positive number or "auto"."""
    if wanted in (None, "", 1, "1"):
        return 1
    if wanted == "auto":
        n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    else:
        try:
            n = int(wanted)  # type: ignore[arg-type]
        except ValueError:
            raise ValueError(f"--processes: {wanted!r} is not a number or auto") from None
        if n < 1:
            raise ValueError("--processes must be positive (or auto)")
    if not plan.rate:
        n = min(n, plan.in_flight() or 1)
    if plan.requests is not None and plan.duration is None:
        n = min(n, plan.requests)
    return max(1, n)


def _share(total: int, n: int, i: int) -> int:
    return total // n + (1 if i < total % n else 0)


def split_plan(plan: Plan, n: int) -> list[Plan]:
    """`plan` cut into `n` shares: concurrency, requests and warm-up divided as evenly as they go (a worker with
    concurrency keeps at least one warm-up request when the plan has any, to open its connections), the rate
    divided by n, the Poisson seed made distinct per worker. Duration is every worker's."""
    out = []
    for i in range(n):
        concurrency = None if plan.concurrency is None else max(1, _share(plan.concurrency, n, i))
        requests = None if plan.requests is None else _share(plan.requests, n, i)
        warmup = max(1, _share(plan.warmup, n, i)) if plan.warmup else 0
        out.append(dataclasses.replace(
            plan, concurrency=concurrency, requests=requests, warmup=warmup,
            rate=None if plan.rate is None else plan.rate / n,
            seed=None if plan.seed is None else plan.seed * 1000 + i))
    return out


# --- one process or many ---

def measure(job: Job, processes: int, on_sample: Callable[[Sample], None] | None = None, *,
            log: int = 0) -> tuple[Run, dict[str, Any]]:
    """The run, in this process or spread over `processes` workers; (merged Run, client_report(...))."""
    if processes <= 1:
        from aimux_cli import bench

        def main() -> Any:
            return bench.run(list(job.prepared), job.wire, job.plan, timeout=job.timeout, on_sample=on_sample,
                             log=log)

        result, loop = run_async(main, job.loop)
        return result, client_report([result.client], loop)
    return _spread(job, processes, on_sample)


def _spread(job: Job, n: int, on_sample: Callable[[Sample], None] | None) -> tuple[Run, dict[str, Any]]:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    messages = ctx.Queue()
    start = ctx.Value("d", 0.0)  # > 0: the common start (monotonic); < 0: abort (a warm-up failed)
    stop = ctx.Value("b", 0)  # 1: Ctrl-C, every worker ends its run
    plans = split_plan(job.plan, n)
    procs = [ctx.Process(target=_worker, args=(i, n, job, plans[i], messages, start, stop), daemon=True,
                         name=f"aimux-bench-{i}") for i in range(n)]
    for proc in procs:
        proc.start()
    state = _Collect(n, on_sample)
    try:
        state.collect(messages, procs, start, stop)
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
    if state.warmup_failed is not None:
        raise WarmupFailed(state.warmup_failed)
    if state.crashed:
        from aimux_cli.errors import AimuxError

        raise AimuxError(f"bench worker failed: {state.crashed[0]}")
    if len(state.runs) < n:  # Ctrl-C before every worker had warmed up: nothing comparable was measured
        raise KeyboardInterrupt
    return state.merged(), client_report([r.client for r in state.runs], state.loop)


class _Collect:
    """The parent's side: readiness, samples as they come, each worker's end; Ctrl-C waits for the workers."""

    def __init__(self, n: int, on_sample: Callable[[Sample], None] | None) -> None:
        self.n, self.on_sample = n, on_sample
        self.ready = 0
        self.runs: list[Run] = []
        self.samples: list[Sample] = []
        self.warmup_failed: Sample | None = None
        self.crashed: list[str] = []
        self.interrupted = False
        self.loop = "asyncio"

    def collect(self, messages: Any, procs: Sequence[Any], start: Any, stop: Any) -> None:
        """Until every worker has ended. A first Ctrl-C (which the workers get too: they end their measured phase
        and report) is noted; a second one stops waiting (KeyboardInterrupt)."""
        import signal

        def on_sigint(*_: Any) -> None:
            if self.interrupted:
                raise KeyboardInterrupt
            self.interrupted = True
            stop.value = 1

        previous = signal.signal(signal.SIGINT, on_sigint)
        try:
            self._collect(messages, procs, start)
        finally:
            signal.signal(signal.SIGINT, previous)

    def _collect(self, messages: Any, procs: Sequence[Any], start: Any) -> None:
        ended = 0
        while ended < self.n:
            try:
                msg = messages.get(timeout=0.2)
            except queue_mod.Empty:
                if not any(p.is_alive() for p in procs):
                    self.crashed = self.crashed or ["a worker process ended without its samples"]
                    return
                continue
            kind = msg[0]
            if kind == "ready":
                self.ready += 1
                self.loop = msg[2]
                if self.ready == self.n and start.value == 0.0:
                    start.value = time.monotonic() + 0.05  # every worker sleeps until then
            elif kind == "samples":
                self._add(msg[2])
            elif kind in ("done", "warmup_failed", "crashed", "interrupted"):
                ended += 1
                self._ended(kind, msg, start)

    def _add(self, samples: list[Sample]) -> None:
        self.samples += samples
        if self.on_sample is not None:
            for sample in samples:
                self.on_sample(sample)

    def _ended(self, kind: str, msg: tuple, start: Any) -> None:
        if kind == "done":
            self.runs.append(msg[2])
            self.runs.sort(key=lambda r: r.client.get("worker", 0))
        elif kind == "warmup_failed":
            self.warmup_failed = self.warmup_failed or msg[2]
            start.value = -1.0
        elif kind == "crashed":
            self.crashed.append(msg[2])
            start.value = start.value if start.value > 0 else -1.0
        else:  # interrupted during the warm-up
            self.interrupted = True
            start.value = start.value if start.value > 0 else -1.0

    def merged(self) -> Run:
        ordered = sorted(self.samples, key=lambda s: (s.start_ms, s.worker, s.index))
        for i, sample in enumerate(ordered):
            sample.index = i
        return Run(ordered, max(r.wall_s for r in self.runs), min(r.started_at for r in self.runs),
                   self.interrupted or any(r.interrupted for r in self.runs))


def _worker(wid: int, n: int, job: Job, plan: Plan, messages: Any, start: Any, stop: Any) -> None:
    """A worker process: warm up, wait for the common start, measure its share, send samples as they finish."""
    import signal

    from aimux_cli import bench

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides: `stop`

    pending: list[Sample] = []
    last = [time.monotonic()]
    _, loop_name = loop_factory(job.loop)

    def on_sample(sample: Sample) -> None:
        sample.worker, sample.exchange = wid, None
        pending.append(sample)
        if time.monotonic() - last[0] >= FLUSH_S:
            flush()

    def flush() -> None:
        if pending:
            messages.put(("samples", wid, pending[:]))
            pending.clear()
        last[0] = time.monotonic()

    async def start_at() -> float | None:
        messages.put(("ready", wid, loop_name))
        while start.value == 0.0:
            await asyncio.sleep(0.005)
        if start.value < 0:
            raise _Abort
        return start.value

    async def main() -> Any:
        task = asyncio.current_task()

        async def watch() -> None:  # Ctrl-C, as asyncio.run has it: cancel the main task
            while not stop.value:
                await asyncio.sleep(0.05)
            task.cancel()  # type: ignore[union-attr]

        watcher = asyncio.create_task(watch())
        try:
            return await bench.run(list(job.prepared), job.wire, plan, timeout=job.timeout, on_sample=on_sample,
                                   start_at=start_at, pick=lambda i: i * n + wid)
        finally:
            watcher.cancel()

    try:
        result, _ = run_async(main, job.loop)
    except WarmupFailed as exc:
        exc.sample.exchange = None
        messages.put(("warmup_failed", wid, exc.sample))
    except (_Abort, KeyboardInterrupt, asyncio.CancelledError):  # stopped before measuring
        messages.put(("interrupted", wid, None))
    except Exception as exc:  # noqa: BLE001  # the parent reports it in one line, scrubbed of the key
        from aimux_cli.request import redact

        why = " ".join(redact(f"{type(exc).__name__}: {exc}", job.prepared[0].secrets).split())
        messages.put(("crashed", wid, why[:300]))
    else:
        flush()
        result.samples = []  # already sent
        result.client["worker"] = wid
        messages.put(("done", wid, result))
    messages.close()
    messages.join_thread()


class _Abort(Exception):
    """Another worker's warm-up failed (or Ctrl-C came first): this one measures nothing."""


# --- the client's own load ---

def client_report(clients: Sequence[dict[str, Any]], loop: str) -> dict[str, Any]:
    """{processes, loop, workers: [{pid, cpu_s, cpu_pct, lag_ms: stats, lag_growth_ms, start_late_ms: stats (open
    loop)}], bottleneck, bottleneck_reason}: whether the client itself limited what it measured (module docstring)."""
    workers, reasons = [], []
    for i, c in enumerate(clients):
        values = list(c.get("lag_ms") or [])
        growth = _growth(values)
        workers.append({"worker": i, "pid": c.get("pid"), "cpu_s": c.get("cpu_s"), "cpu_pct": c.get("cpu_pct"),
                        "lag_ms": stats(values), "lag_growth_ms": growth})
        who = f"process {i}" if len(clients) > 1 else "the client"
        if (c.get("cpu_pct") or 0) > BUSY_PCT:
            reasons.append(f"{who} used {c['cpu_pct']:.0f}% of a CPU")
        p90 = percentile(sorted(values), 90) if values else 0.0
        idle = (c.get("cpu_pct") or 0) < BUSY_PCT / 2  # late while mostly idle: other work held the CPU
        because = " while using little CPU (other processes held the machine)" if idle else ""
        late = list(c.get("start_late_ms") or [])
        late_growth = _growth(late)
        workers[-1]["start_late_ms"] = stats(late) if late else None
        if late_growth is not None and late_growth > LAG_GROWTH_MS:
            reasons.append(f"{who}'s scheduled starts fell further behind over the run (+{late_growth:.1f} ms)"
                           f"{because}")
        if p90 > LAG_P90_MS:
            reasons.append(f"{who}'s event loop ran {p90:.1f} ms late (p90){because}")
        elif growth is not None and growth > LAG_GROWTH_MS:
            reasons.append(f"{who}'s event loop fell behind over the run (+{growth:.1f} ms){because}")
    reason = None
    if reasons:
        reason = ("; ".join(reasons) + ": the client is the bottleneck, its timings are inflated (give it more "
                  "CPU: --processes, `pip install 'aimux[fast]'` for uvloop, a quieter machine)")
    return {"processes": len(clients), "loop": loop, "workers": workers, "bottleneck": bool(reasons),
            "bottleneck_reason": reason}


def _growth(values: list[float]) -> float | None:
    """Median lag of the last third of the run minus that of the first third (ms); None for a short run."""
    if len(values) < 9:
        return None
    third = len(values) // 3
    first, last = sorted(values[:third]), sorted(values[-third:])
    return round(percentile(last, 50) - percentile(first, 50), 3)
