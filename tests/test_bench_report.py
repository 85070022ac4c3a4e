"""`aimux bench report` and `bench provider --html`: the self-contained HTML page (aimux_cli/bench_report/html.py,
svg.py, runs.py).

Fixtures (tests/data/bench_report/): run-a.json and run-b.json are real `bench provider -f json` reports measured
against tests/provider_server.py (40 requests, some rate limited); two-providers.json is one run of
`bench provider -p local -p other --processes 2 --goodput ...` (the fields a multi-process bench adds: connect
time, first wave, goodput, client workers, series over time, definitions); hostile.json carries markup in its model
name, provider, meta and error messages; no-samples.json is a report without its `requests`. The browser tests load
the page in headless Chromium over the DevTools protocol (tests/chromium_cdp.py) and skip when it is not installed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from aimux_cli.bench_report import html, runs, svg
from chromium_cdp import find_chromium, open_page

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "bench_report"
RUN_A, RUN_B, HOSTILE, NO_SAMPLES, TWO = (str(DATA / n) for n in (
    "run-a.json", "run-b.json", "hostile.json", "no-samples.json", "two-providers.json"))
CHART_IDS = ["hist-ttft_ms", "hist-itl_ms", "hist-e2e_ms", "time-ttft_ms", "time-e2e_ms", "time-tokens",
             "time-requests"]


def aimux(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aimux_cli", *args], capture_output=True, cwd=ROOT,
                          env={**os.environ, "NO_COLOR": "", "COLUMNS": "120", **(env or {})}, timeout=120)


def page_of(*files: str) -> str:
    loaded = [run for name in files for run in runs.load(name)]
    runs.label_runs(loaded)
    return html.render(loaded, generated_at="2026-11-30T12:00:00+00:00")


def chart_ids(page: str) -> list[str]:
    return re.findall(r'<svg class="chart" id="([^"]+)"', page)


# --- the page ---

def test_one_run_has_every_section_and_chart():
    page = page_of(RUN_A)
    for section in ("summary", "percentiles", "distributions", "over-time", "errors", "parameters"):
        assert f'<section id="{section}">' in page
    assert 'id="side-by-side"' not in page  # one run: nothing to put side by side
    assert chart_ids(page) == CHART_IDS
    assert "<svg" in page and page.count("<title") >= len(CHART_IDS) + 1  # every chart has a title
    report = json.loads(Path(RUN_A).read_text())
    assert f"{report['summary']['ttft_ms']['median']:.1f}" in page  # the percentile table shows the report's figures
    assert "rate_limit" in page and "Rate limit reached for requests" in page  # errors with their first message
    for key in ("concurrency", "max_tokens", "started_at", "aimux_version"):  # parameters and environment
        assert f"<td class=l>{key}</td>" in page


def test_several_runs_are_overlaid_with_a_legend_and_side_by_side():
    page = page_of(RUN_A, RUN_B)
    assert 'id="side-by-side"' in page
    assert chart_ids(page)[:len(CHART_IDS)] == CHART_IDS
    assert chart_ids(page)[len(CHART_IDS):] == ["run0-hist-ttft_ms", "run0-hist-itl_ms", "run1-hist-ttft_ms",
                                                "run1-hist-itl_ms"]
    # same provider and model: the labels name the files
    assert "local · bench-model (run-a.json)" in page and "local · bench-model (run-b.json)" in page
    overlay = page[page.index('id="hist-ttft_ms"'):page.index("</svg>", page.index('id="hist-ttft_ms"'))]
    # each run in its own colour and dash pattern, so the chart reads without colour too
    assert svg.COLOURS[0] in overlay and svg.COLOURS[1] in overlay and f'stroke-dasharray="{svg.DASHES[1]}"' in overlay
    assert page.count('<ul class="legend">') >= 1 + len(CHART_IDS)


def test_the_page_requests_nothing_and_runs_no_script():
    page = page_of(RUN_A, RUN_B)
    assert "<script" not in page.lower()
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    # the SVG namespace is a name, not a request; nothing else may point outside the file
    links = re.findall(r"(?:src|href)\s*=\s*[\"']?([^\"'>\s]*)", page)
    assert links and all(link.startswith("#") for link in links)  # in-page anchors only
    assert re.findall(r"url\(|@import", page) == []
    assert set(re.findall(r"https?://[^\"'\s<>]+", page)) == {"http://www.w3.org/2000/svg"}


def test_strings_from_a_report_are_escaped():
    page = page_of(HOSTILE)
    assert "<script" not in page.lower() and "<img" not in page.lower() and "<iframe" not in page.lower()
    assert "&lt;script&gt;alert(&#x27;model&#x27;)&lt;/script&gt;" in page
    assert "evil&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;/style&gt;&lt;style&gt;body{display:none}&lt;/style&gt;" in page
    assert "&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;script&gt;" in page
    assert page.count("</style>") == 1  # only the page's own


def test_secrets_registered_in_the_process_are_scrubbed_before_escaping(tmp_path):
    from aimux_cli import redact

    key = "sk-live-<&>-0123456789abcdef"  # characters that escaping would turn into entities
    report = json.loads(Path(RUN_A).read_text())
    report["summary"]["error_messages"]["rate_limit"] = f"HTTP 429: your key {key} is rate limited"
    report["meta"]["model"] = f"model-{key}"
    redact.register(key)
    out = tmp_path / "report.html"
    html.save(report, str(out))
    page = out.read_text()
    assert key not in page and "sk-live-&lt;&amp;&gt;-0123456789abcdef" not in page
    assert "0123456789abcdef" not in page
    assert "your key [REDACTED] is rate limited" in page


def test_a_report_without_samples_still_has_its_tables():
    page = page_of(NO_SAMPLES)
    assert "No per-request samples in the report of local · bench-model" in page
    assert "no samples to draw" in page
    assert chart_ids(page) == CHART_IDS  # each chart's place keeps its size, saying why it is empty
    report = json.loads(Path(NO_SAMPLES).read_text())
    assert f"{report['summary']['e2e_ms']['p99']:.0f}" in page


def test_a_file_of_several_providers_and_the_fields_a_newer_bench_adds():
    page = page_of(TWO)
    report = json.loads(Path(TWO).read_text())
    assert [r["meta"]["provider"] for r in report["runs"]] == ["local", "other"]
    assert "local · bench-model" in page and "other · other-model" in page and 'id="side-by-side"' in page
    for label in ("connect", "TTFT, first wave", "TTFT, after the first wave", "connect, first wave"):
        assert f'<tr class="group"><th colspan="9">{label}</th></tr>' in page
    assert "hist-connect_ms" in chart_ids(page)  # requests that opened a connection have a connect time
    goodput = report["runs"][0]["summary"]["goodput"]
    assert "<th>goodput (requests/s)</th>" in page and f"({goodput['good_pct']:.1f} % good)" in page
    assert page.count("<h3>Client processes: ") == 2 and "<th>cpu_pct</th>" in page and "<th>lag_ms</th>" in page
    assert "median " in page and "client.workers" not in page  # lag stats in one cell; workers not as JSON
    definitions = report["runs"][0]["meta"]["definitions"]
    assert f"<dt>connect</dt><dd>{definitions['connect']}</dd>" in page  # the report's own definitions
    assert "the client was the bottleneck" not in page


def test_a_client_bottleneck_is_said_first(tmp_path):
    report = json.loads(Path(TWO).read_text())
    report["runs"][1]["meta"]["client"].update(bottleneck=True, bottleneck_reason="worker 0 at 97 % CPU <b>")
    (tmp_path / "r.json").write_text(json.dumps(report))
    page = page_of(str(tmp_path / "r.json"))
    assert page.count('class="warn"') == 1
    assert "other · other-model: the client was the bottleneck</strong> (worker 0 at 97 % CPU &lt;b&gt;)" in page
    assert page.index('class="warn"') < page.index("<table>")


def test_without_samples_the_reports_own_series_over_time_are_drawn(tmp_path):
    report = json.loads(Path(TWO).read_text())
    run = report["runs"][0]
    del run["requests"]
    (tmp_path / "r.json").write_text(json.dumps(run))
    page = page_of(str(tmp_path / "r.json"))
    over_time = page[page.index('<section id="over-time">'):page.index('<section id="errors">')]
    assert "no samples to draw" not in over_time and "No per-request samples" not in over_time
    assert over_time.count("<polyline") == 4  # TTFT, E2E, tokens/s, completed/s from summary.over_time
    (loaded,) = runs.load(str(tmp_path / "r.json"))
    buckets = run["summary"]["over_time"]["buckets"]
    width = run["summary"]["over_time"]["bucket_s"]
    assert runs.reported_over_time(loaded, "output_tokens_per_s") == [
        (b["t_s"] + width / 2, b["output_tokens_per_s"]) for b in buckets]


JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False)
                    | st.text(max_size=20), lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
FIELD = st.one_of(JSON, st.sampled_from(["ok", "rate_limit", "<b>", 0, 1.5, None, [], {}, [1, "x", None]]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["completed", "failed", "errors", "error_messages", "ttft_ms", "itl_ms",
                                        "goodput", "over_time", "first_wave", "tokens_estimated", "x"]), FIELD),
       st.lists(st.dictionaries(st.sampled_from(["status", "start_ms", "ttft_ms", "e2e_ms", "itl_ms",
                                                 "output_tokens", "error", "connect_ms"]), FIELD), max_size=6),
       st.dictionaries(st.sampled_from(["provider", "model", "client", "definitions", "x"]), FIELD))
def test_any_values_in_a_report_are_drawn_or_skipped_never_a_crash(summary, requests, meta):
    from aimux_cli.bench_report import compare

    (run,) = runs.runs_of({"meta": meta, "summary": summary, "requests": requests}, "fuzz.json")
    runs.label_runs([run])
    page = html.render([run, runs.RunData("other.json", {}, {"completed": 1})])
    assert page.endswith("</html>\n") and "<script" not in page
    compare.view(compare.compare(run, run))


# --- series (pure) ---

def test_throughput_over_time_keeps_every_token_and_request():
    (run,) = runs.load(RUN_A)
    width = 0.5  # the run lasts 2.49 s: its last interval, [2, 2.5), is covered for 0.49 s
    end = runs.span_s([run])
    assert 2.4 < end < 2.5

    def amount(series):  # rate x the time each interval covered
        return sum(rate * min(width, end - (t - width / 2)) for t, rate in series)

    assert amount(runs.tokens_over_time(run, width)) == pytest.approx(run.summary["output_tokens"])
    counts = runs.requests_over_time(run, width)
    assert round(amount(counts["completed"])) == run.summary["completed"]
    assert round(amount(counts["failed"])) == run.summary["failed"]


def test_a_last_interval_barely_covered_is_not_drawn_as_a_rate():
    run = runs.RunData("x", {}, {}, [
        {"status": "ok", "start_ms": 0, "ttft_ms": 100, "e2e_ms": 900, "output_tokens": 80},
        {"status": "ok", "start_ms": 900, "ttft_ms": 50, "e2e_ms": 1150, "output_tokens": 110}])
    tokens = runs.tokens_over_time(run, 1.0)  # the run ends at 2.05 s: [2, 3) is covered for 0.05 s only
    assert [t for t, _ in tokens] == [0.5, 1.5]
    completed = runs.requests_over_time(run, 1.0)["completed"]
    assert completed == [(0.5, 1.0), (1.5, 0.0)]  # the second request ended at 2.05 s, in the interval left out
    assert runs.tokens_over_time(run, 4.0) == [(2.0, pytest.approx(190 / 2.05))]  # one interval: kept, cut to the run


def test_latency_over_time_is_the_median_of_the_requests_started_in_each_interval():
    run = runs.RunData("x", {}, {}, [
        {"status": "ok", "start_ms": 0, "ttft_ms": 10}, {"status": "ok", "start_ms": 400, "ttft_ms": 30},
        {"status": "ok", "start_ms": 900, "ttft_ms": 20}, {"status": "ok", "start_ms": 1100, "ttft_ms": 99},
        {"status": "rate_limit", "start_ms": 1200, "ttft_ms": None}])
    assert runs.latency_over_time(run, "ttft_ms", 1.0) == [(0.5, 20), (1.5, 99)]


def test_interval_widths_are_round():
    assert runs.interval_for(2.5) == 0.1
    assert runs.interval_for(60) == 2
    assert runs.interval_for(3600) == 120
    assert runs.interval_for(0) == runs.interval_for(float("inf")) == 0.1


def test_a_report_spanning_years_is_cut_into_a_few_intervals_not_millions():
    # found by the property test: a start 1e14 ms (3,000 years) away made 1 hour the widest interval, then a list
    # of 28 million intervals; a start past 1e15 ms is no measurement at all
    run = runs.RunData("x", {}, {}, [
        {"status": "ok", "start_ms": 0, "ttft_ms": 10, "e2e_ms": 20, "output_tokens": 5},
        {"status": "ok", "start_ms": 1e14, "ttft_ms": 10, "e2e_ms": 20, "output_tokens": 5},
        {"status": "ok", "start_ms": 1e300, "ttft_ms": 10, "e2e_ms": 20, "output_tokens": 5}])
    width = runs.interval_for(runs.span_s([run]))
    assert 29 < 1e11 / width <= 30
    assert len(runs.tokens_over_time(run, width)) <= 32 and len(runs.latency_over_time(run, "ttft_ms", width)) == 2
    assert runs.number(1e300) is None and runs.number(-1e16) is None and runs.number(1e14) == 1e14


def test_labels_are_unique():
    made = [runs.RunData(name, {"provider": "p", "model": "m"}, {}) for name in ("a/x.json", "b/x.json", "y.json")]
    runs.label_runs(made)
    assert [r.label for r in made] == ["p · m (x.json) #1", "p · m (x.json) #2", "p · m (y.json)"]


def test_ticks_are_round_and_cover_the_range():
    assert svg.ticks(0, 10) == [0, 2, 4, 6, 8, 10]
    assert svg.ticks(47.0, 99.1) == [40, 60, 80, 100]
    assert svg.ticks(0.0, 0.35) == [0, 0.1, 0.2, 0.3, 0.4]
    assert svg.fmt(1234.5) == "1,234" and svg.fmt(0.01234) == "0.0123" and svg.fmt(12.5) == "12.5"


def test_histogram_svg(snapshot):
    chart = svg.histogram("h", "TTFT histogram", [("run <a>", [1.0, 2.0, 2.0, 3.0, 10.0])], "ms", "TTFT", bins=4)
    assert chart == snapshot


# --- the command ---

def test_bench_report_writes_one_file(tmp_path):
    out = tmp_path / "report.html"
    result = aimux("bench", "report", RUN_A, RUN_B, "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"" and result.stderr == b""
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and chart_ids(page)[:len(CHART_IDS)] == CHART_IDS
    piped = aimux("bench", "report", RUN_A)  # no -o and stdout not a terminal: the page on stdout
    assert piped.returncode == 0 and piped.stdout.decode().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("content, says", [
    (b"", "empty"), (b"{not json", "line 1"), (b'{"meta": {}}', "not a bench provider report"),
    (b"[]", "holds no bench run")])
def test_bench_report_refuses_what_is_not_a_report(tmp_path, content, says):
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    result = aimux("bench", "report", str(bad), "-o", str(tmp_path / "out.html"))
    assert result.returncode == 4
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "bad.json" in lines[0] and says in lines[0] and "Traceback" not in lines[0]
    assert not (tmp_path / "out.html").exists()


def test_bench_report_errors_missing_file_and_unwritable_output(tmp_path):
    missing = aimux("bench", "report", str(tmp_path / "nope.json"), "-o", str(tmp_path / "out.html"))
    assert missing.returncode == 4 and "nope.json" in missing.stderr.decode()
    unwritable = aimux("bench", "report", RUN_A, "-o", str(tmp_path / "no" / "dir" / "out.html"))
    assert unwritable.returncode == 1 and "out.html" in unwritable.stderr.decode()


def test_bench_report_on_a_terminal_needs_an_output_file(monkeypatch):
    from aimux_cli.commands.bench_report import ReportOptions, run_report
    from aimux_cli.errors import UsageError

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    with pytest.raises(UsageError, match="give -o FILE"):
        run_report(ReportOptions(files=[RUN_A]))


def test_bench_provider_html_against_the_loopback_server_shows_no_key(provider_server, tmp_path):
    from provider_server import Reply, split_body

    key = "sk-html-secret-0123456789abcdef"
    events = split_body((ROOT / "tests" / "data" / "bench" / "openai-21-chunks.sse").read_bytes(), ".sse")
    stream = Reply(200, {"content-type": "text/event-stream"}, [(0.002, e) for e in events])
    echo = Reply.json({"error": {"type": "server_error", "message": f"bad key {key} <script>x</script>"}}, 500)
    provider_server.route("/v1/chat/completions", stream, echo, stream, stream, echo, stream)
    config = tmp_path / "config.toml"
    config.write_text(f'[providers.local]\nwire = "openai.chat"\nbase_url = "{provider_server.url}/v1"\n'
                      f'api_key_env = "LOCAL_HTML_KEY"\nmodel = "html-model"\n')
    out, saved = tmp_path / "run.html", tmp_path / "run.json"
    result = aimux("bench", "provider", "-p", "local", "-n", "6", "-c", "1", "--warmup", "0", "-f", "json",
                   "-o", str(saved), "--html", str(out), env={"AIMUX_CONFIG": str(config), "LOCAL_HTML_KEY": key})
    assert result.returncode == 0, result.stderr
    page = out.read_text()
    assert key not in page and "0123456789abcdef" not in page and key not in saved.read_text()
    assert "bad key [REDACTED] &lt;script&gt;x&lt;/script&gt;" in page and "<script" not in page
    assert "local · html-model" in page and set(CHART_IDS) <= set(chart_ids(page))
    report = json.loads(saved.read_text())
    assert report["summary"]["failed"] >= 1 and f"<td>{report['summary']['completed']}</td>" in page


# --- in a real browser ---

needs_browser = pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed (apt-get install "
                                   "chromium): the page is not checked in a browser")


@needs_browser
def test_the_page_in_chromium_has_no_console_error_no_request_and_charts_with_a_size(tmp_path):
    pytest.importorskip("websockets", reason="the DevTools client needs the websockets package (test extra)")
    page = tmp_path / "report.html"
    page.write_text(page_of(RUN_A, RUN_B))
    result = open_page(page)
    (tmp_path / "report.png").write_bytes(result.screenshot)
    assert result.errors() == [] and result.console == []
    assert result.requests == []
    assert [box["id"] for box in result.boxes] == chart_ids(page.read_text())
    for box in result.boxes:
        assert box["width"] > 300 and box["height"] > 100, box
    assert result.screenshot.startswith(b"\x89PNG") and len(result.screenshot) > 50_000


@needs_browser
def test_a_hostile_report_in_chromium_runs_nothing(tmp_path):
    pytest.importorskip("websockets", reason="the DevTools client needs the websockets package (test extra)")
    page = tmp_path / "hostile.html"
    page.write_text(page_of(HOSTILE))
    assert open_page(page, selector="script, img, iframe").boxes == []
    result = open_page(page)
    assert result.errors() == [] and result.requests == []
    assert len(result.boxes) == len(CHART_IDS) and all(b["width"] > 0 and b["height"] > 0 for b in result.boxes)
