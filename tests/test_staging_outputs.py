"""test-providers for staging pipelines (issue 13): JUnit XML and OpenMetrics read back by their real consumers
(junitparser; prometheus_client's OpenMetrics parser), -o in the chosen format, --metrics-file, and the JSON
report's new fields. Runs against the loopback provider server, as real processes (helpers of test_test_providers).
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone

import pytest
from junitparser import Failure, JUnitXml, Skipped
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from aimux_cli import __version__, report_junit, report_openmetrics
from provider_server import Reply
from test_test_providers import KEY, aimux, keys_for, serve, write_config

UNAUTHORIZED = Reply.json({"type": "error", "error": {"type": "authentication_error",
                                                      "message": "invalid x-api-key"}}, status=401)


def mixed(tmp_path, server, *extra_args, saved=None):
    """openai passes, anthropic fails with a 401 at its first check, gemini has no key (skipped)."""
    serve(server, "openai")
    serve(server, "anthropic", models=UNAUTHORIZED)
    config = write_config(tmp_path, server, ["openai", "anthropic", "gemini"])
    return aimux(tmp_path, config, *extra_args, keys=keys_for("openai", "anthropic"), saved=saved)


def metrics(text: str) -> dict[str, dict[tuple, float]]:
    """name -> {sorted label items: value}, as prometheus_client's OpenMetrics parser reads `text`."""
    out: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(text):
        assert family.type == "gauge"
        assert family.documentation
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def labels(**kv: str) -> tuple:
    return tuple(sorted(kv.items()))


# --- JUnit ------------------------------------------------------------------------------------------------------------


def test_junit_has_a_suite_per_provider_a_case_per_check_failures_typed_by_category(tmp_path, provider_server):
    saved = tmp_path / "report.xml"
    run = mixed(tmp_path, provider_server, "-f", "junit", "-o", str(saved), saved=saved)
    assert run.code == 10, run.stderr
    assert saved.read_text() == run.stdout  # -o writes the -f format
    xml = JUnitXml.fromstring(run.stdout.encode())
    suites = {suite.name: suite for suite in xml}
    assert sorted(suites) == ["anthropic", "gemini", "openai"]
    assert (xml.tests, xml.failures, xml.errors, xml.skipped) == (9, 1, 0, 5)

    openai = suites["openai"]
    cases = list(openai)
    assert [c.name for c in cases] == ["models", "complete", "stream"]
    assert all(c.is_passed and c.classname == "openai" for c in cases)
    assert all(isinstance(c.time, float) and 0 <= c.time < 60 for c in cases)
    assert math.isclose(openai.time, sum(c.time for c in cases), abs_tol=0.003)
    props = {p.name: p.value for p in openai.properties()}
    assert props["model"] == "gpt-4.1-mini" and props["aimux_version"] == __version__
    assert datetime.fromisoformat(openai.timestamp).year >= 2024  # the XSD's zone-less dateTime

    anthropic = list(suites["anthropic"])
    (failure,) = anthropic[0].result
    assert isinstance(failure, Failure)
    assert failure.type == "auth" and "authentication_error" in failure.message and "401" in failure.message
    assert "http_status: 401" in failure.text
    assert [type(c.result[0]) for c in anthropic[1:]] == [Skipped, Skipped]
    assert "models check failed" in anthropic[1].result[0].message

    gemini = list(suites["gemini"])
    assert all(c.is_skipped for c in gemini) and "GEMINI_API_KEY" in gemini[0].result[0].message


def test_junit_escapes_markup_and_drops_what_xml_cannot_carry(tmp_path, provider_server):
    serve(provider_server, "openai", complete=Reply.json({"error": {"type": "bad<req>&\"", "message": "x\x01y"}},
                                                         status=400))
    config = write_config(tmp_path, provider_server, ["openai"])
    run = aimux(tmp_path, config, "-f", "junit")
    assert run.code == 10
    (suite,) = JUnitXml.fromstring(run.stdout.encode())
    failure = list(suite)[1].result[0]
    assert failure.type == "provider" and 'bad<req>&"' in failure.message
    assert report_junit._clean("a\x01b\x1bc\ufffed") == "abcd"


# The attributes Jenkins' JUnit XSD (xunit-plugin junit-10.xsd, which CI importers follow) allows on each element.
XSD_ATTRIBUTES = {
    "testsuites": {"name", "time", "tests", "failures", "errors"},
    "testsuite": {"name", "tests", "failures", "errors", "group", "time", "skipped", "timestamp", "hostname", "id",
                  "package", "file", "log", "url"},
    "testcase": {"name", "time", "classname", "group"},
    "properties": set(), "property": {"name", "value"},
    "failure": {"type", "message"}, "skipped": {"type", "message"}, "error": {"type", "message"},
}


def test_junit_elements_and_attributes_are_those_of_the_junit_xsd(tmp_path, provider_server):
    import re
    import xml.etree.ElementTree as ET

    run = mixed(tmp_path, provider_server, "-f", "junit")
    root = ET.fromstring(run.stdout)
    for element in root.iter():
        assert element.tag in XSD_ATTRIBUTES, element.tag
        assert set(element.attrib) <= XSD_ATTRIBUTES[element.tag], (element.tag, element.attrib)
        for key in ("name", "tests", "failures", "errors"):
            if element.tag == "testsuite":
                assert key in element.attrib  # required there
        if element.tag in ("testsuites", "testsuite") and "time" in element.attrib:
            assert re.fullmatch(r"[0-9]+\.[0-9]{3}", element.get("time"))  # the XSD's SUREFIRE_TIME, no exponent
    for suite in root.iter("testsuite"):
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", suite.get("timestamp"))


# --- OpenMetrics ------------------------------------------------------------------------------------------------------


def test_openmetrics_gauges_parse_with_prometheus_client(tmp_path, provider_server):
    run = mixed(tmp_path, provider_server, "-f", "openmetrics")
    assert run.code == 10, run.stderr
    assert run.stdout.endswith("# EOF\n")
    got = metrics(run.stdout)
    up = got["aimux_provider_up"]
    assert up == {labels(provider="anthropic", model="claude-sonnet-4-5"): 0,
                  labels(provider="openai", model="gpt-4.1-mini"): 1}  # skipped gemini: no sample
    ok = labels(provider="openai", model="gpt-4.1-mini", check="stream")
    assert got["aimux_check_success"][ok] == 1
    assert got["aimux_check_success"][labels(provider="anthropic", model="claude-sonnet-4-5", check="complete")] == 0
    assert 0 <= got["aimux_check_duration_seconds"][ok] < 60
    assert 0 <= got["aimux_check_ttft_seconds"][ok] <= got["aimux_check_duration_seconds"][ok]
    assert got["aimux_check_http_status"][ok] == 200
    failed = labels(provider="anthropic", model="claude-sonnet-4-5", check="models", category="auth")
    assert got["aimux_check_failure"] == {failed: 1}
    assert got["aimux_providers"] == {labels(status="pass"): 1, labels(status="fail"): 1, labels(status="skip"): 1}
    assert abs(got["aimux_last_run_timestamp_seconds"][()] - datetime.now(timezone.utc).timestamp()) < 3600


def test_openmetrics_label_values_are_escaped_per_the_spec(tmp_path, provider_server):
    model = 'we"ird\\model\nname'
    serve(provider_server, "openai")
    config = write_config(tmp_path, provider_server, ["openai"])
    config.write_text(config.read_text() + 'model = "we\\"ird\\\\model\\nname"\n')
    run = aimux(tmp_path, config, "-f", "openmetrics")
    assert run.code == 10  # the odd model is not in the list
    assert 'model="we\\"ird\\\\model\\nname"' in run.stdout
    assert metrics(run.stdout)["aimux_provider_up"] == {labels(provider="openai", model=model): 0}
    assert report_openmetrics.escape('a\\b"c\nd') == 'a\\\\b\\"c\\nd'


def test_metrics_file_is_written_atomically_beside_the_chosen_output(tmp_path, provider_server):
    out = tmp_path / "textfile"
    out.mkdir()
    prom = out / "aimux.prom"
    prom.write_text("old")
    run = mixed(tmp_path, provider_server, "-f", "json", "--metrics-file", str(prom))
    assert run.code == 10
    assert run.report()["failed"] == 1  # stdout keeps the -f format
    assert [p.name for p in out.iterdir()] == ["aimux.prom"]  # no temporary file left
    assert metrics(prom.read_text())["aimux_provider_up"][labels(provider="openai", model="gpt-4.1-mini")] == 1
    assert KEY not in prom.read_text()


def test_an_unwritable_metrics_file_is_one_line_and_exit_1(tmp_path, provider_server):
    serve(provider_server, "openai")
    config = write_config(tmp_path, provider_server, ["openai"])
    run = aimux(tmp_path, config, "-f", "json", "--metrics-file", str(tmp_path / "missing" / "a.prom"))
    assert run.code == 1
    assert run.stderr.count("\n") == 1 and "a.prom" in run.stderr and "Traceback" not in run.stderr
    assert run.report()["passed"] == 1  # the report was written before the error


# --- -o and the JSON report ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "read"), [
    (None, json.loads),
    ("rich", json.loads),  # a terminal view is not a file format: JSON
    ("toon", lambda text: __import__("toon_format").decode(text)),
])
def test_output_file_is_json_unless_f_names_a_file_format(tmp_path, provider_server, fmt, read):
    serve(provider_server, "openai")
    config = write_config(tmp_path, provider_server, ["openai"])
    saved = tmp_path / "out.report"
    run = aimux(tmp_path, config, *(["-f", fmt] if fmt else []), "-o", str(saved), saved=saved)
    assert run.code == 0, run.stderr
    assert read(saved.read_text())["passed"] == 1


def test_the_json_report_says_version_start_and_what_each_check_measured(tmp_path, provider_server):
    serve(provider_server, "openai")
    config = write_config(tmp_path, provider_server, ["openai"])
    before = datetime.now(timezone.utc)
    run = aimux(tmp_path, config, "-f", "json")
    assert run.code == 0, run.stderr
    report = run.report()
    assert list(report)[:2] == ["aimux_version", "started_at"] and report["aimux_version"] == __version__
    started = datetime.fromisoformat(report["started_at"].replace("Z", "+00:00"))
    assert before - started < __import__("datetime").timedelta(seconds=1)
    checks = {c["name"]: c for c in run.provider("openai")["checks"]}
    assert checks["stream"]["ttft_ms"] is not None and checks["stream"]["output_tokens"] >= 1
    assert checks["models"]["ttft_ms"] is None and checks["models"]["budget"] is None
    assert all(c["http_status"] == 200 and c["category"] is None for c in checks.values())
