"""The one place that writes to stdout.

Contract: `write(text)` / `write_bytes(data)` go to stdout, flushed when it is a terminal (or when asked, for
streaming); a closed pipe (`aimux ... | head -1`) raises `PipeClosed`, which the CLI turns into a quiet exit.
"""

from __future__ import annotations

import os
import sys

from aimux_cli.errors import OutputError


class PipeClosed(Exception):
    """The reader of stdout went away."""


def _stdout():
    if sys.stdout is None:  # started with fd 1 closed
        raise OutputError("cannot write the output: standard output is closed")
    return sys.stdout


def _failed(exc: OSError) -> OutputError:
    return OutputError(f"cannot write the output: {exc.strerror or exc}")


def write(text: str, *, flush: bool = False) -> None:
    out = _stdout()
    try:
        out.write(text)
        if flush or out.isatty():
            out.flush()
    except BrokenPipeError:
        raise PipeClosed() from None
    except OSError as exc:  # disk full, I/O error: one line, exit 1
        raise _failed(exc) from None


def write_bytes(data: bytes, *, flush: bool = False) -> None:
    out = _stdout()
    try:
        out.flush()
        out.buffer.write(data)
        if flush:
            out.buffer.flush()
    except BrokenPipeError:
        raise PipeClosed() from None
    except OSError as exc:
        raise _failed(exc) from None


def silence_stdout() -> None:
    """After a broken pipe, point stdout at devnull so the interpreter's final flush cannot fail loudly."""
    if sys.stdout is None:
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def flush() -> None:
    """Flush stdout now, so that a failure to write (disk full, closed pipe) is reported like any other instead of
    as a warning from the interpreter at exit."""
    if sys.stdout is None:
        return
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise PipeClosed() from None
    except OSError as exc:
        raise _failed(exc) from None
