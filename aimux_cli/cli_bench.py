"""`aimux bench`: the sub-app's options (provider, prettify, ...); the bodies are in aimux_cli/commands/bench*.py.

Registered on the app by cli.py; like every command declaration, only wires.
"""

from __future__ import annotations

from enum import Enum
from typing import List, Optional

import typer

from aimux_cli.debug import debug_option, set_debug

bench_app = typer.Typer(name="bench", no_args_is_help=True,
                        help="Measure a provider's speed (TTFT, TPOT, ITL, latency, throughput) or the prettifier's.")


@bench_app.callback()
def _bench(debug: bool = debug_option()) -> None:
    set_debug(debug)


class BenchFormat(str, Enum):
    rich = "rich"
    toon = "toon"
    json = "json"


_BENCH_FORMAT_HELP = "Output: rich (default on a terminal), toon (default when piped) or json."
_BENCH_OUTPUT_HELP = "Also save the report as JSON to FILE."


class BenchLoop(str, Enum):
    auto = "auto"
    asyncio = "asyncio"
    uvloop = "uvloop"


@bench_app.command(
    "provider",
    help="Stream requests to a provider and report TTFT, TPOT, inter-chunk latency (ITL) and end-to-end latency "
    "(mean, median, p90, p95, p99, min, max), connect time, throughput, goodput and errors by category. Without "
    "--rate, --concurrency requests are kept in flight; with --rate, starts follow a Poisson process. Requests are "
    "not retried. Example: aimux bench provider -p local -c 64 -n 640 --processes auto --input-tokens 512 "
    "--max-tokens 128 --goodput 'ttft:500 tpot:50' -o run.json",
)
def bench_provider(
    provider: Optional[List[str]] = typer.Option(None, "--provider", "-p", metavar="NAME",
                                                 help="Provider from the catalog or the config file; repeat it (or "
                                                 "a,b) to measure several in turn and compare them."),
    model: Optional[str] = typer.Option(None, "--model", "-m", metavar="NAME", help="Model. Default: the provider's."),
    requests: Optional[int] = typer.Option(None, "--requests", "-n", min=1, metavar="N",
                                           help="Measured requests (default 10)."),
    duration: Optional[float] = typer.Option(None, "--duration", "-d", metavar="SECONDS",
                                             help="Start requests for this long instead of a fixed number."),
    concurrency: Optional[int] = typer.Option(None, "--concurrency", "-c", min=1, metavar="C",
                                              help="Requests in flight (default 1); with --rate, a cap."),
    rate: Optional[float] = typer.Option(None, "--rate", "-r", metavar="R",
                                         help="Request starts per second, Poisson-spaced."),
    prompt: Optional[str] = typer.Option(None, "--prompt", metavar="TEXT", help="The prompt of every request."),
    prompt_file: Optional[str] = typer.Option(None, "--prompt-file", metavar="FILE", help="Read the prompt from FILE."),
    dataset: Optional[str] = typer.Option(None, "--dataset", metavar="FILE",
                                          help="Prompts used in turn: JSONL (strings or {\"prompt\": ...}) or "
                                          "ShareGPT conversations (its replies' lengths set max tokens)."),
    input_tokens: Optional[str] = typer.Option(None, "--input-tokens", metavar="N[:STD]",
                                               help="Synthetic prompts of about N tokens (4 characters a token), "
                                               "normally spread by STD, each different."),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", min=1, metavar="N",
                                             help="Most tokens per answer (default 256)."),
    ignore_eos: bool = typer.Option(False, "--ignore-eos", help="Ask for exactly --max-tokens tokens (ignore_eos, "
                                    "min_tokens: vLLM, SGLang; openai.chat wire only)."),
    warmup: int = typer.Option(1, "--warmup", min=0, metavar="K", help="Unmeasured requests sent first."),
    seed: Optional[int] = typer.Option(None, "--seed", metavar="N",
                                       help="Seed of the Poisson spacing and the synthetic prompts."),
    goodput: Optional[List[str]] = typer.Option(None, "--goodput", metavar="'ttft:MS tpot:MS e2e:MS'",
                                                help="Service-level objectives in ms: report the requests/s "
                                                "meeting all of them."),
    processes: Optional[str] = typer.Option(None, "--processes", metavar="N|auto",
                                            help="Worker processes sharing the load (auto: one per CPU); samples "
                                            "are merged whole."),
    loop: BenchLoop = typer.Option(BenchLoop.auto, "--loop",
                                   help="Event loop: uvloop when installed (auto), or force one."),
    output_file: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE", help=_BENCH_OUTPUT_HELP),
    html: Optional[str] = typer.Option(None, "--html", metavar="FILE",
                                       help="Also write the report as a self-contained HTML page."),
    fmt: Optional[BenchFormat] = typer.Option(None, "--format", "-f", help=_BENCH_FORMAT_HELP),
    color: Optional[bool] = typer.Option(None, "--color/--no-color", help="Force colours on or off."),
    log: bool = typer.Option(False, "--log", help="Write one log row per measured request, after the run."),
    log_bodies: bool = typer.Option(False, "--log-bodies", help="With --log: keep the raw response bytes too."),
    debug: bool = debug_option(),
) -> None:
    set_debug(debug)
    from aimux_cli.commands.bench import ProviderOptions, run_provider

    code = run_provider(ProviderOptions(
        provider=provider or None, model=model, requests=requests, duration=duration, concurrency=concurrency,
        rate=rate, prompt=prompt, prompt_file=prompt_file, max_tokens=max_tokens, warmup=warmup, seed=seed,
        output=output_file, fmt=fmt.value if fmt else None, color=color, log=log, log_bodies=log_bodies,
        processes=processes, loop=loop.value, goodput=goodput or [], dataset=dataset, input_tokens=input_tokens,
        ignore_eos=ignore_eos, html=html))
    if code:
        raise typer.Exit(code)


@bench_app.command(
    "prettify",
    help="Time normalize + TOON encode per response file in process (median and p90 µs per run over --repeats "
    "interleaved timings, MB/s) and compare the output sizes of JSON and TOON. Default: every file under "
    "fixtures/, skipping those broken on purpose. Example: aimux bench prettify --repeats 9 --min-time 0.5 "
    "fixtures/openai/*.json",
)
def bench_prettify(
    files: Optional[List[str]] = typer.Argument(None, metavar="[FILE]...", help="Response files to measure."),
    min_time: float = typer.Option(0.1, "--min-time", metavar="SECONDS", help="Least timing per file, in all."),
    repeats: int = typer.Option(5, "--repeats", min=1, metavar="R",
                                help="Separate timings per file (files interleaved): median and p90 over them."),
    output_file: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE", help=_BENCH_OUTPUT_HELP),
    fmt: Optional[BenchFormat] = typer.Option(None, "--format", "-f", help=_BENCH_FORMAT_HELP),
    color: Optional[bool] = typer.Option(None, "--color/--no-color", help="Force colours on or off."),
    debug: bool = debug_option(),
) -> None:
    set_debug(debug)
    from aimux_cli.commands.bench_prettify import PrettifyOptions, run_prettify

    code = run_prettify(PrettifyOptions(files=files or [], min_time=min_time, output=output_file,
                                        fmt=fmt.value if fmt else None, color=color, repeats=repeats))
    if code:
        raise typer.Exit(code)


@bench_app.command(
    "report",
    help="Turn bench provider reports (JSON, from -o) into one self-contained HTML page: histograms, latency and "
    "throughput over time, percentiles, errors, parameters; several runs overlaid and side by side. "
    "Example: aimux bench report groq.json cerebras.json -o report.html",
)
def bench_report(
    files: List[str] = typer.Argument(..., metavar="RUN.json...", help="Reports written by bench provider -o."),
    output_file: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE",
                                              help="Write the page to FILE (default: stdout, when not a terminal)."),
    debug: bool = debug_option(),
) -> None:
    set_debug(debug)
    from aimux_cli.commands.bench_report import ReportOptions, run_report

    run_report(ReportOptions(files=files, output=output_file))


@bench_app.command(
    "compare",
    help="Compare two bench provider runs metric by metric (TTFT, ITL, TPOT, E2E p50/p90/p99, throughput, error "
    "rate): A, B, the change and whether it is beyond noise (a 95 % bootstrap interval over the requests). "
    "Example: aimux bench compare before.json after.json",
)
def bench_compare(
    files: List[str] = typer.Argument(..., metavar="A.json B.json", help="Two reports (or one holding two runs)."),
    fmt: Optional[BenchFormat] = typer.Option(None, "--format", "-f", help=_BENCH_FORMAT_HELP),
    color: Optional[bool] = typer.Option(None, "--color/--no-color", help="Force colours on or off."),
    output_file: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE",
                                              help="Also save the comparison as JSON to FILE."),
    fail_on_regression: bool = typer.Option(False, "--fail-on-regression",
                                            help="Exit 10 when a metric of B is worse than A's beyond noise."),
    debug: bool = debug_option(),
) -> None:
    set_debug(debug)
    from aimux_cli.commands.bench_report import CompareOptions, run_compare

    run_compare(CompareOptions(files=files, fmt=fmt.value if fmt else None, color=color, output=output_file,
                               fail_on_regression=fail_on_regression))


@bench_app.command(
    "locust",
    help="Measure a provider as bench provider does, on Locust (pip install 'aimux\\[distributed]'): headless here, "
    "or across machines with --master and --worker; the master merges every sample into one report. Examples: "
    "aimux bench locust -p local -u 64 -t 60s -o run.json; aimux bench locust -p local --master --expect-workers 2 "
    "-u 128 -t 5m -o run.json; aimux bench locust -p local --worker --master-host 10.0.0.5",
)
def bench_locust(
    provider: Optional[str] = typer.Option(None, "--provider", "-p", metavar="NAME",
                                           help="Provider from the catalog or the config file (on every worker too)."),
    model: Optional[str] = typer.Option(None, "--model", "-m", metavar="NAME", help="Model. Default: the provider's."),
    prompt: Optional[str] = typer.Option(None, "--prompt", metavar="TEXT", help="The prompt of every request."),
    max_tokens: int = typer.Option(256, "--max-tokens", min=1, metavar="N", help="Most tokens per answer."),
    users: int = typer.Option(1, "--users", "-u", min=1, metavar="N", help="Simulated users (streams in flight)."),
    spawn_rate: Optional[float] = typer.Option(None, "--spawn-rate", "-r", metavar="R",
                                               help="Users started per second (default: all at once)."),
    run_time: str = typer.Option("30s", "--run-time", "-t", metavar="TIME", help="How long: 30s, 5m, 1h30m."),
    requests_per_user: Optional[int] = typer.Option(None, "--requests-per-user", "-n", min=1, metavar="N",
                                                    help="Requests per user, then it idles (default: no limit)."),
    stop_timeout: float = typer.Option(60.0, "--stop-timeout", metavar="SECONDS",
                                       help="At the end, how long a request in flight may take to finish."),
    master: bool = typer.Option(False, "--master", help="Coordinate workers (on other machines) and merge."),
    worker: bool = typer.Option(False, "--worker", help="Send the load a master asks for."),
    expect_workers: int = typer.Option(1, "--expect-workers", min=1, metavar="N",
                                       help="With --master: start once N workers are connected."),
    master_host: str = typer.Option("127.0.0.1", "--master-host", metavar="HOST",
                                    help="The master's address (--worker), or the one it listens on (--master)."),
    master_port: int = typer.Option(5557, "--master-port", metavar="PORT", help="The master's port."),
    output_file: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE", help=_BENCH_OUTPUT_HELP),
    html: Optional[str] = typer.Option(None, "--html", metavar="FILE",
                                       help="Also write the report as a self-contained HTML page."),
    fmt: Optional[BenchFormat] = typer.Option(None, "--format", "-f", help=_BENCH_FORMAT_HELP),
    color: Optional[bool] = typer.Option(None, "--color/--no-color", help="Force colours on or off."),
    debug: bool = debug_option(),
) -> None:
    debugging = set_debug(debug)
    from aimux_cli.commands.bench_locust import LocustOptions, run_locust

    code = run_locust(LocustOptions(
        provider=provider, model=model, prompt=prompt, max_tokens=max_tokens, users=users, spawn_rate=spawn_rate,
        run_time=run_time, requests_per_user=requests_per_user, stop_timeout=stop_timeout, master=master,
        worker=worker, expect_workers=expect_workers, master_host=master_host, master_port=master_port,
        output=output_file, html=html, fmt=fmt.value if fmt else None, color=color, debug=debugging))
    if code:
        raise typer.Exit(code)
