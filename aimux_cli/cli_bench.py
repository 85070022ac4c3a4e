"""`aimux bench`: the sub-app's options (provider, prettify); the bodies are in aimux_cli/commands/bench.py.

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


@bench_app.command(
    "provider",
    help="Stream requests to a provider and report TTFT, TPOT, inter-chunk latency (ITL) and end-to-end latency "
    "(mean, median, p90, p95, p99, min, max), throughput and errors by category. Without --rate, --concurrency "
    "requests are kept in flight; with --rate, starts follow a Poisson process. Requests are not retried.",
)
def bench_provider(
    provider: Optional[str] = typer.Option(None, "--provider", "-p", metavar="NAME",
                                           help="Provider from the catalog or the config file."),
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
    max_tokens: int = typer.Option(256, "--max-tokens", min=1, metavar="N", help="Most tokens per answer."),
    warmup: int = typer.Option(1, "--warmup", min=0, metavar="K", help="Unmeasured requests sent first."),
    seed: Optional[int] = typer.Option(None, "--seed", metavar="N", help="Seed of the Poisson spacing."),
    output_file: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE", help=_BENCH_OUTPUT_HELP),
    fmt: Optional[BenchFormat] = typer.Option(None, "--format", "-f", help=_BENCH_FORMAT_HELP),
    color: Optional[bool] = typer.Option(None, "--color/--no-color", help="Force colours on or off."),
    log: bool = typer.Option(False, "--log", help="Write one log row per measured request, after the run."),
    log_bodies: bool = typer.Option(False, "--log-bodies", help="With --log: keep the raw response bytes too."),
    debug: bool = debug_option(),
) -> None:
    set_debug(debug)
    from aimux_cli.commands.bench import ProviderOptions, run_provider

    code = run_provider(ProviderOptions(
        provider=provider, model=model, requests=requests, duration=duration, concurrency=concurrency, rate=rate,
        prompt=prompt, prompt_file=prompt_file, max_tokens=max_tokens, warmup=warmup, seed=seed,
        output=output_file, fmt=fmt.value if fmt else None, color=color, log=log, log_bodies=log_bodies))
    if code:
        raise typer.Exit(code)


@bench_app.command(
    "prettify",
    help="Time normalize + TOON encode per response file in process (median µs per run, MB/s) and compare the "
    "output sizes of JSON and TOON. Default: every file under fixtures/, skipping those broken on purpose.",
)
def bench_prettify(
    files: Optional[List[str]] = typer.Argument(None, metavar="[FILE]...", help="Response files to measure."),
    min_time: float = typer.Option(0.1, "--min-time", metavar="SECONDS", help="Least timing per file."),
    output_file: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE", help=_BENCH_OUTPUT_HELP),
    fmt: Optional[BenchFormat] = typer.Option(None, "--format", "-f", help=_BENCH_FORMAT_HELP),
    color: Optional[bool] = typer.Option(None, "--color/--no-color", help="Force colours on or off."),
    debug: bool = debug_option(),
) -> None:
    set_debug(debug)
    from aimux_cli.commands.bench import PrettifyOptions, run_prettify

    code = run_prettify(PrettifyOptions(files=files or [], min_time=min_time, output=output_file,
                                        fmt=fmt.value if fmt else None, color=color))
    if code:
        raise typer.Exit(code)
