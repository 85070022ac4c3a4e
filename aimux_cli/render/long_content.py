"""Long content for the Rich view, in pieces that are printed one at a time: what they draw is what the whole
would draw, but memory stays bounded by a piece (Rich keeps about 1 KB of objects per drawn line until a print
ends, and Markdown parses its source when made) and time stays linear (Rich wraps one huge paragraph, and folds one
huge word, superlinearly). Used by aimux_cli/render/rich_view.py, whose `render_rich` prints a `Chunked` part's
pieces separately.

Contract: `line_chunks(text)` -> pieces of plain text; `markdown_pieces(source)` -> renderables of Markdown;
`Verbatim(piece, style, indent)` draws a piece of plain text as a Text does, its blank lines in constant time each.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable, Iterator
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.text import Text


class Chunked(Group):
    """Long content as a Group of pieces that `render_rich` prints one at a time, so that memory is bounded by a
    piece (Rich keeps about 1 KB of objects per drawn line until a print ends) while the output stays the same."""


CHUNK_LINES = 400  # lines per piece of long content
CHUNK_CHARS = 64 * 1024  # Markdown longer than this is drawn block by block
# anchored at line starts: unanchored, a search tried from every character and scanned to its line's end, quadratic
# in the length of lines shorter than the limit (2 MB of 32,000-character lines: 19 s)
_LONG_CONTENT_LINE = re.compile(f"(?m)^[^\n]{{{CHUNK_CHARS + 1},}}")


def _fold_line(match: re.Match) -> str:
    line = match.group()
    return "\n".join(line[i : i + CHUNK_CHARS] for i in range(0, len(line), CHUNK_CHARS))


def line_chunks(text: str, lines: int | None = None) -> list[str]:
    """`text` in pieces of at most `lines` (CHUNK_LINES) lines and about CHUNK_CHARS characters; drawn one under
    the other they draw `text` (the line end between two pieces is the one each print ends with). A line longer
    than CHUNK_CHARS (a 1 MB word) is cut into lines of that size: Rich folds a huge word slowly, in much memory."""
    lines = lines or CHUNK_LINES
    if len(text) > CHUNK_CHARS:
        text = _LONG_CONTENT_LINE.sub(_fold_line, text)
    pieces, start = [], 0
    while True:
        end = start
        for _ in range(lines):
            end = text.find("\n", end) + 1
            if not end or end - start >= CHUNK_CHARS:
                break
        if not end or end >= len(text):
            pieces.append(text[start:])
            return pieces
        pieces.append(text[start : end - 1])
        start = end


def markdown_pieces(source: str) -> list[RenderableType]:
    """Markdown of `source`: one renderable, or for long text its Markdown blocks (split where the streaming view
    splits them: at blank lines outside code fences) grouped a few hundred lines to a piece, blank lines between."""
    from aimux_cli.render.rich_view import markdown  # it imports this module

    if len(source) <= CHUNK_CHARS and source.count("\n") <= CHUNK_LINES:
        return [markdown(source)]
    if not source.strip():
        return [markdown("")]  # blank lines draw nothing, however many
    if "\n" not in source.strip("\n"):  # one line (a 1 MB delta): one block, without the splitter's copies of it
        blocks = [source.strip("\n").rstrip()]
    else:
        from aimux_cli.render.stream_view import BlockSplitter  # it imports this module

        splitter = BlockSplitter()
        blocks = splitter.feed(source) + splitter.feed("" if source.endswith("\n") else "\n")  # no copy + "\n"
        rest = splitter.rest()  # trailing blank lines draw nothing (100,000 of them cost MBs)
        if rest:
            blocks.append(rest)
    return _grouped(piece for block in blocks for piece in _long_paragraph(block)) or [markdown(source)]


def _grouped(blocks: Iterable[str]) -> list[RenderableType]:
    """Markdown blocks grouped a few hundred lines (about CHUNK_CHARS) to a piece, a blank line between pieces."""
    pieces: list[RenderableType] = []
    group: list[str] = []
    size = chars = 0
    for block in blocks:
        group.append(block)
        size += block.count("\n") + 2
        chars += len(block)
        if size >= CHUNK_LINES or chars >= CHUNK_CHARS:
            pieces += [Text()] if pieces else []  # the blank line Markdown draws between two blocks
            pieces.append(_LazyMarkdown("\n\n".join(group)))
            group, size, chars = [], 0, 0
    if group:
        pieces += [Text()] if pieces else []
        pieces.append(_LazyMarkdown("\n\n".join(group)))
    return pieces


def line_pieces(parts: list[str]) -> list[RenderableType]:
    """`markdown_pieces("".join(parts))` for text of one line (no part holds a newline) that arrived in parts,
    without joining it: a streamed 1 MB line with one wide character joins to 2-4 MB (issue 9, rich --follow)."""
    parts = [part for part in parts if part]
    if sum(map(len, parts)) <= CHUNK_CHARS:
        return markdown_pieces("".join(parts))
    while parts and not parts[-1].rstrip():
        parts.pop()
    if parts:
        parts[-1] = parts[-1].rstrip()  # as markdown_pieces strips the block
    lead = ""
    for part in parts:
        lead = (lead + (part if lead else part[:CHUNK_CHARS].lstrip()))[:3]
        if len(lead) >= 3 or part[:CHUNK_CHARS].strip():
            break
    from aimux_cli.render.rich_view import markdown  # it imports this module

    code = lead in ("```", "~~~")  # an unclosed fence: code, drawn whole
    return _grouped(["".join(parts)] if code else _cut_parts(parts)) or [markdown("")]


def _cut_parts(parts: list[str]) -> Iterator[str]:
    """`_long_paragraph("".join(parts))` (a paragraph longer than CHUNK_CHARS, not code), joining at most a few
    CHUNK_CHARS at a time."""
    pending: list[str] = []
    size = 0
    for part in parts:
        for i in range(0, len(part), CHUNK_CHARS):
            pending.append(part[i : i + CHUNK_CHARS] if len(part) > CHUNK_CHARS else part)
            size += len(pending[-1])
            if size > 2 * CHUNK_CHARS:
                pending = [(yield from _cut_some(pending, last=False))]
                size = len(pending[0])
    yield from _cut_some(pending, last=True)


def _cut_some(pending: list[str], last: bool) -> Generator[str, None, str]:
    """The pieces `_long_paragraph` cuts from the joined `pending` while more than CHUNK_CHARS are left; the rest
    is yielded when `last`, else returned."""
    buf, start = "".join(pending), 0
    while len(buf) - start > CHUNK_CHARS:
        cut = buf.rfind(" ", start + CHUNK_CHARS // 2, start + CHUNK_CHARS)
        cut = cut if cut > start else start + CHUNK_CHARS
        yield buf[start:cut]
        start = cut
    if last:
        yield buf[start:]
    return buf[start:]


def _long_paragraph(block: str) -> Iterable[str]:
    """A Markdown block longer than CHUNK_CHARS, cut into pieces of about that size: fenced code by `_long_code`,
    anything else at spaces, since Rich wraps one huge paragraph in superlinear time (issue 9). Each piece then
    starts a new line and a blank line comes between pieces, a small change that only an answer of one 64 KB
    paragraph ever shows."""
    if len(block) <= CHUNK_CHARS:
        return [block]
    opener, newline, _ = block.partition("\n")
    if opener.lstrip().startswith(("```", "~~~")):  # code: a fence alone on its one line draws an empty block
        return _long_code(block, opener.lstrip()) if newline else [block]
    pieces, start = [], 0
    while len(block) - start > CHUNK_CHARS:
        cut = block.rfind(" ", start + CHUNK_CHARS // 2, start + CHUNK_CHARS)
        cut = cut if cut > start else start + CHUNK_CHARS
        pieces.append(block[start:cut])
        start = cut
    pieces.append(block[start:])
    return pieces


def _long_code(block: str, opener: str) -> Iterator[str]:
    """A fenced code block longer than CHUNK_CHARS as several code blocks of at most CHUNK_LINES lines and about
    CHUNK_CHARS characters, each with the fence (and language) of the whole, a line longer than that cut into lines
    of that size: Rich draws a code block whole, and a 1 MB one took about 27 MB (issue 9, final fuzz run). The
    block is walked in place: no list of its lines, no joined copy of its body."""
    fence = opener[:3]
    start = block.find("\n") + 1 or len(block)
    end = len(block)
    last = block.rfind("\n") + 1
    if last > start and block[last:].strip().startswith(fence):  # the closing fence, when the block has one
        end = last - 1
    group: list[str] = []
    size = 0
    while start < end:
        stop = block.find("\n", start, end)
        stop = end if stop < 0 else stop
        for cut in range(start, max(stop, start + 1), CHUNK_CHARS):  # a line longer than CHUNK_CHARS, in lines
            line = block[cut:min(cut + CHUNK_CHARS, stop)]
            if group and (len(group) >= CHUNK_LINES or size + len(line) > CHUNK_CHARS):
                yield f"{opener}\n" + "\n".join(group) + f"\n{fence}"
                group, size = [], 0
            group.append(line)
            size += len(line) + 1
        start = stop + 1
    if group:
        yield f"{opener}\n" + "\n".join(group) + f"\n{fence}"


class Verbatim:
    """`Text(text, style=style)`, inside `Padding(…, (0, 0, 0, indent))` when `indent`, drawn the same, but each
    blank line written as the segments of one blank line, made once: Rich wraps every line of a Text (~12 µs a
    line), and a refusal of 200,000 newlines took 2 s to draw (one of 1 MB would pass the fuzz harness's 5 s)."""

    def __init__(self, text: str, style: str = "", indent: int = 0) -> None:
        self.text, self.style, self.indent = text, style, indent

    def _drawn(self, text: str) -> RenderableType:
        from rich.padding import Padding

        drawn = Text(text, style=self.style)
        return Padding(drawn, (0, 0, 0, self.indent)) if self.indent else drawn

    def __rich_console__(self, console: Console, options: Any):
        blank: list | None = None
        group: list[str] = []
        for line in self.text.split("\n"):  # a piece of line_chunks: a few hundred lines
            if line:
                group.append(line)
                continue
            if group:
                yield self._drawn("\n".join(group))
                group = []
            if blank is None:
                blank = list(console.render(self._drawn(""), options))
            yield from blank
        if group:
            yield self._drawn("\n".join(group))


class _LazyMarkdown:
    """Markdown parsed only when drawn (Rich's Markdown parses its source when made): a piece of a long answer
    costs memory only while it is printed."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __rich_console__(self, console: Console, options: Any):
        from aimux_cli.render.rich_view import markdown

        yield markdown(self.source)
