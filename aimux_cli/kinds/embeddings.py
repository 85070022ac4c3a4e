"""Embeddings responses -> a summary document (kind `embeddings`): count, dimensions, L2 norms, usage; no floats.

Shapes (api names in brackets):
- OpenAI and Mistral (openai.embeddings): `{"object": "list", "data": [{"object": "embedding", "index",
  "embedding": [...] | "base64..."}], "model", "usage": {"prompt_tokens", "total_tokens"}}`; with
  `encoding_format: base64` each embedding is the base64 of little-endian float32 values.
- Gemini (gemini.embed): batchEmbedContents `{"embeddings": [{"values": [...]}]}`, embedContent
  `{"embedding": {"values": [...]}}`. Vertex AI's text-embedding predict (vertex.embed): `{"predictions":
  [{"embeddings": {"values": [...], "statistics": {"token_count", "truncated"}}}], "metadata"}`.
- Cohere (cohere.embed): v2 `{"id", "embeddings": {"float": [[...]], "int8": ..., ...}, "texts",
  "meta": {"billed_units"}, "response_type": "embeddings_by_type"}`, v1 `embeddings_floats` (a list of lists).
- Ollama (ollama.embed): `/api/embed` `{"model", "embeddings": [[...]], "total_duration", "load_duration",
  "prompt_eval_count"}`; legacy `/api/embeddings` `{"embedding": [...]}` (ollama.embeddings).

The document lists the first SHOWN vectors (index, norm, the first HEAD values, Cohere's input text) and
summarizes all of them (count, dimensions, norm min/mean/max); the vectors themselves, as sent, are written only by
`-f json` (KindDocument.vectors). A vector that is not a list of numbers (or not valid base64) gets no norm and a
warning. Linear in the input; the vectors are not copied.
"""

from __future__ import annotations

import math
from typing import Any

from aimux_cli.kinds import KindDocument

SHOWN = 5  # vectors listed one by one; the rest are counted
HEAD = 3  # first values of each listed vector
TEXT_CHARS = 60
COHERE_TYPES = ("float", "int8", "uint8", "binary", "ubinary", "base64")


def detect(value: dict) -> str | None:
    """The api of an embeddings body, or None."""
    data = value.get("data")
    if value.get("object") == "list" and isinstance(data, list) and data and isinstance(data[0], dict):
        return "openai.embeddings" if data[0].get("object") == "embedding" or "embedding" in data[0] else None
    many = value.get("embeddings")
    if isinstance(many, list) and many:
        first = many[0]
        if isinstance(first, dict):
            return "gemini.embed" if "values" in first else None
        if isinstance(first, list):
            return "cohere.embed" if "texts" in value or value.get("response_type") == "embeddings_floats" \
                else "ollama.embed"
        return None
    if isinstance(many, dict) and value.get("response_type") == "embeddings_by_type" or \
            isinstance(many, dict) and any(isinstance(many.get(t), list) for t in COHERE_TYPES):
        return "cohere.embed"
    predictions = value.get("predictions")
    if isinstance(predictions, list) and predictions and isinstance(predictions[0], dict) and \
            isinstance(predictions[0].get("embeddings"), dict) and "values" in predictions[0]["embeddings"]:
        return "vertex.embed"
    one = value.get("embedding")
    if isinstance(one, dict) and isinstance(one.get("values"), list):
        return "gemini.embed"
    if isinstance(one, list) and len(value) <= 3:  # legacy Ollama: the vector alone
        return "ollama.embeddings"
    return None


_VENDORS = {"openai.embeddings": "openai", "gemini.embed": "gemini", "vertex.embed": "vertex", "cohere.embed": "cohere",
            "ollama.embed": "ollama", "ollama.embeddings": "ollama"}


def normalize(value: dict, provider: str | None = None) -> KindDocument | None:
    api = detect(value)
    if api is None:
        return None
    warnings: list[str] = []
    encoding, others, texts = "float", {}, None
    fields: dict[str, Any] = {}
    if api == "openai.embeddings":
        items = [d for d in value["data"] if isinstance(d, dict)]
        indexes = [d.get("index") if _is_int(d.get("index")) else n for n, d in enumerate(items)]
        vectors = [d.get("embedding") for d in items]
        if vectors and all(isinstance(v, str) for v in vectors):
            encoding = "base64"
        if isinstance(value.get("id"), str):
            fields["id"] = value["id"]
    elif api == "gemini.embed":
        raw = value["embeddings"] if "embeddings" in value else [value["embedding"]]
        vectors = [e.get("values") if isinstance(e, dict) else None for e in raw]
        indexes = list(range(len(vectors)))
    elif api == "vertex.embed":
        raw = [p.get("embeddings") if isinstance(p, dict) else None for p in value["predictions"]]
        vectors = [e.get("values") if isinstance(e, dict) else None for e in raw]
        indexes = list(range(len(vectors)))
        counts = [e.get("statistics", {}).get("token_count") for e in raw
                  if isinstance(e, dict) and isinstance(e.get("statistics"), dict)]
        if counts and all(_is_int(c) for c in counts):
            value = {**value, "usage": {"input_tokens": sum(counts)}}  # read by _usage below
    elif api == "cohere.embed":
        many = value["embeddings"]
        if isinstance(many, dict):
            present = [t for t in many if isinstance(many[t], list)]
            encoding = "float" if "float" in present else (present[0] if present else "float")
            vectors = many.get(encoding) if isinstance(many.get(encoding), list) else []
            others = {t: many[t] for t in present if t != encoding}
        else:
            vectors = many
        indexes = list(range(len(vectors)))
        texts = value.get("texts") if isinstance(value.get("texts"), list) else None
        if isinstance(value.get("id"), str):
            fields["id"] = value["id"]
    else:
        vectors = value["embeddings"] if api == "ollama.embed" else [value["embedding"]]
        indexes = list(range(len(vectors)))
    fields.update(_summary(vectors, indexes, encoding, list(others), texts, warnings))
    _usage(value, api, fields)
    kept = {"vectors": vectors, **({"other_vectors": others} if others else {})}
    model = value.get("model") if isinstance(value.get("model"), str) else None
    return KindDocument("embeddings", api, provider or _VENDORS[api], fields, model=model, warnings=warnings,
                        vectors=kept)


def _summary(vectors: list, indexes: list, encoding: str, others: list[str], texts: list | None,
             warnings: list[str]) -> dict:
    dims: set[int] = set()
    norms: list[float] = []
    shown: list[dict] = []
    for n, vector in enumerate(vectors):
        values = _values(vector, encoding)
        if values is None:
            what = "valid base64 of float32 values" if encoding == "base64" else "a list of numbers"
            warnings.append(f"embedding {indexes[n]}: not {what}; no norm")
            norm = None
        else:
            dims.add(len(values) * (8 if encoding in ("binary", "ubinary") else 1))
            norm = _norm(values, encoding)
            if norm is None:
                warnings.append(f"embedding {indexes[n]}: not a list of numbers; no norm")
            else:
                norms.append(norm)
        if n < SHOWN:
            entry: dict[str, Any] = {"index": indexes[n], "norm": None if norm is None else round(norm, 6)}
            if values is not None and len(dims) > 1:
                entry["dimensions"] = len(values)
            if values is not None:
                entry["head"] = [_short(x) for x in values[:HEAD]]
            if texts is not None and n < len(texts) and isinstance(texts[n], str):
                text = texts[n]
                entry["text"] = text if len(text) <= TEXT_CHARS else text[:TEXT_CHARS - 1] + "…"
            shown.append(entry)
    out: dict[str, Any] = {"count": len(vectors)}
    out["dimensions"] = next(iter(dims)) if len(dims) == 1 else ({"min": min(dims), "max": max(dims)} if dims
                                                                  else None)
    out["encoding"] = encoding
    if others:
        out["other_encodings"] = others
    if norms:
        out["norm"] = {"min": round(min(norms), 6), "mean": round(math.fsum(norms) / len(norms), 6),
                       "max": round(max(norms), 6)}
    out["embeddings"] = shown
    if len(vectors) > SHOWN:
        out["not_shown"] = len(vectors) - SHOWN
    return out


def _values(vector: Any, encoding: str) -> Any:
    """The numbers of one vector (a list, or an array decoded from base64), or None when it has none."""
    if isinstance(vector, list):
        return vector
    if isinstance(vector, str) and encoding == "base64":
        import base64
        import binascii
        import sys
        from array import array

        try:
            raw = base64.b64decode(vector, validate=True)
        except (binascii.Error, ValueError):
            return None
        if len(raw) % 4:
            return None
        values = array("f")
        values.frombytes(raw)
        if sys.byteorder == "big":
            values.byteswap()
        return values
    return None


def _norm(values: Any, encoding: str) -> float | None:
    if encoding in ("binary", "ubinary"):  # packed bits: the norm of the 0/1 vector
        try:
            return math.sqrt(sum(int(x).bit_count() for x in values))
        except (TypeError, ValueError, OverflowError):
            return None
    try:
        norm = math.hypot(*values)
    except (TypeError, ValueError, OverflowError):  # a string, a list, a bool-less mess, a huge integer
        return None
    return norm if math.isfinite(norm) else None


def _short(x: Any) -> Any:
    if isinstance(x, float):
        return round(x, 6)
    return x if isinstance(x, (int, str, bool)) or x is None else None


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _usage(value: dict, api: str, fields: dict) -> None:
    usage: dict[str, int] = {}
    raw = value.get("usage") if isinstance(value.get("usage"), dict) else {}
    for source, key in (("prompt_tokens", "input_tokens"), ("input_tokens", "input_tokens"),
                        ("total_tokens", "total_tokens")):
        if _is_int(raw.get(source)) and key not in usage:
            usage[key] = raw[source]
    if _is_int(value.get("prompt_eval_count")):  # Ollama
        usage["input_tokens"] = value["prompt_eval_count"]
    meta = value.get("meta") if isinstance(value.get("meta"), dict) else {}
    billed = meta.get("billed_units")
    if isinstance(billed, dict) and billed:  # Cohere: what was billed, as the cohere.chat wire puts it in `cost`
        if _is_int(billed.get("input_tokens")):
            usage.setdefault("input_tokens", billed["input_tokens"])
    if usage:
        fields["usage"] = usage
    timing = {key: round(value[src] / 1e9, 6) for src, key in (("load_duration", "load_s"),
                                                                ("total_duration", "total_s"))
              if _is_int(value.get(src))}
    if timing:
        fields["timing"] = timing
    if isinstance(billed, dict) and billed:
        fields["cost"] = {"billed_units": billed}
