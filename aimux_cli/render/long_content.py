"""Long content for the Rich view, in pieces that are printed one at a time: what they draw is what the whole
would draw, but memory stays bounded by a piece (Rich keeps about 1 KB of objects per drawn line until a print
ends, and Markdown parses its source when made) and time stays linear (Rich wraps one huge paragraph, and folds one
huge word, superlinearly). Used by aimux_cli/render/rich_view.py, whose `render_rich` prints a `Chunked` part's
pieces separately.

Contract: `line_chunks(text)` -> pieces of plain text; `markdown_pieces(source)` -> renderables of Markdown.
"""

from __future__ import annotations

import re
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
    from aimux_cli.render.stream_view import BlockSplitter  # it imports this module

    splitter = BlockSplitter()
    blocks = splitter.feed(source if source.endswith("\n") else source + "\n")
    if splitter.tail.strip():
        blocks.append(splitter.tail.rstrip())  # trailing blank lines draw nothing (and 100,000 of them cost MBs)
    blocks = [piece for block in blocks for piece in _long_paragraph(block)]
    pieces: list[RenderableType] = []
    group: list[str] = []
    size = chars = 0
    for n, block in enumerate(blocks, 1):
        group.append(block)
        size += block.count("\n") + 2
        chars += len(block)
        if size >= CHUNK_LINES or chars >= CHUNK_CHARS or n == len(blocks):
            pieces += [Text()] if pieces else []  # the blank line Markdown draws between two blocks
            pieces.append(_LazyMarkdown("\n\n".join(group)))
            group, size, chars = [], 0, 0
    return pieces or [markdown(source)]


def _long_paragraph(block: str) -> list[str]:
    """A Markdown block longer than CHUNK_CHARS that is not code, cut at spaces into pieces of about that size:
    Rich wraps one huge paragraph in superlinear time (issue 9). Each piece then starts a new line and a blank line
    comes between pieces, a small change that only an answer of one 64 KB paragraph ever shows."""
    if len(block) <= CHUNK_CHARS or block.lstrip().startswith(("```", "~~~", "    ", "\t")):
        return [block]
    pieces, start = [], 0
    while len(block) - start > CHUNK_CHARS:
        cut = block.rfind(" ", start + CHUNK_CHARS // 2, start + CHUNK_CHARS)
        cut = cut if cut > start else start + CHUNK_CHARS
        pieces.append(block[start:cut])
        start = cut
    pieces.append(block[start:])
    return pieces


class _LazyMarkdown:
    """Markdown parsed only when drawn (Rich's Markdown parses its source when made): a piece of a long answer
    costs memory only while it is printed."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __rich_console__(self, console: Console, options: Any):
        from aimux_cli.render.rich_view import markdown

        yield markdown(self.source)
