"""test-providers' report -> OpenMetrics text, for Prometheus (node_exporter's textfile collector, or a scrape).

    # HELP aimux_provider_up Whether every check of the provider passed (1) or not (0).
    # TYPE aimux_provider_up gauge
    aimux_provider_up{provider="openai",model="gpt-4.1-mini"} 1
    ...
    # EOF

Gauges (labels `provider`, `model`, and `check` for the per-check ones):
  aimux_provider_up                    1 when every check of the provider passed, else 0 (checked providers only)
  aimux_check_success                  1 passed, 0 failed or not run
  aimux_check_duration_seconds         wall time of the check (the median after repeated runs)
  aimux_check_ttft_seconds             streaming checks: request sent -> first visible token
  aimux_check_output_tokens_per_second stream: the output rate after the first token
  aimux_check_http_status              the HTTP status of the check's (last) response
  aimux_check_failure                  1 for a failed check, with a `category` label (auth, timeout, budget, ...)
  aimux_check_pass_ratio               after --repeat/--watch: the share of runs the check passed (0..1)
  aimux_check_latency_p95_seconds      after --repeat/--watch: p95 (and aimux_check_latency_max_seconds, the max)
  aimux_providers                      providers by `status` (pass, fail, skip)
  aimux_last_run_timestamp_seconds     when the run started (Unix time)
A sample is written only for what was measured (a check that did not run has no duration). Label values are escaped
as the spec says (backslash, double quote, line feed). Only gauges and no OpenMetrics-only syntax besides `# EOF`,
so the same text is valid Prometheus text format 0.0.4 (where `# EOF` is a comment): node_exporter reads it as is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# name -> (help, per check, value of a check dict or a provider dict)
_PROVIDER_GAUGES: dict[str, tuple[str, Callable[[dict], Any]]] = {
    "aimux_provider_up": ("Whether every check of the provider passed (1) or not (0).",
                          lambda p: None if p["status"] == "skip" else int(p["status"] == "pass")),
}
_CHECK_GAUGES: dict[str, tuple[str, Callable[[dict], Any]]] = {
    "aimux_check_success": ("Whether the check passed (1) or failed or did not run (0).",
                            lambda c: int(c["status"] == "pass")),
    "aimux_check_duration_seconds": ("Wall time of the check in seconds (the median of repeated runs).",
                                     lambda c: _s(c["runs"]["latency_ms"]["p50"] if c.get("runs")
                                                  else c["latency_ms"])),
    "aimux_check_ttft_seconds": ("Time to the first visible token of a streaming check in seconds.",
                                 lambda c: _s(c.get("ttft_ms"))),
    "aimux_check_output_tokens_per_second": ("Output rate of a stream after its first token.",
                                             lambda c: c.get("tps")),
    "aimux_check_http_status": ("HTTP status of the check's last response.", lambda c: c.get("http_status")),
    "aimux_check_pass_ratio": ("Share of repeated runs in which the check passed.",
                               lambda c: c["runs"]["pass_rate"] if c.get("runs") else None),
    "aimux_check_latency_p95_seconds": ("95th percentile of the check's wall time over repeated runs.",
                                        lambda c: _s(c["runs"]["latency_ms"]["p95"]) if c.get("runs") else None),
    "aimux_check_latency_max_seconds": ("Longest wall time of the check over repeated runs.",
                                        lambda c: _s(c["runs"]["latency_ms"]["max"]) if c.get("runs") else None),
}


def render(report: dict[str, Any]) -> str:
    """The OpenMetrics exposition of a test-providers report, ending in `# EOF` and a newline."""
    lines: list[str] = []
    providers = report["providers"]
    for name, (text, value) in _PROVIDER_GAUGES.items():
        _family(lines, name, text, [({"provider": p["name"], "model": p["model"]}, value(p)) for p in providers])
    checked = [p for p in providers if p["status"] != "skip"]
    for name, (text, value) in _CHECK_GAUGES.items():
        _family(lines, name, text, [({"provider": p["name"], "model": p["model"], "check": c["name"]}, value(c))
                                    for p in checked for c in p["checks"]])
    _family(lines, "aimux_check_failure", "A failed check (1), labelled with the category of its failure.",
            [({"provider": p["name"], "model": p["model"], "check": c["name"], "category": c["category"] or "check"},
              1) for p in checked for c in p["checks"] if c["status"] == "fail"])
    _family(lines, "aimux_providers", "Providers in the report by status.",
            [({"status": s}, sum(1 for p in providers if p["status"] == s)) for s in ("pass", "fail", "skip")])
    started = report.get("started_at")
    if started:
        from datetime import datetime

        stamp = datetime.fromisoformat(started.replace("Z", "+00:00")).timestamp()
        _family(lines, "aimux_last_run_timestamp_seconds", "When the test-providers run started (Unix time).",
                [({}, round(stamp, 3))])
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def _family(lines: list[str], name: str, text: str, samples: list[tuple[dict[str, str], Any]]) -> None:
    samples = [(labels, value) for labels, value in samples if value is not None]
    if not samples:
        return
    lines += [f"# HELP {name} {_escape_help(text)}", f"# TYPE {name} gauge"]
    seen: set[str] = set()
    for labels, value in samples:
        body = ",".join(f'{k}="{escape(str(v))}"' for k, v in labels.items())
        line = f"{name}{{{body}}} {_number(value)}" if body else f"{name} {_number(value)}"
        key = line.rsplit(" ", 1)[0]
        if key not in seen:  # the same provider named twice would be a duplicate sample, which parsers refuse
            seen.add(key)
            lines.append(line)


def escape(value: str) -> str:
    """A label value escaped per OpenMetrics: backslash, double quote and line feed."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def _s(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000
