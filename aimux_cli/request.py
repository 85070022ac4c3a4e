"""Build the HTTP request for a resolved provider: ResolvedProvider + prompt -> PreparedRequest. Pure, no I/O.

One builder per wire format (`openai.chat`, `openai.responses`, `anthropic.messages`, `gemini.generate`,
`ollama.chat`), plus `models_request` for each wire's model-list endpoint. Headers are merged in this order, later
wins: wire defaults < the provider row and config headers < the auth header.

Secrets: a PreparedRequest holds the key in its headers, so its repr shows the URL without userinfo or query and
the headers with every credential replaced. Building a request registers its secrets (the key and the values of
credential headers) with `aimux_cli.redact`, whose scrub every printed string passes; `redact`, `redact_bytes`,
`redact_headers` and `safe_url` are the helpers for messages (errors, --debug).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

from aimux_cli import __version__
from aimux_cli import redact as registry
from aimux_cli import request_bedrock
from aimux_cli import request_more

if TYPE_CHECKING:
    from aimux_cli.config import ResolvedProvider

DEFAULT_ANTHROPIC_MAX_TOKENS = 4096  # the Messages API requires max_tokens; this fits every current model
ANTHROPIC_VERSION = "2023-06-01"
REDACTED = "[REDACTED]"
USER_AGENT = f"aimux/{__version__}"

# Header names whose values are credentials; any name containing one of the words below is treated the same way.
_SECRET_HEADERS = {"authorization", "proxy-authorization", "x-api-key", "x-goog-api-key", "api-key", "cookie"}
_SECRET_WORDS = ("key", "token", "secret", "auth", "password")
# Providers whose newer models reject `max_tokens` and want `max_completion_tokens` instead.
_MAX_COMPLETION_TOKENS = {"openai"}
# Providers that refuse `stream_options` (Mistral: 422 extra_forbidden) and send the usage chunk without it.
_NO_STREAM_OPTIONS = {"mistral"}


@dataclass(frozen=True)
class PreparedRequest:
    """An HTTP request ready for client.py; its repr never shows a credential."""

    method: str  # "POST" or "GET"
    url: str  # absolute URL; never carries the key (Gemini's key goes in a header)
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names, includes the auth header
    json_body: Any = None  # the JSON document to send, or None for GET
    stream: bool = False  # whether the response is a stream (SSE or NDJSON)
    provider: str = ""  # provider name, for error messages
    secrets: tuple[str, ...] = ()  # values to scrub from anything printed about this request

    def __repr__(self) -> str:
        return (
            f"PreparedRequest(method={self.method!r}, url={safe_url(self.url)!r}, "
            f"headers={redact_headers(self.headers)!r}, stream={self.stream!r}, provider={self.provider!r})"
        )

    __str__ = __repr__


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every registered secret and every one of `secrets` (at least 4 characters), in plain, escaped or
    URL-encoded form, replaced by [REDACTED] (see aimux_cli.redact)."""
    registry.register(*secrets)
    return registry.scrub(text)


def redact_bytes(data: bytes, secrets: Iterable[str | None] = ()) -> bytes:
    """Like `redact`, for bytes (provider error bodies sometimes echo the key back)."""
    registry.register(*secrets)
    return registry.scrub_bytes(data)


def is_secret_header(name: str) -> bool:
    """Whether a header's value must never be printed."""
    lower = name.lower()
    return lower in _SECRET_HEADERS or any(word in lower for word in _SECRET_WORDS)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of `headers` with every credential value replaced by [REDACTED]."""
    return {k: (REDACTED if is_secret_header(k) else v) for k, v in headers.items()}


def safe_url(url: str) -> str:
    """`url` without userinfo, query string or fragment: what may be printed about where a request went."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port  # raises for a port that is not a number or out of range
    except ValueError:
        return "<invalid url>"
    if ":" in host:  # an IPv6 literal needs its brackets back
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def auth_headers(auth: str, key: str | None) -> dict[str, str]:
    """The header that carries `key` for an auth style; empty when there is no key or the style is "none"."""
    if not key or auth == "none":
        return {}
    if auth == "bearer":
        return {"authorization": f"Bearer {key}"}
    return {auth: key}  # "x-api-key" and "x-goog-api-key" are header names


def build(
    resolved: ResolvedProvider,
    *,
    messages: Sequence[Mapping[str, str]] | None = None,
    prompt: str | None = None,
    system: str | None = None,
    model: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    stream: bool = True,
) -> PreparedRequest:
    """The generation request for `resolved`'s wire format; give `messages` or `prompt` (a single user turn)."""
    turns = _turns(messages, prompt)
    system_text = _system_text(system, turns)
    turns = [t for t in turns if t["role"] != "system"]
    args = _Args(model or resolved.model, turns, system_text, temperature, max_tokens, stream)
    try:
        builder = _BUILDERS[resolved.wire]
    except KeyError:
        raise ValueError(f"unknown wire format {resolved.wire!r}") from None
    path, body, wire_headers = builder(args, resolved)
    accept = {"accept": "text/event-stream"} if stream and resolved.wire != "ollama.chat" else {}
    headers = _headers(resolved, {**accept, **wire_headers})
    return PreparedRequest("POST", join_url(resolved.base_url, path), headers, body, stream, resolved.name,
                           _secrets(resolved))


def models_request(resolved: ResolvedProvider) -> PreparedRequest:
    """The GET request listing the models a provider serves (test-providers uses it)."""
    if resolved.wire == "bedrock.converse":  # another host: Bedrock's control plane
        return PreparedRequest("GET", request_bedrock.models_url(resolved.base_url), _headers(resolved, {}),
                               None, False, resolved.name, _secrets(resolved))
    path = request_more.MODEL_LIST_PATHS.get(resolved.wire) or ("/api/tags" if resolved.wire == "ollama.chat"
                                                                else "/models")
    extra = {"anthropic-version": ANTHROPIC_VERSION} if resolved.wire == "anthropic.messages" else {}
    headers = _headers(resolved, extra)
    return PreparedRequest("GET", join_url(resolved.base_url, path), headers, None, False, resolved.name,
                           _secrets(resolved))


def join_url(base_url: str, path: str) -> str:
    """The base URL with the endpoint path appended; a query on the base (Azure's `?api-version=…`) stays a query,
    after the path's own (`?alt=sse`)."""
    base, _, base_query = base_url.partition("?")
    path, _, path_query = path.partition("?")
    query = "&".join(q for q in (path_query, base_query) if q)
    return base.rstrip("/") + path + (f"?{query}" if query else "")


@dataclass(frozen=True)
class _Args:
    model: str
    turns: list[dict[str, str]]
    system: str | None
    temperature: float | None
    max_tokens: int | None
    stream: bool


def _turns(messages: Sequence[Mapping[str, str]] | None, prompt: str | None) -> list[dict[str, str]]:
    if (messages is None) == (prompt is None):
        raise ValueError("give exactly one of messages= or prompt=")
    if prompt is not None:
        return [{"role": "user", "content": prompt}]
    turns = []
    for msg in messages or ():
        role, content = msg.get("role"), msg.get("content")
        if role not in ("system", "user", "assistant") or not isinstance(content, str):
            raise ValueError(f"a message needs role system/user/assistant and string content, got {msg!r}")
        turns.append({"role": role, "content": content})
    return turns


def _system_text(system: str | None, turns: list[dict[str, str]]) -> str | None:
    # Wires with a top-level system field get every system text joined; openai.chat and ollama re-insert it.
    parts = [system] if system else []
    parts += [t["content"] for t in turns if t["role"] == "system"]
    return "\n\n".join(parts) if parts else None


def _headers(resolved: ResolvedProvider, wire_headers: Mapping[str, str]) -> dict[str, str]:
    headers = {"content-type": "application/json", "user-agent": USER_AGENT, **wire_headers}
    headers.update({k.lower(): v for k, v in resolved.headers.items()})
    headers.update(auth_headers(resolved.auth, resolved.api_key))
    return headers


def _secrets(resolved: ResolvedProvider) -> tuple[str, ...]:
    """The key and the values of credential headers and URL query parameters, registered for scrubbing."""
    values = [resolved.api_key] if resolved.api_key else []
    values += [v for k, v in resolved.headers.items() if is_secret_header(k) and v]
    if "?" in resolved.base_url:  # a credential in the base URL's query (`?key=…`, a signed URL's `sig=…`)
        from urllib.parse import parse_qsl

        query = resolved.base_url.partition("?")[2].partition("#")[0]
        values += [v for k, v in parse_qsl(query) if v and (is_secret_header(k) or k.lower() in ("sig", "signature"))]
    registry.register(*values)
    return tuple(values)


def _chat_messages(args: _Args) -> list[dict[str, str]]:
    head = [{"role": "system", "content": args.system}] if args.system else []
    return head + args.turns


def _openai_chat(args: _Args, resolved: ResolvedProvider) -> tuple[str, dict, dict]:
    body: dict[str, Any] = {"model": args.model, "messages": _chat_messages(args), "stream": args.stream}
    if args.stream and resolved.name not in _NO_STREAM_OPTIONS:
        body["stream_options"] = {"include_usage": True}  # the final chunk then carries token usage
    if args.temperature is not None:
        body["temperature"] = args.temperature
    if args.max_tokens is not None:
        key = "max_completion_tokens" if resolved.name in _MAX_COMPLETION_TOKENS else "max_tokens"
        body[key] = args.max_tokens
    return "/chat/completions", body, {}


def _openai_responses(args: _Args, resolved: ResolvedProvider) -> tuple[str, dict, dict]:
    body: dict[str, Any] = {"model": args.model, "input": args.turns, "stream": args.stream}
    if args.system:
        body["instructions"] = args.system
    if args.temperature is not None:
        body["temperature"] = args.temperature
    if args.max_tokens is not None:
        body["max_output_tokens"] = args.max_tokens
    return "/responses", body, {}


def _anthropic(args: _Args, resolved: ResolvedProvider) -> tuple[str, dict, dict]:
    body: dict[str, Any] = {
        "model": args.model,
        "max_tokens": args.max_tokens if args.max_tokens is not None else DEFAULT_ANTHROPIC_MAX_TOKENS,
        "messages": args.turns,
    }
    if args.system:
        body["system"] = args.system
    if args.temperature is not None:
        body["temperature"] = args.temperature
    if args.stream:
        body["stream"] = True
    return "/messages", body, {"anthropic-version": ANTHROPIC_VERSION}


def _gemini(args: _Args, resolved: ResolvedProvider) -> tuple[str, dict, dict]:
    model = args.model.removeprefix("models/")
    contents = [
        {"role": "model" if t["role"] == "assistant" else "user", "parts": [{"text": t["content"]}]}
        for t in args.turns
    ]
    body: dict[str, Any] = {"contents": contents}
    if args.system:
        body["systemInstruction"] = {"parts": [{"text": args.system}]}
    config: dict[str, Any] = {}
    if args.temperature is not None:
        config["temperature"] = args.temperature
    if args.max_tokens is not None:
        config["maxOutputTokens"] = args.max_tokens
    if config:
        body["generationConfig"] = config
    method = "streamGenerateContent?alt=sse" if args.stream else "generateContent"
    return f"/models/{quote(model, safe='-._~')}:{method}", body, {}


def _ollama(args: _Args, resolved: ResolvedProvider) -> tuple[str, dict, dict]:
    body: dict[str, Any] = {"model": args.model, "messages": _chat_messages(args), "stream": args.stream}
    options: dict[str, Any] = {}
    if args.temperature is not None:
        options["temperature"] = args.temperature
    if args.max_tokens is not None:
        options["num_predict"] = args.max_tokens
    if options:
        body["options"] = options
    return "/api/chat", body, {}


_BUILDERS = {
    "openai.chat": _openai_chat,
    "openai.responses": _openai_responses,
    "anthropic.messages": _anthropic,
    "gemini.generate": _gemini,
    "ollama.chat": _ollama,
    "bedrock.converse": request_bedrock.converse,  # request_bedrock.py: AWS Bedrock Converse
    "cohere.chat": request_more.cohere_chat,  # request_more.py: the builders of the wires added later
}
