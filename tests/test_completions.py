"""The shell completion scripts in completions/ are generated from the app, current, and actually complete."""

from __future__ import annotations

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


def _bash_complete(words: list[str]) -> list[str]:
    script = ROOT / "completions" / "aimux.bash"
    quoted = " ".join(f"'{w}'" for w in words)
    cmd = (f"source '{script}'; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; _aimux; "
           'printf "%s\\n" "${COMPREPLY[@]}"')
    out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, check=True, cwd="/")
    return [line for line in out.stdout.splitlines() if line]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.parametrize(("words", "expected"), [
    (["aimux", "pre"], ["prettify"]),
    (["aimux", "prettify", "--format", ""], ["toon", "json", "text", "rich"]),
    (["aimux", "prettify", "-d", "p"], ["pipe"]),
    (["aimux", "prettify", "--wire", "anth"], ["anthropic.messages"]),
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
