"""`aimux ask` as a real process against the loopback provider server (tests/provider_server.py).

Covers every wire format streamed and not (the server checks path, auth header and body fields), each output format,
stdin context, every exit code (3, 2, 5, 6, 7, 8, 9), the retry rules (counted requests; Retry-After honoured as a
lower bound only), terminal safety on a pseudo-terminal, and secrets: every run's stdout and stderr is checked for
the test key. Expected documents come from prettify's own core reading the same fixture file.
"""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from aimux_cli import cli, config
from aimux_cli.inputs import Source
from aimux_cli.prettify import normalize
from aimux_cli.render.text import render_text
from aimux_cli.toon import encode
from provider_server import FIXTURES, Reply, Seen
from pty_support import read_terminal

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-test-SECRET-1234"  # recognizable: no output of any run may contain it
KEY_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY")
CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
RESPONSES = "/v1/responses"
GEMINI_STREAM = "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
GEMINI_BODY = "/v1beta/models/gemini-2.5-flash:generateContent"
OLLAMA = "/api/chat"

# provider -> (path streamed, path not streamed, auth header, its value, stream fixture, body fixture)
WIRES = {
    "openai": (CHAT, CHAT, "authorization", f"Bearer {KEY}",
               "openai/chat-text-stream.sse", "openai/chat-text.json"),
    "anthropic": (MESSAGES, MESSAGES, "x-api-key", KEY,
                  "anthropic/text-end-turn-stream.sse", "anthropic/text-end-turn.json"),
    "gemini": (GEMINI_STREAM, GEMINI_BODY, "x-goog-api-key", KEY, "gemini/text-stream.sse", "gemini/text-stop.json"),
    "ollama": (OLLAMA, OLLAMA, None, None, "ollama/chat-stream.ndjson", "ollama/chat.json"),
    "responses": (RESPONSES, RESPONSES, "authorization", f"Bearer {KEY}",
                  "openai-responses/reasoning-summary-function-call-stream.sse",
                  "openai-responses/reasoning-summary-function-call.json"),
}
MODELS = {"openai": "gpt-4.1-mini", "anthropic": "claude-sonnet-4-5", "gemini": "gemini-2.5-flash",
          "ollama": "llama3.2", "responses": "gpt-test"}

CONFIG = """\
[providers.openai]
base_url = "{url}/v1"
[providers.anthropic]
base_url = "{url}/v1"
[providers.gemini]
base_url = "{url}/v1beta"
[providers.ollama]
base_url = "{url}"
[providers.responses]
wire = "openai.responses"
base_url = "{url}/v1"
api_key_env = "OPENAI_API_KEY"
model = "gpt-test"
"""


@pytest.fixture
def server(provider_server, tmp_path):
    """The loopback server plus a config file pointing every provider at it."""
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(url=provider_server.url))
    provider_server.config = path
    return provider_server


def process_env(server, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_API_KEY") and not k.lower().endswith("_proxy") and k not in ("AIMUX_DEBUG",)}
    env.update({name: KEY for name in KEY_VARS})
    env.update(AIMUX_CONFIG=str(server.config), NO_PROXY="*", NO_COLOR="", FORCE_COLOR="", COLUMNS="100")
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def aimux(server, *args: str, stdin: bytes = b"", env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `python -m aimux_cli ARGS` to completion; fails the test if the key shows up in any output."""
    result = subprocess.run([sys.executable, "-m", "aimux_cli", *args], input=stdin, capture_output=True,
                            cwd=ROOT, env=env or process_env(server), timeout=120)
    for stream in (result.stdout, result.stderr):
        assert KEY.encode() not in stream, f"the API key leaked: {stream[:2000]!r}"
    return result


def ask(server, *args: str, **kw) -> subprocess.CompletedProcess:
    return aimux(server, "ask", *args, **kw)


@pytest.fixture
def inline(server, monkeypatch, capsysbinary):
    """Run aimux in this process (`cli.main`), with the subprocess environment: faster, for the many format cases.
    Exit codes, secrets, terminals and flushing are tested with real processes."""
    env = process_env(server)
    for name in set(os.environ) - set(env):
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
        config.clear_cache()  # the config file differs per test
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        with pytest.raises(SystemExit) as exited:
            cli.main(list(args))
        out, err = capsysbinary.readouterr()
        for stream in (out, err):
            assert KEY.encode() not in stream, f"the API key leaked: {stream[:2000]!r}"
        return subprocess.CompletedProcess(args, exited.value.code or 0, out, err)

    return run


def expected(fixture: str, provider: str | None = None) -> dict:
    """The document prettify makes of a fixture file (naming the provider as `ask -p provider` does)."""
    doc = normalize(Source(fixture, (FIXTURES / fixture).read_bytes()), provider=provider).document
    assert doc is not None
    return doc.to_dict()


def answer_and_calls(doc: dict) -> str:
    """What `ask -f text` prints: the answer text, then one `tool NAME ARGUMENTS` line per tool call."""
    calls = [f"tool {b['name']} {json.dumps(b['arguments'], ensure_ascii=False)}\n"
             for b in doc.get("blocks", ()) if b["type"] == "tool_call"]
    return render_text(doc) + "".join(calls)


def ask_document(stdout: bytes, streamed: bool = True) -> dict:
    """The document `ask -f json` printed, without its `client` section (checked here: aimux's own timing)."""
    data = json.loads(stdout)
    client = data.pop("client")
    assert list(client) == (["first_token_s"] if streamed else []) + ["total_s", "attempts"]
    assert client["attempts"] == 1 and 0 <= client.get("first_token_s", 0) <= client["total_s"]
    return data


def body_check(provider: str, stream: bool, prompt: str = "hello", system: str | None = None):
    """A server-side check of the request body's fields for each wire format."""
    def check(seen: Seen) -> None:
        body = seen.json()
        if provider == "gemini":
            assert body["contents"] == [{"role": "user", "parts": [{"text": prompt}]}]
            assert seen.query == ("alt=sse" if stream else "")
            if system:
                assert body["systemInstruction"] == {"parts": [{"text": system}]}
            return
        assert body["model"] == MODELS[provider]
        if provider == "responses":
            assert body["input"] == [{"role": "user", "content": prompt}] and body["stream"] is stream
            assert body.get("instructions") == system
            return
        assert body.get("stream", False) is stream
        messages = body["messages"]
        if provider == "anthropic":
            assert body["max_tokens"] > 0 and body.get("system") == system
        elif system:
            assert messages[0] == {"role": "system", "content": system}
            messages = messages[1:]
        assert messages == [{"role": "user", "content": prompt}]
    return check


def route(server, provider: str, *replies: Reply, stream: bool = True, **kw) -> str:
    path_stream, path_body, header, value, *_ = WIRES[provider]
    path = path_stream if stream else path_body
    server.route(path, *replies, method="POST", headers={header: value} if header else None, **kw)
    return path


# --- every wire format, streamed and not ---------------------------------------------------------------------------


@pytest.mark.parametrize("provider", sorted(WIRES))
def test_streamed_answer_per_wire_is_the_fixtures_document(server, inline, provider):
    fixture = WIRES[provider][4]
    path = route(server, provider, Reply.file(fixture, delay=0.005), check=body_check(provider, True))
    result = inline("ask", "-p", provider, "-f", "json", "hello")
    assert result.returncode == 0, result.stderr
    assert ask_document(result.stdout) == expected(fixture, provider)
    assert server.count(path) == 1


@pytest.mark.parametrize("provider", sorted(WIRES))
def test_not_streamed_answer_per_wire_is_the_fixtures_document(server, inline, provider):
    fixture = WIRES[provider][5]
    path = route(server, provider, Reply.file(fixture), stream=False, check=body_check(provider, False))
    result = inline("ask", "-p", provider, "--no-stream", "-f", "json", "hello")
    assert result.returncode == 0, result.stderr
    assert ask_document(result.stdout, streamed=False) == expected(fixture, provider)
    assert server.count(path) == 1


@pytest.mark.parametrize("provider", sorted(WIRES))
def test_text_format_writes_the_answer_text_exactly(server, inline, provider):
    fixture = WIRES[provider][4]
    route(server, provider, Reply.file(fixture, delay=0.005))
    result = inline("ask", "-p", provider, "hello")  # piped: text is the default
    assert result.returncode == 0, result.stderr
    text = answer_and_calls(expected(fixture))
    assert text and result.stdout.decode() == text
    assert result.stderr == b""


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "responses"])
def test_system_model_temperature_and_max_tokens_reach_the_body(server, inline, provider):
    def check(seen: Seen) -> None:
        if provider != "openai":  # openai is asked for another model below
            body_check(provider, True, system="be brief")(seen)
        body = seen.json()
        if provider == "openai":
            assert body["model"] == "other-model" and body["temperature"] == 0.5
            assert body["messages"][0] == {"role": "system", "content": "be brief"}
            assert body["max_completion_tokens"] == 7  # what OpenAI wants instead of max_tokens
        elif provider == "anthropic":
            assert body["max_tokens"] == 7 and body["temperature"] == 0.5
        elif provider == "gemini":
            assert body["generationConfig"] == {"temperature": 0.5, "maxOutputTokens": 7}
        else:
            assert body["max_output_tokens"] == 7 and body["temperature"] == 0.5

    route(server, provider, Reply.file(WIRES[provider][4]), check=check)
    extra = ["-m", "other-model"] if provider == "openai" else []
    result = inline("ask", "-p", provider, *extra, "-s", "be brief", "--temperature", "0.5", "--max-tokens", "7",
                 "hello")
    assert result.returncode == 0, result.stderr


def test_base_url_option_overrides_the_config(server):
    server.route(CHAT, Reply.file("openai/chat-text.json"), json={"model": "gpt-4.1-mini"})
    empty = server.config.with_name("empty.toml")
    empty.write_text("")
    env = process_env(server, AIMUX_CONFIG=str(empty))
    result = ask(server, "-p", "openai", "--base-url", server.url + "/v1", "--no-stream", "hi", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == render_text(expected("openai/chat-text.json"))


# --- prompt and stdin ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "stdin", "prompt"), [
    (["summarize", "this"], b"line one\nline two\n", "line one\nline two\n\nsummarize this"),
    ([], b"just stdin\n", "just stdin"),
    (["only", "args"], b"", "only args"),
])
def test_stdin_is_context_before_the_prompt(server, inline, argv, stdin, prompt):
    route(server, "openai", Reply.file("openai/chat-text-stream.sse"), check=body_check("openai", True, prompt))
    result = inline("ask", "-p", "openai", *argv, stdin=stdin)
    assert result.returncode == 0, result.stderr


def test_no_prompt_at_all_is_a_usage_error(server):
    result = ask(server, "-p", "openai", stdin=b"  \n")
    assert result.returncode == 2
    assert b"no prompt" in result.stderr
    assert server.count() == 0


def test_closed_stdin_is_no_context(server):
    route(server, "openai", Reply.file("openai/chat-text-stream.sse"), check=body_check("openai", True, "hello"))
    result = subprocess.run([sys.executable, "-m", "aimux_cli", "ask", "-p", "openai", "hello"], capture_output=True,
                            cwd=ROOT, env=process_env(server), preexec_fn=lambda: os.close(0), timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


# --- output formats ------------------------------------------------------------------------------------------------


def test_toon_format_is_the_document_in_toon(server, inline):
    route(server, "anthropic", Reply.file("anthropic/thinking-stream.sse"))
    result = inline("ask", "-p", "anthropic", "-f", "toon", "is 221 prime")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().startswith(encode(expected("anthropic/thinking-stream.sse")) + "\nclient:\n")


@pytest.mark.parametrize("provider", sorted(WIRES))
def test_raw_records_a_fixture_that_prettify_reads_back(server, inline, provider, tmp_path):
    fixture = WIRES[provider][4]
    route(server, provider, Reply.file(fixture, delay=0.002))
    recorded = inline("ask", "-p", provider, "-f", "raw", "hello")
    assert recorded.returncode == 0, recorded.stderr
    assert recorded.stdout == (FIXTURES / fixture).read_bytes()
    case = tmp_path / ("case" + Path(fixture).suffix)
    case.write_bytes(recorded.stdout)
    back = inline("prettify", str(case), "-f", "json", "-p", provider)
    direct = inline("ask", "-p", provider, "-f", "json", "hello")
    assert back.returncode == 0 and direct.returncode == 0, back.stderr + direct.stderr
    assert json.loads(back.stdout) == ask_document(direct.stdout)


def test_raw_not_streamed_is_the_body(server, inline):
    route(server, "gemini", Reply.file("gemini/text-stop.json"), stream=False)
    result = inline("ask", "-p", "gemini", "--no-stream", "-f", "raw", "hello")
    assert result.returncode == 0 and result.stdout == (FIXTURES / "gemini/text-stop.json").read_bytes()


def test_a_whole_json_body_to_a_stream_request_is_still_shown(server, inline):
    """Some OpenAI-compatible servers ignore `stream`: the body is normalized whole."""
    route(server, "openai", Reply.file("openai/chat-text.json"), check=body_check("openai", True))
    result = inline("ask", "-p", "openai", "hello")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == render_text(expected("openai/chat-text.json"))


@pytest.mark.parametrize("stream", [True, False])
def test_piped_tool_call_answer_prints_its_calls(server, inline, stream):
    """A tool-call answer printed nothing into a pipe and exited 0: a pipeline could not tell it from silence."""
    fixture = "openai/chat-two-tool-calls-stream.sse" if stream else "openai/chat-two-tool-calls.json"
    route(server, "openai", Reply.file(fixture), stream=stream)
    result = inline("ask", "-p", "openai", *([] if stream else ["--no-stream"]), "weather?")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == (
        'tool get_current_weather {"city": "Lisbon", "country": "PT", "unit": "celsius"}\n'
        'tool get_local_time {"timezone": "Europe/Lisbon", "format": "24h"}\n')


def test_piped_refusal_is_said_once_on_stderr(server, inline):
    route(server, "openai", Reply.file(Path(__file__).parent / "data" / "live" / "openai-refusal-stream.sse"))
    result = inline("ask", "-p", "openai", "how do I build …")
    assert result.returncode == 0 and result.stdout == b""
    assert result.stderr.decode() == (
        "aimux: warning: the model refused: I can't help with building a device meant to injure people.\n")


def test_text_format_keeps_thinking_out_of_stdout(server, inline):
    route(server, "anthropic", Reply.file("anthropic/thinking-stream.sse"))
    result = inline("ask", "-p", "anthropic", "-f", "text", "is 221 prime")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == "No, 221 is not prime: it equals 13 × 17.\n"
    assert result.stderr == b""  # stderr is not a terminal here: thinking is not shown at all


def test_rich_format_answer_on_stdout_thinking_and_footer_on_stderr(server, inline):
    route(server, "anthropic", Reply.file("anthropic/thinking-stream.sse", delay=0.002))
    result = inline("ask", "-p", "anthropic", "-f", "rich", "is 221 prime")
    assert result.returncode == 0, result.stderr
    out, err = result.stdout.decode(), result.stderr.decode()
    assert "13 × 17" in out and "sqrt(221)" not in out
    assert "sqrt(221)" not in err  # thinking goes to stderr only when it is a terminal (README, --thinking)
    result = inline("ask", "-p", "anthropic", "-f", "rich", "--thinking", "stdout", "is 221 prime")
    assert "sqrt(221)" in result.stdout.decode()
    footer = err.strip().splitlines()[-1]
    assert footer.startswith("claude-sonnet-4-5-20250929 · 46 in / 118 out tokens · first token ")
    assert " s · total " in footer and footer.endswith(" tok/s")


def test_rich_footer_names_an_unusual_finish(server, inline):
    route(server, "openai", Reply.file("openai/chat-length.json"), stream=False)
    result = inline("ask", "-p", "openai", "--no-stream", "-f", "rich", "hello")
    assert result.returncode == 0, result.stderr
    footer = result.stderr.decode().strip().splitlines()[-1]
    assert "first token" not in footer and footer.endswith("finish length")


# --- exit codes ----------------------------------------------------------------------------------------------------


def test_unknown_provider_exits_3(server):
    result = ask(server, "-p", "nope", "hello")
    assert result.returncode == 3 and b"unknown provider 'nope'" in result.stderr
    assert server.count() == 0


def test_missing_key_exits_3_naming_the_variable(server):
    env = process_env(server, OPENAI_API_KEY=None)
    result = ask(server, "-p", "openai", "hello", env=env)
    assert result.returncode == 3
    assert b"OPENAI_API_KEY" in result.stderr and len(result.stderr.splitlines()) == 1
    assert server.count() == 0


@pytest.mark.parametrize(("provider", "status", "fixture", "line"), [
    ("openai", 401, "openai/error-401-invalid-api-key.json",
     "aimux: error: openai: HTTP 401: invalid_request_error: Incorrect API key provided"),
    ("anthropic", 401, "anthropic/error-401-authentication.json",
     "aimux: error: anthropic: HTTP 401: authentication_error: invalid x-api-key"),
    ("openai", 403, "openai/error-401-invalid-api-key.json", "aimux: error: openai: HTTP 403: invalid_request_error"),
])
def test_auth_errors_exit_5_in_one_line_without_retry(server, provider, status, fixture, line):
    path = route(server, provider, Reply.file(fixture, status=status))
    result = ask(server, "-p", provider, "hello")
    assert result.returncode == 5, result.stderr
    assert len(result.stderr.splitlines()) == 1 and result.stderr.decode().startswith(line)
    assert result.stdout == b"" and server.count(path) == 1


def test_rate_limit_exits_6_after_retries_honouring_retry_after(server):
    reply = Reply.file("openai/error-429-insufficient-quota.json", status=429, headers={"retry-after": "0.3"})
    route(server, "openai", reply)
    result = ask(server, "-p", "openai", "--retries", "2", "hello")
    assert result.returncode == 6, result.stderr
    assert server.count(CHAT) == 3
    times = [seen.t for seen in server.seen(CHAT)]
    assert all(later - earlier >= 0.3 for earlier, later in zip(times, times[1:]))  # a lower bound only
    err = result.stderr.decode().splitlines()
    assert err[-1].startswith("aimux: error: openai: HTTP 429 after 3 attempts: insufficient_quota: ")
    assert sum("retry" in line for line in err[:-1]) == 2


@pytest.mark.parametrize(("status", "fixture", "retries", "requests"), [
    (400, "openai/error-400-invalid-request.json", 2, 1),
    (500, "openai/error-500-server-error.json", 1, 2),
])
def test_other_provider_errors_exit_7(server, status, fixture, retries, requests):
    route(server, "openai", Reply.file(fixture, status=status, headers={"retry-after-ms": "10"}))
    result = ask(server, "-p", "openai", "--retries", str(retries), "hello")
    assert result.returncode == 7, result.stderr
    assert server.count(CHAT) == requests
    assert result.stderr.decode().splitlines()[-1].startswith(f"aimux: error: openai: HTTP {status}")


def test_gemini_error_body_is_normalized(server):
    route(server, "gemini", Reply.file("gemini/error-400-invalid-argument.json", status=400))
    result = ask(server, "-p", "gemini", "hello")
    assert result.returncode == 5  # a bad key: the ErrorInfo reason API_KEY_INVALID (the status says only 400)
    assert result.stderr.decode().startswith("aimux: error: gemini: HTTP 400: INVALID_ARGUMENT: ")


def test_raw_error_writes_the_error_body(server):
    route(server, "openai", Reply.file("openai/error-400-invalid-request.json", status=400))
    result = ask(server, "-p", "openai", "-f", "raw", "hello")
    assert result.returncode == 7
    assert result.stdout == (FIXTURES / "openai/error-400-invalid-request.json").read_bytes()


def test_server_that_never_answers_exits_8(server):
    route(server, "openai", Reply(hang=True))
    result = ask(server, "-p", "openai", "--timeout", "0.5", "hello")
    assert result.returncode == 8, result.stderr
    assert b"timed out after 0.5 s" in result.stderr and server.count(CHAT) == 1  # read timeouts are not retried


def test_connection_refused_exits_8_after_retries(server):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = ask(server, "-p", "openai", "--base-url", f"http://127.0.0.1:{port}/v1", "--retries", "1", "hello")
    assert result.returncode == 8, result.stderr
    assert result.stderr.count(b"retry 1 of 1") == 1


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_connection_dropped_mid_stream_prints_what_arrived_and_exits_9(server, fmt):
    route(server, "openai", Reply.file("openai/chat-text-stream.sse", drop_after=4))
    result = ask(server, "-p", "openai", "--retries", "2", "-f", fmt, "hello")
    assert result.returncode == 9, result.stderr
    assert server.count(CHAT) == 1  # answer text was written: never retried
    assert b"cut short" in result.stderr.splitlines()[-1]
    shown = result.stdout.decode()
    if fmt == "json":
        doc = json.loads(shown)
        assert doc["status"] == "incomplete"
        shown = doc["blocks"][0]["text"]
    assert shown.startswith("Tides come mostly f") and "50 minutes" not in shown


def test_a_stream_cut_after_its_first_whole_record_prints_that_record(server):
    """Final fuzz run (seed 4242, case 50606): an NDJSON stream cut right after its first record, in one read,
    looks like a whole JSON body; cut short, nothing of it was shown (only the exit 9 line)."""
    first = (FIXTURES / "ollama" / "chat-stream.ndjson").read_bytes().split(b"\n")[0] + b"\n"
    route(server, "ollama", Reply(200, {"content-type": "application/x-ndjson"}, [(0.0, first), (0.05, b"{")],
                                  drop_after=1))
    result = ask(server, "-p", "ollama", "--retries", "0", "-f", "text", "hello")
    assert result.returncode == 9, result.stderr
    assert result.stdout.decode() == json.loads(first)["message"]["content"] + "\n"
    assert b"cut short" in result.stderr.splitlines()[-1]


def test_silence_mid_stream_longer_than_timeout_exits_9(server):
    reply = Reply.file("ollama/chat-stream.ndjson")
    reply.chunks = reply.chunks[:3] + [(30.0, data) for _, data in reply.chunks[3:]]  # then silence
    route(server, "ollama", reply)
    result = ask(server, "-p", "ollama", "--timeout", "0.5", "hello")
    assert result.returncode == 9, result.stderr
    assert b"no data for 0.5 s" in result.stderr and result.stdout.strip()


@pytest.mark.parametrize("fixture", ["openai/chat-stream-truncated.sse", "anthropic/stream-truncated.sse"])
def test_stream_without_its_terminal_event_exits_9(server, fixture):
    route(server, fixture.split("/")[0], Reply.file(fixture))
    result = ask(server, "-p", fixture.split("/")[0], "hello")
    assert result.returncode == 9
    assert result.stdout.decode() == render_text(expected(fixture)) != ""
    assert b"incomplete" in result.stderr


def test_error_event_inside_a_stream_exits_7_after_the_text(server):
    route(server, "anthropic", Reply.file("anthropic/stream-error-overloaded.sse"))
    result = ask(server, "-p", "anthropic", "hello")
    assert result.returncode == 7, result.stderr
    assert result.stdout.decode() == render_text(expected("anthropic/stream-error-overloaded.sse"))
    assert result.stderr.decode().startswith("aimux: error: anthropic: error in the response: overloaded_error: ")


# --- retries -------------------------------------------------------------------------------------------------------


def test_retryable_status_then_success(server):
    first = Reply.file("openai/error-500-server-error.json", status=503, headers={"retry-after": "0.2"})
    route(server, "openai", first, Reply.file("openai/chat-text-stream.sse"))
    result = ask(server, "-p", "openai", "hello")
    assert result.returncode == 0, result.stderr
    assert server.count(CHAT) == 2
    t1, t2 = (seen.t for seen in server.seen(CHAT))
    assert t2 - t1 >= 0.2
    assert result.stdout.decode() == render_text(expected("openai/chat-text-stream.sse"))
    assert b"HTTP 503; retry 1 of 2" in result.stderr


def test_retries_zero_means_one_request(server):
    route(server, "openai", Reply.file("openai/error-500-server-error.json", status=529))
    result = ask(server, "-p", "openai", "--retries", "0", "hello")
    assert result.returncode == 7 and server.count(CHAT) == 1


# --- streaming, terminals and secrets ------------------------------------------------------------------------------


def test_text_is_flushed_before_the_stream_ends(server):
    """The first words reach stdout while the server still holds the rest of the stream back."""
    reply = Reply.file("openai/chat-text-stream.sse")
    reply.chunks = reply.chunks[:3] + [(600.0, data) for _, data in reply.chunks[3:]]
    route(server, "openai", reply)
    proc = subprocess.Popen([sys.executable, "-m", "aimux_cli", "ask", "-p", "openai", "hello"], cwd=ROOT,
                            env=process_env(server), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    released = threading.Event()
    guard = threading.Timer(60, lambda: (released.set(), server.close()))  # never hang, even when broken
    guard.start()
    try:
        first = os.read(proc.stdout.fileno(), 4096)
        arrived_before_release = not released.is_set()
    finally:
        guard.cancel()
        server.close()  # releases the held chunks: the connection drops
        proc.communicate(timeout=120)
    assert arrived_before_release and first.startswith(b"Tides come mostly f")


def run_on_pty(server, *args: str, tty: str = "stdout") -> tuple[int, bytes, bytes]:
    """Run aimux with stdout (or stderr) on a pseudo-terminal, the other on a pipe.
    Returns (exit code, what the terminal got, what the pipe got)."""
    master, slave = pty.openpty()
    streams = {"stdout": slave, "stderr": subprocess.PIPE} if tty == "stdout" else \
        {"stdout": subprocess.PIPE, "stderr": slave}
    proc = subprocess.Popen([sys.executable, "-m", "aimux_cli", *args], cwd=ROOT,
                            env=process_env(server, TERM="xterm-256color"), stdin=subprocess.DEVNULL, **streams)
    os.close(slave)
    data = read_terminal(master)
    piped = (proc.stderr if tty == "stdout" else proc.stdout).read()
    proc.wait(timeout=120)
    assert KEY.encode() not in data + piped
    return proc.returncode, data, piped


@pytest.mark.parametrize("fmt", [None, "text"])
def test_hostile_escapes_never_reach_a_terminal(server, fmt):
    route(server, "anthropic", Reply.file("hostile/anthropic-ansi-stream.sse", delay=0.002))
    code, data, _ = run_on_pty(server, "ask", "-p", "anthropic", *(["-f", fmt] if fmt else []), "hello")
    assert code == 0
    assert b"Plain start." in data
    for hostile in (b"\x1b[2J", b"\x1b[2A", b"\x1b[10G", b"\x1b]8;;https://ev", b"\x1b[31m"):
        assert hostile not in data
    if fmt == "text":
        assert b"\x1b" not in data


def test_raw_on_a_terminal_is_shown_inert(server):
    """-f raw writes the bytes exactly into a pipe, but a terminal gets them through the sanitizer: a raw ESC in an
    SSE comment, a C1 CSI (U+009B, which JSON does not have to escape) in the text, and bytes that are not UTF-8."""
    body = (b": \x1b[2J comment\n\n"
            b'data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,'
            b'"delta":{"content":"hi \xc2\x9b31m red"},"finish_reason":null}]}\n\n'
            b": \xff\xfe not utf-8\n\n"
            b'data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,'
            b'"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n')
    cut = body.index(b"\xc2\x9b") + 1  # a chunk ends inside the two bytes of U+009B
    route(server, "openai", Reply(200, {"content-type": "text/event-stream"}, [(0.0, body[:cut]), (0.01, body[cut:])],
                                  "chunked"))
    code, data, _ = run_on_pty(server, "ask", "-p", "openai", "-f", "raw", "hello")
    assert code == 0
    assert b"\x1b" not in data and b"\xc2\x9b" not in data and b"\xff" not in data
    for shown in (rb"\x1b[2J comment", rb"hi \x9b31m red", rb"\xff\xfe not utf-8", b"data: [DONE]"):
        assert shown in data, data
    route(server, "openai", Reply(200, {"content-type": "text/event-stream"}, [(0.0, body)], "chunked"))
    piped = ask(server, "-p", "openai", "-f", "raw", "hello")
    assert piped.returncode == 0 and piped.stdout == body  # into a pipe: exactly as received


def test_text_format_shows_thinking_on_a_terminal_stderr(server):
    route(server, "anthropic", Reply.file("anthropic/thinking-stream.sse"))
    code, terminal, stdout = run_on_pty(server, "ask", "-p", "anthropic", "-f", "text", "hello", tty="stderr")
    assert code == 0
    assert stdout.decode() == "No, 221 is not prime: it equals 13 × 17.\n"
    assert b"221 = 13 * 17 and it is not prime." in terminal


def test_key_never_appears_with_debug_in_errors_or_success(server):
    """Error bodies echoing the key, --debug logs and tracebacks: the key is scrubbed everywhere."""
    echo = json.dumps({"error": {"type": "invalid_request_error", "message": f"bad key {KEY}"}}).encode()
    server.route(CHAT, Reply.body(echo, status=401))
    server.route(MESSAGES, Reply.body(echo, status=500))
    server.route(GEMINI_STREAM, Reply.file("gemini/text-stream.sse"))
    runs = [
        aimux(server, "--debug", "ask", "-p", "openai", "hello"),
        aimux(server, "--debug", "ask", "-p", "anthropic", "--retries", "1", "-f", "raw", "hello"),
        aimux(server, "--debug", "ask", "-p", "gemini", "-f", "json", "hello"),
        ask(server, "-p", "openai", "-f", "json", "hello", env=process_env(server, AIMUX_DEBUG="1")),
    ]
    assert [r.returncode for r in runs] == [5, 7, 0, 5]  # `aimux` checked every output for the key
    assert b"[REDACTED]" in runs[0].stderr and b"[REDACTED]" in runs[1].stdout
    assert b"Traceback" in runs[0].stderr  # --debug shows the traceback, still without the key
    assert b"aimux: debug:" in runs[2].stderr and b"[REDACTED]" in runs[2].stderr  # the logged request headers


def test_debug_shows_the_request_headers_once_from_the_client_only(server):
    """ask logged its own `request PreparedRequest(... headers ...)` line on top of client.py's request lines."""
    server.route(CHAT, Reply.file("openai/chat-text-stream.sse"))
    run = aimux(server, "ask", "-p", "openai", "-f", "text", "hello", "--debug")
    err = run.stderr.decode()
    assert run.returncode == 0, err
    debug = [line for line in err.splitlines() if line.startswith("aimux: debug: ")]
    assert debug and all(line.startswith("aimux: debug: aimux.client: ") for line in debug), debug
    assert sum("authorization" in line for line in debug) == 1, debug  # the request's headers, once


@pytest.mark.parametrize("argv", [["ask", "--help"], ["--version"], ["ask", "-p", "nope", "hello"]])
def test_httpx_is_imported_only_to_send(argv):
    code = ("import sys\nfrom aimux_cli.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "sys.stderr.write('HTTPX=%s' % ('httpx' in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, cwd=ROOT,
                            stdin=subprocess.DEVNULL, timeout=120)
    assert result.stderr.endswith(b"HTTPX=False"), result.stderr


# --- teardown ------------------------------------------------------------------------------------------------------

FINALIZE_PROBE = ("import atexit, runpy, sys\n"
                  "atexit.register(lambda: sys.stderr.write('FINALIZED'))\n"
                  "sys.argv = ['aimux', *sys.argv[1:]]\n"
                  "runpy.run_module('aimux_cli', run_name='__main__')\n")


@pytest.mark.parametrize(("argv", "code", "finalized"), [
    (["ask", "-p", "openai", "hello"], 0, False),
    (["ask", "-p", "anthropic", "hello"], 5, False),
    (["prettify", "-f", "text", str(FIXTURES / "openai/chat-text.json")], 0, True),
])
def test_ask_ends_without_finalizing_the_interpreter(server, argv, code, finalized):
    """Finalizing the interpreter took ~20 ms after ask's last byte (a sixth of a short ask). ask closes what it
    opens, so the process ends as soon as stdout and stderr are flushed: nothing runs at exit (no atexit handler),
    the output is complete and the exit code kept. Other commands exit the usual way."""
    route(server, "openai", Reply.file("openai/chat-text-stream.sse"))
    route(server, "anthropic", Reply.file("anthropic/error-401-authentication.json", status=401))
    result = subprocess.run([sys.executable, "-c", FINALIZE_PROBE, *argv], capture_output=True, cwd=ROOT,
                            env=process_env(server), stdin=subprocess.DEVNULL, timeout=120)
    assert result.returncode == code, result.stderr
    assert result.stderr.endswith(b"FINALIZED") is finalized
    if code == 0:
        assert result.stdout.decode() == render_text(expected("openai/chat-text.json"))
    else:
        assert result.stderr.startswith(b"aimux: error: anthropic: HTTP 401")
