"""When to send again: the retry policy of client.py (and client_lean.py). Pure: no I/O, no httpx.

    retry_after_seconds(headers)      -> the delay a response asks for (retry-after-ms, Retry-After seconds or date)
    _policy(retries, backoff_base, on_retry).delay(attempt, headers)   -> seconds to wait before the next attempt

HTTP 408, 409, 429, 500, 502, 503, 504 and 529 are retried (and connection failures, decided in client.py), up to
`retries` times, after the delay the server asks for or else exponential backoff with jitter, never over MAX_DELAY.
A garbage or NaN Retry-After is ignored (ordinary backoff); an infinite one is capped like any other.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
MAX_DELAY = 60.0  # seconds: the longest wait between two attempts, whatever the server asks
BACKOFF_BASE = 0.5  # seconds before the first retry; doubles each time, then jittered
OnRetry = Callable[[int, float, str], None]  # (attempt that failed, seconds until the next, reason)


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The delay a response asks for: `retry-after-ms`, else `Retry-After` (seconds or HTTP date); None if absent
    or unreadable (garbage, NaN). A value past MAX_DELAY (infinity included) is capped by the caller."""
    asked = _number(headers.get("retry-after-ms"))
    if asked is not None:
        return asked / 1000
    value = headers.get("retry-after")
    if not value:
        return None
    asked = _number(value)
    if asked is not None:
        return asked
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _number(value: str | None) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if number != number else max(0.0, number)  # NaN is no delay at all


class _Policy:
    """retries, backoff_base, on_retry. A plain slotted class: a dataclass costs a millisecond of ask's start-up."""

    __slots__ = ("retries", "backoff_base", "on_retry")

    def __init__(self, retries: int, backoff_base: float, on_retry: OnRetry | None) -> None:
        self.retries, self.backoff_base, self.on_retry = retries, backoff_base, on_retry

    def may_retry(self, attempt: int) -> bool:
        return attempt <= self.retries

    def delay(self, attempt: int, headers: Mapping[str, str] | None) -> float:
        asked = retry_after_seconds(headers) if headers is not None else None
        if asked is not None:
            return min(asked, MAX_DELAY)
        delay = min(MAX_DELAY, self.backoff_base * 2 ** (attempt - 1))
        return delay * (0.5 + random.random() / 2)  # jitter keeps parallel clients from retrying in step


def _policy(retries: int, backoff_base: float, on_retry: OnRetry | None) -> _Policy:
    return _Policy(max(0, retries), backoff_base, on_retry)
