"""The checks of `aimux test-providers`, one coroutine per check: (session, provider, timeout, Check) -> HTTP status.

    models        the model list answers, and lists the configured model when the provider lists models (an
                  ad-hoc target without --model takes the first model listed: `check.exchange["model"]`)
    complete      a minimal non-streaming completion normalizes to a document with status ok and some text
    stream        a minimal streamed completion delivers a first token and ends with its terminal event

A check raises CheckFailed (or any AimuxError from the client) to fail; it fills in what it measured on the Check:
`ttft_ms` (first visible token of a stream) and `output_tokens` (usage when reported, else the visible deltas).
Requests go through request.build (the same builder as `ask`) and client.py; they are never retried.
`PROMPT`/`MAX_TOKENS` are the requests' prompt and limit; `RATE_PROMPT` asks for a longer answer when --min-tps is
measured (a one-word answer has no rate).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aimux_cli.errors import CheckFailed, ExitCode

if TYPE_CHECKING:
    from aimux_cli.client_async import AsyncSession
    from aimux_cli.config import ResolvedProvider
    from aimux_cli.health import Check

PROMPT = "Reply with the single word: OK"
RATE_PROMPT = "Count from 1 to 40 in words, separated by spaces, and nothing else."
# Room for reasoning models (gpt-oss, Gemini 2.5) to think before the word; a tighter limit ends some of them with
# no text at all, which would fail a healthy provider.
MAX_TOKENS = 512
MAX_PAGES = 10  # model-list pages followed looking for the configured model
PAGE_SIZE = 1000  # the largest page Anthropic and Gemini serve
_DATED = re.compile(r"\d{8}|\d{4}-\d{2}-\d{2}")  # snapshot suffixes: claude-…-20250929, gpt-…-2025-04-14


async def models(session: AsyncSession, resolved: ResolvedProvider, timeout: float, check: Check) -> int:
    """The model list lists the model; returns the HTTP status of the last page. `check.exchange` gets the last
    request and response (for the log), as in the other checks."""
    from aimux_cli.request import models_request

    seen = check.exchange
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
        if page is None and not resolved.model:
            raise failed("the model list has no known shape: name a model with --model", status)
        if page is None:
            return status  # the provider answered but does not list models in a known shape: nothing more to verify
        ids += page
        if not resolved.model and ids:  # an ad-hoc target without --model: the first model listed is checked
            seen["model"] = ids[0].removeprefix("models/")
            return status
        if model_listed(resolved.model, ids) or not next_query:
            break
        prepared = _with_query(base, {**_first_page(resolved.wire), **next_query})
    if not resolved.model:
        raise failed("the provider lists no models: name one with --model", status)
    if not model_listed(resolved.model, ids):
        raise failed(f"model {resolved.model} is not in the provider's model list ({len(ids)} models listed)",
                     status)
    return status


async def complete(session: AsyncSession, resolved: ResolvedProvider, timeout: float, check: Check) -> int:
    """A minimal completion is an ok document with text; returns its HTTP status."""
    from aimux_cli import request

    prepared = request.build(resolved, prompt=PROMPT, max_tokens=MAX_TOKENS, stream=False)
    status, doc = await send_whole(session, resolved, prepared, timeout, check)
    judge(doc, status)
    if not doc.text().strip():
        raise failed(f"the completion has no text (finish: {doc.finish_raw or doc.finish or 'none'})", status)
    return status


async def stream(session: AsyncSession, resolved: ResolvedProvider, timeout: float, check: Check) -> int:
    """A minimal stream delivers a token and its terminal event; returns its HTTP status."""
    from aimux_cli import request

    prompt = RATE_PROMPT if check.budget.get("min_tps") else PROMPT
    prepared = request.build(resolved, prompt=prompt, max_tokens=MAX_TOKENS, stream=True)
    status, doc, _folder = await send_stream(session, resolved, prepared, timeout, check)
    judge(doc, status)
    return status


async def send_whole(session: AsyncSession, resolved: ResolvedProvider, prepared: Any, timeout: float,
                     check: Check) -> tuple[int, Any]:
    """Send a non-streaming request; (HTTP status, the document). Fails when the body is not the wire's JSON."""
    from aimux_cli import wire

    seen = check.exchange
    seen["prepared"] = prepared
    response = seen["response"] = await session.send(prepared, timeout=timeout, retries=0)
    status = response.status
    doc = seen["doc"] = wire.parse_body(_json(response.body, "completion", status), api=resolved.wire,
                                        provider=resolved.name, http_status=status)
    if doc is None:
        raise failed("the completion is not a response of the provider's wire format", status)
    output = (doc.usage or {}).get("output_tokens")
    check.output_tokens = output if isinstance(output, int) else None
    return status, doc


async def send_stream(session: AsyncSession, resolved: ResolvedProvider, prepared: Any, timeout: float,
                      check: Check) -> tuple[int, Any, Any]:
    """Send a streaming request and fold it; (HTTP status, the document, the folder). Fails on a stream without
    events, without its terminal event or without a visible token. Records TTFT and the output tokens."""
    from aimux_cli import streams, wire

    seen = check.exchange
    seen["prepared"] = prepared
    folder = wire.StreamFolder(api=resolved.wire, provider=resolved.name)
    parser = streams.wire_parser(resolved.wire)
    sse = isinstance(parser, streams.SSEParser)
    tokens, sent = 0, time.monotonic()
    first = last = None
    async with session.stream(prepared, timeout=timeout, retries=0) as body:
        status = body.status or 0
        seen["response"] = body
        async for chunk in body:
            got = _fold(folder, parser.feed(chunk), sse)
            if got:
                last = time.monotonic()
                first = first or last
                tokens += got
    tokens += _fold(folder, parser.close(), sse)
    if folder.acc is None:
        raise failed("the stream carried no events", status)
    doc = seen["doc"] = folder.document()
    if doc.status == "error":
        judge(doc, status)
    if not folder.acc.terminal:
        raise failed(f"the stream ended without its terminal event ({folder.events} events received)", status,
                     ExitCode.INCOMPLETE)
    if not tokens:
        raise failed("the stream ended without delivering a token", status)
    output = (doc.usage or {}).get("output_tokens")
    check.output_tokens = output if isinstance(output, int) and output > 0 else tokens
    check.ttft_ms = round((first - sent) * 1000) if first is not None else None
    check.generation_s = (last - first) if first is not None and last is not None else None
    return status, doc, folder


def _fold(folder: Any, items: list, sse: bool) -> int:
    """Feed parsed events into the folder; returns how many visible deltas (tokens) they carried."""
    count = 0
    for item in items:
        deltas = folder.feed_sse(item.data, item.event) if sse else folder.feed_json(item)
        count += sum(1 for _, text in deltas if text)
    return count


def judge(doc: Any, http_status: int) -> None:
    """Fail on an error document (categorized by the provider's error type, as `--fail` and `ask` do) or one that
    is not ok."""
    from aimux_cli.errors import exit_code_for_error

    if doc.status == "error":
        err = doc.error
        parts = [f"HTTP {err['status']}" if err.get("status") else "error in the response"]
        detail = ": ".join(str(err[k]) for k in ("type", "message") if err.get(k))
        raise failed(f"{parts[0]}: {detail}" if detail else parts[0], err.get("status") or http_status,
                     exit_code_for_error(err))
    if doc.status != "ok":
        raise failed(f"the response is {doc.status} (finish: {doc.finish_raw or doc.finish or 'none'})",
                     http_status)


def failed(message: str, http_status: int, code: ExitCode = ExitCode.CHECK_FAILED) -> CheckFailed:
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
        raise failed(f"the {what} is not JSON ({len(body)} bytes)", http_status) from None
