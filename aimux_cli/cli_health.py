"""`aimux test-providers`: the command's options; the body is in aimux_cli/commands/test_providers.py.

Registered on the app by cli.py, after ask; like every command declaration, only wires.
"""

from __future__ import annotations

from enum import Enum
from typing import List, Optional

import typer

from aimux_cli.debug import debug_option, set_debug


class ReportFormat(str, Enum):
    rich = "rich"
    toon = "toon"
    json = "json"
    junit = "junit"
    openmetrics = "openmetrics"


TEST_PROVIDERS_HELP = (
    "Check that providers work now: list models, one completion, one stream (more with --checks), each provider "
    "concurrently within its own deadline, optionally within latency budgets. Checks the NAMEd providers, else "
    "every configured provider with a key, or one ad-hoc target (--base-url URL --wire W). "
    "Exit 0 when all checked providers pass, 10 when any fails, 3 when there is nothing to check. "
    "Example: aimux test-providers --max-ttft 800 -f junit -o report.xml"
)
_BUDGETS = "Latency budgets"


def test_providers(
    names: Optional[List[str]] = typer.Argument(None, metavar="[NAME]...", help="Providers to check."),
    timeout: float = typer.Option(30.0, "--timeout", "-t", min=0.001, metavar="SECONDS",
                                  help="Deadline per provider, for all of its checks (per run)."),
    strict: bool = typer.Option(False, "--strict", help="Count a provider without a key as failed, not skipped."),
    checks: Optional[str] = typer.Option(None, "--checks", metavar="A,B,C",
                                         help="Checks to run: models, complete, stream, stream-usage, tools, "
                                         "schema, reasoning. Default: the provider's `checks` in the config, "
                                         "else models,complete,stream."),
    fmt: Optional[ReportFormat] = typer.Option(None, "--format", "-f",
                                               help="Output: rich (default on a terminal), toon (default when "
                                               "piped), json, junit (JUnit XML) or openmetrics."),
    output_file: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE",
                                              help="Also save the report to FILE, atomically: in the -f format "
                                              "(json, toon, junit, openmetrics), JSON when -f is not given."),
    metrics_file: Optional[str] = typer.Option(None, "--metrics-file", metavar="FILE",
                                               help="Also save OpenMetrics to FILE, atomically (for node_exporter's "
                                               "textfile collector; rewritten after every run with --watch)."),
    max_ttft: Optional[float] = typer.Option(None, "--max-ttft", metavar="MS", rich_help_panel=_BUDGETS,
                                             help="Most milliseconds to a stream's first token."),
    max_latency: Optional[float] = typer.Option(None, "--max-latency", metavar="MS", rich_help_panel=_BUDGETS,
                                                help="Most milliseconds for a check that asks for a completion."),
    min_tps: Optional[float] = typer.Option(None, "--min-tps", metavar="N", rich_help_panel=_BUDGETS,
                                            help="Fewest output tokens per second in the stream check."),
    base_url: Optional[str] = typer.Option(None, "--base-url", metavar="URL", rich_help_panel="Ad-hoc target",
                                           help="Check this endpoint instead of configured providers."),
    wire: Optional[str] = typer.Option(None, "--wire", metavar="W", rich_help_panel="Ad-hoc target",
                                       help="Its wire format: openai.chat, openai.responses, anthropic.messages, "
                                       "gemini.generate, ollama.chat."),
    model: Optional[str] = typer.Option(None, "--model", "-m", metavar="M", rich_help_panel="Ad-hoc target",
                                        help="Its model. Default: the first model its list names."),
    key_env: Optional[str] = typer.Option(None, "--key-env", metavar="VAR", rich_help_panel="Ad-hoc target",
                                          help="The variable holding its API key. Default: no key."),
    name: Optional[str] = typer.Option(None, "--name", metavar="N", rich_help_panel="Ad-hoc target",
                                       help="Its name in the report. Default: the URL's host:port."),
    repeat: int = typer.Option(1, "--repeat", min=1, metavar="N", rich_help_panel="Repeated probes",
                               help="Run the checks N times; report pass rates and latency p50/p95/max."),
    interval: float = typer.Option(0.0, "--interval", min=0.0, metavar="S", rich_help_panel="Repeated probes",
                                   help="Seconds between the starts of one provider's runs."),
    watch: bool = typer.Option(False, "--watch", rich_help_panel="Repeated probes",
                               help="Repeat until Ctrl-C, then print the summary."),
    min_pass_rate: float = typer.Option(100.0, "--min-pass-rate", metavar="PCT", rich_help_panel="Repeated probes",
                                        help="A check passes when it passed in at least PCT% of its runs."),
    color: Optional[bool] = typer.Option(None, "--color/--no-color",
                                         help="Force colours on or off (NO_COLOR and FORCE_COLOR are honoured)."),
    log: bool = typer.Option(False, "--log", help="Write each check's exchange to the log (aimux logs)."),
    debug: bool = debug_option(),
) -> None:
    set_debug(debug)
    from aimux_cli.commands.test_providers import TestProvidersOptions, run

    code = run(TestProvidersOptions(
        names=names or [], timeout=timeout, strict=strict, fmt=fmt.value if fmt else None, output=output_file,
        metrics_file=metrics_file, color=color, log=log, checks=checks, max_ttft=max_ttft,
        max_latency=max_latency, min_tps=min_tps, base_url=base_url, wire=wire, model=model, key_env=key_env,
        name=name, repeat=repeat, interval=interval, watch=watch, min_pass_rate=min_pass_rate))
    if code:
        raise typer.Exit(code)
