"""The exception family and the one exit-code table of the whole tool.

Every failure a user can meet is an `AimuxError` carrying its exit code and a one-line message for people.
`cli.py` turns it into that line on stderr and that exit code; a traceback is shown only with `--debug`.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


class ExitCode(IntEnum):
    """Exit codes, documented in the README; never renumber them."""

    OK = 0
    FAILURE = 1  # the output could not be written (disk full, stdout closed), or an internal error (a bug)
    USAGE = 2  # bad command-line usage (Click's own code)
    CONFIG = 3  # configuration error: unknown provider, missing key, bad config file
    INPUT = 4  # input error: empty, invalid JSON/UTF-8, unreadable file
    AUTH = 5  # authentication or permission refused (401/403, or the error type says so: ERROR_KINDS)
    RATE_LIMIT = 6  # rate limited or out of quota or credits (429, 402) after retries
    PROVIDER = 7  # any other provider error (4xx/5xx)
    NETWORK = 8  # network error or timeout
    INCOMPLETE = 9  # a stream cut short: what arrived is still printed
    CHECK_FAILED = 10  # test-providers: a check failed; bench compare --fail-on-regression: a metric worse beyond noise
    SCHEMA_INVALID = 11  # the answer does not validate against --schema (ask): the answer is still printed first
    INTERRUPTED = 130  # Ctrl-C


class AimuxError(Exception):
    """Base of every error aimux reports to a user; `str(err)` is the one-line message."""

    exit_code: ExitCode = ExitCode.PROVIDER
    # Set by client.py on errors that come from a provider, for callers that normalize or report them:
    status: int | None = None  # the HTTP status
    body: bytes | None = None  # the response body (keys scrubbed)
    headers: dict | None = None  # the response headers
    provider: str | None = None  # the provider's name
    received: bytes | None = None  # what arrived before a stream was cut short

    def __init__(self, message: str, *, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(AimuxError):
    exit_code = ExitCode.USAGE


class ConfigError(AimuxError):
    exit_code = ExitCode.CONFIG


class InputError(AimuxError):
    exit_code = ExitCode.INPUT


class AuthError(AimuxError):
    exit_code = ExitCode.AUTH


class RateLimitError(AimuxError):
    exit_code = ExitCode.RATE_LIMIT


class ProviderError(AimuxError):
    exit_code = ExitCode.PROVIDER


class NetworkError(AimuxError):
    exit_code = ExitCode.NETWORK


class IncompleteError(AimuxError):
    exit_code = ExitCode.INCOMPLETE


class OutputError(AimuxError):
    exit_code = ExitCode.FAILURE


class CheckFailed(AimuxError):
    exit_code = ExitCode.CHECK_FAILED


class SchemaInvalid(AimuxError):
    exit_code = ExitCode.SCHEMA_INVALID


def exit_code_for_http_status(status: int | None) -> ExitCode:
    """Map an HTTP status of an error response to the exit-code table (401/403 -> 5, 402/429 -> 6, else 7)."""
    if status in (401, 403):
        return ExitCode.AUTH
    if status in (402, 429):  # 402: out of credits (OpenRouter, DeepSeek, Mistral), as good as out of quota
        return ExitCode.RATE_LIMIT
    return ExitCode.PROVIDER


# A body, or an error event inside a 200 stream, carries no HTTP status: the provider's own error type or code says
# what happened. One table for every wire (the names do not collide); the README's exit-code section lists it.
ERROR_KINDS: dict[str, ExitCode] = {
    # Anthropic `type` (Mistral uses the same names)
    "authentication_error": ExitCode.AUTH, "permission_error": ExitCode.AUTH,
    "rate_limit_error": ExitCode.RATE_LIMIT, "billing_error": ExitCode.RATE_LIMIT,
    "overloaded_error": ExitCode.PROVIDER,
    # OpenAI `code` / `type` (Groq, DeepSeek, Cerebras and the other compatibles use the same names)
    "invalid_api_key": ExitCode.AUTH, "organization_restricted": ExitCode.AUTH,
    "insufficient_quota": ExitCode.RATE_LIMIT, "rate_limit_exceeded": ExitCode.RATE_LIMIT,
    # Gemini `status` (and the ErrorInfo reason of a bad key)
    "UNAUTHENTICATED": ExitCode.AUTH, "PERMISSION_DENIED": ExitCode.AUTH, "API_KEY_INVALID": ExitCode.AUTH,
    "RESOURCE_EXHAUSTED": ExitCode.RATE_LIMIT,
}


def exit_code_for_error(error: Mapping[str, Any] | None) -> ExitCode:
    """The exit code of a document's `error` ({status, type, code, message}): its `code`, else its `type`, in
    ERROR_KINDS; else its HTTP status (OpenRouter's numeric code is one); else 7."""
    error = error or {}
    for key in ("code", "type"):
        kind = error.get(key)
        if isinstance(kind, str) and kind in ERROR_KINDS:
            return ERROR_KINDS[kind]
    status = error.get("status")
    return exit_code_for_http_status(status if isinstance(status, int) else None)


# The error category of a failure, by its exit code: test-providers' `category` and bench's error counts.
CATEGORIES: dict[ExitCode, str] = {
    ExitCode.FAILURE: "internal", ExitCode.USAGE: "usage", ExitCode.CONFIG: "config", ExitCode.INPUT: "input",
    ExitCode.AUTH: "auth", ExitCode.RATE_LIMIT: "rate_limit", ExitCode.PROVIDER: "provider",
    ExitCode.NETWORK: "network", ExitCode.INCOMPLETE: "incomplete", ExitCode.CHECK_FAILED: "check",
    ExitCode.SCHEMA_INVALID: "schema",
    ExitCode.INTERRUPTED: "interrupted",
}


def category(code: ExitCode | int) -> str:
    """The category name of an exit code ("provider" for one the table does not know)."""
    try:
        return CATEGORIES.get(ExitCode(code), "provider")
    except ValueError:
        return "provider"


def internal_error_line(exc: BaseException) -> str:
    """The one line for a bug (an exception that is not an AimuxError): what broke, the version, how to report it."""
    from aimux_cli import __version__

    return (f"internal error in aimux {__version__}: {type(exc).__name__}: {exc} -- this is a bug: please report it "
            "with the output of the same command run with --debug")
