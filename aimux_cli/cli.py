"""The Typer app: parses options, calls the core, picks a renderer, maps errors to exit codes. Only wires.

Heavy modules (httpx, Rich markdown, the wire parsers) are imported inside the commands that need them, so
`aimux --version` and `aimux prettify` start about as fast as Python and Typer themselves.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from typing import List, Optional

import typer

from aimux_cli import __version__
from aimux_cli.errors import AimuxError, ExitCode, OutputError, internal_error_line

app = typer.Typer(
    name="aimux",
    help="A command line for LLM provider APIs: prettify responses into TOON, ask models, check and benchmark "
    "providers.\n\nExit codes: 0 ok, 1 output failed or internal error, 2 usage, 3 config, 4 input, 5 auth, 6 rate limit, 7 provider error, "
    "8 network, 9 incomplete response, 10 check failed, 130 interrupted.",
    add_completion=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


class State:
    debug = False


_DEBUG_HELP = "Show tracebacks for errors and log the HTTP exchange (secrets stay redacted). Also AIMUX_DEBUG=1."


def _debug_option():
    """`--debug` on every command as well as before it (`aimux ask --debug` and `aimux --debug ask` alike)."""
    return typer.Option(False, "--debug", help=_DEBUG_HELP)


def _set_debug(debug: bool) -> bool:
    State.debug = State.debug or debug or bool(os.environ.get("AIMUX_DEBUG"))
    if State.debug:
        _debug_logging(True)
    return State.debug


def _debug_logging(on: bool) -> None:
    """--debug, for every command: the "aimux" loggers (client.py's request and response lines, retries) at DEBUG
    on stderr, through redact.LogFilter so that no record shows a key. Off again for the next run in this process.
    `logging` is imported only when it is wanted or already loaded (prettify's start-up does without it)."""
    if not on and "logging" not in sys.modules:
        return
    import logging

    logger = logging.getLogger("aimux")
    for handler in [h for h in logger.handlers if getattr(h, "aimux_debug", False)]:
        logger.removeHandler(handler)
    if not on:
        logger.setLevel(logging.NOTSET)
        return
    from aimux_cli import redact

    class StderrHandler(logging.StreamHandler):
        """Writes to whatever sys.stderr is when a record comes (a redact.Guard once a key is registered)."""

        aimux_debug = True

        @property
        def stream(self):  # type: ignore[override]
            return sys.stderr

        @stream.setter
        def stream(self, value) -> None:
            pass

    handler = StderrHandler()
    handler.setFormatter(logging.Formatter("aimux: debug: %(name)s: %(message)s"))
    handler.addFilter(redact.LogFilter())
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"aimux {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
    debug: bool = _debug_option(),
) -> None:
    _set_debug(debug)


class Format(str, Enum):
    toon = "toon"
    json = "json"
    text = "text"
    rich = "rich"


class DelimiterName(str, Enum):
    comma = "comma"
    tab = "tab"
    pipe = "pipe"


@app.command(
    help="Normalize a raw provider response (JSON body, SSE or NDJSON stream) from FILEs or stdin into the aimux "
    "response document, written as TOON (default when piped), JSON, plain text, or a Rich view (default on a "
    "terminal). Example: curl -N ... | aimux prettify",
)
def prettify(
    files: Optional[List[str]] = typer.Argument(None, metavar="[FILE]...",
                                                help="Response files to read; '-' or none reads stdin."),
    wire: Optional[str] = typer.Option(
        None, "--wire", "-w", metavar="NAME",
        help="Force the wire format (openai.chat, openai.responses, anthropic.messages, gemini.generate, "
        "ollama.chat, ollama.generate), or 'none' to encode the input JSON as it is. Default: detected."),
    provider: Optional[str] = typer.Option(None, "--provider", "-p", metavar="NAME",
                                           help="Name the vendor when the body cannot tell (e.g. groq)."),
    fmt: Optional[Format] = typer.Option(None, "--format", "-f",
                                         help="Output format. Default: rich on a terminal, toon when piped."),
    delimiter: DelimiterName = typer.Option(DelimiterName.comma, "--delimiter", "-d",
                                            help="TOON array delimiter."),
    indent: int = typer.Option(2, "--indent", min=1, max=16, help="TOON indentation width in spaces."),
    follow: bool = typer.Option(False, "--follow", help="Render a stream progressively as it arrives on stdin, "
                                "then print the final document."),
    fail: bool = typer.Option(False, "--fail", help="Exit with the error's code (5 auth, 6 rate limit, 7 other) "
                              "when the response is an error; without it an error document exits 0."),
    color: Optional[bool] = typer.Option(None, "--color/--no-color",
                                         help="Force colours on or off (NO_COLOR and FORCE_COLOR are honoured)."),
    debug: bool = _debug_option(),
) -> None:
    _set_debug(debug)
    from aimux_cli.commands.prettify import PrettifyOptions, run

    opts = PrettifyOptions(files=files or [], wire=wire, provider=provider,
                           fmt=fmt.value if fmt else None, delimiter=delimiter.value, indent=indent,
                           follow=follow, fail=fail, color=color)
    code = run(opts)
    if code:
        raise typer.Exit(int(code))


# --- ask (issue 4): options here, body in aimux_cli/commands/ask.py ---


class AskFormat(str, Enum):
    rich = "rich"
    text = "text"
    toon = "toon"
    json = "json"
    raw = "raw"


class ThinkingMode(str, Enum):
    show = "show"
    hide = "hide"
    stdout = "stdout"


@app.command(
    help="Ask a model and stream its answer. Piped stdin is context: its text comes first, then the PROMPT, "
    "separated by a blank line (stdin alone is the prompt). Example: git diff | aimux ask -p groq 'review this'",
)
def ask(
    prompt: Optional[List[str]] = typer.Argument(None, metavar="[PROMPT]...",
                                                 help="The prompt; several words are joined with spaces."),
    provider: Optional[str] = typer.Option(None, "--provider", "-p", metavar="NAME",
                                           help="Provider from the catalog or the config file. Default: "
                                           "default_provider of the config."),
    model: Optional[str] = typer.Option(None, "--model", "-m", metavar="NAME",
                                        help="Model. Default: the provider's configured or built-in model."),
    system: Optional[str] = typer.Option(None, "--system", "-s", metavar="TEXT", help="System prompt."),
    temperature: Optional[float] = typer.Option(None, "--temperature", min=0.0, metavar="T",
                                                help="Sampling temperature."),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", min=1, metavar="N",
                                             help="Most tokens to generate."),
    base_url: Optional[str] = typer.Option(None, "--base-url", metavar="URL",
                                           help="Override the provider's base URL (e.g. a local proxy)."),
    timeout: Optional[float] = typer.Option(None, "--timeout", metavar="SECONDS",
                                            help="Connect/read timeout, also the longest silence allowed inside "
                                            "a stream. Default: the config's, else 120."),
    retries: int = typer.Option(2, "--retries", min=0, max=20, metavar="N",
                                help="Retries on connection failures and 408/409/429/5xx/529, before any answer "
                                "text was written."),
    no_stream: bool = typer.Option(False, "--no-stream", help="Ask for the whole answer in one response."),
    fmt: Optional[AskFormat] = typer.Option(None, "--format", "-f",
                                            help="Output: rich (default on a terminal), text (default when piped), "
                                            "toon/json (the response document), raw (the provider's bytes)."),
    thinking: ThinkingMode = typer.Option(ThinkingMode.show, "--thinking",
                                          help="The model's thinking: show (on stderr, labelled, when it is a "
                                          "terminal), hide, or stdout (before the answer, labelled)."),
    color: Optional[bool] = typer.Option(None, "--color/--no-color",
                                         help="Force colours on or off (NO_COLOR and FORCE_COLOR are honoured)."),
    no_log: bool = typer.Option(False, "--no-log", help="Do not write this exchange to the log (aimux logs). "
                                "`log = false` in the config turns the log off for good."),
    cont: bool = typer.Option(False, "--continue", "-c", help="Continue the newest logged conversation: its "
                              "earlier prompts and answers are sent first, in this provider's format."),
    cid: Optional[str] = typer.Option(None, "--cid", metavar="ID",
                                      help="Continue conversation ID (see aimux logs -f json, conversation_id)."),
    debug: bool = _debug_option(),
) -> None:
    _set_debug(debug)
    from aimux_cli.commands.ask import AskOptions, run

    opts = AskOptions(prompt=prompt or [], provider=provider, model=model, system=system, temperature=temperature,
                      max_tokens=max_tokens, base_url=base_url, timeout=timeout, retries=retries,
                      stream=not no_stream, fmt=fmt.value if fmt else None, color=color,
                      debug=State.debug, thinking=thinking.value, log=not no_log, cont=cont, cid=cid)
    code = run(opts)
    if code:
        raise typer.Exit(int(code))

# --- test-providers (issue 5): options here, body in aimux_cli/commands/test_providers.py ---


class ReportFormat(str, Enum):
    rich = "rich"
    toon = "toon"
    json = "json"


@app.command(
    "test-providers",
    help="Check that providers work now: list models, one completion, one stream, each provider concurrently "
    "within its own deadline. Checks the NAMEd providers, else every configured provider with a key. "
    "Exit 0 when all checked providers pass, 10 when any fails, 3 when there is nothing to check.",
)
def test_providers(
    names: Optional[List[str]] = typer.Argument(None, metavar="[NAME]...", help="Providers to check."),
    timeout: float = typer.Option(30.0, "--timeout", "-t", min=0.001, metavar="SECONDS",
                                  help="Deadline per provider, for all of its steps."),
    strict: bool = typer.Option(False, "--strict", help="Count a provider without a key as failed, not skipped."),
    fmt: Optional[ReportFormat] = typer.Option(None, "--format", "-f",
                                               help="Output format. Default: rich on a terminal, toon when piped."),
    output_file: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE",
                                              help="Also save the report as JSON to FILE."),
    color: Optional[bool] = typer.Option(None, "--color/--no-color",
                                         help="Force colours on or off (NO_COLOR and FORCE_COLOR are honoured)."),
    log: bool = typer.Option(False, "--log", help="Write each check's exchange to the log (aimux logs)."),
    debug: bool = _debug_option(),
) -> None:
    _set_debug(debug)
    from aimux_cli.commands.test_providers import TestProvidersOptions, run

    code = run(TestProvidersOptions(names=names or [], timeout=timeout, strict=strict,
                                    fmt=fmt.value if fmt else None, output=output_file, color=color, log=log))
    if code:
        raise typer.Exit(code)


# --- bench (issue 6): a sub-app here, bodies in aimux_cli/commands/bench.py ---

bench_app = typer.Typer(name="bench", no_args_is_help=True,
                        help="Measure a provider's speed (TTFT, TPOT, ITL, latency, throughput) or the prettifier's.")
app.add_typer(bench_app)


@bench_app.callback()
def _bench(debug: bool = _debug_option()) -> None:
    _set_debug(debug)


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
    debug: bool = _debug_option(),
) -> None:
    _set_debug(debug)
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
    debug: bool = _debug_option(),
) -> None:
    _set_debug(debug)
    from aimux_cli.commands.bench import PrettifyOptions, run_prettify

    code = run_prettify(PrettifyOptions(files=files or [], min_time=min_time, output=output_file,
                                        fmt=fmt.value if fmt else None, color=color))
    if code:
        raise typer.Exit(code)


# --- logs (issue 12): a sub-app here, bodies in aimux_cli/commands/logs.py ---

logs_app = typer.Typer(
    name="logs", invoke_without_command=True,
    help="The log of every exchange `aimux ask` made (an SQLite file; see `aimux logs path`). Without a "
    "sub-command, lists the newest entries: a table on a terminal, TOON (or JSON) when piped.")
app.add_typer(logs_app)


class LogsFormat(str, Enum):
    rich = "rich"
    toon = "toon"
    json = "json"


class ShowFormat(str, Enum):
    rich = "rich"
    text = "text"
    toon = "toon"
    json = "json"
    raw = "raw"
    request = "request"


@logs_app.callback()
def _logs(
    ctx: typer.Context,
    limit: int = typer.Option(20, "-n", "--limit", metavar="N", help="Entries to list, newest first."),
    provider: Optional[str] = typer.Option(None, "--provider", "-p", metavar="NAME", help="Only this provider."),
    model: Optional[str] = typer.Option(None, "--model", "-m", metavar="NAME", help="Only this model."),
    since: Optional[str] = typer.Option(None, "--since", metavar="WHEN",
                                        help="Only entries since a duration ago (90s, 30m, 2h, 7d, 2w) or a date "
                                        "(2026-11-30, 2026-11-30T08:00; UTC unless an offset is given)."),
    query: Optional[str] = typer.Option(None, "--query", "-q", metavar="TEXT",
                                        help="Only entries whose prompt or answer has every word of TEXT."),
    conversation: Optional[str] = typer.Option(None, "--conversation", "-c", metavar="ID",
                                               help="Only this conversation of ask -c (or 'last')."),
    fmt: Optional[LogsFormat] = typer.Option(None, "--format", "-f",
                                             help="Output: rich (default on a terminal), toon (default when "
                                             "piped) or json."),
    color: Optional[bool] = typer.Option(None, "--color/--no-color", help="Force colours on or off."),
    debug: bool = _debug_option(),
) -> None:
    _set_debug(debug)
    if ctx.invoked_subcommand is not None:
        return
    from aimux_cli.commands.logs import ListOptions, run_list

    code = run_list(ListOptions(limit=limit, provider=provider, model=model, since=since, query=query,
                                conversation=conversation, fmt=fmt.value if fmt else None, color=color))
    if code:
        raise typer.Exit(code)


@logs_app.command("show", help="Show one log entry: its response document drawn as prettify draws it, the entry "
                  "as JSON, the response bytes exactly as received (-f raw | aimux prettify), or the request body.")
def logs_show(
    ident: str = typer.Argument(..., metavar="ID|last", help="The entry's id, or 'last'."),
    fmt: Optional[ShowFormat] = typer.Option(None, "--format", "-f",
                                             help="rich (default on a terminal), text, toon (default when piped), "
                                             "json (the entry and its document), raw (the response bytes), "
                                             "request (the request body)."),
    color: Optional[bool] = typer.Option(None, "--color/--no-color", help="Force colours on or off."),
    debug: bool = _debug_option(),
) -> None:
    _set_debug(debug)
    from aimux_cli.commands.logs import run_show

    code = run_show(ident, fmt.value if fmt else None, color)
    if code:
        raise typer.Exit(code)


@logs_app.command("prune", help="Delete old entries: keep the newest N, or delete those older than a duration; "
                  "then compact the file.")
def logs_prune(
    keep: Optional[int] = typer.Option(None, "--keep", min=0, metavar="N", help="Keep the newest N entries."),
    older_than: Optional[str] = typer.Option(None, "--older-than", metavar="DURATION",
                                             help="Delete entries older than this (30d, 12h, 2w)."),
    debug: bool = _debug_option(),
) -> None:
    _set_debug(debug)
    from aimux_cli.commands.logs import run_prune

    code = run_prune(keep, older_than)
    if code:
        raise typer.Exit(code)


@logs_app.command("path", help="Print where the log is ($AIMUX_LOG_DB, else $XDG_DATA_HOME/aimux/logs.db).")
def logs_path(debug: bool = _debug_option()) -> None:
    _set_debug(debug)
    from aimux_cli.commands.logs import run_path

    run_path()


# --- models (issue 12): options here, body in aimux_cli/commands/models.py ---


class ModelsFormat(str, Enum):
    rich = "rich"
    text = "text"
    toon = "toon"
    json = "json"


@app.command(
    help="List the models each provider serves, from its model-list endpoint (every page), several providers at "
    "once: the NAMEd ones, else every provider with a key. -f text prints provider/model per line.",
)
def models(
    providers: Optional[List[str]] = typer.Option(None, "--provider", "-p", metavar="NAME",
                                                  help="A provider to ask (repeat for several)."),
    fmt: Optional[ModelsFormat] = typer.Option(None, "--format", "-f",
                                               help="Output: rich (default on a terminal), text (provider/model "
                                               "lines), toon (default when piped) or json."),
    query: Optional[str] = typer.Option(None, "--query", "-q", metavar="FILTER",
                                        help="Only models whose provider/model or name contains FILTER."),
    timeout: float = typer.Option(30.0, "--timeout", "-t", min=0.001, metavar="SECONDS",
                                  help="Timeout of each request."),
    color: Optional[bool] = typer.Option(None, "--color/--no-color", help="Force colours on or off."),
    debug: bool = _debug_option(),
) -> None:
    _set_debug(debug)
    from aimux_cli.commands.models import ModelsOptions, run

    code = run(ModelsOptions(providers=providers or [], fmt=fmt.value if fmt else None, query=query,
                             timeout=timeout, color=color))
    if code:
        raise typer.Exit(code)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: runs the app and turns every failure into a line and an exit code.

    Usage errors are one line and a hint, exit 2 (Typer's own report is a Rich box); Ctrl-C is 130; aimux's own
    errors carry their exit code; a closed stdout pipe ends quietly; anything else is a bug, reported in one line
    that asks for a report (traceback with --debug or AIMUX_DEBUG=1)."""
    try:  # Typer 0.2x vendors Click; before that it used the click package
        from typer._click.exceptions import ClickException
    except ImportError:  # pragma: no cover - depends on the installed Typer
        from click.exceptions import ClickException

    from aimux_cli import output

    State.debug = False  # set again by --debug at either level; main may run several times in one process
    _debug_logging(False)
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        try:
            code = app_for(args)(args=args, prog_name="aimux", standalone_mode=False)
        finally:  # flush now, so that a failed write is reported (and exits non-zero)
            output.flush()
        sys.exit(code if isinstance(code, int) else 0)
    except ClickException as exc:
        _usage(exc, args)
    except typer.Abort:
        sys.exit(int(ExitCode.INTERRUPTED))
    except AimuxError as exc:
        if isinstance(exc, OutputError):  # what is left in stdout's buffer cannot be written either
            output.silence_stdout()
        _report(exc, str(exc), int(exc.exit_code))
    except (output.PipeClosed, BrokenPipeError):
        output.silence_stdout()
        sys.exit(0)
    except OSError as exc:  # writing failed outside output.py (Rich views, --output files): one line, exit 1
        output.silence_stdout()
        where = f"{exc.filename}: " if exc.filename else "cannot write the output: "
        _report(exc, f"{where}{exc.strerror or exc}", int(ExitCode.FAILURE))
    except Exception as exc:
        _report(exc, internal_error_line(exc), int(ExitCode.FAILURE))


def _usage(exc, args: list[str]) -> None:
    """A usage error (a bad option, a missing argument, an unknown command): one line and a hint, exit 2."""
    if type(exc).__name__ == "NoArgsIsHelpError":  # `aimux` alone: the help was printed already
        sys.exit(exc.exit_code)
    from aimux_cli.render.sanitize import for_terminal

    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else "aimux"
    if path == "aimux":  # Click reports some parse errors (a missing option value) without the command's context
        path = _named_path(args)
    line = " ".join(exc.format_message().split()) or type(exc).__name__
    sys.stderr.write(f"aimux: error: {for_terminal(line)}\nTry '{for_terminal(path)} --help' for help.\n")
    sys.exit(exc.exit_code)


def app_for(args: list[str]) -> typer.Typer:
    """The app with only the command that `args` names (all of them when it names none it knows).

    Typer turns every registered command into Click objects on each run, about 25 ms for all of aimux's options:
    a run of one command builds just that one. Help, completion and unknown names get the whole app."""
    import copy

    name = next((a for a in args if not a.startswith("-")), None)
    commands = [c for c in app.registered_commands
                if (c.name or c.callback.__name__.replace("_", "-")) == name]
    groups = [g for g in app.registered_groups if g.typer_instance.info.name == name]
    if not commands and not groups:
        return app
    lean = copy.copy(app)
    lean.registered_commands, lean.registered_groups = commands, groups
    return lean


def _named_path(args: list[str]) -> str:
    """"aimux", then the command (and sub-command) names that `args` start with."""
    words, level = ["aimux"], app
    for arg in (a for a in args if not a.startswith("-")):
        names = {c.name or c.callback.__name__.replace("_", "-"): None for c in level.registered_commands}
        names.update({g.typer_instance.info.name: g.typer_instance for g in level.registered_groups})
        if arg not in names:
            break
        words.append(arg)
        if names[arg] is None:
            break
        level = names[arg]
    return " ".join(words)


def _report(exc: BaseException, message: str, code: int) -> None:
    if State.debug or os.environ.get("AIMUX_DEBUG"):
        import traceback
        traceback.print_exception(exc)
    from aimux_cli.render.sanitize import for_terminal
    redact = sys.modules.get("aimux_cli.redact")  # not imported: no secret was ever registered
    if redact is not None:
        message = redact.scrub(message)  # before lines are joined: a key may span lines
    line = " ".join(message.splitlines()) or type(exc).__name__
    sys.stderr.write(f"aimux: error: {for_terminal(line)}\n")
    if redact is not None:
        redact.release_all()
    sys.exit(code)
