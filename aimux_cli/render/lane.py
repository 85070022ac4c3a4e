"""One provider's answer as it arrives, kept for the multi-provider view (`aimux ask -p a,b,c`). No Rich.

`Lane` is what commands/ask_exchange.py and commands/ask_pump.py pump a response into, in place of ask's single
`live.View` (the same calls: `show(deltas)`, `watch(acc)`, `blocks(blocks)`, `arrived()`, `note()`, `close()`, and
the `first_delta`, `deltas` and `chars` that the footer, the log and the Ctrl-C note read). It writes nothing: it
keeps the answer text (`Source`), the thinking, refusals and the tool calls seen so far, and what the command sets
when the exchange ends (`finish(...)`: its footer, its error line, its document), for render/multi_view.py to draw.

Threads: a provider's thread writes its lane, the drawing thread reads it; both hold `lock` (a short critical
section: an append, or a copy of a tail), and `version` grows with every change, so the view redraws only when
something changed.

`Source` keeps Markdown text as its pieces, with the offsets of the lines that begin a block and of those that open
and close fenced code blocks. The live panel draws only the end of an answer, so its work per frame stays bounded
however long the answer grows: `live(...)` gives the finished blocks from a block start the view keeps (their
drawing is kept with it, from frame to frame) and the growing last block, which alone is parsed again; a last block
longer than the view wants is cut by `tail(limit)` (the last `limit` characters, from a line start, led by the fence
of the code block the cut falls in).
"""

from __future__ import annotations

import bisect
import re
import threading
import time
from contextlib import contextmanager

_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")


class Source:
    """Markdown arriving in pieces: `add(text)`, `size`, `full()`, `tail(limit)`, `live(...)`; see the module
    docstring."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self._ends: list[int] = []  # the offset where each piece ends
        self.size = 0
        self._line: list[str] = []  # the pieces of the incomplete last line
        self._line_start = 0  # its offset
        self._fence = ""  # the opening fence while inside a fenced code block
        self.fences: list[tuple[int, str]] = []  # (offset of a line opening or closing a fence, the opening line or "")
        self._blank = True  # the last complete line was blank (the start of the text counts as one)
        self.starts: list[int] = [0]  # offsets of the lines that begin a block: after a blank line, outside a
        # fence, not indented (as render/stream_view.py's BlockSplitter ends blocks)

    def add(self, text: str) -> None:
        if not text:
            return
        start = self.size
        self.pieces.append(text)
        self.size += len(text)
        self._ends.append(self.size)
        pos = 0
        while (end := text.find("\n", pos)) >= 0:
            self._line.append(text[pos:end])
            self._scan("".join(self._line), self._line_start)
            self._line, self._line_start = [], start + end + 1
            pos = end + 1
        if pos < len(text):
            self._line.append(text[pos:])
        line = self._line
        if line and self._blank and not self._fence and line[0][0] not in " \t" and self.starts[-1] != self._line_start:
            self.starts.append(self._line_start)  # a block begins on the line still arriving (a paragraph is one)

    def _scan(self, line: str, offset: int) -> None:
        if self._fence:
            stripped = line.strip()
            if stripped.startswith(self._fence) and stripped == self._fence[0] * len(stripped):
                self._fence = ""
                self.fences.append((offset, ""))
            return
        if not line.strip():
            self._blank = True
            return
        if self._blank and offset and line[0] not in " \t" and self.starts[-1] != offset:
            self.starts.append(offset)
        self._blank = False
        if (match := _FENCE.match(line)) is not None:
            self._fence = match.group(1)
            self.fences.append((offset, line.strip()))

    def slice(self, begin: int, end: int) -> str:
        """The text from offset `begin` to `end`, joined from the pieces it spans only."""
        if begin >= end:
            return ""
        index = bisect.bisect_right(self._ends, begin)
        pos = self._ends[index - 1] if index else 0
        out: list[str] = []
        while pos < end and index < len(self.pieces):
            piece = self.pieces[index]
            out.append(piece[max(begin - pos, 0):min(end - pos, len(piece))])
            pos += len(piece)
            index += 1
        return "".join(out)

    def live(self, start: int, keep: int, limit: int) -> tuple[int, int, str, str]:
        """What a live view draws: (start, split, finished, growing). `growing` is the last block (from `split`;
        its tail as `tail(limit)` cuts it when longer, and then nothing else); `finished`, the finished blocks from
        `start`, a block start the caller keeps from frame to frame (so that their drawing can be kept too), moved
        forward when more than `keep` characters lie between it and `split`."""
        split = self.starts[-1]
        if self.size - split > limit:
            return start, split, "", self.tail(limit)
        if start > split or split - start > keep:
            start = self.starts[bisect.bisect_left(self.starts, split - keep)]
        return start, split, self.slice(start, split).rstrip("\n"), self.slice(split, self.size)

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

    def snapshot(self, limit: int = 0, start: int | None = None, keep: int = 0) -> dict:
        """What the live panel draws, copied under the lock: its state, and with `start` (see Source.live) the
        answer's finished blocks and growing block, and tails of at most `limit` characters of the rest."""
        with self.lock:
            snap = {"state": self.state, "thinking_chars": self.thinking_chars, "calls": self.calls,
                    "last_call": self.last_call, "notice": self.notice, "first_delta": self.first_delta,
                    "chars": self.chars, "t_end": self.t_end, "footer": self.footer, "error": self.error,
                    "answered": bool(self.text.size or self.calls or self.refusal)}
            if start is not None:
                view = self.text.live(start, keep, limit) if self.text.size else (0, 0, "", "")
                snap["start"], snap["split"], snap["finished"], snap["growing"] = view
                snap["thinking"] = tail_of(self.thinking, limit) if self.thinking else ""
                snap["refusal"] = tail_of(self.refusal, limit)
            return snap
