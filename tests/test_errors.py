"""The one table from a provider's error (type, code, HTTP status) to an exit code (errors.py), and what an error
document does in `prettify`: in `-f text` one line on stderr even without --fail, and with --fail the table's code.

Run in process through `cli.main` (the same path as the console script) to keep the many fixture cases cheap.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aimux_cli.errors import ExitCode, category, exit_code_for_error

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "fixtures"
CORPUS = ROOT.parent / "shared" / "provider-corpus"

# every error fixture of the project -> the exit code --fail gives it
ERROR_FIXTURES = {
    "anthropic/complete-stream-error.sse": 7,
    "bedrock/recorded-error-invalid-model.json": 7,
    "cohere/error-404-model-not-found.json": 7,
    "cohere/stream-error.sse": 7,
    "anthropic/error-401-authentication.json": 5,
    "anthropic/error-429-rate-limit.json": 6,
    "anthropic/error-529-overloaded.json": 7,
    "anthropic/stream-error-overloaded.sse": 7,
    "azure/error-400-content-filter.json": 7,
    "azure/error-401.json": 5,
    "gemini/error-400-invalid-argument.json": 5,  # a bad key: only details[].reason (API_KEY_INVALID) says so
    "gemini/error-404-not-found.json": 7,
    "gemini/error-429-resource-exhausted.json": 6,
    "gemini/wire-error-array.json": 7,
    "gemini/wire-stream-error.sse": 7,
    "groq/chat-stream-error-event.sse": 7,
    "groq/error-401-invalid-api-key.json": 5,
    "groq/error-429-rate-limit.json": 6,
    "hostile/error-ansi.json": 5,
    "ollama/error-model-not-found.json": 7,
    "ollama/wire-chat-stream-error.ndjson": 7,
    "openai-responses/stream-error-event.sse": 6,
    "openai/chat-stream-error-midway.sse": 7,
    "openai/error-400-invalid-request.json": 7,
    "openai/error-401-invalid-api-key.json": 5,
    "openai/error-429-insufficient-quota.json": 6,
    "openai/error-500-server-error.json": 7,
    "openrouter/error-402-insufficient-credits.json": 6,
}

# real recorded bodies (../shared/provider-corpus), when that corpus is beside the clone
CORPUS_ERRORS = {
    "anthropic/error-401-authentication_error.json": 5,
    "anthropic/error-429-rate_limit_error.json": 6,
    "anthropic/error-529-overloaded_error.json": 7,
    "openai/error-401-invalid_api_key-completions.json": 5,
    "openai/error-429-insufficient_quota.json": 6,
    "openai/error-429-insufficient_quota-2023-code-null.json": 6,
    "openai/error-429-rate_limit_exceeded-tokens.json": 6,
    "openrouter/error-429-provider-rate-limited.json": 6,
    "azure-openai/error-401-invalid-subscription-key.json": 5,
    "gemini/error-404-NOT_FOUND.json": 7,
    "groq/error-404-model_not_found.json": 7,
}


# Error bodies too plain to tell apart from any JSON ({"message": ...}): read as their wire only when it is named
# (`--wire`, or `ask -p NAME`, which knows it)
WIRED = {"bedrock/recorded-error-invalid-model.json": "bedrock.converse",
         "cohere/error-404-model-not-found.json": "cohere.chat"}


def run(capsys, *args: str) -> tuple[int, str, str]:
    from aimux_cli.cli import main

    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    return exited.value.code or 0, out, err


def test_every_error_fixture_is_listed():
    on_disk = {str(p.relative_to(FIX)) for p in FIX.rglob("*error*")}
    assert on_disk == set(ERROR_FIXTURES)


@pytest.mark.parametrize(("rel", "code"), sorted(ERROR_FIXTURES.items()))
def test_text_format_reports_the_error_on_stderr_and_fail_maps_it(capsys, rel, code):
    path = str(FIX / rel)
    wire = ["--wire", WIRED[rel]] if rel in WIRED else []
    rc, out, err = run(capsys, "prettify", "-f", "text", *wire, path)
    assert rc == 0  # without --fail an error document is not a failure of aimux
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("aimux: error: "), err
    from aimux_cli.inputs import Source
    from aimux_cli.prettify import normalize

    doc = normalize(Source(rel, (FIX / rel).read_bytes()), **({"wire": WIRED[rel]} if rel in WIRED else {})).document
    assert lines[0].startswith(f"aimux: error: {doc.provider}: ")
    message = doc.error.get("message", "")
    if message.isprintable():
        assert message in lines[0]
    if doc.error.get("type") and doc.error["type"].isprintable():
        assert doc.error["type"] in lines[0]
    assert "\x1b" not in err  # provider text is shown inert

    rc_fail, out_fail, err_fail = run(capsys, "prettify", "-f", "text", "--fail", *wire, path)
    assert rc_fail == code, err_fail
    assert (out_fail, err_fail) == (out, err)  # --fail changes the exit code only


STREAMS = sorted(rel for rel in ERROR_FIXTURES if rel.endswith((".sse", ".ndjson")))


@pytest.mark.parametrize("rel", STREAMS)
def test_follow_in_text_format_reports_the_error_too(capsys, rel):
    import subprocess
    import sys

    follow = subprocess.run([sys.executable, "-m", "aimux_cli", "prettify", "--follow", "-f", "text"],
                            input=(FIX / rel).read_bytes(), capture_output=True, cwd=ROOT, timeout=120)
    err = follow.stderr.decode()
    assert follow.returncode == 0, err
    assert [line for line in err.splitlines() if line.startswith("aimux: error: ")], err
    assert err.count("aimux: error: ") == 1
    rc_plain, out_plain, err_plain = run(capsys, "prettify", "-f", "text", str(FIX / rel))
    assert err.splitlines()[-1] == err_plain.splitlines()[-1]  # the same line as without --follow


@pytest.mark.parametrize(("rel", "code"), sorted(CORPUS_ERRORS.items()))
def test_recorded_error_bodies_map_by_their_type(capsys, rel, code):
    path = CORPUS / rel
    if not path.exists():
        pytest.skip("../shared/provider-corpus is not beside the clone")
    rc, _, err = run(capsys, "prettify", "-f", "json", "--fail", str(path))
    assert rc == code, err


@pytest.mark.parametrize(("error", "code"), [
    ({"type": "authentication_error", "message": "invalid x-api-key"}, ExitCode.AUTH),
    ({"type": "permission_error"}, ExitCode.AUTH),
    ({"type": "rate_limit_error"}, ExitCode.RATE_LIMIT),
    ({"type": "overloaded_error"}, ExitCode.PROVIDER),
    ({"type": "invalid_request_error", "code": "invalid_api_key"}, ExitCode.AUTH),
    ({"type": "insufficient_quota", "code": "insufficient_quota"}, ExitCode.RATE_LIMIT),
    ({"type": "tokens", "code": "rate_limit_exceeded"}, ExitCode.RATE_LIMIT),
    ({"status": 401, "type": "UNAUTHENTICATED"}, ExitCode.AUTH),
    ({"status": 403, "type": "PERMISSION_DENIED"}, ExitCode.AUTH),
    ({"type": "PERMISSION_DENIED"}, ExitCode.AUTH),
    ({"type": "RESOURCE_EXHAUSTED"}, ExitCode.RATE_LIMIT),
    ({"status": 400, "type": "invalid_request_error", "code": "organization_restricted"}, ExitCode.AUTH),
    ({"status": 402}, ExitCode.RATE_LIMIT),  # OpenRouter: out of credits
    ({"status": 429, "message": "Provider returned error"}, ExitCode.RATE_LIMIT),
    ({"status": 401}, ExitCode.AUTH),
    ({"status": 400, "code": "content_filter"}, ExitCode.PROVIDER),
    ({"message": "model 'x' not found"}, ExitCode.PROVIDER),
    ({}, ExitCode.PROVIDER),
    (None, ExitCode.PROVIDER),
    ({"type": ["not", "a", "name"], "status": "429"}, ExitCode.PROVIDER),  # odd types never raise
])
def test_exit_code_for_error(error, code):
    assert exit_code_for_error(error) == code


def test_categories_name_every_exit_code():
    assert category(ExitCode.AUTH) == "auth"
    assert category(6) == "rate_limit"
    assert category(ExitCode.NETWORK) == "network"
    assert category(42) == "provider"
    assert {category(c) for c in ExitCode if c != ExitCode.OK} >= {"auth", "rate_limit", "provider", "network",
                                                                   "incomplete", "check", "config", "internal"}


# --- ask: an error event inside a 200 stream takes its code from the same table ------------------------------------

from provider_server import Reply  # noqa: E402
from test_ask import inline, route, server  # noqa: E402,F401 - the loopback provider and in-process runner of ask


@pytest.mark.parametrize(("provider", "fixture", "code"), [
    ("responses", "openai-responses/stream-error-event.sse", 6),  # code rate_limit_exceeded
    ("anthropic", "anthropic/stream-error-overloaded.sse", 7),  # overloaded_error
])
def test_ask_maps_an_error_event_in_a_200_stream_by_its_type(server, inline, provider, fixture, code):
    route(server, provider, Reply.file(fixture))
    result = inline("ask", "-p", provider, "-f", "text", "hello")
    assert result.returncode == code, result.stderr
    assert result.stderr.decode().count("aimux: error: ") == 1


# --- a provider-marked incomplete response is not a cut stream (issue 10 item 6) -------------------------------------


@pytest.mark.parametrize("rel", ["openai-responses/incomplete-max-output-tokens.json",
                                 "openai-responses/stream-incomplete-max-output-tokens.sse"])
def test_a_response_the_provider_marks_incomplete_exits_0_with_its_finish(capsys, rel):
    rc, out, err = run(capsys, "prettify", "-f", "json", "--fail", str(FIX / rel))
    assert rc == 0, err
    assert "terminal event" not in err
    import json

    doc = json.loads(out)
    assert (doc["status"], doc["finish"]) == ("ok", "length")


@pytest.mark.parametrize("rel", ["openai-responses/stream-truncated.sse", "anthropic/stream-truncated.sse"])
def test_only_a_cut_stream_exits_9_with_its_line(capsys, rel):
    rc, _, err = run(capsys, "prettify", "-f", "json", str(FIX / rel))
    assert rc == 9
    assert "the stream ended before its terminal event" in err


def test_exit_code_of_follows_a_truncated_flag_when_the_document_has_one():
    from aimux_cli.present import exit_code_of

    class Doc:  # a document with the flag: the flag decides, whatever the status says
        def __init__(self, status, truncated):
            self.status, self.truncated, self.error = status, truncated, {}

    assert exit_code_of(Doc("ok", True), fail=False) == 9
    assert exit_code_of(Doc("incomplete", False), fail=False) == 0
    assert exit_code_of(Doc("ok", False), fail=True) == 0


# --- an HTTP error response takes its code from the same table as its body does in prettify --fail -----------------

ORG_RESTRICTED = {"error": {"message": "Your organization is restricted.", "type": "invalid_request_error",
                            "code": "organization_restricted", "param": None}}


@pytest.mark.parametrize(("provider", "reply", "code"), [
    ("openai", Reply.json(ORG_RESTRICTED, 400), 5),  # was 7: the status alone (400) decided
    ("gemini", Reply.file("gemini/error-400-invalid-argument.json", status=400), 5),  # API_KEY_INVALID, was 7
    ("anthropic", Reply.file("anthropic/error-529-overloaded.json", status=529), 7),
])
def test_ask_and_prettify_fail_agree_on_an_http_error_body(server, inline, tmp_path, provider, reply, code):
    """client.http_error chose the exit code by the HTTP status alone: a 400 saying organization_restricted was 7
    in ask (and test-providers, bench) where `prettify --fail` gives the same body 5."""
    route(server, provider, reply)
    result = inline("ask", "-p", provider, "--retries", "0", "-f", "text", "hello")
    assert result.returncode == code, result.stderr
    assert result.stderr.decode().count("aimux: error: ") == 1
    body = tmp_path / "body.json"
    body.write_bytes(b"".join(piece for _, piece in reply.chunks))
    assert inline("prettify", "--fail", "-f", "json", str(body)).returncode == code


def test_client_error_class_follows_the_table():
    from aimux_cli.client_text import http_error
    from aimux_cli.errors import AuthError, ProviderError, RateLimitError
    from aimux_cli.request import PreparedRequest

    prepared = PreparedRequest("POST", "http://127.0.0.1:9/v1/chat/completions", provider="openai")
    body = (FIX / "gemini/error-400-invalid-argument.json").read_bytes()
    assert type(http_error(prepared, 400, {}, body)) is AuthError
    quota = b'{"error": {"type": "insufficient_quota", "code": "insufficient_quota", "message": "m"}}'
    assert type(http_error(prepared, 400, {}, quota)) is RateLimitError
    assert type(http_error(prepared, 400, {"content-type": "text/html"}, b"<html>organization_restricted")) \
        is ProviderError
    assert type(http_error(prepared, 401, {}, b"not json")) is AuthError
