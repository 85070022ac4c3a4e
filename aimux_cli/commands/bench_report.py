"""`aimux bench report` and `aimux bench compare`: bench provider reports (JSON) read back and shown.

`report FILE... [-o OUT]`: every run in the files -> one self-contained HTML page (aimux_cli.bench_report.html),
written atomically to OUT (scrubbed of registered secrets), or to stdout when it is not a terminal and no -o is
given. `compare A B`: two runs -> a table metric by metric with the change and a bootstrap verdict
(aimux_cli.bench_report.compare); `rich` on a terminal, `toon` when piped, or `json`. One file holding two runs
(`bench provider -p a -p b`) compares its two.

Exit codes: 0 done; 2 usage (no -o on a terminal, not exactly two runs to compare); 4 a file unreadable, not
JSON or not a bench provider report (named); 1 the page or -o file could not be written; with
`compare --fail-on-regression`, 10 when a metric of B is worse than A's beyond noise (after the table is shown).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aimux_cli import output
from aimux_cli.errors import AimuxError, ExitCode, UsageError


@dataclass
class ReportOptions:
    files: list[str]
    output: str | None = None


@dataclass
class CompareOptions:
    files: list[str]
    fmt: str | None = None
    color: bool | None = None
    output: str | None = None
    fail_on_regression: bool = False


def _runs(files: list[str]) -> list[Any]:
    from aimux_cli.bench_report.runs import label_runs, load

    if not files:
        raise UsageError("give at least one report file (written by `aimux bench provider -o FILE`)")
    runs = [run for name in files for run in load(name)]
    label_runs(runs)
    return runs


def run_report(opts: ReportOptions) -> int:
    import datetime
    import sys

    from aimux_cli.bench_report import html

    runs = _runs(opts.files)
    if opts.output is None and sys.stdout is not None and sys.stdout.isatty():
        raise UsageError("give -o FILE for the HTML page (or redirect stdout to a file)")
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    page = html.render(runs, generated_at=now)
    if opts.output is None or opts.output == "-":
        output.write(page)
    else:
        output.write_file(opts.output, page)
    return 0


def run_compare(opts: CompareOptions) -> int:
    from aimux_cli.bench_report import compare
    from aimux_cli.render.console import TerminalEnv

    a, b = compare.pick_two(_runs(opts.files))
    result = compare.compare(a, b)
    env = TerminalEnv.detect(color_flag=opts.color)
    fmt = opts.fmt or ("rich" if env.stdout_isatty else "toon")
    try:
        if fmt == "rich":
            for renderable in compare.view(result):
                env.stdout_console.print(renderable)
        elif fmt == "json":
            output.write(_json(result))
        else:
            from aimux_cli.toon import encode

            output.write(encode(result) + "\n")
    finally:
        if opts.output:
            output.write_file(opts.output, _json(result))
    worse = [row["label"] for row in result["rows"] if row["verdict"] == "worse"]
    if opts.fail_on_regression and worse:
        raise AimuxError(f"B is worse than A beyond noise: {', '.join(worse)}", exit_code=ExitCode.CHECK_FAILED)
    return 0


def _json(result: dict[str, Any]) -> str:
    import orjson

    return orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n"
