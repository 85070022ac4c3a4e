"""Build the HTTP request for a resolved provider: ResolvedProvider + prompt or turns (+ Extras) -> PreparedRequest.
Pure, no I/O.

One builder per wire format (`openai.chat`, `openai.responses`, `anthropic.messages`, `gemini.generate`,
`ollama.chat`; the wires of EXTERNAL_WIRES are built in modules of their own), plus `models_request` for each wire's
model-list endpoint. Conversation turns, tool calls and results and attachments are checked and written in each
wire's form by request_wire.py; `ask`'s tools, tool choice, schema and reasoning (request_extras.Extras) by
request_tools.py; then the `-o` options are merged last. Headers are merged in this order, later wins: wire
defaults < the provider row and config headers < the auth header.

Secrets: a PreparedRequest holds the key in its headers, so its repr shows the URL without userinfo or query and
the headers with every credential replaced. Building a request registers its secrets (the key and the values of
credential headers) with `aimux_cli.redact`, whose scrub every printed string passes; `redact`, `redact_bytes`,
`redact_headers` and `safe_url` are the helpers for messages (errors, --debug).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

from aimux_cli import __version__
from aimux_cli import redact as registry
from aimux_cli import request_wire
from aimux_cli.errors import UsageError

if TYPE_CHECKING:
    from aimux_cli.config import ResolvedProvider
    from aimux_cli.request_extras import Extras

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
# Wires whose URL names the model and whether the answer streams: their bodies have neither `model` nor `stream`.
URL_MODEL_AND_STREAM = ("gemini.generate", "bedrock.converse")


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
    messages: Sequence[Mapping[str, Any]] | None = None,
    prompt: str | None = None,
    system: str | None = None,
    model: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    stream: bool = True,
    extras: Extras | None = None,
) -> PreparedRequest:
    """The generation request for `resolved`'s wire format; give `messages` or `prompt` (a single user turn).

    `messages` are neutral turns (request_wire.py): system/user/assistant text, assistant `tool_calls` and `tool`
    results. `extras` (request_extras.Extras) adds tools, a schema, reasoning and attachments in the wire's form
    (request_tools.py), then its `-o` options, merged last; `extras.body` replaces all of that with a body given
    whole, to which aimux adds only `model` and `stream` when absent (and the `-o` options)."""
    builder = _builder(resolved.wire)
    if extras is not None and extras.body is not None:
        return _from_body(resolved, extras, model, stream, (messages, prompt, system, temperature, max_tokens))
    turns = request_wire.normalize_turns(messages, prompt)
    system_text = _system_text(system, turns)
    turns = [t for t in turns if t["role"] != "system"]
    attachments = extras.attachments if extras is not None else ()
    args = _Args(model or resolved.model, turns, system_text, temperature, max_tokens, stream, attachments)
    path, body, wire_headers = builder(args, resolved)
    if extras is not None:
        from aimux_cli import request_tools
        from aimux_cli.request_extras import merge_options

        own = external(resolved.wire, "apply_extras") if resolved.wire in EXTERNAL_WIRES else None
        request_tools.apply(resolved.wire, body, extras, max_tokens, own)
        merge_options(body, _checked_options(resolved.wire, extras.options))
        stream = _stream_of(resolved.wire, body, stream)
        if not stream and "stream_options" in body and not any(p[0] == "stream_options" for p, _ in extras.options):
            del body["stream_options"]  # `-o stream:=false`: OpenAI refuses stream_options without a stream
    return _prepared(resolved, path, body, wire_headers, stream)


def _checked_options(wire: str, options: tuple) -> tuple:
    if wire in URL_MODEL_AND_STREAM and any(parts[0] in ("stream", "model") for parts, _ in options):
        raise UsageError(f"-o stream/model: {wire} has neither in its body: the URL names the model "
                         "(--model) and whether it streams (--no-stream)")
    return options


def _prepared(resolved: ResolvedProvider, path: str, body: dict, wire_headers: dict, stream: bool) -> PreparedRequest:
    accept = {"accept": "text/event-stream"} if stream and resolved.wire != "ollama.chat" else {}
    headers = _headers(resolved, {**accept, **wire_headers})
    return PreparedRequest("POST", join_url(resolved.base_url, path), headers, body, stream, resolved.name,
                           _secrets(resolved))


def _stream_of(wire: str, body: dict, stream: bool) -> bool:
    """Whether the response will be a stream, as the body (after -o) says; Gemini's and Bedrock's are in the URL."""
    if wire in URL_MODEL_AND_STREAM:
        return stream
    value = body.get("stream", wire == "ollama.chat")  # Ollama streams unless told not to
    return value is True


def _from_body(resolved: ResolvedProvider, extras: Extras, model: str | None, stream: bool, given: tuple) -> \
        PreparedRequest:
    """--body: the body as given, `model` and `stream` added when absent, then the -o options. Gemini's and Bedrock's
    model and streaming are in the URL: a `model` key in the body picks the URL's model, and is taken out of it."""
    from aimux_cli.request_extras import merge_options

    if any(v is not None for v in given) or extras.tools or extras.schema is not None or extras.attachments \
            or extras.reasoning is not None or extras.tool_choice is not None:
        raise UsageError("--body sends the request body as given: it cannot be combined with a prompt, --system, "
                         "--temperature, --max-tokens, --tool, --tool-choice, --schema, --reasoning or --attach "
                         "(use -o to change the body)")
    body = merge_options(copy.deepcopy(extras.body), _checked_options(resolved.wire, extras.options))
    name = model or resolved.model
    if resolved.wire in URL_MODEL_AND_STREAM:
        name = body.pop("model", None) if isinstance(body.get("model"), str) else name
        path, _, wire_headers = _builder(resolved.wire)(_Args(name or resolved.model, [], None, None, None, stream),
                                                        resolved)
        return _prepared(resolved, path, body, wire_headers, stream)
    body.setdefault("model", name)
    body.setdefault("stream", stream)
    path, _, wire_headers = _builder(resolved.wire)(_Args(name, [], None, None, None, stream), resolved)
    return _prepared(resolved, path, body, wire_headers, _stream_of(resolved.wire, body, stream))


def models_request(resolved: ResolvedProvider) -> PreparedRequest:
    """The GET request listing the models a provider serves (test-providers uses it)."""
    if resolved.wire == "bedrock.converse":  # another host: Bedrock's control plane
        return PreparedRequest("GET", external(resolved.wire, "models_url")(resolved.base_url),
                               _headers(resolved, {}), None, False, resolved.name, _secrets(resolved))
    more = external(resolved.wire, "MODEL_LIST_PATHS") if resolved.wire in EXTERNAL_WIRES else {}
    path = more.get(resolved.wire) or ("/api/tags" if resolved.wire == "ollama.chat" else "/models")
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
    turns: list[dict[str, Any]]
    system: str | None
    temperature: float | None
    max_tokens: int | None
    stream: bool
    attachments: tuple = ()


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


def _openai_chat(args: _Args, resolved: ResolvedProvider) -> tuple[str, dict, dict]:
    messages = request_wire.openai_chat(args.turns, args.system, args.attachments)
    body: dict[str, Any] = {"model": args.model, "messages": messages, "stream": args.stream}
    if args.stream and resolved.name not in _NO_STREAM_OPTIONS:
        body["stream_options"] = {"include_usage": True}  # the final chunk then carries token usage
    if args.temperature is not None:
        body["temperature"] = args.temperature
    if args.max_tokens is not None:
        key = "max_completion_tokens" if resolved.name in _MAX_COMPLETION_TOKENS else "max_tokens"
        body[key] = args.max_tokens
    return "/chat/completions", body, {}


def _openai_responses(args: _Args, resolved: ResolvedProvider) -> tuple[str, dict, dict]:
    body: dict[str, Any] = {"model": args.model, "input": request_wire.openai_responses(args.turns, args.attachments),
                            "stream": args.stream}
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
        "messages": request_wire.anthropic(args.turns, args.attachments),
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
    body: dict[str, Any] = {"contents": request_wire.gemini(args.turns, args.attachments)}
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
    messages = request_wire.ollama(args.turns, args.system, args.attachments)
    body: dict[str, Any] = {"model": args.model, "messages": messages, "stream": args.stream}
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
}

# The wires built by modules of their own, imported when one of them is used: wire -> (module, builder). Each module
# also has `apply_extras(body, extras, max_tokens)` (request_tools.apply calls it) and may have MODEL_LIST_PATHS.
EXTERNAL_WIRES = {
    "bedrock.converse": ("aimux_cli.request_bedrock", "converse"),  # AWS Bedrock Converse
    "cohere.chat": ("aimux_cli.request_more", "cohere_chat"),  # the builders of the wires added later
}


def external(wire: str, name: str | None = None) -> Any:
    """`name` (default: the builder) from the module that builds `wire`, one of EXTERNAL_WIRES."""
    import importlib

    module_name, builder = EXTERNAL_WIRES[wire]
    module = importlib.import_module(module_name)
    return getattr(module, name, {}) if name == "MODEL_LIST_PATHS" else getattr(module, name or builder)


def _builder(wire: str) -> Any:
    builder = _BUILDERS.get(wire)
    if builder is None:
        if wire not in EXTERNAL_WIRES:
            raise ValueError(f"unknown wire format {wire!r}")
        builder = external(wire)
    return builder

