"""`aimux prettify --wire none`, the process frame and the exit-code contract (issue 2), run as real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import toon_format
from pty_support import read_terminal

ROOT = Path(__file__).resolve().parents[1]
INPUTS = ROOT / "tests" / "data" / "inputs"


def aimux(*args: str, stdin: bytes | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "NO_COLOR": "", "COLUMNS": "100", **(env or {})}
    return subprocess.run([sys.executable, "-m", "aimux_cli", *args], input=stdin, capture_output=True,
                          cwd=ROOT, env=full_env, timeout=120)


def test_version_from_module_and_console_script():
    from aimux_cli import __version__

    by_module = aimux("--version")
    assert by_module.returncode == 0
    assert by_module.stdout.decode() == f"aimux {__version__}\n"
    script = Path(sys.executable).with_name("aimux")
    if script.exists():
        by_script = subprocess.run([str(script), "--version"], capture_output=True)
        assert by_script.stdout == by_module.stdout


def test_wire_none_reads_stdin_and_encodes_toon(snapshot):
    data = (INPUTS / "sample.json").read_bytes()
    result = aimux("prettify", "--wire", "none", stdin=data)
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    out = result.stdout.decode()
    assert out == snapshot
    assert toon_format.decode(out) == __import__("json").loads(data)


@pytest.mark.parametrize(("name", "delim"), [("comma", ","), ("tab", "\t"), ("pipe", "|")])
def test_delimiter_and_indent_options(name, delim):
    result = aimux("prettify", "--wire", "none", "--delimiter", name, "--indent", "4", str(INPUTS / "sample.json"))
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    header = f"users[2{'' if delim == ',' else delim}]{{id{delim}name{delim}role}}:"
    assert header in out
    assert "\n    1" in out  # rows indented by 4
    assert toon_format.decode(out, indent_size=4) == __import__("json").loads((INPUTS / "sample.json").read_bytes())


def test_dash_means_stdin():
    result = aimux("prettify", "--wire", "none", "-", stdin=b"[1, 2, 3]")
    assert result.returncode == 0
    assert result.stdout == b"[3]: 1,2,3\n"


def test_several_files_each_introduced_by_a_comment_line():
    a, b = INPUTS / "array.json", INPUTS / "sample.json"
    result = aimux("prettify", "--wire", "none", str(a), str(b))
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert out.startswith(f"# {a}\n[3]: 1,2,3\n\n# {b}\n")
    # each part, comment included, is a valid TOON document on its own
    parts = out.split("\n\n# ")
    assert toon_format.decode(parts[0]) == [1, 2, 3]


def test_big_integers_and_negative_zero_survive():
    result = aimux("prettify", "--wire", "none", str(INPUTS / "big-numbers.json"))
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert "id: 123456789012345678901234567890\n" in out
    assert "neg: 0\n" in out
    # outside the canonical range the reference encoder (@toon-format/toon 4.4.0) writes exponent forms
    assert "small: 1e-7\n" in out
    assert "sci: 1.5e+21\n" in out


@pytest.mark.parametrize(("name", "message"), [
    ("empty.json", "empty input"),
    ("blank.json", "empty input"),
    ("truncated.json", "invalid JSON: unexpected end of input (truncated?) at line 4, column 1"),
    ("invalid-token.json", "invalid JSON: expecting value at line 2, column 7"),
    ("nan.json", "invalid JSON"),
    ("does-not-exist.json", "no such file"),
])
def test_bad_input_is_one_line_exit_4(name, message):
    path = INPUTS / name
    result = aimux("prettify", "--wire", "none", str(path))
    err = result.stderr.decode()
    assert result.returncode == 4, err
    assert err.count("\n") == 1, err
    assert err.startswith(f"aimux: error: {path}: ")
    assert message in err
    assert "Traceback" not in err
    assert result.stdout == b""


@pytest.mark.parametrize(("data", "message"), [
    (b'{"a": "abc', "invalid JSON: unterminated string starting at line 1, column 7\n"),
    (b'"\x01"', "invalid JSON: invalid control character at line 1, column 2\n"),
])
def test_invalid_json_messages_say_at_once(data, message):
    result = aimux("prettify", "--wire", "none", stdin=data)
    assert result.returncode == 4
    assert result.stderr.decode() == f"aimux: error: <stdin>: {message}"


def test_invalid_utf8_in_a_json_body_is_replaced_with_a_warning():
    # issue 9: what decodes is kept; the bad byte becomes U+FFFD and one warning names its place
    result = aimux("prettify", "--wire", "none", str(INPUTS / "invalid-utf8.json"))
    assert result.returncode == 0
    assert result.stdout.decode() == "text: caf\ufffd\n"
    assert result.stderr.decode() == "aimux: warning: invalid UTF-8 at byte 13, replaced with U+FFFD\n"


def test_directory_is_an_input_error():
    result = aimux("prettify", "--wire", "none", str(INPUTS))
    assert result.returncode == 4
    assert result.stderr.decode() == f"aimux: error: {INPUTS}: is a directory\n"


def test_empty_stdin_is_an_input_error():
    result = aimux("prettify", "--wire", "none", stdin=b"")
    assert result.returncode == 4
    assert result.stderr.decode() == "aimux: error: <stdin>: empty input\n"


def test_valid_files_are_written_even_with_a_bad_one():
    good, bad = INPUTS / "array.json", INPUTS / "truncated.json"
    result = aimux("prettify", "--wire", "none", str(bad), str(good))
    assert result.returncode == 4
    assert "[3]: 1,2,3" in result.stdout.decode()
    assert str(bad) in result.stderr.decode()


def test_usage_error_exits_2():
    result = aimux("prettify", "--delimiter", "semicolon", str(INPUTS / "array.json"))
    assert result.returncode == 2
    assert b"Traceback" not in result.stderr
    unknown_wire = aimux("prettify", "--wire", "soap", str(INPUTS / "array.json"))
    assert unknown_wire.returncode == 2
    assert b"unknown wire format 'soap'" in unknown_wire.stderr


def test_broken_pipe_ends_quietly(tmp_path):
    big = tmp_path / "big.json"
    big.write_text("[" + ",".join(f'{{"i": {i}, "s": "row {i}"}}' for i in range(200_000)) + "]")
    cmd = f"'{sys.executable}' -m aimux_cli prettify --wire none '{big}' | head -1"
    result = subprocess.run(["bash", "-c", f"set -o pipefail; {cmd}"], capture_output=True, cwd=ROOT)
    assert result.stdout.decode().startswith("[200000]{i,s}:")
    assert result.stdout.count(b"\n") == 1
    assert result.stderr == b"", result.stderr.decode()


def test_deep_nesting_is_encoded():
    depth = 1000
    data = ("[" * depth + "1" + "]" * depth).encode()
    result = aimux("prettify", "--wire", "none", stdin=data)
    assert result.returncode == 0, result.stderr[-300:]
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20_000)  # the reference decoder recurses per level
    try:
        assert toon_format.decode(result.stdout.decode()) == __import__("json").loads(data)
    finally:
        sys.setrecursionlimit(limit)


def test_light_commands_do_not_import_httpx_sqlite3_or_rich_markdown():
    probe = (
        "import sys, runpy\n"
        "sys.argv = sys.argv[1:]\n"
        "try:\n"
        "    runpy.run_module('aimux_cli', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = sorted(m for m in sys.modules if m in ('httpx', 'sqlite3', '_sqlite3')"
        " or m.startswith(('httpx.', 'rich.markdown', 'markdown_it')))\n"
        "sys.stderr.write('HEAVY=' + ','.join(heavy) + '\\n')\n"
    )
    for args in (["aimux", "--version"],
                 ["aimux", "prettify", "--wire", "none", str(INPUTS / "sample.json")],
                 ["aimux", "prettify", "-f", "toon", str(ROOT / "fixtures" / "openai" / "chat-text.json")]):
        result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, cwd=ROOT)
        assert b"HEAVY=\n" in result.stderr, (args, result.stderr.decode()[-500:])


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("fmt", ["toon", "rich"])
@pytest.mark.parametrize("unbuffered", ["1", ""])
def test_a_full_disk_is_one_line_and_exit_1(fmt, unbuffered):
    env = {**os.environ, "PYTHONUNBUFFERED": unbuffered}
    with open("/dev/full", "wb") as full:
        result = subprocess.run([sys.executable, "-m", "aimux_cli", "prettify", "-f", fmt,
                                 str(ROOT / "fixtures" / "openai" / "chat-text.json")],
                                stdout=full, stderr=subprocess.PIPE, cwd=ROOT, env=env, timeout=60)
    assert result.returncode == 1
    assert result.stderr == b"aimux: error: cannot write the output: No space left on device\n"


def test_closed_stdout_is_one_line_and_exit_1():
    result = subprocess.run([sys.executable, "-m", "aimux_cli", "prettify", "--wire", "none", str(INPUTS / "array.json")],
                            stderr=subprocess.PIPE, cwd=ROOT, preexec_fn=lambda: os.close(1), timeout=60)
    assert result.returncode == 1
    assert result.stderr == b"aimux: error: cannot write the output: standard output is closed\n"


# --- the command-line frame: usage errors, --debug, internal errors (issue 10) ----------------------------------------


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    """`cli.main(args)` in this process (the console script's path): (exit code, stdout, stderr)."""
    from aimux_cli.cli import main

    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    return exited.value.code or 0, out, err


USAGE_ERRORS = [  # (arguments, the command path the hint names, a piece of the message)
    (["prettify", "--delimiter", "semicolon", "x.json"], "aimux prettify", "'semicolon' is not one of"),
    (["prettify", "--indent", "99", "x.json"], "aimux prettify", "99 is not in the range"),
    (["ask", "--no-such-option", "hi"], "aimux ask", "No such option: --no-such-option"),
    (["ask", "--retries"], "aimux ask", "requires an argument"),
    (["bench", "provider", "-n"], "aimux bench provider", "requires an argument"),
    (["test-providers", "--timeout", "soon"], "aimux test-providers", "'soon' is not a valid"),
    (["bench", "provider", "--requests", "0"], "aimux bench provider", "0 is not in the range"),
    (["bench", "prettify", "--format", "xml"], "aimux bench prettify", "'xml' is not one of"),
    (["bench", "nosuch"], "aimux bench", "No such command 'nosuch'"),
    (["nosuch"], "aimux", "No such command 'nosuch'"),
]


@pytest.mark.parametrize(("args", "path", "message"), USAGE_ERRORS)
def test_usage_errors_are_one_line_and_a_hint(capsys, args, path, message):
    code, out, err = run_main(capsys, *args)
    assert code == 2
    assert out == ""
    first, hint = err.splitlines()  # exactly two lines, no Rich box
    assert first.startswith("aimux: error: ") and message in first, err
    assert hint == f"Try '{path} --help' for help."
    assert not set("╭╮╰╯│─") & set(err)


def test_usage_errors_are_one_line_on_a_terminal_too():
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "aimux_cli", "prettify", "--delimiter", "semicolon", "x.json"],
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, cwd=ROOT,
                            env={**os.environ, "COLUMNS": "100", "TERM": "xterm-256color"})
    os.close(slave)
    screen = read_terminal(master, 60).decode()
    assert proc.wait(timeout=60) == 2
    assert screen.splitlines() == [
        "aimux: error: Invalid value for '--delimiter' / '-d': 'semicolon' is not one of 'comma', 'tab', 'pipe'.",
        "Try 'aimux prettify --help' for help."]


def test_help_and_version_still_exit_0(capsys):
    assert run_main(capsys, "prettify", "--help")[0] == 0
    code, out, _ = run_main(capsys, "--version")
    assert (code, out.startswith("aimux ")) == (0, True)


@pytest.mark.parametrize("where", ["before", "after", "between"])
@pytest.mark.parametrize(("args", "code", "message"), [
    (["prettify", "-f", "json", str(ROOT / "fixtures" / "openai" / "chat-text.json")], 0, None),
    (["ask"], 2, "no prompt"),  # reaches the command: the option was accepted
    (["test-providers"], 3, "config file not found"),
    (["bench", "provider", "-p", "nosuch"], 3, "config file not found"),
    (["bench", "prettify", "--min-time", "0.001", "-f", "json", str(ROOT / "fixtures" / "openai" / "chat-text.json")],
     0, None),
])
def test_debug_is_accepted_before_and_after_the_command(capsys, monkeypatch, tmp_path, where, args, code, message):
    monkeypatch.setenv("AIMUX_CONFIG", str(tmp_path / "missing.toml"))
    monkeypatch.delenv("AIMUX_DEBUG", raising=False)
    monkeypatch.setattr(sys, "stdin", open(os.devnull))  # not a terminal, and empty
    if where == "between":  # `aimux bench --debug provider`: the group level too
        if args[0] != "bench":
            pytest.skip("only bench has a level between")
        full = ["bench", "--debug", *args[1:]]
    else:
        full = ["--debug", *args] if where == "before" else [*args, "--debug"]
    got, _, err = run_main(capsys, *full)
    assert "No such option" not in err
    assert got == code, err
    if message:
        assert "aimux: error: " in err and message in err
        assert "Traceback (most recent call last)" in err  # --debug shows where an error came from
    from aimux_cli.cli import State
    assert State.debug


def test_debug_does_not_stick_between_runs_in_one_process(capsys):
    from aimux_cli.cli import State

    run_main(capsys, "--debug", "--version")
    run_main(capsys, "--version")
    assert State.debug is False


def test_an_internal_error_names_the_version_and_asks_for_a_report(capsys, monkeypatch):
    from aimux_cli import __version__
    from aimux_cli.commands import prettify

    def broken(opts):
        raise KeyError("surprise")

    monkeypatch.delenv("AIMUX_DEBUG", raising=False)
    monkeypatch.setattr(prettify, "run", broken)
    code, out, err = run_main(capsys, "prettify", "x.json")
    assert code == 1
    assert err.count("\n") == 1, err
    assert err.startswith(f"aimux: error: internal error in aimux {__version__}: KeyError: 'surprise'")
    assert "please report it" in err and "--debug" in err
    code, _, err = run_main(capsys, "prettify", "x.json", "--debug")
    assert code == 1 and "Traceback (most recent call last)" in err


# --- an input past the 256 MiB limit (second final fuzz run, seed 4242, cases 57311 and 61337) ---------------------

def test_a_stream_past_the_input_limit_shows_what_its_head_holds_then_exits_4(capsys, monkeypatch, tmp_path):
    """A 583 MB stream was refused whole ('input larger than 256 MiB, refused'), nothing printed: the events in its
    first 256 MiB are shown now, then one error line about the rest, exit 4. The limit is made small here."""
    from aimux_cli import inputs

    stream = (ROOT / "fixtures" / "openai" / "chat-text-stream.sse").read_bytes()
    big = tmp_path / "big.sse"
    big.write_bytes(stream * 50)
    monkeypatch.setattr(inputs, "MAX_INPUT_BYTES", len(stream) * 3 + 100)  # three events and a bit of a fourth
    code, out, err = run_main(capsys, "prettify", "-f", "text", str(big))
    whole = run_main(capsys, "prettify", "-f", "text", str(ROOT / "fixtures" / "openai" / "chat-text-stream.sse"))[1]
    assert code == 4
    assert out.startswith(whole.rstrip("\n"))  # the first answer, whole, at least
    assert err.strip().splitlines()[-1].startswith("aimux: error: ")
    assert "was not read" in err


def test_a_body_past_the_input_limit_is_refused_in_one_line(capsys, monkeypatch, tmp_path):
    from aimux_cli import inputs

    body = tmp_path / "big.json"
    body.write_bytes(b'{"object": "chat.completion", "choices": [' + b'{"index": 0},' * 1000 + b"{}]}")
    monkeypatch.setattr(inputs, "MAX_INPUT_BYTES", 2000)
    code, out, err = run_main(capsys, "prettify", "-f", "json", str(body))
    assert (code, out) == (4, "")
    assert err.count("\n") == 1 and "refused" in err and "are not a whole response" in err


def test_ask_still_refuses_a_prompt_past_the_input_limit(monkeypatch, tmp_path):
    from aimux_cli import inputs

    monkeypatch.setattr(inputs, "MAX_INPUT_BYTES", 10)
    big = tmp_path / "p.txt"
    big.write_bytes(b"x" * 11)
    with pytest.raises(inputs.InputError, match="refused"):
        inputs.read_source(str(big))
    assert inputs.read_source(str(big), keep_head=True).cut
