"""Responses that are not chat: embeddings, model lists and batch result files -> a `KindDocument`.

Contract: `from_body(value, provider=None, warnings=()) -> KindDocument | None` for one JSON value (a body, or a
batch file of one line), `is_batch_line(value) -> bool` and `from_lines(items, provider, warnings)` for a JSONL
batch file. prettify asks here only after every wire module has said no (wire.detect), so a chat body is never
taken for another kind, and the common chat input never even imports this package.

Detection never raises: each kind module's `detect(value)` looks at a few keys and returns its api name or None,
and a shape the kind does not understand after all (a hostile value) falls back to None (the generic JSON path).

The kinds, one module each: embeddings.py (OpenAI/Mistral `list` of `embedding`, Gemini `embedding(s)`, Cohere v1
and v2 embed, Ollama `/api/embed` and `/api/embeddings`), models_list.py (OpenAI-style, Anthropic, Gemini, Ollama
`/api/tags`, OpenRouter, Bedrock `modelSummaries`; entries normalized by aimux_cli.models), batch.py (OpenAI batch
output and Anthropic message-batch results, each line's body normalized by the wire modules). Fields: see the
"Other kinds" section of docs/document.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# what the kind modules may raise on a shape they do not understand (as wire.SHAPE_ERRORS)
SHAPE_ERRORS = (TypeError, KeyError, AttributeError, ValueError, IndexError, RecursionError, OverflowError)


class KindDocument:
    """A document of another kind than chat (`kind`: embeddings, models or batch).

    `fields`: the kind's own fields in their order (docs/document.md), plain values (a batch's results hold their
    documents as dicts); `vectors`: the fields only `-f json` writes (`to_dict(vectors=True)`: the embeddings as
    sent; for a batch, those of each result's embeddings document by result number). It offers what presenting a
    chat document reads (status, error, blocks, safety, warnings), so the exit code and the notes of `-f text`
    work unchanged. `warnings` keeps MAX_WARNINGS distinct ones, as a chat document does, then counts the rest."""

    __slots__ = ("kind", "api", "provider", "model", "status", "fields", "error", "warnings", "vectors")

    blocks: tuple = ()
    safety: tuple = ()
    truncated = None

    def __init__(self, kind: str, api: str, provider: str | None, fields: dict[str, Any], *,
                 model: str | None = None, status: str = "ok", error: dict | None = None,
                 warnings: list[str] | None = None, vectors: Any = None) -> None:
        self.kind, self.api, self.provider, self.model = kind, api, provider, model
        self.status, self.fields, self.error = status, fields, error or {}
        self.warnings, self.vectors = warnings or [], vectors

    def to_dict(self, vectors: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "api": self.api, "status": self.status}
        if self.provider is not None:
            out["provider"] = self.provider
        if self.model is not None:
            out["model"] = self.model
        out.update(self.fields)
        if self.error:
            out["error"] = self.error
        if self.warnings:
            out["warnings"] = bounded(self.warnings)
        if vectors and self.vectors and self.kind == "batch":  # the embeddings documents of its results
            out["results"] = _with_vectors(out["results"], self.vectors)
        elif vectors and self.vectors:
            out.update(self.vectors)  # {"vectors": [...]} (and Cohere's "other_vectors")
        return out

    def json_pieces(self) -> Iterator[str]:
        """`-f json` (`to_dict(vectors=True)`, indented, a newline at the end) in pieces cut only between JSON
        values (so the terminal sanitizer may take them one by one): its long list (a batch's results, the vectors,
        the models) is written one element at a time, so that a large batch or embeddings body is never a second
        time in memory as one string (the fuzz harness's bar: 10x the input)."""
        from uuid import uuid4

        from aimux_cli.jsondump import dumps

        data = self.to_dict()
        key = {"batch": "results", "embeddings": "vectors", "models": "models"}.get(self.kind, "")
        if self.kind == "embeddings" and self.vectors:
            data.update(self.vectors)
        items = data.get(key)
        if not isinstance(items, list) or not items:
            yield dumps(self.to_dict(vectors=True), 2) + "\n"
            return
        marker = f"aimux-pieces-{uuid4().hex}"
        data[key] = [marker]
        before, after = dumps(data, 2).split(f'"{marker}"', 1)
        indent = "\n" + before[before.rindex("\n") + 1:]
        yield before
        extra = self.vectors if self.kind == "batch" else {}
        for number, item in enumerate(items):
            if number in extra:
                item = {**item, "document": {**item["document"], **extra[number]}}
            text = dumps(item, 2).replace("\n", indent)
            yield text if number == 0 else f",{indent}{text}"
        yield after + "\n"

    def cleaned(self) -> tuple[KindDocument, int]:
        """This document with lone surrogates replaced by U+FFFD (in place), and the number of strings fixed
        (prettify calls it as it calls surrogates.clean_document on a chat document)."""
        from aimux_cli.surrogates import clean_value

        box, count = clean_value([self.model, self.provider, self.fields, self.error, self.warnings, self.vectors])
        self.model, self.provider = box[0], box[1]
        if count:
            self.warnings.append(f"{count} string(s) held half of a UTF-16 surrogate pair (a lone \\udXXX escape), "
                                 "replaced with U+FFFD")
        return self, count


def bounded(warnings: list[str]) -> list[str]:
    """The first MAX_WARNINGS distinct warnings, then `… and N more warning(s)` (as document.Accumulator does)."""
    from aimux_cli.document_fields import MAX_WARNINGS

    kept = list(dict.fromkeys(warnings))
    if len(kept) <= MAX_WARNINGS:
        return kept
    return kept[:MAX_WARNINGS] + [f"… and {len(kept) - MAX_WARNINGS} more warning(s)"]


def _with_vectors(results: list[dict], vectors: dict[int, dict]) -> list[dict]:
    """A batch's results with the json-only fields of their embeddings documents (copies of those results only)."""
    results = list(results)
    for number, fields in vectors.items():
        result = results[number]
        results[number] = {**result, "document": {**result["document"], **fields}}
    return results


def detect(value: Any) -> str | None:
    """The kind of a JSON value that no wire format claimed ("embeddings", "models", "batch"), or None."""
    if isinstance(value, list):
        keys = value[0].keys() if value and isinstance(value[0], dict) else ()
        return "models" if "id" in keys and value[0].get("object") == "model" else None  # Together: a bare list
    if not isinstance(value, dict):
        return None
    from aimux_cli.kinds import embeddings, models_list

    for name, mod in (("embeddings", embeddings), ("models", models_list)):
        try:
            if mod.detect(value):
                return name
        except SHAPE_ERRORS:
            pass
    return "batch" if is_batch_line(value) else None


def from_body(value: Any, provider: str | None = None, warnings: Any = ()) -> KindDocument | None:
    """The document of one JSON value of another kind, or None (then prettify takes the generic path)."""
    kind = detect(value)
    if kind is None:
        return None
    if kind == "batch":
        return from_lines([value], provider, list(warnings))
    from aimux_cli.kinds import embeddings, models_list

    mod = embeddings if kind == "embeddings" else models_list
    try:
        doc = mod.normalize(value, provider)
    except SHAPE_ERRORS:
        return None
    if doc is not None:
        doc.warnings[:0] = list(warnings)
    return doc


def is_batch_line(value: Any) -> bool:
    """Whether a JSON value is a line of a batch result file (OpenAI's or Anthropic's)."""
    from aimux_cli.kinds import batch

    try:
        return batch.detect(value) is not None
    except SHAPE_ERRORS:
        return False


def from_lines(items: list, provider: str | None, warnings: list[str]) -> KindDocument:
    """The batch document of the parsed lines of a batch file (each item is dropped from `items` once read)."""
    from aimux_cli.kinds import batch

    return batch.normalize(items, provider, warnings)


def batch_head(head: bytes) -> bool:
    """Whether the first bytes of a stream are those of a batch result file (prettify --follow reads it whole)."""
    import orjson

    first = head.split(b"\n", 1)[0]
    try:
        return is_batch_line(orjson.loads(first))
    except orjson.JSONDecodeError:
        return False
