"""The shell completion scripts in completions/ are generated from the app, current, and actually complete."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from aimux_cli import completions

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("shell", sorted(completions.SHELLS))
def test_committed_scripts_are_current(shell):
    committed = (ROOT / "completions" / completions.SHELLS[shell]).read_text(encoding="utf-8")
    assert committed == completions.script(shell), (
        f"completions/{completions.SHELLS[shell]} is stale: run `python -m aimux_cli.completions`")


def _bash_complete(words: list[str], env: dict | None = None) -> list[str]:
    script = ROOT / "completions" / "aimux.bash"
    quoted = " ".join(f"'{w}'" for w in words)
    cmd = (f"source '{script}'; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; _aimux; "
           'printf "%s\\n" "${COMPREPLY[@]}"')
    base = {"PATH": os.environ.get("PATH", ""), "HOME": "/nonexistent"}
    out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, check=True, cwd="/",
                         env={**base, **(env or {})})
    return [line for line in out.stdout.splitlines() if line]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.parametrize(("words", "expected"), [
    (["aimux", "pre"], ["prettify"]),
    (["aimux", "prettify", "--format", ""], ["toon", "json", "text", "rich"]),
    (["aimux", "prettify", "-d", "p"], ["pipe"]),
    (["aimux", "prettify", "--wire", "anth"], ["anthropic.complete", "anthropic.messages"]),
    (["aimux", "prettify", "--fo"], ["--follow", "--format"]),
])
def test_bash_completes(words, expected):
    assert sorted(_bash_complete(words)) == sorted(expected)


@pytest.mark.parametrize("shell,binary", [("zsh", "zsh"), ("fish", "fish")])
def test_script_syntax(shell, binary):
    if shutil.which(binary) is None:
        pytest.skip(f"{binary} is not installed; its script is only checked for staleness")
    path = ROOT / "completions" / completions.SHELLS[shell]
    flag = ["-n"] if binary == "zsh" else ["--no-execute"]
    subprocess.run([binary, *flag, str(path)], check=True)


CONFIG = """\
default_provider = "local"
[providers.local]          # a new provider
base_url = "http://127.0.0.1:8000/v1"
[providers.local.headers]  # a sub-table, not a provider
X-Team = "infra"
  [ providers."my-proxy" ]
wire = "openai.chat"
[providers.anthropic]
model = "claude-sonnet-4-5"
"""


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    return path


def _expected_providers(*extra: str) -> list[str]:
    from aimux_cli.providers import CATALOG

    return sorted({*CATALOG, *extra})


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.parametrize("words", [["aimux", "ask", "-p", ""], ["aimux", "ask", "--provider", ""],
                                   ["aimux", "bench", "provider", "-p", ""], ["aimux", "prettify", "-p", ""]])
def test_bash_completes_provider_names_from_the_catalog_and_the_config(config_file, words):
    assert sorted(set(_bash_complete(words))) == _expected_providers()  # no config file
    got = _bash_complete(words, {"AIMUX_CONFIG": str(config_file)})
    assert sorted(set(got)) == _expected_providers("local", "my-proxy")
    assert "headers" not in got


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_finds_the_config_under_xdg_config_home(tmp_path, config_file):
    (tmp_path / "aimux").mkdir()
    config_file.rename(tmp_path / "aimux" / "config.toml")
    got = _bash_complete(["aimux", "ask", "-p", "my"], {"XDG_CONFIG_HOME": str(tmp_path)})
    assert got == ["my-proxy"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_test_providers_names(config_file):
    got = _bash_complete(["aimux", "test-providers", "lo"], {"AIMUX_CONFIG": str(config_file)})
    assert got == ["local"]
    assert "--strict" in _bash_complete(["aimux", "test-providers", "--s"])


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_provider_function_reads_the_config(config_file):
    script = ROOT / "completions" / completions.SHELLS["zsh"]
    out = subprocess.run(["zsh", "-c", f"source '{script}' 2>/dev/null; _aimux_providers"], capture_output=True,
                         text=True, env={"PATH": os.environ.get("PATH", ""), "AIMUX_CONFIG": str(config_file)})
    assert sorted(set(out.stdout.split())) == _expected_providers("local", "my-proxy")


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_provider_function_reads_the_config(config_file):
    script = ROOT / "completions" / completions.SHELLS["fish"]
    out = subprocess.run(["fish", "-c", f"source '{script}'; __aimux_providers"], capture_output=True, text=True,
                         env={"PATH": os.environ.get("PATH", ""), "AIMUX_CONFIG": str(config_file)})
    assert sorted(set(out.stdout.split())) == _expected_providers("local", "my-proxy")


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_provider_names_where_they_are_asked_for(config_file):
    script = ROOT / "completions" / completions.SHELLS["fish"]

    def complete(line: str) -> list[str]:
        out = subprocess.run(["fish", "-c", f"source '{script}'; complete -C'{line}'"], capture_output=True,
                             text=True, env={"PATH": os.environ.get("PATH", ""), "AIMUX_CONFIG": str(config_file)})
        return [w.split("\t")[0] for w in out.stdout.split("\n") if w]

    assert sorted(complete("aimux ask -p ")) == _expected_providers("local", "my-proxy")
    assert complete("aimux test-providers my") == ["my-proxy"]
    assert complete("aimux bench provider --provider gr") == ["groq"]
