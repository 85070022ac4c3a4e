"""The capability checks of `aimux test-providers` (--checks, or `checks = [...]` per provider); none runs by default.

    stream-usage  a minimal stream reports token usage at its end (OpenAI-compatible wires need
                  `stream_options.include_usage`, which request.build sends)
    tools         a forced call of a small tool (TOOL) comes back as a call of that tool whose JSON arguments
                  validate against the tool's parameter schema
    schema        structured output (SCHEMA) comes back as JSON that validates against the schema
    reasoning     a request with reasoning on (`low`) comes back with thinking, or with reasoning tokens counted

Same signature as health_checks: (session, provider, timeout, Check) -> HTTP status; a failure is CheckFailed
(category `check`) with one line saying what was missing or which path of the answer broke the schema. Requests are
built by request.build with request_extras.Extras, the same code as `ask --tool/--tool-choice/--schema/--reasoning`;
answers are validated by schema_check (jsonschema, imported only when a check runs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aimux_cli.health_checks import MAX_TOKENS, PROMPT, failed, judge, send_stream, send_whole

if TYPE_CHECKING:
    from aimux_cli.client_async import AsyncSession
    from aimux_cli.config import ResolvedProvider
    from aimux_cli.health import Check

TOOL_NAME = "get_weather"
TOOL_PARAMETERS = {
    "type": "object",
    "properties": {"city": {"type": "string", "minLength": 1},
                   "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
    "required": ["city", "unit"],
    "additionalProperties": False,
}
TOOL_PROMPT = "What is the weather in Paris, in celsius? Use the get_weather tool."
SCHEMA = {
    "title": "capital",
    "type": "object",
    "properties": {"city": {"type": "string", "minLength": 1}, "country": {"type": "string", "minLength": 1}},
    "required": ["city", "country"],
    "additionalProperties": False,
}
SCHEMA_PROMPT = "What is the capital of France? Answer with the city and the country."
REASONING_PROMPT = "What is 17 * 23? Think it through, then reply with the number alone."
PROMPTS = {"tools": TOOL_PROMPT, "schema": SCHEMA_PROMPT, "reasoning": REASONING_PROMPT}  # for the log
REASONING_MAX_TOKENS = 4096  # above Anthropic's smallest thinking budget (1024), with room for the answer


async def stream_usage(session: AsyncSession, resolved: ResolvedProvider, timeout: float, check: Check) -> int:
    """A minimal stream ends with its usage: output tokens counted."""
    from aimux_cli import request

    prepared = request.build(resolved, prompt=PROMPT, max_tokens=MAX_TOKENS, stream=True)
    status, doc, _folder = await send_stream(session, resolved, prepared, timeout, check)
    judge(doc, status)
    output = (doc.usage or {}).get("output_tokens")
    if not isinstance(output, int):
        counted = ", ".join(sorted(doc.usage)) or "nothing"
        raise failed(f"the stream reported no output token count at its end (usage: {counted})", status)
    return status


async def tools(session: AsyncSession, resolved: ResolvedProvider, timeout: float, check: Check) -> int:
    """A forced call of TOOL_NAME whose arguments validate against TOOL_PARAMETERS."""
    from aimux_cli import request, schema_check
    from aimux_cli.request_extras import Extras, Tool

    extras = Extras(tools=(Tool(TOOL_NAME, "Get the current weather in a city.", TOOL_PARAMETERS),),
                    tool_choice=TOOL_NAME)
    prepared = request.build(resolved, prompt=TOOL_PROMPT, max_tokens=MAX_TOKENS, stream=False, extras=extras)
    status, doc = await send_whole(session, resolved, prepared, timeout, check)
    judge(doc, status)
    calls = [b for b in doc.blocks if b.get("type") == "tool_call"]
    call = next((b for b in calls if b.get("name") == TOOL_NAME), None)
    if call is None:
        named = ", ".join(str(b.get("name")) for b in calls)
        what = f"calls of {named} only" if calls else f"no tool call (finish: {doc.finish_raw or doc.finish or 'none'})"
        raise failed(f"the forced call of {TOOL_NAME} did not come back: {what}", status)
    arguments = call.get("arguments")
    if isinstance(arguments, str):  # the document keeps arguments that are not JSON as their text
        raise failed(f"the arguments of {TOOL_NAME} are not JSON: {_excerpt(arguments)}", status)
    verdict = schema_check.check(arguments, TOOL_PARAMETERS)
    if not verdict.valid:
        raise failed(f"the arguments of {TOOL_NAME} break its schema: {verdict.first_line()}", status)
    return status


async def schema(session: AsyncSession, resolved: ResolvedProvider, timeout: float, check: Check) -> int:
    """Structured output that validates against SCHEMA."""
    from aimux_cli import request, schema_check
    from aimux_cli.request_extras import Extras, structured_answer

    extras = Extras(schema=SCHEMA)
    prepared = request.build(resolved, prompt=SCHEMA_PROMPT, max_tokens=MAX_TOKENS, stream=False, extras=extras)
    status, doc = await send_whole(session, resolved, prepared, timeout, check)
    judge(doc, status)
    answer = structured_answer(doc, extras)
    if not answer or not answer.strip():
        raise failed(f"the structured answer is empty (finish: {doc.finish_raw or doc.finish or 'none'})", status)
    verdict = schema_check.check(answer, SCHEMA)
    if not verdict.valid:
        raise failed(f"the structured answer breaks the schema: {verdict.first_line()}", status)
    return status


async def reasoning(session: AsyncSession, resolved: ResolvedProvider, timeout: float, check: Check) -> int:
    """With reasoning on, the answer carries thinking (a block, or reasoning tokens in the usage)."""
    from aimux_cli import request
    from aimux_cli.request_extras import Extras

    extras = Extras(reasoning="low")
    prepared = request.build(resolved, prompt=REASONING_PROMPT, max_tokens=REASONING_MAX_TOKENS, stream=False,
                             extras=extras)
    status, doc = await send_whole(session, resolved, prepared, timeout, check)
    judge(doc, status)
    thought = any(b.get("type") in ("thinking", "redacted_thinking") for b in doc.blocks)
    counted = (doc.usage or {}).get("reasoning_tokens")
    if not thought and not (isinstance(counted, int) and counted > 0):
        raise failed("the answer carries no reasoning: no thinking block and no reasoning tokens", status)
    return status


def _excerpt(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
