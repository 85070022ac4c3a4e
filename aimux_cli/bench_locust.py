"""A Locust locustfile: `aimux bench locust` runs it (or `locust -f $(python -c 'import aimux_cli.bench_locust as m;
print(m.__file__)') --aimux-provider NAME ...`), headless on one machine or as `--master` / `--worker` on many.

Each simulated user (AimuxStreamUser) sends the provider's streamed request in a loop and measures it as
`bench provider` does: the clock starts before a connection is looked for; chunks are timestamped as they leave the
transport and folded by the wire's StreamFolder (bench_request.ChunkReader), so TTFT (the first chunk with answer
or reasoning text), ITL, TPOT, E2E, output tokens (usage, else chunks) and the error categories are bench's. Each
request is also reported to Locust (type STREAM, its E2E time), so Locust's own statistics and web UI work.

Transport: Locust runs users as gevent greenlets, and asyncio (which aimux's lean client needs) cannot run one
event loop per greenlet in a thread; so users stream through client.Session (httpx, synchronous), whose sockets
gevent makes cooperative. Connection set-up is inside TTFT, but not reported apart (`connect_ms` is null).

Samples are merged whole, never as averaged statistics: at the end of the test each worker sends all its samples
to the master in one Locust custom message ("aimux_samples"), and the master (or a local run) writes the same JSON
report as `bench provider` (`--aimux-output FILE`: {"meta", "summary", "requests"}), every percentile computed over
every sample. Start times come from each machine's wall clock (keep them NTP-synchronized); durations from its
monotonic clock. When the run time ends, the master asks the workers to stop (each lets its users finish the
request in flight, up to --stop-timeout), waits for their samples, then quits. Each worker says on stderr how many
requests it measured.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from locust import User, constant, events, task
from locust.runners import MasterRunner, WorkerRunner

from aimux_cli.bench import Sample, category, timings

SAMPLES_MESSAGE, STOP_MESSAGE = "aimux_samples", "aimux_stop"
MASTER_WAIT_S = 30.0  # beyond --stop-timeout, how long the master waits for a worker's samples
_rows: list[dict[str, Any]] = []  # this process's measured requests (Sample.to_dict() + "t_wall")
_setup: dict[str, Any] = {}  # this process's provider: resolved, prepared, session, meta
_received: dict[str, dict[str, Any]] = {}  # master: worker id -> {"rows", "meta", "index"}


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    group = parser.add_argument_group("aimux", "What each user streams (aimux bench locust sets these).")
    group.add_argument("--aimux-provider", default=None, help="Provider from aimux's catalog or config file.")
    group.add_argument("--aimux-model", default=None, help="Model (default: the provider's).")
    group.add_argument("--aimux-prompt", default=None, help="The prompt of every request.")
    group.add_argument("--aimux-max-tokens", type=int, default=256, help="Most tokens per answer.")
    group.add_argument("--aimux-requests-per-user", type=int, default=0, help="Requests per user (0: no limit).")
    group.add_argument("--aimux-output", default=None, help="Master or local run: write aimux's JSON report here.")


def measure(session: Any, prepared: Any, wire: str, timeout: float) -> tuple[float, Sample]:
    """Send one streamed request and time it: (wall-clock start, Sample); failures are samples, never raised."""
    from aimux_cli.bench_request import ChunkReader, _failed, _unexpected, output_tokens
    from aimux_cli.errors import AimuxError, category as category_of, exit_code_for_error
    from aimux_cli.wire import UnknownWire

    t_wall, t_start = time.time(), time.monotonic()  # before a connection is looked for or made
    sample = Sample(0, 0.0)
    try:
        reader = ChunkReader(wire, prepared.provider or None)
        stream = session.stream(prepared, timeout=timeout, retries=0)
        for t, chunk in stream.iter_timed():
            reader.feed(t, chunk)
        doc = reader.close()
        if doc.status == "error":  # an error event in a 200 stream: its type decides, as in bench provider
            why = doc.error.get("message") or doc.error.get("type") or "error event in the stream"
            return t_wall, _failed(sample, category_of(exit_code_for_error(doc.error)), str(why), prepared.secrets)
        if doc.status != "ok":
            return t_wall, _failed(sample, "incomplete", "the stream ended before its terminal event",
                                   prepared.secrets)
        tokens, sample.tokens_estimated = output_tokens(doc, wire, reader.pieces)
        return t_wall, timings(sample, t_start, reader.marks, stream.timing.t_last_byte or time.monotonic(), tokens)
    except AimuxError as exc:
        return t_wall, _failed(sample, category(exc), str(exc), prepared.secrets)
    except UnknownWire:
        return t_wall, _failed(sample, "provider", f"{prepared.provider}: the stream is not in the {wire} format",
                               prepared.secrets)
    except Exception as exc:  # noqa: BLE001  # one odd reply is this request's failure, never the user's end
        return t_wall, _unexpected(sample, exc, prepared)


def _prepare(environment: Any) -> None:
    """Resolve the provider and build its request once per process (not on the master: it sends nothing)."""
    from aimux_cli import __version__, client
    from aimux_cli.config import resolve
    from aimux_cli.request import build

    opts = environment.parsed_options
    resolved = resolve(opts.aimux_provider, {"model": opts.aimux_model} if opts.aimux_model else None)
    prompt = opts.aimux_prompt or ("Write a story of about 300 words about a lighthouse keeper who finds a "
                                   "message in a bottle.")
    _setup.update(resolved=resolved, prepared=build(resolved, prompt=prompt, max_tokens=opts.aimux_max_tokens,
                                                    stream=True),
                  session=client.Session(max_connections=10_000),
                  meta={"provider": resolved.name, "model": resolved.model, "wire": resolved.wire,
                        "max_tokens": opts.aimux_max_tokens, "prompt_chars": len(prompt), "aimux_version": __version__})


class AimuxStreamUser(User):
    """One simulated client: streams the request again and again (up to --aimux-requests-per-user)."""

    wait_time = constant(0)

    def on_start(self) -> None:
        self.sent = 0

    @task
    def stream(self) -> None:
        limit = self.environment.parsed_options.aimux_requests_per_user
        if limit and self.sent >= limit:
            time.sleep(0.2)  # done: idle (gevent-friendly) until the run ends
            return
        self.sent += 1
        resolved, prepared = _setup["resolved"], _setup["prepared"]
        t_wall, sample = measure(_setup["session"], prepared, resolved.wire, resolved.timeout)
        row = sample.to_dict()
        row["t_wall"] = t_wall
        _rows.append(row)
        failure = None if sample.ok else RuntimeError(f"{sample.status}: {sample.error}")
        self.environment.events.request.fire(
            request_type="STREAM", name=resolved.name, response_time=sample.e2e_ms or 0.0,
            response_length=sample.output_tokens or 0, exception=failure, context={"ttft_ms": sample.ttft_ms})


@events.init.add_listener
def _init(environment: Any, **_kw: Any) -> None:
    import logging

    for name in ("httpx", "httpcore"):  # Locust logs at INFO: not a line per request from the transport
        logging.getLogger(name).setLevel(logging.WARNING)
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        runner.register_message(SAMPLES_MESSAGE, _on_samples)
        return
    if environment.parsed_options is not None and environment.parsed_options.aimux_provider is not None:
        _prepare(environment)
    if isinstance(runner, WorkerRunner):
        runner.register_message(STOP_MESSAGE, lambda environment, msg, **kw: environment.runner.stop())


@events.test_stop.add_listener
def _on_test_stop(environment: Any, **_kw: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):  # all this worker measured, in one message, before it says it stopped
        runner.send_message(SAMPLES_MESSAGE, {"rows": list(_rows), "meta": _setup.get("meta", {}),
                                              "index": runner.worker_index})
        sys.stderr.write(f"aimux: locust worker {runner.worker_index}: {len(_rows)} requests measured\n")
    elif isinstance(runner, MasterRunner):
        _collect(environment)


def _on_samples(environment: Any, msg: Any, **_kw: Any) -> None:
    _received[msg.node_id] = msg.data


def _collect(environment: Any) -> None:
    """Master: ask every worker to stop and wait (bounded) until each has sent its samples."""
    import gevent

    runner = environment.runner
    expected = {c.id for c in runner.clients.all}
    runner.send_message(STOP_MESSAGE, None)
    deadline = time.monotonic() + (environment.stop_timeout or 0) + MASTER_WAIT_S
    while not expected <= set(_received) and time.monotonic() < deadline:
        gevent.sleep(0.1)
    missing = expected - set(_received)
    if missing:
        sys.stderr.write(f"aimux: {len(missing)} locust worker(s) sent no samples in time: the report lacks them\n")


@events.quitting.add_listener
def _on_quitting(environment: Any, **_kw: Any) -> None:
    opts = environment.parsed_options
    if isinstance(environment.runner, WorkerRunner) or opts is None or not opts.aimux_output:
        return
    from aimux_cli import output

    output.write_file(opts.aimux_output, _json(report(environment)))


def report(environment: Any) -> dict[str, Any]:
    """The merged report: every sample of every worker (or of this process), re-indexed by start time."""
    import datetime

    from aimux_cli.bench_stats import summarize

    opts = environment.parsed_options
    if isinstance(environment.runner, MasterRunner):
        parts = sorted(_received.values(), key=lambda d: d.get("index", 0))
        rows = [dict(r, worker=part.get("index", 0)) for part in parts for r in part["rows"]]
        meta = next((p["meta"] for p in parts if p.get("meta")), {})
        workers = [{"worker": p.get("index", 0), "requests": len(p["rows"])} for p in parts]
    else:
        rows, meta, workers = list(_rows), dict(_setup.get("meta", {})), [{"worker": 0, "requests": len(_rows)}]
    t0 = min((r["t_wall"] for r in rows), default=time.time())
    rows.sort(key=lambda r: r["t_wall"])
    samples = []
    for i, row in enumerate(rows):
        sample = Sample.from_dict({**row, "index": i, "start_ms": (row["t_wall"] - t0) * 1000})
        samples.append(sample)
    ends = [(s.start_ms + (s.e2e_ms or 0)) / 1000 for s in samples]
    wall_s = max(ends, default=0.0)
    started = datetime.datetime.fromtimestamp(t0, datetime.timezone.utc).isoformat(timespec="seconds")
    meta = {"provider": meta.get("provider", opts.aimux_provider), "model": meta.get("model", opts.aimux_model),
            **{k: v for k, v in meta.items() if k not in ("provider", "model")}, "engine": "locust",
            "users": opts.num_users, "spawn_rate": opts.spawn_rate, "run_time_s": opts.run_time,
            "requests_per_user": opts.aimux_requests_per_user or None, "started_at": started,
            "locust": {"mode": "master" if isinstance(environment.runner, MasterRunner) else "local",
                       "workers": workers}}
    return {"meta": meta, "summary": summarize(samples, wall_s, first_wave=opts.num_users or None),
            "requests": [s.to_dict() for s in samples]}


def _json(doc: dict[str, Any]) -> str:
    import orjson

    return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n"
