"""Documents of other kinds -> the Rich view (render/rich_view.iter_view hands them here); the model table.

- embeddings: a header (provider, model, api; shape `3 × 1536 float`; norm min/mean/max; tokens; timing; cost),
  then a table of the listed vectors (index, norm, first values, Cohere's input text) and `… and N more vectors`.
- models: a header (provider, api, count, the next page's cursor) and the model table `aimux models` draws too
  (the first MODELS_SHOWN rows).
- batch: a header (provider, api, the result counts, the summed tokens), then per result a rule
  `CUSTOM_ID · STATUS` and its document's own view (a chat answer, an embeddings summary) or its error; the first
  RESULTS_SHOWN results, then how many more (the other formats have them all).

Every value from the input is drawn through rich_view.safe / sanitize.for_terminal (no live escape sequences).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from rich.console import RenderableType
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from aimux_cli.render.sanitize import for_terminal

_SEP = " · "
RESULTS_SHOWN = 100  # batch results drawn one by one; the summary counts them all
MODELS_SHOWN = 1000  # rows of a model list's table


def iter_kind(doc: Mapping[str, Any]) -> Iterator[RenderableType]:
    from aimux_cli.render import rich_view as rv

    kind = doc.get("kind")
    if kind == "embeddings":
        yield from _embeddings(doc)
    elif kind == "models":
        yield _header(doc, [("models", Text(_models_count(doc)))])
        models = [m for m in doc.get("models") or () if isinstance(m, Mapping)]
        if models:
            yield models_table(models[:MODELS_SHOWN], compact=True)
        if len(models) > MODELS_SHOWN:  # Rich measures every row of a table: ~2,000 rows a second
            yield Text(f"… and {len(models) - MODELS_SHOWN:,} more models (-f text lists every id)", style="dim")
    elif kind == "batch":
        yield from _batch(doc)
    else:
        yield rv.json_view(doc)
        return
    warnings = doc.get("warnings")
    if isinstance(warnings, list) and warnings:
        yield rv.warnings_view(warnings)


def _header(doc: Mapping[str, Any], lines: list[tuple[str, Text]]) -> Text:
    from aimux_cli.render.rich_view import safe

    text = Text()
    title = _SEP.join(safe(doc[k]) for k in ("provider", "model") if doc.get(k) not in (None, ""))
    text.append(title or {"models": "model list"}.get(doc.get("kind"), str(doc.get("kind"))), style="bold")
    details = _SEP.join(safe(doc[k]) for k in ("api", "id") if doc.get(k) not in (None, ""))
    if details:
        text.append(f"  {details}", style="dim")
    for label, value in lines:
        if value:
            text.append(f"\n{label:<8}", style="dim")
            text.append_text(value)
    return text


def _common(doc: Mapping[str, Any]) -> list[tuple[str, Text]]:
    from aimux_cli.render import rich_view as rv

    lines = [("tokens", rv.usage_line(doc.get("usage"))), ("timing", rv.timing_line(doc.get("timing")))]
    if doc.get("cost") not in (None, ""):
        lines.append(("cost", Text(rv.cost_text(doc))))
    return lines


def _embeddings(doc: Mapping[str, Any]) -> Iterator[RenderableType]:
    from aimux_cli.render.rich_view import safe

    dims = doc.get("dimensions")
    dims = f"{safe(dims.get('min'))}–{safe(dims.get('max'))}" if isinstance(dims, Mapping) else safe(dims)
    shape = f"{safe(doc.get('count'))} × {dims} {safe(doc.get('encoding'))}"
    if doc.get("other_encodings"):
        shape += f" (also {', '.join(safe(e) for e in doc['other_encodings'])})"
    lines = [("vectors", Text(shape))]
    norm = doc.get("norm")
    if isinstance(norm, Mapping):
        lines.append(("norm", Text(_SEP.join(f"{k} {_num(norm.get(k))}" for k in ("min", "mean", "max")))))
    yield _header(doc, lines + _common(doc))
    shown = [e for e in doc.get("embeddings") or () if isinstance(e, Mapping)]
    if not shown:
        return
    texts = any("text" in e for e in shown)
    grid = Table(show_edge=False, header_style="bold", pad_edge=False)
    for name in ("#", "norm", "first values") + (("text",) if texts else ()):
        grid.add_column(name, justify="right" if name in ("#", "norm") else "left", overflow="ellipsis",
                        no_wrap=name == "text")
    for e in shown:
        head = ", ".join(_num(x) for x in e.get("head") or ()) + (" …" if e.get("head") else "")
        cells = [safe(e.get("index")), _num(e.get("norm")) if e.get("norm") is not None else "?", head]
        if texts:
            cells.append(safe(e.get("text", "")))
        grid.add_row(*(Text(for_terminal(c)) for c in cells))
    yield grid
    if doc.get("not_shown"):
        yield Text(f"… and {safe(doc['not_shown'])} more vectors (-f json has every vector)", style="dim")


def _models_count(doc: Mapping[str, Any]) -> str:
    from aimux_cli.render.rich_view import safe

    text = safe(doc.get("count"))
    if isinstance(doc.get("next_page"), Mapping):
        text += f"{_SEP}more on the next page ({safe(doc['next_page'])})"
    return text


def models_table(entries: list[Mapping[str, Any]], *, compact: bool = False) -> Table:
    """The model table of `aimux models` and of prettify's model lists: a provider column when the entries name
    theirs, context length, creation date, owner, and OpenRouter-style prices per million tokens when any has
    them. `compact` (prettify): also Ollama's size, parameters and quantization, no column that is empty in every
    row, and model ids never cut (the display names and limits are in -f toon/json)."""
    from aimux_cli.models import per_million

    rows = []
    for e in entries:
        pricing = e.get("pricing") if isinstance(e.get("pricing"), Mapping) else {}
        row = {"provider": str(e.get("provider", "")), "model": str(e.get("id", "")),
               "context": _thousands(e.get("context_length")), "created": str(e.get("created", ""))[:10],
               "owned by": str(e.get("owned_by", "")), "size": _size(e.get("size")),
               "params": str(e.get("parameter_size", "")), "quant": str(e.get("quantization", "")),
               "$/M in": per_million(pricing.get("prompt")), "$/M out": per_million(pricing.get("completion"))}
        rows.append(row)
    if compact:
        columns = [c for c in rows[0] if any(row[c] for row in rows)] if rows else []
    else:
        priced = any("pricing" in e for e in entries)
        columns = (["provider"] if any("provider" in e for e in entries) else []) \
            + ["model", "context", "created", "owned by"] + (["$/M in", "$/M out"] if priced else [])
    grid = Table(show_edge=False, header_style="bold", pad_edge=False)
    widest = max((len(row["model"]) for row in rows), default=0)
    for name in columns:
        if compact and name == "model":  # an id is never cut: the other columns wrap first, a longer id folds
            grid.add_column(name, min_width=min(widest, 30), overflow="fold")
        else:
            grid.add_column(name, justify="right" if name in _RIGHT else "left")
    from aimux_cli.render.rich_view import bounded  # a cell of 200,000 lines took minutes to lay out (issue 9)

    for row in rows:
        grid.add_row(*(Text(for_terminal(bounded(row[c]))) for c in columns))
    return grid


_RIGHT = frozenset(("context", "size", "$/M in", "$/M out"))


def _thousands(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else ""


def _size(value: Any) -> str:
    """Bytes as decimal GB/MB (Ollama's model sizes)."""
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        return ""
    try:
        return f"{value / 1e9:.1f} GB" if value >= 1e9 else f"{value / 1e6:.0f} MB"
    except OverflowError:  # past a float (309+ digits): the bytes as sent, the cell bounds them
        return f"{value:,} B"


def _batch(doc: Mapping[str, Any]) -> Iterator[RenderableType]:
    from aimux_cli.render import rich_view as rv

    summary = doc.get("summary") if isinstance(doc.get("summary"), Mapping) else {}
    counts = [f"{rv.safe(summary.get(k))} {k}" for k in ("succeeded", "errored", "canceled", "expired")
              if summary.get(k)]
    lines = [("results", Text(f"{rv.safe(summary.get('results', 0))}" + (": " + _SEP.join(counts) if counts
                                                                            else ""))),
             ("tokens", rv.usage_line(summary.get("usage")))]
    yield _header(doc, lines)
    results = doc.get("results") or ()
    for n, result in enumerate(results):
        if n == RESULTS_SHOWN:  # a batch holds up to 50,000 requests: Rich draws ~1,000 views a second
            yield Text(f"… and {len(results) - n:,} more results (-f toon, -f json and -f text have them all)",
                       style="dim")
            break
        if not isinstance(result, Mapping):
            continue
        status = result.get("status")
        yield Rule(Text(f"{rv.safe(result.get('custom_id'))}{_SEP}{rv.safe(status)}",
                        style="dim" if status == "succeeded" else "bold red"), style="dim")
        inner = result.get("document")
        if isinstance(inner, Mapping):
            yield from rv.iter_view(inner)
        elif isinstance(result.get("error"), Mapping):
            yield rv.error_panel({"error": result["error"]})
        else:
            yield Text(f"no response ({rv.safe(status)})", style="yellow")


def _num(value: Any) -> str:
    from aimux_cli.render.rich_view import safe

    return f"{value:.6g}" if isinstance(value, float) else safe(value)
