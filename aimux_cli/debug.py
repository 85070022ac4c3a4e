"""`--debug`, for every command at either level (`aimux --debug ask` and `aimux ask --debug`): the switch the
error reporting reads, and the "aimux" loggers turned on, through redact.LogFilter, on stderr.

Shared by the Typer app (cli.py) and its sub-apps (cli_bench.py, cli_logs.py); imports nothing of theirs.
"""

from __future__ import annotations

import os
import sys

import typer


class State:
    debug = False


_DEBUG_HELP = "Show tracebacks for errors and log the HTTP exchange (secrets stay redacted). Also AIMUX_DEBUG=1."


def debug_option():
    """`--debug` on every command as well as before it (`aimux ask --debug` and `aimux --debug ask` alike)."""
    return typer.Option(False, "--debug", help=_DEBUG_HELP)


def set_debug(debug: bool) -> bool:
    State.debug = State.debug or debug or bool(os.environ.get("AIMUX_DEBUG"))
    if State.debug:
        debug_logging(True)
    return State.debug


def debug_logging(on: bool) -> None:
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
