"""`aimux test-providers` checks: configured providers -> one result per provider -> the JSON report.

    targets = plan(names, strict=False)            # who is checked, skipped or failed up front; may raise ConfigError
    results = asyncio.run(check_all(targets, 30))  # concurrent checks, each provider within its own deadline
    report(results)                                # {"providers": [...], "passed", "failed", "skipped"}

Each checked provider runs three steps in order, and a failed step skips the ones after it:
`models` (the model list answers, and lists the configured model when the provider lists models), `complete` (a
minimal non-streaming completion normalizes to a document with status ok and some text) and `stream` (a minimal
streamed completion delivers a first token and ends with its terminal event). The steps of one provider share one
deadline, so a hanging provider is cut off at `timeout` seconds while the others go on. Requests are not retried:
a health check reports what the provider does right now.

Each check records its HTTP status, an error category (errors.CATEGORIES by exit code; `timeout` for the deadline;
an error inside a 200 response by the provider's error type, errors.exit_code_for_error) and its wall-clock start
and end. `check_all(..., on_result)` reports each provider as it finishes, for a terminal's live table.

Secrets: errors are one line (HTTP status and the provider's error type/message, or the timeout/network problem),
scrubbed of the key; `base_url` is shown without userinfo or query. The network is reached only through client.py.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aimux_cli.errors import AimuxError, CheckFailed, ConfigError, ExitCode

if TYPE_CHECKING:
    from aimux_cli.client import AsyncSession
    from aimux_cli.config import Config, ResolvedProvider

STEPS = ("models", "complete", "stream")
PROMPT = "Reply with the single word: OK"
# Room for reasoning models (gpt-oss, Gemini 2.5) to think before the word; a tighter limit ends some of them with
# no text at all, which would fail a healthy provider.
MAX_TOKENS = 512
MAX_PAGES = 10  # model-list pages followed looking for the configured model
PAGE_SIZE = 1000  # the largest page Anthropic and Gemini serve
_DATED = re.compile(r"\d{8}|\d{4}-\d{2}-\d{2}")  # snapshot suffixes: claude-…-20250929, gpt-…-2025-04-14


@dataclass
class Check:
    """One step of one provider."""

    name: str  # models | complete | stream
    status: str = "skip"  # pass | fail | skip
    latency_ms: int | None = None  # wall time of the step; None when it did not run
    error: str | None = None  # one line, no secrets
    http_status: int | None = None  # the HTTP status of the step's (last) response; None when none arrived
    category: str | None = None  # why it failed or was skipped (errors.CATEGORIES, or "timeout"); None on a pass
    started: float | None = None  # wall-clock start and end of the step (time.time()); None when it did not run
    ended: float | None = None
    exchange: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # for --log (health_log)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "latency_ms": self.latency_ms, "error": self.error,
                "http_status": self.http_status, "category": self.category, "started_at": iso_utc(self.started),
                "ended_at": iso_utc(self.ended)}


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


# --- selection -----------------------------------------------------------------------------------------------------


def plan(names: Sequence[str] = (), *, strict: bool = False, env: Mapping[str, str] | None = None,
         config: Config | None = None) -> list[Target]:
    """The providers to report on: `names`, else those with a key (catalog rows whose key variable is set, and
    every `[providers.NAME]` table of the config file). A provider without a key is skipped, or failed when
    `strict`. Raises ConfigError (exit 3) for an unknown name, a bad config file, or nothing to check."""
    import os

    from aimux_cli import config as cfg

    env = os.environ if env is None else env
    config = cfg.load(env=env) if config is None else config
    rows = cfg.rows(config)
    for name in names:
        if name not in rows:
            raise ConfigError(f"unknown provider {name!r} (known: {cfg.names_line(config.providers)})")
    chosen = list(dict.fromkeys(names)) or sorted(
        n for n, row in rows.items() if n in config.providers or (row.key_env and env.get(row.key_env, "").strip())
    )
    targets = [_target(name, rows[name], strict, env, config) for name in chosen]
    if not any(t.resolved is not None or t.status == "fail" for t in targets):
        raise ConfigError(_nothing_message(targets, rows, config))
    return targets


def _target(name: str, row: Any, strict: bool, env: Mapping[str, str], config: Config) -> Target:
    from aimux_cli import config as cfg
    from aimux_cli.request import safe_url

    settings = config.providers.get(name, cfg.ProviderSettings())
    model, base_url = row.default_model, safe_url(row.base_url)
    if row.key_env and not env.get(row.key_env, "").strip() and not settings.api_key_cmd:
        problem = f"no API key: set {row.key_env} (or api_key_cmd in {config.path})"
        return Target(name, model, base_url, problem=problem, status="fail" if strict else "skip")
    try:
        resolved = cfg.resolve(name, env=env, config=config)
    except ConfigError as exc:  # a failing api_key_cmd or a missing model fails this provider, not the report
        return Target(name, model, base_url, problem=_strip_name(str(exc), name), status="fail")
    return Target(name, resolved.model, safe_url(resolved.base_url), resolved=resolved)


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
    from aimux_cli import client, streams, wire  # noqa: F401 - imported before the clocks start, like:
    from aimux_cli.client import AsyncSession

    client.warm_async()
    for t in targets:
        if t.resolved is not None:
            wire.module(t.resolved.wire)
    tls = any(not t.resolved.base_url.startswith("http://") for t in targets if t.resolved is not None)
    async with AsyncSession(max_connections=max(4, 2 * len(targets)), tls=tls) as session:
        async def one(index: int, target: Target) -> ProviderResult:
            result = await _one(session, target, timeout)
            if on_result is not None:
                on_result(index, result)
            return result

        results = list(await asyncio.gather(*(one(i, t) for i, t in enumerate(targets))))
    if log:
        from aimux_cli import health_log

        health_log.record(targets, results)
    return results


async def _one(session: AsyncSession, target: Target, timeout: float) -> ProviderResult:
    if target.resolved is None:
        checks = [Check(name) for name in STEPS]
        checks[0].status, checks[0].error, checks[0].category = target.status, target.problem, "config"
        return ProviderResult(target.name, target.model, target.base_url, target.status, checks)
    checks = await check_provider(session, target.resolved, timeout)
    status = "fail" if any(c.status == "fail" for c in checks) else "pass"
    return ProviderResult(target.name, target.model, target.base_url, status, checks)


async def check_provider(session: AsyncSession, resolved: ResolvedProvider, timeout: float) -> list[Check]:
    """Run the steps in order until one fails; all of them together get `timeout` seconds."""
    deadline = time.monotonic() + timeout
    checks = [Check(name) for name in STEPS]
    for check, step in zip(checks, (_models, _complete, _stream)):
        remaining = deadline - time.monotonic()
        start, check.started = time.monotonic(), time.time()
        try:
            if remaining <= 0:
                raise TimeoutError
            async with asyncio.timeout(remaining):  # the deadline; the client's own timeout is only a backstop
                check.http_status = await step(session, resolved, remaining + 1.0, check.exchange)
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
        if check.status == "fail":
            break
    return checks


def error_category(exc: BaseException) -> str:
    """The category of a failed step: the exit-code category of an aimux error (errors.CATEGORIES), else internal."""
    from aimux_cli.errors import category

    return category(exc.exit_code) if isinstance(exc, AimuxError) else "internal"


async def _models(session: AsyncSession, resolved: ResolvedProvider, timeout: float, seen: dict | None = None) -> int:
    """The model list lists the model; returns the HTTP status of the last page. `seen` gets the last request and
    response (for the log), as in the other steps."""
    seen = {} if seen is None else seen
    from aimux_cli.request import models_request

    base = models_request(resolved)
    prepared = _with_query(base, _first_page(resolved.wire))
    ids: list[str] = []
    status = 0
    for _ in range(MAX_PAGES):
        seen["prepared"] = prepared
        seen.pop("response", None)
        response = await session.send(prepared, timeout=timeout, retries=0)
        status = response.status
        seen["response"] = response
        page, next_query = model_page(_json(response.body, "model list", status))
        if page is None:
            return status  # the provider answered but does not list models in a known shape: nothing more to verify
        ids += page
        if model_listed(resolved.model, ids) or not next_query:
            break
        prepared = _with_query(base, {**_first_page(resolved.wire), **next_query})
    if not model_listed(resolved.model, ids):
        raise _failed(f"model {resolved.model} is not in the provider's model list ({len(ids)} models listed)",
                      status)
    return status


async def _complete(session: AsyncSession, resolved: ResolvedProvider, timeout: float,
                    seen: dict | None = None) -> int:
    """A minimal completion is an ok document with text; returns its HTTP status."""
    from aimux_cli import request, wire

    seen = {} if seen is None else seen
    prepared = seen["prepared"] = request.build(resolved, prompt=PROMPT, max_tokens=MAX_TOKENS, stream=False)
    response = seen["response"] = await session.send(prepared, timeout=timeout, retries=0)
    status = response.status
    doc = seen["doc"] = wire.parse_body(_json(response.body, "completion", status), api=resolved.wire,
                                        provider=resolved.name, http_status=status)
    if doc is None:
        raise _failed("the completion is not a response of the provider's wire format", status)
    _judge(doc, status)
    if not doc.text().strip():
        raise _failed(f"the completion has no text (finish: {doc.finish_raw or doc.finish or 'none'})", status)
    return status


async def _stream(session: AsyncSession, resolved: ResolvedProvider, timeout: float, seen: dict | None = None) -> int:
    """A minimal stream delivers a token and its terminal event; returns its HTTP status."""
    from aimux_cli import request, streams, wire

    seen = {} if seen is None else seen
    prepared = seen["prepared"] = request.build(resolved, prompt=PROMPT, max_tokens=MAX_TOKENS, stream=True)
    folder = wire.StreamFolder(api=resolved.wire, provider=resolved.name)
    sse = resolved.wire != "ollama.chat"
    parser = streams.SSEParser() if sse else streams.NDJSONParser()
    tokens = 0
    async with session.stream(prepared, timeout=timeout, retries=0) as body:
        status = body.status or 0
        seen["response"] = body
        async for chunk in body:
            tokens += _fold(folder, parser.feed(chunk), sse)
    tokens += _fold(folder, parser.close(), sse)
    if folder.acc is None:
        raise _failed("the stream carried no events", status)
    doc = seen["doc"] = folder.document()
    if doc.status == "error":
        _judge(doc, status)
    if not folder.acc.terminal:
        raise _failed(f"the stream ended without its terminal event ({folder.events} events received)", status,
                      ExitCode.INCOMPLETE)
    if not tokens:
        raise _failed("the stream ended without delivering a token", status)
    _judge(doc, status)
    return status


def _fold(folder: Any, items: list, sse: bool) -> int:
    """Feed parsed events into the folder; returns how many visible deltas (tokens) they carried."""
    count = 0
    for item in items:
        deltas = folder.feed_sse(item.data, item.event) if sse else folder.feed_json(item)
        count += sum(1 for _, text in deltas if text)
    return count


def _judge(doc: Any, http_status: int) -> None:
    """Fail on an error document (categorized by the provider's error type, as `--fail` and `ask` do) or one that
    is not ok."""
    from aimux_cli.errors import exit_code_for_error

    if doc.status == "error":
        err = doc.error
        parts = [f"HTTP {err['status']}" if err.get("status") else "error in the response"]
        detail = ": ".join(str(err[k]) for k in ("type", "message") if err.get(k))
        raise _failed(f"{parts[0]}: {detail}" if detail else parts[0], err.get("status") or http_status,
                      exit_code_for_error(err))
    if doc.status != "ok":
        raise _failed(f"the response is {doc.status} (finish: {doc.finish_raw or doc.finish or 'none'})",
                      http_status)


def _failed(message: str, http_status: int, code: ExitCode = ExitCode.CHECK_FAILED) -> CheckFailed:
    """A failed check carrying the HTTP status of the response it judged and its category's exit code."""
    exc = CheckFailed(message, exit_code=code)
    exc.status = http_status or None
    return exc


# --- pure helpers ----------------------------------------------------------------------------------------------------


def model_page(body: Any) -> tuple[list[str] | None, dict[str, str] | None]:
    """The model ids of one model-list page and the query for the next page; (None, None) for an unknown shape.

    Shapes: `{"data": [{"id"}]}` (OpenAI and compatibles; Anthropic adds `has_more`/`last_id`),
    `{"models": [{"name"}]}` (Gemini, with `nextPageToken`; Ollama's /api/tags)."""
    if not isinstance(body, dict):
        return None, None
    if isinstance(body.get("data"), list):
        ids = [m.get("id") for m in body["data"] if isinstance(m, dict)]
        more = body.get("has_more") is True and isinstance(body.get("last_id"), str)
        return [i for i in ids if isinstance(i, str)], ({"after_id": body["last_id"]} if more else None)
    if isinstance(body.get("models"), list):
        ids = [m.get("name") or m.get("model") or m.get("id") for m in body["models"] if isinstance(m, dict)]
        token = body.get("nextPageToken")
        return [i for i in ids if isinstance(i, str)], ({"pageToken": token} if isinstance(token, str) and token
                                                          else None)
    return None, None


def model_listed(model: str, ids: Sequence[str]) -> bool:
    """Whether `model` is among the listed ids, allowing the aliases providers use: Gemini's `models/` prefix,
    Ollama's implicit `:latest` tag, and a dated snapshot for an undated alias (`claude-sonnet-4-5` ->
    `claude-sonnet-4-5-20250929`, `…-latest` likewise)."""
    want = model.removeprefix("models/")
    stem = want.removesuffix("-latest")
    for listed in ids:
        got = listed.removeprefix("models/")
        if got in (want, f"{want}:latest"):
            return True
        if got.startswith(stem + "-") and _DATED.fullmatch(got[len(stem) + 1:]):
            return True
    return False


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


def report(results: Sequence[ProviderResult]) -> dict[str, Any]:
    """The report document (see the module docstring of commands/test_providers.py for the schema)."""
    counts = {s: sum(1 for r in results if r.status == s) for s in ("pass", "fail", "skip")}
    return {"providers": [r.to_dict() for r in results], "passed": counts["pass"], "failed": counts["fail"],
            "skipped": counts["skip"]}


def _strip_name(text: str, name: str) -> str:
    return text.removeprefix(f"{name}: ").removeprefix(f"provider {name}: ")


def _first_page(wire: str) -> dict[str, str]:
    return {"anthropic.messages": {"limit": str(PAGE_SIZE)},
            "gemini.generate": {"pageSize": str(PAGE_SIZE)}}.get(wire, {})


def _with_query(prepared: Any, query: Mapping[str, str]) -> Any:
    return replace(prepared, url=f"{prepared.url}?{urlencode(query)}") if query else prepared


def _json(body: bytes, what: str, http_status: int = 0) -> Any:
    import orjson

    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise _failed(f"the {what} is not JSON ({len(body)} bytes)", http_status) from None
