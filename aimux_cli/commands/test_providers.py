"""`aimux test-providers [NAME...]`: check providers (aimux_cli/health.py) and write the report.

Output (`-f`): a Rich table on a terminal (`rich`, the default there): provider, model, status, each check with its
latency, the error in one line. On a terminal each provider's row appears as soon as it finishes, under a transient
spinner on stderr (with another format on a terminal, the spinner alone until the report); piped (or `-f rich` into
a file) the whole report is written at the end, with nothing on stderr. `toon` (the default when piped) and `json`
write the report document; `junit` JUnit XML (aimux_cli/report_junit.py); `openmetrics` the OpenMetrics text
(aimux_cli/report_openmetrics.py):

    {"aimux_version", "started_at",
     "providers": [{"name", "model", "base_url", "status": "pass"|"fail"|"skip",
                    "checks": [{"name": "models"|"complete"|"stream"|..., "status": "pass"|"fail"|"skip",
                                "latency_ms", "error", "http_status", "category", "started_at", "ended_at",
                                "ttft_ms", "output_tokens", "tps", "budget"}]}],
     "passed", "failed", "skipped"}

`http_status` is the status of the check's (last) response; `category` says why a check failed or was skipped (auth,
rate_limit, provider, network, incomplete, check, config, timeout, budget, internal; the provider's error type
decides for an error inside a 200 response, by the table of errors.py); `started_at`/`ended_at` are ISO 8601 UTC.
`ttft_ms` (streaming checks), `output_tokens` and `tps` (output tokens per second after the first, `stream`) are
what was measured; `budget` the limits that applied ({"max_ttft_ms", "max_latency_ms", "min_tps"}, or null).
Repeated runs (--repeat, --watch; aimux_cli/health_repeat.py) add "min_pass_rate" at the top, "runs" (a count) per
provider and "runs" ({"count", "passed", "pass_rate", "latency_ms": {"p50", "p95", "max"}}) per check.

`--log` writes each check that sent a request to the exchange log (aimux_cli/health_log.py), once every provider
is done; a log that cannot be written is one warning, and the report and exit code are unchanged.
`--output FILE` also saves the report, in the `-f` format when it is json, toon, junit or openmetrics, else as
JSON; `--metrics-file FILE` saves the OpenMetrics text (after every run with --repeat/--watch). Both are written
atomically (a temporary file in the same directory, then renamed); a file that cannot be written is one line, exit 1.
Exit 0 when every checked provider passed, 10 when any failed, 3 when there is nothing to check (or the
configuration is bad), 2 for contradictory options.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from aimux_cli import output
from aimux_cli.errors import ExitCode, UsageError

FILE_FORMATS = ("json", "toon", "junit", "openmetrics")  # what -o writes when -f names one; else JSON


@dataclass
class TestProvidersOptions:
    __test__ = False  # not a pytest test class, whatever its name says

    names: list[str] = field(default_factory=list)
    timeout: float = 30.0
    strict: bool = False
    fmt: str | None = None  # rich | toon | json | junit | openmetrics; None picks rich on a terminal, toon piped
    output: str | None = None  # also save the report here (the -f format, else JSON)
    metrics_file: str | None = None  # also save the OpenMetrics text here
    color: bool | None = None
    log: bool = False  # write each check's exchange to the log (health_log), after the checks
    checks: str | None = None  # --checks a,b,c
    max_ttft: float | None = None  # budgets, ms / tokens per second
    max_latency: float | None = None
    min_tps: float | None = None
    base_url: str | None = None  # an ad-hoc target: --base-url and --wire, no config
    wire: str | None = None
    model: str | None = None
    key_env: str | None = None
    name: str | None = None
    repeat: int = 1
    interval: float = 0.0
    watch: bool = False
    min_pass_rate: float = 100.0


def run(opts: TestProvidersOptions) -> int:
    from aimux_cli.render.console import TerminalEnv

    check_options(opts)
    env = TerminalEnv.detect(color_flag=opts.color)
    fmt = opts.fmt or ("rich" if env.stdout_isatty else "toon")
    targets = select(opts)
    started = time.time()
    if opts.watch or opts.repeat > 1:
        report = repeated(opts, targets, env, fmt, started)
    elif env.interactive("stdout"):  # a person is watching: rows as they come (rich), else a spinner meanwhile
        from aimux_cli.commands.test_providers_live import check_live

        report = check_live(targets, opts.timeout, env, rows=fmt == "rich", log=opts.log, started=started)
    else:
        from aimux_cli import health

        report = health.report(asyncio.run(health.check_all(targets, opts.timeout, log=opts.log)), started)
    if not (fmt == "rich" and env.interactive("stdout")):  # a live table drew the report already
        emit(report, fmt, env)
    save_files(report, opts)
    return int(ExitCode.CHECK_FAILED) if report["failed"] else int(ExitCode.OK)


def check_options(opts: TestProvidersOptions) -> None:
    """Refuse contradictory or out-of-range options (UsageError, exit 2)."""
    from aimux_cli.config_check import check_timeout
    from aimux_cli.health_budget import check_limit

    opts.timeout = check_timeout(opts.timeout, "--timeout", UsageError)  # nan and inf pass Click's range
    for flag, value in (("--max-ttft", opts.max_ttft), ("--max-latency", opts.max_latency),
                        ("--min-tps", opts.min_tps)):
        if value is not None:
            check_limit(value, flag, UsageError)
    adhoc = {"--wire": opts.wire, "--model": opts.model, "--key-env": opts.key_env, "--name": opts.name}
    if opts.base_url is None:
        given = next((flag for flag, value in adhoc.items() if value is not None), None)
        if given:
            raise UsageError(f"{given} needs --base-url (an ad-hoc target); configured providers are named")
    elif opts.names:
        raise UsageError("name providers or give --base-url, not both")
    elif opts.wire is None:
        raise UsageError("--base-url needs --wire (openai.chat, openai.responses, anthropic.messages, "
                         "gemini.generate or ollama.chat)")
    if opts.watch and opts.repeat > 1:
        raise UsageError("--watch repeats until Ctrl-C: give --repeat N or --watch, not both")
    if not 0 <= opts.min_pass_rate <= 100:
        raise UsageError(f"--min-pass-rate: expected a percentage from 0 to 100, got {opts.min_pass_rate:g}")
    if not opts.interval >= 0 or opts.interval == float("inf"):
        raise UsageError(f"--interval: expected a finite number of seconds >= 0, got {opts.interval:g}")


def select(opts: TestProvidersOptions) -> list[Any]:
    """The targets: the ad-hoc one (--base-url), else the named or configured providers."""
    from aimux_cli import health
    from aimux_cli.health_budget import Budget

    checks = health.parse_checks(opts.checks, "--checks", UsageError) if opts.checks is not None else None
    budget = Budget(opts.max_ttft, opts.max_latency, opts.min_tps)
    if opts.base_url is not None:
        return [health.adhoc(opts.base_url, opts.wire or "", model=opts.model, key_env=opts.key_env,
                             name=opts.name, checks=checks, budget=budget)]
    return health.plan(opts.names, strict=opts.strict, checks=checks, budget=budget)


def repeated(opts: TestProvidersOptions, targets: list[Any], env: Any, fmt: str, started: float) -> dict[str, Any]:
    """--repeat/--watch: the runs, drawn live on a terminal, summarized; the metrics file rewritten after each."""
    from aimux_cli import health_repeat
    from aimux_cli.commands.test_providers_live import repeat_live

    def current(history: list[list[Any]]) -> dict[str, Any]:
        return health_repeat.report(history, started, opts.min_pass_rate)

    def after_run(history: list[list[Any]]) -> None:
        if opts.metrics_file:
            save_metrics(current(history), opts.metrics_file)

    history = repeat_live(targets, opts.timeout, env, runs=None if opts.watch else opts.repeat,
                          interval=opts.interval, summarize=current, after_run=after_run,
                          rows=fmt == "rich" and env.interactive("stdout"), watch=opts.watch)
    if opts.log:
        from aimux_cli import health_log

        health_log.record([t for t, results in zip(targets, history) for _ in results],
                          [r for results in history for r in results])
    return current(history)


def emit(report: dict[str, Any], fmt: str, env: Any) -> None:
    """Write the report to stdout in `fmt`."""
    if fmt == "rich":
        from aimux_cli.render.check_table import summary, table

        env.stdout_console.print(table(report))
        env.stdout_console.print(summary(report))
        return
    output.write(render(report, fmt))


def render(report: dict[str, Any], fmt: str) -> str:
    """The report as text in a file format (json, toon, junit, openmetrics), ending in a newline."""
    if fmt == "junit":
        from aimux_cli import report_junit

        return report_junit.render(report)
    if fmt == "openmetrics":
        from aimux_cli import report_openmetrics

        return report_openmetrics.render(report)
    if fmt == "toon":
        from aimux_cli.toon import encode

        return encode(report) + "\n"
    return dumps(report) + "\n"


def save_files(report: dict[str, Any], opts: TestProvidersOptions) -> None:
    """--output (the -f format when it is a file format, else JSON) and --metrics-file, each atomically."""
    if opts.output:
        save(report, opts.output, opts.fmt if opts.fmt in FILE_FORMATS else "json")
    if opts.metrics_file:
        save_metrics(report, opts.metrics_file)


def save(report: dict[str, Any], path: str, fmt: str = "json") -> None:
    """Write the report to `path` atomically; a failure is an OutputError (one line, exit 1)."""
    output.write_file(path, render(report, fmt))


def save_metrics(report: dict[str, Any], path: str) -> None:
    save(report, path, "openmetrics")


def dumps(report: dict[str, Any]) -> str:
    import orjson

    return orjson.dumps(report, option=orjson.OPT_INDENT_2).decode()
