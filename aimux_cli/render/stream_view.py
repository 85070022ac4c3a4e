"""Streamed deltas -> a progressive Rich view (`prettify --follow`, `ask`).

`StreamRenderer(console, err_console)` takes `append(kind, text)` calls as deltas arrive and `close()` at the end:

- `text` is Markdown. On an interactive console, each Markdown block that is finished (followed by a blank line
  outside a fenced code block, and by a line that does not continue it) is printed once, for good, and only the
  growing last block is redrawn, in a transient `rich.live.Live`. Earlier paragraphs are never redrawn, so a long
  answer does not flicker and scrollback keeps every finished block.
- `thinking` goes to `err_console` (stderr), dimmed: written as it arrives on a terminal, at the end of the thinking
  otherwise. Thinking on stderr keeps `ask … > answer.md` clean.
- any other kind (`refusal`, …) is collected and printed when the kind changes or at `close()`.

On a console that is not interactive (a pipe, a file, a dumb terminal) nothing is redrawn: each segment is printed
once, at its end, exactly as the final Markdown rendering of the whole text. Everything is sanitized with
`for_terminal` before Rich sees it. `split_blocks` / `BlockSplitter` is the pure block splitter.
"""

from __future__ import annotations

import re
from types import TracebackType

from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.text import Text

from aimux_cli.render.rich_view import markdown
from aimux_cli.render.sanitize import for_terminal

_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")


def split_blocks(source: str) -> tuple[list[str], str]:
    """Split Markdown `source` into the blocks that are finished and the unfinished tail.

    A block ends at a blank line outside a fenced code block, once the next non-blank line has begun and does not
    start with a space or tab (an indented line may continue a list item or an indented code block). Only complete
    lines (ending in a newline) decide anything. The blocks are returned without their surrounding blank lines; the
    tail is the rest of `source`, unchanged.
    """
    splitter = BlockSplitter()
    return splitter.feed(source), splitter.tail


class BlockSplitter:
    """`split_blocks` for text that arrives in pieces: each line is examined once, however long the tail grows."""

    def __init__(self) -> None:
        self.tail = ""  # the text not yet returned as a finished block
        self._pos = 0  # start of the first line of `tail` not examined yet
        self._pending = -1  # end of the current block when a blank line followed it, else -1
        self._fence = ""  # the opening fence while inside a fenced code block

    def feed(self, text: str) -> list[str]:
        """Add `text`; return the blocks it finished."""
        source = self.tail + text
        blocks: list[str] = []
        start, pos = 0, self._pos
        while pos < len(source):
            end = source.find("\n", pos)
            line = source[pos:] if end < 0 else source[pos:end]
            if self._pending >= 0 and line.strip():
                if line[0] in " \t":
                    self._pending = -1  # a continuation: the block goes on
                else:
                    blocks.append(source[start : self._pending].strip("\n"))
                    start, self._pending = pos, -1
            if end < 0:
                break  # an incomplete line: looked at again when more text arrives
            self._line(line, pos)
            pos = end + 1
        self.tail, self._pos = source[start:], pos - start
        if self._pending >= 0:
            self._pending -= start
        return [block for block in blocks if block.strip()]

    def _line(self, line: str, pos: int) -> None:
        if self._fence:
            stripped = line.strip()
            if stripped.startswith(self._fence) and stripped == self._fence[0] * len(stripped):
                self._fence = ""
        elif (match := _FENCE.match(line)) is not None:
            self._fence = match.group(1)
        elif not line.strip() and self._pending < 0:
            self._pending = pos


class StreamRenderer:
    """Draws a streamed answer progressively; see the module docstring. Use as a context manager or call close()."""

    def __init__(self, console: Console, err_console: Console | None = None, *, refresh_per_second: float = 10):
        self.console = console
        self.err_console = err_console if err_console is not None else console
        self._refresh = refresh_per_second
        self._kind = ""
        self._buffer = ""  # the text of the current segment not printed yet
        self._splitter = BlockSplitter()
        self._tail = _Tail()
        self._blocks_printed = 0  # blocks of the current text segment already printed
        self._live: Live | None = None

    def __enter__(self) -> StreamRenderer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None):
        self.close()

    def append(self, kind: str, text: str) -> None:
        """Add a delta of `kind` ("text", "thinking", "refusal", …)."""
        if not text:
            return
        if kind != self._kind:
            self._end_segment()
            self._kind = kind
        self._buffer += text
        if kind == "thinking" and self.err_console.is_interactive:
            self._write_thinking(text)
        elif kind == "text" and self.console.is_interactive:
            self._advance_text(text)

    def close(self) -> None:
        """Print what is left and stop any live redraw."""
        self._end_segment()
        self._kind = ""

    def _write_thinking(self, text: str) -> None:
        if self._buffer == text:  # first delta of this thinking segment
            self.err_console.print(Text("thinking", style="dim italic"))
        self.err_console.print(Text(for_terminal(text), style="dim"), end="", soft_wrap=True)

    def _advance_text(self, text: str) -> None:
        blocks = self._splitter.feed(text)
        self._buffer = self._splitter.tail
        # The tail is replaced before the finished blocks are printed: printing redraws the live area, and it must
        # not show those blocks a second time. Markdown is parsed when the tail is drawn, not on every delta.
        self._tail.source = self._buffer
        if self._live is None and self._buffer.strip():
            self._live = Live(self._tail, console=self.console, transient=True, refresh_per_second=self._refresh)
            self._live.start()
        for block in blocks:
            self._print_block(block)

    def _print_block(self, block: str) -> None:
        if self._blocks_printed:
            self.console.print()  # the blank line Markdown puts between blocks
        self.console.print(markdown(block))
        self._blocks_printed += 1

    def _end_segment(self) -> None:
        kind, buffer = self._kind, self._buffer
        self._buffer, self._splitter, self._tail.source = "", BlockSplitter(), ""
        if self._live is not None:
            self._live.stop()  # transient: the redrawn tail is erased and printed for good below
            self._live = None
        if kind == "text":
            if buffer.strip():
                self._print_block(buffer.strip("\n"))
            self._blocks_printed = 0
        elif kind == "thinking":
            if self.err_console.is_interactive:
                self.err_console.print()  # end the line the thinking was written on
            elif buffer:
                self.err_console.print(Text("thinking", style="dim italic"))
                self.err_console.print(Text(for_terminal(buffer), style="dim"))
        elif buffer:
            style = "yellow" if kind == "refusal" else ""
            self.console.print(Text(for_terminal(buffer), style=style))


class _Tail:
    """The live tail: Markdown parsed when drawn (a few times a second), not on every delta."""

    source = ""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.source.strip():
            yield markdown(self.source)
