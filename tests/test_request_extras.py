"""request_extras (-o parsing and merging, the --tool/--schema/--body/--attach loaders, structured_answer) and what
request.build does with Extras on each wire: tool turns, tools and tool choice, schemas, reasoning, attachments,
-o and --body. The bodies are validated against the vendors' definitions in tests/test_request_spec.py."""

from __future__ import annotations

import base64
import io
import subprocess
import sys

import pytest

from aimux_cli import request, request_extras, request_wire
from aimux_cli.document import Document
from aimux_cli.errors import InputError, UsageError
from aimux_cli.request_extras import (
    MAX_ATTACHMENT_BYTES,
    Attachment,
    Extras,
    check_tools,
    load_attachment,
    load_body,
    load_schema,
    load_tools,
    merge_options,
    parse_option,
    structured_answer,
)
from request_cases import ATTACH, CONVERSATION, CONVERSATION_NO_IDS, REQ, WIRES, attachment, resolved, schema, \
    tools


def body_of(wire: str, **kwargs) -> dict:
    if "messages" not in kwargs and "prompt" not in kwargs and not (kwargs.get("extras") or Extras()).body:
        kwargs["prompt"] = "q"
    return request.build(resolved(wire), **kwargs).json_body


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


# ------------------------------------------------------------------------------------------------ parse_option


@pytest.mark.parametrize(("text", "expected"), [
    ("temperature=0.5", (("temperature",), "0.5")),  # = is always a string
    ("temperature:=0.5", (("temperature",), 0.5)),
    ("stream:=false", (("stream",), False)),
    ("stop:=[\"a\", \"b\"]", (("stop",), ["a", "b"])),
    ("x:=null", (("x",), None)),
    ("thinking.budget_tokens:=2048", (("thinking", "budget_tokens"), 2048)),
    ("metadata.note=a=b", (("metadata", "note"), "a=b")),  # the first = splits
    ("metadata.empty=", (("metadata", "empty"), "")),
    ("labels.a\\.b=c", (("labels", "a.b"), "c")),  # a literal dot in a key
    ("generationConfig:={\"topK\": 3}", (("generationConfig",), {"topK": 3})),
])
def test_parse_option(text, expected):
    assert parse_option(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("temperature", "expected KEY=VALUE"),
    ("=5", "expected KEY=VALUE"),
    (":=5", "empty key"),
    ("a..b=1", "empty key or empty part"),
    ("a.=1", "empty key or empty part"),
    ("top_p:=", "not JSON"),
    ("top_p:=high", "for a string, write KEY=VALUE"),
    ("stop:=[1,", "not JSON"),
])
def test_parse_option_errors_name_the_item(text, message):
    with pytest.raises(UsageError, match=message) as exc:
        parse_option(text)
    assert repr(text) in one_line(exc)


def test_merge_options_nests_merges_and_replaces_in_order():
    body = {"a": {"x": 1, "list": [1]}, "keep": True}
    options = tuple(parse_option(o) for o in ("a.b.c:=2", "a:={\"y\": 3}", "a.list:=[9]", "n=1", "n=2"))
    assert merge_options(body, options) == {"a": {"x": 1, "list": [9], "b": {"c": 2}, "y": 3}, "keep": True,
                                            "n": "2"}


@pytest.mark.parametrize(("body", "option", "where", "kind"), [
    ({"messages": []}, "messages.role=x", "'messages'", "array"),
    ({"a": {"b": 5}}, "a.b.c:=1", "'a.b'", "number"),
    ({"a": "s"}, "a.b=1", "'a'", "string"),
])
def test_merge_through_a_non_object_names_the_key(body, option, where, kind):
    with pytest.raises(UsageError, match=f"{where} is a {kind}") as exc:
        merge_options(body, (parse_option(option),))
    assert one_line(exc).startswith(f"-o {option.partition('=')[0].rstrip(':')}:")


# ------------------------------------------------------------------------------------------------------ tools


def test_load_tools_neutral_openai_responses_and_anthropic_forms(tmp_path):
    (weather,) = load_tools(str(REQ / "weather-tool.json"))
    assert weather.name == "get_weather" and weather.description.startswith("The current")
    assert weather.parameters["required"] == ["city", "unit"]
    search, now = load_tools(str(REQ / "openai-tools.json"))
    assert (search.name, now.name, now.description) == ("search_docs", "now", None)
    mixed = tmp_path / "mixed.json"
    mixed.write_text('[{"type": "function", "name": "flat", "parameters": {"type": "object"}},'
                     ' {"name": "anth", "input_schema": {"type": "object", "properties": {}}}, {"name": "bare"}]')
    flat, anth, bare = load_tools(str(mixed))
    assert flat.parameters == {"type": "object"} and anth.parameters == {"type": "object", "properties": {}}
    assert bare.parameters == {"type": "object", "properties": {}}


def test_load_tools_from_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"name": "t", "parameters": {}}')))
    assert load_tools("-")[0].name == "t"


@pytest.mark.parametrize(("content", "message"), [
    ('{"name": "get weather!", "parameters": {"type": "object"}}', "name must be 1-64 letters"),
    ('{"name": "9lives"}', "name must be 1-64 letters"),
    ('{"name": "' + "x" * 65 + '"}', "name must be 1-64 letters"),
    ('{"description": "no name"}', "name must be 1-64 letters"),
    ('"get_weather"', "must be an object"),
    ('[{"name": "ok"}, 5]', "tool 2: a tool must be an object"),
    ('{"name": "t", "parameters": []}', "parameters must be a JSON Schema object"),
    ('{"name": "t", "parameters": {"type": "string"}}', "must describe an object"),
    ('{"name": "t", "description": 5}', "description must be a string"),
    ("[]", "the list of tools is empty"),
    ('{"name": "t",', "invalid JSON"),
    ("", "empty input"),
])
def test_load_tools_errors_name_the_file(tmp_path, content, message):
    path = tmp_path / "tools.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as exc:
        load_tools(str(path))
    assert one_line(exc).startswith(str(path))


def test_load_tools_missing_file():
    with pytest.raises(InputError, match="nope.json: no such file"):
        load_tools("nope.json")


def test_duplicate_tool_names():
    with pytest.raises(UsageError, match="two tools are named 'get_weather'"):
        check_tools(tools() + load_tools(str(REQ / "weather-tool.json")))
    check_tools(tools())


# ------------------------------------------------------------------------------------------- schema and body


def test_load_schema_inline_file_and_errors(tmp_path):
    assert load_schema('{"type": "object"}') == {"type": "object"}
    assert load_schema("  {\"type\": \"string\"}") == {"type": "string"}
    assert load_schema(str(REQ / "person.schema.json"))["title"] == "person"
    with pytest.raises(UsageError, match="--schema: the inline JSON Schema is not valid JSON"):
        load_schema('{"type": ')
    with pytest.raises(InputError, match="list.json: a JSON Schema must be an object, not a array"):
        (tmp_path / "list.json").write_text("[1]")
        load_schema(str(tmp_path / "list.json"))
    with pytest.raises(InputError, match="no such file"):
        load_schema("missing.schema.json")


def test_load_body(tmp_path, monkeypatch):
    assert load_body(str(REQ / "anthropic-body.json"))["max_tokens"] == 64
    (tmp_path / "b.json").write_text("[]")
    with pytest.raises(InputError, match="b.json: a request body must be a JSON object, not a array"):
        load_body(str(tmp_path / "b.json"))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"5")))
    with pytest.raises(InputError, match="<stdin>: a request body must be a JSON object, not a number"):
        load_body("-")


@pytest.mark.parametrize(("extras", "name"), [
    (Extras(schema={"type": "object"}), "answer"),
    (Extras(schema={"title": "Weather Report!", "type": "object"}), "Weather_Report"),
    (Extras(schema={"title": "***"}), "answer"),
    (Extras(schema={"title": "person"}, schema_name="mine"), "mine"),
])
def test_answer_name(extras, name):
    assert extras.answer_name() == name


# -------------------------------------------------------------------------------------------------- attachments


@pytest.mark.parametrize(("name", "mime"), [
    ("pixel.png", "image/png"), ("magic-only.jpg", "image/jpeg"), ("pixel.gif", "image/gif"),
    ("magic-only.webp", "image/webp"), ("page.pdf", "application/pdf"),
    ("png-named.pdf", "image/png"),  # the bytes decide, not the name
])
def test_attachment_type_from_magic_bytes(name, mime):
    att = load_attachment(str(ATTACH / name))
    assert (att.filename, att.mime, att.data) == (name, mime, (ATTACH / name).read_bytes())
    assert "bytes)" in repr(att) and "PNG" not in repr(att)  # never the data


def test_pdf_header_after_leading_bytes(tmp_path):
    path = tmp_path / "late.pdf"
    path.write_bytes(b"\n" * 100 + b"%PDF-1.7\n")
    assert load_attachment(str(path)).mime == "application/pdf"


@pytest.mark.parametrize(("setup", "message"), [
    (lambda p: p.write_bytes(b"not an image at all\n"), "not a PNG, JPEG, GIF, WebP or PDF file"),
    (lambda p: p.write_bytes(b"RIFF\0\0\0\0WAVEfmt "), "not a PNG, JPEG, GIF, WebP or PDF file"),
    (lambda p: p.write_bytes(b""), "empty file"),
    (lambda p: p.mkdir(), "is a directory"),
    (lambda p: None, "no such file"),
])
def test_attachment_errors(tmp_path, setup, message):
    path = tmp_path / "file.png"
    setup(path)
    with pytest.raises(InputError, match=message) as exc:
        load_attachment(str(path))
    assert one_line(exc).startswith(str(path))


def test_attachment_size_limit(tmp_path):
    at_limit, over = tmp_path / "at.pdf", tmp_path / "over.pdf"
    for path, size in ((at_limit, MAX_ATTACHMENT_BYTES), (over, MAX_ATTACHMENT_BYTES + 1)):
        with open(path, "wb") as fh:
            fh.write(b"%PDF-1.4\n")
            fh.truncate(size)  # sparse: no 20 MiB written
    assert len(load_attachment(str(at_limit)).data) == MAX_ATTACHMENT_BYTES
    with pytest.raises(InputError, match="larger than 20 MiB, the limit for an attachment"):
        load_attachment(str(over))


def test_attachments_on_each_wire():
    png, pdf = attachment("pixel.png"), attachment("page.pdf")
    b64 = base64.b64encode(png.data).decode()
    url = f"data:image/png;base64,{b64}"
    extras = Extras(attachments=(png, pdf))
    chat = body_of("openai.chat", prompt="what?", extras=extras)["messages"][-1]["content"]
    assert chat[0] == {"type": "text", "text": "what?"} and chat[1] == {"type": "image_url", "image_url": {"url": url}}
    assert chat[2]["type"] == "file" and chat[2]["file"]["filename"] == "page.pdf"
    assert chat[2]["file"]["file_data"].startswith("data:application/pdf;base64,JVBERi0")
    resp = body_of("openai.responses", prompt="what?", extras=extras)["input"][-1]["content"]
    assert [p["type"] for p in resp] == ["input_text", "input_image", "input_file"]
    assert resp[1] == {"type": "input_image", "image_url": url, "detail": "auto"}
    anth = body_of("anthropic.messages", prompt="what?", extras=extras)["messages"][-1]["content"]
    assert anth[0] == {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": b64}}
    assert anth[1]["type"] == "document" and anth[2] == {"type": "text", "text": "what?"}
    gem = body_of("gemini.generate", prompt="what?", extras=extras)["contents"][-1]["parts"]
    assert gem[0] == {"inlineData": {"mimeType": "image/png", "data": b64}} and gem[2] == {"text": "what?"}
    olla = body_of("ollama.chat", prompt="what?", extras=Extras(attachments=(png,)))["messages"][-1]
    assert olla == {"role": "user", "content": "what?", "images": [b64]}


def test_attachments_go_on_the_last_user_turn():
    body = body_of("openai.chat", messages=CONVERSATION, extras=Extras(attachments=(attachment("pixel.gif"),)))
    lists = [i for i, m in enumerate(body["messages"]) if isinstance(m.get("content"), list)]
    assert lists == [len(body["messages"]) - 1]


def test_attachment_without_a_user_turn():
    with pytest.raises(UsageError, match="--attach needs a user turn"):
        body_of("openai.chat", messages=[{"role": "system", "content": "s"}],
                extras=Extras(attachments=(attachment("pixel.png"),)))


def test_pdf_to_ollama_is_a_usage_error():
    with pytest.raises(UsageError, match="ollama.chat takes images only: a PDF cannot be attached"):
        body_of("ollama.chat", extras=Extras(attachments=(attachment("page.pdf"),)))


# ------------------------------------------------------------------------------------------------- tool turns


def test_tool_turns_openai_chat():
    msgs = body_of("openai.chat", messages=CONVERSATION)["messages"]
    assert msgs[2]["tool_calls"][1] == {"id": "call_b2", "type": "function", "function": {
        "name": "get_weather", "arguments": '{"city": "Rome", "unit": "celsius"}'}}
    assert msgs[3] == {"role": "tool", "tool_call_id": "call_a1", "content": '{"temp": 12}'}
    no_text = body_of("openai.chat", messages=CONVERSATION_NO_IDS)["messages"][1]
    assert no_text["content"] is None and no_text["tool_calls"][0]["id"] == "call_1"


def test_tool_turns_openai_responses():
    items = body_of("openai.responses", messages=CONVERSATION)["input"]
    kinds = [i.get("type") or i["role"] for i in items]
    assert kinds == ["user", "assistant", "function_call", "function_call", "function_call_output",
                     "function_call_output", "assistant", "user"]
    assert items[2] == {"type": "function_call", "call_id": "call_a1", "name": "get_weather",
                        "arguments": '{"city": "Paris", "unit": "celsius"}'}
    assert items[5] == {"type": "function_call_output", "call_id": "call_b2", "output": "sunny, 18 C"}
    no_ids = body_of("openai.responses", messages=CONVERSATION_NO_IDS)["input"]
    assert [i.get("type") or i["role"] for i in no_ids] == ["user", "function_call", "function_call_output", "user"]
    assert no_ids[1]["call_id"] == no_ids[2]["call_id"] == "call_1"


def test_tool_turns_anthropic():
    msgs = body_of("anthropic.messages", messages=CONVERSATION)["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant", "user"]
    assert msgs[1]["content"][0] == {"type": "text", "text": "Let me check."}
    assert msgs[1]["content"][1] == {"type": "tool_use", "id": "call_a1", "name": "get_weather",
                                     "input": {"city": "Paris", "unit": "celsius"}}
    assert msgs[2]["content"] == [  # both results in one user message
        {"type": "tool_result", "tool_use_id": "call_a1", "content": '{"temp": 12}'},
        {"type": "tool_result", "tool_use_id": "call_b2", "content": "sunny, 18 C"}]
    no_ids = body_of("anthropic.messages", messages=CONVERSATION_NO_IDS)["messages"]
    assert [m["role"] for m in no_ids] == ["user", "assistant", "user"]  # the question joins the result's message
    assert no_ids[1]["content"] == [{"type": "tool_use", "id": "call_1", "name": "now", "input": {}}]
    assert no_ids[2]["content"] == [{"type": "tool_result", "tool_use_id": "call_1", "content": "10:00"},
                                    {"type": "text", "text": "Say it in words."}]


def test_anthropic_ids_and_arguments_are_made_acceptable():
    turns = [{"role": "user", "content": "q"},
             {"role": "assistant", "content": "", "tool_calls": [
                 {"id": "fc.1/x", "name": "f", "arguments": "[1, 2]"},
                 {"id": "c2", "name": "g", "arguments": "not json"}]},
             {"role": "tool", "tool_call_id": "fc.1/x", "name": "f", "content": "ok"},
             {"role": "tool", "tool_call_id": "c2", "name": "g", "content": "ok"}]
    msgs = body_of("anthropic.messages", messages=turns)["messages"]
    assert [b["input"] for b in msgs[1]["content"]] == [{"value": [1, 2]}, {"value": "not json"}]
    assert msgs[1]["content"][0]["id"] == msgs[2]["content"][0]["tool_use_id"] == "fc_1_x"


def test_tool_turns_gemini():
    contents = body_of("gemini.generate", messages=CONVERSATION)["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user", "model", "user"]
    assert contents[1]["parts"][1] == {"functionCall": {"name": "get_weather",
                                                        "args": {"city": "Paris", "unit": "celsius"}}}
    assert contents[2]["parts"] == [
        {"functionResponse": {"name": "get_weather", "response": {"temp": 12}}},  # a JSON object as it is
        {"functionResponse": {"name": "get_weather", "response": {"output": "sunny, 18 C"}}}]
    no_ids = body_of("gemini.generate", messages=CONVERSATION_NO_IDS)["contents"]
    assert no_ids[1] == {"role": "model", "parts": [{"functionCall": {"name": "now", "args": {}}}]}


def test_tool_turns_ollama():
    msgs = body_of("ollama.chat", messages=CONVERSATION)["messages"]
    assert msgs[2]["tool_calls"][0] == {"function": {"name": "get_weather",
                                                     "arguments": {"city": "Paris", "unit": "celsius"}}}
    assert msgs[4] == {"role": "tool", "content": "sunny, 18 C", "tool_name": "get_weather"}


def test_tool_result_matched_by_name_without_ids():
    turns = request_wire.normalize_turns([
        {"role": "assistant", "content": "", "tool_calls": [{"name": "a", "arguments": "{}"},
                                                            {"name": "b", "arguments": "{}"}]},
        {"role": "tool", "name": "b", "content": "2"}, {"role": "tool", "content": "1"}], None)
    assert [(t["tool_call_id"], t["name"]) for t in turns[1:]] == [("call_2", "b"), ("call_1", "a")]


@pytest.mark.parametrize("turn", [
    {"role": "tool", "content": "orphan"},  # nothing to answer, no id
    {"role": "assistant", "content": "", "tool_calls": [{"arguments": "{}"}]},
    {"role": "assistant", "content": "", "tool_calls": [{"name": "f", "arguments": {"a": 1}}]},  # not JSON text
    {"role": "function", "content": "x"},
])
def test_malformed_turns(turn):
    with pytest.raises(ValueError):
        request_wire.normalize_turns([turn], None)


# ------------------------------------------------------------------------------------------ tools and choice


@pytest.mark.parametrize(("wire", "expected"), [
    ("openai.chat", ["auto", "none", "required", {"type": "function", "function": {"name": "now"}}]),
    ("openai.responses", ["auto", "none", "required", {"type": "function", "name": "now"}]),
    ("anthropic.messages", [{"type": "auto"}, {"type": "none"}, {"type": "any"}, {"type": "tool", "name": "now"}]),
    ("gemini.generate", [{"functionCallingConfig": {"mode": m}} for m in ("AUTO", "NONE", "ANY")]
     + [{"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["now"]}}]),
])
def test_tool_choice(wire, expected):
    key = "toolConfig" if wire == "gemini.generate" else "tool_choice"
    got = [body_of(wire, extras=Extras(tools=tools(), tool_choice=c))[key] for c in ("auto", "none", "required", "now")]
    assert got == expected


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("choice", ["auto", "none"])
def test_tool_choice_without_tools_is_not_sent(wire, choice):
    body = body_of(wire, extras=Extras(tool_choice=choice))
    assert not {"tool_choice", "toolConfig", "tools"} & body.keys()


def test_schema_name_must_be_a_valid_name():
    with pytest.raises(UsageError, match="schema name 'my answer'"):
        body_of("openai.chat", extras=Extras(schema={"type": "object"}, schema_name="my answer"))


def test_tools_per_wire():
    weather = tools()[0]
    assert body_of("openai.chat", extras=Extras(tools=(weather,)))["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": weather.description, "parameters": weather.parameters}}]
    resp = body_of("openai.responses", extras=Extras(tools=tools()))["tools"]
    assert [(t["name"], t["strict"]) for t in resp] == [("get_weather", True), ("search_docs", False), ("now", False)]
    assert "description" not in resp[2]
    anth = body_of("anthropic.messages", extras=Extras(tools=(weather,)))["tools"]
    assert anth == [{"name": "get_weather", "description": weather.description, "input_schema": weather.parameters}]
    gem = body_of("gemini.generate", extras=Extras(tools=tools()))["tools"][0]["functionDeclarations"]
    # additionalProperties is not in Gemini's Schema subset: that one goes as JSON Schema, as it is
    assert [sorted(d) for d in gem] == [["description", "name", "parametersJsonSchema"],
                                        ["description", "name", "parameters"], ["name", "parameters"]]
    assert body_of("ollama.chat", extras=Extras(tools=(weather,), tool_choice="none")).get("tools") is None


@pytest.mark.parametrize(("extras", "message"), [
    (Extras(tool_choice="required"), "--tool-choice required: no tools were given"),
    (Extras(tool_choice="get_weather"), "--tool-choice get_weather: no tools were given"),
    (Extras(tools=tools(), tool_choice="get_wether"), "not auto, none, required or the name of a tool \\(get_"),
    (Extras(reasoning="max"), "--reasoning 'max': expected none, low, medium or high"),
])
def test_extras_usage_errors(extras, message):
    for wire in WIRES:
        with pytest.raises(UsageError, match=message):
            body_of(wire, extras=extras)


# ---------------------------------------------------------------------------------------------------- schema


def test_schema_openai_chat_strict_only_where_valid():
    strict = body_of("openai.chat", extras=Extras(schema=schema("person")))["response_format"]
    assert strict == {"type": "json_schema", "json_schema": {"name": "person", "schema": schema("person"),
                                                             "strict": True}}
    loose = body_of("openai.chat", extras=Extras(schema=schema("loose")))["response_format"]["json_schema"]
    assert loose["name"] == "answer" and "strict" not in loose


def test_schema_responses_gemini_ollama():
    fmt = body_of("openai.responses", extras=Extras(schema=schema("loose"), schema_name="v"))["text"]["format"]
    assert fmt == {"type": "json_schema", "name": "v", "schema": schema("loose"), "strict": False}
    gen = body_of("gemini.generate", temperature=0.1, extras=Extras(schema=schema("list")))["generationConfig"]
    assert gen == {"temperature": 0.1, "responseMimeType": "application/json", "responseSchema": schema("list")}
    gen = body_of("gemini.generate", extras=Extras(schema=schema("loose")))["generationConfig"]
    assert gen == {"responseMimeType": "application/json", "responseJsonSchema": schema("loose")}  # $defs, $schema
    assert body_of("ollama.chat", extras=Extras(schema=schema("person")))["format"] == schema("person")


def test_schema_anthropic_is_a_forced_tool():
    body = body_of("anthropic.messages", extras=Extras(schema=schema("person")))
    assert body["tools"] == [{"name": "person", "description": body["tools"][0]["description"],
                              "input_schema": schema("person")}]
    assert body["tool_choice"] == {"type": "tool", "name": "person"}
    with_tools = body_of("anthropic.messages", extras=Extras(tools=tools(), schema=schema("person")))
    assert [t["name"] for t in with_tools["tools"]] == ["get_weather", "search_docs", "now", "person"]
    assert with_tools["tool_choice"] == {"type": "any"}  # a tool of the user's, or the answer
    wrapped = body_of("anthropic.messages", extras=Extras(schema=schema("list")))["tools"][0]["input_schema"]
    assert wrapped == {"type": "object", "properties": {"value": schema("list")}, "required": ["value"]}


def test_schema_anthropic_with_thinking_uses_output_config():
    body = body_of("anthropic.messages", extras=Extras(schema=schema("person"), reasoning="low"))
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": schema("person")}}
    assert "tools" not in body and "tool_choice" not in body


def test_schema_anthropic_conflicts():
    with pytest.raises(UsageError, match="--tool-choice cannot be combined with --schema on anthropic.messages"):
        body_of("anthropic.messages", extras=Extras(tools=tools(), tool_choice="auto", schema=schema("person")))
    with pytest.raises(UsageError, match="a tool is already named 'now'"):
        body_of("anthropic.messages", extras=Extras(tools=tools(), schema={"type": "object"}, schema_name="now"))


def _doc(*blocks) -> Document:
    return Document("anthropic.messages", "ok", "stop", blocks=tuple(blocks))


def test_structured_answer():
    person = Extras(schema=schema("person"))
    assert structured_answer(_doc({"type": "text", "text": '{"name": "x"}'}), person) == '{"name": "x"}'
    call = {"type": "tool_call", "id": "t1", "name": "person", "arguments": {"name": "Ada", "age": 36}}
    assert structured_answer(_doc({"type": "text", "text": "here"}, call), person) == '{"name":"Ada","age":36}'
    assert structured_answer(_doc({**call, "arguments": '{"name": '}), person) == '{"name": '  # as received
    listed = Extras(schema=schema("list"))
    wrapped = {"type": "tool_call", "id": "t1", "name": "answer", "arguments": {"value": ["a"]}}
    assert structured_answer(_doc(wrapped), listed) == '["a"]'
    assert structured_answer(_doc(call), Extras()) is None and structured_answer(_doc(call), None) is None


# ------------------------------------------------------------------------------------------------- reasoning


@pytest.mark.parametrize("level", ["none", "low", "medium", "high"])
def test_reasoning_per_wire(level):
    assert body_of("openai.chat", extras=Extras(reasoning=level))["reasoning_effort"] == level
    assert body_of("openai.responses", extras=Extras(reasoning=level))["reasoning"] == {"effort": level}
    think = body_of("ollama.chat", extras=Extras(reasoning=level))["think"]
    assert think == (False if level == "none" else level)
    gem = body_of("gemini.generate", extras=Extras(reasoning=level))["generationConfig"]["thinkingConfig"]
    budgets = {"none": 0, "low": 1024, "medium": 8192, "high": 24576}
    assert gem == ({"thinkingBudget": 0} if level == "none" else
                   {"thinkingBudget": budgets[level], "includeThoughts": True})


@pytest.mark.parametrize(("level", "max_tokens", "thinking", "sent_max"), [
    ("none", None, {"type": "disabled"}, 4096),
    ("low", None, {"type": "enabled", "budget_tokens": 1024}, 4096),
    ("medium", None, {"type": "enabled", "budget_tokens": 4096}, 8192),  # not above the budget: budget + it
    ("high", None, {"type": "enabled", "budget_tokens": 16384}, 20480),
    ("high", 500, {"type": "enabled", "budget_tokens": 16384}, 16884),
    ("medium", 10000, {"type": "enabled", "budget_tokens": 4096}, 10000),  # room enough: as given
])
def test_reasoning_anthropic_budget(level, max_tokens, thinking, sent_max):
    body = body_of("anthropic.messages", max_tokens=max_tokens, extras=Extras(reasoning=level))
    assert (body["thinking"], body["max_tokens"]) == (thinking, sent_max)


# -------------------------------------------------------------------------------------------- -o and --body


def test_options_are_merged_last():
    opts = tuple(parse_option(o) for o in ("temperature:=0.9", "thinking.budget_tokens:=2048", "model=other"))
    body = body_of("anthropic.messages", temperature=0.1, extras=Extras(reasoning="high", options=opts))
    assert (body["temperature"], body["thinking"], body["model"]) == (
        0.9, {"type": "enabled", "budget_tokens": 2048}, "other")


def test_option_through_a_list_in_the_built_body():
    with pytest.raises(UsageError, match="-o messages.role: 'messages' is a array"):
        body_of("openai.chat", extras=Extras(options=(parse_option("messages.role=x"),)))


def test_option_stream_false():
    prepared = request.build(resolved("openai.chat"), prompt="q", extras=Extras(options=(parse_option("stream:=false"),)))
    assert prepared.stream is False and "stream_options" not in prepared.json_body
    assert "accept" not in prepared.headers
    ollama = request.build(resolved("ollama.chat"), prompt="q", stream=False,
                           extras=Extras(options=(parse_option("stream:=true"),)))
    assert ollama.stream is True


def test_gemini_refuses_stream_and_model_options():
    for option in ("stream:=false", "model=x"):
        with pytest.raises(UsageError, match="gemini.generate has neither in its body"):
            body_of("gemini.generate", extras=Extras(options=(parse_option(option),)))


def test_body_sent_as_given_with_model_and_stream_filled():
    given = load_body(str(REQ / "anthropic-body.json"))
    prepared = request.build(resolved("anthropic.messages"), extras=Extras(body=given))
    assert prepared.json_body == {**given, "model": "claude-sonnet-4-5", "stream": True}
    assert prepared.url.endswith("/messages") and prepared.headers["anthropic-version"]
    assert given == load_body(str(REQ / "anthropic-body.json"))  # not changed in place
    own = request.build(resolved("openai.chat"), model="m2", stream=True,
                        extras=Extras(body={"model": "mine", "stream": False, "messages": []}))
    assert (own.json_body["model"], own.stream, own.json_body) == ("mine", False,
                                                                 {"model": "mine", "stream": False, "messages": []})


def test_body_gemini_model_and_stream_in_the_url():
    body = {"model": "models/gemini-x", "contents": []}
    prepared = request.build(resolved("gemini.generate"), extras=Extras(body=body))
    assert prepared.url.endswith("/models/gemini-x:streamGenerateContent?alt=sse") and prepared.stream
    assert prepared.json_body == {"contents": []}
    plain = request.build(resolved("gemini.generate"), stream=False, extras=Extras(body={"contents": []}))
    assert plain.url.endswith("/models/gemini-2.5-flash:generateContent") and plain.json_body == {"contents": []}


def test_body_and_options():
    prepared = request.build(resolved("ollama.chat"), extras=Extras(
        body={"messages": []}, options=(parse_option("options.seed:=3"),)))
    assert prepared.json_body == {"messages": [], "options": {"seed": 3}, "model": "qwen3:4b", "stream": True}


@pytest.mark.parametrize("kwargs", [
    dict(prompt="q"), dict(system="s"), dict(temperature=0.1), dict(max_tokens=5),
    dict(extras=Extras(body={}, tools=tools())), dict(extras=Extras(body={}, schema={"type": "object"})),
    dict(extras=Extras(body={}, reasoning="low")), dict(extras=Extras(body={}, attachments=(attachment("pixel.png"),))),
])
def test_body_cannot_be_combined(kwargs):
    kwargs.setdefault("extras", Extras(body={}))
    with pytest.raises(UsageError, match="--body sends the request body as given"):
        request.build(resolved("openai.chat"), **kwargs)


def test_no_extras_builds_what_it_built_before():
    for wire in WIRES:
        assert request.build(resolved(wire), prompt="q", extras=Extras()).json_body == \
            request.build(resolved(wire), prompt="q").json_body


def test_prettify_startup_does_not_import_the_request_modules():
    code = ("import sys, runpy; sys.argv = ['aimux', 'prettify', sys.argv[1]]\n"
            "try:\n    runpy.run_module('aimux_cli', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "names = ('aimux_cli.request', 'aimux_cli.request_extras', 'aimux_cli.request_tools', "
            "'aimux_cli.request_wire')\n"
            "sys.stderr.write('LOADED=%s' % sorted(n for n in names if n in sys.modules))")
    doc = REQ.parent / "documents" / "choices.json"
    result = subprocess.run([sys.executable, "-c", code, str(doc)], capture_output=True, text=True)
    assert "LOADED=[]" in result.stderr, result.stderr[-500:]


def test_attachment_is_frozen_and_extras_hashable_parts():
    att = Attachment("a.png", "image/png", b"x")
    with pytest.raises(AttributeError):
        att.mime = "image/gif"  # type: ignore[misc]
    assert request_extras.REASONING_LEVELS == ("none", "low", "medium", "high")
