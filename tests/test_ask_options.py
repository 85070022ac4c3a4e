"""`aimux ask`'s request flags end to end (issue 11) on openai.chat, anthropic.messages and gemini.generate: the body
the loopback server receives for -o, --body, --tool/--tool-choice, --schema, --reasoning and -a; tool calls in the
answer shown in every output format; each usage error naming its flag (exit 2) and each unreadable file (exit 4),
before anything is sent. The per-wire field mapping itself is request_tools.py's (its own tests); here the point is
that the flags reach it and the answer comes back.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from provider_server import Reply, Seen
from test_ask import KEY, ask, inline, route, server  # noqa: F401 - fixtures

DATA = Path(__file__).resolve().parent / "data" / "ask"
ATTACH = Path(__file__).resolve().parent / "data" / "attach"
TOOL = str(DATA / "weather.tool.json")
SCHEMA = str(DATA / "person.schema.json")
PROVIDERS = ("openai", "anthropic", "gemini")
TOOL_FIXTURES = {"openai": ("openai/chat-two-tool-calls-stream.sse", "openai/chat-two-tool-calls.json"),
                 "anthropic": ("anthropic/tool-use-parallel-stream.sse", "anthropic/tool-use-parallel.json"),
                 "gemini": ("gemini/vertex-stream-function-call-arguments-gemini3.sse",
                            "gemini/parallel-function-calls.json")}


def sent(server) -> dict:
    assert server.count() == 1
    return server.requests[0].json()


def tools_of(provider: str, body: dict) -> list[str]:
    if provider == "openai":
        return [t["function"]["name"] for t in body["tools"]]
    if provider == "anthropic":
        return [t["name"] for t in body["tools"]]
    return [f["name"] for t in body["tools"] for f in t["functionDeclarations"]]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_option_sets_typed_and_string_values_at_dotted_keys(server, inline, provider):
    route(server, provider, Reply.file({"openai": "openai/chat-text.json", "anthropic": "anthropic/text-end-turn.json",
                                        "gemini": "gemini/text-stop.json"}[provider]), stream=False)
    key = "generationConfig" if provider == "gemini" else "metadata"
    result = inline("ask", "-p", provider, "--no-stream", "-o", f"{key}.topK:=5", "-o", "x.note=a=b",
                    "-o", "x.flag:=true", "-f", "text", "hi")
    assert result.returncode == 0, result.stderr
    body = sent(server)
    assert body[key]["topK"] == 5 and body["x"] == {"note": "a=b", "flag": True}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_tool_and_tool_choice_reach_the_body_and_the_calls_come_back(server, inline, provider):
    stream_fixture, _ = TOOL_FIXTURES[provider]
    route(server, provider, Reply.file(stream_fixture))
    result = inline("ask", "-p", provider, "--tool", TOOL, "--tool-choice", "get_weather", "-f", "text", "weather?")
    assert result.returncode == 0, result.stderr
    body = sent(server)
    assert tools_of(provider, body) == ["get_weather"]
    choice = body.get("tool_choice") or body.get("toolConfig")
    assert "get_weather" in json.dumps(choice)
    calls = [line for line in result.stdout.decode().splitlines() if line.startswith("tool ")]
    assert len(calls) >= 1 and all(json.loads(line.split(" ", 2)[2]) is not None for line in calls)


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("fmt", ["json", "toon", "text", "rich"])
def test_tool_calls_are_in_every_format(server, inline, provider, fmt):
    _, body_fixture = TOOL_FIXTURES[provider]
    route(server, provider, Reply.file(body_fixture), stream=False)
    result = inline("ask", "-p", provider, "--no-stream", "--tool", TOOL, "-f", fmt, "weather?")
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    if fmt in ("json", "toon"):
        import toon_format

        doc = json.loads(out) if fmt == "json" else toon_format.decode(out)
        calls = [b for b in doc["blocks"] if b["type"] == "tool_call"]
        assert len(calls) == 2 and all(isinstance(c["arguments"], dict) for c in calls)
    elif fmt == "text":
        assert sum(1 for line in out.splitlines() if line.startswith("tool ")) == 2
    else:
        assert sum(1 for line in out.splitlines() if line.startswith("tool call ")) == 2


@pytest.mark.parametrize("provider", PROVIDERS)
def test_schema_asks_for_structured_output(server, inline, provider):
    fixture = {"openai": "openai-person-valid.json", "anthropic": "anthropic-person-valid.json",
               "gemini": "gemini-person-valid.json"}[provider]
    route(server, provider, Reply.file(DATA / fixture), stream=False)
    result = inline("ask", "-p", provider, "--no-stream", "--schema", SCHEMA, "-f", "text", "who?")
    assert result.returncode == 0, result.stderr
    body = sent(server)
    schema = json.loads(Path(SCHEMA).read_text())
    if provider == "openai":
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["schema"] == schema
    elif provider == "anthropic":
        assert body["tools"][0]["name"] == "person" and body["tools"][0]["input_schema"] == schema
        assert body["tool_choice"] == {"type": "tool", "name": "person"}
    else:
        assert body["generationConfig"]["responseMimeType"] == "application/json"
        assert schema["properties"] == (body["generationConfig"].get("responseSchema")
                                        or body["generationConfig"].get("responseJsonSchema"))["properties"]


def test_schema_given_inline_as_json(server, inline):
    route(server, "openai", Reply.file(DATA / "openai-person-valid.json"), stream=False)
    result = inline("ask", "-p", "openai", "--no-stream", "--schema", Path(SCHEMA).read_text(), "-f", "text", "who?")
    assert result.returncode == 0, result.stderr
    assert sent(server)["response_format"]["json_schema"]["name"] == "person"


@pytest.mark.parametrize("provider,where", [
    ("openai", ("reasoning_effort",)),
    ("anthropic", ("thinking", "budget_tokens")),
    ("gemini", ("generationConfig", "thinkingConfig", "thinkingBudget")),
])
def test_reasoning_maps_per_wire(server, inline, provider, where):
    route(server, provider, Reply.file(TOOL_FIXTURES[provider][0]))
    result = inline("ask", "-p", provider, "--reasoning", "high", "-f", "text", "think")
    assert result.returncode == 0, result.stderr
    value = sent(server)
    for key in where:
        value = value[key]
    assert value == "high" if provider == "openai" else value > 0


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("name", ["pixel.png", "page.pdf"])
def test_attach_sends_the_file_inline_in_base64(server, inline, provider, name):
    route(server, provider, Reply.file(TOOL_FIXTURES[provider][0]))
    result = inline("ask", "-p", provider, "-a", str(ATTACH / name), "-f", "text", "what is this?")
    assert result.returncode == 0, result.stderr
    body = json.dumps(sent(server))
    assert base64.b64encode((ATTACH / name).read_bytes()).decode() in body
    assert "what is this?" in body


@pytest.mark.parametrize("provider", PROVIDERS)
def test_body_is_sent_as_given_with_model_and_stream_filled(server, inline, provider, tmp_path):
    given = {"openai": {"messages": [{"role": "user", "content": "from a file"}], "temperature": 0.25},
             "anthropic": {"max_tokens": 64, "messages": [{"role": "user", "content": "from a file"}]},
             "gemini": {"contents": [{"role": "user", "parts": [{"text": "from a file"}]}]}}[provider]
    path = tmp_path / "body.json"
    path.write_text(json.dumps(given))
    route(server, provider, Reply.file(TOOL_FIXTURES[provider][0]))
    result = inline("ask", "-p", provider, "--body", str(path), "-o", "extra:=1", "-f", "text")
    assert result.returncode == 0, result.stderr
    body = sent(server)
    assert {k: body[k] for k in given} == given and body["extra"] == 1
    if provider != "gemini":
        assert body["model"] and body["stream"] is True


def test_body_from_stdin_leaves_the_prompt_out(server, inline):
    route(server, "openai", Reply.file("openai/chat-text.json"), stream=False)
    given = {"model": "gpt-x", "messages": [{"role": "user", "content": "piped"}], "stream": False}
    result = inline("ask", "-p", "openai", "--body", "-", "-f", "text", stdin=json.dumps(given).encode())
    assert result.returncode == 0, result.stderr
    assert sent(server) == given


@pytest.mark.parametrize("args,flag", [
    (["-o", "novalue"], "-o"),
    (["-o", "a:={bad"], "-o"),
    (["--tool-choice", "get_weather"], "--tool-choice"),
    (["--tool", TOOL, "--tool-choice", "nope"], "--tool-choice"),
    (["--tool", TOOL, "--tool", TOOL], "--tool"),
    (["--reasoning", "extreme"], "--reasoning"),
    (["--schema", "{not json"], "--schema"),
    (["--body", "-", "--tool", "-"], "--body and --tool"),
    (["--curl", "--dry-run"], "--curl and --dry-run"),
])
def test_usage_errors_name_the_flag_and_send_nothing(server, args, flag):
    result = ask(server, "-p", "openai", *args, "hi")
    assert result.returncode == 2, result.stderr
    first = result.stderr.decode().splitlines()[0]
    assert first.startswith("aimux: error:") and flag in first
    assert server.count() == 0


@pytest.mark.parametrize("args,name", [
    (["--tool", "missing.json"], "missing.json"),
    (["--schema", "missing.schema.json"], "missing.schema.json"),
    (["--body", "missing-body.json"], "missing-body.json"),
    (["-a", "missing.png"], "missing.png"),
    (["-a", str(ATTACH / "text.png")], "text.png"),
])
def test_unreadable_files_exit_4_naming_the_file(server, args, name):
    result = ask(server, "-p", "openai", *args, "hi")
    assert result.returncode == 4, result.stderr
    assert name in result.stderr.decode().splitlines()[0]
    assert server.count() == 0


def test_body_with_a_prompt_is_a_usage_error(server, tmp_path):
    path = tmp_path / "body.json"
    path.write_text('{"messages": []}')
    result = ask(server, "-p", "openai", "--body", str(path), "a prompt too")
    assert result.returncode == 2 and b"--body" in result.stderr
    assert server.count() == 0


def test_help_documents_every_flag_with_an_example():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "aimux_cli", "ask", "--help"], capture_output=True,
                         env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"}, timeout=60).stdout.decode()
    for flag in ("--option", "--body", "--tool", "--tool-choice", "--schema", "--reasoning", "--attach", "--verbose",
                 "--curl", "--dry-run", "--fallback"):
        assert flag in out
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for example in ("-o thinking.budget_tokens:=2048", "--body", "--tool ", "--tool-choice", "--schema ",
                    "--reasoning ", "-a ", "-v ", "--curl", "--dry-run"):
        assert f"aimux ask" in readme and example in readme, example


def test_schema_from_stdin_is_not_taken_for_the_prompt(server, inline):
    route(server, "gemini", Reply.file(DATA / "gemini-person-valid.json"), stream=False)
    result = inline("ask", "-p", "gemini", "--no-stream", "--schema", "-", "-f", "json", "who?",
                    stdin=Path(SCHEMA).read_bytes())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["schema"]["valid"] is True
    assert json.dumps(sent(server)["contents"]) == json.dumps([{"role": "user", "parts": [{"text": "who?"}]}])


@pytest.mark.parametrize("args,model", [
    (["-p", "openai/gpt-4o"], "gpt-4o"),
    (["-p", "openai/gpt-4o", "-m", "gpt-other"], "gpt-4o"),  # the model named with the provider wins
    (["-p", "openai", "-m", "gpt-other"], "gpt-other"),
])
def test_provider_slash_model_picks_the_model(server, inline, args, model):
    route(server, "openai", Reply.file("openai/chat-text.json"), stream=False)
    result = inline("ask", *args, "--no-stream", "-f", "text", "hi")
    assert result.returncode == 0, result.stderr
    assert sent(server)["model"] == model


def test_an_unknown_provider_before_a_slash_is_named_whole(server):
    result = ask(server, "-p", "nope/model-x", "hi")
    assert result.returncode == 3 and b"'nope/model-x'" in result.stderr
