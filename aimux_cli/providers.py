"""The built-in provider catalog: one data row per provider, no behaviour.

A row says where a provider lives (`base_url`), which wire format it speaks (`wire`), where its key comes from
(`key_env`), how the key is sent (`auth`), which model to use when none is asked for, and any extra headers.
OpenAI-compatible services are rows pointing at the `openai.chat` wire; they get no code of their own.

`base_url` is everything before the wire's endpoint path (request.py appends `/chat/completions`, `/messages`,
`/models/{model}:generateContent` or `/api/chat`). Sources for every value are cited in docs/providers.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Wire = Literal["openai.chat", "openai.responses", "anthropic.messages", "gemini.generate", "ollama.chat"]
Auth = Literal["bearer", "x-api-key", "x-goog-api-key", "none"]

WIRES: tuple[str, ...] = ("openai.chat", "openai.responses", "anthropic.messages", "gemini.generate", "ollama.chat")
AUTH_STYLES: tuple[str, ...] = ("bearer", "x-api-key", "x-goog-api-key", "none")

# How each wire format sends its key when a row (or a config table) does not say otherwise.
DEFAULT_AUTH: dict[str, str] = {
    "openai.chat": "bearer",
    "openai.responses": "bearer",
    "anthropic.messages": "x-api-key",
    "gemini.generate": "x-goog-api-key",
    "ollama.chat": "none",
}


@dataclass(frozen=True)
class ProviderRow:
    """One provider of the catalog (or of the config file)."""

    name: str  # the name users type after --provider
    wire: str  # one of WIRES
    base_url: str  # scheme://host[/prefix], no trailing slash; the wire's endpoint path is appended
    key_env: str | None  # environment variable holding the API key; None when the provider needs no key
    default_model: str  # model used when neither --model nor the config names one ("" = must be given)
    headers: dict[str, str] = field(default_factory=dict)  # extra request headers (lower-case names)
    auth: str = "bearer"  # one of AUTH_STYLES: how the key is sent


def _row(name: str, wire: str, base_url: str, key_env: str | None, model: str, **extra: object) -> ProviderRow:
    auth = str(extra.pop("auth", DEFAULT_AUTH[wire]))
    headers = dict(extra.pop("headers", {}))  # type: ignore[call-overload]
    return ProviderRow(name, wire, base_url, key_env, model, headers, auth)


CATALOG: dict[str, ProviderRow] = {
    row.name: row
    for row in (
        _row("cerebras", "openai.chat", "https://api.cerebras.ai/v1", "CEREBRAS_API_KEY", "gpt-oss-120b"),
        _row("openai", "openai.chat", "https://api.openai.com/v1", "OPENAI_API_KEY", "gpt-4.1-mini"),
        _row("anthropic", "anthropic.messages", "https://api.anthropic.com/v1", "ANTHROPIC_API_KEY", "claude-sonnet-4-5"),
        _row(
            "synthetic",
            "openai.chat",
            "https://api.synthetic.new/openai/v1",
            "SYNTHETIC_API_KEY",
            "hf:deepseek-ai/DeepSeek-V3.2",
        ),
        _row("nanogpt", "openai.chat", "https://nano-gpt.com/api/v1", "NANOGPT_API_KEY", "openai/gpt-5.2"),
        _row("groq", "openai.chat", "https://api.groq.com/openai/v1", "GROQ_API_KEY", "llama-3.3-70b-versatile"),
        _row(
            "openrouter",
            "openai.chat",
            "https://openrouter.ai/api/v1",
            "OPENROUTER_API_KEY",
            "openai/gpt-4.1-mini",
            headers={"x-title": "aimux"},  # optional app attribution that OpenRouter documents
        ),
        _row("deepseek", "openai.chat", "https://api.deepseek.com", "DEEPSEEK_API_KEY", "deepseek-v4-flash"),
        _row(
            "gemini",
            "gemini.generate",
            "https://generativelanguage.googleapis.com/v1beta",
            "GEMINI_API_KEY",
            "gemini-2.5-flash",
        ),
        _row("ollama", "ollama.chat", "http://localhost:11434", None, "llama3.2"),
    )
}


def known_names(extra: object = ()) -> list[str]:
    """Sorted provider names: the catalog plus any extra names (from a config file)."""
    return sorted(set(CATALOG) | set(extra))  # type: ignore[arg-type]
