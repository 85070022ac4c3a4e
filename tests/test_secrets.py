"""Secrets never reach any output (aimux_cli/redact.py, output.py, and the CLI as a whole).

Unit tests of the registry, the scrub of every printed form (plain, JSON / Python escapes, percent-encoding,
base64), the streaming hold-back, the guarded streams, logging and `output.write_file`; then the real CLI against
the loopback provider (tests/provider_server.py): a multi-line key is refused before any request, and a key echoed
by a provider (a 200 stream's error event, answer text split across chunks, a 401 body) is absent from stdout and
stderr in every form, in every output format.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from aimux_cli import output, redact, request
from aimux_cli.errors import ExitCode, OutputError
from provider_server import Reply
from secret_forms import forms, leaks

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-test/SECRET+k=42"  # '/', '+' and '=' are escaped or encoded by JSON, URL and base64 printers
LINES_KEY = "sk-secret1234\nline2"  # a multi-line `pass show`
LONG_KEY = "sk-proj-" + "A1b2C3d4eFgH" * 13  # longer than a terminal line: the Rich view folds it
CHAT = "/v1/chat/completions"


@pytest.fixture
def registered():
    redact.register(KEY, LINES_KEY)
    yield
    redact.unguard_streams()
    redact.clear()


# --- the registry and the scrub ------------------------------------------------------------------------------------


def test_nothing_registered_costs_nothing_and_changes_nothing():
    text = f"a key {KEY} in plain sight"
    assert not redact.active()
    assert redact.scrub(text) is text and redact.scrub_bytes(text.encode()) == text.encode()
    assert redact.Scrubber().feed(text) is text


@pytest.mark.parametrize("secret", [KEY, LINES_KEY, "sk-ünïcödé-key-😀", 'k"\\\'<&>\t-quoted'])
def test_every_printed_form_is_scrubbed(secret):
    redact.register(secret)
    for name, form in forms(secret).items():
        scrubbed = redact.scrub(f"before {form} after")
        assert not leaks(scrubbed, secret), (name, scrubbed)
        assert scrubbed.startswith("before ") and scrubbed.endswith(" after"), (name, scrubbed)
        assert not leaks(redact.scrub_bytes(f"<{form}>".encode()), secret), name


def test_httpx_illegal_header_message_is_scrubbed():
    """Defect 1: httpx printed the multi-line key escaped, in a bytes repr; exact-match scrubbing missed it."""
    redact.register(LINES_KEY)
    message = f"Illegal header value {('Bearer ' + LINES_KEY).encode()!r}"
    assert redact.scrub(message) == "Illegal header value b'Bearer [REDACTED]'"


def test_short_values_and_surrounding_whitespace_are_not_secrets():
    redact.register("ab", None, "  padded-key-9  ")
    assert redact.scrub("ab cd padded-key-9") == "ab cd [REDACTED]"


def test_request_helpers_register_what_they_are_given():
    assert request.redact(f"x {quote(KEY, safe='')} y", [KEY]) == "x [REDACTED] y"
    assert request.redact_bytes(json.dumps(KEY).encode(), [KEY]) == b'"[REDACTED]"'
    assert redact.scrub(KEY) == "[REDACTED]"  # registered process-wide from now on


def test_building_a_request_registers_the_key_and_credential_headers_and_query_values():
    from aimux_cli.config import ResolvedProvider

    resolved = ResolvedProvider("az", "openai.chat", "https://az.example/v1?api-version=2024&sig=SIGNATURE-123", "m",
                                KEY, {"x-custom-token": "TOKEN-abc-123", "x-team": "infra"}, 5.0, "bearer", None, "c")
    request.build(resolved, prompt="q")
    assert redact.scrub(f"{KEY} TOKEN-abc-123 SIGNATURE-123 infra 2024") == "[REDACTED] [REDACTED] [REDACTED] infra 2024"


def test_scrub_value_walks_documents(registered):
    doc = {"error": {"message": f"Incorrect API key provided: {KEY}"}, "list": [KEY, 3, None], KEY: True}
    assert KEY not in json.dumps(redact.scrub_value(doc))


# --- streams: a key split across writes ----------------------------------------------------------------------------


def test_a_secret_split_anywhere_across_two_writes_is_caught(registered):
    for name, form in forms(KEY).items():
        text = f"answer: {form} and {form}."
        for cut in range(len(text) + 1):
            scrubber = redact.Scrubber()
            out = scrubber.feed(text[:cut]) + scrubber.feed(text[cut:]) + scrubber.release()
            assert out == redact.scrub(text) and not leaks(out, KEY), (name, cut, out)


def test_a_secret_dripped_one_character_at_a_time_is_caught(registered):
    text = f"data: {json.dumps({'error': {'message': 'bad key ' + KEY}})}\n\n"
    scrubber = redact.Scrubber()
    out = "".join(scrubber.feed(c) for c in text) + scrubber.release()
    assert out == redact.scrub(text) and not leaks(out, KEY)


def test_only_a_possible_start_of_a_secret_is_held_back(registered):
    scrubber = redact.Scrubber()
    assert scrubber.feed("plain words\n") == "plain words\n"  # nothing like a key: all of it, at once
    assert scrubber.feed("then sk-te") == "then "  # could be the key: held
    assert scrubber.feed("a time") == "sk-tea time"  # was not
    assert scrubber.feed("100% sure") == "100% sure"
    assert scrubber.feed("key: sk-test%2") == "key: "  # the key with its '/' being percent-encoded
    assert scrubber.release() == "sk-test%2"


def test_guarded_stdout_scrubs_streamed_writes_and_releases_the_tail_at_flush(registered, capsys):
    for piece in ("one ", KEY[:5], KEY[5:], " two s"):
        output.write(piece, flush=True)
    assert capsys.readouterr().out == "one [REDACTED] two "  # "s" may begin the key: held until the end
    output.flush()
    assert capsys.readouterr().out == "s"


def test_stderr_and_tracebacks_pass_the_guard(registered, capsys):
    redact.guard_streams()
    sys.stderr.write(f"warning: {json.dumps(KEY)}\n")
    print(repr(LINES_KEY.encode()), file=sys.stderr)
    err = capsys.readouterr().err
    assert not leaks(err, KEY, LINES_KEY) and err.count("[REDACTED]") == 2


def pieces(secret: str, size: int = 12) -> list[str]:
    return [secret[i:i + size] for i in range(0, len(secret) - size + 1, size // 2)]


def test_a_key_folded_by_a_terminal_view_is_caught():
    from rich.console import Console
    from rich.markdown import Markdown

    redact.register(LONG_KEY)
    drawn = io.StringIO()
    Console(file=drawn, width=50, force_terminal=True, color_system="truecolor").print(
        Markdown(f"key: {LONG_KEY}\n\n> quoted `{LONG_KEY}`"))
    assert LONG_KEY not in drawn.getvalue()  # it was folded: a plain scrub cannot see it
    scrubbed = redact.scrub(drawn.getvalue())
    assert not [p for p in pieces(LONG_KEY) if p in scrubbed], scrubbed
    scrubber = redact.Scrubber()
    streamed = "".join(scrubber.feed(c) for c in drawn.getvalue()) + scrubber.release()
    assert streamed == scrubbed


def test_log_filter_scrubs_message_and_arguments(registered):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(redact.LogFilter())
    log = logging.getLogger("aimux.test_secrets")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        log.debug("header %r, url %s", f"Bearer {LINES_KEY}", f"https://h/?k={quote(KEY, safe='')}")
    finally:
        log.removeHandler(handler)
    assert not leaks(stream.getvalue(), KEY, LINES_KEY) and "[REDACTED]" in stream.getvalue()


# --- output files ----------------------------------------------------------------------------------------------------


def test_write_file_is_scrubbed_and_atomic(registered, tmp_path):
    path = tmp_path / "report.json"
    path.write_text("old")
    output.write_file(path, json.dumps({"error": f"bad key {KEY}"}))
    assert json.loads(path.read_text()) == {"error": "bad key [REDACTED]"}
    assert os.listdir(tmp_path) == ["report.json"]  # no temporary file left behind


@pytest.mark.parametrize("where", ["missing/dir/report.json", "."])
def test_write_file_failure_is_an_output_error_naming_the_path(tmp_path, where):
    target = tmp_path / where
    with pytest.raises(OutputError) as info:
        output.write_file(target, "x")
    assert info.value.exit_code == ExitCode.FAILURE and str(target) in str(info.value)
    assert [p for p in os.listdir(tmp_path) if p.endswith(".tmp")] == []


def test_write_file_to_a_device_writes_in_place():
    output.write_file(os.devnull, "discarded")


# --- the real CLI against the loopback provider --------------------------------------------------------------------


CONFIG = '[providers.openai]\nbase_url = "{url}/v1"\n'


def run(server, tmp_path, *args: str, key: str = KEY, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(url=server.url))
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_API_KEY") and not k.lower().endswith("_proxy") and k != "AIMUX_DEBUG"}
    env.update(OPENAI_API_KEY=key, AIMUX_CONFIG=str(config), NO_PROXY="*", NO_COLOR="", COLUMNS="100")
    env.update(extra_env or {})
    return subprocess.run([sys.executable, "-m", "aimux_cli", *args], capture_output=True, cwd=ROOT, env=env,
                          stdin=subprocess.DEVNULL, timeout=120)


def assert_no_leak(result: subprocess.CompletedProcess, *secrets: str) -> None:
    found = leaks(result.stdout + b"\n" + result.stderr, *secrets)
    assert not found, f"leaked {found}: {result.stdout[-2000:]!r} {result.stderr[-2000:]!r}"


@pytest.mark.parametrize("debug", [[], ["--debug"]])
def test_multi_line_key_is_refused_before_any_request(provider_server, tmp_path, debug):
    result = run(provider_server, tmp_path, *debug, "ask", "-p", "openai", "hi", key=LINES_KEY)
    assert result.returncode == ExitCode.CONFIG, result.stderr
    assert provider_server.count() == 0
    line = result.stderr.decode().strip().splitlines()[-1]
    assert "OPENAI_API_KEY" in line and "line break" in line
    assert_no_leak(result, LINES_KEY)
    assert b"sk-secret1234" not in result.stdout + result.stderr  # not even its first line


@pytest.mark.parametrize("bad", ["sk-caf\u00e9-key", "sk-tab\there", "sk-bell\x07key"])
def test_non_ascii_or_control_key_is_a_config_error(provider_server, tmp_path, bad):
    result = run(provider_server, tmp_path, "ask", "-p", "openai", "hi", key=bad)
    assert result.returncode == ExitCode.CONFIG and provider_server.count() == 0
    assert b"OPENAI_API_KEY" in result.stderr
    assert_no_leak(result, bad)


def _echo_stream(key: str) -> bytes:
    """A 200 stream whose answer text carries the key in pieces and whose error event echoes it, escaped."""
    def chunk(text: str) -> bytes:
        event = {"id": "c1", "object": "chat.completion.chunk", "model": "m",
                 "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
        return f"data: {json.dumps(event)}\n\n".encode()

    error = {"error": {"message": f"Incorrect API key provided: {key} ({quote(key, safe='')})",
                       "type": "invalid_request_error"}}
    pieces = [chunk("your key is "), chunk(key[:6]), chunk(key[6:]), chunk(" ok"),
              f"data: {json.dumps(error)}\n\n".replace("/", "\\/").encode()]
    return b"".join(pieces)


@pytest.mark.parametrize("fmt", ["text", "json", "toon", "rich"])
def test_key_echoed_in_a_200_stream_never_reaches_output(provider_server, tmp_path, fmt):
    body = _echo_stream(KEY)
    provider_server.route(CHAT, Reply(200, {"content-type": "text/event-stream"},
                                      [(0.0, p + b"\n\n") for p in body.split(b"\n\n") if p]))
    result = run(provider_server, tmp_path, "--debug", "ask", "-p", "openai", "-f", fmt, "hi")
    assert result.returncode != ExitCode.FAILURE, result.stderr
    assert_no_leak(result, KEY)
    assert b"[REDACTED]" in result.stdout + result.stderr


def test_key_echoed_in_a_401_body_never_reaches_output(provider_server, tmp_path):
    echo = {"error": {"type": "invalid_api_key", "message": f"Incorrect API key: {KEY} / {quote_plus(KEY)}"}}
    provider_server.route(CHAT, Reply.json(echo, 401))
    for fmt in ("text", "json"):
        result = run(provider_server, tmp_path, "--debug", "ask", "-p", "openai", "-f", fmt, "hi")
        assert result.returncode == ExitCode.AUTH, result.stderr
        assert_no_leak(result, KEY)


def test_a_long_key_folded_by_the_rich_view_never_reaches_output(provider_server, tmp_path):
    provider_server.route(CHAT, Reply(200, {"content-type": "text/event-stream"},
                                      [(0.0, p + b"\n\n") for p in _echo_stream(LONG_KEY).split(b"\n\n") if p]))
    result = run(provider_server, tmp_path, "ask", "-p", "openai", "-f", "rich", "hi", key=LONG_KEY,
                 extra_env={"FORCE_COLOR": "1", "COLUMNS": "60"})
    assert_no_leak(result, LONG_KEY)
    shown = (result.stdout + result.stderr).decode()
    assert not [p for p in pieces(LONG_KEY) if p in shown], shown


# --- scrubbed before lines are joined or cut (issue 9 leftovers) -----------------------------------------------------

SPLIT_KEY = "sk-split-0042\nsecond-half-7"  # a key that spans lines: joining them hides it from an exact scrub


def _unseen(text: str) -> bool:
    return "sk-split-0042" not in text and "second-half-7" not in text


def test_warn_scrubs_before_it_joins_lines(capsys):
    from aimux_cli.present import warn

    redact.register(SPLIT_KEY)
    warn(f"the provider said: bad key {SPLIT_KEY}.", error=True)
    redact.release_all()
    err = capsys.readouterr().err
    assert _unseen(err) and "[REDACTED]" in err and err.count("\n") == 1, err


def test_client_lines_scrub_before_they_are_joined_or_cut():
    import httpx

    from aimux_cli import client
    from aimux_cli.client_text import bad_body

    prepared = request.PreparedRequest("POST", "http://127.0.0.1:9/v1/chat/completions", provider="openai",
                                       secrets=(SPLIT_KEY,))
    err = client._network_error(prepared, httpx.ConnectError(f"refused for {SPLIT_KEY}"), 5)
    assert _unseen(str(err)) and "[REDACTED]" in str(err), str(err)
    unsendable = client._unsendable(prepared, f"bad header {SPLIT_KEY}")
    assert _unseen(str(unsendable)), str(unsendable)
    # a key that the 300-character cut would halve: scrubbed whole first, so not even its start is shown
    cut = bad_body(prepared, "x" * 240 + KEY, [], 200, streamed=False)
    assert KEY[:6] not in str(cut) and len(str(cut)) <= 300, str(cut)
    assert _unseen(str(bad_body(prepared, f"corrupt {SPLIT_KEY}", [], 200, streamed=False)))


def test_ask_error_message_is_scrubbed_before_it_is_joined():
    from aimux_cli.commands.ask import _type_message

    redact.register(SPLIT_KEY)
    line = _type_message({"type": "invalid_request_error", "message": f"Incorrect API key provided: {SPLIT_KEY}"})
    assert _unseen(line) and "[REDACTED]" in line and "\n" not in line, line


def test_test_providers_error_line_is_scrubbed_before_it_is_joined():
    from aimux_cli import health
    from aimux_cli.errors import ProviderError

    resolved = type("Resolved", (), {"name": "openai", "api_key": SPLIT_KEY})()
    line = health.error_line(ProviderError(f"openai: HTTP 400: bad key {SPLIT_KEY}"), resolved)
    assert _unseen(line) and "[REDACTED]" in line, line


def test_cli_error_line_is_scrubbed_before_it_is_joined(capsys, monkeypatch):
    from aimux_cli.cli import main
    from aimux_cli.commands import prettify
    from aimux_cli.errors import ProviderError

    def failing(opts):
        redact.register(SPLIT_KEY)
        raise ProviderError(f"provider: bad key {SPLIT_KEY}")

    monkeypatch.delenv("AIMUX_DEBUG", raising=False)
    monkeypatch.setattr(prettify, "run", failing)
    with pytest.raises(SystemExit):
        main(["prettify", "x.json"])
    redact.release_all()
    err = capsys.readouterr().err
    assert _unseen(err) and "[REDACTED]" in err, err
