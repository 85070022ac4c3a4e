"""The HTTP exchange as a person reads it (`aimux ask -v`), httpie-style: PreparedRequest -> lines; status + response
headers -> lines; lines -> stderr.

    POST /v1/chat/completions HTTP/1.1
    host: api.openai.com
    authorization: Bearer [REDACTED]
    ...

    {
      "model": "gpt-4.1-mini",
      ...
    }

    HTTP/1.1 200 OK
    x-request-id: req_123          <- request ids and rate-limit headers highlighted on a terminal
    ...

The request headers are those client.py puts on the wire (httpx's defaults, accept-encoding, the request's own,
content-length), in the order it sends them; every credential header's value (request.is_secret_header) is
`[REDACTED]`, and a credential in the URL's query too. The body is the JSON sent, indented; a base64 payload
(an attachment: a `data:` URL or a long run of base64 characters) is abbreviated to its first characters and its
decoded size. Every line is scrubbed of registered secrets and sanitized for the terminal; colour only when stderr
gets colour (NO_COLOR, FORCE_COLOR, --no-color).

Pure functions but `show`, which writes; `sent_headers` and `body_bytes` (the exact bytes) serve curl.py too.
"""

from __future__ import annotations

import re
import sys
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

# What httpx.Client adds to every request unless the request sets it (httpx 0.27/0.28, in its order); client.py
# replaces accept-encoding and user-agent. tests/test_ask_exchange.py checks the result against what a server saw.
_HTTPX_DEFAULTS = (("accept", "*/*"), ("accept-encoding", "gzip, deflate"), ("connection", "keep-alive"))
_HIGHLIGHT = re.compile(r"request-id|ratelimit|rate-limit|retry-after", re.I)
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]+={0,2}\Z")
_PAYLOAD_KEYS = ("data", "file_data", "images", "image_url", "url")  # where the wires put an attachment's bytes
_DATA_URL = re.compile(r"(data:[\w.+-]+/[\w.+-]+(?:;[\w.+-]+=[^;,]*)*;base64,)(.*)\Z", re.S)
_SHOWN = 24  # base64 characters kept before the ellipsis

Line = tuple[str, str]  # (style, text); style "" for plain


def body_bytes(prepared) -> bytes | None:
    """The body exactly as client.py sends it (compact JSON), or None for a GET."""
    if prepared.json_body is None:
        return None
    import orjson

    return orjson.dumps(prepared.json_body)


def sent_headers(prepared) -> list[tuple[str, str]]:
    """The request's headers as they go on the wire, credentials included: never print these unredacted."""
    from aimux_cli.content_coding import SUPPORTED as accept_encoding  # what client.py asks for

    own = {"accept-encoding": accept_encoding, **prepared.headers}
    parts = urlsplit(prepared.url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    if parts.port and parts.port != default_port:
        host = f"{host}:{parts.port}"
    out = [("host", host)] + [(k, v) for k, v in _HTTPX_DEFAULTS if k not in own] + list(own.items())
    body = body_bytes(prepared)
    if body is not None:
        out.append(("content-length", str(len(body))))
    return out


def request_target(prepared) -> str:
    """The path and query of the request line as sent, a credential's value in the query replaced by [REDACTED]."""
    from urllib.parse import unquote_plus

    from aimux_cli.request import REDACTED, is_secret_header

    parts = urlsplit(prepared.url)
    pieces = []
    for piece in parts.query.split("&") if parts.query else ():
        name, eq, _ = piece.partition("=")
        key = unquote_plus(name)
        secret = is_secret_header(key) or key.lower() in ("sig", "signature")
        pieces.append(f"{name}={REDACTED}" if eq and secret else piece)
    return (parts.path or "/") + ("?" + "&".join(pieces) if pieces else "")


def request_lines(prepared) -> list[Line]:
    """The request line, the headers (credentials [REDACTED]), a blank line and the indented body."""
    from aimux_cli.request import REDACTED, is_secret_header

    lines: list[Line] = [("bold", f"{prepared.method} {request_target(prepared)} HTTP/1.1")]
    for name, value in sent_headers(prepared):
        if is_secret_header(name):  # the scheme stays: "Bearer [REDACTED]" says how the key is sent
            scheme = value.split(" ", 1)[0] if value.startswith(("Bearer ", "Basic ", "bearer ")) else ""
            value = f"{scheme} {REDACTED}" if scheme else REDACTED
        lines.append(("header", f"{name}: {value}"))
    if prepared.json_body is not None:
        lines.append(("", ""))
        lines += [("body", line) for line in pretty_body(prepared.json_body).splitlines()]
    lines.append(("", ""))
    return lines


def response_lines(status: int | None, headers: dict[str, str] | None) -> list[Line]:
    """The status line and the response headers; request ids and rate-limit headers styled "highlight"."""
    from aimux_cli.request import REDACTED, _SECRET_HEADERS

    try:
        reason = HTTPStatus(status).phrase if status else ""
    except ValueError:
        reason = ""
    style = "bold" if status and status < 400 else "error"
    lines: list[Line] = [(style, f"HTTP/1.1 {status or '?'} {reason}".rstrip())]
    for name, value in (headers or {}).items():
        # by name only: rate-limit headers say "tokens" (anthropic-ratelimit-tokens-remaining) and are no secret
        shown = REDACTED if name.lower() in _SECRET_HEADERS or name.lower() == "set-cookie" else value
        lines.append(("highlight" if _HIGHLIGHT.search(name) else "header", f"{name}: {shown}"))
    lines.append(("", ""))
    return lines


def pretty_body(body: Any) -> str:
    """The body as indented JSON, base64 payloads abbreviated."""
    from aimux_cli.jsondump import dumps

    return dumps(abbreviate(body), 2)


def abbreviate(value: Any, key: str | None = None) -> Any:
    """A copy of `value` with every base64 payload shortened to its first characters, `…` and `[base64, N bytes]`
    (N decoded): a `data:` URL, the value of an attachment's field (`data`, `file_data`, Ollama's `images`), or
    120+ base64 characters alone in any other string."""
    if isinstance(value, dict):
        return {k: abbreviate(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [abbreviate(v, key) for v in value]
    if isinstance(value, str) and len(value) > _SHOWN:
        match = _DATA_URL.match(value)
        head, data = (match.group(1), match.group(2)) if match else ("", value)
        if (match or key in _PAYLOAD_KEYS or len(value) >= 120) and len(data) > _SHOWN and _BASE64.match(data):
            size = len(data.rstrip("=")) * 3 // 4
            return f"{head}{data[:_SHOWN]}… [base64, {size:,} bytes]"
    return value


def show(lines: list[Line], env) -> None:
    """Write `lines` to stderr, scrubbed and sanitized; styled when stderr gets colour."""
    from aimux_cli.present import scrubbed
    from aimux_cli.render.sanitize import for_terminal

    texts = [(style, for_terminal(scrubbed(text))) for style, text in lines]
    if env is not None and env.color("stderr"):
        from rich.text import Text

        styles = {"bold": "bold", "header": "cyan", "highlight": "bold yellow", "error": "bold red", "body": ""}
        out = Text()
        for style, text in texts:
            if style in ("header", "highlight") and ": " in text:
                name, _, value = text.partition(": ")
                out.append(name, style=styles[style]).append(": ")
                out.append(value, style="bold" if style == "highlight" else "")
            else:
                out.append(text, style=styles.get(style, ""))
            out.append("\n")
        env.stderr_console.print(out, soft_wrap=True, end="")
    else:
        sys.stderr.write("".join(text + "\n" for _, text in texts))
    sys.stderr.flush()
