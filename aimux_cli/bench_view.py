"""The views of `aimux bench`: the Rich tables and histograms of a provider run (one or several providers) and of
`bench prettify`, the progress bar on stderr, and the report written as JSON, TOON or Rich (finish).

Contract: `provider_view(report) -> [renderable]` for one provider's report {"meta", "summary", "requests"};
`comparison_view(report) -> [renderable]` for several {"meta", "runs": [report, ...]}; `prettify_view(report)`;
`finish(report, path, fmt, env, view)` shows a report and saves it as JSON to `path` (an unwritable path is an
OutputError, exit 1, after the report was shown). Model output and file names reach the terminal sanitized.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from aimux_cli import output

_STAT_LABELS = {"ttft_ms": "TTFT", "tpot_ms": "TPOT", "itl_ms": "ITL", "e2e_ms": "E2E latency"}


@contextlib.contextmanager
def progress_bar(env, label: str, total: int | None, detail: str, **fields: Any) -> Iterator[Any]:
    """A transient progress bar on stderr, only when stderr is a terminal: yields `advance(**fields)` (else None)."""
    if not env.interactive("stderr"):
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn(detail)]
    with Progress(*columns, console=env.stderr_console, transient=True) as progress:
        task = progress.add_task(label, total=total, **fields)
        yield lambda advance=1, **now: progress.update(task, advance=advance, **now)




def provider_view(report: dict[str, Any]) -> list[Any]:
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
        return views + [_errors_text(summary)] + _client_lines(meta.get("client"))
    table = Table(title="latency (ms)", title_justify="left", caption_justify="left",
                  caption="TTFT, E2E: from the request's start, connect included, to the first chunk with text, "
                  "the last byte")
    table.add_column("metric")
    for key in ("mean", "median", "p90", "p95", "p99", "min", "max"):
        table.add_column(key, justify="right")
    for metric, label in _STAT_LABELS.items():
        table.add_row(label, *(_num(v) for v in summary[metric].values()))
    views = [head, table, throughput_line(summary), *_findings(meta, summary)]
    if summary["failed"]:
        views.append(_errors_text(summary))
    requests = [r for r in report["requests"] if r["status"] == "ok"]
    for key, label in (("ttft_ms", "TTFT (ms)"), ("e2e_ms", "E2E latency (ms)")):
        values = [r[key] for r in requests if r[key] is not None]
        if values:
            views.append(_histogram_text(label, histogram(values)))
    return views


def _findings(meta: dict[str, Any], summary: dict[str, Any]) -> list[Any]:
    """Lines under the table: connect time, the first wave against the rest, goodput, the client's own load."""
    from rich.text import Text

    lines: list[Any] = []
    connect = summary.get("connect_ms") or {}
    if connect.get("median") is not None:
        lines.append(Text(f"connect {_num(connect['median'])} ms median, {_num(connect['max'])} ms max over "
                          f"{summary['connections_opened']} new connections (counted in TTFT and E2E)"))
    wave = summary.get("first_wave")
    if wave and wave["ttft_ms"]["median"] is not None and wave["rest_ttft_ms"]["median"] is not None:
        lines.append(Text(f"TTFT of the first {wave['requests']} starts {_num(wave['ttft_ms']['median'])} ms median "
                          f"(p90 {_num(wave['ttft_ms']['p90'])}), of the rest {_num(wave['rest_ttft_ms']['median'])} "
                          f"ms (p90 {_num(wave['rest_ttft_ms']['p90'])})"))
    good = summary.get("goodput")
    if good:
        slo = ", ".join(f"{k} ≤ {v:g} ms" for k, v in good["slo_ms"].items())
        lines.append(Text(f"goodput {_num(good['requests_per_s'])} requests/s: {good['good']} requests "
                          f"({_num(good['good_pct'])} %) met {slo}"))
    return lines + _client_lines(meta.get("client"))


def _client_lines(client: dict[str, Any] | None) -> list[Any]:
    from rich.text import Text

    if not client:
        return []
    cpus = ", ".join(f"{w['cpu_pct']:.0f}%" for w in client["workers"] if w.get("cpu_pct") is not None)
    many = client["processes"] > 1
    line = Text(f"client: {client['processes']} process{'es' if many else ''}, {client['loop']} loop, CPU "
                f"{cpus or '–'}{' each' if many else ''}", style="dim")
    out = [line]
    if client.get("bottleneck"):
        out.append(Text(f"warning: {client['bottleneck_reason']}", style="yellow"))
    return out


def comparison_view(report: dict[str, Any]) -> list[Any]:
    """Each provider's own view, then one table comparing them (medians, throughput, goodput)."""
    from rich.table import Table

    from aimux_cli.render.sanitize import for_terminal

    views: list[Any] = []
    for run in report["runs"]:
        views += provider_view(run) + [""]
    table = Table(title="comparison (medians, ms)", title_justify="left")
    names = ("provider", "model", "ok", "failed", "TTFT", "TTFT p90", "TPOT", "ITL", "E2E", "req/s", "tok/s")
    for name in names:
        table.add_column(name, justify="left" if name in ("provider", "model") else "right")
    goodput = any(run["summary"].get("goodput") for run in report["runs"])
    if goodput:
        table.add_column("goodput/s", justify="right")
    for run in report["runs"]:
        meta, s = run["meta"], run["summary"]
        cells = [for_terminal(str(meta["provider"])), for_terminal(str(meta["model"])), str(s["completed"]),
                 str(s["failed"]), _num(s["ttft_ms"]["median"]), _num(s["ttft_ms"]["p90"]),
                 _num(s["tpot_ms"]["median"]), _num(s["itl_ms"]["median"]), _num(s["e2e_ms"]["median"]),
                 _num(s["requests_per_s"]), _num(s["output_tokens_per_s"])]
        if goodput:
            cells.append(_num((s.get("goodput") or {}).get("requests_per_s")))
        table.add_row(*cells)
    return views + [table]


def throughput_line(summary: dict[str, Any]):
    from rich.text import Text

    est = {"chunks": " (counted from text chunks: no usage reported)",
           "mixed": " (usage where reported, else counted from text chunks)"}.get(
        summary.get("output_tokens_from") or ("chunks" if summary["tokens_estimated"] else "usage"), "")
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




def short_name(name: str, width: int = 40) -> str:
    from aimux_cli.render.sanitize import for_terminal

    name = for_terminal(name)
    return name if len(name) <= width else "…" + name[-(width - 1):]




def prettify_view(report: dict[str, Any]) -> list[Any]:
    from rich.table import Table
    from rich.text import Text

    from aimux_cli.render.sanitize import for_terminal

    table = Table(title="normalize + TOON encode, per file", title_justify="left")
    for name in ("file", "input B", "median µs", "p90 µs", "MB/s", "JSON B", "compact B", "TOON B", "vs JSON",
                 "vs compact"):
        table.add_column(name, justify="left" if name == "file" else "right", no_wrap=name != "file")
    for r in report["results"]:
        table.add_row(for_terminal(r["file"]), str(r["input_bytes"]), _num(r["median_us"]), _num(r.get("p90_us")),
                      _num(r["mb_per_s"]),
                      str(r["json_bytes"]), str(r["json_compact_bytes"]), str(r["toon_bytes"]),
                      _change(r["toon_saving_pct"]), _change(r["toon_saving_compact_pct"]))
    s = report["summary"]
    table.caption_justify = "left"
    table.caption = ("median, p90: over each file's repeats; vs JSON, vs compact: TOON's size against indented and "
                     "compact JSON (− smaller, + larger)")
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




def finish(report: dict[str, Any], path: str | None, fmt: str | None, env, view) -> None:
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
