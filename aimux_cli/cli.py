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
from aimux_cli.errors import AimuxError, ExitCode

app = typer.Typer(
    name="aimux",
    help="A command line for LLM provider APIs: prettify responses into TOON, ask models, check and benchmark "
    "providers.\n\nExit codes: 0 ok, 2 usage, 3 config, 4 input, 5 auth, 6 rate limit, 7 provider error, "
    "8 network, 9 incomplete response, 10 check failed, 130 interrupted.",
    add_completion=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


class State:
    debug = False


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"aimux {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors (secrets stay redacted)."),
) -> None:
    State.debug = debug


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
) -> None:
    from aimux_cli.commands.prettify import PrettifyOptions, run

    opts = PrettifyOptions(files=files or ["-"], wire=wire, provider=provider,
                           fmt=fmt.value if fmt else None, delimiter=delimiter.value, indent=indent,
                           follow=follow, fail=fail, color=color)
    code = run(opts)
    if code:
        raise typer.Exit(int(code))


# --- ask (issue 4): options here, body in aimux_cli/commands/ask.py ---

# --- test-providers (issue 5): options here, body in aimux_cli/commands/test_providers.py ---

# --- bench (issue 6): a sub-app here, bodies in aimux_cli/commands/bench.py ---


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: runs the app and turns every failure into a line and an exit code.

    Typer (in standalone mode) already maps usage errors to 2 and Ctrl-C to 130; aimux's own errors carry their
    exit code; a closed stdout pipe ends quietly; anything else is a bug, reported in one line (traceback with
    --debug or AIMUX_DEBUG=1)."""
    from aimux_cli import output

    try:
        app(args=argv, prog_name="aimux")
    except AimuxError as exc:
        _report(exc, str(exc), int(exc.exit_code))
    except (output.PipeClosed, BrokenPipeError):
        output.silence_stdout()
        sys.exit(0)
    except Exception as exc:
        _report(exc, f"internal error: {type(exc).__name__}: {exc}", 1)


def _report(exc: BaseException, message: str, code: int) -> None:
    if State.debug or os.environ.get("AIMUX_DEBUG"):
        import traceback
        traceback.print_exception(exc)
    from aimux_cli.render.sanitize import for_terminal
    line = " ".join(message.splitlines()) or type(exc).__name__
    sys.stderr.write(f"aimux: error: {for_terminal(line)}\n")
    sys.exit(code)
