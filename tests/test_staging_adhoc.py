"""test-providers against an ad-hoc target (issue 13): `--base-url URL --wire W [--model M] [--key-env VAR]
[--name N]`, a staging gateway checked without any config file, on the loopback provider server."""

from __future__ import annotations

import pytest

from provider_server import Reply
from test_test_providers import DATA, KEY, aimux, serve

GATEWAY = "/gw/v1"


def gateway(server, **replies) -> str:
    """The openai fixtures served under /gw/v1 with KEY as the bearer token; the base URL."""
    serve(server, "gw", kind="openai", **replies)
    return server.url + GATEWAY


def test_an_adhoc_target_is_checked_without_a_config(tmp_path, provider_server):
    url = gateway(provider_server)
    missing = tmp_path / "no-such-config.toml"  # AIMUX_CONFIG names a missing file: not read at all
    run = aimux(tmp_path, missing, "-f", "json", "--base-url", url, "--wire", "openai.chat", "--model",
                "gpt-4.1-mini", "--key-env", "GW_KEY", keys=("GW_KEY",))
    assert run.code == 0, run.stderr
    (p,) = run.report()["providers"]
    host = provider_server.url.removeprefix("http://")
    assert (p["name"], p["model"], p["base_url"], p["status"]) == (host, "gpt-4.1-mini", url, "pass")
    assert [c["status"] for c in p["checks"]] == ["pass", "pass", "pass"]
    assert all(s.headers["authorization"] == f"Bearer {KEY}" for s in provider_server.requests)


def test_without_model_the_first_listed_model_is_checked_and_named(tmp_path, provider_server):
    url = gateway(provider_server)
    run = aimux(tmp_path, tmp_path / "none.toml", "-f", "json", "--base-url", url, "--wire", "openai.chat",
                "--key-env", "GW_KEY", "--name", "staging", keys=("GW_KEY",))
    assert run.code == 0, run.stderr
    p = run.provider("staging")
    assert p["model"] == "gpt-4.1-mini"  # the first id of the list
    chat = [s for s in provider_server.requests if s.method == "POST"]
    assert [s.json()["model"] for s in chat] == ["gpt-4.1-mini", "gpt-4.1-mini"]


def test_an_empty_model_list_without_model_fails_saying_to_name_one(tmp_path, provider_server):
    url = gateway(provider_server, models=Reply.json({"object": "list", "data": []}))
    run = aimux(tmp_path, tmp_path / "none.toml", "-f", "json", "--base-url", url, "--wire", "openai.chat",
                "--key-env", "GW_KEY", keys=("GW_KEY",))
    assert run.code == 10
    first = run.report()["providers"][0]["checks"][0]
    assert first["status"] == "fail" and "--model" in first["error"]
    assert [s.method for s in provider_server.requests] == ["GET"]  # nothing sent without a model


def test_a_keyless_adhoc_target_sends_no_credential(tmp_path, provider_server):
    serve(provider_server, "ollama")
    run = aimux(tmp_path, tmp_path / "none.toml", "-f", "json", "--base-url", provider_server.url + "/ol",
                "--wire", "ollama.chat", "--model", "llama3.2", keys=())
    assert run.code == 0, run.stderr
    assert all("authorization" not in s.headers for s in provider_server.requests)


def test_an_adhoc_target_takes_checks_and_budgets(tmp_path, provider_server):
    url = gateway(provider_server)
    saved = tmp_path / "r.xml"
    run = aimux(tmp_path, tmp_path / "none.toml", "--base-url", url, "--wire", "openai.chat", "-m", "gpt-4.1-mini",
                "--key-env", "GW_KEY", "--checks", "stream,models", "--max-ttft", "600000", "-f", "junit",
                "-o", str(saved), keys=("GW_KEY",), saved=saved)
    assert run.code == 0, run.stderr
    assert '<testcase classname="127.0.0.1' in saved.read_text() and 'name="complete"' not in saved.read_text()


def test_an_unset_key_variable_is_exit_3_naming_it(tmp_path, provider_server):
    run = aimux(tmp_path, tmp_path / "none.toml", "--base-url", provider_server.url + GATEWAY, "--wire",
                "openai.chat", "--key-env", "GW_KEY", keys=())
    assert run.code == 3 and "GW_KEY" in run.stderr and run.stderr.count("\n") == 1


@pytest.mark.parametrize(("args", "says"), [
    (["--base-url", "http://127.0.0.1:9/v1"], "--wire"),
    (["--base-url", "http://127.0.0.1:9/v1", "--wire", "soap"], "soap"),
    (["--wire", "openai.chat"], "--base-url"),
    (["--model", "m"], "--base-url"),
    (["openai", "--base-url", "http://127.0.0.1:9/v1", "--wire", "openai.chat"], "not both"),
    (["--base-url", "ftp://x", "--wire", "openai.chat"], "--base-url"),
    (["--base-url", "http://127.0.0.1:9/v1", "--wire", "openai.chat", "--checks", "complete"], "--model"),
    (["--checks", "models,bogus"], "bogus"),
])
def test_contradictory_or_bad_adhoc_options_are_usage_errors(tmp_path, args, says):
    run = aimux(tmp_path, tmp_path / "none.toml", *args)
    assert run.code == 2, run.stderr
    assert says in run.stderr and run.stderr.count("\n") == 1 and "Traceback" not in run.stderr


def test_models_page_fixture_is_the_one_the_first_model_comes_from():
    assert '"id": "gpt-4.1-mini"' in (DATA / "models-openai.json").read_text().split("\n")[1]
