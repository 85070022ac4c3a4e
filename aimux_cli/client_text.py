"""What the network edge says about an exchange: one-line errors and the `--debug` log. No I/O, no httpx.

    http_error(prepared, status, headers, body)  -> AuthError | RateLimitError | ProviderError (final HTTP status;
                                                    the class by the body's error type, else the status)
    cut_short(prepared, why, chunks, status)     -> IncompleteError carrying .received (bytes already delivered)
    bad_body(prepared, why, chunks, streamed)    -> IncompleteError once bytes were delivered, else ProviderError
    log_request / log_response / log_error_body  -> debug lines on the "aimux.client" logger

Messages name the provider (or the URL), never a credential: every line passes `redact` with the request's
secrets, URLs pass `safe_url` (no userinfo, query or fragment), and headers that carry credentials are replaced.
An HTML error page (a proxy's 502) is reduced to its <title> or its first words, and the message names the URL,
since the page usually comes from something in front of the provider, not from its API.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

import orjson

from aimux_cli.errors import AimuxError, AuthError, ExitCode, IncompleteError, ProviderError, RateLimitError, \
    exit_code_for_error
from aimux_cli import redact as registry
from aimux_cli.request import PreparedRequest, is_secret_header, redact, redact_bytes, safe_url

log = logging.getLogger("aimux.client")

DEBUG_BODY_LIMIT = 2048  # bytes of a request or error body shown by --debug

_TITLE = rb"<title[^>]*>(.*?)</title\s*>"  # patterns compiled by re's cache on first use: only error pages pay
_INVISIBLE = rb"<(script|style)\b.*?</\1\s*>|<!--.*?-->"
_TAG = rb"<[^>]*>"
_FLAGS = re.IGNORECASE | re.DOTALL


def who(prepared: PreparedRequest) -> str:
    return prepared.provider or safe_url(prepared.url)


def one_line(text: str, limit: int = 300) -> str:
    # a 1 MiB error body is cut before the per-character pass, not after; every registered secret is scrubbed before
    # lines are joined and the line is cut (a key spanning lines, or the cut, would no longer match)
    text = registry.scrub(text[: 64 * limit])
    text = "".join(c if c.isprintable() else " " for c in text)  # no terminal escapes from a provider
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_html(body: bytes, headers: Mapping[str, str] | None = None) -> bool:
    if headers and "html" in headers.get("content-type", "").lower():
        return True
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<title" in head


def html_summary(body: bytes, limit: int = 120) -> str:
    """An HTML page in a few words: its <title>, else its visible text."""
    import html  # html.entities costs a millisecond: only an error page pays it
    match = re.search(_TITLE, body, _FLAGS)
    if match and match.group(1).strip():
        raw = match.group(1)
    else:
        raw = re.sub(_TAG, b" ", re.sub(_INVISIBLE, b" ", body, flags=_FLAGS))
    return one_line(html.unescape(raw.decode("utf-8", "replace")), limit)


def error_detail(body: bytes, headers: Mapping[str, str] | None = None) -> str:
    """The provider's error type and message in a few words (the wire parsers give the full document)."""
    if is_html(body, headers):
        return html_summary(body)
    if body.lstrip()[:1] not in (b"{", b"["):  # not JSON (orjson's error for a 1 MiB non-JSON body costs 12 MiB)
        return one_line(body[:16384].decode("utf-8", "replace"), 200)
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return one_line(body[:16384].decode("utf-8", "replace"), 200)
    if isinstance(doc, list) and doc and isinstance(doc[0], dict):  # Gemini's JSON-array stream form
        doc = doc[0]
    err = doc.get("error", doc) if isinstance(doc, dict) else doc
    if isinstance(err, dict):
        kind = err.get("type") or err.get("status") or err.get("code") or ""
        message = err.get("message") or err.get("detail") or ""
        return one_line(f"{kind}: {message}" if kind and message else str(kind or message))
    return one_line(str(err))


def http_error(prepared: PreparedRequest, status: int, headers: Mapping[str, str], body: bytes) -> AimuxError:
    """The exception for a final error status, carrying .status, .body (scrubbed), .headers and .provider."""
    body = redact_bytes(body, prepared.secrets)
    detail = error_detail(body, headers) if body else ""
    where = f" from {safe_url(prepared.url)}" if body and is_html(body, headers) else ""
    message = redact(f"{who(prepared)}: HTTP {status}{where}" + (f": {detail}" if detail else ""), prepared.secrets)
    code = error_exit_code(body, status, headers)
    cls = AuthError if code == ExitCode.AUTH else RateLimitError if code == ExitCode.RATE_LIMIT else ProviderError
    err = cls(message)
    err.status, err.body, err.headers, err.provider = status, body, dict(headers), prepared.provider  # type: ignore[attr-defined]
    return err


def error_exit_code(body: bytes, status: int, headers: Mapping[str, str] | None = None) -> ExitCode:
    """The exit code of an error response: the provider's error type or code by the one table (errors.ERROR_KINDS,
    as `prettify --fail` reads the same body: a 400 `organization_restricted` is 5), else the HTTP status."""
    error: Any = {"status": status}
    if body and not is_html(body, headers) and body.lstrip()[:1] in (b"{", b"["):
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError:
            value = None
        if value is not None:
            from aimux_cli import wire  # pure parsing, no I/O; only an error response pays the import

            doc = wire.parse_body(value, http_status=status)
            if doc is not None and doc.error:
                error = doc.error
    return exit_code_for_error(error)


class CutShort(IncompleteError):
    """An IncompleteError whose .received is joined from the delivered chunks only when asked for: a stream cut at
    the 256 MiB bound would otherwise hold its bytes twice at the moment of failing."""

    def __init__(self, message: str, chunks: list[bytes]) -> None:
        super().__init__(message)
        self._chunks = chunks

    @property  # type: ignore[override]
    def received(self) -> bytes:
        return b"".join(self._chunks)


def cut_short(prepared: PreparedRequest, why: str, chunks: list[bytes], status: int) -> IncompleteError:
    """A body that broke off after `chunks` reached the caller: exit 9, what arrived kept in .received."""
    size = sum(len(c) for c in chunks)
    err = CutShort(redact(f"{who(prepared)}: stream cut short after {size} bytes ({why})", prepared.secrets),
                   list(chunks))
    err.status, err.provider = status, prepared.provider  # type: ignore[attr-defined]
    return err


def bad_body(prepared: PreparedRequest, why: str, chunks: list[bytes], status: int, streamed: bool) -> AimuxError:
    """A body aimux cannot decode (corrupt or unknown Content-Encoding) or that passed its size bound.

    Once decoded bytes reached the caller of a stream, the stream counts as cut short at that point (exit 9, the
    text kept); before that, or for a whole body, it is a provider error (exit 7) naming the URL."""
    if chunks and streamed:
        return cut_short(prepared, why, chunks, status)
    err = ProviderError(one_line(redact(f"{who(prepared)}: unreadable response from {safe_url(prepared.url)}: {why}",
                                        prepared.secrets)))
    err.provider, err.received = prepared.provider, b"".join(chunks)  # type: ignore[attr-defined]
    return err


# --- --debug -------------------------------------------------------------------------------------------------------


def _shown_headers(headers: Mapping[str, str], secrets: tuple[str, ...]) -> str:
    return " ".join(f"{k}: {'[REDACTED]' if is_secret_header(k) or k.lower() == 'set-cookie' else v};"
                    for k, v in headers.items())


def _shown_body(body: bytes, secrets: tuple[str, ...]) -> str:
    # scrubbed whole, then cut: a key straddling the cut would otherwise show its first characters
    text = redact(body.decode("utf-8", "replace"), secrets)
    more = f" … {len(text) - DEBUG_BODY_LIMIT} more characters" if len(text) > DEBUG_BODY_LIMIT else ""
    return f"({len(body)} bytes) {one_line(text[:DEBUG_BODY_LIMIT], DEBUG_BODY_LIMIT)}{more}"


def log_request(prepared: PreparedRequest, headers: Mapping[str, str], body: bytes | None, attempt: int) -> None:
    """> the request line, headers (credentials replaced) and body (first DEBUG_BODY_LIMIT bytes), once per attempt."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    secrets = prepared.secrets
    log.debug("> %s %s (attempt %d)", prepared.method, safe_url(prepared.url), attempt)
    log.debug("> headers: %s", redact(_shown_headers(headers, secrets), secrets))
    if body:
        log.debug("> body %s", _shown_body(body, secrets))


def log_response(prepared: PreparedRequest, status: int, reason: str, headers: Mapping[str, str],
                 elapsed: float) -> None:
    """< the status line and the response headers."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    secrets = prepared.secrets
    log.debug("< HTTP %d %s (%.0f ms)", status, one_line(redact(reason, secrets), 80), elapsed * 1000)
    log.debug("< headers: %s", redact(_shown_headers(headers, secrets), secrets))


def log_error_body(prepared: PreparedRequest, body: bytes) -> None:
    if log.isEnabledFor(logging.DEBUG) and body:
        log.debug("< body %s", _shown_body(redact_bytes(body, prepared.secrets), prepared.secrets))


def log_note(prepared: PreparedRequest, message: str, *args: Any) -> None:
    if log.isEnabledFor(logging.DEBUG):
        log.debug(redact(message % args if args else message, prepared.secrets))
