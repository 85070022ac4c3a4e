"""`aimux bench provider` and `aimux bench prettify`: run a measurement (aimux_cli.bench, .bench_prettify), then show it.

Output: `rich` (default on a terminal) draws a summary table and, for providers, histograms of TTFT and latency on
stdout; `toon` (default when piped) and `json` write the report `{"meta", "summary", "requests" | "results"}`.
`--output FILE` saves the JSON report as well. A progress bar goes to stderr while requests run, only when stderr is
a terminal. The report names the provider and model, never a key or a URL.

Exit codes: 0 when at least one request completed; when none did, the code of the most frequent failure (5 auth,
6 rate limit, 7 provider, 8 network, 9 incomplete). Bad options exit 2, configuration problems 3, unreadable
inputs 4.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aimux_cli import __version__, output
from aimux_cli.errors import ExitCode, InputError, UsageError

DEFAULT_PROMPT = ("Write a story of about 300 words about a lighthouse keeper who finds a message in a bottle.")
DEFAULT_MAX_TOKENS = 256
_EXIT = {"auth": ExitCode.AUTH, "rate_limit": ExitCode.RATE_LIMIT, "provider": ExitCode.PROVIDER,
         "network": ExitCode.NETWORK, "incomplete": ExitCode.INCOMPLETE}
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

    from aimux_cli import bench
    from aimux_cli.config import resolve
    from aimux_cli.render.console import TerminalEnv
    from aimux_cli.request import build

    plan = _plan(opts)
    prompt = _prompt(opts)
    resolved = resolve(opts.provider, {"model": opts.model} if opts.model else None)
    prepared = build(resolved, prompt=prompt, max_tokens=opts.max_tokens, stream=True)
    env = TerminalEnv.detect(color_flag=opts.color)
    with _progress(env, plan) as on_sample:
        result = asyncio.run(bench.run(prepared, resolved.wire, plan, timeout=resolved.timeout, on_sample=on_sample))
    meta = {"provider": resolved.name, "model": resolved.model, "wire": resolved.wire,
            "concurrency": plan.in_flight(), "rate": plan.rate, "requests": plan.requests,
            "duration_s": plan.duration, "warmup": plan.warmup, "max_tokens": opts.max_tokens,
            "prompt_chars": len(prompt), "started_at": result.started_at, "aimux_version": __version__}
    report = {"meta": meta, "summary": bench.summarize(result.samples, result.wall_s),
              "requests": [s.to_dict() for s in result.samples]}
    _finish(report, opts.output, opts.fmt, env, _provider_view)
    summary = report["summary"]
    if summary["completed"] == 0 and summary["failed"]:
        worst = Counter({k: v for k, v in summary["errors"].items() if v}).most_common(1)[0][0]
        return int(_EXIT.get(worst, ExitCode.PROVIDER))
    return 0


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
    if not env.interactive("stderr"):
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    total = None if plan.duration is not None else plan.requests
    columns = [TextColumn("bench"), BarColumn(), MofNCompleteColumn(), TextColumn("failed {task.fields[failed]}"),
               TimeElapsedColumn()]
    with Progress(*columns, console=env.stderr_console, transient=True) as progress:
        task = progress.add_task("requests", total=total, failed=0)
        failed = 0

        def on_sample(sample) -> None:
            nonlocal failed
            failed += not sample.ok
            progress.update(task, advance=1, failed=failed)

        yield on_sample


def _provider_view(report: dict[str, Any]) -> list[Any]:
    from rich.table import Table
    from rich.text import Text

    from aimux_cli.bench import histogram

    meta, summary = report["meta"], report["summary"]
    head = Text(f"{meta['provider']} · {meta['model']} · ", style="bold")
    load = f"rate {meta['rate']}/s" if meta["rate"] else f"concurrency {meta['concurrency']}"
    head.append(f"{load} · {summary['completed']} completed, {summary['failed']} failed in "
                f"{summary['duration_s']:g} s", style="")
    table = Table(title="latency (ms)", title_justify="left")
    table.add_column("metric")
    for key in ("mean", "median", "p90", "p95", "p99", "min", "max"):
        table.add_column(key, justify="right")
    for metric, label in _STAT_LABELS.items():
        table.add_row(label, *(_num(v) for v in summary[metric].values()))
    views: list[Any] = [head, table, _throughput_line(summary)]
    requests = [r for r in report["requests"] if r["status"] == "ok"]
    for key, label in (("ttft_ms", "TTFT (ms)"), ("e2e_ms", "E2E latency (ms)")):
        values = [r[key] for r in requests if r[key] is not None]
        if values:
            views.append(_histogram_text(label, histogram(values)))
    return views


def _throughput_line(summary: dict[str, Any]):
    from rich.text import Text

    est = " (estimated from chunks)" if summary["tokens_estimated"] else ""
    line = Text(f"{_num(summary['requests_per_s'])} requests/s · {_num(summary['output_tokens_per_s'])} output "
                f"tokens/s{est} · {summary['output_tokens']} output tokens")
    errors = ", ".join(f"{k} {v}" for k, v in summary["errors"].items() if v)
    if errors:
        line.append(f"\nerrors: {errors}", style="red")
    return line


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
    from aimux_cli.inputs import read_source
    from aimux_cli.render.console import TerminalEnv

    if opts.min_time <= 0:
        raise UsageError("--min-time must be positive")
    explicit = bool(opts.files)
    names = opts.files or [str(p) for p in bp.default_files(_fixtures_dir())]
    started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    rows, skipped = [], []
    for name in names:
        try:
            rows.append(bp.measure(read_source(name), opts.min_time))
        except InputError:
            if explicit:
                raise
            skipped.append(name)  # broken on purpose (hostile/truncated.json, hostile/garbage.bin)
    meta = {"started_at": started_at, "aimux_version": __version__, "python": platform.python_version(),
            "min_time_s": opts.min_time}
    report = {"meta": meta, "summary": bp.summary(rows, skipped), "results": rows}
    _finish(report, opts.output, opts.fmt, TerminalEnv.detect(color_flag=opts.color), _prettify_view)
    return 0


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
    for name in ("file", "input B", "median µs", "MB/s", "JSON B", "compact B", "TOON B", "TOON saves"):
        table.add_column(name, justify="left" if name == "file" else "right")
    for r in report["results"]:
        table.add_row(for_terminal(r["file"]), str(r["input_bytes"]), _num(r["median_us"]), _num(r["mb_per_s"]),
                      str(r["json_bytes"]), str(r["json_compact_bytes"]), str(r["toon_bytes"]),
                      f"{_num(r['toon_saving_pct'])} %")
    s = report["summary"]
    line = Text(f"{s['files']} files · {s['input_bytes']} bytes in · {_num(s['mb_per_s'])} MB/s overall · TOON "
                f"{s['toon_bytes']} B vs JSON {s['json_bytes']} B ({_num(s['toon_saving_pct'])} % smaller)")
    if s["skipped"]:
        line.append(f"\nskipped (do not normalize): {for_terminal(', '.join(s['skipped']))}", style="dim")
    return [table, line]


# --- shared output ---

def _finish(report: dict[str, Any], path: str | None, fmt: str | None, env, view) -> None:
    if path:
        _save(report, path)
    fmt = fmt or ("rich" if env.stdout_isatty else "toon")
    if fmt == "rich":
        console = env.stdout_console
        for renderable in view(report):
            console.print(renderable)
    elif fmt == "json":
        output.write(_json(report))
    else:
        from aimux_cli.toon import encode
        output.write(encode(report) + "\n")


def _json(report: dict[str, Any]) -> str:
    import orjson

    return orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n"


def _save(report: dict[str, Any], path: str) -> None:
    try:
        Path(path).write_text(_json(report), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot write the report ({exc.strerror or exc})") from None
