"""`aimux test-providers` (issue 5) against the loopback provider server, run as real processes for exit codes.

Every run goes through `aimux()`, which also asserts that the test key appears in no output and no saved report.
Timing assertions are lower bounds or orderings of server-side arrival times, never wall-clock upper limits.
"""

from __future__ import annotations

import json
import re
import os
import select
import pty
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import toon_format

from aimux_cli import health, health_checks
from aimux_cli.errors import ExitCode
from provider_server import Reply
from pty_support import read_terminal

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "health"
KEY = "sk-aimux-health-SECRET-5c0ffee9d1"  # recognizable: every output is grepped for it

# name -> (base URL path on the server, key variable, headers every request must carry)
PROVIDERS = {
    "openai": ("/oa/v1", "OPENAI_API_KEY", {"authorization": f"Bearer {KEY}"}),
    "anthropic": ("/an/v1", "ANTHROPIC_API_KEY", {"x-api-key": KEY, "anthropic-version": "2023-06-01"}),
    "gemini": ("/ge/v1beta", "GEMINI_API_KEY", {"x-goog-api-key": KEY}),
    "ollama": ("/ol", None, {}),
}
PASSING = {  # (models list, non-streaming body, stream) per provider
    "openai": ("models-openai.json", "openai/chat-text.json", "openai/chat-text-stream.sse"),
    "anthropic": ("models-anthropic.json", "anthropic/text-end-turn.json", "anthropic/text-end-turn-stream.sse"),
    "gemini": ("models-gemini.json", "gemini/text-stop.json", "gemini/text-stream.sse"),
    "ollama": ("models-ollama.json", "ollama/chat.json", "ollama/chat-stream.ndjson"),
}


def models_reply(name: str) -> Reply:
    return Reply.file(DATA / name)


def paths(name: str) -> tuple[str, str, str]:
    """(models path, completion path, stream path) of a provider on the server."""
    prefix = PROVIDERS.get(name, ("/" + name + "/v1",))[0]
    if name == "gemini":
        return prefix + "/models", prefix + "/models/gemini-2.5-flash:generateContent", \
            prefix + "/models/gemini-2.5-flash:streamGenerateContent"
    if name == "ollama":
        return prefix + "/api/tags", prefix + "/api/chat", prefix + "/api/chat"
    chat = prefix + ("/messages" if name == "anthropic" else "/chat/completions")
    return prefix + "/models", chat, chat


def serve(server, name: str, *, models: Reply | None = None, complete: Reply | None = None,
          stream: Reply | None = None, kind: str | None = None) -> None:
    """Route one provider's endpoints; the defaults replay its passing fixtures. Where completion and stream share
    a path, the request body's `stream` flag picks the reply (so any checks, any number of runs, are answered)."""
    listing, body, events = PASSING[kind or name]
    headers = PROVIDERS.get(name, (None, None, {"authorization": f"Bearer {KEY}"}))[2]
    models_path, complete_path, stream_path = paths(name)
    complete, stream = complete or Reply.file(body), stream or Reply.file(events)
    server.route(models_path, models or models_reply(listing), method="GET", headers=headers)
    if complete_path == stream_path:
        server.route(complete_path, lambda seen: stream if seen.json().get("stream") else complete, method="POST",
                     headers=headers)
    else:
        server.route(complete_path, complete, method="POST", headers=headers, json={})
        server.route(stream_path, stream, method="POST", headers=headers)


def write_config(tmp_path: Path, server, names, extra: str = "") -> Path:
    lines = []
    for name in names:
        lines += [f"[providers.{name}]", f'base_url = "{server.url}{PROVIDERS[name][0]}"', ""]
    path = tmp_path / "aimux.toml"
    path.write_text("\n".join(lines) + extra)
    return path


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def report(self) -> dict:
        return json.loads(self.stdout)

    def provider(self, name: str) -> dict:
        return next(p for p in self.report()["providers"] if p["name"] == name)


def keys_for(*names: str) -> tuple[str, ...]:
    return tuple(PROVIDERS[n][1] for n in names if PROVIDERS[n][1])


def aimux(tmp_path: Path, config: Path, *args: str, keys: tuple[str, ...] = ("OPENAI_API_KEY",),
          saved: Path | None = None) -> Run:
    """Run `aimux test-providers` with a clean environment holding only the given key variables. Any https request
    (a real provider reached by mistake) goes to a proxy on a closed local port, so nothing leaves the machine."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "AIMUX_CONFIG": str(config),
           "COLUMNS": "200", "NO_COLOR": "1", "PYTHONIOENCODING": "utf-8", "HTTPS_PROXY": "http://127.0.0.1:9",
           "NO_PROXY": "127.0.0.1", **{k: KEY for k in keys}}
    proc = subprocess.run([sys.executable, "-m", "aimux_cli", "test-providers", *args], capture_output=True,
                          cwd=ROOT, env=env, timeout=120)  # a guard against a hung test, not an assertion
    outputs = [proc.stdout, proc.stderr] + ([saved.read_bytes()] if saved and saved.exists() else [])
    for data in outputs:
        assert KEY.encode() not in data and KEY[-12:].encode() not in data
    return Run(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def statuses(provider: dict) -> list[str]:
    return [c["status"] for c in provider["checks"]]


# --- passing ---------------------------------------------------------------------------------------------------------


def test_all_wires_pass_and_the_report_follows_the_schema(tmp_path, provider_server):
    names = ["openai", "anthropic", "gemini", "ollama"]  # ollama: keyless, selected by its config table
    for name in names:
        serve(provider_server, name)
    config = write_config(tmp_path, provider_server, names)
    saved = tmp_path / "report.json"
    run = aimux(tmp_path, config, "--format", "json", "--output", str(saved), saved=saved,
                keys=keys_for("openai", "anthropic", "gemini"))
    assert run.code == 0, run.stderr
    report = run.report()
    assert json.loads(saved.read_text()) == report
    assert (report["passed"], report["failed"], report["skipped"]) == (4, 0, 0)
    assert [p["name"] for p in report["providers"]] == sorted(names)
    for p in report["providers"]:
        assert set(p) == {"name", "model", "base_url", "status", "checks"}
        assert p["status"] == "pass" and p["base_url"] == provider_server.url + PROVIDERS[p["name"]][0]
        assert [c["name"] for c in p["checks"]] == ["models", "complete", "stream"]
        for check in p["checks"]:
            assert list(check) == ["name", "status", "latency_ms", "error", "http_status", "category", "started_at",
                                   "ended_at", "ttft_ms", "output_tokens", "tps", "budget"]
            assert check["status"] == "pass" and check["error"] is None and check["category"] is None
            assert isinstance(check["latency_ms"], int) and check["latency_ms"] >= 0
            assert check["http_status"] == 200
            start, end = (datetime.fromisoformat(check[k].replace("Z", "+00:00")) for k in ("started_at", "ended_at"))
            assert check["started_at"].endswith("Z") and start.utcoffset() == timedelta(0)
            assert timedelta(0) <= end - start <= timedelta(milliseconds=check["latency_ms"] + 1)
        starts = [c["started_at"] for c in p["checks"]]
        assert starts == sorted(starts)  # the steps run in order
    assert run.provider("anthropic")["model"] == "claude-sonnet-4-5"  # listed only as a dated snapshot


def test_steps_run_in_order_with_minimal_requests(tmp_path, provider_server):
    serve(provider_server, "openai")
    serve(provider_server, "ollama")
    config = write_config(tmp_path, provider_server, ["openai", "ollama"])
    run = aimux(tmp_path, config, "-f", "json")
    assert run.code == 0, run.stderr
    models, chat, _ = paths("openai")
    seen = [s for s in provider_server.requests if s.path.startswith("/oa/")]
    assert [s.path for s in seen] == [models, chat, chat]
    assert [s.json()["stream"] for s in seen[1:]] == [False, True]
    assert seen[1].json()["messages"][-1]["role"] == "user"
    ollama = [s for s in provider_server.requests if s.path.startswith("/ol/")]
    assert all("authorization" not in s.headers for s in ollama)  # a keyless provider sends no credential


def test_toon_is_the_default_when_piped_and_decodes_to_the_json_report(tmp_path, provider_server):
    serve(provider_server, "openai")
    config = write_config(tmp_path, provider_server, ["openai"])
    toon = aimux(tmp_path, config)
    assert toon.code == 0, toon.stderr
    decoded = toon_format.decode(toon.stdout)
    assert decoded["passed"] == 1 and decoded["providers"][0]["name"] == "openai"
    assert [c["status"] for c in decoded["providers"][0]["checks"]] == ["pass"] * 3


def test_rich_table_shows_steps_latencies_and_the_error(tmp_path, provider_server):
    serve(provider_server, "openai")
    serve(provider_server, "anthropic", models=Reply.file(ROOT / "fixtures/anthropic/error-401-authentication.json",
                                                          status=401))
    config = write_config(tmp_path, provider_server, ["openai", "anthropic"])
    run = aimux(tmp_path, config, "--format", "rich", keys=keys_for("openai", "anthropic"))
    assert run.code == ExitCode.CHECK_FAILED
    lines = run.stdout.splitlines()
    openai = next(line for line in lines if line.lstrip().startswith("openai"))
    anthropic = next(line for line in lines if line.lstrip().startswith("anthropic"))
    assert openai.count("✓") == 4 and openai.count(" ms") == 3
    assert "✗ fail" in anthropic and "HTTP 401" in anthropic and "authentication_error" in anthropic
    assert "1 passed, 1 failed, 0 skipped" in run.stdout


# --- failures ---------------------------------------------------------------------------------------------------------


def test_401_fails_the_provider_skips_its_later_steps_and_keeps_the_key_out(tmp_path, provider_server):
    echo = {"error": {"type": "invalid_request_error", "code": "invalid_api_key",
                      "message": f"Incorrect API key provided: {KEY}."}}  # providers do echo keys back
    serve(provider_server, "openai", models=Reply.json(echo, status=401))
    serve(provider_server, "anthropic")
    config = write_config(tmp_path, provider_server, ["openai", "anthropic"])
    saved = tmp_path / "r.json"
    run = aimux(tmp_path, config, "-f", "json", "-o", str(saved), saved=saved, keys=keys_for("openai", "anthropic"))
    assert run.code == ExitCode.CHECK_FAILED
    failed = run.provider("openai")
    assert failed["status"] == "fail" and statuses(failed) == ["fail", "skip", "skip"]
    error = failed["checks"][0]["error"]
    assert error.startswith("HTTP 401: invalid_request_error: Incorrect API key provided") and "\n" not in error
    assert [c["latency_ms"] for c in failed["checks"][1:]] == [None, None]
    assert (failed["checks"][0]["http_status"], failed["checks"][0]["category"]) == (401, "auth")
    assert [(c["http_status"], c["category"], c["started_at"]) for c in failed["checks"][1:]] == [(None, None, None)] * 2
    assert provider_server.count(paths("openai")[1]) == 0  # nothing after the failed step
    assert run.provider("anthropic")["status"] == "pass"
    assert run.report()["failed"] == 1 and run.report()["passed"] == 1


def test_a_hanging_provider_is_cut_off_at_its_deadline_while_others_pass(tmp_path, provider_server):
    serve(provider_server, "openai", models=Reply(hang=True))
    serve(provider_server, "anthropic")
    config = write_config(tmp_path, provider_server, ["openai", "anthropic"])
    run = aimux(tmp_path, config, "-f", "json", "--timeout", "1", keys=keys_for("openai", "anthropic"))
    assert run.code == ExitCode.CHECK_FAILED
    hung = run.provider("openai")
    assert statuses(hung) == ["fail", "skip", "skip"]
    assert hung["checks"][0]["error"] == "timed out: no result within the 1 s deadline"
    assert hung["checks"][0]["latency_ms"] >= 900
    assert (hung["checks"][0]["category"], hung["checks"][0]["http_status"]) == ("timeout", None)
    assert run.provider("anthropic")["status"] == "pass"


def test_the_deadline_covers_all_steps_together(tmp_path, provider_server):
    # each step alone fits in the deadline, the three together do not
    slow = [(0.6, b'{"object": "list", "data": [{"id": "gpt-4.1-mini"}]}')]
    body = (ROOT / "fixtures/openai/chat-text.json").read_bytes()
    serve(provider_server, "openai", models=Reply(200, {"content-type": "application/json"}, slow, "length"),
          complete=Reply(200, {"content-type": "application/json"}, [(0.6, body)], "length"))
    config = write_config(tmp_path, provider_server, ["openai"])
    run = aimux(tmp_path, config, "-f", "json", "--timeout", "1")
    assert run.code == ExitCode.CHECK_FAILED
    assert statuses(run.provider("openai")) == ["pass", "fail", "skip"]
    assert run.provider("openai")["checks"][1]["error"] == "timed out: no result within the 1 s deadline"


@pytest.mark.parametrize(("stream", "expected"), [
    (Reply.file("openai/chat-text-stream.sse", drop_after=3), "stream cut short"),
    (Reply.file("openai/chat-text-stream.sse", drop_after=3, reset=True), "stream cut short"),
    (Reply.file("openai/chat-stream-truncated.sse"), "without its terminal event"),
], ids=["dropped", "reset", "no-terminal-event"])
def test_a_broken_stream_fails_the_stream_step(tmp_path, provider_server, stream, expected):
    serve(provider_server, "openai", stream=stream)
    config = write_config(tmp_path, provider_server, ["openai"])
    run = aimux(tmp_path, config, "-f", "json")
    assert run.code == ExitCode.CHECK_FAILED
    p = run.provider("openai")
    assert statuses(p) == ["pass", "pass", "fail"]
    assert expected in p["checks"][2]["error"]


def test_anthropic_stream_without_message_stop_fails(tmp_path, provider_server):
    serve(provider_server, "anthropic", stream=Reply.file("anthropic/stream-truncated.sse"))
    config = write_config(tmp_path, provider_server, ["anthropic"])
    run = aimux(tmp_path, config, "-f", "json", keys=keys_for("anthropic"))
    assert run.code == ExitCode.CHECK_FAILED
    assert statuses(run.provider("anthropic")) == ["pass", "pass", "fail"]


def test_a_model_missing_from_the_list_fails_before_any_completion(tmp_path, provider_server):
    serve(provider_server, "openai", models=models_reply("models-openai-without-model.json"))
    config = write_config(tmp_path, provider_server, ["openai"])
    run = aimux(tmp_path, config, "-f", "json")
    assert run.code == ExitCode.CHECK_FAILED
    p = run.provider("openai")
    assert statuses(p) == ["fail", "skip", "skip"]
    assert p["checks"][0]["error"] == "model gpt-4.1-mini is not in the provider's model list (2 models listed)"
    assert provider_server.count(paths("openai")[1]) == 0


def test_model_list_pages_are_followed(tmp_path, provider_server):
    serve(provider_server, "anthropic", models=models_reply("models-anthropic-page1.json"))
    provider_server.route(paths("anthropic")[0], models_reply("models-anthropic-page1.json"),
                          models_reply("models-anthropic.json"), method="GET")
    config = write_config(tmp_path, provider_server, ["anthropic"])
    run = aimux(tmp_path, config, "-f", "json", keys=keys_for("anthropic"))
    assert run.code == 0, run.stdout
    first, second = provider_server.seen(paths("anthropic")[0])
    assert first.query == "limit=1000"
    assert second.query == "limit=1000&after_id=claude-opus-4-1-20250805"


def test_a_completion_without_text_fails(tmp_path, provider_server):
    empty = {"id": "c1", "object": "chat.completion", "model": "gpt-4.1-mini",
             "choices": [{"index": 0, "message": {"role": "assistant", "content": ""}, "finish_reason": "length"}]}
    serve(provider_server, "openai", complete=Reply.json(empty))
    config = write_config(tmp_path, provider_server, ["openai"])
    run = aimux(tmp_path, config, "-f", "json")
    assert run.code == ExitCode.CHECK_FAILED
    assert run.provider("openai")["checks"][1]["error"] == "the completion has no text (finish: length)"


def test_provider_text_in_errors_cannot_drive_the_terminal(tmp_path, provider_server):
    hostile = {"error": {"type": "auth\u202eerror", "message": "bad key\x1b]0;pwned\x07\x1b[2J\nsecond line"}}
    serve(provider_server, "openai", models=Reply.json(hostile, status=401))
    config = write_config(tmp_path, provider_server, ["openai"])
    for fmt in ("rich", "json", "toon"):
        run = aimux(tmp_path, config, "-f", fmt)
        assert run.code == ExitCode.CHECK_FAILED
        assert not any(c in run.stdout for c in ("\x1b", "\x07", "\u202e")), fmt
    error = aimux(tmp_path, config, "-f", "json").provider("openai")["checks"][0]["error"]
    assert error.startswith("HTTP 401: auth") and "second line" in error and "\n" not in error


# --- selection, --strict, nothing to check ----------------------------------------------------------------------------


@pytest.mark.parametrize(("strict", "code", "status"), [(False, 0, "skip"), (True, 10, "fail")])
def test_a_provider_without_a_key_is_skipped_or_failed_with_strict(tmp_path, provider_server, strict, code, status):
    serve(provider_server, "openai")
    extra = '[providers.groq]\nmodel = "llama-3.1-8b-instant"\n'  # configured, but GROQ_API_KEY is not set
    config = write_config(tmp_path, provider_server, ["openai"], extra)
    run = aimux(tmp_path, config, "-f", "json", *(["--strict"] if strict else []))
    assert run.code == code, run.stderr
    groq = run.provider("groq")
    assert groq["status"] == status and statuses(groq) == [status, "skip", "skip"]
    assert groq["checks"][0]["error"].startswith("no API key: set GROQ_API_KEY")
    assert groq["base_url"] == "https://api.groq.com/openai/v1" and groq["model"] == "llama-3.1-8b-instant"
    assert run.report()["skipped" if not strict else "failed"] == 1
    assert run.provider("openai")["status"] == "pass"


def test_only_named_providers_are_checked(tmp_path, provider_server):
    serve(provider_server, "anthropic")
    config = write_config(tmp_path, provider_server, ["openai", "anthropic"])
    run = aimux(tmp_path, config, "anthropic", "-f", "json", keys=keys_for("openai", "anthropic"))
    assert run.code == 0, run.stderr
    assert [p["name"] for p in run.report()["providers"]] == ["anthropic"]
    assert provider_server.count() == 3


def test_nothing_configured_is_exit_3_with_how_to(tmp_path):
    config = tmp_path / "empty.toml"
    config.write_text("")
    run = aimux(tmp_path, config, keys=())
    assert run.code == ExitCode.CONFIG and run.stdout == ""
    assert "nothing to check" in run.stderr and "OPENAI_API_KEY" in run.stderr and str(config) in run.stderr


def test_only_keyless_providers_is_exit_3(tmp_path):
    config = tmp_path / "groq.toml"
    config.write_text('[providers.groq]\nmodel = "llama-3.1-8b-instant"\n')
    run = aimux(tmp_path, config, keys=())
    assert run.code == ExitCode.CONFIG and "GROQ_API_KEY" in run.stderr and "--strict" in run.stderr


def test_an_unknown_name_is_exit_3(tmp_path):
    config = tmp_path / "empty.toml"
    config.write_text("")
    run = aimux(tmp_path, config, "nosuch")
    assert run.code == ExitCode.CONFIG and "unknown provider 'nosuch'" in run.stderr


def test_base_url_shows_no_credentials_or_query(tmp_path, provider_server):
    models, chat, _ = paths("openai")
    provider_server.route(models, models_reply("models-openai.json"))
    provider_server.route(chat, Reply.file("openai/chat-text.json"), Reply.file("openai/chat-text-stream.sse"))
    host = provider_server.url.removeprefix("http://")
    config = tmp_path / "c.toml"
    config.write_text(f'[providers.openai]\nbase_url = "http://{host}/oa/v1?tenant=t-{KEY}"\n')
    run = aimux(tmp_path, config, "-f", "json")
    assert run.provider("openai")["base_url"] == f"http://{host}/oa/v1"


def test_credentials_in_base_url_are_refused_without_echoing_them(tmp_path):
    # userinfo in a URL would make httpx send Basic auth instead of the key: config refuses it, exit 3
    config = tmp_path / "c.toml"
    config.write_text(f'[providers.openai]\nbase_url = "http://user:pw-{KEY}@127.0.0.1:9/oa/v1"\n')
    run = aimux(tmp_path, config, "openai")  # also greps every output for the key
    assert run.code == 3
    assert "must not contain credentials" in run.stderr


def test_a_failing_key_command_fails_that_provider_only(tmp_path):
    from aimux_cli import config as cfg

    path = tmp_path / "cmd.toml"
    path.write_text('[providers.vault]\nwire = "openai.chat"\nbase_url = "http://127.0.0.1:9/v1"\n'
                    'model = "m"\napi_key_env = "AIMUX_VAULT_KEY"\napi_key_cmd = ["false"]\n')
    env = {"AIMUX_CONFIG": str(path)}
    (target,) = health.plan(env=env, config=cfg.load(env=env))
    assert target.resolved is None and target.status == "fail"
    assert target.problem == "api_key_cmd 'false': exited with status 1"


# --- concurrency ------------------------------------------------------------------------------------------------------

DELAY = 1.0


def test_slow_providers_are_checked_concurrently(tmp_path, provider_server):
    listing = (DATA / "models-openai.json").read_bytes()
    names = ["slow1", "slow2", "slow3"]
    extra = ""
    for name in names:
        slow = Reply(200, {"content-type": "application/json"}, [(DELAY, listing)], "length")
        serve(provider_server, name, models=slow, kind="openai")
        extra += (f'[providers.{name}]\nwire = "openai.chat"\nbase_url = "{provider_server.url}/{name}/v1"\n'
                  f'api_key_env = "AIMUX_SLOW_KEY"\nmodel = "gpt-4.1-mini"\n\n')
    config = tmp_path / "slow.toml"
    config.write_text(extra)
    run = aimux(tmp_path, config, "-f", "json", "--timeout", str(2 * DELAY), keys=("AIMUX_SLOW_KEY",))
    assert run.code == 0, run.stdout + run.stderr
    assert all(run.provider(n)["checks"][0]["latency_ms"] >= DELAY * 900 for n in names)
    arrivals = sorted(s.t for s in provider_server.requests if s.path.endswith("/models"))
    assert len(arrivals) == 3
    # checked one after another, the second list request could only arrive after the first answer (DELAY later)
    assert arrivals[-1] < arrivals[0] + DELAY


# --- pure helpers -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "ids", "nxt"), [
    ({"data": [{"id": "a"}, {"id": "b"}]}, ["a", "b"], None),
    ({"data": [{"id": "a"}], "has_more": True, "last_id": "a"}, ["a"], {"after_id": "a"}),
    ({"models": [{"name": "models/g"}], "nextPageToken": "t1"}, ["models/g"], {"pageToken": "t1"}),
    ({"models": [{"name": "llama3.2:latest"}]}, ["llama3.2:latest"], None),
    ({"object": "list"}, None, None),
    ([1, 2], None, None),
])
def test_model_page_shapes(body, ids, nxt):
    assert health_checks.model_page(body) == (ids, nxt)


@pytest.mark.parametrize(("model", "listed", "ok"), [
    ("gpt-4.1-mini", ["gpt-4.1-mini"], True),
    ("gemini-2.5-flash", ["models/gemini-2.5-flash"], True),
    ("llama3.2", ["llama3.2:latest"], True),
    ("claude-sonnet-4-5", ["claude-sonnet-4-5-20250929"], True),
    ("claude-3-7-sonnet-latest", ["claude-3-7-sonnet-20250219"], True),
    ("gpt-4.1", ["gpt-4.1-mini"], False),
    ("gpt-4.1", ["gpt-4.1-2025-04-14-preview"], False),
    ("llama3.2", ["llama3.2:1b"], False),
])
def test_model_listed_aliases(model, listed, ok):
    assert health_checks.model_listed(model, listed) is ok


# --- report details, -o, and the live view on a terminal (issue 10) --------------------------------------------------


@pytest.mark.parametrize(("reply", "status", "category"), [
    (Reply.json({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}, status=429), 429,
     "rate_limit"),
    (Reply.json({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, status=529), 529,
     "provider"),
    # an error inside a 200 body: the provider's error type decides, by the table of errors.py
    (Reply.json({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}), 200,
     "auth"),
])
def test_a_failed_check_reports_its_http_status_and_category(tmp_path, provider_server, reply, status, category):
    serve(provider_server, "anthropic", complete=reply)
    config = write_config(tmp_path, provider_server, ["anthropic"])
    run = aimux(tmp_path, config, "-f", "json", keys=keys_for("anthropic"))
    assert run.code == ExitCode.CHECK_FAILED, run.stderr
    check = run.provider("anthropic")["checks"][1]
    assert (check["status"], check["http_status"], check["category"]) == ("fail", status, category)
    assert run.provider("anthropic")["checks"][0]["http_status"] == 200


def test_a_stream_without_its_terminal_event_is_categorized_incomplete(tmp_path, provider_server):
    serve(provider_server, "openai", stream=Reply.file("openai/chat-stream-truncated.sse"))
    config = write_config(tmp_path, provider_server, ["openai"])
    check = aimux(tmp_path, config, "-f", "json").provider("openai")["checks"][2]
    assert (check["category"], check["http_status"]) == ("incomplete", 200)


def test_a_skipped_provider_says_why_in_its_category(tmp_path, provider_server):
    serve(provider_server, "openai")
    config = write_config(tmp_path, provider_server, ["openai"])
    run = aimux(tmp_path, config, "-f", "json", "openai", "anthropic")
    check = run.provider("anthropic")["checks"][0]
    assert (check["status"], check["category"], check["started_at"]) == ("skip", "config", None)


@pytest.mark.parametrize("where", ["missing-dir/report.json", "."])
def test_an_unwritable_output_file_is_one_line_and_exit_1(tmp_path, provider_server, where):
    serve(provider_server, "openai")
    config = write_config(tmp_path, provider_server, ["openai"])
    target = tmp_path / where
    run = aimux(tmp_path, config, "-f", "json", "-o", str(target))
    assert run.code == 1
    assert run.stderr.count("\n") == 1 and run.stderr.startswith(f"aimux: error: {target}: cannot write: ")
    assert run.report()["passed"] == 1  # the report was still written to stdout first


def test_piped_output_has_no_spinner_or_progress(tmp_path, provider_server):
    config = write_config(tmp_path, provider_server, ["openai"])
    for args in ([], ["-f", "rich"]):
        serve(provider_server, "openai")  # afresh: the completion and the stream share a path
        run = aimux(tmp_path, config, *args)
        assert run.code == 0 and run.stderr == ""
        assert "\r" not in run.stdout and "\x1b" not in run.stdout


def test_on_a_terminal_rows_appear_as_each_provider_finishes(tmp_path, provider_server):
    """openai answers at once; anthropic's model list is held until openai's row is on the screen."""
    import threading

    import pyte

    gate = threading.Event()

    class Held(list):  # the body waits for the gate (the server's lock is not held while a body is sent)
        def __iter__(self):
            gate.wait(60)
            return super().__iter__()

    held = Reply(200, {"content-type": "application/json"},
                 Held([(0.0, (DATA / "models-anthropic.json").read_bytes())]), "chunked")
    serve(provider_server, "openai")
    serve(provider_server, "anthropic", models=held)
    config = write_config(tmp_path, provider_server, ["openai", "anthropic"])
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "AIMUX_CONFIG": str(config),
           "COLUMNS": "120", "LINES": "40", "TERM": "xterm-256color", "PYTHONIOENCODING": "utf-8",
           "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1",
           **{k: KEY for k in keys_for("openai", "anthropic")}}
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "aimux_cli", "test-providers"], stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave, cwd=ROOT, env=env)
    os.close(slave)
    received = b""

    def more() -> bytes:
        """The next bytes on the terminal; b"" once the child has ended and left nothing to read (a read would
        block for ever if another process still held the terminal open)."""
        while True:
            if select.select([master], [], [], 0.5)[0]:
                try:
                    return os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    return b""
            if proc.poll() is not None:
                return b""

    try:
        while b"openai" not in received.split(b"provider", 1)[-1]:  # openai's row, below the header
            chunk = more()
            assert chunk, (proc.poll(), received.decode(errors="replace"))
            received += chunk
        assert not gate.is_set() and proc.poll() is None  # anthropic is still being checked
        assert "checking 2 providers".encode() in received  # the spinner, on the same terminal (stderr)
        gate.set()
        while chunk := more():
            received += chunk
    finally:
        gate.set()
        os.close(master)
    assert proc.wait(timeout=60) == 0, received.decode(errors="replace")
    assert KEY.encode() not in received
    screen = pyte.Screen(120, 40)
    pyte.Stream(screen).feed(received.decode().replace("\n", "\r\n"))
    lines = [line.rstrip() for line in screen.display if line.strip()]
    assert lines[0].split() == ["provider", "┃", "model", "┃", "status", "┃", "models", "┃", "complete", "┃",
                                "stream", "┃", "error"]
    rows = [line for line in lines if line.startswith(("openai", "anthropic"))]
    assert [r.split()[0] for r in rows] == ["openai", "anthropic"]  # in the order they finished
    assert all(r.count("✓") == 4 for r in rows)
    assert lines[-1] == "2 passed, 0 failed, 0 skipped"
    assert not any("checking" in line for line in lines)  # the spinner left nothing behind


def test_json_on_a_terminal_shows_the_spinner_then_only_the_report(tmp_path, provider_server):
    import pyte

    serve(provider_server, "openai")
    config = write_config(tmp_path, provider_server, ["openai"])
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "AIMUX_CONFIG": str(config),
           "COLUMNS": "120", "LINES": "60", "TERM": "xterm-256color", "PYTHONIOENCODING": "utf-8",
           "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1", "OPENAI_API_KEY": KEY}
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "aimux_cli", "test-providers", "-f", "json"],
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, cwd=ROOT, env=env)
    os.close(slave)
    received = read_terminal(master, 60)
    assert proc.wait(timeout=60) == 0, received.decode(errors="replace")
    assert b"checking 1 provider: " in received
    screen = pyte.Screen(120, 60)
    pyte.Stream(screen).feed(received.decode().replace("\n", "\r\n"))
    text = "\n".join(line.rstrip() for line in screen.display).strip()
    assert json.loads(text)["passed"] == 1  # the screen holds the report alone


# --- leftovers of issues 9 and 10: --debug, the unknown-name list, the timeout's value -------------------------------


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_logs_the_exchange_through_the_redacting_filter(tmp_path, provider_server, where):
    """--debug installed its log handler only inside `ask`: test-providers showed a traceback on failure at most,
    never the request and response lines that client.py logs."""
    echo = {"error": {"type": "invalid_request_error", "message": f"Incorrect API key provided: {KEY}."}}
    serve(provider_server, "openai", models=Reply.json(echo, status=401, headers={"x-echo": f"Bearer {KEY}"}))
    config = write_config(tmp_path, provider_server, ["openai"])
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "AIMUX_CONFIG": str(config),
           "NO_PROXY": "127.0.0.1", "OPENAI_API_KEY": KEY}
    args = ["--debug", "test-providers", "-f", "json"] if where == "before" else ["test-providers", "-f", "json",
                                                                                   "--debug"]
    proc = subprocess.run([sys.executable, "-m", "aimux_cli", *args], capture_output=True, cwd=ROOT, env=env,
                          timeout=120)  # a guard against a hung test, not an assertion
    err = proc.stderr.decode()
    assert proc.returncode == ExitCode.CHECK_FAILED, err
    assert KEY not in err and KEY[-12:] not in err and KEY.encode() not in proc.stdout
    lines = [line.split("aimux.client: ", 1)[1] for line in err.splitlines() if "aimux: debug: aimux.client: " in line]
    assert lines[0] == f"> GET {provider_server.url}/oa/v1/models (attempt 1)"
    assert lines[1].startswith("> headers: ") and "authorization: [REDACTED];" in lines[1]
    assert lines[2].startswith("< HTTP 401 ")
    assert "x-echo: Bearer [REDACTED];" in lines[3]
    assert lines[4].startswith("< body (") and "Incorrect API key provided: [REDACTED]" in lines[4]


def test_an_unknown_name_lists_a_few_known_names_not_all(tmp_path):
    """Issue 9 (11): the unknown-provider message of test-providers listed every provider of a huge config."""
    config = tmp_path / "many.toml"
    config.write_text("".join(f'[providers.p{i:05d}]\nwire = "openai.chat"\nbase_url = "http://127.0.0.1:9/v1"\n'
                              for i in range(2000)))
    run = aimux(tmp_path, config, "nosuch")
    assert run.code == ExitCode.CONFIG and "unknown provider 'nosuch'" in run.stderr
    assert run.stderr.count("\n") == 1 and len(run.stderr) < 400, run.stderr[:500]
    assert re.search(r" and \d+ more\)$", run.stderr.strip()), run.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_a_timeout_that_is_not_a_finite_number_is_a_usage_error(tmp_path, value):
    """`-t nan` passed Click's min=0.001 (nan compares false) and `-t inf` waited forever."""
    config = tmp_path / "empty.toml"
    config.write_text("")
    run = aimux(tmp_path, config, "-t", value, "openai")
    assert run.code == ExitCode.USAGE, run.stderr
    first, *rest = run.stderr.splitlines()  # Click's own range errors add a "Try ... --help" line
    assert first.startswith("aimux: error: ") and "--timeout" in first and len(rest) <= 1 and run.stdout == ""
