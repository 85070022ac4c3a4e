"""test-providers' report drawn with Rich: the table (one row per provider, a cell per check), its rows one at a
time as providers finish (commands/test_providers_live.py), and the summary line. Every provider-supplied string is
made terminal-safe. Shared by the static and the live views of the command, so neither imports the other.

The check columns are the checks in the report (models, complete, stream by default), in the order they run. A cell
is the check's mark and latency (`✓ 412 ms`); after repeated runs it is the mark, the runs passed and the latency
p50/p95/max (`✗ 2/3 120/340/400 ms`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

_MARKS = {"pass": ("✓", "green"), "fail": ("✗", "bold red"), "skip": ("–", "dim")}

DEFAULT_CHECKS = ("models", "complete", "stream")
COLUMNS = ("provider", "model", "status", *DEFAULT_CHECKS, "error")


def check_names(report: dict[str, Any]) -> tuple[str, ...]:
    """The check columns of a report: every check any provider has, in the order they run."""
    from aimux_cli.health import CHECKS

    present = {c["name"] for p in report["providers"] for c in p["checks"]}
    return tuple(n for n in CHECKS if n in present) or DEFAULT_CHECKS


def table(report: dict[str, Any]) -> Any:
    """The Rich table: one row per provider; every provider-supplied string is made terminal-safe."""
    checks = check_names(report)
    grid = grid_for(checks=checks)
    for p in report["providers"]:
        grid.add_row(*row(p, checks))
    return grid


def grid_for(widths: dict[str, int] | None = None, *, header: bool = True,
             checks: Sequence[str] = DEFAULT_CHECKS) -> Any:
    """An empty table with the report's columns; `widths` fixes them, so that rows drawn one at a time line up."""
    from rich.table import Table

    grid = Table(show_edge=False, header_style="bold", pad_edge=False, show_header=header)
    for title in ("provider", "model", "status", *checks, "error"):
        width = (widths or {}).get(title)
        grid.add_column(title, no_wrap=title != "error", overflow="fold", width=width,
                        min_width=width if title != "error" else None)
    return grid


def row(p: dict[str, Any], checks: Sequence[str] = DEFAULT_CHECKS) -> list[Any]:
    """The cells of one provider's row, a cell per check column (empty when the provider has no such check)."""
    from rich.text import Text

    from aimux_cli.render.sanitize import for_terminal

    mark, style = _MARKS[p["status"]]
    error = next((c["error"] for c in p["checks"] if c["error"]), None) or ""
    error_style = "red" if p["status"] == "fail" else "dim"
    by_name = {c["name"]: c for c in p["checks"]}
    return [Text(for_terminal(p["name"])), Text(for_terminal(p["model"])), Text(f"{mark} {p['status']}", style=style),
            *(_step(by_name[n]) if n in by_name else Text("") for n in checks),
            Text(for_terminal(error), style=error_style)]


def _step(check: dict[str, Any]) -> Any:
    from rich.text import Text

    mark, style = _MARKS[check["status"]]
    runs = check.get("runs")
    if runs:
        stats = runs["latency_ms"]
        figures = "/".join("–" if stats[k] is None else str(stats[k]) for k in ("p50", "p95", "max"))
        return Text(f"{mark} {runs['passed']}/{runs['count']} {figures} ms", style=style)
    if check["latency_ms"] is None:
        return Text(mark, style=style)
    return Text(f"{mark} {check['latency_ms']} ms", style=style)


def summary(report: dict[str, Any]) -> Any:
    from rich.text import Text

    style = "bold red" if report["failed"] else "green"
    line = f"{report['passed']} passed, {report['failed']} failed, {report['skipped']} skipped"
    if "min_pass_rate" in report:
        runs = sum(p.get("runs", 0) for p in report["providers"])
        line += f" ({runs} runs; a check passes at {report['min_pass_rate']:g}% of its runs)"
    return Text(line, style=style)
