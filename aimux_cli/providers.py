"""The built-in provider catalog: one data row per provider, no behaviour.

A row says where a provider lives (`base_url`), which wire format it speaks (`wire`), where its key comes from
(`key_env`), how the key is sent (`auth`), which model to use when none is asked for, and any extra headers.
OpenAI-compatible services are rows pointing at the `openai.chat` wire; they get no code of their own.

`base_url` is everything before the wire's endpoint path (request.py appends `/chat/completions`, `/messages`,
`/models/{model}:generateContent`, `/api/chat` or `/v2/chat`). A base URL may hold `{project}` and `{location}`:
they are filled in when the provider is resolved, from GOOGLE_CLOUD_PROJECT and GOOGLE_CLOUD_LOCATION (Vertex AI,
see `expand_base_url`). Sources for every value are cited in docs/providers.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Wire = Literal["openai.chat", "openai.responses", "anthropic.messages", "gemini.generate", "ollama.chat",
               "cohere.chat"]
Auth = Literal["bearer", "x-api-key", "x-goog-api-key", "none"]

WIRES: tuple[str, ...] = ("openai.chat", "openai.responses", "anthropic.messages", "gemini.generate", "ollama.chat",
                          "cohere.chat")
WIRES += ("bedrock.converse",)  # AWS Bedrock Converse (request_bedrock.py)
AUTH_STYLES: tuple[str, ...] = ("bearer", "x-api-key", "x-goog-api-key", "none")

# How each wire format sends its key when a row (or a config table) does not say otherwise.
DEFAULT_AUTH: dict[str, str] = {
    "openai.chat": "bearer",
    "openai.responses": "bearer",
    "anthropic.messages": "x-api-key",
    "gemini.generate": "x-goog-api-key",
    "ollama.chat": "none",
    "bedrock.converse": "bearer",  # a Bedrock API key (AWS_BEARER_TOKEN_BEDROCK)
    "cohere.chat": "bearer",
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
    key_env_also: tuple[str, ...] = ()  # other variables read, in order, when key_env is unset (Cohere's two names)
    key_cmd: tuple[str, ...] = ()  # the key command when no variable holds a key and the config names none


def _row(name: str, wire: str, base_url: str, key_env: str | None, model: str, **extra: object) -> ProviderRow:
    auth = str(extra.pop("auth", DEFAULT_AUTH[wire]))
    headers = dict(extra.pop("headers", {}))  # type: ignore[call-overload]
    also = tuple(extra.pop("key_env_also", ()))  # type: ignore[call-overload]
    cmd = tuple(extra.pop("key_cmd", ()))  # type: ignore[call-overload]
    return ProviderRow(name, wire, base_url, key_env, model, headers, auth, also, cmd)


VERTEX_BASE_URL = ("https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/{location}"
                   "/publishers/google")
VERTEX_DEFAULT_LOCATION = "global"
_PLACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")  # a project id (also "example.com:proj") or a location


def expand_base_url(url: str, env: Mapping[str, str]) -> str:
    """`url` with `{project}` and `{location}` filled from GOOGLE_CLOUD_PROJECT and GOOGLE_CLOUD_LOCATION (default
    `global`, whose host has no location prefix: `aiplatform.googleapis.com`). ValueError (a message for people)
    when the project is not set or a value is not a plain name."""
    if "{project}" not in url and "{location}" not in url:
        return url
    values = {"project": env.get("GOOGLE_CLOUD_PROJECT", "").strip(),
              "location": env.get("GOOGLE_CLOUD_LOCATION", "").strip() or VERTEX_DEFAULT_LOCATION}
    for key, value in values.items():
        variable = f"GOOGLE_CLOUD_{key.upper()}"
        if not value:
            raise ValueError(f"set {variable} (or base_url in the config file)")
        if not _PLACE.fullmatch(value):
            raise ValueError(f"{variable} is not a plain {key} name")
    if values["location"] == "global":
        url = url.replace("{location}-aiplatform.", "aiplatform.")
    return url.replace("{project}", values["project"]).replace("{location}", values["location"])


BEDROCK_BASE_URL = "https://bedrock-runtime.{region}.amazonaws.com"
_REGION = re.compile(r"[a-z]{2,}(?:-[a-z0-9]+)+")  # us-east-1, eu-central-2, us-gov-west-1


def expand_region(url: str, env: Mapping[str, str]) -> str:
    """`url` with `{region}` filled from AWS_REGION, else AWS_DEFAULT_REGION (AWS Bedrock). ValueError (a message
    for people) when neither is set or the value is not a region name."""
    region = env.get("AWS_REGION", "").strip() or env.get("AWS_DEFAULT_REGION", "").strip()
    if not region:
        raise ValueError("its base URL needs an AWS region: set AWS_REGION (or base_url in the config file)")
    if not _REGION.fullmatch(region):
        raise ValueError("AWS_REGION is not a region name (like us-east-1)")
    return url.replace("{region}", region)


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
        # AWS Bedrock Converse with a Bedrock API key; the region from AWS_REGION (expand_region)
        _row("bedrock", "bedrock.converse", BEDROCK_BASE_URL, "AWS_BEARER_TOKEN_BEDROCK",
             "amazon.nova-lite-v1:0"),
        # Cohere's own v2 API (not its OpenAI compatibility layer): citations, tool plans and billed units stay
        _row("cohere", "cohere.chat", "https://api.cohere.com", "CO_API_KEY", "command-a-03-2025",
             key_env_also=("COHERE_API_KEY",)),
        _row("mistral", "openai.chat", "https://api.mistral.ai/v1", "MISTRAL_API_KEY", "mistral-small-latest"),
        # Gemini on Vertex AI: an OAuth access token from gcloud, the project and location from the environment
        _row("vertex", "gemini.generate", VERTEX_BASE_URL, None, "gemini-2.5-flash", auth="bearer",
             key_cmd=("gcloud", "auth", "print-access-token")),
    )
}


def known_names(extra: object = ()) -> list[str]:
    """Sorted provider names: the catalog plus any extra names (from a config file)."""
    return sorted(set(CATALOG) | set(extra))  # type: ignore[arg-type]
