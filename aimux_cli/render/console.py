"""Terminal facts, gathered once: process streams + environment + `--color/--no-color` -> `TerminalEnv`.

Every decision about colour, live redraws and width is taken here and nowhere else (Rich is told explicitly, so it
does not consult NO_COLOR/FORCE_COLOR on its own). Colour, per stream, is decided by the first rule that applies:

1. `--color` / `--no-color` on the command line;
2. `NO_COLOR` set to any non-empty value: no colour (https://no-color.org);
3. `FORCE_COLOR` set to any non-empty value: colour, even into a pipe (https://force-color.org);
4. otherwise colour exactly when the stream is a terminal and `TERM` is not `dumb`.

Live redraws (the streaming view) happen only on a real terminal that is not `dumb`, whatever the colour decision.
Without colour on such a terminal, Rich still emits bold/dim/italic, as NO_COLOR allows; into a pipe, nothing at
all. `COLUMNS`, when a positive integer, fixes the width. This module never imports Rich at import time.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from functools import cached_property
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def _isatty(stream: IO[str] | None) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError, OSError):  # closed or replaced streams
        return False


def _columns(value: str | None) -> int | None:
    if value and value.strip().isdigit() and int(value) > 0:
        return int(value)
    return None


class TerminalEnv:
    """What aimux knows about its terminal; build it with `TerminalEnv.detect()`.

    A plain class, not a dataclass: defining a dataclass costs about a millisecond of every run's start-up."""

    def __init__(self, *, stdin_isatty: bool = False, stdout_isatty: bool = False, stderr_isatty: bool = False,
                 color_flag: bool | None = None, no_color: bool = False, force_color: bool = False,
                 term_dumb: bool = False, columns: int | None = None) -> None:
        self.stdin_isatty = stdin_isatty
        self.stdout_isatty = stdout_isatty
        self.stderr_isatty = stderr_isatty
        self.color_flag = color_flag  # --color (True), --no-color (False), neither (None)
        self.no_color = no_color  # NO_COLOR is set and not empty
        self.force_color = force_color  # FORCE_COLOR is set and not empty
        self.term_dumb = term_dumb  # TERM is "dumb"
        self.columns = columns  # COLUMNS, when a positive integer

    @classmethod
    def detect(
        cls,
        color_flag: bool | None = None,
        environ: Mapping[str, str] | None = None,
        stdin: IO[str] | None = None,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
    ) -> TerminalEnv:
        """Read the facts from the process (or from the given environment and streams, for tests)."""
        env = os.environ if environ is None else environ
        return cls(
            stdin_isatty=_isatty(sys.stdin if stdin is None else stdin),
            stdout_isatty=_isatty(sys.stdout if stdout is None else stdout),
            stderr_isatty=_isatty(sys.stderr if stderr is None else stderr),
            color_flag=color_flag,
            no_color=env.get("NO_COLOR", "") != "",
            force_color=env.get("FORCE_COLOR", "") != "",
            term_dumb=env.get("TERM", "").strip().lower() == "dumb",
            columns=_columns(env.get("COLUMNS")),
        )

    def interactive(self, stream: str = "stdout") -> bool:
        """True when `stream` ("stdout" or "stderr") is a terminal that can take cursor moves (live redraws)."""
        return self._isatty(stream) and not self.term_dumb

    def color(self, stream: str = "stdout") -> bool:
        """True when `stream` ("stdout" or "stderr") gets colour; see the module docstring for the precedence."""
        if self.color_flag is not None:
            return self.color_flag
        if self.no_color:
            return False
        if self.force_color:
            return True
        return self.interactive(stream)

    def _isatty(self, stream: str) -> bool:
        if stream not in ("stdout", "stderr"):
            raise ValueError(f"unknown stream {stream!r}")
        return self.stdout_isatty if stream == "stdout" else self.stderr_isatty

    @cached_property
    def stdout_console(self) -> Console:
        """The Rich console for stdout, built on first use."""
        return make_console(self, "stdout")

    @cached_property
    def stderr_console(self) -> Console:
        """The Rich console for stderr, built on first use."""
        return make_console(self, "stderr")


def make_console(env: TerminalEnv, stream: str = "stdout", file: IO[str] | None = None) -> Console:
    """A Rich console for `stream` that follows `env`.

    Markup, emoji codes and automatic highlighting are off: a `str` printed by mistake is shown as it is, never
    interpreted (`[link=…]` in a provider message stays text). Style things with `rich.text.Text` objects.
    `file` overrides the stream (tests); by default the console writes to whatever sys.stdout/sys.stderr is then.
    """
    from rich.console import Console  # imported here: building a console is the first moment Rich is needed

    color = env.color(stream)
    interactive = env.interactive(stream)
    return Console(
        file=file,
        stderr=stream == "stderr",
        force_terminal=color or interactive,
        force_interactive=interactive,
        color_system="auto",  # Rich finds the depth (and none when it is not writing to a terminal)
        no_color=not color,  # drops colours but keeps bold/dim/italic, as NO_COLOR permits
        width=env.columns,
        markup=False,
        emoji=False,
        highlight=False,
    )
