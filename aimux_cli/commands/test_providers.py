"""`aimux test-providers [NAME...]`: check providers (aimux_cli/health.py) and write the report.

Output: a Rich table on a terminal (`rich`, the default there): provider, model, status, each step with its latency,
the error in one line. On a terminal each provider's row appears as soon as it finishes, under a transient spinner
on stderr (with `-f json|toon` on a terminal, the spinner alone until the report); piped (or `-f rich` into a file)
the whole report is written at the end, with nothing on stderr.
`toon` (the default when piped) and `json` write the report document:

    {"providers": [{"name", "model", "base_url", "status": "pass"|"fail"|"skip",
                    "checks": [{"name": "models"|"complete"|"stream", "status": "pass"|"fail"|"skip",
                                "latency_ms", "error", "http_status", "category", "started_at", "ended_at"}]}],
     "passed", "failed", "skipped"}

`http_status` is the status of the step's (last) response; `category` says why a step failed or was skipped (auth,
rate_limit, provider, network, incomplete, check, config, timeout, internal; the provider's error type decides for
an error inside a 200 response, by the table of errors.py); `started_at`/`ended_at` are ISO 8601 UTC.

`--log` writes each step that sent a request to the exchange log (aimux_cli/health_log.py), once every provider
is done; a log that cannot be written is one warning, and the report and exit code are unchanged.
`--output FILE` also saves the report as JSON (atomically; a file that cannot be written is one line, exit 1).
Exit 0 when every checked provider passed, 10 when any failed, 3 when there is nothing to check (or the
configuration is bad).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aimux_cli import output
from aimux_cli.errors import ExitCode, UsageError



@dataclass
class TestProvidersOptions:
    __test__ = False  # not a pytest test class, whatever its name says

    names: list[str] = field(default_factory=list)
    timeout: float = 30.0
    strict: bool = False
    fmt: str | None = None  # rich | toon | json; None picks rich on a terminal, toon when piped
    output: str | None = None  # also save the report here as JSON
    color: bool | None = None
    log: bool = False  # write each step's exchange to the log (health_log), after the checks


def run(opts: TestProvidersOptions) -> int:
    from aimux_cli import health
    from aimux_cli.render.console import TerminalEnv

    from aimux_cli.config import check_timeout

    opts.timeout = check_timeout(opts.timeout, "--timeout", UsageError)  # nan and inf pass Click's range
    env = TerminalEnv.detect(color_flag=opts.color)
    fmt = opts.fmt or ("rich" if env.stdout_isatty else "toon")
    targets = health.plan(opts.names, strict=opts.strict)
    if env.interactive("stdout"):  # a person is watching: rows as they come (rich), else a spinner meanwhile
        from aimux_cli.commands.test_providers_live import check_live

        report = check_live(targets, opts.timeout, env, rows=fmt == "rich", log=opts.log)
        if fmt != "rich":
            emit(report, fmt, env)
    else:
        report = health.report(asyncio.run(health.check_all(targets, opts.timeout, log=opts.log)))
        emit(report, fmt, env)
    if opts.output:
        save(report, opts.output)
    return int(ExitCode.CHECK_FAILED) if report["failed"] else int(ExitCode.OK)


def emit(report: dict[str, Any], fmt: str, env: Any) -> None:
    """Write the report to stdout in `fmt`."""
    if fmt == "rich":
        from aimux_cli.render.check_table import summary, table

        env.stdout_console.print(table(report))
        env.stdout_console.print(summary(report))
        return
    if fmt == "json":
        output.write(dumps(report) + "\n")
        return
    from aimux_cli.toon import encode

    output.write(encode(report) + "\n")


def save(report: dict[str, Any], path: str) -> None:
    """Write the JSON report to `path` atomically; a failure is an OutputError (one line, exit 1)."""
    output.write_file(path, dumps(report) + "\n")


def dumps(report: dict[str, Any]) -> str:
    import orjson

    return orjson.dumps(report, option=orjson.OPT_INDENT_2).decode()
