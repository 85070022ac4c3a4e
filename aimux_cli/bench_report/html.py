"""Runs -> one self-contained HTML page: inline CSS and SVG, no JavaScript, nothing fetched.

Contract: `render(runs, generated_at=None) -> str` (pure; `runs` labelled by runs.label_runs). The page holds a
summary, the percentile table, TTFT / ITL / E2E histograms, latency and throughput over time, errors by category
with their first messages, and each run's parameters and environment. Several runs are overlaid on every chart
(colour + dash + marker, with a legend) and shown side by side in a grid below.

Safety: every string that comes from a report (a model name, an error message, a meta value) is scrubbed of
registered secrets, then HTML-escaped, before it reaches the page; a Content-Security-Policy meta element forbids
scripts and every network request, so even a string that escaped escaping could neither run nor call out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aimux_cli.bench_report import svg
from aimux_cli.bench_report.runs import (STAT_KEYS, RunData, interval_for, is_stats, latency_over_time, metric_label,
                                         number, reported_over_time, requests_over_time, span_s, tokens_over_time)

_MESSAGE_MAX = 400  # characters of an error message shown; the JSON report has it whole
_VALUE_MAX = 200
_SHOWN_SUMMARY = {"completed", "failed", "errors", "error_messages", "duration_s", "requests_per_s",
                  "output_tokens", "output_tokens_per_s", "tokens_estimated", "over_time"}
_SHOWN_META = {"definitions"}
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'"
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1360px;
padding:0 20px 40px;color:#1b1b1b;background:#fff}
h1{font-size:22px;margin:20px 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:14px 0 6px}
.sub,.note,figcaption .how{color:#555}.note{font-size:13px}
table{border-collapse:collapse;margin:6px 0 10px;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right;vertical-align:top}
th{background:#f4f4f4}td.l,th.l{text-align:left}td.msg{text-align:left;max-width:60em;overflow-wrap:anywhere}
tr.group th{text-align:left;background:#e9eef5}
.charts,.side{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:12px 20px}
figure{margin:0}figcaption{font-weight:600;margin:4px 0}
svg.chart{width:100%;height:auto;max-width:640px;display:block}
.grid{stroke:#e6e6e6}.axis{stroke:#777}.tick{font-size:11px;fill:#444}.label{font-size:12px;fill:#333}
.frame{fill:#fafafa;stroke:#ddd}.none{font-size:14px;fill:#666}
ul.legend{list-style:none;padding:0;margin:2px 0;display:flex;flex-wrap:wrap;gap:4px 16px;font-weight:400}
ul.legend li{display:flex;align-items:center;gap:6px}
.panel{border:1px solid #ddd;border-radius:6px;padding:4px 12px 10px}
nav a{margin-right:12px}dl.note dt{font-weight:600}dl.note dd{margin:0 0 4px 16px}
.warn{border-left:4px solid #D55E00;background:#fff4ec;padding:6px 10px}
"""


_t = svg.escape  # a report's string made safe for the page: secrets scrubbed, then HTML-escaped


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit} more characters)"


def _cell(value: Any) -> str:
    """One value of a report as table-cell text (escaped)."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if number(value) is not None:
        return svg.fmt(value) if isinstance(value, float) else str(value)  # an int may be a pid or a port: as is
    if is_stats(value):
        return " · ".join(f"{k} {_cell(value.get(k))}" for k in ("median", "p90", "p99", "max") if k in value)
    if isinstance(value, list) and all(isinstance(v, (str, int, float, bool)) or v is None for v in value):
        return _t(_cut(", ".join("–" if v is None else str(v) for v in value), _VALUE_MAX))
    if isinstance(value, (dict, list)):
        import orjson

        try:
            text = orjson.dumps(value).decode()
        except TypeError:
            text = repr(value)
        return _t(_cut(text, _VALUE_MAX))
    return _t(_cut(str(value), _VALUE_MAX))


def render(runs: Sequence[RunData], generated_at: str | None = None) -> str:
    """The whole page for `runs` (at least one)."""
    from aimux_cli import __version__

    names = ", ".join(r.label for r in runs)
    when = f" · made {_t(generated_at)}" if generated_at else ""
    head = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>aimux bench report: {_t(_cut(names, 120))}</title><style>{_CSS}</style></head><body>")
    sections = [("summary", "Summary", _summary), ("percentiles", "Latency percentiles (ms)", _percentiles),
                ("distributions", "Distributions", _distributions), ("over-time", "Over time", _over_time),
                ("errors", "Errors", _errors)]
    if len(runs) > 1:
        sections.append(("side-by-side", "Side by side", _side_by_side))
    sections.append(("parameters", "Parameters and environment", _parameters))
    nav = "".join(f'<a href="#{key}">{title}</a>' for key, title, _ in sections)
    body = [f"<header><h1>Bench report</h1><p class=\"sub\">{len(runs)} run{'s' * (len(runs) != 1)}{when} · "
            f"aimux {_t(__version__)}</p>{svg.legend([r.label for r in runs])}<nav>{nav}</nav></header><main>"]
    for key, title, build in sections:
        body.append(f'<section id="{key}"><h2>{title}</h2>{build(runs)}</section>')
    body.append(f"</main><footer><h2>Definitions</h2>{_definitions(runs)}</footer></body></html>\n")
    return head + "".join(body)


_BENCH_DEFINITIONS = (  # for a report that does not carry its own (meta.definitions)
    '<p class="note">TTFT: from the request handed to the transport to the first body chunk that carries answer or '
    "reasoning text (an empty role chunk does not count). ITL: the gaps between consecutive text-carrying chunks, "
    "pooled over requests. TPOT: (E2E − TTFT) / (output tokens − 1). E2E: request to last body byte. Output tokens: "
    "the provider's usage when reported, else text chunks counted (marked estimated).</p>")
_PAGE_NOTES = (
    '<p class="note">Histograms show each run\'s share of samples per bin, so runs of different sizes compare; values '
    "above the highest p99 are counted in the last bin. Latency over time: the median of the requests started in "
    "each interval; throughput over time: each request's output tokens spread evenly from its first token to its "
    "last byte (the last interval is divided by the part of it the run covered).</p>")


def _definitions(runs: Sequence[RunData]) -> str:
    """The report's own definitions (`meta.definitions`, bench writes them) when it has them, then this page's."""
    given = next((r.meta["definitions"] for r in runs if isinstance(r.meta.get("definitions"), dict)), {})
    items = "".join(f"<dt>{_t(k)}</dt><dd>{_t(_cut(str(v), 1000))}</dd>" for k, v in given.items())
    return (f'<dl class="note">{items}</dl>' if items else _BENCH_DEFINITIONS) + _PAGE_NOTES


# --- sections ---

def _summary(runs: Sequence[RunData]) -> str:
    goodput = any(isinstance(r.summary.get("goodput"), dict) for r in runs)
    head = ("<tr><th class=l>run</th><th>completed</th><th>failed</th><th>error rate</th><th>duration (s)</th>"
            "<th>requests/s</th><th>output tokens/s</th><th>output tokens</th>"
            + ("<th>goodput (requests/s)</th>" if goodput else "") + "</tr>")
    rows = []
    for r in runs:
        s = r.summary
        total = r.total()
        failed = number(s.get("failed"))
        rate = f"{100 * failed / total:.1f} %" if failed is not None and total else "–"
        est = " (estimated)" if s.get("tokens_estimated") is True else ""
        rows.append(f"<tr><td class=l>{_t(r.label)}</td><td>{_cell(s.get('completed'))}</td>"
                    f"<td>{_cell(s.get('failed'))}</td><td>{rate}</td><td>{_cell(s.get('duration_s'))}</td>"
                    f"<td>{_cell(s.get('requests_per_s'))}</td><td>{_cell(s.get('output_tokens_per_s'))}{est}</td>"
                    f"<td>{_cell(s.get('output_tokens'))}</td>" + (_goodput_cell(s) if goodput else "") + "</tr>")
    table = f"<table><caption class=sub>per run</caption>{head}{''.join(rows)}</table>"
    return _bottlenecks(runs) + table + _other_figures(runs)


def _goodput_cell(summary: dict[str, Any]) -> str:
    g = summary.get("goodput") if isinstance(summary.get("goodput"), dict) else {}
    share = number(g.get("good_pct"))
    return f"<td>{_cell(g.get('requests_per_s'))}{f' ({share:.1f} % good)' if share is not None else ''}</td>"


def _bottlenecks(runs: Sequence[RunData]) -> str:
    """A warning per run whose own client was the bottleneck (bench's meta.client): its figures understate."""
    out = []
    for r in runs:
        client = r.meta.get("client") if isinstance(r.meta.get("client"), dict) else {}
        if client.get("bottleneck") is True:
            why = client.get("bottleneck_reason") or "the load generator was saturated"
            out.append(f'<p class="warn"><strong>{_t(r.label)}: the client was the bottleneck</strong> '
                       f"({_t(_cut(str(why), _VALUE_MAX))}): its latencies include the client's own delay.</p>")
    return "".join(out)


def _other_figures(runs: Sequence[RunData]) -> str:
    """Summary entries this page has no place for (goodput, client CPU, ...): flattened, one row each."""
    flat = [_flatten({k: v for k, v in r.summary.items() if k not in _SHOWN_SUMMARY and not is_stats(v)},
                     skip_stats=True) for r in runs]
    return _key_table("More figures", flat, runs) if any(flat) else ""


def _percentiles(runs: Sequence[RunData]) -> str:
    metrics = list(dict.fromkeys(m for r in runs for m in r.metrics()))
    if not metrics:
        return '<p class="note">This report holds no latency statistics.</p>'
    head = "<tr><th class=l>metric / run</th>" + "".join(f"<th>{k}</th>" for k in STAT_KEYS) + "<th>samples</th></tr>"
    rows = []
    for metric in metrics:
        rows.append(f'<tr class="group"><th colspan="{len(STAT_KEYS) + 2}">{_t(metric_label(metric))}</th></tr>')
        for r in runs:
            count = len(r.values(metric)) if r.has_samples and "." not in metric else None
            cells = "".join(f"<td>{_cell(r.stat(metric, k))}</td>" for k in STAT_KEYS)
            rows.append(f"<tr><td class=l>{_t(r.label)}</td>{cells}<td>{_cell(count)}</td></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _figure(chart: str, caption: str, runs: Sequence[RunData], how: str = "") -> str:
    legend = svg.legend([r.label for r in runs]) if len(runs) > 1 else ""
    how = f' <span class="how">{how}</span>' if how else ""
    return f"<figure><figcaption>{caption}{how}{legend}</figcaption>{chart}</figure>"


def _no_samples(runs: Sequence[RunData]) -> str:
    missing = [r.label for r in runs if not r.has_samples and not isinstance(r.summary.get("over_time"), dict)]
    if not missing:
        return ""
    return (f'<p class="note">No per-request samples in the report of {_t(", ".join(missing))}: its charts are '
            "empty (the summary and percentiles above still hold; a newer bench also writes series over time).</p>")


def _distributions(runs: Sequence[RunData]) -> str:
    charts = []
    shown = [("ttft_ms", "Time to first token"), ("itl_ms", "Inter-token latency"), ("e2e_ms", "End-to-end latency")]
    if any(r.values("connect_ms") for r in runs):
        shown.append(("connect_ms", "Connect time (requests that opened a connection)"))
    for metric, caption in shown:
        title = f"{metric_label(metric)} histogram"
        chart = svg.histogram(f"hist-{metric}", title, [(r.label, r.values(metric)) for r in runs], "ms",
                              metric_label(metric))
        charts.append(_figure(chart, caption, runs, "(share of samples per bin, ms)"))
    return _no_samples(runs) + f'<div class="charts">{"".join(charts)}</div>'


def _over_time(runs: Sequence[RunData]) -> str:
    width = interval_for(span_s(list(runs)))
    per = f"per {svg.fmt(width)} s interval"
    charts = []
    for metric, caption in (("ttft_ms", "TTFT over time"), ("e2e_ms", "E2E latency over time")):
        series = [(r.label, i, latency_over_time(r, metric, width) if r.has_samples else
                   reported_over_time(r, metric)) for i, r in enumerate(runs)]
        chart = svg.line_chart(f"time-{metric}", caption, series, "seconds since the run began (request start)",
                               f"median {metric_label(metric)} (ms)", " ms")
        charts.append(_figure(chart, caption, runs, f"(median of the requests started {per})"))
    series = [(r.label, i, tokens_over_time(r, width) if r.has_samples else
               reported_over_time(r, "output_tokens_per_s")) for i, r in enumerate(runs)]
    chart = svg.line_chart("time-tokens", "Output tokens per second over time", series, "seconds since the run began",
                           "output tokens/s", " tokens/s")
    charts.append(_figure(chart, "Throughput over time", runs, f"(output tokens/s {per})"))
    series = [(r.label, i, requests_over_time(r, width)["completed"] if r.has_samples else
               reported_over_time(r, "completed")) for i, r in enumerate(runs)]
    chart = svg.line_chart("time-requests", "Completed requests per second over time", series,
                           "seconds since the run began (request end)", "completed requests/s", " requests/s")
    charts.append(_figure(chart, "Completed requests over time", runs, f"({per})"))
    return _no_samples(runs) + f'<div class="charts">{"".join(charts)}</div>'


def _errors(runs: Sequence[RunData]) -> str:
    parts = []
    for r in runs:
        errors = r.summary.get("errors") if isinstance(r.summary.get("errors"), dict) else {}
        messages = r.summary.get("error_messages") if isinstance(r.summary.get("error_messages"), dict) else {}
        met = [(k, number(v)) for k, v in errors.items() if number(v)]
        title = f"<h3>{_t(r.label)}</h3>" if len(runs) > 1 else ""
        if not met:
            parts.append(f'{title}<p class="note">No request failed.</p>')
            continue
        total = r.total()
        rows = "".join(
            f"<tr><td class=l>{_t(kind)}</td><td>{int(count)}</td>"
            f"<td>{f'{100 * count / total:.1f} %' if total else '–'}</td>"
            f"<td class=msg>{_t(_cut(str(messages.get(kind) or '–'), _MESSAGE_MAX))}</td></tr>"
            for kind, count in met)
        parts.append(f"{title}<table><tr><th class=l>category</th><th>requests</th><th>share</th>"
                     f"<th class=l>first message</th></tr>{rows}</table>")
    return "".join(parts)


def _side_by_side(runs: Sequence[RunData]) -> str:
    panels = []
    for i, r in enumerate(runs):
        charts = "".join(
            _figure(svg.histogram(f"run{i}-hist-{metric}", f"{metric_label(metric)} histogram",
                                  [(label, r.values(metric) if label == r.label else []) for label in
                                   [x.label for x in runs]], "ms", metric_label(metric)),
                    f"{metric_label(metric)} (ms)", [r])
            for metric in ("ttft_ms", "itl_ms"))
        median = r.stat("ttft_ms", "median")
        line = (f"median TTFT {_cell(median)} ms · median ITL {_cell(r.stat('itl_ms', 'median'))} ms · "
                f"{_cell(r.summary.get('completed'))} completed, {_cell(r.summary.get('failed'))} failed")
        panels.append(f'<div class="panel"><h3>{svg.swatch(i)} {_t(r.label)}</h3><p class="note">{line}</p>'
                      f"{charts}</div>")
    return f'<div class="side">{"".join(panels)}</div>'


def _parameters(runs: Sequence[RunData]) -> str:
    flat = [_flatten({k: ({n: w for n, w in v.items() if n != "workers"} if k == "client" and isinstance(v, dict)
                          else v) for k, v in r.meta.items() if k not in _SHOWN_META}) | {"report file": r.source}
            for r in runs]
    return _key_table("", flat, runs) + "".join(_workers(r, len(runs) > 1) for r in runs)


def _workers(run: RunData, named: bool) -> str:
    """The client's worker processes (bench's meta.client.workers): one row each, whatever fields they carry."""
    client = run.meta.get("client") if isinstance(run.meta.get("client"), dict) else {}
    workers = [w for w in client.get("workers") or [] if isinstance(w, dict)] if isinstance(
        client.get("workers"), list) else []
    if not workers:
        return ""
    keys = list(dict.fromkeys(k for w in workers for k in w))
    head = "".join(f"<th>{_t(k)}</th>" for k in keys)
    rows = "".join("<tr>" + "".join(f"<td>{_cell(w.get(k))}</td>" for k in keys) + "</tr>" for w in workers)
    title = f"Client processes: {_t(run.label)}" if named else "Client processes"
    return f"<h3>{title}</h3><table><tr>{head}</tr>{rows}</table>"


def _key_table(caption: str, flat: list[dict[str, Any]], runs: Sequence[RunData]) -> str:
    keys = list(dict.fromkeys(k for f in flat for k in f))
    head = "<tr><th class=l>field</th>" + "".join(f"<th class=l>{_t(r.label)}</th>" for r in runs) + "</tr>"
    rows = "".join(f"<tr><td class=l>{_t(k)}</td>" + "".join(f"<td class=l>{_cell(f.get(k))}</td>" for f in flat)
                   + "</tr>" for k in keys)
    cap = f"<h3>{caption}</h3>" if caption else ""
    return f"{cap}<table>{head}{rows}</table>"


def _flatten(value: dict[str, Any], prefix: str = "", depth: int = 0, skip_stats: bool = False) -> dict[str, Any]:
    """Nested dicts as dotted keys (three levels; deeper ones shown as JSON); a statistics block stays one value
    (one cell: median, p90, p99, max), or is left out with `skip_stats` (the percentile table has it)."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if is_stats(item):
            if not skip_stats:
                out[name] = item
        elif isinstance(item, dict) and item and depth < 3:
            out |= _flatten(item, name + ".", depth + 1, skip_stats)
        else:
            out[name] = item
    return out




def save(report: Any, path: str, source: str = "this run") -> None:
    """Write the page of `report` (a decoded bench provider report, or several: anything runs.runs_of takes) to
    `path` atomically (output.write_file: scrubbed; an OutputError, exit 1, naming the path when it cannot)."""
    import datetime

    from aimux_cli import output
    from aimux_cli.bench_report.runs import label_runs, runs_of

    runs = runs_of(report, source)
    label_runs(runs)
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    output.write_file(path, render(runs, generated_at=now))
