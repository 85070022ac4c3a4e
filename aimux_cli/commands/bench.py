"""`aimux bench provider` and `aimux bench prettify`: run a measurement (aimux_cli.bench, .bench_prettify), then show it.

Output: `rich` (default on a terminal) draws a summary table and, for providers, histograms of TTFT and latency on
stdout; `toon` (default when piped) and `json` write the report `{"meta", "summary", "requests" | "results"}`.
`--output FILE` saves the JSON report as well (atomically, through output.write_file). A progress bar goes to
stderr while requests run or files are measured, only when stderr is a terminal. The report names the provider and
model, never a key or a URL; error messages are scrubbed of secrets. A failed request is a sample with its category;
the summary and every view show the first message of each category.

Exit codes: 0 when at least one request completed; when none did, the code of the most frequent failure (5 auth,
6 rate limit, 7 provider, 8 network, 9 incomplete). A failed warm-up request stops the run before anything is
measured, with its message and its category's code. Ctrl-C prints the report of the requests that finished, then
exits 130. Bad options exit 2 (so does a --concurrency that the open-file limit cannot hold, see
bench.fit_descriptors), configuration problems 3, unreadable inputs 4, an unwritable --output 1.

`--log` writes one row per measured request to the exchange log once the run is over (health_log; the raw response
bytes only with `--log-bodies`); a log that cannot be written is one warning, never a different exit code.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aimux_cli import __version__, output
from aimux_cli.errors import AimuxError, ExitCode, InputError, UsageError

DEFAULT_PROMPT = ("Write a story of about 300 words about a lighthouse keeper who finds a message in a bottle.")
DEFAULT_MAX_TOKENS = 256
_STAT_LABELS = {"ttft_ms": "TTFT", "tpot_ms": "TPOT", "itl_ms": "ITL", "e2e_ms": "E2E latency"}


@dataclass
class ProviderOptions:
    provider: str | None
    model: str | None = None
    requests: int | None = None
    duration: float | None = None
    concurrency: int | None = None
    rate: float | None = None
    prompt: str | None = None
    prompt_file: str | None = None
    max_tokens: int = DEFAULT_MAX_TOKENS
    warmup: int = 1
    seed: int | None = None
    output: str | None = None
    fmt: str | None = None
    color: bool | None = None
    log: bool = False  # one log row per measured request, written after the run (health_log)
    log_bodies: bool = False  # with the raw response bytes


@dataclass
class PrettifyOptions:
    files: list[str]
    min_time: float = 0.1
    output: str | None = None
    fmt: str | None = None
    color: bool | None = None


# --- bench provider ---

def run_provider(opts: ProviderOptions) -> int:
    import asyncio

    from aimux_cli import bench, bench_request
    from aimux_cli.config import resolve
    from aimux_cli.render.console import TerminalEnv
    from aimux_cli.request import build

    if opts.log_bodies and not opts.log:
        raise UsageError("--log-bodies needs --log")
    plan = _fit(_plan(opts))
    prompt = _prompt(opts)
    resolved = resolve(opts.provider, {"model": opts.model} if opts.model else None)
    prepared = build(resolved, prompt=prompt, max_tokens=opts.max_tokens, stream=True)
    env = TerminalEnv.detect(color_flag=opts.color)
    try:
        with _progress(env, plan) as on_sample:
            log = (bench_request.LOG_BODIES if opts.log_bodies else bench_request.LOG_ROWS) if opts.log else 0
            result = asyncio.run(bench.run(prepared, resolved.wire, plan, timeout=resolved.timeout,
                                           on_sample=on_sample, log=log))
    except KeyboardInterrupt:  # a second Ctrl-C, or one during the warm-up: nothing measured to report
        raise AimuxError("interrupted before a report could be made", exit_code=ExitCode.INTERRUPTED) from None
    if log:  # after the measured phase, in one transaction: the log never sits between a request and its timing
        from aimux_cli import health_log

        health_log.record_bench(result.samples, prepared, resolved.wire, resolved.model, prompt)
    meta = {"provider": resolved.name, "model": resolved.model, "wire": resolved.wire,
            "concurrency": plan.in_flight(), "rate": plan.rate, "requests": plan.requests,
            "duration_s": plan.duration, "warmup": plan.warmup, "max_tokens": opts.max_tokens,
            "prompt_chars": len(prompt), "started_at": result.started_at, "interrupted": result.interrupted,
            "aimux_version": __version__}
    report = {"meta": meta, "summary": bench.summarize(result.samples, result.wall_s),
              "requests": [s.to_dict() for s in result.samples]}
    _finish(report, opts.output, opts.fmt, env, _provider_view)
    summary = report["summary"]
    if result.interrupted:
        raise AimuxError(f"interrupted: the report covers the {len(result.samples)} requests that had finished",
                         exit_code=ExitCode.INTERRUPTED)
    if summary["completed"] == 0 and summary["failed"]:
        worst = Counter({k: v for k, v in summary["errors"].items() if v}).most_common(1)[0][0]
        return int(bench.EXIT_CODES.get(worst, ExitCode.PROVIDER))
    return 0


def _fit(plan):
    """`plan`, its requests in flight checked against the open-file limit: an explicit --concurrency that cannot
    fit is refused; the open loop's default pool shrinks to what fits, with a warning."""
    import dataclasses

    from aimux_cli.bench import UNCAPPED_CONNECTIONS, fit_descriptors

    wanted = plan.in_flight() or UNCAPPED_CONNECTIONS
    fits, limit = fit_descriptors(wanted)
    if fits >= wanted:
        return plan
    if plan.concurrency is not None or fits < 1:
        raise UsageError(f"--concurrency {wanted} needs more file descriptors than the open-file limit ({limit}, "
                         f"ulimit -n) allows: use --concurrency {max(fits, 1)} or less, or raise the limit")
    from aimux_cli.present import warn

    warn(f"at most {fits} requests in flight: the open-file limit ({limit}, ulimit -n) allows no more")
    return dataclasses.replace(plan, concurrency=fits)


def _plan(opts: ProviderOptions):
    from aimux_cli.bench import Plan

    if opts.requests is not None and opts.duration is not None:
        raise UsageError("give --requests or --duration, not both")
    if opts.prompt is not None and opts.prompt_file is not None:
        raise UsageError("give --prompt or --prompt-file, not both")
    for name, value in (("--requests", opts.requests), ("--concurrency", opts.concurrency),
                        ("--duration", opts.duration), ("--rate", opts.rate), ("--max-tokens", opts.max_tokens)):
        if value is not None and value <= 0:
            raise UsageError(f"{name} must be positive")
    if opts.warmup < 0:
        raise UsageError("--warmup cannot be negative")
    requests = opts.requests if opts.requests is not None or opts.duration is not None else 10
    return Plan(requests=requests, duration=opts.duration, concurrency=opts.concurrency, rate=opts.rate,
                warmup=opts.warmup, seed=opts.seed)


def _prompt(opts: ProviderOptions) -> str:
    if opts.prompt_file is None:
        return opts.prompt if opts.prompt is not None else DEFAULT_PROMPT
    from aimux_cli.inputs import decode_utf8, read_source

    text = decode_utf8(read_source(opts.prompt_file))
    if not text.strip():
        raise InputError(f"{opts.prompt_file}: empty prompt")
    return text


@contextlib.contextmanager
def _progress(env, plan) -> Iterator[Any]:
    """A Rich progress bar on stderr when it is a terminal; yields the per-sample callback (None otherwise)."""
    total = None if plan.duration is not None else plan.requests
    with _bar(env, "bench", total, "failed {task.fields[failed]}", failed=0) as advance:
        if advance is None:
            yield None
            return
        failed = 0

        def on_sample(sample) -> None:
            nonlocal failed
            failed += not sample.ok
            advance(failed=failed)

        yield on_sample


@contextlib.contextmanager
def _bar(env, label: str, total: int | None, detail: str, **fields: Any) -> Iterator[Any]:
    """A transient progress bar on stderr, only when stderr is a terminal: yields `advance(**fields)` (else None)."""
    if not env.interactive("stderr"):
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn(detail)]
    with Progress(*columns, console=env.stderr_console, transient=True) as progress:
        task = progress.add_task(label, total=total, **fields)
        yield lambda advance=1, **now: progress.update(task, advance=advance, **now)


def _provider_view(report: dict[str, Any]) -> list[Any]:
    from rich.table import Table
    from rich.text import Text

    from aimux_cli.bench import histogram

    meta, summary = report["meta"], report["summary"]
    head = Text(f"{meta['provider']} · {meta['model']} · ", style="bold")
    load = f"rate {meta['rate']}/s" if meta["rate"] else f"concurrency {meta['concurrency']}"
    head.append(f"{load} · {summary['completed']} completed, {summary['failed']} failed in "
                f"{summary['duration_s']:g} s", style="")
    if meta.get("interrupted"):
        head.append(" (interrupted)", style="yellow")
    if not summary["completed"]:  # no latency to show: say so once instead of a table of dashes
        views: list[Any] = [head, Text("no request completed: no latency figures", style="red")]
        return views + [_errors_text(summary)]
    table = Table(title="latency (ms)", title_justify="left")
    table.add_column("metric")
    for key in ("mean", "median", "p90", "p95", "p99", "min", "max"):
        table.add_column(key, justify="right")
    for metric, label in _STAT_LABELS.items():
        table.add_row(label, *(_num(v) for v in summary[metric].values()))
    views = [head, table, _throughput_line(summary)]
    if summary["failed"]:
        views.append(_errors_text(summary))
    requests = [r for r in report["requests"] if r["status"] == "ok"]
    for key, label in (("ttft_ms", "TTFT (ms)"), ("e2e_ms", "E2E latency (ms)")):
        values = [r[key] for r in requests if r[key] is not None]
        if values:
            views.append(_histogram_text(label, histogram(values)))
    return views


def _throughput_line(summary: dict[str, Any]):
    from rich.text import Text

    est = " (estimated from chunks)" if summary["tokens_estimated"] else ""
    return Text(f"{_num(summary['requests_per_s'])} requests/s · {_num(summary['output_tokens_per_s'])} output "
                f"tokens/s{est} · {summary['output_tokens']} output tokens")


def _errors_text(summary: dict[str, Any]):
    """One line per error category met: its count and its first message (scrubbed, made safe for a terminal)."""
    from rich.text import Text

    from aimux_cli.render.sanitize import for_terminal

    text = Text("errors", style="bold red")
    messages = summary.get("error_messages") or {}
    for kind, count in summary["errors"].items():
        if count:
            text.append(f"\n  {kind} {count}", style="red")
            if messages.get(kind):
                text.append(f": {for_terminal(messages[kind])}", style="")
    return text


def _histogram_text(label: str, bins: list[tuple[float, float, int]], width: int = 40):
    from rich.text import Text

    text = Text(label, style="bold")
    most = max(count for _, _, count in bins) or 1
    for lo, hi, count in bins:
        bar = "█" * round(width * count / most) if count else ""
        text.append(f"\n{lo:>9.1f} – {hi:>9.1f} │", style="")
        text.append(bar, style="cyan")
        text.append(f" {count}", style="")
    return text


def _num(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:,.1f}" if isinstance(value, float) else str(value)


# --- bench prettify ---

def run_prettify(opts: PrettifyOptions) -> int:
    import datetime
    import platform

    from aimux_cli import bench_prettify as bp
    from aimux_cli.render.console import TerminalEnv

    if opts.min_time <= 0:
        raise UsageError("--min-time must be positive")
    explicit = bool(opts.files)
    names = opts.files or [str(p) for p in bp.default_files(_fixtures_dir())]
    started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    env = TerminalEnv.detect(color_flag=opts.color)
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    interrupted = _measure_files(names, opts.min_time, explicit, env, rows, skipped)
    meta = {"started_at": started_at, "aimux_version": __version__, "python": platform.python_version(),
            "min_time_s": opts.min_time, "interrupted": interrupted}
    report = {"meta": meta, "summary": bp.summary(rows, skipped), "results": rows}
    _finish(report, opts.output, opts.fmt, env, _prettify_view)
    if interrupted:
        raise AimuxError(f"interrupted: the report covers the {len(rows)} files measured",
                         exit_code=ExitCode.INTERRUPTED)
    return 0


def _measure_files(names: list[str], min_time: float, explicit: bool, env, rows: list, skipped: list) -> bool:
    """Measure each file into `rows` (the broken ones of the default set into `skipped`), a progress bar on a
    terminal's stderr; True when Ctrl-C stopped it (what was measured stays)."""
    from aimux_cli import bench_prettify as bp
    from aimux_cli.inputs import read_source

    with _bar(env, "bench prettify", len(names), "{task.fields[file]}", file="") as advance:
        try:
            for name in names:
                if advance is not None:  # the file being timed shows while it is (--min-time each)
                    advance(advance=0, file=_short(name))
                try:
                    rows.append(bp.measure(read_source(name), min_time))
                except InputError:
                    if explicit:
                        raise
                    skipped.append(name)  # broken on purpose (hostile/truncated.json, hostile/garbage.bin)
                if advance is not None:
                    advance()
        except KeyboardInterrupt:
            return True
    return False


def _short(name: str, width: int = 40) -> str:
    from aimux_cli.render.sanitize import for_terminal

    name = for_terminal(name)
    return name if len(name) <= width else "…" + name[-(width - 1):]


def _fixtures_dir() -> Path:
    """fixtures/ in the current directory, else the one in aimux's source tree (an editable install)."""
    for candidate in (Path("fixtures"), Path(__file__).resolve().parents[2] / "fixtures"):
        if candidate.is_dir():
            return candidate
    raise UsageError("no fixtures/ directory here: give the files to measure")


def _prettify_view(report: dict[str, Any]) -> list[Any]:
    from rich.table import Table
    from rich.text import Text

    from aimux_cli.render.sanitize import for_terminal

    table = Table(title="normalize + TOON encode, per file", title_justify="left")
    for name in ("file", "input B", "median µs", "MB/s", "JSON B", "compact B", "TOON B", "vs JSON", "vs compact"):
        table.add_column(name, justify="left" if name == "file" else "right", no_wrap=name != "file")
    for r in report["results"]:
        table.add_row(for_terminal(r["file"]), str(r["input_bytes"]), _num(r["median_us"]), _num(r["mb_per_s"]),
                      str(r["json_bytes"]), str(r["json_compact_bytes"]), str(r["toon_bytes"]),
                      _change(r["toon_saving_pct"]), _change(r["toon_saving_compact_pct"]))
    s = report["summary"]
    table.caption_justify = "left"
    table.caption = "vs JSON, vs compact: TOON's size against indented and compact JSON (− smaller, + larger)"
    line = Text(f"{s['files']} files · {s['input_bytes']} bytes in · {_num(s['mb_per_s'])} MB/s overall\nTOON "
                f"{s['toon_bytes']} B: {_versus(s['toon_saving_pct'], 'indented JSON', s['json_bytes'])}, "
                f"{_versus(s['toon_saving_compact_pct'], 'compact JSON', s['json_compact_bytes'])}")
    if s["skipped"]:
        line.append(f"\nskipped (do not normalize): {for_terminal(', '.join(s['skipped']))}", style="dim")
    return [table, line]


def _change(saving: float | None) -> str:
    """TOON's size relative to JSON, signed: "-12.5 %" (smaller), "+3.0 %" (larger)."""
    return "–" if saving is None else f"{-saving:+.1f} %".replace("-", "−")


def _versus(saving: float | None, what: str, size: int) -> str:
    """TOON against `what` in words that never claim a saving where there is none."""
    if saving is None or saving == 0:
        return f"as large as {what} ({size} B)"
    if saving > 0:
        return f"{saving:.1f} % smaller than {what} ({size} B)"
    return f"larger by {-saving:.1f} % than {what} ({size} B)"


# --- shared output ---

def _finish(report: dict[str, Any], path: str | None, fmt: str | None, env, view) -> None:
    """Show the report, then save it to `path`: a file that cannot be written (exit 1) loses nothing shown."""
    fmt = fmt or ("rich" if env.stdout_isatty else "toon")
    try:
        if fmt == "rich":
            console = env.stdout_console
            for renderable in view(report):
                console.print(renderable)
        elif fmt == "json":
            output.write(_json(report))
        else:
            from aimux_cli.toon import encode
            output.write(encode(report) + "\n")
    finally:
        if path:
            _save(report, path)


def _json(report: dict[str, Any]) -> str:
    import orjson

    return orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n"


def _save(report: dict[str, Any], path: str) -> None:
    output.write_file(path, _json(report))  # an OutputError (exit 1) naming the path when it cannot
