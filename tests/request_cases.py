"""Request cases shared by the request tests: every issue-11 option on every wire, as request.build arguments.

`cases(wire)` yields (case id, build keyword arguments); the bodies they build are validated against the vendors'
definitions in tests/test_request_spec.py. Fixture files live in tests/data/request and tests/data/attach.
"""

from __future__ import annotations

from pathlib import Path

from aimux_cli.config import ResolvedProvider
from aimux_cli.request_extras import Extras, load_attachment, load_body, load_schema, load_tools, parse_option

WIRES = ("openai.chat", "openai.responses", "anthropic.messages", "gemini.generate", "ollama.chat")
DATA = Path(__file__).parent / "data"
REQ = DATA / "request"
ATTACH = DATA / "attach"
KEY = "sk-test-request-extras-0000"
AUTH = {"openai.chat": "bearer", "openai.responses": "bearer", "anthropic.messages": "x-api-key",
        "gemini.generate": "x-goog-api-key", "ollama.chat": "none"}
MODELS = {"openai.chat": "gpt-4.1-mini", "openai.responses": "gpt-5-mini", "anthropic.messages": "claude-sonnet-4-5",
          "gemini.generate": "gemini-2.5-flash", "ollama.chat": "qwen3:4b"}


def resolved(wire: str, name: str | None = None, **changes) -> ResolvedProvider:
    fields = dict(name=name or wire.split(".")[0], wire=wire, base_url="http://127.0.0.1:9/v1", model=MODELS[wire],
                  api_key=None if wire == "ollama.chat" else KEY, headers={}, timeout=5.0, auth=AUTH[wire],
                  key_env=None, config_path="c.toml")
    fields.update(changes)
    return ResolvedProvider(**fields)


def tools():
    return load_tools(str(REQ / "weather-tool.json")) + load_tools(str(REQ / "openai-tools.json"))


def schema(name: str) -> dict:
    return load_schema(str(REQ / f"{name}.schema.json"))


def attachment(name: str):
    return load_attachment(str(ATTACH / name))


IMAGES = ("pixel.png", "magic-only.jpg", "pixel.gif", "magic-only.webp")

# A conversation that went through tool calls: two parallel calls with ids, their results (one JSON, one text),
# then an answer and a new question.
CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Weather in Paris and Rome?"},
    {"role": "assistant", "content": "Let me check.", "tool_calls": [
        {"id": "call_a1", "name": "get_weather", "arguments": '{"city": "Paris", "unit": "celsius"}'},
        {"id": "call_b2", "name": "get_weather", "arguments": '{"city": "Rome", "unit": "celsius"}'}]},
    {"role": "tool", "tool_call_id": "call_a1", "name": "get_weather", "content": '{"temp": 12}'},
    {"role": "tool", "tool_call_id": "call_b2", "name": "get_weather", "content": "sunny, 18 C"},
    {"role": "assistant", "content": "Paris 12 C, Rome 18 C."},
    {"role": "user", "content": "And tomorrow?"},
]
# As Gemini reports calls: no ids, empty assistant text; the result answers by name; a user turn right after it.
CONVERSATION_NO_IDS = [
    {"role": "user", "content": "What time is it?"},
    {"role": "assistant", "content": "", "tool_calls": [{"name": "now", "arguments": "{}"}]},
    {"role": "tool", "name": "now", "content": "10:00"},
    {"role": "user", "content": "Say it in words."},
]

# A tool loop going on: the conversation ends with the results, no new question (ask --tool-result without a prompt).
CONVERSATION_RESULTS_LAST = CONVERSATION[:5]

OPTIONS = {  # -o items every wire's definition knows
    "openai.chat": ("top_p:=0.5", "metadata.run=case-1", "seed:=7", "stop:=[\"END\"]"),
    "openai.responses": ("top_p:=0.5", "metadata.run=case-1", "text.verbosity=low", "truncation=auto"),
    "anthropic.messages": ("service_tier=auto", "metadata.user_id=u-1", "stop_sequences:=[\"END\"]"),
    "gemini.generate": ("generationConfig.topK:=5", "generationConfig.stopSequences:=[\"END\"]",
                        "generationConfig.seed:=7"),
    "ollama.chat": ("options.num_ctx:=4096", "options.top_k:=5", "keep_alive=5m"),
}
BODIES = {
    "openai.chat": {"messages": [{"role": "user", "content": "Say hi"}], "n": 1},
    "openai.responses": {"input": "Say hi", "max_output_tokens": 32},
    "anthropic.messages": None,  # tests/data/request/anthropic-body.json
    "gemini.generate": {"contents": [{"role": "user", "parts": [{"text": "Say hi"}]}]},
    "ollama.chat": {"messages": [{"role": "user", "content": "Say hi"}], "options": {"seed": 1}},
}


def _choices(wire: str) -> tuple[str, ...]:
    return ("auto", "none") if wire == "ollama.chat" else ("auto", "none", "required", "get_weather")


def cases(wire: str):
    """(id, request.build keyword arguments) for every option on `wire` that it accepts."""
    yield "plain", dict(prompt="hi", system="be brief", temperature=0.2, max_tokens=50)
    yield "no-stream", dict(prompt="hi", stream=False)
    yield "conversation-with-tools", dict(messages=CONVERSATION, extras=Extras(tools=tools()))
    yield "conversation-no-ids", dict(messages=CONVERSATION_NO_IDS, extras=Extras(tools=tools()), stream=False)
    yield "conversation-results-last", dict(messages=CONVERSATION_RESULTS_LAST, extras=Extras(tools=tools()))
    yield "tools", dict(prompt="weather in Paris?", extras=Extras(tools=tools()))
    for choice in _choices(wire):
        yield f"tool-choice-{choice}", dict(prompt="weather?", extras=Extras(tools=tools(), tool_choice=choice))
    for name in ("person", "loose", "list"):
        yield f"schema-{name}", dict(prompt="someone", extras=Extras(schema=schema(name)))
    yield "schema-named", dict(prompt="x", extras=Extras(schema=schema("loose"), schema_name="verdict_v2"))
    yield "schema-and-tools", dict(prompt="x", extras=Extras(tools=tools(), schema=schema("person")))
    yield "schema-and-reasoning", dict(prompt="x", extras=Extras(schema=schema("person"), reasoning="low"))
    for level in ("none", "low", "medium", "high"):
        yield f"reasoning-{level}", dict(prompt="think", max_tokens=100, extras=Extras(reasoning=level))
    for name in IMAGES + (() if wire == "ollama.chat" else ("page.pdf",)):
        yield f"attach-{name}", dict(prompt="what is this?", extras=Extras(attachments=(attachment(name),)))
    images = tuple(attachment(n) for n in IMAGES)
    yield "attach-all", dict(messages=CONVERSATION, extras=Extras(attachments=images))
    yield "options", dict(prompt="hi", extras=Extras(options=tuple(parse_option(o) for o in OPTIONS[wire])))
    if wire != "gemini.generate":  # Gemini's stream is in the URL: -o stream is refused (test_request_extras)
        yield "options-no-stream", dict(prompt="hi", extras=Extras(options=(parse_option("stream:=false"),)))
    body = BODIES[wire] if BODIES[wire] is not None else load_body(str(REQ / "anthropic-body.json"))
    yield "body", dict(extras=Extras(body=body))
    yield "body-and-options", dict(extras=Extras(body=body, options=tuple(parse_option(o) for o in OPTIONS[wire])))
    yield "everything", dict(messages=CONVERSATION, system="sys", temperature=1, max_tokens=2000, extras=Extras(
        tools=tools(), tool_choice="auto", reasoning="medium", attachments=images,
        options=tuple(parse_option(o) for o in OPTIONS[wire])))


def all_cases():
    return [(wire, case_id, kwargs) for wire in WIRES for case_id, kwargs in cases(wire)]
