"""`aimux ask` with the catalog rows of issue 15 against the loopback provider server: cohere (Cohere's own v2
chat, request_more.py), mistral (openai.chat without `stream_options`, which Mistral refuses) and vertex (Gemini on
Vertex AI: base URL from GOOGLE_CLOUD_PROJECT / GOOGLE_CLOUD_LOCATION, bearer token from `gcloud`)."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from aimux_cli import cli, config
from aimux_cli.config import Config, resolve
from aimux_cli.errors import ConfigError
from aimux_cli.inputs import Source
from aimux_cli.prettify import normalize
from aimux_cli.providers import CATALOG, expand_base_url, VERTEX_BASE_URL
from provider_server import FIXTURES, Reply, Seen

KEY = "co-test-SECRET-5678"
TOKEN = "ya29.test-TOKEN-9012"

CONFIG = """\
[providers.cohere]
base_url = "{url}"
[providers.mistral]
base_url = "{url}/v1"
[providers.vertex]
base_url = "{url}/v1/projects/{{project}}/locations/{{location}}/publishers/google"
"""


@pytest.fixture
def run(provider_server, tmp_path, monkeypatch, capsysbinary):
    """aimux in this process, its config pointing the three providers at the loopback server; a fake `gcloud` on
    PATH prints TOKEN. No output may contain the key or the token."""
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(url=provider_server.url))
    gcloud = tmp_path / "bin" / "gcloud"
    gcloud.parent.mkdir()
    gcloud.write_text(f"#!/bin/sh\n[ \"$1 $2\" = 'auth print-access-token' ] && echo {TOKEN}\n")
    gcloud.chmod(gcloud.stat().st_mode | stat.S_IEXEC)
    for name in [n for n in os.environ if n.endswith("_API_KEY") or n.lower().endswith("_proxy")
                 or n.startswith("GOOGLE_CLOUD_")]:
        monkeypatch.delenv(name)
    for name, value in dict(AIMUX_CONFIG=str(path), NO_PROXY="*", CO_API_KEY=KEY, MISTRAL_API_KEY=KEY,
                            GOOGLE_CLOUD_PROJECT="my-proj", PATH=f"{gcloud.parent}:{os.environ['PATH']}").items():
        monkeypatch.setenv(name, value)

    def aimux(*args: str) -> subprocess.CompletedProcess:
        config.clear_cache()
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
        with pytest.raises(SystemExit) as exited:
            cli.main(list(args))
        out, err = capsysbinary.readouterr()
        for stream in (out, err):
            assert KEY.encode() not in stream and TOKEN.encode() not in stream, stream[:2000]
        return subprocess.CompletedProcess(args, exited.value.code or 0, out, err)

    aimux.server = provider_server
    return aimux


def document(fixture: str, provider: str) -> dict:
    doc = normalize(Source(fixture, (FIXTURES / fixture).read_bytes()), provider=provider).document.to_dict()
    return doc


def printed(stdout: bytes) -> dict:
    data = json.loads(stdout)
    data.pop("client")
    return data


# -- cohere ---------------------------------------------------------------------------------------------------

def cohere_body(stream: bool, system: str | None = None):
    def check(seen: Seen) -> None:
        body = seen.json()
        assert body["model"] == "command-a-03-2025" and body["stream"] is stream
        head = [{"role": "system", "content": system}] if system else []
        assert body["messages"] == head + [{"role": "user", "content": "hello"}]
        assert "stream_options" not in body
    return check


@pytest.mark.parametrize(("stream", "fixture"), [(True, "cohere/recorded-tool-calls-stream.sse"),
                                                 (False, "cohere/tool-calls.json")])
def test_cohere_answer_is_the_fixtures_document(run, stream, fixture):
    run.server.route("/v2/chat", Reply.file(fixture, delay=0.002), method="POST",
                     headers={"authorization": f"Bearer {KEY}"}, check=cohere_body(stream))
    result = run("ask", "-p", "cohere", "-f", "json", *([] if stream else ["--no-stream"]), "hello")
    assert result.returncode == 0, result.stderr
    assert printed(result.stdout) == document(fixture, "cohere")


def test_cohere_text_system_and_limits(run):
    def check(seen: Seen) -> None:
        cohere_body(True, "be brief")(seen)
        body = seen.json()
        assert (body["temperature"], body["max_tokens"]) == (0.5, 7)

    run.server.route("/v2/chat", Reply.file("cohere/recorded-text-stream.sse"), method="POST", check=check)
    result = run("ask", "-p", "cohere", "-s", "be brief", "--temperature", "0.5", "--max-tokens", "7", "hello")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == document("cohere/recorded-text-stream.sse", "cohere")["blocks"][0]["text"] + "\n"


def test_cohere_error_body_exits_by_its_status(run):
    run.server.route("/v2/chat", Reply.json({"id": "e1", "message": "invalid api token"}, status=401))
    result = run("ask", "-p", "cohere", "hello")
    assert result.returncode == 5
    assert b"invalid api token" in result.stderr


def test_cohere_key_from_either_variable(monkeypatch):
    empty = Config(Path("/nonexistent/config.toml"), False)
    assert resolve("cohere", env={"COHERE_API_KEY": "k" * 8}, config=empty).api_key == "k" * 8
    assert resolve("cohere", env={"CO_API_KEY": "a" * 8, "COHERE_API_KEY": "b" * 8}, config=empty).api_key == "a" * 8
    with pytest.raises(ConfigError, match="set CO_API_KEY or COHERE_API_KEY"):
        resolve("cohere", env={}, config=empty)


# -- mistral --------------------------------------------------------------------------------------------------

def test_mistral_streams_without_stream_options_and_keeps_its_thinking(run):
    def check(seen: Seen) -> None:
        body = seen.json()
        assert body["model"] == "mistral-small-latest" and body["stream"] is True
        assert "stream_options" not in body  # Mistral answers 422 extra_forbidden to it

    run.server.route("/v1/chat/completions", Reply.file("mistral/magistral-thinking-stream.sse"), method="POST",
                     headers={"authorization": f"Bearer {KEY}"}, check=check)
    result = run("ask", "-p", "mistral", "-f", "json", "hello")
    assert result.returncode == 0, result.stderr
    doc = printed(result.stdout)
    assert doc == document("mistral/magistral-thinking-stream.sse", "mistral")
    assert [b["type"] for b in doc["blocks"]] == ["thinking", "text"]


# -- vertex ---------------------------------------------------------------------------------------------------

def test_vertex_url_from_project_and_location_token_from_gcloud(run, monkeypatch):
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "europe-west4")
    path = "/v1/projects/my-proj/locations/europe-west4/publishers/google/models/gemini-2.5-flash:streamGenerateContent"
    run.server.route(path, Reply.file("gemini/text-stream.sse"), method="POST",
                     headers={"authorization": f"Bearer {TOKEN}"})
    result = run("ask", "-p", "vertex", "-f", "json", "hello")
    assert result.returncode == 0, result.stderr
    assert printed(result.stdout) == document("gemini/text-stream.sse", "vertex")
    assert run.server.seen(path)[0].query == "alt=sse"


def test_vertex_without_a_project_is_a_config_error(run, monkeypatch):
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT")
    result = run("ask", "-p", "vertex", "hello")
    assert result.returncode == 3
    assert b"set GOOGLE_CLOUD_PROJECT" in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(("env", "url"), [
    ({"GOOGLE_CLOUD_PROJECT": "p-1"},
     "https://aiplatform.googleapis.com/v1/projects/p-1/locations/global/publishers/google"),
    ({"GOOGLE_CLOUD_PROJECT": "p-1", "GOOGLE_CLOUD_LOCATION": "us-central1"},
     "https://us-central1-aiplatform.googleapis.com/v1/projects/p-1/locations/us-central1/publishers/google"),
])
def test_vertex_base_url(env, url):
    assert expand_base_url(VERTEX_BASE_URL, env) == url


@pytest.mark.parametrize("env", [{}, {"GOOGLE_CLOUD_PROJECT": "p/../x"},
                                 {"GOOGLE_CLOUD_PROJECT": "p", "GOOGLE_CLOUD_LOCATION": "eu?x=1"}])
def test_vertex_base_url_refuses_what_is_not_a_name(env):
    with pytest.raises(ValueError):
        expand_base_url(VERTEX_BASE_URL, env)


def test_catalog_rows():
    assert (CATALOG["cohere"].wire, CATALOG["cohere"].base_url) == ("cohere.chat", "https://api.cohere.com")
    assert (CATALOG["mistral"].wire, CATALOG["mistral"].key_env) == ("openai.chat", "MISTRAL_API_KEY")
    assert (CATALOG["vertex"].auth, CATALOG["vertex"].key_cmd) == ("bearer", ("gcloud", "auth", "print-access-token"))


# -- the Cohere request body ----------------------------------------------------------------------------------

def test_cohere_messages_carry_tool_calls_results_and_images():
    from aimux_cli.request_extras import Attachment
    from aimux_cli.request_more import cohere_messages

    turns = [{"role": "user", "content": "weather in Oslo?"},
             {"role": "assistant", "content": "I will look it up.",
              "tool_calls": [{"id": "call_1", "name": "get_weather", "arguments": '{"city": "Oslo"}'}]},
             {"role": "tool", "content": "-3 C", "tool_call_id": "call_1", "name": "get_weather"},
             {"role": "user", "content": "and this?"}]
    png = Attachment("a.png", "image/png", b"\x89PNG")
    assert cohere_messages(turns, "be brief", (png,)) == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "weather in Oslo?"},
        {"role": "assistant", "tool_plan": "I will look it up.", "tool_calls": [{
            "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "-3 C"},
        {"role": "user", "content": [{"type": "text", "text": "and this?"},
                                     {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw=="}}]},
    ]


def test_cohere_cannot_be_told_which_tool_to_call(run, tmp_path):
    tool = tmp_path / "tool.json"
    tool.write_text('{"name": "get_weather", "parameters": {"type": "object", "properties": {}}}')
    result = run("ask", "-p", "cohere", "--tool", str(tool), "--tool-choice", "get_weather", "--dry-run", "hi")
    assert result.returncode == 2 and b"cohere.chat can require a tool call" in result.stderr
    result = run("ask", "-p", "cohere", "--tool", str(tool), "--tool-choice", "required", "--reasoning", "high",
                 "--dry-run", "hi")
    body = json.loads(result.stdout)
    assert (body["tool_choice"], body["thinking"]) == ("REQUIRED", {"type": "enabled"})
    assert body["tools"][0]["function"]["name"] == "get_weather"
