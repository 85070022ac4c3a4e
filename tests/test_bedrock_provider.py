"""The `bedrock` provider (issue 15): region and key resolution, the Converse request, and `ask` /
`test-providers` as real processes against the loopback provider server (tests/provider_server.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from aimux_cli import config as cfg
from aimux_cli import request
from aimux_cli.errors import ConfigError, ExitCode
from aimux_cli.inputs import Source
from aimux_cli.prettify import normalize
from aimux_cli.request_bedrock import models_url

from provider_server import FIXTURES, Reply

ROOT = Path(__file__).resolve().parents[1]
KEY = "bedrock-api-key-SECRET-5678"
MODEL = "amazon.nova-lite-v1:0"
STREAM_PATH = "/model/amazon.nova-lite-v1%3A0/converse-stream"
BODY_PATH = "/model/amazon.nova-lite-v1%3A0/converse"
EMPTY = cfg.Config(Path("/nonexistent/aimux.toml"), exists=False)


def resolve(**env: str):
    return cfg.resolve("bedrock", env={"AWS_BEARER_TOKEN_BEDROCK": KEY, **env}, config=EMPTY)


# -- resolution and the request -------------------------------------------------------------------------------

def test_region_from_aws_region_then_aws_default_region():
    assert resolve(AWS_REGION="eu-west-3").base_url == "https://bedrock-runtime.eu-west-3.amazonaws.com"
    assert resolve(AWS_DEFAULT_REGION="us-west-2").base_url == "https://bedrock-runtime.us-west-2.amazonaws.com"
    assert resolve(AWS_REGION="ap-south-1", AWS_DEFAULT_REGION="us-west-2").base_url.endswith(
        "ap-south-1.amazonaws.com")


@pytest.mark.parametrize("env, message", [
    ({}, "provider bedrock: its base URL needs an AWS region: set AWS_REGION"),
    ({"AWS_REGION": "eu-west-3/../x"}, "AWS_REGION is not a region name"),
])
def test_a_missing_or_bad_region_is_a_config_error(env, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")) as info:
        resolve(**env)
    assert info.value.exit_code == ExitCode.CONFIG


def test_base_url_override_needs_no_region():
    resolved = cfg.resolve("bedrock", {"base_url": "http://127.0.0.1:9/bedrock"}, env={"AWS_BEARER_TOKEN_BEDROCK": KEY},
                           config=EMPTY)
    assert resolved.base_url == "http://127.0.0.1:9/bedrock"


def test_a_missing_key_names_the_variable():
    with pytest.raises(ConfigError, match="AWS_BEARER_TOKEN_BEDROCK"):
        cfg.resolve("bedrock", env={"AWS_REGION": "us-east-1"}, config=EMPTY)


def test_converse_request():
    resolved = resolve(AWS_REGION="us-east-1")
    prepared = request.build(resolved, prompt="hi", system="be brief", max_tokens=64, temperature=0.2, stream=True)
    assert prepared.url == "https://bedrock-runtime.us-east-1.amazonaws.com" + STREAM_PATH
    assert prepared.headers["authorization"] == f"Bearer {KEY}"
    assert prepared.headers["accept"] == "application/vnd.amazon.eventstream"
    assert prepared.json_body == {"messages": [{"role": "user", "content": [{"text": "hi"}]}],
                                  "system": [{"text": "be brief"}],
                                  "inferenceConfig": {"maxTokens": 64, "temperature": 0.2}}
    whole = request.build(resolved, prompt="hi", stream=False, model="arn:aws:bedrock:us-east-1:1:inference-profile/x")
    assert whole.url.endswith("/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fx/converse")
    assert whole.headers["accept"] == "application/json"
    assert KEY not in repr(prepared)


def test_conversation_turns_alternate_as_converse_wants():
    from aimux_cli.request_bedrock import messages

    turns = [{"role": "user", "content": "weather?"},
             {"role": "assistant", "content": "", "tool_calls": [{"id": "t1", "name": "w", "arguments": '{"c": 1}'},
                                                                 {"id": "t2", "name": "w", "arguments": "x"}]},
             {"role": "tool", "tool_call_id": "t1", "name": "w", "content": "sunny"},
             {"role": "tool", "tool_call_id": "t2", "name": "w", "content": ""}]
    assert messages(turns) == [
        {"role": "user", "content": [{"text": "weather?"}]},
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "w", "input": {"c": 1}}},
                                          {"toolUse": {"toolUseId": "t2", "name": "w", "input": {"value": "x"}}}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "sunny"}]}},
                                     {"toolResult": {"toolUseId": "t2", "content": [{"text": "(empty)"}]}}]},
    ]


def test_models_url_is_the_control_plane():
    assert models_url("https://bedrock-runtime.eu-west-1.amazonaws.com") == \
        "https://bedrock.eu-west-1.amazonaws.com/foundation-models"
    assert models_url("http://127.0.0.1:8080/x/") == "http://127.0.0.1:8080/x/foundation-models"


# -- ask and test-providers, as processes ---------------------------------------------------------------------

@pytest.fixture
def server(provider_server, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(f'[providers.bedrock]\nbase_url = "{provider_server.url}"\n')
    provider_server.config = path
    return provider_server


def run(server, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.lower().endswith("_proxy")}
    env.update(AIMUX_CONFIG=str(server.config), AWS_BEARER_TOKEN_BEDROCK=KEY, NO_PROXY="*", NO_COLOR="",
               HOME=str(server.config.parent), AIMUX_LOG_DB=str(server.config.parent / "log.db"))
    result = subprocess.run([sys.executable, "-m", "aimux_cli", *args], capture_output=True, cwd=ROOT, env=env,
                            timeout=120)
    for stream in (result.stdout, result.stderr):
        assert KEY.encode() not in stream
    return result


def expected(fixture: str) -> dict:
    return normalize(Source(fixture, (FIXTURES / fixture).read_bytes()), provider="bedrock").document.to_dict()


def _request_check(seen) -> str | None:
    body = seen.json()
    return None if body["messages"] == [{"role": "user", "content": [{"text": "rivers?"}]}] else f"body {body}"


def test_ask_streams_binary_frames_as_they_arrive(server):
    data = (FIXTURES / "bedrock/converse-text-stream.eventstream").read_bytes()
    server.route(STREAM_PATH, Reply.drip(data, every=0.0, size=37, content_type="application/vnd.amazon.eventstream"),
                 headers={"authorization": f"Bearer {KEY}", "accept": "application/vnd.amazon.eventstream"},
                 check=_request_check)
    result = run(server, "ask", "-p", "bedrock", "-f", "text", "rivers?")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == ("The Rhine flows through six countries: Switzerland, Liechtenstein, Austria, "
                                      "Germany, France and the Netherlands.\n")


def test_ask_json_is_the_document_prettify_makes(server):
    fixture = "bedrock/converse-tool-use-stream.eventstream"
    server.route(STREAM_PATH, Reply.drip((FIXTURES / fixture).read_bytes(), every=0.0, size=100,
                                         content_type="application/vnd.amazon.eventstream"))
    result = run(server, "ask", "-p", "bedrock", "-f", "json", "rivers?")
    assert result.returncode == 0, result.stderr
    doc = orjson.loads(result.stdout)
    doc.pop("client")
    assert doc == expected(fixture)


def test_ask_no_stream_reads_the_converse_body(server):
    server.route(BODY_PATH, Reply.file("bedrock/converse-text.json"), check=_request_check)
    result = run(server, "ask", "-p", "bedrock", "--no-stream", "-f", "text", "rivers?")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().startswith("The Rhine flows through six countries")


def test_ask_http_error_is_one_line_with_its_exit_code(server):
    server.route(STREAM_PATH, Reply.json({"message": "Bearer Token has expired"}, status=403,
                                         headers={"x-amzn-errortype": "AccessDeniedException:http://internal/"}))
    result = run(server, "ask", "-p", "bedrock", "rivers?")
    assert result.returncode == ExitCode.AUTH
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "403" in lines[0] and "Bearer Token has expired" in lines[0]


def test_ask_stream_exception_prints_the_text_then_fails(server):
    fixture = "bedrock/converse-stream-throttling.eventstream"
    server.route(STREAM_PATH, Reply.file(fixture, headers={"content-type": "application/vnd.amazon.eventstream"}))
    result = run(server, "ask", "-p", "bedrock", "-f", "text", "rivers?")
    assert result.stdout.decode().startswith("Photosynthesis turns light, water and carbon dioxide into")
    assert result.returncode == ExitCode.RATE_LIMIT
    assert "throttlingException" in result.stderr.decode()


def test_ask_corrupt_frame_keeps_the_rest(server):
    fixture = "bedrock/converse-stream-bad-crc.eventstream"
    server.route(STREAM_PATH, Reply.file(fixture, headers={"content-type": "application/vnd.amazon.eventstream"}))
    result = run(server, "ask", "-p", "bedrock", "-f", "json", "rivers?")
    assert result.returncode == 0, result.stderr
    doc = orjson.loads(result.stdout)
    assert doc["warnings"] == ["frame 3 (byte 291) skipped: its message CRC does not match (a corrupt event)"]
    assert doc["blocks"][0]["text"].endswith("France and the Netherlands.")


def test_test_providers_checks_bedrock(server):
    server.route("/foundation-models", Reply.json({"modelSummaries": [{"modelId": MODEL, "providerName": "Amazon"}]}))
    server.route(BODY_PATH, Reply.json({"output": {"message": {"role": "assistant", "content": [{"text": "OK"}]}},
                                        "stopReason": "end_turn", "usage": {"inputTokens": 9, "outputTokens": 1}}))
    server.route(STREAM_PATH, Reply.file("bedrock/converse-text-stream.eventstream",
                                         headers={"content-type": "application/vnd.amazon.eventstream"}))
    result = run(server, "test-providers", "bedrock", "-f", "json")
    report = orjson.loads(result.stdout)
    checks = {c["name"]: c["status"] for c in report["providers"][0]["checks"]}
    assert result.returncode == 0, (result.stderr, report)
    assert checks == {"models": "pass", "complete": "pass", "stream": "pass"}


def test_bench_measures_bedrock_streams(server):
    server.route(STREAM_PATH, Reply.drip((FIXTURES / "bedrock/converse-text-stream.eventstream").read_bytes(),
                                         every=0.0, size=200, content_type="application/vnd.amazon.eventstream"))
    result = run(server, "bench", "provider", "-p", "bedrock", "-n", "3", "--warmup", "0", "-f", "json")
    assert result.returncode == 0, result.stderr
    report = orjson.loads(result.stdout)
    assert (report["summary"]["completed"], report["summary"]["failed"]) == (3, 0)
    rows = report["requests"]
    assert len(rows) == 3 and all(row["status"] == "ok" and row["error"] is None for row in rows)
    assert all(row["output_tokens"] == 27 for row in rows)  # the usage of the metadata event


def test_tools_schema_and_reasoning_in_converse_form():
    from aimux_cli.errors import UsageError
    from aimux_cli.request_bedrock import apply_extras
    from aimux_cli.request_extras import Extras, Tool

    weather = Tool("get_weather", "The weather in a city", {"type": "object", "properties": {"city": {"type": "string"}}})
    body: dict = {"messages": []}
    apply_extras(body, Extras(tools=(weather,), tool_choice="get_weather"), None)
    assert body["toolConfig"] == {"tools": [{"toolSpec": {"name": "get_weather", "description": "The weather in a city",
                                                          "inputSchema": {"json": weather.parameters}}}],
                                  "toolChoice": {"tool": {"name": "get_weather"}}}
    body = {"messages": []}
    apply_extras(body, Extras(tools=(weather,), tool_choice="none"), None)
    assert "toolConfig" not in body  # Converse has no "none": no tools are sent
    body = {"messages": [], "inferenceConfig": {"maxTokens": 512}}
    apply_extras(body, Extras(schema={"type": "array", "items": {"type": "integer"}}), 512)
    apply_extras(body, Extras(reasoning="low"), 512)
    (spec,) = body["toolConfig"]["tools"]
    assert spec["toolSpec"]["name"] == "answer"
    assert spec["toolSpec"]["inputSchema"]["json"]["properties"]["value"] == {"type": "array",
                                                                              "items": {"type": "integer"}}
    assert body["toolConfig"]["toolChoice"] == {"tool": {"name": "answer"}}
    assert body["additionalModelRequestFields"] == {"thinking": {"type": "enabled", "budget_tokens": 1024}}
    assert body["inferenceConfig"]["maxTokens"] == 1024 + 512  # room for the answer beside the thinking budget
    with pytest.raises(UsageError, match="--tool-choice cannot be combined with --schema"):
        apply_extras({}, Extras(tools=(weather,), tool_choice="auto", schema={"type": "object"}), None)
    with pytest.raises(UsageError, match="--reasoning cannot be combined with --schema"):
        apply_extras({}, Extras(schema={"type": "object"}, reasoning="high"), None)


def test_models_lists_bedrock_foundation_models(server):
    server.route("/foundation-models", Reply.json({"modelSummaries": [
        {"modelId": "amazon.nova-lite-v1:0", "modelName": "Nova Lite", "providerName": "Amazon"},
        {"modelId": "anthropic.claude-sonnet-4-5-20250929-v1:0", "modelName": "Claude Sonnet 4.5",
         "providerName": "Anthropic"}]}), headers={"authorization": f"Bearer {KEY}"})
    result = run(server, "models", "-p", "bedrock", "-f", "text")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().split() == ["bedrock/amazon.nova-lite-v1:0",
                                              "bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0"]
