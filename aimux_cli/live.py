"""Showing a stream as it arrives: the progress view shared by `aimux ask` and `aimux prettify --follow`, and
feed_events, which folds parsed stream items into a wire.StreamFolder while showing their deltas. The `--follow`
loop that reads a stream from stdin is live_follow.py (ask never imports it).

Where the progressive text goes depends on the final format: `text` writes the answer to stdout as it arrives
(that is the whole output), then one `tool NAME ARGUMENTS` line per tool call; `rich` draws it on stdout with the
streaming Markdown renderer (tool calls growing in the live region), then the document's summary; `toon`/`json`
keep stdout for the final document and show the progress on stderr when it is a terminal. Thinking is labelled
and ends its line, on stderr when it is a terminal (`--thinking` in ask moves it to stdout or hides it).

`Progress` is that view; `View` is ask's wrapper (the waiting line until the first token, the first-token time);
`INTERRUPTS` turns Ctrl-C while drawing into a KeyboardInterrupt once the drawing is done, so that the screen is
never left half drawn; after one, ask and --follow close the view, write `aimux: interrupted after …` with what
had arrived on stderr, and exit 130.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from itertools import islice

import orjson

from aimux_cli.document import ArgumentPieces


class Progress:
    """Shows a stream as it comes, on the right stream, sanitized for terminals (shared with `aimux ask`).

    `show(deltas)` takes the text/thinking/refusal deltas of one event, `watch(acc)` looks at the tool calls after
    it, `blocks(blocks)` shows a whole body's blocks in order, and `close(doc)` ends the view: in `text` the tool
    calls of `doc` follow the answer on stdout, one `tool NAME ARGUMENTS` line each. `thinking` is `show` (stderr,
    labelled), `hide`, or `stdout` (before the answer, labelled; rich and text only: toon/json keep stdout for the
    document)."""

    def __init__(self, fmt: str, env, thinking: str = "show") -> None:
        self.fmt, self.env = fmt, env
        self.renderer = None
        self.plain = None
        self._calls_done = 0  # tool calls of choice 0 already drawn for good (text came after them)
        self.chars = 0  # characters of the deltas shown
        self._tools_shown = 0  # tool calls of the current run drawn in the live region (rich)
        self._run: list = []  # those calls, grown at its end (a copy of every call per event was quadratic)
        self._tool_state: tuple = ()  # what they looked like: their number, the last one's name and length
        if fmt == "rich":
            from aimux_cli.render.stream_view import StreamRenderer
            if thinking == "show" and not env.stderr_isatty:
                thinking = "hide"  # as in every format: `ask … > out 2> log` keeps the log for errors
            self.renderer = StreamRenderer(env.stdout_console, env.stderr_console, thinking=thinking)
        else:
            from aimux_cli.render.plain_stream import PlainStream
            self.plain = PlainStream(fmt, env, thinking)

    def show(self, deltas) -> None:
        guard = INTERRUPTS  # INTERRUPTS.drawing(), inlined: this runs for every event of a stream
        guard.depth += 1
        try:
            if self._tools_shown:  # content after tool calls: those are finished
                self._calls_done += self._tools_shown
                self._tools_shown, self._tool_state, self._run = 0, (), []
            append = self.plain.append if self.renderer is None else self.renderer.append
            for kind, text in deltas:
                self.chars += len(text)
                append(kind, text)
        finally:
            guard.done_drawing()

    @property
    def drew(self) -> bool:
        """Something was shown: text, thinking or a tool call."""
        return bool(self.chars or self._calls_done or self._tools_shown)

    def watch(self, acc) -> None:
        """After each event: redraw the tool calls of choice 0 in progress when they changed (rich only). A change is
        a new call or the last one growing, looked at in constant time (a stream of 20,000 calls was quadratic);
        an earlier call that grows again is drawn with the next change, and in full when the calls end."""
        choice = acc.choices.get(0) if self.renderer is not None and acc is not None else None
        if choice is None or len(choice.tools) <= self._calls_done:
            return
        tools = choice.tools
        last = next(reversed(tools.values()))
        args = last["arguments"]  # ArgumentPieces (their number grows with them) or a value sent whole
        state = (len(tools), last["name"], len(args) if isinstance(args, (str, ArgumentPieces)) else -1)
        if state != self._tool_state:
            self._tool_state = state
            new = len(tools) - self._calls_done - len(self._run)
            if new > 0:  # the new calls are the last ones: taken from the end, not a copy of all of them
                self._run.extend(reversed(list(islice(reversed(tools.values()), new))))
            self._tools_shown = len(self._run)
            with INTERRUPTS.drawing():
                self.renderer.tools(self._run)

    def blocks(self, blocks) -> None:
        """The blocks of a whole body, in order, as if they had streamed."""
        calls: list = []  # the tool calls in a row so far: drawn together, as a stream draws them
        for block in blocks:
            kind = block.get("type")
            if kind == "tool_call" and self.renderer is not None:
                calls.append(block)
                self._tools_shown = len(calls)
                with INTERRUPTS.drawing():
                    self.renderer.tools(calls)
                continue
            calls = []
            if kind in ("text", "thinking", "refusal") and isinstance(block.get("text"), str):
                self.show([(kind, block["text"])])

    def close(self, doc=None, interrupted: bool = False) -> None:
        """End the view; `doc` is the final document (None when interrupted or nothing arrived)."""
        with INTERRUPTS.drawing():
            if self.renderer is not None:
                self.renderer.close(interrupted=interrupted)
            else:
                self.plain.close(doc)


class View:
    """`aimux ask`'s view: prettify --follow's progress, built on the first delta (so the Rich import overlaps the
    provider's latency instead of delaying the request), noting when the first visible delta was shown (for the
    footer). Until then, on a terminal, a transient `waiting for PROVIDER · 1.2 s` line on stderr (`waiting`: its
    label, None for none). `raw` shows nothing: stdout carries the provider's bytes alone."""

    def __init__(self, fmt: str, env, thinking: str = "show", waiting: str | None = None) -> None:
        self.fmt, self.env, self.thinking = fmt, env, thinking
        self.progress: Progress | None = None
        self.first_delta: float | None = None
        self.deltas = 0  # visible deltas shown (for the note after a Ctrl-C)
        self.chars = 0
        self.waiting = None
        if waiting:
            from aimux_cli.render.waiting import Waiting
            self.waiting = Waiting(waiting)

    def arrived(self) -> None:
        """Something is about to be written: the waiting line goes first."""
        if self.waiting is not None:
            self.waiting.stop()
            self.waiting = None

    def show(self, deltas) -> None:
        if self.first_delta is None and any(text for _, text in deltas):
            self.first_delta = time.monotonic()
            self.arrived()
        self.deltas += len(deltas)
        if self.fmt == "raw" or not deltas:
            for _, text in deltas:
                self.chars += len(text)
            return
        progress = self.progress if self.progress is not None else self._progress()
        progress.show(deltas)
        self.chars = progress.chars

    def watch(self, acc) -> None:
        """After each event: the tool calls in progress (the first one counts as the first token)."""
        choice = acc.choices.get(0) if acc is not None else None
        if choice is None or not choice.tools or self.fmt == "raw":
            return
        if self.first_delta is None:
            self.first_delta = time.monotonic()
            self.arrived()
        self._progress().watch(acc)

    def blocks(self, blocks) -> None:
        """A whole body's blocks (a non-streamed answer), shown in order."""
        if not any(b.get("type") in ("text", "thinking", "refusal", "tool_call") for b in blocks):
            return
        if self.first_delta is None:
            self.first_delta = time.monotonic()
            self.arrived()
        if self.fmt != "raw":
            self._progress().blocks(blocks)

    def _progress(self) -> Progress:
        if self.progress is None:
            self.progress = Progress(self.fmt, self.env, self.thinking)
        return self.progress

    @contextmanager
    def note(self):
        """Write a line on stderr (a retry notice) without the waiting line getting in the way."""
        if self.waiting is None:
            yield
        else:
            with self.waiting.pause():
                yield

    def close(self, doc=None, interrupted: bool = False) -> None:
        self.arrived()
        if self.progress is None and doc is not None and self.fmt == "text":
            self._progress()  # a text answer with only tool calls still prints them
        if self.progress is not None:
            self.progress.close(doc, interrupted=interrupted)


class Interrupts:
    """Ctrl-C while the view draws: the KeyboardInterrupt is raised once the drawing is done, so the screen is never
    left half drawn (a block printed twice, or a live region left behind). Outside drawing, at once."""

    def __init__(self) -> None:
        self.depth = 0
        self.pending = False
        self._previous = None

    def __enter__(self) -> Interrupts:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        self.restore()

    def restore(self) -> None:
        """Ctrl-C acts at once again (the interrupt is being handled: a second one ends aimux)."""
        import signal

        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
        self.depth, self.pending = 0, False

    def _handler(self, signum, frame) -> None:
        if self.depth:
            self.pending = True
        else:
            raise KeyboardInterrupt

    @contextmanager
    def drawing(self):
        self.depth += 1
        try:
            yield
        finally:
            self.done_drawing()

    def done_drawing(self) -> None:
        self.depth -= 1
        if self.pending and not self.depth:
            self.pending = False
            raise KeyboardInterrupt


INTERRUPTS = Interrupts()


def interrupted_line(seconds: float, doc, count: int, unit: str, chars: int) -> str:
    """`interrupted after 2.31 s: MODEL · 57 chunks, 412 characters, 2 tool calls so far`: what had arrived."""
    calls = sum(1 for block in doc.blocks if block.get("type") == "tool_call") if doc is not None else 0
    what = [f"{count} {unit}"] if count else []
    if chars:
        what.append(f"{chars} characters")
    if calls:
        what.append(f"{calls} tool call{'' if calls == 1 else 's'}")
    model = f"{doc.model} · " if doc is not None and doc.model else ""
    return f"interrupted after {seconds:.2f} s: {model}{', '.join(what) + ' so far' if what else 'nothing had arrived'}"


def parser_warnings(folder, warnings: list[str]) -> None:
    """What the stream parser went past (bytes that are not UTF-8, lines that are not JSON) into the document, ahead
    of the others, as prettify without --follow puts them: the same bytes give the same `warnings` either way."""
    acc = folder.acc
    if not warnings:
        return
    if acc is None:
        for message in warnings:
            folder.warn(message)
        return
    later, dropped = acc.warnings[:], acc.dropped_warnings
    acc.warnings.clear()
    acc.dropped_warnings = 0
    for message in (*warnings, *later):
        acc.warn(message)
    acc.dropped_warnings += dropped


def feed_events(folder, progress, kind: str, items: list) -> None:
    """Fold parsed stream items (SSE events or JSON values) into `folder`, showing their deltas on `progress` and
    letting it look at the tool calls in progress (`progress.watch(acc)`) after each.

    A stream with several choices (`n` > 1) interleaves their deltas, and a delta does not say its choice: once a
    second choice appears, what is shown is choice 0's own growth, read from the accumulator (the other choices are
    in the final document)."""
    for item in items:
        acc = folder.acc
        mark = _mark(acc) if acc is not None else (0, 0)
        if kind == "sse":
            if acc is None:
                try:
                    obj = orjson.loads(item.data)
                except orjson.JSONDecodeError as exc:  # padding before the first event, or a lone surrogate
                    from aimux_cli.surrogates import REFUSED, loads_refused

                    obj = loads_refused(item.data, exc)
                    if obj is REFUSED:
                        continue
                    folder.warn("event 1: half of a UTF-16 surrogate pair replaced with U+FFFD")  # as prettify
                deltas = folder.feed_json(obj, None if item.event == "message" else item.event)
            else:
                deltas = folder.feed_sse(item.data, item.event)
        else:
            deltas = folder.feed_json(item)
        if deltas and len(folder.acc.choices) > 1:
            deltas = _first_choice_since(folder.acc, mark)
        if deltas:
            progress.show(deltas)
        progress.watch(folder.acc)


def _mark(acc) -> tuple[int, int]:
    """Where choice 0 stands: its number of blocks and the pieces of text in its last one."""
    choice = acc.choices.get(0)
    if choice is None or not choice.blocks:
        return 0, 0
    text = choice.blocks[-1].get("text")
    return len(choice.blocks), len(text) if isinstance(text, list) else 0


def _first_choice_since(acc, mark: tuple[int, int]) -> list[tuple[str, str]]:
    """The text, thinking and refusal pieces that choice 0 gained since `mark` (see `_mark`)."""
    choice = acc.choices.get(0)
    if choice is None:
        return []
    count, pieces = mark
    start = max(count - 1, 0)
    deltas = []
    for n, block in enumerate(choice.blocks[start:], start):
        text = block.get("text")
        if isinstance(text, list) and block.get("type") in ("text", "thinking", "refusal"):
            deltas += [(block["type"], piece) for piece in text[pieces if n == count - 1 else 0:]]
    return deltas
