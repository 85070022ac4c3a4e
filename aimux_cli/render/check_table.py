"""test-providers' report drawn with Rich: the table (one row per provider, a cell per check), its rows one at a
time as providers finish (commands/test_providers_live.py), and the summary line. Every provider-supplied string is
made terminal-safe. Shared by the static and the live views of the command, so neither imports the other.
"""

from __future__ import annotations

from typing import Any

_MARKS = {"pass": ("✓", "green"), "fail": ("✗", "bold red"), "skip": ("–", "dim")}

COLUMNS = ("provider", "model", "status", "models", "complete", "stream", "error")


def table(report: dict[str, Any]) -> Any:
    """The Rich table: one row per provider; every provider-supplied string is made terminal-safe."""
    grid = grid_for()
    for p in report["providers"]:
        grid.add_row(*row(p))
    return grid


def grid_for(widths: dict[str, int] | None = None, *, header: bool = True) -> Any:
    """An empty table with the report's columns; `widths` fixes them, so that rows drawn one at a time line up."""
    from rich.table import Table

    grid = Table(show_edge=False, header_style="bold", pad_edge=False, show_header=header)
    for title in COLUMNS:
        width = (widths or {}).get(title)
        grid.add_column(title, no_wrap=title != "error", overflow="fold", width=width,
                        min_width=width if title != "error" else None)
    return grid


def row(p: dict[str, Any]) -> list[Any]:
    """The cells of one provider's row."""
    from rich.text import Text

    from aimux_cli.render.sanitize import for_terminal

    mark, style = _MARKS[p["status"]]
    error = next((c["error"] for c in p["checks"] if c["error"]), None) or ""
    error_style = "red" if p["status"] == "fail" else "dim"
    return [Text(for_terminal(p["name"])), Text(for_terminal(p["model"])), Text(f"{mark} {p['status']}", style=style),
            *(_step(c) for c in p["checks"]), Text(for_terminal(error), style=error_style)]


def _step(check: dict[str, Any]) -> Any:
    from rich.text import Text

    mark, style = _MARKS[check["status"]]
    if check["latency_ms"] is None:
        return Text(mark, style=style)
    return Text(f"{mark} {check['latency_ms']} ms", style=style)


def summary(report: dict[str, Any]) -> Any:
    from rich.text import Text

    style = "bold red" if report["failed"] else "green"
    return Text(f"{report['passed']} passed, {report['failed']} failed, {report['skipped']} skipped", style=style)
