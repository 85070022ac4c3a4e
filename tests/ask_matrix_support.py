"""Per-wire tables for tests/test_ask_wire_matrix.py: where each `ask` request option lands in each wire's body
(docs/providers.md, "Request options (ask)"), the replies the loopback server sends (the wire's own fixtures), and
the vendor validators of tests/test_request_spec.py wrapped so that the OpenAI spec is optional.

`landed(...)` functions take the body the server received and raise AssertionError (with the body) when the option
is not where the docs say. Pure helpers; the tests and the server live in the test module.
"""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provider_server import FIXTURES, Reply

TESTS = Path(__file__).resolve().parent
ASK = TESTS / "data" / "ask"
ATTACH = TESTS / "data" / "attach"
TOOL = ASK / "weather.tool.json"
SCHEMA_FILE = ASK / "person.schema.json"
SCHEMA = json.loads(SCHEMA_FILE.read_text())
PERSON = {"name": "Ada", "age": 36}
KEY = "sk-test-MATRIX-SECRET-4242"
KEY_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "CO_API_KEY", "AWS_BEARER_TOKEN_BEDROCK")
LEVELS = ("none", "low", "medium", "high")
CHOICES = ("auto", "none", "required", "get_weather")

CONFIG = """\
[providers.openai]
base_url = "{url}/v1"
[providers.responses]
wire = "openai.responses"
base_url = "{url}/v1"
api_key_env = "OPENAI_API_KEY"
model = "gpt-5-mini"
[providers.anthropic]
base_url = "{url}/v1"
[providers.gemini]
base_url = "{url}/v1beta"
[providers.ollama]
base_url = "{url}"
[providers.cohere]
base_url = "{url}"
[providers.bedrock]
base_url = "{url}"
"""


@dataclass(frozen=True)
class Wire:
    provider: str  # the config name `ask -p` takes
    model: str
    stream_path: str
    body_path: str
    text: tuple[str, str]  # text answer fixtures: (streamed, whole)
    tools: tuple[str, str]  # tool-call answer fixtures: (streamed, whole)
    auth: tuple[str, str] | None  # (header, value) the server expects


WIRES = {
    "openai.chat": Wire("openai", "gpt-4.1-mini", "/v1/chat/completions", "/v1/chat/completions",
                        ("openai/chat-text-stream.sse", "openai/chat-text.json"),
                        ("openai/chat-two-tool-calls-stream.sse", "openai/chat-two-tool-calls.json"),
                        ("authorization", f"Bearer {KEY}")),
    # openai.responses: no recorded text-only stream; the reasoning + text + function call stream stands in
    "openai.responses": Wire("responses", "gpt-5-mini", "/v1/responses", "/v1/responses",
                             ("openai-responses/reasoning-summary-function-call-stream.sse",
                              "openai-responses/text.json"),
                             ("openai-responses/reasoning-summary-function-call-stream.sse",
                              "openai-responses/reasoning-summary-function-call.json"),
                             ("authorization", f"Bearer {KEY}")),
    "anthropic.messages": Wire("anthropic", "claude-sonnet-4-5", "/v1/messages", "/v1/messages",
                               ("anthropic/text-end-turn-stream.sse", "anthropic/text-end-turn.json"),
                               ("anthropic/tool-use-parallel-stream.sse", "anthropic/tool-use-parallel.json"),
                               ("x-api-key", KEY)),
    "gemini.generate": Wire("gemini", "gemini-2.5-flash", "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
                            "/v1beta/models/gemini-2.5-flash:generateContent",
                            ("gemini/text-stream.sse", "gemini/text-stop.json"),
                            ("gemini/vertex-stream-function-call-arguments-gemini3.sse",
                             "gemini/parallel-function-calls.json"),
                            ("x-goog-api-key", KEY)),
    "ollama.chat": Wire("ollama", "llama3.2", "/api/chat", "/api/chat",
                        ("ollama/chat-stream.ndjson", "ollama/chat.json"),
                        ("ollama/wire-chat-thinking-tool-calls-stream.ndjson", "ollama/chat-thinking-tool-calls.json"),
                        None),
    "cohere.chat": Wire("cohere", "command-a-03-2025", "/v2/chat", "/v2/chat",
                        ("cohere/recorded-text-stream.sse", "cohere/text.json"),
                        ("cohere/recorded-tool-calls-stream.sse", "cohere/tool-calls.json"),
                        ("authorization", f"Bearer {KEY}")),
    "bedrock.converse": Wire("bedrock", "amazon.nova-lite-v1:0", "/model/amazon.nova-lite-v1%3A0/converse-stream",
                             "/model/amazon.nova-lite-v1%3A0/converse",
                             ("bedrock/converse-text-stream.eventstream", "bedrock/converse-text.json"),
                             ("bedrock/converse-tool-use-stream.eventstream", "bedrock/converse-tool-use.json"),
                             ("authorization", f"Bearer {KEY}")),
}
SPEC_WIRES = ("openai.chat", "openai.responses", "anthropic.messages", "gemini.generate", "ollama.chat")
NO_PDF = ("ollama.chat", "cohere.chat")  # they take images only: -a page.pdf is exit 2, nothing sent
NO_NAMED_CHOICE = {"ollama.chat": ("required", "get_weather"), "cohere.chat": ("get_weather",)}


def reply(fixture: str | Path) -> Reply:
    """A fixture replayed as the wire sends it (Bedrock's binary event stream with its content type)."""
    if str(fixture).endswith(".eventstream"):
        return Reply.file(fixture, headers={"content-type": "application/vnd.amazon.eventstream"})
    return Reply.file(fixture, delay=0.001)


# ------------------------------------------------------------------------------------------- -o and --body


# wire -> {case: ([-o items], [(dotted path, value expected there)])}
OPTIONS: dict[str, dict[str, tuple[list[str], list[tuple[str, Any]]]]] = {
    "openai.chat": {"o-string": (["metadata.run=case-1"], [("metadata.run", "case-1")]),
                    "o-typed": (["logit_bias.50256:=-100"], [("logit_bias.50256", -100)])},
    "openai.responses": {"o-string": (["text.verbosity=low"], [("text.verbosity", "low")]),
                         "o-typed": (['text.format:={"type": "text"}'], [("text.format", {"type": "text"})])},
    "anthropic.messages": {"o-string": (["metadata.user_id=u-1"], [("metadata.user_id", "u-1")]),
                           "o-typed": (["thinking.type=enabled", "thinking.budget_tokens:=2048"],
                                       [("thinking", {"type": "enabled", "budget_tokens": 2048})])},
    "gemini.generate": {"o-string": (["generationConfig.responseMimeType=text/plain"],
                                     [("generationConfig.responseMimeType", "text/plain")]),
                        "o-typed": (["generationConfig.topK:=5"], [("generationConfig.topK", 5)])},
    "ollama.chat": {"o-string": (["keep_alive=5m"], [("keep_alive", "5m")]),
                    "o-typed": (["options.num_ctx:=4096"], [("options.num_ctx", 4096)])},
    "cohere.chat": {"o-string": (["citation_options.mode=FAST"], [("citation_options.mode", "FAST")]),
                    "o-typed": (["p:=0.5", "k:=40"], [("p", 0.5), ("k", 40)])},
    "bedrock.converse": {"o-string": (["performanceConfig.latency=optimized"],
                                      [("performanceConfig.latency", "optimized")]),
                         "o-typed": (["inferenceConfig.topP:=0.5"], [("inferenceConfig.topP", 0.5)])},
}

BODIES = {  # what --body FILE sends (then `model` and `stream` filled when absent, except where the URL has them)
    "openai.chat": {"messages": [{"role": "user", "content": "Say hi"}], "n": 1},
    "openai.responses": {"input": "Say hi", "max_output_tokens": 32},
    "anthropic.messages": {"max_tokens": 64, "messages": [{"role": "user", "content": "Say hi"}]},
    "gemini.generate": {"contents": [{"role": "user", "parts": [{"text": "Say hi"}]}]},
    "ollama.chat": {"messages": [{"role": "user", "content": "Say hi"}], "options": {"seed": 1}},
    "cohere.chat": {"messages": [{"role": "user", "content": "Say hi"}]},
    "bedrock.converse": {"messages": [{"role": "user", "content": [{"text": "Say hi"}]}],
                         "inferenceConfig": {"maxTokens": 32}},
}
URL_HOLDS_MODEL_AND_STREAM = ("gemini.generate", "bedrock.converse")


def at(body: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        body = body[key]
    return body


# ------------------------------------------------------------------------------------------------ turns


def last_user(wire: str, body: dict) -> dict:
    turns = body["input"] if wire == "openai.responses" else body["contents"] if wire == "gemini.generate" \
        else body["messages"]
    users = [t for t in turns if t.get("role") == "user"]
    return users[-1]


def parts(wire: str, turn: dict) -> list:
    content = turn["parts"] if wire == "gemini.generate" else turn["content"]
    return [content] if isinstance(content, str) else content


def texts(wire: str, turn: dict) -> list[str]:
    out = []
    for part in parts(wire, turn):
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            out.append(part["text"])
    return out


def landed_prompt(wire: str, body: dict, prompt: str) -> None:
    assert prompt in texts(wire, last_user(wire, body)), body


def landed_stream(wire: str, body: dict, path: str, query: str, stream: bool, given_body: bool = False) -> None:
    w = WIRES[wire]
    assert path == (w.stream_path if stream else w.body_path), path
    if wire == "gemini.generate":
        assert query == ("alt=sse" if stream else ""), query
    elif wire == "bedrock.converse":
        assert "stream" not in body, body
    elif wire == "ollama.chat":
        assert body.get("stream", True) is stream, body
    else:
        assert body.get("stream", False) is stream, body
        if wire == "openai.chat" and not given_body:  # usage in the last chunk; a --body is sent as given
            assert ("stream_options" in body) is stream, body


def landed_sampling(wire: str, body: dict, system: str, temperature: float, max_tokens: int) -> None:
    """--system, --temperature, --max-tokens."""
    if wire in ("openai.chat", "ollama.chat", "cohere.chat"):
        assert body["messages"][0] == {"role": "system", "content": system}, body
    got = {
        "openai.chat": lambda: (body["temperature"], body.get("max_tokens", body.get("max_completion_tokens"))),
        "openai.responses": lambda: (body["temperature"], body["max_output_tokens"]),
        "anthropic.messages": lambda: (body["temperature"], body["max_tokens"]),
        "gemini.generate": lambda: (body["generationConfig"]["temperature"],
                                    body["generationConfig"]["maxOutputTokens"]),
        "ollama.chat": lambda: (body["options"]["temperature"], body["options"]["num_predict"]),
        "cohere.chat": lambda: (body["temperature"], body["max_tokens"]),
        "bedrock.converse": lambda: (body["inferenceConfig"]["temperature"], body["inferenceConfig"]["maxTokens"]),
    }[wire]()
    assert got == (temperature, max_tokens), body
    if wire == "openai.responses":
        assert body["instructions"] == system
    elif wire == "anthropic.messages":
        assert body["system"] in (system, [{"type": "text", "text": system}])
    elif wire == "gemini.generate":
        assert body["systemInstruction"]["parts"] == [{"text": system}]
    elif wire == "bedrock.converse":
        assert body["system"] == [{"text": system}]


# ------------------------------------------------------------------------------------------- tools and choice


def tool_names(wire: str, body: dict) -> list[str]:
    """The tools sent, by name, read from each wire's own tool form (docs/providers.md's --tool row)."""
    tools = body.get("toolConfig", {}).get("tools", []) if wire == "bedrock.converse" else body.get("tools", [])
    names = []
    for tool in tools:
        if wire in ("openai.chat", "ollama.chat", "cohere.chat"):
            assert tool["type"] == "function" and set(tool["function"]) <= {"name", "description", "parameters",
                                                                             "strict"}, tool
            assert tool["function"]["parameters"]["type"] == "object"
            names.append(tool["function"]["name"])
        elif wire == "openai.responses":
            assert tool["type"] == "function" and "strict" in tool and tool["parameters"]["type"] == "object", tool
            names.append(tool["name"])
        elif wire == "anthropic.messages":
            assert tool["input_schema"]["type"] == "object", tool
            names.append(tool["name"])
        elif wire == "gemini.generate":
            for decl in tool["functionDeclarations"]:
                # weather.tool.json has additionalProperties: not in Gemini's OpenAPI subset -> parametersJsonSchema
                assert "parameters" not in decl and decl["parametersJsonSchema"]["type"] == "object", decl
                names.append(decl["name"])
        else:
            assert tool["toolSpec"]["inputSchema"]["json"]["type"] == "object", tool
            names.append(tool["toolSpec"]["name"])
    return names


CHOICE_SENT = {  # wire -> {--tool-choice: what the body carries (None: no choice field)}
    "openai.chat": {"auto": "auto", "none": "none", "required": "required",
                    "get_weather": {"type": "function", "function": {"name": "get_weather"}}},
    "openai.responses": {"auto": "auto", "none": "none", "required": "required",
                         "get_weather": {"type": "function", "name": "get_weather"}},
    "anthropic.messages": {"auto": {"type": "auto"}, "none": {"type": "none"}, "required": {"type": "any"},
                           "get_weather": {"type": "tool", "name": "get_weather"}},
    "gemini.generate": {"auto": {"mode": "AUTO"}, "none": {"mode": "NONE"}, "required": {"mode": "ANY"},
                        "get_weather": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}},
    "ollama.chat": {"auto": None, "none": None},
    "cohere.chat": {"auto": None, "none": "NONE", "required": "REQUIRED"},
    "bedrock.converse": {"auto": {"auto": {}}, "none": None, "required": {"any": {}},
                         "get_weather": {"tool": {"name": "get_weather"}}},
}
TOOLS_DROPPED_FOR_NONE = ("ollama.chat", "bedrock.converse")  # no "none" choice: the tools are not sent


def landed_tools(wire: str, body: dict, choice: str) -> None:
    dropped = choice == "none" and wire in TOOLS_DROPPED_FOR_NONE
    assert tool_names(wire, body) == ([] if dropped else ["get_weather"]), body
    if wire == "gemini.generate":
        sent = body.get("toolConfig", {}).get("functionCallingConfig")
    elif wire == "bedrock.converse":
        sent = body.get("toolConfig", {}).get("toolChoice")
    else:
        sent = body.get("tool_choice")
    assert sent == CHOICE_SENT[wire][choice], body


# ----------------------------------------------------------------------------------------------- --schema


def landed_schema(wire: str, body: dict) -> None:
    if wire == "openai.chat":  # person.schema.json is strict-ready: additionalProperties false, all required
        assert body["response_format"] == {"type": "json_schema", "json_schema": {
            "name": "person", "schema": SCHEMA, "strict": True}}, body
    elif wire == "openai.responses":
        assert body["text"]["format"] == {"type": "json_schema", "name": "person", "schema": SCHEMA,
                                          "strict": True}, body
    elif wire == "anthropic.messages":  # a forced tool named after the schema's title
        (tool,) = [t for t in body["tools"] if t["name"] == "person"]
        assert tool["input_schema"] == SCHEMA and body["tool_choice"] == {"type": "tool", "name": "person"}, body
    elif wire == "gemini.generate":  # additionalProperties is outside the OpenAPI subset: responseJsonSchema
        config = body["generationConfig"]
        assert config["responseMimeType"] == "application/json" and config["responseJsonSchema"] == SCHEMA, body
    elif wire == "ollama.chat":
        assert body["format"] == SCHEMA, body
    elif wire == "cohere.chat":
        assert body["response_format"] == {"type": "json_object", "json_schema": SCHEMA}, body
    else:
        (spec,) = [t["toolSpec"] for t in body["toolConfig"]["tools"] if t["toolSpec"]["name"] == "person"]
        assert spec["inputSchema"] == {"json": SCHEMA}, body
        assert body["toolConfig"]["toolChoice"] == {"tool": {"name": "person"}}, body


def _fixture_json(path: str | Path) -> Any:
    p = Path(path) if Path(path).is_absolute() else FIXTURES / path
    return json.loads(p.read_bytes())


def schema_answer(wire: str) -> Reply:
    """A whole answer that follows person.schema.json, in the wire's form (the recorded fixture where one exists,
    else the wire's own text fixture with its text replaced)."""
    recorded = {"openai.chat": "openai-person-valid.json", "anthropic.messages": "anthropic-person-valid.json",
                "gemini.generate": "gemini-person-valid.json"}
    if wire in recorded:
        return Reply.file(ASK / recorded[wire])
    text = json.dumps(PERSON)
    if wire == "openai.responses":
        doc = _fixture_json("openai-responses/text.json")
        doc["output"][0]["content"][0]["text"] = text
    elif wire == "ollama.chat":
        doc = _fixture_json("ollama/chat.json")
        doc["message"]["content"] = text
    elif wire == "cohere.chat":
        doc = _fixture_json("cohere/text.json")
        doc["message"]["content"][0]["text"] = text
    else:  # Converse: the forced tool's call carries the answer
        doc = _fixture_json("bedrock/converse-tool-use.json")
        doc["output"]["message"]["content"][1]["toolUse"].update(name="person", input=PERSON)
    return Reply.json(doc)


STREAMED_SCHEMA_ANSWERS = {"anthropic.messages": ASK / "anthropic-person-valid-stream.sse",
                           "gemini.generate": ASK / "gemini-person-valid-stream.sse"}


# ---------------------------------------------------------------------------------------------- --reasoning

ANTHROPIC_BUDGETS = {"low": 1024, "medium": 4096, "high": 16384}
GEMINI = {"none": {"thinkingBudget": 0}, "low": {"thinkingBudget": 1024, "includeThoughts": True},
          "medium": {"thinkingBudget": 8192, "includeThoughts": True},
          "high": {"thinkingBudget": 24576, "includeThoughts": True}}


def _thinking(level: str) -> dict:
    return {"type": "disabled"} if level == "none" else {"type": "enabled", "budget_tokens": ANTHROPIC_BUDGETS[level]}


def _room(level: str, max_tokens: int) -> int:
    """The token limit sent beside a thinking budget: --max-tokens when above the budget, else budget + it."""
    budget = ANTHROPIC_BUDGETS[level]
    return max_tokens if max_tokens > budget else budget + max_tokens


def landed_reasoning(wire: str, body: dict, level: str, max_tokens: int | None = None) -> None:
    """docs/providers.md "Reasoning budgets" (Bedrock: Claude's thinking in additionalModelRequestFields)."""
    if wire == "openai.chat":
        assert body["reasoning_effort"] == level, body
    elif wire == "openai.responses":
        assert body["reasoning"]["effort"] == level, body
    elif wire == "anthropic.messages":
        assert body["thinking"] == _thinking(level), body
        if level != "none":  # the budget counts within max_tokens (--max-tokens, else 4096): the answer keeps room
            assert body["max_tokens"] == _room(level, max_tokens or 4096), body
    elif wire == "gemini.generate":
        assert body["generationConfig"]["thinkingConfig"] == GEMINI[level], body
    elif wire == "ollama.chat":
        assert body["think"] == (False if level == "none" else level), body
    elif wire == "cohere.chat":
        assert body["thinking"] == {"type": "disabled" if level == "none" else "enabled"}, body
    else:
        assert body["additionalModelRequestFields"] == {"thinking": _thinking(level)}, body
        if level != "none":
            limit = body["inferenceConfig"]["maxTokens"]
            assert limit == _room(level, max_tokens) if max_tokens else limit > ANTHROPIC_BUDGETS[level], body


# ---------------------------------------------------------------------------------------------- attachments


def attachments(wire: str, body: dict) -> list[tuple[str, str]]:
    """(media type, base64 data) of each file in the last user turn, read from the wire's own part form; also
    checks the order docs/providers.md gives (Anthropic and Gemini: files first; the OpenAI wires: after the text)."""
    turn = last_user(wire, body)
    if wire == "ollama.chat":
        return [("image/*", data) for data in turn.get("images", ())]
    found, kinds = [], []
    for part in parts(wire, turn):
        kind = "text"
        if wire == "openai.chat" and part.get("type") == "image_url":
            found.append(_data_url(part["image_url"]["url"]))
            kind = "file"
        elif wire == "openai.chat" and part.get("type") == "file":
            assert part["file"]["filename"]
            found.append(_data_url(part["file"]["file_data"]))
            kind = "file"
        elif wire == "openai.responses" and part.get("type") == "input_image":
            assert part["detail"] == "auto"
            found.append(_data_url(part["image_url"]))
            kind = "file"
        elif wire == "openai.responses" and part.get("type") == "input_file":
            assert part["filename"]
            found.append(_data_url(part["file_data"]))
            kind = "file"
        elif wire == "anthropic.messages" and part.get("type") in ("image", "document"):
            source = part["source"]
            assert source["type"] == "base64"
            found.append((source["media_type"], source["data"]))
            kind = "file"
        elif wire == "gemini.generate" and "inlineData" in part:
            found.append((part["inlineData"]["mimeType"], part["inlineData"]["data"]))
            kind = "file"
        elif wire == "cohere.chat" and part.get("type") == "image_url":
            found.append(_data_url(part["image_url"]["url"]))
            kind = "file"
        elif wire == "bedrock.converse" and ("image" in part or "document" in part):
            item = part.get("image") or part["document"]
            found.append(({"pdf": "application/pdf"}.get(item["format"], f"image/{item['format']}"),
                          item["source"]["bytes"]))
            kind = "file"
        kinds.append(kind)
    if found and wire in ("anthropic.messages", "gemini.generate"):
        assert kinds[0] == "file", turn
    elif found and wire in ("openai.chat", "openai.responses"):
        assert kinds[0] == "text", turn
    return found


def _data_url(url: str) -> tuple[str, str]:
    head, _, data = url.partition(",")
    assert head.startswith("data:") and head.endswith(";base64"), url[:80]
    return head[5:-7], data


def landed_attachment(wire: str, body: dict, path: Path) -> None:
    encoded = base64.b64encode(path.read_bytes()).decode()
    mime = "application/pdf" if path.suffix == ".pdf" else "image/png"
    (got,) = attachments(wire, body)
    assert got == (mime if wire != "ollama.chat" else "image/*", encoded), (got[0], got[1][:40])


def redacted(body: Any) -> Any:
    """The body with long strings cut, for assertion messages."""
    body = copy.deepcopy(body)

    def cut(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: cut(v) for k, v in node.items()}
        if isinstance(node, list):
            return [cut(v) for v in node]
        return node[:60] + "…" if isinstance(node, str) and len(node) > 80 else node

    return cut(body)
