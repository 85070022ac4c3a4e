"""Every `aimux ask` request option on every wire it sends (issue 11 "Done when"), end to end on the loopback server.

Wires: openai.chat, openai.responses, anthropic.messages, gemini.generate, ollama.chat, cohere.chat and
bedrock.converse (the catalog's `cohere` and `bedrock` rows pointed at the server). Options: -o string, -o typed
nested, --body, --tool with --tool-choice auto/none/required/NAME, --schema, --reasoning at each level, -a png and
-a pdf, --system/--temperature/--max-tokens, and a continued conversation with a tool call and --tool-result; each
streamed and --no-stream. For each, THE BODY THE SERVER RECEIVED is:

- validated with tests/test_request_spec.py's validators (the OpenAI OpenAPI spec from ../shared, skipped with its
  reason when absent: the rest of the case still runs; the anthropic / google-genai / ollama SDK types), and
  Bedrock's with botocore's Converse service model (tests/bedrock_spec.py). Cohere has no vendor definition in the
  test dependencies: its placement checks are all there is;
- checked for the option at the place docs/providers.md "Request options (ask)" gives for that wire
  (tests/ask_matrix_support.py);
- answered with the wire's own fixture (tool calls, JSON for --schema), and `-f json` must show the fixture's
  tool_call blocks / a valid `schema` section.

A wire that cannot carry an option (Ollama and Cohere: -a PDF; Ollama: --tool-choice required/NAME; Cohere:
--tool-choice NAME) exits 2 with one line and nothing is sent. One server for the module; aimux runs in this process
(cli.main) except for the few real-process cases at the end.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ask_matrix_support as m
from aimux_cli import cli, config
from aimux_cli.inputs import Source
from aimux_cli.prettify import normalize
from bedrock_spec import converse_errors
from provider_server import FIXTURES, ProviderServer
from test_request_spec import (SPEC, _anthropic_errors, _gemini_errors, _ollama_errors, _openai_errors,  # noqa: F401
                               anthropic_adapters, gemini_types, ollama_types, openai_spec)

ROOT = Path(__file__).resolve().parents[1]
WIRES = tuple(m.WIRES)
STREAMS = [pytest.param(True, id="stream"), pytest.param(False, id="no-stream")]
NO_SPEC = f"the OpenAI spec is absent ({SPEC}): the body went unvalidated (its placement and the answer were checked)"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One loopback server for the module, and a config file naming every provider at it."""
    with ProviderServer() as srv:
        srv.config = tmp_path_factory.mktemp("matrix") / "config.toml"
        srv.config.write_text(m.CONFIG.format(url=srv.url))
        yield srv


def environment(server) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not (
        k.endswith("_API_KEY") or k.lower().endswith("_proxy") or k.startswith(("AWS_", "GOOGLE_CLOUD_"))
        or k == "AIMUX_DEBUG")}
    env.update({name: m.KEY for name in m.KEY_VARS})
    env.update(AIMUX_CONFIG=str(server.config), NO_PROXY="*", NO_COLOR="", COLUMNS="100")
    return env


@pytest.fixture
def ask(server, monkeypatch, capsysbinary):
    """ask(wire, reply, *args) -> CompletedProcess: routes the wire's paths to `reply`, runs `aimux ask -p PROVIDER
    ARGS` in this process and fails on a leaked key or an unexpected request."""
    env = environment(server)
    for name in set(os.environ) - set(env):
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    server.requests.clear()
    server.errors.clear()

    def run(wire: str, reply, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
        w = m.WIRES[wire]
        headers = dict([w.auth]) if w.auth else None
        for path in {w.stream_path, w.body_path}:
            server.route(path, reply, method="POST", headers=headers)
        config.clear_cache()
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        with pytest.raises(SystemExit) as exited:
            cli.main(["ask", "-p", w.provider, *args])
        out, err = capsysbinary.readouterr()
        for stream in (out, err):
            assert m.KEY.encode() not in stream, f"the key leaked: {stream[:2000]!r}"
        assert not server.errors, server.errors
        return subprocess.CompletedProcess(args, exited.value.code or 0, out, err)

    return run


@pytest.fixture
def check_spec(request, server):
    """check_spec(wire, body): the vendor validator's errors must be none; the OpenAI spec's absence is reported as a
    skip once the rest of the test has run (call it last)."""

    def run(wire: str, body: dict) -> None:
        if wire in ("openai.chat", "openai.responses"):
            if not SPEC.exists():
                pytest.skip(NO_SPEC)
            name = "CreateChatCompletionRequest" if wire == "openai.chat" else "CreateResponse"
            errors = _openai_errors(request.getfixturevalue("openai_spec"), name, body)
        elif wire == "anthropic.messages":
            errors = _anthropic_errors(request.getfixturevalue("anthropic_adapters"), body)
        elif wire == "gemini.generate":
            errors = _gemini_errors(request.getfixturevalue("gemini_types"), body)
        elif wire == "ollama.chat":
            errors = _ollama_errors(request.getfixturevalue("ollama_types"), body)
        elif wire == "bedrock.converse":
            pytest.importorskip("botocore", reason="botocore is a test dependency (pip install -e .[test])")
            errors = converse_errors(body, stream=server.requests[-1].path.endswith("-stream"))
        else:
            return  # cohere.chat: no vendor definition among the test dependencies (placement checks only)
        assert errors == [], (errors, m.redacted(body))

    return run


def received(server, wire: str, stream: bool, given_body: bool = False):
    """The body of the one request the server received, checked for the path / flag that asks for a stream."""
    assert len(server.requests) == 1, [s.path for s in server.requests]
    seen = server.requests[0]
    body = seen.json()
    m.landed_stream(wire, body, seen.path, seen.query, stream, given_body)
    return body


def document(stdout: bytes, stream: bool) -> dict:
    data = json.loads(stdout)
    client = data.pop("client")
    assert ("first_token_s" in client) is stream, client  # a stream was read as one (live, with its TTFT)
    data.pop("schema", None)
    return data


def expected(fixture: str | Path, provider: str) -> dict:
    path = Path(fixture) if Path(fixture).is_absolute() else FIXTURES / fixture
    return normalize(Source(str(fixture), path.read_bytes()), provider=provider).document.to_dict()


def flag(stream: bool) -> list[str]:
    return [] if stream else ["--no-stream"]


# -------------------------------------------------------------------------- plain, sampling, -o, --body


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("case", ["plain", "sampling", "o-string", "o-typed"])
def test_text_options(ask, server, check_spec, wire, stream, case):
    extra = {"plain": [], "sampling": ["--system", "be brief", "--temperature", "0.3", "--max-tokens", "77"]}
    extra = extra[case] if case in extra else [arg for option in m.OPTIONS[wire][case][0] for arg in ("-o", option)]
    fixture = m.WIRES[wire].text[0 if stream else 1]
    result = ask(wire, m.reply(fixture), *flag(stream), *extra, "-f", "json", "hello matrix")
    assert result.returncode == 0, result.stderr
    body = received(server, wire, stream)
    m.landed_prompt(wire, body, "hello matrix")
    if case == "sampling":
        m.landed_sampling(wire, body, "be brief", 0.3, 77)
    elif case != "plain":
        for dotted, value in m.OPTIONS[wire][case][1]:
            assert m.at(body, dotted) == value, (dotted, m.redacted(body))
    assert document(result.stdout, stream) == expected(fixture, m.WIRES[wire].provider)
    check_spec(wire, body)


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("wire", WIRES)
def test_body(ask, server, check_spec, tmp_path, wire, stream):
    given = m.BODIES[wire]
    path = tmp_path / "body.json"
    path.write_text(json.dumps(given))
    fixture = m.WIRES[wire].text[0 if stream else 1]
    result = ask(wire, m.reply(fixture), *flag(stream), "--body", str(path), "-o", m.OPTIONS[wire]["o-string"][0][0],
                 "-f", "json")
    assert result.returncode == 0, result.stderr
    body = received(server, wire, stream, given_body=True)
    (dotted, value), = m.OPTIONS[wire]["o-string"][1]
    assert m.at(body, dotted) == value
    filled = {} if wire in m.URL_HOLDS_MODEL_AND_STREAM else {"model": m.WIRES[wire].model, "stream": stream}
    top = dotted.split(".")[0]
    assert {k: v for k, v in body.items() if k != top} == {**{k: v for k, v in given.items() if k != top}, **filled}
    assert document(result.stdout, stream) == expected(fixture, m.WIRES[wire].provider)
    check_spec(wire, body)


# ------------------------------------------------------------------------------------ --tool, --tool-choice


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("choice", m.CHOICES)
def test_tools(ask, server, check_spec, wire, stream, choice):
    w = m.WIRES[wire]
    args = [*flag(stream), "--tool", str(m.TOOL), "--tool-choice", choice, "-f", "json", "weather in Paris?"]
    if choice in m.NO_NAMED_CHOICE.get(wire, ()):
        result = ask(wire, m.reply(w.tools[0]), *args)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.decode().splitlines()
        assert len(lines) == 1 and lines[0].startswith("aimux: error:") and "--tool-choice" in lines[0], lines
        assert server.requests == [] and result.stdout == b""
        return
    fixture = (w.text if choice == "none" else w.tools)[0 if stream else 1]
    result = ask(wire, m.reply(fixture), *args)
    assert result.returncode == 0, result.stderr
    body = received(server, wire, stream)
    m.landed_prompt(wire, body, "weather in Paris?")
    m.landed_tools(wire, body, choice)
    doc = document(result.stdout, stream)
    want = expected(fixture, w.provider)
    assert doc == want
    calls = [b for b in doc["blocks"] if b["type"] == "tool_call"]
    assert calls or choice == "none"
    assert all(isinstance(c["arguments"], dict) and c["name"] for c in calls)
    check_spec(wire, body)


# ---------------------------------------------------------------------------------------------------- --schema


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("wire", WIRES)
def test_schema(ask, server, check_spec, wire, stream):
    """A JSON answer that follows the schema: exit 0 and `schema: {valid: true}`. Streamed, where no recorded
    stream of such an answer exists, the wire's text stream answers: exit 11 and `valid: false` (the answer first)."""
    w = m.WIRES[wire]
    if not stream:
        answer, fine = m.schema_answer(wire), True
    elif wire in m.STREAMED_SCHEMA_ANSWERS:
        answer, fine = m.reply(m.STREAMED_SCHEMA_ANSWERS[wire]), True
    else:
        answer, fine = m.reply(w.text[0]), False
    result = ask(wire, answer, *flag(stream), "--schema", str(m.SCHEMA_FILE), "-f", "json", "who?")
    assert result.returncode == (0 if fine else 11), result.stderr
    body = received(server, wire, stream)
    m.landed_prompt(wire, body, "who?")
    m.landed_schema(wire, body)
    data = json.loads(result.stdout)
    assert data["schema"]["valid"] is fine, data["schema"]
    if fine:
        assert data["schema"] == {"valid": True, "errors": []}
        calls = [b for b in data["blocks"] if b["type"] == "tool_call"]
        if wire in ("anthropic.messages", "bedrock.converse"):  # the forced tool's call is the answer
            assert [(c["name"], c["arguments"]) for c in calls] == [("person", m.PERSON)]
        else:
            assert calls == [] and json.loads("".join(b["text"] for b in data["blocks"] if b["type"] == "text")) \
                == m.PERSON
    else:
        assert "does not validate against --schema" in result.stderr.decode().splitlines()[-1]
    check_spec(wire, body)


# -------------------------------------------------------------------------------------------------- --reasoning


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("level", m.LEVELS)
def test_reasoning(ask, server, check_spec, wire, stream, level):
    fixture = m.WIRES[wire].text[0 if stream else 1]
    result = ask(wire, m.reply(fixture), *flag(stream), "--reasoning", level, "-f", "json", "think")
    assert result.returncode == 0, result.stderr
    body = received(server, wire, stream)
    m.landed_prompt(wire, body, "think")
    m.landed_reasoning(wire, body, level)
    assert document(result.stdout, stream) == expected(fixture, m.WIRES[wire].provider)
    check_spec(wire, body)


# ------------------------------------------------------------------------------------------------------ -a FILE


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("name", ["pixel.png", "page.pdf"])
def test_attach(ask, server, check_spec, wire, stream, name):
    fixture = m.WIRES[wire].text[0 if stream else 1]
    path = m.ATTACH / name
    result = ask(wire, m.reply(fixture), *flag(stream), "-a", str(path), "-f", "json", "what is this?")
    if name == "page.pdf" and wire in m.NO_PDF:  # images only: refused before anything is sent
        assert result.returncode == 2, result.stderr
        lines = result.stderr.decode().splitlines()
        assert len(lines) == 1 and lines[0].startswith("aimux: error:") and "--attach" in lines[0], lines
        assert "PDF" in lines[0] or "application/pdf" in lines[0], lines
        assert server.requests == [] and result.stdout == b""
        return
    assert result.returncode == 0, result.stderr
    body = received(server, wire, stream)
    m.landed_prompt(wire, body, "what is this?")
    m.landed_attachment(wire, body, path)
    assert document(result.stdout, stream) == expected(fixture, m.WIRES[wire].provider)
    check_spec(wire, body)


# ----------------------------------------------------------------------- a tool call, then --tool-result (-c)


def _args(value) -> dict:
    return json.loads(value) if isinstance(value, str) else value


def calls_and_results(wire: str, body: dict) -> tuple[list[tuple], list[tuple]]:
    """The re-sent assistant tool calls [(id, name, arguments)] and tool results [(call id or name, text)], read
    where docs/providers.md's conversation table puts them for the wire (ids None where the wire has none)."""
    calls, results = [], []
    turns = body["input"] if wire == "openai.responses" else body["contents"] if wire == "gemini.generate" \
        else body["messages"]
    for turn in turns:
        role = turn.get("role")
        if wire in ("openai.chat", "cohere.chat", "ollama.chat"):
            for call in turn.get("tool_calls") or () if role == "assistant" else ():
                fn = call["function"]
                if wire != "ollama.chat":
                    assert call["type"] == "function" and isinstance(fn["arguments"], str), call
                calls.append((call.get("id"), fn["name"], _args(fn["arguments"])))
            if role == "tool":
                results.append((turn.get("tool_call_id") or turn["tool_name"], turn["content"]))
        elif wire == "openai.responses":
            if turn.get("type") == "function_call":
                calls.append((turn["call_id"], turn["name"], _args(turn["arguments"])))
            elif turn.get("type") == "function_call_output":
                results.append((turn["call_id"], turn["output"]))
        elif wire == "anthropic.messages":
            for block in turn["content"] if isinstance(turn["content"], list) else ():
                if block["type"] == "tool_use":
                    assert role == "assistant"
                    calls.append((block["id"], block["name"], block["input"]))
                elif block["type"] == "tool_result":
                    assert role == "user"
                    results.append((block["tool_use_id"], block["content"]))
        elif wire == "gemini.generate":
            for part in turn["parts"]:
                if "functionCall" in part:
                    assert role == "model"
                    calls.append((None, part["functionCall"]["name"], part["functionCall"]["args"]))
                elif "functionResponse" in part:
                    assert role == "user"
                    response = part["functionResponse"]["response"]
                    results.append((part["functionResponse"]["name"], response.get("output", response)))
        else:
            for block in turn["content"]:
                if "toolUse" in block:
                    assert role == "assistant"
                    use = block["toolUse"]
                    calls.append((use["toolUseId"], use["name"], use["input"]))
                elif "toolResult" in block:
                    assert role == "user"
                    (text,) = block["toolResult"]["content"]
                    results.append((block["toolResult"]["toolUseId"], text["text"]))
    return calls, results


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("wire", WIRES)
def test_tool_call_then_tool_result(ask, server, check_spec, wire, stream):
    """`ask --tool` gets the wire's tool calls; `ask -c --tool-result NAME=...` for each sends them back with their
    results in the wire's own form (no new prompt: a tool loop going on)."""
    w = m.WIRES[wire]
    first = ask(wire, m.reply(w.tools[0 if stream else 1]), *flag(stream), "--tool", str(m.TOOL), "-f", "json",
                "weather in Paris?")
    assert first.returncode == 0, first.stderr
    asked = [(c.get("id"), c["name"], c["arguments"]) for c in json.loads(first.stdout)["blocks"]
             if c["type"] == "tool_call"]
    assert asked
    server.requests.clear()
    texts = [json.dumps({"result": i}) if i == 0 else f"result {i}" for i in range(len(asked))]
    given = [arg for (_, name, _), text in zip(asked, texts) for arg in ("--tool-result", f"{name}={text}")]
    fixture = w.text[0 if stream else 1]
    result = ask(wire, m.reply(fixture), *flag(stream), "-c", "--tool", str(m.TOOL), *given, "-f", "json")
    assert result.returncode == 0, result.stderr
    body = received(server, wire, stream)
    calls, results = calls_and_results(wire, body)
    assert [(name, args) for _, name, args in calls] == [(name, args) for _, name, args in asked]
    assert [text if isinstance(text, str) else json.dumps(text) for _, text in results] == texts
    for (call_id, name, _), (answers, _) in zip(calls, results):
        assert answers == (call_id if call_id is not None else name)
        if wire in ("openai.chat", "openai.responses", "anthropic.messages", "cohere.chat", "bedrock.converse"):
            assert call_id  # an id the wire needs: the provider's own, or one aimux made
    assert m.tool_names(wire, body) == ["get_weather"]
    assert document(result.stdout, stream) == expected(fixture, w.provider)
    check_spec(wire, body)


# ------------------------------------------------------------------------------------ real processes, everything


def option_cases(wire: str) -> tuple[str, ...]:
    # Anthropic: -o thinking.* and --reasoning write the same field (-o comes last): the typed case stays out
    return ("o-string",) if wire == "anthropic.messages" else ("o-string", "o-typed")


def everything(wire: str) -> list[str]:
    """Every option a wire takes at once (but --schema, which some wires refuse beside --tool-choice/--reasoning)."""
    options = [arg for case in option_cases(wire) for option in m.OPTIONS[wire][case][0] for arg in ("-o", option)]
    return ["--system", "be brief", "--temperature", "0.3", "--max-tokens", "77", "--tool", str(m.TOOL),
            "--tool-choice", "auto", "--reasoning", "low", "-a", str(m.ATTACH / "pixel.png"), *options]


@pytest.mark.parametrize("wire", WIRES)
def test_everything_at_once_as_a_process(server, check_spec, wire):
    """`python -m aimux_cli ask` with every option together, streamed: each lands where it does alone, the body
    validates, the tool calls come back, and no output holds the key."""
    w = m.WIRES[wire]
    server.requests.clear()
    server.errors.clear()
    for path in {w.stream_path, w.body_path}:
        server.route(path, m.reply(w.tools[0]), method="POST", headers=dict([w.auth]) if w.auth else None)
    args = everything(wire)
    result = subprocess.run([sys.executable, "-m", "aimux_cli", "ask", "-p", w.provider, *args, "-f", "json",
                             "weather in Paris?"], capture_output=True, cwd=ROOT, env=environment(server), timeout=120)
    for stream in (result.stdout, result.stderr):
        assert m.KEY.encode() not in stream
    assert result.returncode == 0, result.stderr
    assert not server.errors, server.errors
    body = received(server, wire, True)
    m.landed_prompt(wire, body, "weather in Paris?")
    m.landed_tools(wire, body, "auto")
    m.landed_attachment(wire, body, m.ATTACH / "pixel.png")
    m.landed_reasoning(wire, body, "low", max_tokens=77)
    for case in option_cases(wire):
        for dotted, value in m.OPTIONS[wire][case][1]:
            assert m.at(body, dotted) == value, dotted
    # thinking's budget raises the token limit on Anthropic and Bedrock (checked above): 1024 + 77
    m.landed_sampling(wire, body, "be brief", 0.3, 1101 if wire in ("anthropic.messages", "bedrock.converse") else 77)
    doc = document(result.stdout, True)
    assert doc == expected(w.tools[0], w.provider)
    check_spec(wire, body)


BAD_CONVERSE = [
    {"messages": [{"role": "user", "content": [{"text": "hi"}]}], "model": "x"},  # unknown key
    {"messages": [{"role": "user", "content": [{"txt": "hi"}]}]},
    {"messages": [{"role": "user", "content": [{"text": "hi"}]}], "inferenceConfig": {"maxTokens": "5"}},
    {"messages": [{"role": "user", "content": [{"image": {"format": "png", "source": {"bytes": "**"}}}]}]},
    {"messages": [{"role": "user", "content": "hi"}]},
    {"messages": [{"role": "user", "content": [{"text": "hi"}]}], "toolConfig": {"tools": [{"toolSpec": {
        "name": "f", "inputSchema": {"schema": {}}}}]}},
]


@pytest.mark.parametrize("index", range(len(BAD_CONVERSE)))
def test_the_converse_validator_refuses_a_wrong_body(index):
    pytest.importorskip("botocore", reason="botocore is a test dependency (pip install -e .[test])")
    assert converse_errors({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}, True) == []
    assert converse_errors(BAD_CONVERSE[index], index % 2 == 0) != []


# ------------------------------------------------------------ the URL holds the model and the stream (Bedrock)


@pytest.mark.parametrize("option", ["stream:=false", "model=amazon.titan-text-express-v1"])
@pytest.mark.parametrize("wire", m.URL_HOLDS_MODEL_AND_STREAM)
def test_o_stream_or_model_is_refused_where_the_url_has_them(ask, server, wire, option):
    result = ask(wire, m.reply(m.WIRES[wire].text[0]), "-o", option, "hi")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.decode().splitlines()
    assert lines == [f"aimux: error: -o stream/model: {wire} has neither in its body: the URL names the model "
                     "(--model) and whether it streams (--no-stream)"]
    assert server.requests == []


def test_a_model_in_a_converse_body_picks_the_url(ask, server, tmp_path):
    """Regression: --body on bedrock.converse used to gain `model` and `stream` keys, which Converse refuses."""
    path = tmp_path / "body.json"
    path.write_text(json.dumps({"model": "amazon.nova-pro-v1:0", **m.BODIES["bedrock.converse"]}))
    server.route("/model/amazon.nova-pro-v1%3A0/converse-stream", m.reply(m.WIRES["bedrock.converse"].text[0]))
    result = ask("bedrock.converse", m.reply(m.WIRES["bedrock.converse"].text[0]), "--body", str(path), "-f", "json")
    assert result.returncode == 0, result.stderr
    (seen,) = server.requests
    assert seen.path == "/model/amazon.nova-pro-v1%3A0/converse-stream"
    assert seen.json() == m.BODIES["bedrock.converse"]
    assert "first_token_s" in json.loads(result.stdout)["client"]


@pytest.mark.parametrize(("wire", "args"), [
    ("ollama.chat", ["-a", str(m.ATTACH / "page.pdf")]),
    ("cohere.chat", ["-a", str(m.ATTACH / "page.pdf")]),
    ("ollama.chat", ["--tool", str(m.TOOL), "--tool-choice", "required"]),
    ("cohere.chat", ["--tool", str(m.TOOL), "--tool-choice", "get_weather"]),
])
def test_what_a_wire_cannot_carry_exits_2_as_a_process(server, wire, args):
    """The real exit status and stderr of a refusal (the in-process matrix checks every such case): one line, exit 2
    (errors.py's usage code), nothing sent, nothing on stdout."""
    server.requests.clear()
    result = subprocess.run([sys.executable, "-m", "aimux_cli", "ask", "-p", m.WIRES[wire].provider, *args, "hi"],
                            capture_output=True, cwd=ROOT, env=environment(server), timeout=120)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(b"aimux: error:")
    assert result.stdout == b"" and server.requests == []
