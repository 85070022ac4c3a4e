"""`aimux bench provider`: load generation against one provider, and the statistics of what it measured.

Contract: `run(prepared, wire, plan, timeout=...) -> Run` (async; drives streamed requests through client.py) and
`summarize(samples, wall_s) -> dict` (pure). Definitions follow vLLM's `benchmark_serving` and genai-perf:

- TTFT: request handed to the transport -> the first body chunk that carries answer or reasoning text.
- E2E latency: request handed to the transport -> the last body byte.
- Output tokens: the provider's usage (streams ask for it where the API allows, e.g. `stream_options.include_usage`;
  Gemini's thought tokens are added, as its candidate count leaves them out); when a stream reports none, the number
  of text-carrying events, marked `tokens_estimated`.
- TPOT = (E2E - TTFT) / (output tokens - 1); ITL = the gaps between consecutive text-carrying chunks, pooled over
  requests. Chunks are timestamped by client.py as they leave the transport, before any parsing. Streams go through
  client_lean.LeanSession (a few µs per chunk where httpx's async layers cost hundreds, which would delay the very
  chunks being timed), or client.AsyncSession when a proxy variable applies to the URL.

Load: without a rate, `concurrency` requests are kept in flight (closed loop). With `rate`, request starts follow a
Poisson process (exponential gaps, mean 1/rate; open loop) and `concurrency`, when given, caps the requests in
flight. Warm-up requests run first and are not counted; the first one that fails stops the run (WarmupFailed: its
message, its category's exit code), since what would follow measures a broken setup. Requests are never retried: a
retry would hide the failure and distort the timings.

Failures never end a run: whatever one request meets (an HTTP error, a dropped connection, bytes that are not HTTP, a
reply the wire parser cannot read, no file descriptor left) becomes its Sample (bench_request.measure), with an error
category (the exit-code categories in CATEGORIES) and a one-line message scrubbed of secrets; the summary keeps the
first message of each category. Everything a request's handling may import is imported before the first socket
opens (bench_request.preload), and `fit_descriptors` sizes the run to RLIMIT_NOFILE, so running out of descriptors
shows as failed samples saying so, never as a crash. Ctrl-C (asyncio.run cancels the main task) ends the measured phase: the requests that finished make
the Run, marked `interrupted`.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from aimux_cli.errors import AimuxError, ExitCode

CATEGORIES = ("auth", "rate_limit", "provider", "network", "incomplete")
_CATEGORY_OF = {ExitCode.AUTH: "auth", ExitCode.RATE_LIMIT: "rate_limit", ExitCode.NETWORK: "network",
                ExitCode.INCOMPLETE: "incomplete"}
EXIT_CODES = {category: code for code, category in _CATEGORY_OF.items()} | {"provider": ExitCode.PROVIDER}
FD_RESERVE = 64  # descriptors kept for all that is not a connection: interpreter, event loop, DNS threads, files
STAT_KEYS = ("mean", "median", "p90", "p95", "p99", "min", "max")
METRICS = ("ttft_ms", "tpot_ms", "itl_ms", "e2e_ms")
UNCAPPED_CONNECTIONS = 1000  # pool size for an open loop without a concurrency cap


# --- statistics (pure) ---

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
    start_ms: float  # when it was sent, from the start of the measured run
    status: str = "ok"  # "ok" or an error category
    ttft_ms: float | None = None
    e2e_ms: float | None = None
    tpot_ms: float | None = None
    output_tokens: int | None = None
    tokens_estimated: bool = False  # output_tokens counts text chunks because the provider reported no usage
    chunks: int = 0  # body chunks that carried text
    error: str | None = None  # the one-line message of a failure
    itl_ms: list[float] = field(default_factory=list)
    exchange: dict[str, Any] | None = field(default=None, repr=False, compare=False)  # for --log (bench_request)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "status": self.status, "start_ms": _ms(self.start_ms),
                "ttft_ms": _ms(self.ttft_ms), "e2e_ms": _ms(self.e2e_ms), "tpot_ms": _ms(self.tpot_ms),
                "output_tokens": self.output_tokens, "tokens_estimated": self.tokens_estimated,
                "chunks": self.chunks, "error": self.error, "itl_ms": [_ms(g) for g in self.itl_ms]}


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def timings(sample: Sample, t_sent: float, marks: list[float], t_end: float, tokens: int | None) -> Sample:
    """Fill a sample's TTFT, E2E, ITL and TPOT from monotonic seconds: send, text-chunk arrivals, last byte."""
    sample.e2e_ms = (t_end - t_sent) * 1000
    sample.chunks = len(marks)
    sample.output_tokens = tokens
    if marks:
        sample.ttft_ms = (marks[0] - t_sent) * 1000
        sample.itl_ms = [(b - a) * 1000 for a, b in zip(marks, marks[1:])]
        if tokens is not None and tokens > 1:
            sample.tpot_ms = (sample.e2e_ms - sample.ttft_ms) / (tokens - 1)
    return sample


def summarize(samples: Sequence[Sample], wall_s: float) -> dict[str, Any]:
    """The run's summary: counts, errors by category, throughput over `wall_s`, and the four latency stats."""
    done = [s for s in samples if s.ok]
    errors = dict.fromkeys(CATEGORIES, 0)
    messages: dict[str, str | None] = {}  # the first message of each category met, by request index
    for s in sorted(samples, key=lambda s: s.index):
        if not s.ok:
            errors[s.status] = errors.get(s.status, 0) + 1
            messages.setdefault(s.status, s.error)
    tokens = sum(s.output_tokens or 0 for s in done)
    per_s = (lambda n: round(n / wall_s, 3) if wall_s > 0 else None)
    return {
        "completed": len(done), "failed": len(samples) - len(done), "errors": errors, "error_messages": messages,
        "duration_s": round(wall_s, 3), "requests_per_s": per_s(len(done)),
        "output_tokens": tokens, "output_tokens_per_s": per_s(tokens),
        "tokens_estimated": any(s.tokens_estimated for s in done),
        "ttft_ms": stats([s.ttft_ms for s in done if s.ttft_ms is not None]),
        "tpot_ms": stats([s.tpot_ms for s in done if s.tpot_ms is not None]),
        "itl_ms": stats([g for s in done for g in s.itl_ms]),
        "e2e_ms": stats([s.e2e_ms for s in done if s.e2e_ms is not None]),
    }


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


class WarmupFailed(AimuxError):
    """A warm-up request failed: nothing is measured; the exit code is its category's."""

    def __init__(self, sample: Sample) -> None:
        super().__init__(f"the warm-up request failed, nothing was measured: {sample.error or sample.status}",
                         exit_code=EXIT_CODES.get(sample.status, ExitCode.PROVIDER))
        self.sample = sample


OnSample = Callable[[Sample], None]


async def run(prepared: Any, wire: str, plan: Plan, *, timeout: float, on_sample: OnSample | None = None,
              session: Any = None, log: int = 0) -> Run:
    """Warm up, then measure `plan`'s requests of `prepared` (a streamed request.PreparedRequest). Raises
    WarmupFailed when a warm-up request fails; returns a Run marked `interrupted` when cancelled (Ctrl-C).
    `log` (bench_request.LOG_ROWS or LOG_BODIES) keeps each measured request's exchange on its Sample, for the
    caller to write to the log after the run (bench_log)."""
    from aimux_cli import client, client_lean
    from aimux_cli.bench_request import measure, preload

    preload(wire)
    cap = plan.in_flight()
    own = session is None
    if session is None:
        # The lean transport keeps per-chunk overhead to a few µs; httpx only when a proxy must be honoured.
        lean = client_lean.lean_supported(prepared.url)
        if not lean:
            _cache_missing_sniffio()
        session = (client_lean.LeanSession if lean else client.AsyncSession)(max_connections=cap or UNCAPPED_CONNECTIONS)
        if lean:
            session.prepare(prepared.url.partition(":")[0].lower())
    try:
        async def one(index: int, t0: float) -> Sample:
            return await measure(session, prepared, wire, timeout, index, t0)

        async def logged(index: int, t0: float) -> Sample:
            return await measure(session, prepared, wire, timeout, index, t0, log)

        if plan.warmup:
            await _warm_up(plan.warmup, cap, one)
        return await _measured(plan, cap, logged if log else one, on_sample)
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


async def _measured(plan: Plan, cap: int | None, one: Callable, on_sample: OnSample | None) -> Run:
    import datetime

    samples: list[Sample] = []

    async def counted(index: int, t0: float) -> Sample:
        sample = await one(index, t0)
        samples.append(sample)
        if on_sample is not None:
            on_sample(sample)
        return sample

    started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    t0 = time.monotonic()
    deadline = t0 + plan.duration if plan.duration is not None else None
    interrupted = False
    try:
        if plan.rate:
            await _open_loop(plan, cap, counted, t0)
        else:
            await _closed_loop(cap or 1, _counter(plan.requests, deadline), counted, t0)
    except asyncio.CancelledError:  # Ctrl-C: asyncio.run cancels this task; what finished is the result
        interrupted = True
    return Run(sorted(samples, key=lambda s: s.index), time.monotonic() - t0, started_at, interrupted)


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


async def _open_loop(plan: Plan, cap: int | None, one: Callable, t0: float) -> None:
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
