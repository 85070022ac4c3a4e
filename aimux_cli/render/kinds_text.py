"""Documents of other kinds -> `-f text` (for pipelines; never imports Rich). render/text.py hands them here.

- models: one model id a line (`aimux prettify -f text models.json | grep mini`).
- embeddings: a summary line (`3 embeddings × 1536 dimensions (float)`, the model, the norm range), then one
  `INDEX<TAB>norm N` line per listed vector and `… and N more` for the rest. Never the floats themselves.
- batch: per result a `== CUSTOM_ID · STATUS ==` line, then its document's text (a chat answer's text, an
  embeddings summary) or the error's message; errors are also summarized on stderr (present.text_notes).

The text is exact (model output included); present sanitizes it when stdout is a terminal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def kind_text(doc: Mapping[str, Any]) -> str:
    kind = doc.get("kind")
    if kind == "models":
        return "".join(f"{m['id']}\n" for m in doc.get("models") or () if isinstance(m, Mapping) and m.get("id"))
    if kind == "embeddings":
        return embeddings_text(doc)
    if kind == "batch":
        return batch_text(doc)
    return ""


def embeddings_text(doc: Mapping[str, Any]) -> str:
    count, dims = doc.get("count", 0), doc.get("dimensions")
    if isinstance(dims, Mapping):
        dims = f"{dims.get('min')}-{dims.get('max')}"
    line = f"{count} embedding{'' if count == 1 else 's'} × {dims if dims is not None else '?'} dimensions " \
           f"({doc.get('encoding')})"
    if doc.get("model"):
        line += f", {doc['model']}"
    norm = doc.get("norm")
    if isinstance(norm, Mapping):
        line += f", norm {_num(norm.get('min'))}" + ("" if norm.get("min") == norm.get("max")
                                                     else f"-{_num(norm.get('max'))}")
    lines = [line]
    for entry in doc.get("embeddings") or ():
        norm = entry.get("norm")
        lines.append(f"{entry.get('index')}\tnorm {'?' if norm is None else _num(norm)}")
    if doc.get("not_shown"):
        lines.append(f"… and {doc['not_shown']} more")
    return "\n".join(lines) + "\n"


def batch_text(doc: Mapping[str, Any]) -> str:
    from aimux_cli.render.text import render_text

    parts = []
    for result in doc.get("results") or ():
        parts.append(f"== {result.get('custom_id')} · {result.get('status')} ==\n")
        inner = result.get("document")
        body = render_text(inner) if isinstance(inner, Mapping) else ""
        error = result.get("error")
        if not body and isinstance(error, Mapping) and error.get("message"):
            body = f"{error['message']}\n"
        parts.append(body)
    return "".join(parts)


def _num(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)
