"""Streamed deltas -> a progressive Rich view (`prettify --follow`, `ask`).

`StreamRenderer(console, err_console)` takes `append(kind, text)` calls as deltas arrive, `tools(calls)` whenever
the tool calls in progress changed, and `close()` at the end:

- `text` is Markdown. On an interactive console, each Markdown block that is finished (followed by a blank line
  outside a fenced code block, and by a line that does not continue it) is printed once, for good, and only the
  growing last block is redrawn, in a transient `rich.live.Live`. Earlier paragraphs are never redrawn, so a long
  answer does not flicker and scrollback keeps every finished block. A last block that keeps growing is kept as its
  lines and only a head of it (more than a screenful: Live crops the region to the screen) is drawn, so the work per
  delta stays bounded however long it grows.
- tool calls are drawn in the same live region while they stream (name when known, the arguments as they grow),
  then printed for good as prettify draws them, when the next kind of content begins or at `close()`.
- `thinking` goes to `err_console` (stderr) by default, `console` with `thinking="stdout"`, nowhere with
  `thinking="hide"`: dimmed under a `thinking` label, written as it arrives on a terminal, at the end of the thinking
  otherwise (kept as its deltas, joined once), and always ended with a newline, so the answer never runs into it.
  (aimux_cli/live.py hides it when stderr is not a terminal.)
- any other kind (`refusal`, …) is collected and printed when the kind changes or at `close()`.
- past rich_view's bounds (SHOWN_CALLS tool calls, SHOWN_BLOCKS thinking segments), the rest are only counted, and
  `close()` notes "… N more KIND blocks (-f json has them all)", as prettify's view does.

The live region is redrawn when a delta changes it (no periodic refresh thread: one that redraws while a finished
block is being printed moves the cursor by a stale height and erases the lines above), at most every
`1/refresh_per_second` seconds and never more than a quarter of the time (a code block or a table is slow to draw).
A redraw put off that way happens at the next delta, or at the end of the period when the stream pauses, from a
one-shot timer that takes the same lock as every write: two writers never interleave.

On a console that is not interactive (a pipe, a file, a dumb terminal) nothing is redrawn: each segment is printed
once, at its end, exactly as the final Markdown rendering of the whole text. Everything is sanitized with
`for_terminal` before Rich sees it. `split_blocks` / `BlockSplitter` is the pure block splitter.
"""

from __future__ import annotations

import json
import re
import threading
import time
from types import TracebackType

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.live import Live
from rich.segment import Segment
from rich.text import Text

from aimux_cli.render import long_content
from aimux_cli.render.rich_view import BlockBound, markdown, more_blocks, tool_call_block
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
    """`split_blocks` for text that arrives in pieces: each line is examined once, and the tail is kept as its lines,
    joined only when asked for (`tail`, `head`), so that a block that never ends costs linear work, not a copy of
    itself per piece."""

    def __init__(self) -> None:
        self._lines: list[str] = []  # the complete lines not yet returned as a finished block, each followed by its
        # own "\n" entry (`line + "\n"` was a copy of each line: twice a 1 MB line at once)
        self._partial: list[str] = []  # the pieces of the incomplete last line (never empty strings)
        self._blank = True  # the incomplete line is blank so far
        self._pending = -1  # index in `_lines` of the blank line after the current block, else -1
        self._fence = ""  # the opening fence while inside a fenced code block
        self.has_text = False  # the tail holds something other than whitespace (once true, it stays true)

    @property
    def tail(self) -> str:
        """The text not yet returned as a finished block."""
        return "".join(self._lines) + "".join(self._partial)

    def rest(self) -> str:
        """`tail.rstrip()`, made without joining a lone remaining line (a 1 MB last paragraph) to its line end and
        then copying it again to strip that: each was another copy of it at once."""
        parts = [*self._lines, *self._partial]
        while parts and (not parts[-1] or parts[-1].isspace()):
            parts.pop()
        if parts:
            parts[-1] = parts[-1].rstrip()
        return "".join(parts)

    def head(self, limit: int) -> str:
        """The first `limit` characters of `tail` (at most), without joining the rest."""
        out: list[str] = []
        size = 0
        for piece in self._iter():
            out.append(piece[:limit - size])
            size += len(out[-1])
            if size >= limit:
                break
        return "".join(out)

    def _iter(self):
        yield from self._lines
        yield from self._partial

    def feed(self, text: str) -> list[str]:
        """Add `text`; return the blocks it finished."""
        blocks: list[str] = []
        pieces = text.split("\n")
        last = len(pieces) - 1
        for n, piece in enumerate(pieces):
            if piece:
                self._partial.append(piece)
                if self._blank and not piece.isspace():
                    self._blank, self.has_text = False, True
                    if self._pending >= 0:  # a line begins after a blank line: the block ends, unless indented
                        if self._partial[0][0] in " \t":
                            self._pending = -1  # a continuation: the block goes on
                        else:
                            blocks.append("".join(self._lines[:self._pending]).strip("\n"))
                            self._lines, self._pending = [], -1
            if n < last:  # the line is complete
                line = "".join(self._partial)
                self._partial, self._blank = [], True
                self._line(line, len(self._lines))
                self._lines += (line, "\n")
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

    def __init__(self, console: Console, err_console: Console | None = None, *, thinking: str = "show",
                 refresh_per_second: float = 20):
        self.console = console
        self.err_console = err_console if err_console is not None else console
        self.thinking_console = {"show": self.err_console, "stdout": console}.get(thinking)  # None: hidden
        self._interval = 1 / refresh_per_second
        self._kind = ""
        self._pieces: list[str] = []  # the deltas of the current segment kept to be printed at its end
        self._shown = False  # the current thinking segment was begun on the terminal (its label is written)
        self._splitter = BlockSplitter()  # the text of the current segment not printed yet, on a terminal
        self._view = _LiveView()
        self._calls: list[dict] = []  # the tool calls of the current tool segment (live dicts, still growing)
        self._bound = BlockBound()  # tool calls and thinking segments printed: past a few hundred, only counted
        self._skip = False  # the current thinking segment is past that bound: not drawn
        self._parts = 0  # parts printed for good on `console` (Markdown blocks, tool calls, …): a blank line between
        self._live: Live | None = None
        self._drawn = float("-inf")  # when the live region was last redrawn
        self._cost = 0.0  # how long that redraw took
        self._dirty = False  # the region changed since it was last drawn
        self._timer: threading.Timer | None = None  # the trailing redraw, when one is put off
        self._lock = threading.RLock()  # held by whoever writes to the consoles: never two writers at once

    def __enter__(self) -> StreamRenderer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None):
        self.close()

    def append(self, kind: str, text: str) -> None:
        """Add a delta of `kind` ("text", "thinking", "refusal", …)."""
        if not text:
            return
        with self._lock:
            if kind != self._kind:
                self._end_segment()
                self._kind = kind
                self._skip = kind == "thinking" and self.thinking_console is not None and not self._bound.take(kind)
            if kind == "thinking":
                target = self.thinking_console
                if target is None or self._skip:
                    pass  # hidden, or past the bound: nothing is kept either
                elif target.is_interactive:
                    self._write_thinking(text)
                else:
                    self._pieces.append(text)
            elif kind == "text" and self.console.is_interactive:
                self._advance_text(text)
            else:
                self._pieces.append(text)  # joined once at the end: never a copy of the whole per delta

    def tools(self, calls: list[dict]) -> None:
        """The tool calls streamed so far (dicts with `name`, `id`, `arguments`, as the accumulator holds them): the
        list is kept, not copied (a copy per event was quadratic), so the caller grows it or passes a new one."""
        with self._lock:
            if self._kind != "tool":
                self._end_segment()
                self._kind = "tool"
            self._calls = calls
            if self.console.is_interactive:
                self._view.calls = self._calls
                self._touch()

    def close(self, interrupted: bool = False) -> None:
        """Print what is left and stop any live redraw. `interrupted`: a tool call still streaming is printed as it
        was drawn, marked as cut short, rather than as a call whose arguments are not valid JSON."""
        with self._lock:
            self._end_segment(interrupted)
            self._kind = ""
            for kind, count in self._bound.left.items():  # "… N more tool call blocks (-f json has them all)"
                note = more_blocks(kind, count)
                if kind != "thinking":
                    self._print_part(note)
                elif self.thinking_console is not None:
                    self.thinking_console.print(note)
                    self.thinking_console.print()
            self._bound = BlockBound()

    def _write_thinking(self, text: str) -> None:
        target = self.thinking_console
        if not self._shown:  # first delta of this thinking segment
            target.print(Text("thinking", style="dim italic"))
            self._shown = True
        _print_lines(target, for_terminal(text), end="", soft_wrap=True)

    def _advance_text(self, text: str) -> None:
        # The splitter drops the finished blocks from its tail before they are printed: printing redraws the live
        # area, and it must not show them a second time. The tail is joined and parsed as Markdown only when the
        # region is drawn (a bounded head of it), not on every delta.
        blocks = self._splitter.feed(text)
        self._view.splitter = self._splitter
        for block in blocks:
            self._print_block(block)
        self._touch()

    def _touch(self) -> None:
        """The live region changed: redraw it now, unless it was redrawn a moment ago: then at the next delta, or
        when the period is over if none comes by then (a model that pauses must not leave a stale tail)."""
        if self._live is None:
            if not (self._view.has_text() or self._view.calls):
                return
            self._live = Live(self._view, console=self.console, transient=True, auto_refresh=False,
                              redirect_stdout=False, redirect_stderr=False)
            self._live.start()
            self._drawn = float("-inf")  # the first draw is never put off
        now = time.monotonic()
        wait = self._drawn + max(self._interval, 4 * self._cost) - now
        if wait > 0:
            self._dirty = True
            if self._timer is None:
                self._timer = threading.Timer(wait, self._trailing)
                self._timer.daemon = True
                self._timer.start()
            return
        self._redraw(now)

    def _redraw(self, now: float) -> None:
        self._live.refresh()
        self._dirty = False
        self._drawn = time.monotonic()
        self._cost = self._drawn - now

    def _trailing(self) -> None:
        """The redraw that was put off, if nothing drew the region since (runs on the timer's thread, under the lock
        that every write to the consoles holds, so it never lands in the middle of one)."""
        with self._lock:
            self._timer = None
            if self._live is not None and self._dirty:
                self._redraw(time.monotonic())

    def _print_block(self, block: str) -> None:
        """A finished Markdown block, drawn as prettify draws it: a long one a piece at a time (linear time, bounded
        memory: see long_content)."""
        short = len(block) <= long_content.CHUNK_CHARS and block.count("\n") <= long_content.CHUNK_LINES
        self._print_pieces([markdown(block)] if short else long_content.markdown_pieces(block))

    def _print_pieces(self, pieces: list) -> None:
        self._print_part(pieces[0])
        for piece in pieces[1:]:
            self.console.print(piece)

    def _print_part(self, part) -> None:
        """Print a finished part for good, after a blank line when it follows another (as prettify spaces them); a
        Chunked part (a tool call with 100,000 lines of arguments) one piece per print, as render_rich prints it:
        Rich holds every segment of a print until it ends (issue 9: 47 MiB for a 200 KB stream, rich --follow)."""
        pieces = part.renderables if isinstance(part, long_content.Chunked) else (part,)
        first = pieces[0] if pieces else part
        if self._parts:
            self.console.print()
            first = _Following(first)
        self.console.print(first)
        for piece in pieces[1:]:
            self.console.print(piece)
        self._parts += 1

    def _end_segment(self, interrupted: bool = False) -> None:
        kind, calls, shown, parts = self._kind, self._calls, self._shown, self._pieces
        # text of one long line (a 1 MB delta) is drawn from its parts: joined, one wide character anywhere in it
        # makes a copy of 2-4 bytes a character (issue 9: rich --follow held 14x a 1 MB delta)
        line = (kind == "text" and not self._splitter.head(1) and sum(map(len, parts)) > long_content.CHUNK_CHARS
                and not any("\n" in part for part in parts))
        buffer = "" if line else self._splitter.tail + "".join(parts)
        self._pieces, self._shown, self._splitter, self._calls = [], False, BlockSplitter(), []
        self._view.splitter, self._view.calls = None, []
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._live is not None:
            self._live.stop()  # transient: the region (now empty) is erased; what it showed is printed below
            self._live = None
            self._dirty = False
        if kind == "text":
            if line:
                if any(part.strip() for part in parts):
                    self._print_pieces(long_content.line_pieces(parts))
            elif buffer.strip():
                self._print_block(buffer.strip("\n"))
        elif kind == "tool":
            for call in calls:
                if not self._bound.take("tool_call"):
                    continue
                final = final_call(call)
                if interrupted and isinstance(final["arguments"], str):  # its arguments were still arriving
                    line = call_progress(call, self.console.width - len(" (interrupted)"))
                    self._print_part(Text.assemble(line, (" (interrupted)", "dim")))
                else:
                    self._print_part(tool_call_block(final))
        elif kind == "thinking":
            target = self.thinking_console
            if target is None or not (buffer or shown):
                pass
            elif target.is_interactive:
                target.print()  # end the line the thinking was written on
                target.print()  # and a blank line before what follows
            else:
                target.print(Text("thinking", style="dim italic"))
                _print_lines(target, for_terminal(buffer))
        elif buffer:
            style = "yellow" if kind == "refusal" else ""  # in pieces: see rich_view.refusal_block
            pieces = long_content.line_chunks(for_terminal(buffer))
            self._print_part(long_content.Chunked(*(long_content.Verbatim(piece, style) for piece in pieces)))


def _print_lines(console: Console, text: str, end: str = "\n", soft_wrap: bool = False) -> None:
    """Print dimmed `text` a few hundred lines (at most 64 KB) at a time: the memory of one Rich print grows with its
    lines, a model can send tens of thousands of newlines, and Rich folds one huge line superlinearly."""
    pieces = long_content.line_chunks(text, 256)
    for n, piece in enumerate(pieces, 1):
        console.print(Text(piece, style="dim"), end=end if n == len(pieces) else "\n", soft_wrap=soft_wrap)


def final_call(call: dict) -> dict:
    """A tool call as the accumulator holds it while streaming -> as the document will have it."""
    from aimux_cli.document import call_arguments, parse_arguments

    out = {"type": "tool_call"}
    for key in ("id", "name"):
        if call.get(key):
            out[key] = call[key]
    out["arguments"] = parse_arguments(call_arguments(call))
    return out


def call_progress(call: dict, width: int) -> Text:
    """One line for a tool call still streaming: its name (when known) and the end of its arguments so far."""
    line = Text.assemble(("tool call ", "bold magenta"), (for_terminal(str(call.get("name") or "…")), "bold"))
    from aimux_cli.document import call_arguments

    args = call_arguments(call)
    if not isinstance(args, str):
        args = json.dumps(args, ensure_ascii=False, default=str)
    args = " ".join(args.split())
    room = max(width - len(line.plain) - 3, 10)
    if len(args) > room:
        args = "…" + args[-(room - 1):]
    line.append("  ")
    line.append(for_terminal(args), style="dim")
    return line


LIVE_CHARS = 32768  # at least this much of the unfinished tail is drawn in the live region


class _LiveView:
    """The live region: the unfinished Markdown tail, then the tool calls in progress. Markdown is parsed when the
    region is drawn (a few times a second), not on every delta.

    The padding at the end of the last line is left out, so that the cursor rests just after the text: resting at
    the right margin, the `^C` a terminal echoes for Ctrl-C would wrap onto a new line, and the region would then be
    erased one line too low (the tail was left on the screen, and printed a second time)."""

    def __init__(self) -> None:
        self.splitter: BlockSplitter | None = None  # its tail is the unfinished Markdown
        self.calls: list[dict] = []

    def has_text(self) -> bool:
        return self.splitter is not None and self.splitter.has_text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        # Only the head of a long tail is drawn: Live crops the region to the screen's height from the top, and the
        # head fills more than a screen, so the screen is the same and a redraw costs the same however long the
        # unfinished block grows (issue 9, F18).
        limit = max(LIVE_CHARS, 2 * console.width * console.height)
        source = self.splitter.head(limit) if self.has_text() else ""
        parts: list = [markdown(source)] if source.strip() else []
        parts += [call_progress(call, options.max_width) for call in self.calls[:console.height + 1]]  # cropped
        if not parts:
            return
        lines = console.render_lines(Group(*parts), options, pad=False)
        while lines and not "".join(segment.text for segment in lines[-1]).strip():
            lines.pop()  # trailing blank lines (a code block's padding): the cursor stays on the text
        if not lines:
            return
        lines[-1] = _rstrip(lines[-1])
        newline = Segment.line()
        for n, line in enumerate(lines):
            if n:
                yield newline
            yield from line


class _Following:
    """A part drawn after others: without the empty line Rich puts before a table that begins a Markdown block
    (drawn with the rest of the answer, that table follows the blank line between blocks, and has no second one)."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = console.render_lines(self.inner, options, pad=False, new_lines=True)
        start = 0
        while start < len(lines) - 1 and all(not s.text.strip("\n") and not s.control for s in lines[start]):
            start += 1
        for line in lines[start:]:
            yield from line


def _rstrip(line: list[Segment]) -> list[Segment]:
    """A rendered line without the spaces at its end."""
    line = list(line)
    while line and not line[-1].control and not line[-1].text.rstrip():
        line.pop()
    if line and not line[-1].control:
        line[-1] = Segment(line[-1].text.rstrip(), line[-1].style)
    return line
