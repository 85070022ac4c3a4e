"""test-providers' report -> JUnit XML, the test-report format Jenkins, GitLab CI and GitHub Actions publish.

    <testsuites name="aimux test-providers" tests failures errors="0" time>
      <testsuite name="openai" tests failures errors="0" skipped time timestamp hostname="127.0.0.1:8080">
        <properties><property name="model" value="gpt-4.1-mini"/> base_url, aimux_version</properties>
        <testcase classname="openai" name="complete" time="0.412">
          <failure message="HTTP 401: authentication_error: invalid x-api-key" type="auth">…</failure>
        </testcase>
        <testcase classname="openai" name="stream" time="0"><skipped message="not run: complete failed"/></testcase>

One testsuite per provider, one testcase per check (`time` in seconds, 3 decimals; 0 for a check that did not run).
A failed check is a `<failure>` whose message is the check's one-line error and whose type is its category (auth,
rate_limit, provider, network, incomplete, check, config, timeout, budget, internal); its text adds the HTTP status,
the budget and the measured figures. A skipped provider (no key) and each check that did not run are `<skipped>`.
After repeated runs (--repeat/--watch) a testcase fails when the check's pass rate is under the minimum, its time is
the median latency and its text gives the pass rate and p50/p95/max. Elements and attributes are those of the JUnit
XSD that Jenkins' xUnit plugin validates with (junit-10.xsd); suite timestamps are UTC without a zone designator
(`2026-11-30T07:55:43`), as Surefire writes them. Characters XML 1.0 cannot carry are dropped.
"""

from __future__ import annotations

import re
from typing import Any

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render(report: dict[str, Any]) -> str:
    """The JUnit XML document of a test-providers report (with its XML declaration and a final newline)."""
    import xml.etree.ElementTree as ET

    suites = [_suite(p, report) for p in report["providers"]]
    totals = _totals(suites)
    del totals["skipped"]  # <testsuites> has no skipped (nor timestamp) attribute in the XSD: its suites say
    root = ET.Element("testsuites", _attrs(name="aimux test-providers", **totals))
    root.extend(suites)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _suite(provider: dict[str, Any], report: dict[str, Any]) -> Any:
    import xml.etree.ElementTree as ET

    cases = [_case(provider, check, _skip_reason(provider)) for check in provider["checks"]]
    started = min((c["started_at"] for c in provider["checks"] if c.get("started_at")), default=None)
    suite = ET.Element("testsuite", _attrs(name=provider["name"], **_totals(cases),
                                           timestamp=_stamp(started or report.get("started_at")),
                                           hostname=_host(provider["base_url"])))
    props = ET.SubElement(suite, "properties")
    for name, value in (("model", provider["model"]), ("base_url", provider["base_url"]),
                        ("aimux_version", report.get("aimux_version")), ("runs", provider.get("runs"))):
        if value is not None:
            ET.SubElement(props, "property", _attrs(name=name, value=value))
    suite.extend(cases)
    return suite


def _skip_reason(provider: dict[str, Any]) -> str:
    """Why a check did not run: the provider's problem (no key), or the check that failed before it."""
    if provider["status"] == "skip":
        return next((c["error"] for c in provider["checks"] if c["error"]), "skipped")
    gate = next((c["name"] for c in provider["checks"] if c["status"] == "fail"), None)
    return f"not run: the {gate} check failed" if gate else "not run"


def _case(provider: dict[str, Any], check: dict[str, Any], reason: str) -> Any:
    import xml.etree.ElementTree as ET

    runs = check.get("runs")
    latency = runs["latency_ms"]["p50"] if runs else check["latency_ms"]
    case = ET.Element("testcase", _attrs(classname=provider["name"], name=check["name"],
                                         time=_seconds(latency)))
    if check["status"] == "fail":
        failure = ET.SubElement(case, "failure", _attrs(message=_message(check), type=check["category"] or "check"))
        failure.text = _clean(_details(check))
    elif check["status"] == "skip" or provider["status"] == "skip":
        ET.SubElement(case, "skipped", _attrs(message=check["error"] or reason))
    return case


def _message(check: dict[str, Any]) -> str:
    runs = check.get("runs")
    if not runs:
        return check["error"] or "failed"
    rate = f"pass rate {runs['passed']}/{runs['count']} ({runs['pass_rate'] * 100:.1f}%)"
    return f"{rate}; last error: {check['error']}" if check["error"] else rate


def _details(check: dict[str, Any]) -> str:
    """The failure's text: what was measured, the budget, and the pass rate of repeated runs."""
    lines = [f"{key}: {check[key]}" for key in ("error", "category", "http_status", "latency_ms", "ttft_ms",
                                                  "output_tokens", "tps") if check.get(key) is not None]
    if check.get("budget"):
        lines.append("budget: " + ", ".join(f"{k} {v:g}" for k, v in check["budget"].items()))
    runs = check.get("runs")
    if runs:
        stats = runs["latency_ms"]
        lines.append(f"runs: {runs['passed']}/{runs['count']} passed; latency p50 {stats['p50']} ms, "
                     f"p95 {stats['p95']} ms, max {stats['max']} ms")
    return "\n".join(lines)


def _totals(elements: list[Any]) -> dict[str, Any]:
    """tests/failures/errors/skipped/time of a list of testcases or testsuites."""
    if elements and elements[0].tag == "testsuite":
        keys = ("tests", "failures", "skipped")
        sums = {k: sum(int(e.get(k)) for e in elements) for k in keys}
        total = sum(float(e.get("time")) for e in elements)
    else:
        sums = {"tests": len(elements),
                "failures": sum(1 for e in elements if e.find("failure") is not None),
                "skipped": sum(1 for e in elements if e.find("skipped") is not None)}
        total = sum(float(e.get("time")) for e in elements)
    return {"tests": sums["tests"], "failures": sums["failures"], "errors": 0, "skipped": sums["skipped"],
            "time": f"{total:.3f}"}


def _attrs(**values: Any) -> dict[str, str]:
    return {k: _clean(str(v)) for k, v in values.items() if v is not None}


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _seconds(ms: float | None) -> str:
    return "0" if ms is None else f"{ms / 1000:.3f}"


def _stamp(iso: str | None) -> str | None:
    """`2026-11-30T07:55:43.123Z` -> `2026-11-30T07:55:43` (the XSD's dateTime has no zone or fraction)."""
    return iso[:19] if iso else None


def _host(base_url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(base_url).netloc or base_url
