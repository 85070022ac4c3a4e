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
from aimux_cli.debug import State, debug_logging, debug_option, set_debug
from aimux_cli.errors import AimuxError, ExitCode, OutputError, internal_error_line

app = typer.Typer(
    name="aimux",
    help="A command line for LLM provider APIs: prettify responses into TOON, ask models, check and benchmark "
    "providers.\n\nExit codes: 0 ok, 1 output failed or internal error, 2 usage, 3 config, 4 input, 5 auth, 6 rate limit, 7 provider error, "
    "8 network, 9 incomplete response, 10 check failed, 11 answer fails --schema, 130 interrupted.",
    add_completion=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"aimux {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
    debug: bool = debug_option(),
) -> None:
    set_debug(debug)


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
    "terminal). Embeddings, model lists and batch result files (JSONL) are read too: a summary (vectors only in "
    "-f json), a table, one result per line. Example: curl -N ... | aimux prettify",
)
def prettify(
    files: Optional[List[str]] = typer.Argument(None, metavar="[FILE]...",
                                                help="Response files to read; '-' or none reads stdin."),
    wire: Optional[str] = typer.Option(
        None, "--wire", "-w", metavar="NAME",
        help="Force the wire format (openai.chat, openai.responses, openai.completions, anthropic.messages, "
        "anthropic.complete, gemini.generate, ollama.chat, ollama.generate, cohere.chat, bedrock.converse), or "
        "'none' to encode the input JSON as it is. Default: detected."),
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
    debug: bool = debug_option(),
) -> None:
    set_debug(debug)
    from aimux_cli.commands.prettify import PrettifyOptions, run

    opts = PrettifyOptions(files=files or [], wire=wire, provider=provider,
                           fmt=fmt.value if fmt else None, delimiter=delimiter.value, indent=indent,
                           follow=follow, fail=fail, color=color)
    code = run(opts)
    if code:
        raise typer.Exit(int(code))


# --- ask (issues 4, 11): options in cli_ask.py, body in aimux_cli/commands/ask.py ---

from aimux_cli.cli_ask import ASK_HELP, ask  # noqa: E402 - registered here, in the help's order

app.command(help=ASK_HELP)(ask)

# --- test-providers (issues 5, 13): options in cli_health.py, body in aimux_cli/commands/test_providers.py ---

from aimux_cli.cli_health import TEST_PROVIDERS_HELP, test_providers  # noqa: E402 - registered in the help's order

app.command("test-providers", help=TEST_PROVIDERS_HELP)(test_providers)


# --- bench (issue 6) and logs (issue 12): sub-apps declared in cli_bench.py and cli_logs.py ---

from aimux_cli.cli_bench import bench_app  # noqa: E402 - registered here, after the top-level commands
from aimux_cli.cli_logs import logs_app  # noqa: E402

app.add_typer(bench_app)
app.add_typer(logs_app)


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
    debug: bool = debug_option(),
) -> None:
    set_debug(debug)
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
    debug_logging(False)
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
