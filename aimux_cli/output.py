"""The one place that writes to stdout.

Contract: `write(text)` / `write_bytes(data)` go to stdout, flushed when it is a terminal (or when asked, for
streaming); a closed pipe (`aimux ... | head -1`) raises `PipeClosed`, which the CLI turns into a quiet exit.
"""

from __future__ import annotations

import os
import sys


class PipeClosed(Exception):
    """The reader of stdout went away."""


def _stdout():
    return sys.stdout


def write(text: str, *, flush: bool = False) -> None:
    out = _stdout()
    try:
        out.write(text)
        if flush or out.isatty():
            out.flush()
    except BrokenPipeError:
        raise PipeClosed() from None


def write_bytes(data: bytes, *, flush: bool = False) -> None:
    out = _stdout()
    try:
        out.flush()
        out.buffer.write(data)
        if flush:
            out.buffer.flush()
    except BrokenPipeError:
        raise PipeClosed() from None


def silence_stdout() -> None:
    """After a broken pipe, point stdout at devnull so the interpreter's final flush cannot fail loudly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
