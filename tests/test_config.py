"""Catalog, config file, key resolution and request building (providers.py, config.py, request.py).

Config snippets are one- to three-line TOML tables in the parametrize lists, written to tmp_path per test.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from aimux_cli import config, request
from aimux_cli.config import Config, ResolvedProvider
from aimux_cli.errors import AimuxError, ConfigError, ExitCode
from aimux_cli.providers import AUTH_STYLES, CATALOG, WIRES

KEY = "sk-aimux-test-CONFIG-5b1e0c"
ALL_BUILTINS = {"cerebras", "openai", "anthropic", "synthetic", "nanogpt", "groq", "openrouter", "deepseek", "gemini",
                "ollama", "bedrock", "cohere", "mistral", "vertex"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def resolve_with(tmp_path: Path, text: str, name: str | None, env: dict | None = None, **overrides) -> ResolvedProvider:
    path = write(tmp_path, text)
    return config.resolve(name, overrides, env=env or {}, config=config.load(path, env={}))


def empty_config(tmp_path: Path) -> Config:
    return Config(tmp_path / "none.toml", exists=False)


# --- catalog ---------------------------------------------------------------------------------------------------


def test_catalog_has_every_builtin_provider_with_valid_fields():
    assert set(CATALOG) == ALL_BUILTINS
    for name, row in CATALOG.items():
        assert row.name == name
        assert row.wire in WIRES and row.auth in AUTH_STYLES
        assert row.default_model
        assert not row.base_url.endswith("/")
        if name == "ollama":
            assert (row.key_env, row.auth, row.base_url) == (None, "none", "http://localhost:11434")
        elif name == "bedrock":  # AWS's own key variable; the region from the environment
            assert (row.key_env, row.auth) == ("AWS_BEARER_TOKEN_BEDROCK", "bearer")
            assert row.base_url == "https://bedrock-runtime.{region}.amazonaws.com"
        elif name == "vertex":  # an OAuth token from gcloud, the project from the environment
            assert (row.key_env, row.auth, row.key_cmd) == (None, "bearer", ("gcloud", "auth", "print-access-token"))
        else:
            assert row.base_url.startswith("https://") and row.key_env and row.key_env.endswith("_API_KEY")


@pytest.mark.parametrize(
    ("name", "wire", "auth"),
    [("anthropic", "anthropic.messages", "x-api-key"), ("gemini", "gemini.generate", "x-goog-api-key"),
     ("groq", "openai.chat", "bearer"), ("synthetic", "openai.chat", "bearer")],
)
def test_catalog_wires_and_auth(name, wire, auth):
    assert (CATALOG[name].wire, CATALOG[name].auth) == (wire, auth)


# --- where the config file is ------------------------------------------------------------------------------------


def test_config_path_prefers_aimux_config(tmp_path):
    env = {"AIMUX_CONFIG": str(tmp_path / "x.toml"), "XDG_CONFIG_HOME": "/elsewhere", "HOME": "/home/u"}
    assert config.config_path(env) == tmp_path / "x.toml"


def test_config_path_uses_xdg_then_home():
    assert config.config_path({"XDG_CONFIG_HOME": "/xdg", "HOME": "/home/u"}) == Path("/xdg/aimux/config.toml")
    assert config.config_path({"XDG_CONFIG_HOME": "relative", "HOME": "/home/u"}) == Path(
        "/home/u/.config/aimux/config.toml"
    )
    assert config.config_path({"AIMUX_CONFIG": "", "HOME": "/home/u"}) == Path("/home/u/.config/aimux/config.toml")


def test_missing_default_file_is_empty_but_missing_aimux_config_is_an_error(tmp_path):
    cfg = config.load(env={"HOME": str(tmp_path)})
    assert not cfg.exists and cfg.providers == {}
    with pytest.raises(ConfigError, match="config file not found"):
        config.load(env={"AIMUX_CONFIG": str(tmp_path / "missing.toml")})


# --- resolution --------------------------------------------------------------------------------------------------


def test_resolve_builtin_from_environment(tmp_path):
    r = config.resolve("groq", env={"GROQ_API_KEY": KEY}, config=empty_config(tmp_path))
    assert (r.name, r.wire, r.base_url, r.model) == ("groq", "openai.chat", CATALOG["groq"].base_url,
                                                     CATALOG["groq"].default_model)
    assert r.api_key == KEY and r.timeout == config.DEFAULT_TIMEOUT
    assert KEY not in repr(r) and KEY not in str(r)


def test_missing_key_names_the_variable_and_the_file(tmp_path):
    with pytest.raises(ConfigError) as info:
        config.resolve("anthropic", env={}, config=empty_config(tmp_path))
    assert info.value.exit_code == ExitCode.CONFIG
    assert "provider anthropic needs an API key: set ANTHROPIC_API_KEY" in str(info.value)
    assert str(tmp_path / "none.toml") in str(info.value)


def test_ollama_needs_no_key(tmp_path):
    r = config.resolve("ollama", env={}, config=empty_config(tmp_path))
    assert r.api_key is None and r.auth == "none"


def test_unknown_provider_lists_known_names(tmp_path):
    with pytest.raises(ConfigError) as info:
        config.resolve("nope", env={}, config=empty_config(tmp_path))
    assert "unknown provider 'nope'" in str(info.value)
    assert all(name in str(info.value) for name in ALL_BUILTINS)


def test_no_provider_and_no_default_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="no provider chosen"):
        config.resolve(None, env={}, config=empty_config(tmp_path))


def test_table_overrides_builtin_row(tmp_path):
    text = ('default_provider = "groq"\n[providers.groq]\nmodel = "m-1"\nbase_url = "http://127.0.0.1:9/v1/"\n'
            'timeout = 7\nheaders = { X-Extra = "yes" }\n')
    r = resolve_with(tmp_path, text, None, {"GROQ_API_KEY": KEY})
    assert (r.name, r.model, r.base_url, r.timeout) == ("groq", "m-1", "http://127.0.0.1:9/v1", 7.0)
    assert r.headers == {"x-extra": "yes"} and r.wire == "openai.chat"


def test_table_adds_new_provider(tmp_path):
    text = '[providers.local]\nwire = "ollama.chat"\nbase_url = "http://127.0.0.1:11435"\nmodel = "tiny"\n'
    r = resolve_with(tmp_path, text, "local")
    assert (r.wire, r.auth, r.api_key, r.model) == ("ollama.chat", "none", None, "tiny")


def test_new_provider_with_key_variable(tmp_path):
    text = ('[providers.corp]\nwire = "anthropic.messages"\nbase_url = "https://llm.corp.example/v1"\n'
            'api_key_env = "CORP_KEY"\nmodel = "c"\n')
    r = resolve_with(tmp_path, text, "corp", {"CORP_KEY": KEY})
    assert (r.auth, r.api_key) == ("x-api-key", KEY)
    with pytest.raises(ConfigError, match="set CORP_KEY"):
        resolve_with(tmp_path, text, "corp", {})


def test_new_provider_without_model_needs_model(tmp_path):
    text = '[providers.local]\nwire = "openai.chat"\nbase_url = "http://127.0.0.1:8080/v1"\n'
    with pytest.raises(ConfigError, match="no default model"):
        resolve_with(tmp_path, text, "local")
    assert resolve_with(tmp_path, text, "local", model="given").model == "given"


def test_empty_api_key_env_turns_the_key_off(tmp_path):
    r = resolve_with(tmp_path, '[providers.openai]\napi_key_env = ""\n', "openai")
    assert r.api_key is None


def test_overrides_win_over_config(tmp_path):
    text = '[providers.groq]\nmodel = "m-1"\ntimeout = 7\n'
    r = resolve_with(tmp_path, text, "groq", {"GROQ_API_KEY": KEY}, model="m-2", base_url="http://h:1/x", timeout=3)
    assert (r.model, r.base_url, r.timeout) == ("m-2", "http://h:1/x", 3.0)
    with pytest.raises(ConfigError, match="--base-url"):
        resolve_with(tmp_path, text, "groq", {"GROQ_API_KEY": KEY}, base_url="ftp://x")


def test_resolve_is_cached_per_process(tmp_path, monkeypatch):
    path = write(tmp_path, '[providers.groq]\nmodel = "first"\n')
    monkeypatch.setenv("AIMUX_CONFIG", str(path))
    monkeypatch.setenv("GROQ_API_KEY", KEY)
    config.clear_cache()
    try:
        assert config.resolve("groq").model == "first"
        path.write_text('[providers.groq]\nmodel = "second"\n')
        assert config.resolve("groq").model == "first"
        config.clear_cache()
        assert config.resolve("groq").model == "second"
    finally:
        config.clear_cache()


# --- api_key_cmd -------------------------------------------------------------------------------------------------


def cmd_table(code: str) -> str:
    argv = [sys.executable, "-c", code]
    return f"[providers.groq]\napi_key_cmd = {json.dumps(argv)}\n"  # a JSON array of strings is valid TOML


def test_api_key_cmd_output_is_the_key(tmp_path):
    r = resolve_with(tmp_path, cmd_table(f"print('  {KEY}  ')"), "groq")
    assert r.api_key == KEY


def test_environment_key_wins_over_command(tmp_path):
    r = resolve_with(tmp_path, cmd_table("import sys; sys.exit(3)"), "groq", {"GROQ_API_KEY": "env-key-123"})
    assert r.api_key == "env-key-123"


@pytest.mark.parametrize(
    ("code", "problem"),
    [(f"import sys; print('{KEY}'); sys.exit(3)", "exited with status 3"), ("pass", "printed no key")],
)
def test_api_key_cmd_failure_names_provider_and_hides_output(tmp_path, code, problem):
    with pytest.raises(ConfigError) as info:
        resolve_with(tmp_path, cmd_table(code), "groq")
    assert "provider groq" in str(info.value) and problem in str(info.value)
    assert KEY not in str(info.value) and KEY not in repr(info.value)


def test_api_key_cmd_not_found_and_timeout(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="command not found"):
        resolve_with(tmp_path, '[providers.groq]\napi_key_cmd = "/nonexistent/aimux-key-helper get"\n', "groq")
    monkeypatch.setattr(config, "KEY_CMD_TIMEOUT", 0.2)
    with pytest.raises(ConfigError, match="no answer within 0.2 s"):
        resolve_with(tmp_path, cmd_table("import time; time.sleep(5)"), "groq")


# --- config errors -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("default_provider = \n", "invalid TOML: "),
        ("[providers.groq]\nmodel = 'a'\nmodel = 'b'\n", "(at line 3, column"),
        ("colour = 'red'\n", "unknown key 'colour'"),
        ("default_provider = 3\n", "default_provider: expected a provider name, got an integer"),
        ("default_provider = 'nowhere'\n", "default_provider: unknown provider 'nowhere'"),
        ("providers = 'x'\n", "providers: expected a table"),
        ("[providers]\ngroq = 1\n", "providers.groq: expected a table, got an integer"),
        ("[providers.groq]\nmodle = 'x'\n", "providers.groq: unknown key 'modle'"),
        ("[providers.groq]\nwire = 'openai.chatt'\n", "providers.groq.wire: unknown wire format 'openai.chatt'"),
        ("[providers.groq]\nauth = 'basic'\n", "providers.groq.auth: unknown auth style 'basic'"),
        ("[providers.groq]\nmodel = 5\n", "providers.groq.model: expected a string, got an integer"),
        ("[providers.groq]\nmodel = ''\n", "providers.groq.model: expected a model name"),
        ("[providers.groq]\ntimeout = true\n", "providers.groq.timeout: expected a positive number of seconds, got a"),
        ("[providers.groq]\ntimeout = -1\n", "providers.groq.timeout: expected a positive number of seconds, got -1"),
        ("[providers.groq]\ntimeout = '5'\n", "providers.groq.timeout: expected a positive number of seconds"),
        ("[providers.groq]\nbase_url = 'api.groq.com'\n", "providers.groq.base_url: expected an http:// or https://"),
        ("[providers.groq]\nbase_url = 'https://u:s3cret@api.groq.com'\n",
         "providers.groq.base_url: the URL must not contain credentials"),
        ("[providers.groq]\nheaders = 'x'\n", "providers.groq.headers: expected a table"),
        ("[providers.groq]\nheaders = { X-A = 1 }\n", "providers.groq.headers.X-A: expected a one-line string"),
        ("[providers.groq]\nheaders = { 'a b' = 'x' }\n", "providers.groq.headers: invalid header name 'a b'"),
        ("[providers.groq]\napi_key_cmd = 3\n", "providers.groq.api_key_cmd: expected a command string or a list"),
        ("[providers.groq]\napi_key_cmd = []\n", "providers.groq.api_key_cmd: the command is empty"),
        ("[providers.groq]\napi_key_cmd = 'pass \"open'\n", "providers.groq.api_key_cmd: cannot split"),
        ("[providers.mine]\nmodel = 'x'\n", "providers.mine: a new provider needs both 'wire' and 'base_url'"),
    ],
)
def test_config_errors_are_one_line_and_name_file_and_key(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        config.load(path, env={})
    message = str(info.value)
    assert info.value.exit_code == ExitCode.CONFIG
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert expected in message
    assert "s3cret" not in message  # a credential in a bad value is never echoed


def test_non_utf8_config(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes(b"model = '\xff'\n")
    with pytest.raises(ConfigError, match="not valid UTF-8"):
        config.load(path, env={})


# --- request building --------------------------------------------------------------------------------------------


def resolved(name: str, **changes) -> ResolvedProvider:
    row = CATALOG[name]
    fields = dict(name=name, wire=row.wire, base_url="http://127.0.0.1:1/base", model="m", api_key=KEY,
                  headers=dict(row.headers), timeout=5.0, auth=row.auth, key_env=row.key_env, config_path="c.toml")
    fields.update(changes)
    if fields["auth"] == "none":
        fields["api_key"] = None
    return ResolvedProvider(**fields)


def test_openai_chat_request():
    p = request.build(resolved("openai"), prompt="hi", system="be brief", temperature=0.2, max_tokens=50)
    assert (p.method, p.url) == ("POST", "http://127.0.0.1:1/base/chat/completions")
    assert p.headers["authorization"] == f"Bearer {KEY}" and p.headers["content-type"] == "application/json"
    assert p.json_body == {
        "model": "m", "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        "stream": True, "stream_options": {"include_usage": True}, "temperature": 0.2, "max_completion_tokens": 50,
    }
    groq = request.build(resolved("groq"), prompt="hi", max_tokens=50, stream=False)
    assert groq.json_body == {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": False,
                              "max_tokens": 50}


def test_anthropic_request_has_version_default_max_tokens_and_top_level_system():
    msgs = [{"role": "system", "content": "s1"}, {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"},
            {"role": "user", "content": "q2"}]
    p = request.build(resolved("anthropic"), messages=msgs, system="s0")
    assert p.url == "http://127.0.0.1:1/base/messages"
    assert p.headers["x-api-key"] == KEY and "authorization" not in p.headers
    assert p.headers["anthropic-version"] == "2023-06-01"
    assert p.json_body == {"model": "m", "max_tokens": 4096, "system": "s0\n\ns1", "stream": True,
                           "messages": msgs[1:]}
    assert "stream" not in request.build(resolved("anthropic"), prompt="q", stream=False, max_tokens=9).json_body


def test_gemini_request_keeps_the_key_out_of_the_url():
    p = request.build(resolved("gemini", model="models/gemini-x"), prompt="q", system="s", temperature=0.5,
                      max_tokens=10)
    assert p.url == "http://127.0.0.1:1/base/models/gemini-x:streamGenerateContent?alt=sse"
    assert KEY not in p.url and p.headers["x-goog-api-key"] == KEY
    assert p.json_body == {"contents": [{"role": "user", "parts": [{"text": "q"}]}],
                           "systemInstruction": {"parts": [{"text": "s"}]},
                           "generationConfig": {"temperature": 0.5, "maxOutputTokens": 10}}
    plain = request.build(resolved("gemini"), messages=[{"role": "assistant", "content": "a"}], stream=False)
    assert plain.url.endswith("/models/m:generateContent")
    assert plain.json_body["contents"][0]["role"] == "model"


def test_ollama_request():
    p = request.build(resolved("ollama"), prompt="q", temperature=0.1, max_tokens=7, stream=False)
    assert p.url == "http://127.0.0.1:1/base/api/chat"
    assert not any(request.is_secret_header(h) for h in p.headers)
    assert p.json_body == {"model": "m", "messages": [{"role": "user", "content": "q"}], "stream": False,
                           "options": {"temperature": 0.1, "num_predict": 7}}


def test_openai_responses_request():
    p = request.build(resolved("openai", wire="openai.responses"), prompt="q", system="s", max_tokens=9)
    assert p.url.endswith("/responses")
    assert p.json_body == {"model": "m", "input": [{"role": "user", "content": "q"}], "stream": True,
                           "instructions": "s", "max_output_tokens": 9}


def test_config_headers_merge_and_auth_wins():
    r = resolved("openrouter", headers={"x-title": "mine", "authorization": "spoof"})
    p = request.build(r, prompt="q", model="other")
    assert p.headers["x-title"] == "mine" and p.headers["authorization"] == f"Bearer {KEY}"
    assert p.json_body["model"] == "other"


@pytest.mark.parametrize(
    ("name", "wire", "path"),
    [("openai", "openai.chat", "/models"), ("anthropic", "anthropic.messages", "/models"),
     ("gemini", "gemini.generate", "/models"), ("ollama", "ollama.chat", "/api/tags")],
)
def test_models_request(name, wire, path):
    p = request.models_request(resolved(name))
    assert (p.method, p.url, p.json_body) == ("GET", "http://127.0.0.1:1/base" + path, None)
    assert wire == CATALOG[name].wire


def test_bad_build_arguments():
    with pytest.raises(ValueError):
        request.build(resolved("openai"), prompt="a", messages=[])
    with pytest.raises(ValueError):
        request.build(resolved("openai"), messages=[{"role": "tool", "content": "x"}])


# --- secrets helpers ---------------------------------------------------------------------------------------------


def test_prepared_request_repr_hides_credentials():
    for name in ("openai", "anthropic", "gemini"):
        p = request.build(resolved(name, base_url="https://user:pw@h.example/v1?token=abc"), prompt="q")
        text = repr(p) + str(p)
        assert KEY not in text and "pw" not in text and "token=abc" not in text and "[REDACTED]" in text


def test_redact_and_safe_url():
    assert request.redact(f"bad key {KEY}!", [KEY, None, ""]) == "bad key [REDACTED]!"
    assert request.redact("short ab", ["ab"]) == "short ab"
    assert request.redact_bytes(KEY.encode() * 2, [KEY]) == b"[REDACTED][REDACTED]"
    assert request.safe_url("https://u:p@h.example:8443/v1/x?key=s#f") == "https://h.example:8443/v1/x"
    assert request.safe_url("http://[::1]:80/p?q") == "http://[::1]:80/p"
    assert request.redact_headers({"X-Goog-Api-Key": "k", "Authorization": "Bearer k", "X-My-Token": "t",
                                   "accept": "a"}) == {"X-Goog-Api-Key": "[REDACTED]", "Authorization": "[REDACTED]",
                                                       "X-My-Token": "[REDACTED]", "accept": "a"}


@pytest.mark.parametrize(("base", "path", "url"), [
    ("https://x.example/v1", "/chat/completions", "https://x.example/v1/chat/completions"),
    ("https://x.example/v1/", "/models", "https://x.example/v1/models"),
    ("https://az.example/openai/deployments/d?api-version=2024-10-21", "/chat/completions",
     "https://az.example/openai/deployments/d/chat/completions?api-version=2024-10-21"),
    ("https://g.example/v1beta?k=1", "/models/m:streamGenerateContent?alt=sse",
     "https://g.example/v1beta/models/m:streamGenerateContent?alt=sse&k=1"),
])
def test_endpoint_paths_join_the_base_url_before_its_query(base, path, url):
    assert request.join_url(base, path) == url


# --- hostile configs: every problem is exit 3, one line, naming the key (issue 9, defects 9 and 11) --------------


NEW = "[providers.x]\nwire = 'openai.chat'\napi_key_env = ''\nmodel = 'm'\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (NEW + "base_url = 'http://127.0.0.1:99999/v1'\n", "providers.x.base_url: invalid URL"),
        (NEW + "base_url = 'http://127.0.0.1:abc/v1'\n", "providers.x.base_url: invalid URL"),
        (NEW + "base_url = 'http://h.example:0/v1'\n", "the port must be a number from 1 to 65535"),
        (NEW + "base_url = 'http://[::1/v1'\n", "providers.x.base_url: invalid URL"),
        (NEW + "base_url = 'http://[v1.x]/v1'\n", "invalid IP address"),
        (NEW + "base_url = 'http://999.1.1.1/v1'\n", "invalid IP address"),
        (NEW + "base_url = 'http://01.2.3.4/v1'\n", "invalid IP address"),
        (NEW + "base_url = 'http://xn--/v1'\n", "invalid international host name"),
        (NEW + "base_url = 'http://\u2603.example/v1'\n", "invalid international host name"),
        (NEW + f"base_url = 'http://{'a' * 64}.example/v1'\n", "longer than 63 characters"),
        (NEW + "base_url = 'http://a..b/v1'\n", "label is empty"),
        (NEW + "base_url = 'http://:80/v1'\n", "the URL has no host"),
        (NEW + "base_url = 'ftp://h.example/v1'\n", "expected an http:// or https:// URL"),
        (NEW + 'base_url = "http://h.example/v1\\u0007"\n', "a space or a control character"),
        (NEW + "base_url = 'http://127.0.0.1/v1'\ntimeout = nan\n", "providers.x.timeout: expected a positive number"),
        (NEW + "base_url = 'http://127.0.0.1/v1'\ntimeout = -inf\n", "providers.x.timeout: expected a positive"),
        (NEW + "base_url = 'http://127.0.0.1/v1'\ntimeout = inf\n", "providers.x.timeout: expected at most 86400"),
        (NEW + "base_url = 'http://127.0.0.1/v1'\ntimeout = 1e300\n", "providers.x.timeout: expected at most"),
        (NEW + "base_url = 'http://127.0.0.1/v1'\ntimeout = " + "9" * 5000 + "\n", "a number with too many digits"),
        (NEW + "base_url = 'http://127.0.0.1/v1'\nheaders = { X-A = 'caf\u00e9' }\n", "headers.X-A: the value must be"),
        (NEW + "base_url = 'http://127.0.0.1/v1'\nheaders = { X-A = \"a\\u0000b\" }\n", "headers.X-A: the value must"),
        (NEW + "base_url = 'http://127.0.0.1/v1'\nheaders = { 'X\u00e9' = 'a' }\n", "invalid header name"),
        (NEW + "base_url = 'http://127.0.0.1/v1'\nheaders = { 'X(A)' = 'a' }\n", "invalid header name"),
        ("default_provider = " + "[" * 5000 + "]" * 5000 + "\n", "invalid TOML: values nested too deeply"),
        ("default_provider = " + "{a=" * 5000 + "1" + "}" * 5000 + "\n", "invalid TOML: values nested too deeply"),
    ],
)
def test_hostile_config_values_are_config_errors(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        config.load(path, env={})
    message = str(info.value)
    assert info.value.exit_code == ExitCode.CONFIG and message.startswith(f"{path}: ") and "\n" not in message
    assert expected in message


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/v1", "https://API.example.com/v1/", "http://[::1]:8080",
                                 "http://[fe80::1%25eth0]/v1", "http://m\u00fcller.example", "http://localhost",
                                 "https://az.example/openai/d?api-version=2024-10-21", "http://example.com.:443"])
def test_good_urls_pass(url):
    assert config.check_url(url, "w") == url.rstrip("/")


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/v1", "http://h:abc", "http://[::1/v1", "file:///etc/passwd",
                                 "", "http://h.example/a b"])
def test_base_url_option_goes_through_the_same_checks(tmp_path, url):
    with pytest.raises(ConfigError) as info:
        config.resolve("ollama", {"base_url": url}, env={}, config=empty_config(tmp_path))
    assert str(info.value).startswith("--base-url: ") and info.value.exit_code == ExitCode.CONFIG


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0, 0.0, 1e12])
def test_timeout_option_must_be_finite_and_positive(tmp_path, value):
    with pytest.raises(AimuxError) as info:
        config.resolve("ollama", {"timeout": value}, env={}, config=empty_config(tmp_path))
    assert str(info.value).startswith("--timeout: ") and info.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize(("value", "problem"), [
    ("sk-abc\nline2", "contains a line break"), ("sk-abc\r\nx", "contains a line break"),
    ("sk-caf\u00e9", "contains a non-ASCII character"), ("sk-a\x00b", "contains a control character"),
    ("sk-a\tb", "contains a control character"), ("sk-\udcff-raw-bytes", "non-ASCII or control"),
    ("k" * 9000, "longer than 8192 characters"),
])
def test_bad_key_in_the_variable_is_a_config_error_naming_it(tmp_path, value, problem):
    with pytest.raises(ConfigError) as info:
        config.resolve("groq", env={"GROQ_API_KEY": value}, config=empty_config(tmp_path))
    message = str(info.value)
    assert "provider groq: the API key in GROQ_API_KEY" in message and problem in message
    assert value.strip() not in message and "sk-" not in message


def test_surrounding_whitespace_of_a_key_is_dropped(tmp_path):
    r = config.resolve("groq", env={"GROQ_API_KEY": f"  {KEY}\n"}, config=empty_config(tmp_path))
    assert r.api_key == KEY


def raw_cmd_table(script: str) -> str:
    argv = [sys.executable, "-c", script]
    return f"[providers.groq]\napi_key_cmd = {json.dumps(argv)}\n"


@pytest.mark.parametrize(("script", "problem"), [
    ("import sys; sys.stdout.buffer.write(b'sk-\\xff\\xfe-key')", "printed output that is not UTF-8 text"),
    ("print('sk-first-line'); print('user: bob')", "contains a line break: a key must be one line of printable"
                                                    " ASCII (a multi-line password entry?"),
    ("print('sk-caf\\u00e9')", "contains a non-ASCII character"),
    ("import sys; sys.stdout.write('k' * 9000)", "printed more than 8192 bytes"),
])
def test_bad_key_cmd_output_is_a_config_error_naming_the_command(tmp_path, script, problem):
    with pytest.raises(ConfigError) as info:
        resolve_with(tmp_path, raw_cmd_table(script), "groq")
    message = str(info.value)
    assert message.startswith(f"provider groq: api_key_cmd {sys.executable!r}") and problem in message
    assert "sk-" not in message and "bob" not in message


def test_key_cmd_returns_when_the_command_exits_not_when_a_background_child_closes_stdout(tmp_path, monkeypatch):
    """Defect 11: `sh -c 'echo key; sleep 60 &'` waited for the sleeping child (30 s), then said "no answer"."""
    monkeypatch.setattr(config, "KEY_CMD_TIMEOUT", 20.0)  # the child holds stdout until the test ends: no EOF before
    done = tmp_path / "done"
    child = f"import os, time\nfor _ in range(1200):\n    if os.path.exists({str(done)!r}): break\n    time.sleep(0.05)"
    script = f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {child!r}]); print('{KEY}')"
    try:
        r = resolve_with(tmp_path, raw_cmd_table(script), "groq")
    finally:
        done.touch()  # the background child ends
    assert r.api_key == KEY


def test_key_cmd_reads_everything_a_slow_command_prints(tmp_path):
    script = f"import sys, time; sys.stdout.write('{KEY[:8]}'); sys.stdout.flush(); time.sleep(0.3); print('{KEY[8:]}')"
    assert resolve_with(tmp_path, raw_cmd_table(script), "groq").api_key == KEY


def test_keys_are_registered_for_scrubbing_even_when_refused(tmp_path):
    from aimux_cli import redact

    with pytest.raises(ConfigError):
        config.resolve("groq", env={"GROQ_API_KEY": "sk-multi\nline-key"}, config=empty_config(tmp_path))
    assert redact.scrub("oops sk-multi\\nline-key") == "oops [REDACTED]"
    config.resolve("groq", env={"GROQ_API_KEY": KEY}, config=empty_config(tmp_path))
    assert redact.scrub(f"{KEY}") == "[REDACTED]"


def test_many_providers_resolve_one_row_and_list_a_few_names(tmp_path, monkeypatch):
    """Defect 11: 50,000 providers took 15 s (every row built per resolve) and the error listed them all."""
    tables = "".join(f"[providers.p{i}]\nwire = 'openai.chat'\nbase_url = 'http://127.0.0.1:{1000 + i % 9000}/v1'\n"
                     f"model = 'm'\napi_key_env = ''\n" for i in range(5000))
    cfg = config.load(write(tmp_path, tables), env={})
    built = []
    real = config._apply
    monkeypatch.setattr(config, "_apply", lambda name, s: built.append(name) or real(name, s))
    assert config.resolve("p4999", env={}, config=cfg).base_url == "http://127.0.0.1:5999/v1"
    assert built == ["p4999"]
    with pytest.raises(ConfigError) as info:
        config.resolve("nope", env={}, config=cfg)
    message = str(info.value)
    assert message.endswith(f"and {len(CATALOG) + 5000 - config.NAMES_SHOWN} more)")
    assert message.count(",") == config.NAMES_SHOWN - 1


def test_key_cmd_with_a_nul_character_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as info:
        resolve_with(tmp_path, '[providers.groq]\napi_key_cmd = ["a\\u0000b"]\n', "groq")
    assert "api_key_cmd 'a\\x00b': cannot run: embedded null byte" in str(info.value)


def test_a_config_file_that_never_ends_is_refused(monkeypatch):
    monkeypatch.setattr(config, "MAX_CONFIG_BYTES", 1024)
    with pytest.raises(ConfigError, match="config file larger than"):
        config.load(Path("/dev/zero"), env={})


URL_PIECES = ["http://", "https://", "HTTP://", "", "h", "127.0.0.1", "[::1]", "[", "]", ":", ":80", ":0", ":99999",
              ":abc", "/", "/v1", "?", "#", "%", "%zz", "\u00e9", "xn--", ".", "@", " ", "\x00", "\u2603", "a" * 64,
              "\\", "|", "{", "\"", "<", "`", "\u00df", "\u0130", "\uff0e", "01.2.3.4", "[fe80::1%25eth0]", "[v1.x]",
              "[::ffff:1.2.3.4]"]


def test_every_url_the_check_accepts_httpx_accepts():
    """Defect 9: URLs that passed the config check crashed inside httpx (exit 1). A seeded sweep of URL-ish
    strings: whatever check_url lets through, httpx parses and can build a request for."""
    import random

    import httpx

    rng = random.Random(9)
    accepted = 0
    for _ in range(5000):
        url = "".join(rng.choice(URL_PIECES) for _ in range(rng.randint(1, 6)))
        try:
            checked = config.check_url(url, "base_url")
        except ConfigError as exc:
            assert str(exc).startswith("base_url: ") and "\n" not in str(exc)
            continue
        accepted += 1
        httpx.Request("POST", request.join_url(checked, "/chat/completions")).url.raw_host  # noqa: B018
    assert accepted > 50  # the sweep reaches the accepting side too
