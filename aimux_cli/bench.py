"""`aimux bench provider`: load generation against one provider, in one process (bench_workers.py spreads it over
several); the statistics are in bench_stats.py (re-exported here).

Contract: `run(prepared, wire, plan, timeout=...) -> Run` (async; drives streamed requests through client_lean.py or
client.py; `prepared` is one streamed request.PreparedRequest or a list of them, used in turn by request index).
Definitions follow vLLM's `benchmark_serving`, guidellm and genai-perf:

- TTFT: the request's start, before a connection is looked for or made (so TCP and TLS set-up count, as in vLLM and
  guidellm) -> the first body chunk that carries answer or reasoning text (a role-only or empty first chunk, which
  vLLM would count, does not). Connect time (TCP + TLS of a new connection) is reported apart, per request.
- E2E latency: the same start -> the last body byte.
- Output tokens: the provider's usage (streams ask for it where the API allows, e.g. `stream_options.include_usage`;
  Gemini's thought tokens are added, as its candidate count leaves them out); when a stream reports none, the number
  of text-carrying events, marked `tokens_estimated`.
- TPOT = (E2E - TTFT) / (output tokens - 1); ITL = the gaps between consecutive text-carrying chunks, pooled over
  requests. Chunks are timestamped as they leave the transport, before any parsing. Streams go through
  client_lean.LeanSession (a few µs per chunk where httpx's async layers cost hundreds, which would delay the very
  chunks being timed), or client_async.AsyncSession when a proxy variable applies to the URL.

Load: without a rate, `concurrency` requests are kept in flight (closed loop). With `rate`, request starts follow a
Poisson process (exponential gaps, mean 1/rate; open loop) and `concurrency`, when given, caps the requests in
flight; each sample notes how late its start was against the schedule (`late_ms`). Warm-up requests run first and
are not counted; the first one that fails stops the run (WarmupFailed: its message, its category's exit code), since
what would follow measures a broken setup. Requests are never retried: a retry would hide the failure and distort
the timings.

The client watches itself: the CPU time the process used during the measured phase, and the event loop's lag (a
ticker every LAG_TICK_S notes how late it wakes), both in `Run.client`; a client that is busy or late distorts what it
measures (bench_workers.client_report says so in the report).

Failures never end a run: whatever one request meets (an HTTP error, a dropped connection, bytes that are not HTTP, a
reply the wire parser cannot read, no file descriptor left) becomes its Sample (bench_request.measure), with an error
category (the exit-code categories in CATEGORIES) and a one-line message scrubbed of secrets; the summary keeps the
first message of each category. Everything a request's handling may import is imported before the first socket
opens (bench_request.preload), and `fit_descriptors` sizes the run to RLIMIT_NOFILE, so running out of descriptors
shows as failed samples saying so, never as a crash. Ctrl-C (asyncio.run cancels the main task) ends the measured
phase: the requests that finished make the Run, marked `interrupted`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from aimux_cli.bench_stats import (  # noqa: F401  # the statistics, re-exported for bench's callers
    CATEGORIES,
    STAT_KEYS,
    histogram,
    parse_slos,
    percentile,
    stats,
    summarize,
)
from aimux_cli.errors import AimuxError, ExitCode

_CATEGORY_OF = {ExitCode.AUTH: "auth", ExitCode.RATE_LIMIT: "rate_limit", ExitCode.NETWORK: "network",
                ExitCode.INCOMPLETE: "incomplete"}
EXIT_CODES = {category: code for code, category in _CATEGORY_OF.items()} | {"provider": ExitCode.PROVIDER}
FD_RESERVE = 64  # descriptors kept for all that is not a connection: interpreter, event loop, DNS threads, files
METRICS = ("ttft_ms", "tpot_ms", "itl_ms", "e2e_ms")
UNCAPPED_CONNECTIONS = 1000  # pool size for an open loop without a concurrency cap
LAG_TICK_S = 0.02  # how often the event loop's lag is sampled


# --- load shapes and categories ---

def poisson_offsets(rate: float, rng: random.Random) -> Iterator[float]:
    """Start times (seconds from 0) of a Poisson process: the first at 0, then exponential gaps of mean 1/rate."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    t = 0.0
    while True:
        yield t
        t += rng.expovariate(rate)


def category(exc: BaseException) -> str:
    """The error category of a failed request: auth, rate_limit, provider, network or incomplete."""
    code = getattr(exc, "exit_code", ExitCode.PROVIDER)
    return _CATEGORY_OF.get(code, "provider")


def fit_descriptors(wanted: int) -> tuple[int, int]:
    """(connections that fit, the open-file limit): `wanted` when RLIMIT_NOFILE allows it with FD_RESERVE to spare,
    after raising the soft limit toward the hard one if need be; fewer when even the hard limit is too low."""
    try:
        import resource
    except ImportError:  # not POSIX: nothing to check
        return wanted, 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    in_use = _descriptors_in_use()
    need = wanted + in_use + FD_RESERVE
    if soft == resource.RLIM_INFINITY or need <= soft:
        return wanted, soft
    target = need if hard == resource.RLIM_INFINITY else min(need, hard)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return max(0, min(wanted, soft - in_use - FD_RESERVE)), soft


def _descriptors_in_use() -> int:
    import os

    for fds in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(fds))
        except OSError:
            continue
    return 16


# --- samples ---

@dataclass
class Sample:
    """One measured request; times in milliseconds, None when not defined for it."""

    index: int
    start_ms: float  # when it started (before any connection), from the start of the measured run
    status: str = "ok"  # "ok" or an error category
    ttft_ms: float | None = None
    e2e_ms: float | None = None
    tpot_ms: float | None = None
    output_tokens: int | None = None
    tokens_estimated: bool = False  # output_tokens counts text chunks because the provider reported no usage
    chunks: int = 0  # body chunks that carried text
    error: str | None = None  # the one-line message of a failure
    itl_ms: list[float] = field(default_factory=list)
    connect_ms: float | None = None  # TCP (+ TLS) set-up of a new connection; None when one was reused
    late_ms: float | None = None  # open loop: how far behind its scheduled time the request started
    worker: int = 0  # the worker process that sent it (bench_workers)
    exchange: dict[str, Any] | None = field(default=None, repr=False, compare=False)  # for --log (bench_request)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "status": self.status, "start_ms": _ms(self.start_ms),
                "ttft_ms": _ms(self.ttft_ms), "e2e_ms": _ms(self.e2e_ms), "tpot_ms": _ms(self.tpot_ms),
                "output_tokens": self.output_tokens, "tokens_estimated": self.tokens_estimated,
                "chunks": self.chunks, "error": self.error, "itl_ms": [_ms(g) for g in self.itl_ms],
                "connect_ms": _ms(self.connect_ms), "late_ms": _ms(self.late_ms), "worker": self.worker}

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> Sample:
        """A sample from a report's `requests` row (to_dict's output): `bench compare`, tests."""
        names = cls.__dataclass_fields__.keys() - {"exchange"}
        return cls(**{k: v for k, v in row.items() if k in names})


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def timings(sample: Sample, t_sent: float, marks: list[float], t_end: float, tokens: int | None) -> Sample:
    """Fill a sample's TTFT, E2E, ITL and TPOT from monotonic seconds: start, text-chunk arrivals, last byte."""
    sample.e2e_ms = (t_end - t_sent) * 1000
    sample.chunks = len(marks)
    sample.output_tokens = tokens
    if marks:
        sample.ttft_ms = (marks[0] - t_sent) * 1000
        sample.itl_ms = [(b - a) * 1000 for a, b in zip(marks, marks[1:])]
        if tokens is not None and tokens > 1:
            sample.tpot_ms = (sample.e2e_ms - sample.ttft_ms) / (tokens - 1)
    return sample


# --- the runner ---

@dataclass(frozen=True)
class Plan:
    """How much load: a number of requests or a duration, closed loop (concurrency) or open loop (rate)."""

    requests: int | None = 10
    duration: float | None = None  # seconds during which new requests start (in-flight ones then finish)
    concurrency: int | None = None  # in flight; default 1 without a rate, no cap with one
    rate: float | None = None  # request starts per second (Poisson)
    warmup: int = 0
    seed: int | None = None  # for the Poisson gaps

    def in_flight(self) -> int | None:
        if self.concurrency is not None:
            return self.concurrency
        return None if self.rate else 1


@dataclass
class Run:
    samples: list[Sample]
    wall_s: float  # from the first measured start to the last measured end
    started_at: str  # ISO 8601 UTC, when measurement began
    interrupted: bool = False  # Ctrl-C ended the run: `samples` are the requests that had finished
    client: dict[str, Any] = field(default_factory=dict)  # pid, cpu_s, cpu_pct, lag_ms, start_late_ms (_measured)


class WarmupFailed(AimuxError):
    """A warm-up request failed: nothing is measured; the exit code is its category's."""

    def __init__(self, sample: Sample) -> None:
        super().__init__(f"the warm-up request failed, nothing was measured: {sample.error or sample.status}",
                         exit_code=EXIT_CODES.get(sample.status, ExitCode.PROVIDER))
        self.sample = sample


OnSample = Callable[[Sample], None]
StartAt = Callable[[], Any]  # awaited after the warm-up: returns the monotonic time measurement starts at, or None


async def run(prepared: Any, wire: str, plan: Plan, *, timeout: float, on_sample: OnSample | None = None,
              session: Any = None, log: int = 0, start_at: StartAt | None = None,
              pick: Callable[[int], int] | None = None) -> Run:
    """Warm up, then measure `plan`'s requests of `prepared` (a streamed request.PreparedRequest, or a list used in
    turn: request i sends prepared[pick(i) % len], pick defaulting to i). Raises WarmupFailed when a warm-up request
    fails; returns a Run marked `interrupted` when cancelled (Ctrl-C). `log` (bench_request.LOG_ROWS or LOG_BODIES)
    keeps each measured request's exchange on its Sample, for the caller to write to the log after the run
    (bench_log). `start_at` lets worker processes start measuring together (bench_workers)."""
    from aimux_cli import client_async, client_lean
    from aimux_cli.bench_request import measure, preload

    preload(wire)
    pool = list(prepared) if isinstance(prepared, (list, tuple)) else [prepared]
    pick = pick or (lambda i: i)
    cap = plan.in_flight()
    own = session is None
    if session is None:
        # The lean transport keeps per-chunk overhead to a few µs; httpx only when a proxy must be honoured.
        lean = client_lean.lean_supported(pool[0].url)
        if not lean:
            _cache_missing_sniffio()
        session = (client_lean.LeanSession if lean else client_async.AsyncSession)(max_connections=cap or UNCAPPED_CONNECTIONS)
        if lean:
            session.prepare(pool[0].url.partition(":")[0].lower())
    try:
        async def one(index: int, t0: float) -> Sample:
            return await measure(session, pool[pick(index) % len(pool)], wire, timeout, index, t0)

        async def logged(index: int, t0: float) -> Sample:
            return await measure(session, pool[pick(index) % len(pool)], wire, timeout, index, t0, log)

        if plan.warmup:
            await _warm_up(plan.warmup, cap, one)
        t0 = await start_at() if start_at is not None else None
        return await _measured(plan, cap, logged if log else one, on_sample, t0)
    finally:
        if own:
            await session.aclose()


async def _warm_up(count: int, cap: int | None, one: Callable) -> None:
    """Send `count` unmeasured requests (`cap` at a time); the first failure stops them and is raised."""
    failed: list[Sample] = []
    more = _counter(count, None)

    async def warm(index: int, t0: float) -> None:
        sample = await one(index, t0)
        if not sample.ok:
            failed.append(sample)

    await _closed_loop(min(count, cap or count), lambda: None if failed else more(), warm)
    if failed:
        raise WarmupFailed(min(failed, key=lambda s: s.index))


async def _measured(plan: Plan, cap: int | None, one: Callable, on_sample: OnSample | None,
                    t0: float | None = None) -> Run:
    import datetime
    import os

    samples: list[Sample] = []
    late: dict[int, float] = {}

    async def counted(index: int, t0: float) -> Sample:
        sample = await one(index, t0)
        sample.late_ms = late.get(index)
        samples.append(sample)
        if on_sample is not None:
            on_sample(sample)
        return sample

    while t0 is not None and t0 > time.monotonic():  # again if woken early (uvloop's timers are in whole ms)
        await asyncio.sleep(t0 - time.monotonic())
    started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    t0 = time.monotonic() if t0 is None else t0
    cpu0 = time.process_time()
    lags: list[float] = []
    ticker = asyncio.create_task(_watch_lag(lags))
    deadline = t0 + plan.duration if plan.duration is not None else None
    interrupted = False
    try:
        if plan.rate:
            await _open_loop(plan, cap, counted, t0, late)
        else:
            await _closed_loop(cap or 1, _counter(plan.requests, deadline), counted, t0)
    except asyncio.CancelledError:  # Ctrl-C: asyncio.run cancels this task; what finished is the result
        interrupted = True
    finally:
        ticker.cancel()
    wall = time.monotonic() - t0
    cpu = time.process_time() - cpu0
    late_starts = [s.late_ms for s in sorted(samples, key=lambda s: s.start_ms) if s.late_ms is not None]
    client = {"pid": os.getpid(), "cpu_s": round(cpu, 3), "cpu_pct": round(100 * cpu / wall, 1) if wall > 0 else None,
              "lag_ms": lags, "start_late_ms": late_starts}
    return Run(sorted(samples, key=lambda s: s.index), wall, started_at, interrupted, client)


async def _watch_lag(lags: list[float]) -> None:
    """Note every LAG_TICK_S how late the event loop woke this task, in ms (in order: growth shows over the run)."""
    due = time.monotonic() + LAG_TICK_S
    while True:
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        now = time.monotonic()
        lags.append(round(max(0.0, now - due) * 1000, 3))
        due = max(due + LAG_TICK_S, now)


def _counter(limit: int | None, deadline: float | None) -> Callable[[], int | None]:
    """Hands out request indexes until `limit` are out or `deadline` (monotonic) has passed."""
    issued = 0

    def take() -> int | None:
        nonlocal issued
        if (limit is not None and issued >= limit) or (deadline is not None and time.monotonic() >= deadline):
            return None
        issued += 1
        return issued - 1

    return take


async def _closed_loop(workers: int, take: Callable[[], int | None], one: Callable, t0: float | None = None) -> None:
    t0 = time.monotonic() if t0 is None else t0

    async def worker() -> None:
        while (index := take()) is not None:
            await one(index, t0)

    await asyncio.gather(*(worker() for _ in range(workers)))


async def _open_loop(plan: Plan, cap: int | None, one: Callable, t0: float, late: dict[int, float]) -> None:
    limit = asyncio.Semaphore(cap) if cap else None
    tasks: list[asyncio.Task] = []
    offsets = poisson_offsets(plan.rate or 1.0, random.Random(plan.seed))
    try:
        for index, offset in enumerate(offsets):
            if (plan.requests is not None and index >= plan.requests) or (
                    plan.duration is not None and offset >= plan.duration):
                break
            delay = t0 + offset - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            late[index] = max(0.0, time.monotonic() - t0 - offset) * 1000  # the client's own delay, before the cap
            if limit is not None:
                await limit.acquire()
            task = asyncio.create_task(one(index, t0))
            if limit is not None:
                task.add_done_callback(lambda _t: limit.release())
            tasks.append(task)
        await asyncio.gather(*tasks)
    except asyncio.CancelledError:  # no request outlives the loop
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _cache_missing_sniffio() -> None:
    """httpcore tries `import sniffio` for every request; when it is not installed, each failed import scans
    sys.path again (about 0.5 ms, more than the rest of a chunk's handling). Caching the absence keeps it one."""
    import importlib.util
    import sys

    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]  # `import sniffio` now fails at once
