"""One provider's answer as it arrives, kept for the multi-provider view (`aimux ask -p a,b,c`). No Rich.

`Lane` is what commands/ask_exchange.py and commands/ask_pump.py pump a response into, in place of ask's single
`live.View` (the same calls: `show(deltas)`, `watch(acc)`, `blocks(blocks)`, `arrived()`, `note()`, `close()`, and
the `first_delta`, `deltas` and `chars` that the footer, the log and the Ctrl-C note read). It writes nothing: it
keeps the answer text (`Source`), the thinking, refusals and the tool calls seen so far, and what the command sets
when the exchange ends (`finish(...)`: its footer, its error line, its document), for render/multi_view.py to draw.

Threads: a provider's thread writes its lane, the drawing thread reads it; both hold `lock` (a short critical
section: an append, or a copy of a tail), and `version` grows with every change, so the view redraws only when
something changed.

`Source` keeps Markdown text as its pieces, with the offsets of the lines that open and close fenced code blocks,
so that `tail(limit)` (the last `limit` characters, from a line start) is drawn inside the fence it starts in: the
live panel draws only a tail, and its work per frame stays bounded however long the answer grows.
"""

from __future__ import annotations

import bisect
import re
import threading
import time
from contextlib import contextmanager

_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")


class Source:
    """Markdown arriving in pieces: `add(text)`, `size`, `tail(limit)`, `full()`; see the module docstring."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.size = 0
        self._line: list[str] = []  # the pieces of the incomplete last line
        self._line_start = 0  # its offset
        self._fence = ""  # the opening fence while inside a fenced code block
        self.fences: list[tuple[int, str]] = []  # (offset of a line opening or closing a fence, the opening line or "")

    def add(self, text: str) -> None:
        if not text:
            return
        start = self.size
        self.pieces.append(text)
        self.size += len(text)
        pos = 0
        while (end := text.find("\n", pos)) >= 0:
            self._line.append(text[pos:end])
            self._scan("".join(self._line), self._line_start)
            self._line, self._line_start = [], start + end + 1
            pos = end + 1
        if pos < len(text):
            self._line.append(text[pos:])

    def _scan(self, line: str, offset: int) -> None:
        if self._fence:
            stripped = line.strip()
            if stripped.startswith(self._fence) and stripped == self._fence[0] * len(stripped):
                self._fence = ""
                self.fences.append((offset, ""))
        elif (match := _FENCE.match(line)) is not None:
            self._fence = match.group(1)
            self.fences.append((offset, line.strip()))

    def full(self) -> str:
        return "".join(self.pieces)

    def tail(self, limit: int) -> str:
        """About the last `limit` characters, from the start of a line (unless one line is longer than that), led by
        the fence of the code block the cut falls in."""
        if self.size <= limit:
            return self.full()
        taken: list[str] = []
        size = 0
        for piece in reversed(self.pieces):
            taken.append(piece)
            size += len(piece)
            if size > limit:
                break
        text = "".join(reversed(taken))
        base = self.size - len(text)
        excess = len(text) - limit
        newline = text.find("\n", excess)
        cut = excess if newline < 0 else newline + 1
        text = text[cut:]
        index = bisect.bisect_left(self.fences, (base + cut,))  # the fence lines before the cut
        fence = self.fences[index - 1][1] if index else ""
        return f"{fence}\n{text}" if fence else text


def tail_of(pieces: list[str], limit: int) -> str:
    """The last `limit` characters of text kept as `pieces` (plain text: thinking, a refusal)."""
    taken: list[str] = []
    size = 0
    for piece in reversed(pieces):
        taken.append(piece)
        size += len(piece)
        if size >= limit:
            break
    text = "".join(reversed(taken))
    return text[-limit:] if len(text) > limit else text


class Lane:
    """One provider's answer in a fan-out: the live.View interface for the pump, kept for the view (module
    docstring). `state` is waiting, streaming, done, failed or interrupted."""

    def __init__(self, name: str, model: str | None = None, *, clock=time.monotonic) -> None:
        self.name, self.model, self.clock = name, model, clock
        self.lock = threading.Lock()
        self.version = 0
        self.t0 = clock()
        self.t_end: float | None = None
        self.first_delta: float | None = None
        self.deltas = 0  # for the note after a Ctrl-C, as live.View counts them
        self.chars = 0
        self.text = Source()
        self.thinking: list[str] = []
        self.thinking_chars = 0
        self.refusal: list[str] = []
        self.calls = 0  # tool calls of choice 0 seen so far
        self.last_call: str | None = None  # the newest one's name
        self.notice: str | None = None  # a retry notice, until the answer begins
        self.state = "waiting"
        self.footer: str | None = None  # set by finish(): model · tokens · first token · total · tok/s · cost
        self.error: str | None = None  # the one-line error of a failed exchange
        self.doc = None  # the final document, when one was made

    # --- the live.View interface (called from the provider's thread) ---

    def show(self, deltas) -> None:
        with self.lock:
            self.deltas += len(deltas)
            for kind, text in deltas:
                if not text:
                    continue
                self._begun()
                self.chars += len(text)
                if kind == "text":
                    self.text.add(text)
                elif kind == "thinking":
                    self.thinking.append(text)
                    self.thinking_chars += len(text)
                else:
                    self.refusal.append(text)
            self.version += 1

    def watch(self, acc) -> None:
        """After each event: the tool calls of choice 0 (a count and the newest one's name, in constant time)."""
        choice = acc.choices.get(0) if acc is not None else None
        if choice is None or not choice.tools:
            return
        tools = choice.tools
        name = next(reversed(tools.values())).get("name")
        if len(tools) != self.calls or name != self.last_call:
            with self.lock:
                self._begun()
                self.calls, self.last_call = len(tools), name
                self.version += 1

    def blocks(self, blocks) -> None:
        """A whole body's blocks (a non-streamed answer)."""
        for block in blocks:
            kind = block.get("type")
            if kind in ("text", "thinking", "refusal") and isinstance(block.get("text"), str):
                self.show([(kind, block["text"])])
            elif kind == "tool_call":
                with self.lock:
                    self._begun()
                    self.calls += 1
                    self.last_call = block.get("name")
                    self.version += 1

    def arrived(self) -> None:
        pass

    @contextmanager
    def note(self):
        """live.View.note(): there is no waiting line to step aside for."""
        yield

    def close(self, doc=None, interrupted: bool = False) -> None:
        pass

    def _begun(self) -> None:
        if self.first_delta is None:
            self.first_delta = self.clock()
            self.state, self.notice = "streaming", None

    # --- set by the command ---

    def retry(self, line: str) -> None:
        with self.lock:
            self.notice = line
            self.version += 1

    def finish(self, *, doc=None, footer: str | None = None, error: str | None = None,
               interrupted: bool = False) -> None:
        with self.lock:
            self.t_end = self.t_end or self.clock()
            self.doc, self.footer, self.error = doc, footer, error
            self.state = "interrupted" if interrupted else "failed" if error else "done"
            self.version += 1

    def snapshot(self, limit: int) -> dict:
        """What the live panel draws, copied under the lock: tails of at most `limit` characters."""
        with self.lock:
            return {"state": self.state, "text": self.text.tail(limit) if self.text.size else "",
                    "thinking": tail_of(self.thinking, limit) if self.thinking else "",
                    "thinking_chars": self.thinking_chars, "refusal": tail_of(self.refusal, limit),
                    "calls": self.calls, "last_call": self.last_call, "notice": self.notice,
                    "first_delta": self.first_delta, "chars": self.chars, "t_end": self.t_end, "footer": self.footer,
                    "error": self.error}
