"""Extras -> each wire's request fields: tools, tool choice, structured output (a JSON Schema) and reasoning. Pure.

`apply(wire, body, extras, max_tokens)` adds them to a body request.py built; docs/providers.md ("Request options")
has the table. Anthropic has no response-format field aimux uses: a schema becomes a tool named after it
(`Extras.answer_name()`, default "answer") whose input_schema is the schema, forced with tool_choice, so the answer
arrives as that tool call's arguments (request_extras.structured_answer reads it). Anthropic refuses a forced tool
while thinking is on: with --reasoning low|medium|high the schema goes in `output_config.format` instead, and the
answer arrives as text. A schema whose root is not an object is wrapped as {"value": <schema>} for the tool.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from aimux_cli.errors import UsageError

if TYPE_CHECKING:
    from aimux_cli.request_extras import Extras, Tool

# Anthropic `thinking.budget_tokens` and Gemini `thinkingBudget` per --reasoning level (Anthropic's minimum is 1024)
ANTHROPIC_BUDGETS = {"low": 1024, "medium": 4096, "high": 16384}
GEMINI_BUDGETS = {"none": 0, "low": 1024, "medium": 8192, "high": 24576}
# The keywords Gemini's `responseSchema` / `parameters` (an OpenAPI Schema subset) accepts; a schema using any other
# goes in `responseJsonSchema` / `parametersJsonSchema`, which take JSON Schema as it is.
_GEMINI_SCHEMA_KEYS = frozenset((
    "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties",
    "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf",
    "propertyOrdering", "default", "items", "minimum", "maximum"))
_GEMINI_TYPES = frozenset(("string", "number", "integer", "boolean", "array", "object"))
WRAP_KEY = "value"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")  # as request_extras' tool names: every wire takes it


def apply(wire: str, body: dict, extras: Extras, max_tokens: int | None, own: Any = None) -> None:
    """Add `extras`' tools, tool choice, schema and reasoning to `body` in `wire`'s form (in place). `own`: the
    `apply_extras` of a wire built in a module of its own (request.EXTERNAL_WIRES), which writes them itself. Without
    tools, `--tool-choice auto|none` is not sent: OpenAI and Anthropic refuse a tool choice without tools, and there
    is nothing to choose."""
    _check(extras)
    if not extras.tools and extras.tool_choice is not None:
        from dataclasses import replace

        extras = replace(extras, tool_choice=None)
    apply_wire = _APPLY.get(wire) or own
    if apply_wire is None:
        raise ValueError(f"unknown wire format {wire!r}")
    apply_wire(body, extras, max_tokens)


def _check(extras: Extras) -> None:
    choice = extras.tool_choice
    if choice is None:
        pass
    elif not extras.tools and choice not in ("auto", "none"):
        raise UsageError(f"--tool-choice {choice}: no tools were given (--tool FILE)")
    elif choice not in ("auto", "none", "required") and choice not in {t.name for t in extras.tools}:
        names = ", ".join(t.name for t in extras.tools)
        raise UsageError(f"--tool-choice {choice!r}: not auto, none, required or the name of a tool ({names})")
    if extras.reasoning is not None and extras.reasoning not in GEMINI_BUDGETS:
        raise UsageError(f"--reasoning {extras.reasoning!r}: expected none, low, medium or high")
    if extras.schema_name is not None and not _NAME.fullmatch(extras.schema_name):
        raise UsageError(f"schema name {extras.schema_name!r}: 1-64 letters, digits, _ or -, starting with a letter "
                         "or _")


def strict_ok(schema: Any, root: bool = True) -> bool:
    """Whether OpenAI's strict mode accepts `schema` as it is: an object root, and every object closed
    (additionalProperties false) with every property required."""
    if not isinstance(schema, dict):  # a boolean schema: strict mode takes none
        return False
    if root and schema.get("type") != "object":
        return False
    if schema.get("type") == "object" or "properties" in schema:
        props = schema.get("properties", {})
        if schema.get("additionalProperties") is not False or not isinstance(props, dict):
            return False
        if sorted(schema.get("required", [])) != sorted(props):
            return False
    for key in ("properties", "$defs", "definitions"):
        if any(not strict_ok(s, False) for s in (schema.get(key) or {}).values()):
            return False
    for key in ("anyOf", "allOf", "oneOf", "prefixItems"):
        if any(not strict_ok(s, False) for s in schema.get(key) or ()):
            return False
    items = schema.get("items")
    return items is None or strict_ok(items, False)


def gemini_subset(schema: Any) -> bool:
    """Whether `schema` uses only what Gemini's OpenAPI Schema subset accepts."""
    if not isinstance(schema, dict) or not schema.keys() <= _GEMINI_SCHEMA_KEYS:
        return False
    if "type" in schema and schema["type"] not in _GEMINI_TYPES:
        return False
    props = schema.get("properties", {})
    if not isinstance(props, dict) or not all(gemini_subset(s) for s in props.values()):
        return False
    if "items" in schema and not gemini_subset(schema["items"]):
        return False
    return all(gemini_subset(s) for s in schema.get("anyOf") or ())


def forced_schema(extras: Extras, wire: str) -> tuple[str, dict]:
    """--schema sent as a forced tool (anthropic.messages, bedrock.converse): the tool's name and input schema (an
    object: another root is wrapped under WRAP_KEY, which structured_answer unwraps). UsageError when a tool already
    has that name or a --tool-choice is given (the schema's tool is the one forced)."""
    name = extras.answer_name()
    if name in {t.name for t in extras.tools}:
        raise UsageError(f"--schema: a tool is already named {name!r}; on {wire} the schema is sent as a tool of that "
                         "name (set another name with the schema's title)")
    if extras.tool_choice is not None:
        raise UsageError(f"--tool-choice cannot be combined with --schema on {wire}: the schema is sent as a forced "
                         "tool")
    return name, _object_schema(extras.schema)[0]


FORCED_SCHEMA_DESCRIPTION = "Give the answer as this tool's input, following its schema."


def _object_schema(schema: dict) -> tuple[dict, bool]:
    """The schema as a tool's input schema (an object), and whether it was wrapped under WRAP_KEY."""
    if schema.get("type") == "object":
        return schema, False
    return {"type": "object", "properties": {WRAP_KEY: schema}, "required": [WRAP_KEY]}, True


def _described(entry: dict, tool: Tool) -> dict:
    if tool.description is not None:
        entry["description"] = tool.description
    return entry


# ------------------------------------------------------------------------------------------------- the wires


def _openai_chat(body: dict, extras: Extras, max_tokens: int | None) -> None:
    if extras.tools:
        body["tools"] = [{"type": "function", "function": _described({"name": t.name}, t) | {"parameters":
                         t.parameters}} for t in extras.tools]
    if extras.tool_choice is not None:
        body["tool_choice"] = extras.tool_choice if extras.tool_choice in ("auto", "none", "required") \
            else {"type": "function", "function": {"name": extras.tool_choice}}
    if extras.schema is not None:
        spec: dict[str, Any] = {"name": extras.answer_name(), "schema": extras.schema}
        if strict_ok(extras.schema):
            spec["strict"] = True
        body["response_format"] = {"type": "json_schema", "json_schema": spec}
    if extras.reasoning is not None:
        body["reasoning_effort"] = extras.reasoning


def _openai_responses(body: dict, extras: Extras, max_tokens: int | None) -> None:
    if extras.tools:
        body["tools"] = [_described({"type": "function", "name": t.name}, t)
                         | {"parameters": t.parameters, "strict": strict_ok(t.parameters)} for t in extras.tools]
    if extras.tool_choice is not None:
        body["tool_choice"] = extras.tool_choice if extras.tool_choice in ("auto", "none", "required") \
            else {"type": "function", "name": extras.tool_choice}
    if extras.schema is not None:
        body["text"] = {"format": {"type": "json_schema", "name": extras.answer_name(), "schema": extras.schema,
                                   "strict": strict_ok(extras.schema)}}
    if extras.reasoning is not None:
        body["reasoning"] = {"effort": extras.reasoning}


def _anthropic(body: dict, extras: Extras, max_tokens: int | None) -> None:
    thinking = extras.reasoning not in (None, "none")
    tools = [_described({"name": t.name}, t) | {"input_schema": t.parameters} for t in extras.tools]
    choice = {"auto": {"type": "auto"}, "none": {"type": "none"}, "required": {"type": "any"}}.get(
        extras.tool_choice or "", {"type": "tool", "name": extras.tool_choice} if extras.tool_choice else None)
    if extras.schema is not None and thinking:
        body["output_config"] = {"format": {"type": "json_schema", "schema": extras.schema}}
    elif extras.schema is not None:
        name, schema = forced_schema(extras, "anthropic.messages")
        tools.append({"name": name, "description": FORCED_SCHEMA_DESCRIPTION, "input_schema": schema})
        choice = {"type": "any"} if extras.tools else {"type": "tool", "name": name}
    if tools:
        body["tools"] = tools
    if choice is not None:
        body["tool_choice"] = choice
    if extras.reasoning == "none":
        body["thinking"] = {"type": "disabled"}
    elif thinking:
        budget = ANTHROPIC_BUDGETS[extras.reasoning]
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
        if body["max_tokens"] <= budget:  # the budget counts within max_tokens: leave room for the answer
            body["max_tokens"] = budget + body["max_tokens"]


def _gemini(body: dict, extras: Extras, max_tokens: int | None) -> None:
    if extras.tools:
        decls = []
        for t in extras.tools:
            key = "parameters" if gemini_subset(t.parameters) else "parametersJsonSchema"
            decls.append(_described({"name": t.name}, t) | {key: t.parameters})
        body["tools"] = [{"functionDeclarations": decls}]
    if extras.tool_choice is not None:
        mode = {"auto": "AUTO", "none": "NONE"}.get(extras.tool_choice, "ANY")
        config: dict[str, Any] = {"mode": mode}
        if extras.tool_choice not in ("auto", "none", "required"):
            config["allowedFunctionNames"] = [extras.tool_choice]
        body["toolConfig"] = {"functionCallingConfig": config}
    generation = body.setdefault("generationConfig", {})
    if extras.schema is not None:
        generation["responseMimeType"] = "application/json"
        key = "responseSchema" if gemini_subset(extras.schema) else "responseJsonSchema"
        generation[key] = extras.schema
    if extras.reasoning is not None:
        thinking: dict[str, Any] = {"thinkingBudget": GEMINI_BUDGETS[extras.reasoning]}
        if extras.reasoning != "none":
            thinking["includeThoughts"] = True  # the thought summaries arrive as thinking blocks
        generation["thinkingConfig"] = thinking
    if not generation:
        del body["generationConfig"]


def _ollama(body: dict, extras: Extras, max_tokens: int | None) -> None:
    if extras.tool_choice not in (None, "auto", "none"):
        raise UsageError(f"--tool-choice {extras.tool_choice}: ollama.chat has no tool choice (only auto, or none "
                         "which sends no tools)")
    if extras.tools and extras.tool_choice != "none":
        body["tools"] = [{"type": "function", "function": _described({"name": t.name}, t)
                          | {"parameters": t.parameters}} for t in extras.tools]
    if extras.schema is not None:
        body["format"] = extras.schema
    if extras.reasoning is not None:
        body["think"] = False if extras.reasoning == "none" else extras.reasoning


_APPLY = {
    "openai.chat": _openai_chat,
    "openai.responses": _openai_responses,
    "anthropic.messages": _anthropic,
    "gemini.generate": _gemini,
    "ollama.chat": _ollama,
}
