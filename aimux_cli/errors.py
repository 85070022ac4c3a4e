"""The exception family and the one exit-code table of the whole tool.

Every failure a user can meet is an `AimuxError` carrying its exit code and a one-line message for people.
`cli.py` turns it into that line on stderr and that exit code; a traceback is shown only with `--debug`.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes, documented in the README; never renumber them."""

    OK = 0
    FAILURE = 1  # the output could not be written (disk full, stdout closed), or an internal error (a bug)
    USAGE = 2  # bad command-line usage (Click's own code)
    CONFIG = 3  # configuration error: unknown provider, missing key, bad config file
    INPUT = 4  # input error: empty, invalid JSON/UTF-8, unreadable file
    AUTH = 5  # authentication or permission refused (401/403)
    RATE_LIMIT = 6  # rate limited or out of quota (429) after retries
    PROVIDER = 7  # any other provider error (4xx/5xx)
    NETWORK = 8  # network error or timeout
    INCOMPLETE = 9  # a stream cut short: what arrived is still printed
    CHECK_FAILED = 10  # test-providers: a check failed
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


def exit_code_for_http_status(status: int | None) -> ExitCode:
    """Map an HTTP status of an error response to the exit-code table (401/403 -> 5, 429 -> 6, else 7)."""
    if status in (401, 403):
        return ExitCode.AUTH
    if status == 429:
        return ExitCode.RATE_LIMIT
    return ExitCode.PROVIDER
