"""Model lists: a provider's list endpoint, every page of it -> one entry per model, the same fields for every wire.

    models = await list_models(session, resolved, timeout)     # [{"id": ..., "context_length": ...}, ...]

Endpoints (request.models_request): `GET {base}/models` for openai.chat and openai.responses (and every
OpenAI-compatible provider), Anthropic's `GET /v1/models?limit=1000` followed by `after_id=last_id` while
`has_more`, Gemini's `GET /v1beta/models?pageSize=1000` followed by `pageToken=nextPageToken`, and Ollama's
`GET /api/tags`, and Bedrock's `GET https://bedrock.{region}.amazonaws.com/foundation-models` (`modelSummaries`:
modelId, modelName, providerName). At most MAX_PAGES pages; a page that repeats its cursor ends the walk.

An entry (`entry(wire, raw)`) keeps what the provider reports, under one set of names, absent when not reported:
id (Gemini's `models/` prefix removed), name (a display name), created (ISO 8601 UTC), owned_by, context_length
(OpenRouter and Together `context_length`, Groq `context_window`, Gemini `inputTokenLimit`, Ollama's
`details.context_length` when given), max_output_tokens (Gemini `outputTokenLimit`, OpenRouter
`top_provider.max_completion_tokens`), pricing (OpenRouter-style `pricing` as sent: prices per token, as strings),
size (Ollama, bytes), parameter_size and quantization (Ollama `details`). Pure but for `list_models`, whose only
network access is the client.py session it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aimux_cli.errors import ProviderError

if TYPE_CHECKING:
    from aimux_cli.client_async import AsyncSession
    from aimux_cli.config import ResolvedProvider

MAX_PAGES = 50
PAGE_SIZE = 1000  # the largest page Anthropic and Gemini serve

_FIRST_PAGE = {"anthropic.messages": {"limit": str(PAGE_SIZE)}, "gemini.generate": {"pageSize": str(PAGE_SIZE)}}


async def list_models(session: AsyncSession, resolved: ResolvedProvider, timeout: float) -> list[dict[str, Any]]:
    """Every model the provider lists, in its order; AimuxError (with the provider's status) when it fails."""
    from dataclasses import replace

    import orjson

    from aimux_cli.request import models_request

    base = models_request(resolved)
    query: dict[str, str] = dict(_FIRST_PAGE.get(resolved.wire, {}))
    models: list[dict[str, Any]] = []
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        url = f"{base.url}{'&' if '?' in base.url else '?'}{urlencode(query)}" if query else base.url
        response = await session.send(replace(base, url=url), timeout=timeout, retries=1)
        try:
            body = orjson.loads(response.body)
        except orjson.JSONDecodeError:
            raise ProviderError(f"{resolved.name}: the model list is not JSON ({len(response.body)} bytes)") from None
        raws, cursor = page(body)
        if raws is None:
            raise ProviderError(f"{resolved.name}: the model list has an unknown shape")
        models += [entry(resolved.wire, raw) for raw in raws if isinstance(raw, dict)]
        if not cursor or repr(cursor) in seen:
            break
        seen.add(repr(cursor))
        query = {**_FIRST_PAGE.get(resolved.wire, {}), **cursor}
    return [m for m in models if m.get("id")]


def page(body: Any) -> tuple[list | None, dict[str, str] | None]:
    """The raw model objects of one page and the query of the next one ((None, None) for an unknown shape)."""
    if not isinstance(body, dict):
        return (body, None) if isinstance(body, list) else (None, None)  # a bare list: some local servers
    if isinstance(body.get("data"), list):
        more = body.get("has_more") is True and isinstance(body.get("last_id"), str) and body["last_id"]
        return body["data"], ({"after_id": body["last_id"]} if more else None)
    if isinstance(body.get("modelSummaries"), list):  # AWS Bedrock's ListFoundationModels: one page
        return body["modelSummaries"], None
    if isinstance(body.get("models"), list):
        token = body.get("nextPageToken")
        return body["models"], ({"pageToken": token} if isinstance(token, str) and token else None)
    return None, None


def entry(wire: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """One model, in the common field names (see the module docstring)."""
    ident = _str(raw.get("id")) or _str(raw.get("modelId")) or _str(raw.get("name")) or _str(raw.get("model"))
    if wire == "gemini.generate" and ident:
        ident = ident.removeprefix("models/")
    details = raw.get("details") if isinstance(raw.get("details"), dict) else {}
    top = raw.get("top_provider") if isinstance(raw.get("top_provider"), dict) else {}
    out: dict[str, Any] = {"id": ident}
    name = _str(raw.get("display_name")) or _str(raw.get("displayName")) or _str(raw.get("modelName"))
    if name is None and raw.get("id") and raw.get("name") and raw.get("name") != raw.get("id"):
        name = _str(raw.get("name"))  # OpenRouter: id is the slug, name the display name
    fields = {
        "name": name,
        "created": _time(raw.get("created")) or _str(raw.get("created_at")) or _str(raw.get("modified_at")),
        "owned_by": _str(raw.get("owned_by")) or _str(raw.get("providerName")),
        "context_length": _int(raw.get("context_length")) or _int(raw.get("context_window"))
        or _int(raw.get("inputTokenLimit")) or _int(details.get("context_length")),
        "max_output_tokens": _int(raw.get("outputTokenLimit")) or _int(top.get("max_completion_tokens")),
        "pricing": raw.get("pricing") if isinstance(raw.get("pricing"), dict) and raw.get("pricing") else None,
        "size": _int(raw.get("size")),
        "parameter_size": _str(details.get("parameter_size")),
        "quantization": _str(details.get("quantization_level")),
    }
    out.update({k: v for k, v in fields.items() if v is not None})
    return out


def matches(model: Mapping[str, Any], provider: str, needle: str) -> bool:
    """-q: a case-insensitive substring of `provider/id` or of the display name."""
    needle = needle.lower()
    return needle in f"{provider}/{model.get('id', '')}".lower() or needle in str(model.get("name", "")).lower()


def per_million(price: Any) -> str:
    """An OpenRouter per-token price ("0.000003") as dollars per million tokens ("3"); "" when not a number."""
    try:
        value = float(price) * 1_000_000
    except (TypeError, ValueError):
        return ""
    return f"{value:.4f}".rstrip("0").rstrip(".") if value >= 0 else ""


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _time(value: Any) -> str | None:
    """A Unix time in seconds (OpenAI's `created`) as ISO 8601 UTC."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value < 32503680000:
        return None
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(value))
