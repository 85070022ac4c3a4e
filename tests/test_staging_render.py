"""The renderers of test-providers' report (issue 13), pure: report fixture files (tests/data/health/report-*.json:
a single run with a failure, a skipped provider, a budget failure and a model name that needs escaping; and a
repeated run) -> JUnit XML, OpenMetrics and the Rich table, as syrupy snapshots, each also read back by its real
consumer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from junitparser import JUnitXml
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from aimux_cli import report_junit, report_openmetrics
from aimux_cli.render.check_table import summary, table

DATA = Path(__file__).resolve().parent / "data" / "health"
REPORTS = ["report-single.json", "report-repeated.json"]


def load(name: str) -> dict:
    return json.loads((DATA / name).read_text())


@pytest.mark.parametrize("name", REPORTS)
def test_junit_snapshot(name, snapshot):
    text = report_junit.render(load(name))
    assert text == snapshot
    assert JUnitXml.fromstring(text.encode()).tests == sum(len(p["checks"]) for p in load(name)["providers"])


@pytest.mark.parametrize("name", REPORTS)
def test_openmetrics_snapshot(name, snapshot):
    text = report_openmetrics.render(load(name))
    assert text == snapshot
    assert list(text_string_to_metric_families(text))  # parses, `# EOF` included


@pytest.mark.parametrize("name", REPORTS)
def test_rich_table_snapshot(name, snapshot):
    from rich.console import Console

    console = Console(width=160, record=True, color_system=None, force_terminal=False)
    report = load(name)
    console.print(table(report))
    console.print(summary(report))
    assert console.export_text() == snapshot
