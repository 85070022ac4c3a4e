"""`aimux test-providers` checks: configured providers -> one result per provider -> the JSON report.

    targets = plan(names, strict=False)            # who is checked, skipped or failed up front; may raise ConfigError
    results = asyncio.run(check_all(targets, 30))  # concurrent checks, each provider within its own deadline
    report(results, started)                       # {"aimux_version", "started_at", "providers": [...], "passed", ...}

Each checked provider runs its checks in order (health_checks.py says what each one does; `DEFAULT_CHECKS` unless
`--checks` or the provider's `checks = [...]` picks others, always in the order of `CHECKS`). A functional failure of
a gate check (`models`, `complete`) skips the ones after it; the others are independent. The checks of one provider
share one deadline, so a hanging provider is cut off at `timeout` seconds while the others go on. Requests are not
retried: a health check reports what the provider does right now. A check that worked but broke a latency budget
(health_budget.py) fails with category `budget` and the measured figure in its error.

Each check records its HTTP status, an error category (errors.CATEGORIES by exit code; `timeout` for the deadline,
`budget` for a latency budget; an error inside a 200 response by the provider's error type,
errors.exit_code_for_error), its wall-clock start and end, and what it measured (TTFT, output tokens and rate).
`check_all(..., on_result)` reports each provider as it finishes, for a terminal's live table.

Secrets: errors are one line (HTTP status and the provider's error type/message, or the timeout/network problem),
scrubbed of the key; `base_url` is shown without userinfo or query. The network is reached only through client.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from aimux_cli.errors import AimuxError, ConfigError
from aimux_cli.health_budget import Budget, tps
from aimux_cli.health_checks import MAX_TOKENS, PROMPT  # noqa: F401 - part of this module's interface (health_log)

if TYPE_CHECKING:
    from aimux_cli.client_async import AsyncSession
    from aimux_cli.config import Config, ResolvedProvider

CHECKS = ("models", "complete", "stream", "stream-usage", "tools", "schema", "reasoning")  # in the order they run
DEFAULT_CHECKS = ("models", "complete", "stream")
GATES = ("models", "complete")  # a functional failure of one of these skips the checks after it


@dataclass
class Check:
    """One check of one provider."""

    name: str  # one of CHECKS
    status: str = "skip"  # pass | fail | skip
    latency_ms: int | None = None  # wall time of the check; None when it did not run
    error: str | None = None  # one line, no secrets
    http_status: int | None = None  # the HTTP status of the check's (last) response; None when none arrived
    category: str | None = None  # why it failed or was skipped (errors.CATEGORIES, timeout, budget); None on a pass
    started: float | None = None  # wall-clock start and end of the check (time.time()); None when it did not run
    ended: float | None = None
    ttft_ms: int | None = None  # streaming checks: request sent -> first visible token
    output_tokens: int | None = None  # as the usage reports them, else the visible deltas of a stream
    generation_s: float | None = None  # first -> last visible token of a stream (for the rate)
    budget: dict[str, float] = field(default_factory=dict)  # the limits that apply (Budget.limits)
    exchange: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # for --log (health_log)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "latency_ms": self.latency_ms, "error": self.error,
                "http_status": self.http_status, "category": self.category, "started_at": iso_utc(self.started),
                "ended_at": iso_utc(self.ended), "ttft_ms": self.ttft_ms, "output_tokens": self.output_tokens,
                "tps": tps(self), "budget": dict(self.budget) or None}


def iso_utc(seconds: float | None) -> str | None:
    """An ISO 8601 UTC timestamp with milliseconds (`2026-11-30T07:55:43.123Z`), or None."""
    if seconds is None:
        return None
    from datetime import datetime, timezone

    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class ProviderResult:
    """The outcome for one provider."""

    name: str
    model: str
    base_url: str  # safe_url(): no userinfo, query or fragment
    status: str  # pass | fail | skip
    checks: list[Check] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.model, "base_url": self.base_url, "status": self.status,
                "checks": [c.to_dict() for c in self.checks]}


@dataclass(frozen=True)
class Target:
    """A provider selected for the report: checked when `resolved` is set, else reported with `problem`."""

    name: str
    model: str
    base_url: str
    resolved: ResolvedProvider | None = None
    problem: str | None = None  # why it is not checked: no key, or a configuration error
    status: str = "skip"  # the provider's status when it is not checked: skip, or fail (--strict, config error)
    checks: tuple[str, ...] = DEFAULT_CHECKS  # the checks to run, in the order of CHECKS
    budget: Budget = Budget()  # the command line's limits over the config's


# --- selection -----------------------------------------------------------------------------------------------------


def plan(names: Sequence[str] = (), *, strict: bool = False, env: Mapping[str, str] | None = None,
         config: Config | None = None, checks: Sequence[str] | None = None,
         budget: Budget = Budget()) -> list[Target]:
    """The providers to report on: `names`, else those with a key (catalog rows whose key variable is set, and
    every `[providers.NAME]` table of the config file). A provider without a key is skipped, or failed when
    `strict`. `checks` (--checks) and `budget` (--max-ttft...) win over each provider's config keys. Raises
    ConfigError (exit 3) for an unknown name, a bad config file, or nothing to check."""
    import os

    from aimux_cli import config as cfg

    env = os.environ if env is None else env
    config = cfg.load(env=env) if config is None else config
    rows = cfg.rows(config)
    for name in names:
        if name not in rows:
            raise ConfigError(f"unknown provider {name!r} (known: {cfg.names_line(config.providers)})")
    chosen = list(dict.fromkeys(names)) or sorted(
        n for n, row in rows.items() if n in config.providers or _has_key(row, env)
    )
    targets = [_with_choices(_target(name, rows[name], strict, env, config), config, checks, budget)
               for name in chosen]
    if not any(t.resolved is not None or t.status == "fail" for t in targets):
        raise ConfigError(_nothing_message(targets, rows, config))
    return targets


def _has_key(row: Any, env: Mapping[str, str]) -> bool:
    """Whether the row's key variable, or one of its others (`key_env_also`: Cohere's two names), is set."""
    return bool(row.key_env) and any(env.get(v, "").strip() for v in (row.key_env, *row.key_env_also))


def _target(name: str, row: Any, strict: bool, env: Mapping[str, str], config: Config) -> Target:
    from aimux_cli import config as cfg
    from aimux_cli.request import safe_url

    settings = config.providers.get(name, cfg.ProviderSettings())
    model, base_url = row.default_model, safe_url(row.base_url)
    if row.key_env and not _has_key(row, env) and not settings.api_key_cmd:
        problem = f"no API key: set {' or '.join((row.key_env, *row.key_env_also))} (or api_key_cmd in {config.path})"
        return Target(name, model, base_url, problem=problem, status="fail" if strict else "skip")
    try:
        resolved = cfg.resolve(name, env=env, config=config)
    except ConfigError as exc:  # a failing api_key_cmd or a missing model fails this provider, not the report
        return Target(name, model, base_url, problem=_strip_name(str(exc), name), status="fail")
    return Target(name, resolved.model, safe_url(resolved.base_url), resolved=resolved)


def adhoc(base_url: str, wire: str, *, model: str | None = None, key_env: str | None = None,
          name: str | None = None, env: Mapping[str, str] | None = None, checks: Sequence[str] | None = None,
          budget: Budget = Budget()) -> Target:
    """A target given on the command line alone (`--base-url URL --wire W`, a staging gateway); no config is read.
    Without `model` the models check picks the first model listed. The key is read from `key_env` when given (its
    absence is a ConfigError), sent the wire's usual way; the name defaults to the URL's host[:port]."""
    import os
    from urllib.parse import urlsplit

    from aimux_cli.config import DEFAULT_TIMEOUT, ResolvedProvider, checked_key
    from aimux_cli.errors import UsageError
    from aimux_cli.providers import DEFAULT_AUTH, WIRES
    from aimux_cli.request import safe_url
    from aimux_cli.urlcheck import check_url

    env = os.environ if env is None else env
    if wire not in WIRES:
        raise UsageError(f"--wire: unknown wire format {wire!r} (expected one of: {', '.join(WIRES)})")
    url = check_url(base_url, "--base-url", UsageError)
    checks = tuple(checks or DEFAULT_CHECKS)
    if not model and "models" not in checks:
        raise UsageError("--model is needed when the models check is not run (it picks the first model listed)")
    key = None
    if key_env:
        if not env.get(key_env, "").strip():
            raise ConfigError(f"no API key: the variable {key_env} (--key-env) is not set")
        key = checked_key(env[key_env], f"the API key in {key_env}")
    name = name or urlsplit(url).netloc
    resolved = ResolvedProvider(name, wire, url, model or "", key, {}, DEFAULT_TIMEOUT, DEFAULT_AUTH[wire], key_env,
                                "(no config: an ad-hoc target)")
    return Target(name, model or "", safe_url(url), resolved=resolved, checks=checks, budget=budget)


def _with_choices(target: Target, config: Config, checks: Sequence[str] | None, budget: Budget) -> Target:
    """The target with its checks and limits: the command line's, else its config table's, else the defaults."""
    settings = config.providers.get(target.name)
    configured = getattr(settings, "checks", None)
    if checks is None and configured is not None:
        checks = parse_checks(configured, f"{config.path}: providers.{target.name}.checks", ConfigError)
    return replace(target, checks=tuple(checks or DEFAULT_CHECKS), budget=budget.over(settings))


def parse_checks(names: str | Sequence[str], where: str, error: type[Exception]) -> tuple[str, ...]:
    """Check names (a comma-separated string or a list) -> those names in the order of CHECKS; `error` names
    `where` for an unknown or empty choice."""
    items = [n.strip() for n in (names.split(",") if isinstance(names, str) else names)]
    items = [n for n in items if n]
    unknown = [n for n in items if n not in CHECKS]
    if unknown or not items:
        what = f"unknown check {unknown[0]!r}" if unknown else "no check named"
        raise error(f"{where}: {what} (expected some of: {', '.join(CHECKS)})")
    return tuple(n for n in CHECKS if n in items)


def _nothing_message(targets: list[Target], rows: Mapping[str, Any], config: Config) -> str:
    if targets:
        missing = ", ".join(f"{t.name} ({t.problem})" for t in targets)
        return f"nothing to check: every selected provider lacks a key: {missing}; use --strict to count them as failed"
    variables = ", ".join(sorted({row.key_env for row in rows.values() if row.key_env}))
    return (f"nothing to check: no provider is configured. Set a key variable ({variables}), or add a "
            f"[providers.NAME] table to {config.path}, or name providers: aimux test-providers NAME...")


# --- checks --------------------------------------------------------------------------------------------------------


async def check_all(targets: Sequence[Target], timeout: float,
                    on_result: Callable[[int, ProviderResult], None] | None = None, *,
                    log: bool = False) -> list[ProviderResult]:
    """Check every target concurrently, each within its own `timeout` seconds; results keep the targets' order.
    `on_result(index, result)` is called as each provider finishes (a terminal shows its row at once). `log`
    writes every step's exchange to the log once all are done (health_log; a broken log is one warning)."""
    async with session_for(targets) as session:
        async def one(index: int, target: Target) -> ProviderResult:
            result = await check_target(session, target, timeout)
            if on_result is not None:
                on_result(index, result)
            return result

        results = list(await asyncio.gather(*(one(i, t) for i, t in enumerate(targets))))
    if log:
        from aimux_cli import health_log

        health_log.record(targets, results)
    return results


def session_for(targets: Sequence[Target]) -> AsyncSession:
    """One client session for the targets, with the client and the wire parsers imported before any clock starts."""
    from aimux_cli import client_async, streams, wire  # noqa: F401 - imported before the clocks start
    from aimux_cli.client_async import AsyncSession

    client_async.warm_async()
    for t in targets:
        if t.resolved is not None:
            wire.module(t.resolved.wire)
    tls = any(not t.resolved.base_url.startswith("http://") for t in targets if t.resolved is not None)
    return AsyncSession(max_connections=max(4, 2 * len(targets)), tls=tls)


async def check_target(session: AsyncSession, target: Target, timeout: float) -> ProviderResult:
    """One run of a target's checks (a target that is not checked reports why)."""
    if target.resolved is None:
        checks = [Check(name) for name in target.checks]
        checks[0].status, checks[0].error, checks[0].category = target.status, target.problem, "config"
        return ProviderResult(target.name, target.model, target.base_url, target.status, checks)
    checks, model = await check_provider(session, target.resolved, timeout, target.checks, target.budget)
    status = "fail" if any(c.status == "fail" for c in checks) else "pass"
    return ProviderResult(target.name, model, target.base_url, status, checks)


async def check_provider(session: AsyncSession, resolved: ResolvedProvider, timeout: float,
                         names: Sequence[str] = DEFAULT_CHECKS, budget: Budget | None = None
                         ) -> tuple[list[Check], str]:
    """Run the checks `names` in order; all of them together get `timeout` seconds. A functional failure of a
    gate check (models, complete) skips the ones after it; a failed budget does not. (checks, model checked)."""
    from aimux_cli.health_budget import verdict

    deadline = time.monotonic() + timeout
    checks = [Check(name, budget=(budget or Budget()).limits(name)) for name in names]
    for check in checks:
        remaining = deadline - time.monotonic()
        start, check.started = time.monotonic(), time.time()
        try:
            if remaining <= 0:
                raise TimeoutError
            async with asyncio.timeout(remaining):  # the deadline; the client's own timeout is only a backstop
                check.http_status = await runner(check.name)(session, resolved, remaining + 1.0, check)
            check.status = "pass"
        except TimeoutError:
            check.status, check.error = "fail", f"timed out: no result within the {timeout:g} s deadline"
            check.category = "timeout"
        except Exception as exc:  # noqa: BLE001 - one provider's surprise must not end the whole report
            check.status, check.error, check.category = "fail", error_line(exc, resolved), error_category(exc)
            status = getattr(exc, "status", None)
            check.http_status = status if isinstance(status, int) and status > 0 else None
            check.exchange["error"] = exc
        check.latency_ms = round((time.monotonic() - start) * 1000)
        check.ended = check.started + (time.monotonic() - start)
        if check.status == "pass" and (why := verdict(check)):
            check.status, check.error, check.category = "fail", why, "budget"
        if "model" in check.exchange:  # the models check chose the model of an ad-hoc target
            resolved = replace(resolved, model=check.exchange["model"])
        if check.status == "fail" and check.category != "budget" and check.name in GATES:
            break
    return checks, resolved.model


def runner(name: str) -> Callable[..., Any]:
    """The coroutine of the check `name` (health_checks, health_capabilities)."""
    from aimux_cli import health_checks

    basic = {"models": health_checks.models, "complete": health_checks.complete, "stream": health_checks.stream}
    if name in basic:
        return basic[name]
    from aimux_cli import health_capabilities as capable

    return {"stream-usage": capable.stream_usage, "tools": capable.tools, "schema": capable.schema,
            "reasoning": capable.reasoning}[name]


def error_category(exc: BaseException) -> str:
    """The category of a failed step: the exit-code category of an aimux error (errors.CATEGORIES), else internal."""
    from aimux_cli.errors import category

    return category(exc.exit_code) if isinstance(exc, AimuxError) else "internal"


# --- helpers ----------------------------------------------------------------------------------------------------------


def error_line(exc: BaseException, resolved: ResolvedProvider) -> str:
    """One printable line for a failed step, without the provider's name prefix and without the key."""
    from aimux_cli.request import redact

    from aimux_cli.errors import internal_error_line

    text = str(exc) or type(exc).__name__
    if not isinstance(exc, AimuxError):  # a bug or an unforeseen shape: say so rather than pretend it is the provider
        text = internal_error_line(exc)
    text = _strip_name(text, resolved.name)
    text = redact(text, [resolved.api_key])  # before lines are joined: a key may span lines
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return text if len(text) <= 300 else text[:299] + "…"


def report(results: Sequence[ProviderResult], started: float | None = None) -> dict[str, Any]:
    """The report document (see the module docstring of commands/test_providers.py for the schema); `started` is
    the run's wall-clock start (time.time())."""
    from aimux_cli import __version__

    counts = {s: sum(1 for r in results if r.status == s) for s in ("pass", "fail", "skip")}
    return {"aimux_version": __version__, "started_at": iso_utc(started),
            "providers": [r.to_dict() for r in results], "passed": counts["pass"], "failed": counts["fail"],
            "skipped": counts["skip"]}


def _strip_name(text: str, name: str) -> str:
    return text.removeprefix(f"{name}: ").removeprefix(f"provider {name}: ")
