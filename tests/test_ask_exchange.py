"""`aimux ask -v`, `--curl`, `--dry-run` and `--schema`'s verdict, against the loopback provider server.

-v: the request line, headers (the key [REDACTED], nothing else changed: compared with what the server received),
the body as sent (indented; attachments' base64 abbreviated), then the status line and response headers, all on
stderr before the answer. --curl: a command that, run by bash with the key variable set, gets the same answer
from the server, and holds no form of the key; --dry-run: the body that would be sent; neither sends anything
nor logs. --schema: valid -> exit 0 and `schema: {valid: true}` in the document; invalid or not JSON -> the
answer first, then one line naming the violation, exit 11. Unit tests of schema_check and exchange_view too.
"""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from aimux_cli import exchange_view, schema_check
from provider_server import FIXTURES, Reply
from secret_forms import leaks
from test_ask import CHAT, GEMINI_STREAM, KEY, MESSAGES, ask, process_env, route, server  # noqa: F401 - fixture

DATA = Path(__file__).resolve().parent / "data" / "ask"
ATTACH = Path(__file__).resolve().parent / "data" / "attach"
SCHEMA = str(DATA / "person.schema.json")


def no_key(*outputs: bytes) -> None:
    for out in outputs:
        assert not leaks(out, KEY), out[:3000]


# --- -v ------------------------------------------------------------------------------------------------------------


def test_verbose_shows_the_request_and_the_response_head_before_the_answer(server):
    reply_headers = {"x-request-id": "req_abc123", "x-ratelimit-remaining-requests": "99",
                     "set-cookie": f"session={KEY}"}
    route(server, "openai", Reply.file("openai/chat-text-stream.sse", headers=reply_headers))
    result = ask(server, "-p", "openai", "-v", "-f", "text", "hello there")
    assert result.returncode == 0, result.stderr
    err = result.stderr.decode()
    no_key(result.stdout, result.stderr)
    lines = err.splitlines()
    assert lines[0] == "POST /v1/chat/completions HTTP/1.1"
    assert "authorization: Bearer [REDACTED]" in lines
    assert '  "model": "gpt-4.1-mini",' in lines and '      "content": "hello there"' in lines
    assert "HTTP/1.1 200 OK" in lines
    assert lines.index("HTTP/1.1 200 OK") > lines.index("authorization: Bearer [REDACTED]")
    assert "x-request-id: req_abc123" in lines and "x-ratelimit-remaining-requests: 99" in lines
    assert "set-cookie: [REDACTED]" in lines
    assert result.stdout.startswith(b"Tides come")


def test_verbose_headers_are_what_the_server_received(server):
    """Every header -v shows, with its value, is the one that went over the wire (the key aside), in full."""
    route(server, "anthropic", Reply.file("anthropic/text-end-turn-stream.sse"))
    result = ask(server, "-p", "anthropic", "-v", "-f", "text", "hello")
    assert result.returncode == 0, result.stderr
    err = result.stderr.decode().splitlines()
    head = err[1:err.index("")]
    shown = dict(line.split(": ", 1) for line in head)
    seen = server.requests[0].headers
    assert shown.pop("x-api-key") == "[REDACTED]" and seen.pop("x-api-key") == KEY
    assert shown == seen
    assert list(shown) == list(seen)  # in the order they were sent
    body_start = err.index("") + 1
    body = "\n".join(err[body_start:err.index("", body_start)])
    assert json.loads(body) == server.requests[0].json()


def test_verbose_abbreviates_attachments_and_shows_an_error_response_head(server):
    route(server, "gemini", Reply.file("gemini/error-429-resource-exhausted.json", status=429,
                                       headers={"x-request-id": "g-1"}))
    result = ask(server, "-p", "gemini", "-v", "--retries", "0", "-a", str(ATTACH / "pixel.png"), "what is it")
    assert result.returncode == 6
    err = result.stderr.decode()
    no_key(result.stdout, result.stderr)
    encoded = base64.b64encode((ATTACH / "pixel.png").read_bytes()).decode()
    assert encoded not in err
    assert f'"data": "{encoded[:24]}… [base64, 69 bytes]"' in err
    assert "x-goog-api-key: [REDACTED]" in err
    assert "\nHTTP/1.1 429 Too Many Requests\n" in err and "x-request-id: g-1" in err
    assert err.rstrip().splitlines()[-1].startswith("aimux: error: gemini: HTTP 429")


def test_verbose_highlights_request_ids_and_rate_limits_in_colour(server):
    route(server, "openai", Reply.file("openai/chat-text.json", headers={"x-request-id": "req_1"}), stream=False)
    result = ask(server, "-p", "openai", "-v", "--no-stream", "-f", "text", "hi",
                 env=process_env(server, FORCE_COLOR="1", NO_COLOR=None))
    assert result.returncode == 0, result.stderr
    err = result.stderr.decode()
    assert "\x1b[" in err
    line = next(line for line in err.splitlines() if "x-request-id" in line)
    assert "\x1b[1;33mx-request-id" in line  # bold yellow name


@pytest.mark.parametrize("value", [
    "data:image/png;base64," + "A" * 400,
    "Q" * 200,
])
def test_abbreviate_shortens_base64_payloads(value):
    out = exchange_view.abbreviate({"x": [{"y": value}], "text": "hello world " * 40})
    assert out["x"][0]["y"].endswith("… [base64, 300 bytes]" if value.startswith("data:") else "[base64, 150 bytes]")
    assert out["text"] == "hello world " * 40


def test_request_target_hides_credentials_in_the_query():
    class P:
        url = "https://h.example/v1/models/m:streamGenerateContent?alt=sse&key=abcdefgh123&p=a%2Fb+c&sig=x"

    assert exchange_view.request_target(P) == \
        "/v1/models/m:streamGenerateContent?alt=sse&key=[REDACTED]&p=a%2Fb+c&sig=[REDACTED]"  # the rest as sent


# --- --curl and --dry-run ------------------------------------------------------------------------------------------


def _log_rows(env: dict) -> int:
    db = Path(env["AIMUX_LOG_DB"])
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        try:
            return conn.execute("select count(*) from exchanges").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None, reason="needs curl and bash")
@pytest.mark.parametrize("provider,path,fixture,stream", [
    ("openai", CHAT, "openai/chat-text-stream.sse", True),
    ("anthropic", MESSAGES, "anthropic/text-end-turn.json", False),
    ("gemini", GEMINI_STREAM, "gemini/text-stream.sse", True),
])
def test_curl_prints_a_command_that_gets_the_answer(server, provider, path, fixture, stream):
    route(server, provider, Reply.file(fixture), stream=stream)
    env = process_env(server)
    args = ["-p", provider, "--curl", "-o", "metadata.note=it's \"quoted\" $HOME `x`", "a prompt with 'quotes'"]
    result = ask(server, *args if stream else ["--no-stream", *args], env=env)
    assert result.returncode == 0, result.stderr
    assert server.count() == 0  # nothing sent
    command = result.stdout.decode()
    no_key(result.stdout, result.stderr)
    var = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY", "gemini": "GEMINI_API_KEY"}[provider]
    assert f'"${var}"' in command
    assert (" -N " in command.splitlines()[0]) is stream
    got = subprocess.run(["bash", "-c", command], capture_output=True, env={**env, var: KEY}, timeout=60)
    assert got.returncode == 0, got.stderr
    assert got.stdout == (FIXTURES / fixture).read_bytes()
    sent = server.requests[0]
    assert sent.json()["metadata"]["note"] == "it's \"quoted\" $HOME `x`" if provider != "gemini" else True
    dry = ask(server, *[a if a != "--curl" else "--dry-run" for a in args] if stream
              else ["--no-stream", *[a if a != "--curl" else "--dry-run" for a in args]], env=env)
    assert dry.returncode == 0 and json.loads(dry.stdout) == sent.json()
    assert server.count() == 1
    assert _log_rows(env) == 0  # neither --curl nor --dry-run writes the log


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None, reason="needs curl and bash")
def test_curl_sends_a_large_body_through_stdin(server, tmp_path):
    """Past 64 KiB a body goes through printf into --data-binary @-: an argument is limited to 128 KiB on Linux."""
    big = tmp_path / "big.png"
    big.write_bytes((ATTACH / "pixel.png").read_bytes() + bytes(300_000))
    route(server, "openai", Reply.file("openai/chat-text.json"), stream=False)
    env = process_env(server)
    result = ask(server, "-p", "openai", "--no-stream", "--curl", "-a", str(big), "describe", env=env)
    assert result.returncode == 0, result.stderr
    command = result.stdout.decode()
    assert command.startswith("printf '%s' ") and "--data-binary @-" in command
    script = tmp_path / "request.sh"  # a command this long is saved and run, not passed as one argument
    script.write_text(command)
    got = subprocess.run(["bash", str(script)], capture_output=True, env={**env, "OPENAI_API_KEY": KEY}, timeout=60)
    assert got.returncode == 0, got.stderr
    dry = ask(server, "-p", "openai", "--no-stream", "--dry-run", "-a", str(big), "describe", env=env)
    assert server.requests[0].json() == json.loads(dry.stdout)


def test_curl_and_dry_run_together_is_a_usage_error(server):
    result = ask(server, "-p", "openai", "--curl", "--dry-run", "hi")
    assert result.returncode == 2
    assert b"--curl and --dry-run" in result.stderr


def test_curl_names_a_key_command_when_the_key_came_from_one(server, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(f'[providers.local]\nwire = "openai.chat"\nbase_url = "{server.url}/v1"\nmodel = "m"\n'
                      f'api_key_env = "LOCAL_KEY_UNSET"\napi_key_cmd = ["printf", "{KEY}"]\n')
    result = ask(server, "-p", "local", "--curl", "hi", env=process_env(server, AIMUX_CONFIG=str(config)))
    assert result.returncode == 0, result.stderr
    assert "authorization: Bearer '\"$(printf " in result.stdout.decode()


# --- --schema ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider,fixture,stream", [
    ("openai", "openai-person-valid.json", False),
    ("anthropic", "anthropic-person-valid.json", False),
    ("anthropic", "anthropic-person-valid-stream.sse", True),
    ("gemini", "gemini-person-valid.json", False),
    ("gemini", "gemini-person-valid-stream.sse", True),
])
def test_a_valid_answer_exits_0_with_its_verdict_in_the_document(server, provider, fixture, stream):
    route(server, provider, Reply.file(DATA / fixture), stream=stream)
    args = ["-p", provider, "--schema", SCHEMA, "-f", "json", "who?"]
    result = ask(server, *(args if stream else ["--no-stream", *args]))
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["schema"] == {"valid": True, "errors": []}
    assert list(doc)[-2:] == ["schema", "client"]


@pytest.mark.parametrize("provider,fixture,stream,first", [
    ("openai", "openai-person-invalid.json", False, "$.age: -3 is less than the minimum of 0"),
    ("openai", "openai-person-invalid-stream.sse", True, "$.age: '36' is not of type 'integer'"),
    ("openai", "openai-person-not-json.json", False, "$: the answer is not JSON"),
    ("anthropic", "anthropic-person-invalid.json", False, "$: 'age' is a required property"),
    ("gemini", "gemini-person-invalid.json", False, "$: Additional properties are not allowed ('email' was unexpected)"),
])
def test_an_invalid_answer_is_printed_then_exits_11(server, provider, fixture, stream, first):
    route(server, provider, Reply.file(DATA / fixture), stream=stream)
    base = ["-p", provider, "--schema", SCHEMA]
    if not stream:
        base.insert(0, "--no-stream")
    text = ask(server, *base, "-f", "text", "who?")
    assert text.returncode == 11, text.stderr
    err = text.stderr.decode().strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"aimux: error: {provider}: the answer does not validate "
                                               f"against --schema: {first}")
    assert text.stdout.strip()  # the answer came first
    doc_run = ask(server, *base, "-f", "json", "who?")
    assert doc_run.returncode == 11
    verdict = json.loads(doc_run.stdout)["schema"]
    assert verdict["valid"] is False and f"{verdict['errors'][0]['path']}: {verdict['errors'][0]['message']}" \
        .startswith(first)
    toon = ask(server, *base, "-f", "toon", "who?")
    assert toon.returncode == 11 and b"schema:\n  valid: false" in toon.stdout


def test_an_error_answer_is_not_checked_against_the_schema(server):
    route(server, "openai", Reply.file("openai/error-500-server-error.json", status=500), stream=False)
    result = ask(server, "--no-stream", "--retries", "0", "-p", "openai", "--schema", SCHEMA, "who?")
    assert result.returncode == 7
    assert b"schema" not in result.stderr


def test_a_schema_that_is_no_json_schema_is_refused_before_sending(server, tmp_path):
    bad = tmp_path / "bad.schema.json"
    bad.write_text('{"type": "objekt"}')
    result = ask(server, "-p", "openai", "--schema", str(bad), "hi")
    assert result.returncode == 4 and server.count() == 0
    assert result.stderr.decode().startswith(f"aimux: error: {bad}: not a valid JSON Schema: $.type:")
    inline = ask(server, "-p", "openai", "--schema", '{"type": "objekt"}', "hi")
    assert inline.returncode == 2 and b"--schema: not a valid JSON Schema" in inline.stderr


def test_schema_check_reports_paths_and_messages():
    schema = json.loads(Path(SCHEMA).read_text())
    assert schema_check.check('{"name": "Ada", "age": 36}', schema).valid
    assert schema_check.check({"name": "Ada", "age": 36}, schema).valid
    bad = schema_check.check('{"name": 1, "age": 2.5}', schema)
    assert not bad.valid and {e["path"] for e in bad.errors} == {"$.name", "$.age"}
    assert schema_check.check("```json\n{}\n```", schema).first_line().startswith("$: the answer is not JSON")
    assert schema_check.json_path(["items", 2, "a b"]) == '$.items[2]["a b"]'


def test_prettify_does_not_import_jsonschema():
    import sys

    result = subprocess.run([sys.executable, "-c", "import sys\nfrom aimux_cli import cli\n"
                             "sys.argv = ['aimux', 'prettify', '--wire', 'none', '-']\n"
                             "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
                             "print('jsonschema' in sys.modules, 'aimux_cli.schema_check' in sys.modules)"],
                            input=b'{"a": 1}', capture_output=True, timeout=60)
    assert result.stdout.strip().endswith(b"False False"), result


def test_verbose_on_a_terminal_leaves_the_exchange_and_the_answer_once(server):
    """stdout and stderr on one pty, the Rich view drawing the answer: the request, the response head and the
    answer each appear once on the final screen, in that order, the waiting line gone."""
    import os
    import pty
    import sys

    import pyte

    from pty_support import read_terminal
    from test_ask import ROOT

    route(server, "openai", Reply.file("openai/chat-text-stream.sse", delay=0.02, headers={"x-request-id": "r-9"}))
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "aimux_cli", "ask", "-p", "openai", "-v", "hello"], cwd=ROOT,
                            env=process_env(server, TERM="xterm-256color", COLUMNS="100", LINES="60"),
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    data = read_terminal(master)
    assert proc.wait(timeout=120) == 0
    no_key(data)
    screen = pyte.Screen(100, 200)
    pyte.ByteStream(screen).feed(data)
    text = "\n".join(line.rstrip() for line in screen.display)
    for once in ("POST /v1/chat/completions HTTP/1.1", "HTTP/1.1 200 OK", "x-request-id: r-9", "Tides come mostly"):
        assert text.count(once) == 1, (once, text)
    assert text.index("POST /v1") < text.index("HTTP/1.1 200") < text.index("Tides come")
    assert "waiting for" not in text


def test_credentials_in_config_headers_and_the_url_query_stay_hidden(server, tmp_path):
    """A credential header written in the config and a key in the base URL's query: -v shows neither, --curl
    refers to the key variable and marks the header for filling in; no form of either secret is printed."""
    token = "tok-SECRET-5678-abcdef"
    config = tmp_path / "c.toml"
    config.write_text(f'[providers.tok]\nwire = "openai.chat"\nbase_url = "{server.url}/v1?key={KEY}&x=1"\n'
                      f'api_key_env = "OPENAI_API_KEY"\nmodel = "m"\nheaders = {{ "X-Api-Token" = "{token}" }}\n')
    env = process_env(server, AIMUX_CONFIG=str(config))
    server.route(CHAT, Reply.file("openai/chat-text-stream.sse"), headers={"x-api-token": token})
    verbose = ask(server, "-p", "tok", "-v", "-f", "text", "hi", env=env)
    assert verbose.returncode == 0, verbose.stderr
    assert not leaks(verbose.stdout + verbose.stderr, KEY, token)
    err = verbose.stderr.decode()
    assert "POST /v1/chat/completions?key=[REDACTED]&x=1 HTTP/1.1" in err and "x-api-token: [REDACTED]" in err
    curl = ask(server, "-p", "tok", "--curl", "hi", env=env)
    assert curl.returncode == 0 and not leaks(curl.stdout + curl.stderr, KEY, token)
    out = curl.stdout.decode()
    assert "?key='\"$OPENAI_API_KEY\"'&x=1'" in out and "-H 'x-api-token: [REDACTED]'" in out
    assert b"x-api-token is not shown" in curl.stderr


def test_a_schema_that_is_not_an_object_is_checked_unwrapped_for_anthropic(server):
    """Anthropic's forced tool takes an object: a list schema goes under "value"; the answer is checked against
    the schema as the user gave it, on what "value" holds."""
    def wrapped(seen) -> None:
        assert seen.json()["tools"][0]["input_schema"]["properties"]["value"]["type"] == "array"

    route(server, "anthropic", Reply.file(DATA / "anthropic-list-wrapped.json"), stream=False, check=wrapped)
    result = ask(server, "--no-stream", "-p", "anthropic", "--schema", '{"type": "array", "items": {"type": "string"}}',
                 "-f", "json", "three colours")
    assert result.returncode == 11, result.stderr
    assert json.loads(result.stdout)["schema"]["errors"][0] == {"path": "$[2]", "message": "3 is not of type 'string'"}
