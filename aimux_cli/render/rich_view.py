"""Document -> a Rich view for people (`--format rich`, the default on a terminal).

`render_rich(doc, console)` draws, in order:

- a header: provider · model (api and id dimmed); finish, with the provider's own reason when it differs, the stop
  sequence, and the status when it is not `ok`; notable content-filter results (`safety`); token usage; provider
  timings; cost as reported;
- the blocks of the answer (each choice under its own rule when there are several): text as Markdown; thinking
  dimmed (redacted thinking as a dim placeholder); tool calls with name, id and arguments as highlighted JSON; a
  refusal in yellow; any other provider block as its type and a compact line per field;
- an error in a red panel (HTTP status, type, code, message, request id), or a warning when the stream was cut;
- the document's `warnings` (what aimux could not read in the input), one yellow line each.

`render_value` draws a generic JSON value; one line of it (a long string) draws at most 64 KB.

Safety: every string taken from the document goes through `for_terminal` before Rich sees it, and reaches Rich as a
`Text` object or as Markdown source, never as a markup string, so `[link=…]` or `[bold]` in a response is shown as
typed. Markdown links are drawn as "text (url)", not as terminal hyperlinks, so a link cannot hide its target.

The header and the bounds of metadata values (`safe`, `bounded`) are in rich_header.py.

Bounds: the answer's own content (text, thinking, refusal, tool-call arguments) is drawn whole, printed a few
hundred lines at a time (a `Chunked` part: Rich holds every segment of one print until it ends); any other single
value (a finish reason, a model name, an error message, a field of an unknown block) draws at most FIELD_LINES lines
and FIELD_CHARS characters, then "… N more lines" (issue 9: a finish_reason of 200,000 newlines once took 42 s to
draw). Of each kind of block in a choice, at most SHOWN_BLOCKS (SHOWN_CALLS tool calls) are drawn, then one
"… N more KIND blocks" line after its blocks; text and refusals are not counted (F23: 10,000 web-search results took
7.7 s). Values of any depth or size are written by `aimux_cli.jsondump`, which never recurses.
The document is a plain dict (as loaded from JSON); missing keys are simply not shown. `render_value` draws any
other JSON value; `StreamRenderer` (in `stream_view`) draws a stream progressively.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.highlighter import JSONHighlighter
from rich.markdown import Markdown
from rich.padding import Padding
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from aimux_cli.jsondump import dumps
from aimux_cli.render.long_content import Chunked, Verbatim, line_chunks, markdown_pieces
from aimux_cli.render.rich_header import (  # noqa: F401 - also drawn from here by other views
    _compact_json, bounded, choice_title, cost_text, header, safe, timing_line, usage_line, warnings_view,
)
from aimux_cli.render.sanitize import for_terminal

_ERROR_FIELDS = ("status", "type", "code", "message")
_FIELD_WIDTH = 160  # longest value shown for a field of an unknown block
def markdown(source: str) -> Markdown:
    """Markdown of untrusted source: sanitized, links shown with their target."""
    return Markdown(for_terminal(source), hyperlinks=False)


def render_rich(doc: Any, console: Console, *, blocks: bool = True) -> None:
    """Draw `doc` on `console`; `blocks=False` draws only the header and the error/incomplete notes (after a stream
    whose blocks were already drawn live)."""
    for n, part in enumerate(iter_view(doc, blocks=blocks)):  # made one at a time: 5,000 blocks cost one
        if n:
            console.print(Text())  # one blank line between parts, as Markdown puts between its own paragraphs
        # one print per part (per piece of a Chunked part): Rich holds every segment of a print until it ends
        for piece in part.renderables if isinstance(part, Chunked) else (part,):
            console.print(piece)


def rich_view(doc: Any, *, blocks: bool = True) -> list[RenderableType]:
    """The renderables of the view of `doc`, top to bottom."""
    return list(iter_view(doc, blocks=blocks))


def iter_view(doc: Any, *, blocks: bool = True) -> Iterator[RenderableType]:
    """`rich_view`, made as it is drawn."""
    if not isinstance(doc, Mapping) or doc.get("api") == "json":
        yield json_view(doc)
        return
    if "kind" in doc:  # embeddings, a model list, a batch: render/kinds_view.py
        from aimux_cli.render.kinds_view import iter_kind

        yield from iter_kind(doc)
        return
    yield header(doc)
    if blocks:
        choices = doc.get("choices")
        if isinstance(choices, list) and choices:
            for choice in choices:
                if isinstance(choice, Mapping):
                    yield Rule(choice_title(choice), style="dim")
                    yield from iter_blocks(choice.get("blocks") or ())
        else:
            yield from iter_blocks(doc.get("blocks") or ())
    if isinstance(doc.get("error"), Mapping) or doc.get("status") == "error":
        yield error_panel(doc)
    elif doc.get("status") == "incomplete":
        yield Text("⚠ incomplete: the response ended before its final event; what arrived is shown above.",
                   style="yellow")
    warnings = doc.get("warnings")
    if isinstance(warnings, list) and warnings:
        yield warnings_view(warnings)


def blocks_view(blocks: Iterable[Any]) -> list[RenderableType]:
    """One renderable per block, in document order; consecutive text blocks are drawn as one Markdown text (they are
    pieces of one answer, split by the provider where a citation starts), their sources listed after it."""
    return list(iter_blocks(blocks))


def iter_blocks(blocks: Iterable[Any]) -> Iterator[RenderableType]:
    """`blocks_view`, made as it is drawn; past `shown_limit` blocks of one kind, the rest are counted, not drawn,
    and `more_blocks` notes how many after the last block."""
    run: list[Mapping[str, Any]] = []
    bound = BlockBound()
    for block in blocks:
        if not isinstance(block, Mapping):
            continue
        if block.get("type") == "text":
            run.append(block)
            continue
        if run:
            yield text_run(run)
            run = []
        if bound.take(block.get("type")):
            yield block_view(block)
    if run:
        yield text_run(run)
    yield from bound.notes()


SHOWN_BLOCKS = 200  # most blocks of one kind drawn per choice (tool results, thinking, unknown parts, …)
SHOWN_CALLS = 1000  # most tool calls drawn per choice; text and refusals are always drawn whole (issue 9, F23)


def shown_limit(kind: Any) -> int | None:
    """How many blocks of `kind` one view draws: None for no limit (the answer's text and refusals)."""
    if kind in ("text", "refusal"):
        return None
    return SHOWN_CALLS if kind == "tool_call" else SHOWN_BLOCKS


class BlockBound:
    """Counts the blocks of each kind drawn: `take(kind)` says whether to draw one more, `notes()` is a dim line per
    kind with blocks left out, "… N more KIND blocks (-f json has them all)". Drawing one costs ~1 ms (10,000
    web-search results took 7.7 s), and nobody reads the 201st thinking block of one answer on a terminal."""

    def __init__(self) -> None:
        self.drawn: dict[str, int] = {}
        self.left: dict[str, int] = {}

    def take(self, kind: Any) -> bool:
        limit = shown_limit(kind)
        if limit is None:
            return True
        key = kind if isinstance(kind, str) else "block"
        drawn = self.drawn.get(key, 0)
        if drawn >= limit:
            self.left[key] = self.left.get(key, 0) + 1
            return False
        self.drawn[key] = drawn + 1
        return True

    def notes(self) -> Iterator[Text]:
        for kind, count in self.left.items():
            yield more_blocks(kind, count)


def more_blocks(kind: str, count: int) -> Text:
    """The note for `count` blocks of `kind` left out of the view."""
    kind = "tool call" if kind == "tool_call" else safe(kind)
    return Text(f"… {count:,} more {kind} block{'' if count == 1 else 's'} (-f json has them all)", style="dim")


def block_view(block: Mapping[str, Any]) -> RenderableType:
    kind = block.get("type")
    if kind == "text":
        return text_run([block])
    if kind == "thinking":
        return thinking_block(block)
    if kind == "tool_call":
        return tool_call_block(block)
    if kind == "refusal":
        return refusal_block(block)
    return other_block(block)


def refusal_block(block: Mapping[str, Any]) -> RenderableType:
    """The label, then the refusal in yellow, printed a few hundred lines at a time as thinking is: in one print,
    200,000 newlines held 100 MiB of Rich segments (issue 9, fuzz seed 5 case 111)."""
    first, *rest = line_chunks(content(block.get("text", "")))
    head = Text.assemble(("refusal ", "bold reverse yellow"), " ", (first, "yellow"))
    return Chunked(head, *(Verbatim(piece, "yellow") for piece in rest)) if rest else head


def text_run(run: list[Mapping[str, Any]]) -> RenderableType:
    source = "".join(str(block.get("text", "")) for block in run)
    pieces = markdown_pieces(source)
    cites = [c for block in run if isinstance(block.get("citations"), list) for c in block["citations"]]
    if not cites:
        return pieces[0] if len(pieces) == 1 else Chunked(*pieces)
    lines = []
    for n, cite in enumerate(cites, 1):
        cite = cite if isinstance(cite, Mapping) else {"url": cite}
        fields = [safe(cite[k]) for k in ("title", "url") if cite.get(k) not in (None, "")]
        lines.append(f"[{n}] " + " — ".join(fields))
    notes = [Text(piece, style="dim") for piece in line_chunks("\n".join(lines))]  # 20,000 sources: in pieces
    return (Group if len(pieces) == 1 and len(notes) == 1 else Chunked)(*pieces, Text(), *notes)


def thinking_block(block: Mapping[str, Any]) -> RenderableType:
    if block.get("redacted") and not block.get("text"):
        return Text("[redacted thinking]", style="dim italic")
    return Chunked(Text("thinking", style="dim italic"),
                   *(Verbatim(piece, "dim", indent=2) for piece in line_chunks(content(block.get("text", "")))))


def tool_call_block(block: Mapping[str, Any]) -> RenderableType:
    head = Text.assemble(("tool call ", "bold magenta"), (safe(block.get("name", "?")), "bold"))
    if block.get("id") not in (None, ""):
        head.append(f"  {safe(block['id'])}", style="dim")
    args = block.get("arguments")
    if args is None:
        return head
    if isinstance(args, str):
        head.append("  (arguments are not valid JSON)", style="dim")
        return Chunked(head, *(Verbatim(piece, indent=2) for piece in line_chunks(content(args))))
    highlight = JSONHighlighter()
    pieces = [highlight(Text(piece)) for piece in line_chunks(for_terminal(dumps(args, 2)))]
    return Chunked(head, *(Padding(piece, (0, 0, 0, 2)) for piece in pieces))


def json_text(value: Any, indent: int | None = 2) -> Text:
    """`value` as highlighted JSON text, sanitized (JSON escapes C0 controls; bidi and C1 are escaped here)."""
    return JSONHighlighter()(Text(for_terminal(dumps(value, indent))))


def other_block(block: Mapping[str, Any]) -> RenderableType:
    """A provider block with no row in the contract: its type, then one compact line per field."""
    rows = []
    for key, value in block.items():
        if key != "type":
            shown = value if isinstance(value, str) else _compact_json(value)
            rows.append((key, shown if len(shown) <= _FIELD_WIDTH else shown[: _FIELD_WIDTH - 1] + "…"))
    title = Text(safe(block.get("type", "block")), style="bold cyan")
    return Group(title, Padding(fields_grid(rows, key_style="dim"), (0, 0, 0, 2))) if rows else title


def fields_grid(rows: Iterable[tuple[Any, Any]], key_style: str = "bold") -> Table:
    """`key value` rows, values wrapped under themselves (long URLs and ids are folded, not pushed off)."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style=key_style, no_wrap=True)
    grid.add_column(overflow="fold")
    for key, value in rows:
        grid.add_row(Text(safe(key)), Text(safe(value if isinstance(value, str) else _compact_json(value))))
    return grid


def content(value: Any) -> str:
    """The answer's own content (thinking, a refusal, tool-call arguments) as terminal-safe text, whole."""
    return for_terminal(value if isinstance(value, str) else _compact_json(value))


def error_panel(doc: Mapping[str, Any]) -> Panel:
    error = doc.get("error") if isinstance(doc.get("error"), Mapping) else {}
    rows = [(k, error[k]) for k in _ERROR_FIELDS if error.get(k) not in (None, "")]
    rows += [(k, v) for k, v in error.items() if k not in _ERROR_FIELDS]
    if doc.get("request_id") not in (None, ""):
        rows.append(("request id", doc["request_id"]))
    body = fields_grid(rows) if rows else Text("the provider reported an error")
    return Panel(body, title=Text("error", style="bold red"), title_align="left", border_style="red")


def json_view(value: Any) -> RenderableType:
    """The generic path: a value of no known shape, as highlighted JSON."""
    return json_text(value)


def render_value(value: Any, console: Console) -> None:
    """Draw a JSON value that is not a provider response (the generic `json` path) as highlighted JSON.

    A large value is drawn a few hundred lines at a time, so that memory stays bounded by a chunk rather than
    growing with the value (Rich keeps ~1 KB of objects per highlighted line until a print ends). A JSON line is a
    whole token sequence (strings cannot span lines), so each chunk highlights exactly as the whole would."""
    highlight = JSONHighlighter()
    text = dumps(value, 2)
    if len(text) > _LINE_CHARS:
        text = _LONG_LINE.sub(_cut_line, text)
    for piece in line_chunks(for_terminal(text)):
        console.print(highlight(Text(piece)))


_LINE_CHARS = 64 * 1024  # the generic view draws at most this much of one line (one string value)
_LONG_LINE = re.compile(f"(?m)^[^\n]{{{_LINE_CHARS + 1},}}")  # at line starts only (see long_content)


def _cut_line(match: re.Match) -> str:
    line = match.group()
    return f"{line[:_LINE_CHARS]}… {len(line) - _LINE_CHARS:,} more characters (-f json has them all)"
