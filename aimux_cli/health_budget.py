"""Latency budgets of `aimux test-providers`: a check that worked but was too slow fails with category `budget`.

    budget = Budget(max_ttft_ms=800, max_latency_ms=5000, min_tps=20)     # --max-ttft, --max-latency, --min-tps
    budget = budget.over(settings)                                         # per-provider config keys fill the gaps
    check.budget = budget.limits(check.name)                               # before the check runs
    message = verdict(check)                                               # after it passed: None, or why it fails

Which limit applies to which check: `max_latency_ms` to every check that asks for a completion (all but `models`),
its whole wall time; `max_ttft_ms` to the streaming checks (`stream`, `stream-usage`), the time from sending the
request to the first visible token; `min_tps` to `stream`, the output rate after the first token,
(output tokens - 1) / (time from the first to the last visible token), output tokens as the usage reports them,
else the visible deltas. With `min_tps` the stream asks for a longer answer (health_checks.RATE_PROMPT); a rate that
cannot be measured (one token, or every token in one piece) fails the budget, since a streaming gateway that
buffers the answer is what such a budget is for. The command line wins over the config file, limit by limit.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

STREAMING = ("stream", "stream-usage")
CONFIG_KEYS = ("max_ttft_ms", "max_latency_ms", "min_tps")  # keys of a [providers.NAME] table


@dataclass(frozen=True)
class Budget:
    """The limits of one provider; None means no limit."""

    max_ttft_ms: float | None = None
    max_latency_ms: float | None = None
    min_tps: float | None = None

    def over(self, settings: Any) -> Budget:
        """These limits, with those of `settings` (a config.ProviderSettings) where these are not set."""
        return Budget(**{f.name: getattr(self, f.name) if getattr(self, f.name) is not None
                         else getattr(settings, f.name, None) for f in fields(self)})

    def limits(self, check: str) -> dict[str, float]:
        """The limits that apply to the check named `check` (see the module docstring)."""
        out: dict[str, float] = {}
        if self.max_latency_ms is not None and check != "models":
            out["max_latency_ms"] = self.max_latency_ms
        if self.max_ttft_ms is not None and check in STREAMING:
            out["max_ttft_ms"] = self.max_ttft_ms
        if self.min_tps is not None and check == "stream":
            out["min_tps"] = self.min_tps
        return out


def tps(check: Any) -> float | None:
    """The output rate after the first token, in tokens per second; None when it cannot be measured."""
    tokens, span = check.output_tokens, check.generation_s
    if not tokens or tokens < 2 or not span or span <= 0:
        return None
    return round((tokens - 1) / span, 1)


def verdict(check: Any) -> str | None:
    """Why a functionally passed check fails its budget (the measured figure and the limit), or None."""
    limits = check.budget
    if "max_ttft_ms" in limits:
        if check.ttft_ms is None:
            return "no first token was measured (TTFT budget {:g} ms)".format(limits["max_ttft_ms"])
        if check.ttft_ms > limits["max_ttft_ms"]:
            return f"TTFT {check.ttft_ms} ms is over the budget of {limits['max_ttft_ms']:g} ms"
    if "max_latency_ms" in limits and check.latency_ms is not None and check.latency_ms > limits["max_latency_ms"]:
        return f"latency {check.latency_ms} ms is over the budget of {limits['max_latency_ms']:g} ms"
    if "min_tps" in limits:
        rate = tps(check)
        if rate is None:
            return (f"the output rate cannot be measured ({check.output_tokens or 0} tokens, all at once); "
                    f"minimum {limits['min_tps']:g} tokens/s")
        if rate < limits["min_tps"]:
            return f"{rate:g} tokens/s is under the minimum of {limits['min_tps']:g} tokens/s"
    return None


def check_limit(value: Any, where: str, error: type[Exception]) -> float:
    """A budget limit: a finite number above 0 (bools, nan, inf and negatives are refused with `error`)."""
    import math

    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0 or math.isinf(value):
        raise error(f"{where}: expected a positive number, got {value!r}")
    return float(value)
