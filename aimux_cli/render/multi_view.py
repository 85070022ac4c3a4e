"""Several answers at once on a terminal (`aimux ask -p a,b,c`, format rich): one panel per provider, each
streaming live, each with its footer.

`MultiView(console, lanes)` draws the lanes (render/lane.py) that the providers' threads fill:

- live (an interactive console): a transient `rich.live.Live` region redrawn by the caller's `refresh()` (about
  REFRESH times a second, from one thread: no refresh thread of Rich's own). Panels sit side by side, in as few
  rows as give each at least MIN_COLUMN columns; the region never grows past the screen (a Live taller than
  the screen cannot be erased), so each panel shows the end of its answer as Markdown, under a title (provider ·
  model, and a mark: a spinner while it runs, ✓ done, ✗ failed, ⚠ interrupted) and above a status line (waiting
  time and retry notices, then time to the first token, elapsed time and characters so far). A frame parses only
  each answer's growing last block: the finished blocks' lines are kept from frame to frame (render/lane.py,
  `Source.live`), and a panel whose lane did not change is not drawn again. Each frame is written in one write,
  inside the terminal's synchronized-update brackets (DEC mode 2026; terminals without it ignore them): no flicker.
- `close()`: the live region is erased and every panel is printed once, whole: the answer as prettify's Rich view
  draws a document's blocks (text as Markdown, thinking dimmed, tool calls with their arguments), the error line of
  a provider that failed (after what arrived from it), and the footer (model · tokens · time to first token · total
  time · tokens per second · cost when the provider reports one, as the command formats it). The final screen holds
  each answer once; scrollback keeps all of it.
- not interactive (a pipe with `-f rich`, a dumb terminal): nothing is drawn until `close()` prints the panels.

Thinking is dimmed, and left out with `thinking="hide"`. Everything from a response is sanitized (`for_terminal`,
or `rich_view`'s helpers, which sanitize) before Rich sees it, and reaches Rich as Text or Markdown, never markup.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.control import Control
from rich.live import Live
from rich.panel import Panel
from rich.rule import Rule
from rich.segment import ControlType, Segment
from rich.text import Text

from aimux_cli.render.long_content import Chunked
from aimux_cli.render.rich_view import choice_title, iter_blocks, markdown
from aimux_cli.render.sanitize import for_terminal

MIN_COLUMN = 40  # narrowest panel: fewer panels a row below that
TAIL_CHARS = 6000  # most characters of an answer (and of its thinking) a live panel draws from, per frame
REFRESH = 8  # frames a second, at most
FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_BORDER = {"waiting": "blue", "streaming": "cyan", "done": "green", "failed": "red", "interrupted": "yellow"}
_MARK = {"done": ("✓", "green"), "failed": ("✗", "red"), "interrupted": ("⚠", "yellow")}
_SYNC_BEGIN, _SYNC_END = "\x1b[?2026h", "\x1b[?2026l"  # synchronized update: the terminal shows the frame whole


class MultiView:
    """The panels of several lanes on `console`; see the module docstring. `start()`, `refresh()` per frame,
    `close()` once."""

    period = 1 / REFRESH

    def __init__(self, console: Console, lanes: list, *, thinking: str = "show", live: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.console, self.lanes, self.thinking, self.clock = console, lanes, thinking, clock
        self.live_ok = live and console.is_interactive and not console.is_dumb_terminal  # else: panels at the end
        self._live: Live | None = None

    def start(self) -> None:
        if self.live_ok:
            self._live = Live(Board(self.lanes, self.thinking, clock=self.clock), console=self.console,
                              auto_refresh=False, transient=True, redirect_stdout=False, redirect_stderr=False)
            self._live.start()
            self.refresh()

    def refresh(self) -> None:
        """Draw a frame (every frame: the waiting and elapsed times move even when no text arrived)."""
        if self._live is None:
            return
        with self.console:  # the frame, and its brackets, in one write
            self.console.control(_raw(_SYNC_BEGIN))
            self._live.refresh()
            self.console.control(_raw(_SYNC_END))

    def close(self) -> None:
        """Erase the live region, then print every panel once, whole (on a terminal, in one synchronized write:
        the screen goes from the last frame to the final panels without a blank moment)."""
        board = Board(self.lanes, self.thinking, final=True, clock=self.clock)
        if self._live is None:
            for part in board.parts(self.console.options):  # a stack of panels is printed a panel per print
                self.console.print(part)
            return
        live, self._live = self._live, None
        with self.console:
            self.console.control(_raw(_SYNC_BEGIN))
            live.stop()
            for part in board.parts(self.console.options):
                self.console.print(part)
            self.console.control(_raw(_SYNC_END))


def _raw(text: str) -> Control:
    """A control sequence written as it is (only to a terminal; Rich drops control segments elsewhere)."""
    control = Control()
    control.segment = Segment(text, None, [(ControlType.BELL,)])
    return control


class Board:
    """The panels of all lanes, live (tails that fit the screen) or `final` (whole)."""

    def __init__(self, lanes: list, thinking: str = "show", *, final: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.lanes, self.thinking, self.final, self.clock = lanes, thinking, final, clock
        self._kept: dict[int, dict] = {}  # per lane, from frame to frame: what was drawn, and for which state

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for part in self.parts(options, console):
            yield part

    def parts(self, options: ConsoleOptions, console: Console | None = None) -> Iterator[RenderableType]:
        """What to print: rows of panels, as many side by side as get MIN_COLUMN columns each, the rows as even as
        can be (4 panels in 100 columns: two rows of two; 3 in 130: one row); a row per print."""
        count = len(self.lanes)
        width = options.max_width
        most = max(1, min(count, width // MIN_COLUMN))
        rows = -(-count // most)
        per_row = -(-count // rows)
        height = options.height or options.size.height
        budget = None if self.final else max(1, (height - 1) // rows - 2)  # the region stays within the screen
        for first in range(0, count, per_row):
            lanes = self.lanes[first:first + per_row]
            widths = [width // len(lanes) + (1 if n < width % len(lanes) else 0) for n in range(len(lanes))]
            yield _Row([self._panel(lane, budget, w) for lane, w in zip(lanes, widths)], widths)

    def _panel(self, lane, budget: int | None, width: int) -> _Panel:
        now = self.clock()
        kept = key = None
        if self.final:
            body, foot = final_parts(lane, self.thinking), final_footer(lane)
        else:
            kept = self._kept.setdefault(id(lane), {"start": 0})
            key = (lane.version, budget)  # read before the snapshot: a change after it is drawn next frame
            if kept.get("key") == (key, max(1, width - 4)):  # nothing arrived: the body drawn last frame is kept
                snap, body = lane.snapshot(), []
            else:  # the source of about twice the lines shown: enough to fill them, however short its lines
                limit = min(TAIL_CHARS, max(400, 2 * (budget or 1) * width))
                snap = lane.snapshot(limit, kept["start"], keep=limit)
                kept["start"] = snap["start"]
                body = live_parts(snap, self.thinking, kept, budget)
            foot = [live_status(snap, lane.t0, now)]
        state = lane.state
        title = Text.assemble((for_terminal(lane.name), "bold"))
        if lane.model:
            title.append(f" · {for_terminal(lane.model)}", style="dim")
        mark, style = _MARK.get(state, (FRAMES[int(now * 10) % len(FRAMES)], "cyan"))
        title.append(f" {mark}", style=style)
        return _Panel(title, _BORDER.get(state, "blue"), body, foot, budget, kept, key)


class _Panel:
    """One lane's panel: `body` (its tail of `budget` lines when live) above `foot`, drawn at a given width. Live,
    the body's lines are kept in `kept` under `key`, and drawn again from there while the key holds."""

    def __init__(self, title: Text, border: str, body: list, foot: list, budget: int | None,
                 kept: dict | None = None, key=None) -> None:
        self.title, self.border, self.body, self.foot, self.budget = title, border, body, foot, budget
        self.kept, self.key = kept, key

    def lines(self, console: Console, options: ConsoleOptions, width: int) -> tuple[list, list]:
        inner = options.update(width=max(1, width - 4), height=None)
        kept, key = self.kept, (self.key, inner.max_width)
        if kept is not None and kept.get("key") == key:
            body = kept["body"]
        else:
            body = console.render_lines(Group(*self.body), inner, pad=False) if self.body else []
            if kept is not None:
                kept["key"], kept["body"] = key, body
        foot = console.render_lines(Group(*self.foot), inner, pad=False) if self.foot else []
        if self.budget is not None:
            room = max(1, self.budget - len(foot))
            body = body[-room:]
        elif body and foot:  # whole: a blank line between the answer and its footer
            foot = [[], *foot]
        return body, foot

    def panel(self, lines: list, height: int | None = None) -> Panel:
        return Panel(_Lines(lines), title=self.title, title_align="left", border_style=self.border, height=height)


class _Lines:
    """Lines already rendered (lists of segments)."""

    def __init__(self, lines: list) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines:
            yield from line
            yield Segment.line()


class _Row:
    """Panels side by side, all as tall as the tallest (bordered to the same bottom line)."""

    def __init__(self, panels: list[_Panel], widths: list[int]) -> None:
        self.panels, self.widths = panels, widths

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        contents = [p.lines(console, options, w) for p, w in zip(self.panels, self.widths)]
        height = max(len(body) + len(foot) for body, foot in contents) + 2
        drawn = []
        for panel, width, (body, foot) in zip(self.panels, self.widths, contents):
            filler = [[] for _ in range(height - 2 - len(body) - len(foot))]  # the footer stays at the bottom
            drawn.append(console.render_lines(panel.panel(body + filler + foot, height),
                                              options.update(width=width, height=height), pad=True))
        for row in zip(*drawn):
            for line in row:
                yield from line
            yield Segment.line()


def live_parts(snap: dict, thinking: str, kept: dict | None = None, room: int | None = None) -> list[RenderableType]:
    """A live panel's body: the thinking (its tail until the answer begins, then its size), the answer's last
    `room` lines as Markdown (_MarkdownTail), a refusal, the tool calls so far."""
    parts: list[RenderableType] = []
    if snap["thinking_chars"] and thinking != "hide":
        if snap["answered"]:
            parts.append(Text(f"thinking · {snap['thinking_chars']:,} characters", style="dim italic"))
        else:
            parts += [Text("thinking", style="dim italic"), Text(for_terminal(snap["thinking"]), style="dim")]
    if snap["finished"] or snap["growing"]:
        parts.append(_MarkdownTail(snap, {} if kept is None else kept, room))
    if snap["refusal"]:
        parts.append(Text.assemble(("refusal ", "bold reverse yellow"), " ",
                                   (for_terminal(snap["refusal"]), "yellow")))
    if snap["calls"]:
        call = Text.assemble(("tool call ", "bold magenta"), (for_terminal(str(snap["last_call"] or "…")), "bold"))
        if snap["calls"] > 1:
            call.append(f"  ({snap['calls']} calls so far)", style="dim")
        parts.append(call)
    return parts


class _MarkdownTail:
    """The answer's finished blocks and its growing last block as Markdown, their last `room` lines. The finished
    blocks' lines are kept (in `kept`, for their span and width): a frame parses and draws only the growing block."""

    def __init__(self, snap: dict, kept: dict, room: int | None) -> None:
        self.snap, self.kept, self.room = snap, kept, room

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        snap, kept = self.snap, self.kept
        key = (snap["start"], snap["split"], options.max_width)
        if not snap["finished"]:
            prefix = []
        elif kept.get("prefix_key") == key:
            prefix = kept["prefix"]
        else:
            prefix = console.render_lines(markdown(snap["finished"]), options, pad=False)
            kept["prefix_key"], kept["prefix"] = key, prefix
        last = console.render_lines(markdown(snap["growing"]), options, pad=False) if snap["growing"].strip() else []
        lines = prefix + [[]] + last if prefix and last else prefix or last  # a blank line between two blocks
        for line in lines[-self.room:] if self.room else lines:
            yield from line
            yield Segment.line()


def live_status(snap: dict, t0: float, now: float) -> Text:
    """The line under a live panel's answer: how long it has waited (and a retry notice), or how it is going."""
    if snap["state"] in ("done", "failed", "interrupted"):  # finished while others still stream
        return _ending(snap["footer"], snap["error"], snap["state"] == "interrupted")
    first = snap["first_delta"]
    if first is None:
        text = Text(f"waiting · {now - t0:.1f} s", style="dim")
        if snap["notice"]:
            text.append(f" · {for_terminal(snap['notice'])}", style="yellow")
        return text
    return Text(f"first token {first - t0:.2f} s · {now - t0:.1f} s · {snap['chars']:,} characters", style="dim")


def _ending(footer: str | None, error: str | None, interrupted: bool) -> Text:
    text = Text()
    if error:
        text.append(for_terminal(error), style="red")
    if interrupted:
        text.append(("\n" if error else "") + "interrupted", style="yellow")
    if footer:
        text.append(("\n" if text else "") + for_terminal(footer), style="dim")
    return text


def final_parts(lane, thinking: str) -> list[RenderableType]:
    """A final panel's body: the document's blocks as prettify's Rich view draws them, a blank line between two
    (each choice under a rule when there are several); without a document (Ctrl-C), what arrived."""
    doc = lane.doc
    parts: list[RenderableType] = []
    if doc is not None:
        data = doc.to_dict()
        choices = data.get("choices")
        groups = [(c, c.get("blocks") or ()) for c in choices] if choices else [(None, data.get("blocks") or ())]
        for choice, blocks in groups:
            if choice is not None:
                parts.append(Rule(choice_title(choice), style="dim"))
            kept = [b for b in blocks if thinking != "hide" or b.get("type") != "thinking"]
            for part in iter_blocks(kept):
                if parts and not isinstance(parts[-1], Rule):
                    parts.append(Text())
                parts.extend(part.renderables if isinstance(part, Chunked) else (part,))
    else:
        if lane.thinking and thinking != "hide":
            parts += [Text("thinking", style="dim italic"), Text(for_terminal("".join(lane.thinking)), style="dim")]
        if lane.text.size:
            parts += [Text()] if parts else []
            parts.append(markdown(lane.text.full()))
    return parts


def final_footer(lane) -> list[RenderableType]:
    """The error line (after what arrived), then the footer."""
    text = _ending(lane.footer, lane.error, lane.state == "interrupted")
    return [text] if text else []
