"""Model lists -> a document (kind `models`): one entry per model in aimux_cli.models' field names.

Shapes (api names in brackets): OpenAI-style `{"object": "list", "data": [{"object": "model", "id", ...}]}` and
one model object (openai.models; OpenRouter's `{"data": [{"id", "context_length", "pricing", ...}]}` and
Together's bare list too), Anthropic `{"data": [{"type": "model", "id", "display_name", "created_at"}],
"has_more", "first_id", "last_id"}` (anthropic.models), Gemini `{"models": [{"name": "models/...",
"inputTokenLimit", ...}], "nextPageToken"}` (gemini.models), Ollama `/api/tags` and `/api/ps`
`{"models": [{"name", "size", "details"}]}` (ollama.tags), Bedrock `{"modelSummaries": [...]}` (bedrock.models).

The entries are made by aimux_cli.models.entry, as `aimux models` makes them (one normalization, two commands);
`next_page` is the query of the following page when the provider says there is one.
"""

from __future__ import annotations

from typing import Any

from aimux_cli.kinds import KindDocument

_VENDORS = {"openai.models": "openai", "anthropic.models": "anthropic", "gemini.models": "gemini",
            "ollama.tags": "ollama", "bedrock.models": "bedrock"}
# the wire whose naming rules aimux_cli.models.entry applies (Gemini's `models/` prefix)
_WIRES = {"openai.models": "openai.chat", "anthropic.models": "anthropic.messages",
          "gemini.models": "gemini.generate", "ollama.tags": "ollama.chat", "bedrock.models": "bedrock.converse"}


def detect(value: Any) -> str | None:
    """The api of a model list (or of one OpenAI-style model object), or None."""
    if isinstance(value, list):
        return "openai.models" if value and isinstance(value[0], dict) and value[0].get("object") == "model" \
            and "id" in value[0] else None
    if value.get("object") == "model" and isinstance(value.get("id"), str):
        return "openai.models"
    data = value.get("data")
    if isinstance(data, list) and data and isinstance(data[0], dict) and isinstance(data[0].get("id"), str):
        first = data[0]
        if first.get("type") == "model":
            return "anthropic.models"
        if first.get("object") == "model" or "context_length" in first or "pricing" in first:
            return "openai.models"
        return None
    models = value.get("models")
    if isinstance(models, list) and models and isinstance(models[0], dict):
        first = models[0]
        name = first.get("name")
        if isinstance(name, str) and (name.startswith(("models/", "tunedModels/"))
                                      or "supportedGenerationMethods" in first):
            return "gemini.models"
        if isinstance(name, str) and ("digest" in first or "details" in first or "modified_at" in first):
            return "ollama.tags"
        return None
    summaries = value.get("modelSummaries")
    if isinstance(summaries, list) and summaries and isinstance(summaries[0], dict) and "modelId" in summaries[0]:
        return "bedrock.models"
    return None


def normalize(value: Any, provider: str | None = None) -> KindDocument | None:
    from aimux_cli.models import entry, page

    api = detect(value)
    if api is None:
        return None
    if isinstance(value, dict) and value.get("object") == "model":
        raws, cursor = [value], None
    else:
        raws, cursor = page(value)
    warnings: list[str] = []
    entries = []
    for n, raw in enumerate(raws or ()):
        item = entry(_WIRES[api], raw) if isinstance(raw, dict) else {"id": None}
        if item.get("id"):
            entries.append(item)
        else:
            warnings.append(f"model {n}: no id; left out")
    fields: dict[str, Any] = {"count": len(entries), "models": entries}
    if cursor:
        fields["next_page"] = cursor
    vendor = provider or _VENDORS[api]
    if provider is None and api == "openai.models" and any("pricing" in e for e in entries):
        vendor = None  # OpenRouter, Together...: an OpenAI-style list, not OpenAI's
    return KindDocument("models", api, vendor, fields, warnings=warnings)
