"""Every request body aimux builds (issue 11: tools, tool choice, schemas, reasoning, attachments, -o, --body, tool
turns), on every wire, validated against the vendors' published definitions:

- OpenAI: ../shared/specs/openai/openapi.yaml, CreateChatCompletionRequest and CreateResponse, with `jsonschema`.
  The spec leaves most objects open (unknown keys pass), so it is also checked "closed": every object schema gets
  unevaluatedProperties false (allOf members excepted), which catches a misspelled or misplaced key. Its oneOf
  unions are read as anyOf: some overlap (a user message whose content is a list is both an EasyInputMessage and
  an InputMessage), so a body OpenAI's own SDK sends would match "more than one".
- Anthropic: the official SDK's MessageCreateParamsStreaming / NonStreaming TypedDicts through pydantic, every
  TypedDict set to extra="forbid" and strict.
- Gemini: the official google-genai SDK's pydantic models (camelCase aliases, extra="forbid") for contents,
  systemInstruction, generationConfig, tools and toolConfig.
- Ollama: the ollama SDK's Message, Tool and ChatRequest models; they ignore unknown keys, so each message must also
  survive the SDK's own round trip unchanged (what the SDK would send).

Each validator has a negative test: a deliberately wrong body fails it.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import orjson
import pytest

from aimux_cli import request
from aimux_cli.errors import UsageError
from aimux_cli.request_extras import Extras
from request_cases import all_cases, attachment, resolved, tools

SPEC = Path(__file__).resolve().parents[1].parent / "shared" / "specs" / "openai" / "openapi.yaml"

# --------------------------------------------------------------------------------------------------- OpenAI


def _any_of(node) -> None:
    """oneOf -> anyOf, in place (see the module docstring)."""
    if isinstance(node, dict):
        if "oneOf" in node and "anyOf" not in node:
            node["anyOf"] = node.pop("oneOf")
        for value in node.values():
            _any_of(value)
    elif isinstance(node, list):
        for item in node:
            _any_of(item)


def _close(node, in_all_of: bool = False) -> None:
    """Give every object schema with properties (or allOf) unevaluatedProperties false, except allOf members."""
    if isinstance(node, dict):
        if not in_all_of and ("properties" in node or "allOf" in node) and "additionalProperties" not in node \
                and "unevaluatedProperties" not in node:
            node["unevaluatedProperties"] = False
        for key, value in node.items():
            if key == "allOf":
                for member in value:
                    _close(member, True)
            elif key in ("properties", "patternProperties", "$defs", "definitions") and isinstance(value, dict):
                for schema in value.values():  # a map of names to schemas, not a schema itself
                    _close(schema)
            elif key not in ("enum", "const", "default", "example", "examples", "required"):
                _close(value)
    elif isinstance(node, list):
        for item in node:
            _close(item)


@pytest.fixture(scope="module")
def openai_spec():
    if not SPEC.exists():
        pytest.skip(f"the OpenAI spec is absent ({SPEC}): shared/ is not beside the repo")
    yaml = pytest.importorskip("yaml", reason="pyyaml is a test dependency (pip install -e .[test])")
    jsonschema = pytest.importorskip("jsonschema")
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    spec = yaml.load(SPEC.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    schemas = spec["components"]["schemas"]
    _any_of(schemas)
    allof_refs = {m["$ref"].rsplit("/", 1)[1] for s in schemas.values() if isinstance(s, dict)
                  for m in s.get("allOf", ()) if isinstance(m, dict) and "$ref" in m}
    closed = copy.deepcopy(schemas)
    for name, schema in closed.items():
        _close(schema, in_all_of=name in allof_refs)
    validators = {}
    for label, components in (("open", schemas), ("closed", closed)):
        resource = Resource.from_contents({"components": {"schemas": components}}, default_specification=DRAFT202012)
        registry = Registry().with_resource("urn:openai", resource)
        for name in ("CreateChatCompletionRequest", "CreateResponse"):
            root = {"$ref": f"urn:openai#/components/schemas/{name}"}
            if label == "closed":  # the request itself is an allOf member elsewhere: closed here
                root["unevaluatedProperties"] = False
            validators[label, name] = jsonschema.Draft202012Validator(root, registry=registry)
    return validators


def _openai_errors(validators, name: str, body: dict) -> list[str]:
    errors = []
    for label in ("open", "closed"):
        for err in validators[label, name].iter_errors(body):
            best = min(err.context or [err], key=lambda e: len(e.absolute_path) * -1)
            errors.append(f"{label}: {'/'.join(map(str, err.absolute_path))}: {best.message[:300]}")
    return errors


# ------------------------------------------------------------------------------------------------- Anthropic


@pytest.fixture(scope="module")
def anthropic_adapters():
    pytest.importorskip("anthropic", reason="the anthropic SDK is a test dependency (pip install -e .[test])")
    from pydantic import TypeAdapter
    from typing_extensions import is_typeddict

    from anthropic.types import message_create_params as params

    for name, module in list(sys.modules.items()):
        if name.startswith("anthropic.types"):
            for value in vars(module).values():
                if isinstance(value, type) and is_typeddict(value):
                    value.__pydantic_config__ = {"extra": "forbid", "strict": True, "arbitrary_types_allowed": True}
    return {True: TypeAdapter(params.MessageCreateParamsStreaming),
            False: TypeAdapter(params.MessageCreateParamsNonStreaming)}


def _consume(value):
    """The SDK types use Iterable[...]: pydantic validates those lazily, item by item, as they are iterated."""
    if isinstance(value, dict):
        return {k: _consume(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or type(value).__name__ == "ValidatorIterator":
        return [_consume(v) for v in value]
    return value


# The SDK dropped these in 1.0 (the API deprecates them: models after Claude Opus 4.6 refuse them), yet the API still
# takes them for older models and `ask --temperature` sends what the user asks for: checked here by hand.
DEPRECATED_SAMPLING = {"temperature": (int, float), "top_p": (int, float), "top_k": (int,)}


def _anthropic_errors(adapters, body: dict) -> list[str]:
    from pydantic import ValidationError

    body, errors = dict(body), []
    for key, kinds in DEPRECATED_SAMPLING.items():
        value = body.pop(key, 0)
        if isinstance(value, bool) or not isinstance(value, kinds):
            errors.append(f"{key}: {value!r} is not a number of the right kind")
    try:
        _consume(adapters[body.get("stream") is True].validate_python(body))
    except ValidationError as exc:
        return errors + [f"{'/'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()][:20]
    return errors


# ---------------------------------------------------------------------------------------------------- Gemini


@pytest.fixture(scope="module")
def gemini_types():
    pytest.importorskip("google.genai", reason="google-genai is a test dependency (pip install -e .[test])")
    from google.genai import types

    return types


def _gemini_errors(types, body: dict) -> list[str]:
    from pydantic import ValidationError

    fields = {"contents": types.Content, "systemInstruction": types.Content, "generationConfig": types.GenerationConfig,
              "tools": types.Tool, "toolConfig": types.ToolConfig, "safetySettings": types.SafetySetting,
              "cachedContent": None}
    errors = [f"unknown top-level field {k!r}" for k in body if k not in fields]
    if "contents" not in body:
        errors.append("contents is required")
    for key, value in body.items():
        model = fields.get(key)
        if model is None:
            continue
        for i, item in enumerate(value if key in ("contents", "tools", "safetySettings") else [value]):
            try:  # JSON mode: bytes fields (inlineData.data) must then be valid base64
                model.model_validate_json(orjson.dumps(item))
            except ValidationError as exc:
                errors += [f"{key}/{i}/{'/'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()][:10]
            if key == "contents" and item.get("role") not in ("user", "model"):
                errors.append(f"contents/{i}: role {item.get('role')!r} is not user or model")
    return errors


# ---------------------------------------------------------------------------------------------------- Ollama


@pytest.fixture(scope="module")
def ollama_types():
    pytest.importorskip("ollama", reason="the ollama SDK is a test dependency (pip install -e .[test])")
    from ollama import _types

    return _types


def _ollama_errors(types, body: dict) -> list[str]:
    from pydantic import ValidationError

    errors = [f"unknown top-level field {k!r}" for k in body if k not in types.ChatRequest.model_fields]
    try:
        types.ChatRequest.model_validate(body)
        for i, message in enumerate(body.get("messages") or ()):
            given = dict(message)
            if "images" in given:  # the SDK holds an image as Image(value=...) and sends it as a base64 string
                given["images"] = [types.Image(value=v) for v in given["images"]]
            parsed = types.Message.model_validate(given)
            if parsed.model_dump(exclude_none=True) != message:
                errors.append(f"messages/{i}: the SDK would send {parsed.model_dump(exclude_none=True)!r}, "
                              f"not {message!r}")
        for i, tool in enumerate(body.get("tools") or ()):
            parsed = types.Tool.model_validate(tool).model_dump(exclude_none=True)
            for key in ("type", "name", "description"):
                theirs = parsed.get(key) if key == "type" else parsed["function"].get(key)
                ours = tool.get(key) if key == "type" else tool["function"].get(key)
                if theirs != ours:
                    errors.append(f"tools/{i}: {key} {ours!r} read as {theirs!r}")
            if set(tool["function"]) - {"name", "description", "parameters"}:
                errors.append(f"tools/{i}: unknown function fields")
    except ValidationError as exc:
        errors += [f"{'/'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()][:20]
    return errors


# ----------------------------------------------------------------------------------------------------- tests

CASES = all_cases()


@pytest.fixture
def validate(request):
    """validate(wire, body) -> the list of errors the vendor's definition finds."""

    def run(wire: str, body: dict) -> list[str]:
        if wire == "openai.chat":
            return _openai_errors(request.getfixturevalue("openai_spec"), "CreateChatCompletionRequest", body)
        if wire == "openai.responses":
            return _openai_errors(request.getfixturevalue("openai_spec"), "CreateResponse", body)
        if wire == "anthropic.messages":
            return _anthropic_errors(request.getfixturevalue("anthropic_adapters"), body)
        if wire == "gemini.generate":
            return _gemini_errors(request.getfixturevalue("gemini_types"), body)
        return _ollama_errors(request.getfixturevalue("ollama_types"), body)

    return run


@pytest.mark.parametrize(("wire", "case", "kwargs"), CASES, ids=[f"{w}-{c}" for w, c, _ in CASES])
def test_body_validates(validate, wire, case, kwargs):
    prepared = request.build(resolved(wire), **kwargs)
    assert validate(wire, prepared.json_body) == []


BAD = {  # one deliberately wrong body per wire: each must fail its definition
    "openai.chat": [
        {"model": "m", "messages": [{"role": "bot", "content": "hi"}]},
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "tool_choice": "sometimes"},
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "reasoning_efort": "low"},  # closed only
        {"model": "m", "messages": [{"role": "tool", "content": "42"}]},  # no tool_call_id
    ],
    "openai.responses": [
        {"model": "m", "input": [{"type": "function_call_output", "output": "x", "call_id": 5}]},
        {"model": "m", "input": "hi", "reasoning": {"effort": "extreme"}},
        {"model": "m", "input": "hi", "text": {"format": {"type": "json_schema", "schema": {}}}},  # no name
        {"model": "m", "input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]},
        {"model": "m", "input": "hi", "reasoning_effort": "low"},  # chat's key on Responses (closed only)
        {"model": "m", "input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": {}}]},
    ],
    "anthropic.messages": [
        {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "text", "txt": "hi"}]}]},
        {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}], "thinking": {"type": "on"}},
        {"model": "m", "max_tokens": "5", "messages": [{"role": "user", "content": "hi"}]},
        {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}], "response_format": {}},
        {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}], "temperature": "hot"},
        {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "tool_result"}]}]},
    ],
    "gemini.generate": [
        {"contents": [{"role": "user", "parts": [{"inlineDta": {"mimeType": "image/png", "data": "AA=="}}]}]},
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "generationConfig": {"thinkingBudget": 5}},
        {"contents": [{"role": "assistant", "parts": [{"text": "hi"}]}]},
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "toolConfig": {"mode": "ANY"}},
    ],
    "ollama.chat": [
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "thinks": True},
        {"model": "m", "messages": [{"role": "user", "content": "hi", "image": ["AA=="]}]},
        {"model": "m", "messages": [{"role": "assistant", "content": "", "tool_calls": [{"function": {
            "name": "f", "arguments": "{}"}}]}]},  # arguments must be an object
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "format": "yaml"},
    ],
}


@pytest.mark.parametrize(("wire", "index"), [(w, i) for w, bodies in BAD.items() for i in range(len(bodies))])
def test_wrong_body_fails(validate, wire, index):
    assert validate(wire, BAD[wire][index]) != []


def _tool_entry(wire: str, body: dict) -> dict:
    tool = body["tools"][0]
    if wire == "gemini.generate":
        return tool["functionDeclarations"][0]
    return tool["function"] if "function" in tool else tool


def _turn_entry(wire: str, body: dict) -> dict:
    key = {"openai.responses": "input", "gemini.generate": "contents"}.get(wire, "messages")
    return body[key][-1]


@pytest.mark.parametrize("wire", [w for w in BAD])
@pytest.mark.parametrize("where", ["top", "turn", "tool"])
def test_a_misspelled_key_in_a_built_body_fails(validate, wire, where):
    """Each validator is closed where aimux writes: an unknown key at the top, in a turn or in a tool fails."""
    from request_cases import CONVERSATION

    body = request.build(resolved(wire), messages=CONVERSATION, extras=Extras(tools=tools())).json_body
    assert validate(wire, body) == []
    target = {"top": lambda b: b, "turn": lambda b: _turn_entry(wire, b), "tool": lambda b: _tool_entry(wire, b)}
    target[where](body)["descripton"] = "typo"
    assert validate(wire, body) != []


def test_closed_check_catches_an_unknown_key_the_spec_lets_through(openai_spec):
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "reasoning_efort": "low"}
    assert list(openai_spec["open", "CreateChatCompletionRequest"].iter_errors(body)) == []
    assert list(openai_spec["closed", "CreateChatCompletionRequest"].iter_errors(body)) != []


@pytest.mark.parametrize("choice", ["required", "get_weather"])
def test_ollama_has_no_tool_choice(choice):
    with pytest.raises(UsageError, match="ollama.chat has no tool choice"):
        request.build(resolved("ollama.chat"), prompt="x", extras=Extras(tools=tools(), tool_choice=choice))


def test_ollama_refuses_a_pdf():
    with pytest.raises(UsageError, match="PDF"):
        request.build(resolved("ollama.chat"), prompt="x", extras=Extras(attachments=(attachment("page.pdf"),)))
