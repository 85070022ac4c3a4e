"""`aimux test-providers [NAME...]`: check providers (aimux_cli/health.py) and write the report.

Output: a Rich table on a terminal (`rich`, the default there): provider, model, status, each step with its latency,
the error in one line; `toon` (the default when piped) and `json` write the report document:

    {"providers": [{"name", "model", "base_url", "status": "pass"|"fail"|"skip",
                    "checks": [{"name": "models"|"complete"|"stream", "status": "pass"|"fail"|"skip",
                                "latency_ms", "error"}]}],
     "passed", "failed", "skipped"}

`--output FILE` also saves the report as JSON. Exit 0 when every checked provider passed, 10 when any failed,
3 when there is nothing to check (or the configuration is bad).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aimux_cli import output
from aimux_cli.errors import ExitCode, UsageError

_MARKS = {"pass": ("✓", "green"), "fail": ("✗", "bold red"), "skip": ("–", "dim")}


@dataclass
class TestProvidersOptions:
    __test__ = False  # not a pytest test class, whatever its name says

    names: list[str] = field(default_factory=list)
    timeout: float = 30.0
    strict: bool = False
    fmt: str | None = None  # rich | toon | json; None picks rich on a terminal, toon when piped
    output: str | None = None  # also save the report here as JSON
    color: bool | None = None


def run(opts: TestProvidersOptions) -> int:
    from aimux_cli import health
    from aimux_cli.render.console import TerminalEnv

    if not opts.timeout > 0:
        raise UsageError("--timeout must be a positive number of seconds")
    env = TerminalEnv.detect(color_flag=opts.color)
    fmt = opts.fmt or ("rich" if env.stdout_isatty else "toon")
    targets = health.plan(opts.names, strict=opts.strict)
    results = asyncio.run(health.check_all(targets, opts.timeout))
    report = health.report(results)
    emit(report, fmt, env)
    if opts.output:
        save(report, opts.output)
    return int(ExitCode.CHECK_FAILED) if report["failed"] else int(ExitCode.OK)


def emit(report: dict[str, Any], fmt: str, env: Any) -> None:
    """Write the report to stdout in `fmt`."""
    if fmt == "rich":
        env.stdout_console.print(table(report))
        env.stdout_console.print(summary(report))
        return
    if fmt == "json":
        output.write(dumps(report) + "\n")
        return
    from aimux_cli.toon import encode

    output.write(encode(report) + "\n")


def save(report: dict[str, Any], path: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(dumps(report) + "\n")
    except OSError as exc:
        raise UsageError(f"--output {path}: cannot write: {exc.strerror or exc}") from None


def dumps(report: dict[str, Any]) -> str:
    import orjson

    return orjson.dumps(report, option=orjson.OPT_INDENT_2).decode()


def table(report: dict[str, Any]) -> Any:
    """The Rich table: one row per provider; every provider-supplied string is made terminal-safe."""
    from rich.table import Table
    from rich.text import Text

    from aimux_cli.render.sanitize import for_terminal

    grid = Table(show_edge=False, header_style="bold", pad_edge=False)
    for title in ("provider", "model", "status", "models", "complete", "stream", "error"):
        grid.add_column(title, no_wrap=title != "error", overflow="fold")
    for p in report["providers"]:
        mark, style = _MARKS[p["status"]]
        error = next((c["error"] for c in p["checks"] if c["error"]), None) or ""
        error_style = "red" if p["status"] == "fail" else "dim"
        grid.add_row(Text(for_terminal(p["name"])), Text(for_terminal(p["model"])), Text(f"{mark} {p['status']}",
                     style=style), *(_step(c) for c in p["checks"]), Text(for_terminal(error), style=error_style))
    return grid


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
