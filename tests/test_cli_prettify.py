"""`aimux prettify` on provider responses, run as real processes: formats, exit codes, --follow, colour, safety."""

from __future__ import annotations

import json
import os
import pty
import resource
import select
import subprocess
import sys
from pathlib import Path

import pytest
import toon_format
from pty_support import read_terminal

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "fixtures"


def aimux(*args: str, stdin: bytes | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    return subprocess.run([sys.executable, "-m", "aimux_cli", *args], input=stdin, capture_output=True, cwd=ROOT,
                          env={**base, "COLUMNS": "100", **(env or {})}, timeout=300)


def on_pty(*args: str, env: dict | None = None) -> tuple[int, bytes]:
    """Run aimux with stdout and stderr on a pseudo-terminal, as a person would; returns (exit code, raw bytes)."""
    master, slave = pty.openpty()
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    proc = subprocess.Popen([sys.executable, "-m", "aimux_cli", *args], stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=slave, cwd=ROOT, env={**base, "COLUMNS": "100", "TERM": "xterm-256color",
                                                         **(env or {})})
    os.close(slave)
    out = read_terminal(master, 60)
    return proc.wait(timeout=60), out


# --- formats --------------------------------------------------------------------------------------------------


def test_piped_default_is_toon_of_the_document():
    result = aimux("prettify", str(FIX / "openai" / "chat-two-tool-calls.json"))
    assert result.returncode == 0, result.stderr
    doc = toon_format.decode(result.stdout.decode())
    assert list(doc)[:2] == ["api", "provider"]
    assert doc["api"] == "openai.chat" and doc["finish"] == "tool_call"
    assert [b["type"] for b in doc["blocks"]] == ["tool_call", "tool_call"]


def test_json_and_toon_are_the_same_document():
    path = str(FIX / "anthropic" / "tool-use-parallel-stream.sse")
    as_json = json.loads(aimux("prettify", "-f", "json", path).stdout)
    as_toon = toon_format.decode(aimux("prettify", "-f", "toon", path).stdout.decode())
    assert as_json == as_toon
    assert as_json["status"] == "ok"


def test_stream_and_body_give_the_same_document_through_the_cli():
    body = json.loads(aimux("prettify", "-f", "json", str(FIX / "openai" / "chat-text.json")).stdout)
    stream = json.loads(aimux("prettify", "-f", "json", str(FIX / "openai" / "chat-text-stream.sse")).stdout)
    for doc in (body, stream):
        doc.pop("id", None)
        doc.pop("timing", None)
    assert body == stream


def test_text_format_is_only_the_answer():
    result = aimux("prettify", "-f", "text", stdin=(FIX / "anthropic" / "thinking.json").read_bytes())
    assert result.returncode == 0
    assert result.stdout == b"No, 221 is not prime: it equals 13 \xc3\x97 17.\n"
    assert result.stderr == b""


def test_unknown_json_goes_the_generic_path_with_a_warning():
    result = aimux("prettify", str(FIX / "generic" / "unknown-shape.json"))
    assert result.returncode == 0
    err = result.stderr.decode()
    assert err.count("\n") == 1 and "aimux: warning:" in err and "not a known provider response" in err
    data = json.loads((FIX / "generic" / "unknown-shape.json").read_bytes())
    assert toon_format.decode(result.stdout.decode()) == data


def test_wire_can_be_forced_and_provider_named():
    path = str(FIX / "openai" / "chat-text.json")
    forced = json.loads(aimux("prettify", "-f", "json", "--wire", "openai.chat", "-p", "vllm", path).stdout)
    assert forced["api"] == "openai.chat" and forced["provider"] == "vllm"
    wrong = aimux("prettify", "-f", "json", "--wire", "anthropic", path)
    assert wrong.returncode == 0  # a forced wire that does not fit yields a document without content, not a crash
    assert json.loads(wrong.stdout)["api"] == "anthropic.messages"


# --- exit codes -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rel", "code"), [
    ("openai/error-401-invalid-api-key.json", 5),
    ("openai/error-429-insufficient-quota.json", 6),
    ("openai/error-500-server-error.json", 7),
    ("gemini/error-404-not-found.json", 7),
    ("anthropic/error-529-overloaded.json", 7),
    ("azure/error-401.json", 5),
])
def test_fail_maps_error_documents_to_exit_codes(rel, code):
    path = str(FIX / rel)
    plain = aimux("prettify", "-f", "json", path)
    assert plain.returncode == 0
    assert json.loads(plain.stdout)["status"] == "error"
    failing = aimux("prettify", "-f", "json", "--fail", path)
    assert failing.stdout == plain.stdout  # the document is still printed
    assert failing.returncode == code  # by the error's type or code (errors.ERROR_KINDS), else its HTTP status


@pytest.mark.parametrize("rel", ["openai/chat-stream-truncated.sse", "anthropic/stream-truncated.sse",
                                 "gemini/text-stream-truncated.sse", "ollama/chat-stream-truncated.ndjson",
                                 "openai-responses/stream-truncated.sse"])
def test_truncated_stream_prints_what_arrived_then_exits_9(rel):
    result = aimux("prettify", "-f", "json", str(FIX / rel))
    assert result.returncode == 9
    doc = json.loads(result.stdout)
    assert doc["status"] == "incomplete"
    assert any(b.get("text") for b in doc.get("blocks", [])), "the text that arrived is printed"
    assert "incomplete" in result.stderr.decode()


@pytest.mark.parametrize("rel", ["hostile/garbage.bin", "hostile/truncated.json"])
def test_garbage_and_truncated_json_are_input_errors(rel):
    result = aimux("prettify", str(FIX / rel))
    assert result.returncode == 4
    err = result.stderr.decode()
    assert err.count("\n") == 1 and err.startswith("aimux: error: ") and "Traceback" not in err


def test_ndjson_cut_inside_a_line_prints_the_lines_before_it_and_exits_9():
    # issue 9 defect 7: `head -c 700 chat-stream.ndjson | aimux prettify -f text` printed nothing, exit 4
    cut = (FIX / "ollama/chat-stream.ndjson").read_bytes()[:700]
    assert not cut.endswith(b"\n")
    result = aimux("prettify", "-f", "text", stdin=cut)
    assert result.returncode == 9, result.stderr
    assert result.stdout.startswith(b"Rainbows form when sunlight")
    assert b"cut short" in result.stderr and b"Traceback" not in result.stderr


@pytest.mark.parametrize("follow", [[], ["--follow"]])
def test_invalid_utf8_in_a_trailing_event_keeps_the_answer(follow):
    # issue 9 defect 6: a bad byte in a `ping` after a complete answer threw the whole answer away (exit 4)
    stream = (FIX / "anthropic/text-end-turn-stream.sse").read_bytes()
    whole = aimux("prettify", "-f", "text", str(FIX / "anthropic/text-end-turn-stream.sse"))
    result = aimux("prettify", *follow, "-f", "text", stdin=stream + b'event: ping\ndata: {"type": "ping"\xff}\n\n')
    assert result.returncode == 0, result.stderr
    assert result.stdout == whole.stdout and whole.stdout.strip()
    assert b"Traceback" not in result.stderr


@pytest.mark.parametrize("follow", [[], ["--follow"]])
def test_a_bad_ndjson_line_is_skipped_and_the_stream_goes_on(follow):
    # fuzz finding F13: under --follow one bad line lost the whole answer (exit 4, nothing printed)
    lines = (FIX / "ollama/chat-stream.ndjson").read_bytes().splitlines(keepends=True)
    whole = aimux("prettify", "-f", "text", str(FIX / "ollama/chat-stream.ndjson"))
    result = aimux("prettify", *follow, "-f", "text", stdin=b"".join(lines[:3] + [b"{bad\n"] + lines[3:]))
    assert result.returncode == 0, result.stderr
    assert result.stdout == whole.stdout and whole.stdout.strip()


def test_invalid_utf8_inside_answer_text_is_replaced_and_named_in_warnings():
    stream = (FIX / "openai/chat-text-stream.sse").read_bytes()
    at = stream.index(b'"content":"Tides') + len(b'"content":"') + 2
    result = aimux("prettify", "-f", "json", stdin=stream[:at] + b"\xff" + stream[at:])
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert "\ufffd" in doc["blocks"][0]["text"] and doc["status"] == "ok"
    assert doc["warnings"] == [f"invalid UTF-8 at byte {at}, replaced with U+FFFD"]


def test_invalid_utf8_in_a_json_body_is_replaced_with_a_warning():
    body = (FIX / "openai/chat-text.json").read_bytes().replace(b'"content": "', b'"content": "\xc3(', 1)
    result = aimux("prettify", "-f", "json", stdin=body)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["blocks"][0]["text"].startswith("\ufffd(") and doc["warnings"][0].startswith("invalid UTF-8 at byte")


@pytest.mark.parametrize("body", [b'{"type":["string","null"]}', b'{"object":[]}',
                                  b'{"object":"chat.completion","choices":1}', b'{"type":"message","content":2}',
                                  b'{"candidates":{"object":null}}'])
@pytest.mark.parametrize("fmt", ["toon", "json", "text", "rich"])
def test_well_known_keys_of_unexpected_types_never_exit_1(body, fmt):
    result = aimux("prettify", "-f", fmt, stdin=body)
    assert result.returncode == 0, result.stderr
    assert b"internal error" not in result.stderr and b"Traceback" not in result.stderr


def test_a_huge_finish_reason_draws_a_bounded_rich_view():
    # issue 9 defect 10: 200,000 newlines in finish_reason took 42 s to draw; each metadata value is now bounded
    body = json.dumps({"object": "chat.completion", "choices": [{"message": {"content": "hi"},
                                                                  "finish_reason": "\n" * 200_000}]}).encode()
    result = aimux("prettify", "-f", "rich", stdin=body)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert len(lines) < 30 and any("199,989 more lines" in line for line in lines), lines


def test_deep_nesting_on_the_provider_path():
    depth = 1000
    body = b'{"id": "x", "object": "chat.completion", "choices": [], "nested": ' + b"[" * depth + b"]" * depth + b"}"
    result = aimux("prettify", "-f", "json", stdin=body)
    assert result.returncode in (0, 4), result.stderr
    assert b"Traceback" not in result.stderr


def test_100_mb_body_is_handled_in_bounded_memory(tmp_path):
    size = 100_000_000
    body = {"id": "chatcmpl-big", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "y" * size},
                         "finish_reason": "stop"}]}
    path = tmp_path / "big.json"
    path.write_text(json.dumps(body))
    out = tmp_path / "out.toon"
    with open(out, "wb") as fh:
        proc = subprocess.run([sys.executable, "-m", "aimux_cli", "prettify", str(path)], stdout=fh,
                              stderr=subprocess.PIPE, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > size
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # Linux reports KiB
    assert peak < 8 * size, f"peak RSS {peak / 1e6:.0f} MB for a {size / 1e6:.0f} MB body"


def test_oversized_input_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "huge.json"
    with open(path, "wb") as fh:
        fh.truncate(300 * 1024 * 1024)  # sparse: costs no disk
    result = aimux("prettify", str(path))
    assert result.returncode == 4
    assert "larger than 256 MiB" in result.stderr.decode()


# --- --follow -------------------------------------------------------------------------------------------------


def test_follow_shows_text_before_the_stream_ends():
    """Feed a stream in two halves: the first half's text must be on stdout before the second half is sent."""
    lines = (FIX / "openai" / "chat-text-stream.sse").read_bytes().split(b"\n\n")
    first, rest = b"\n\n".join(lines[:3]) + b"\n\n", b"\n\n".join(lines[3:])
    proc = subprocess.Popen([sys.executable, "-m", "aimux_cli", "prettify", "--follow", "-f", "text"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    proc.stdin.write(first)
    proc.stdin.flush()
    early = b""
    while not early.strip():  # blocks until aimux has written the first text; the stream is still open
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "no text was shown while the stream was still arriving"
        early += os.read(proc.stdout.fileno(), 65536)
    proc.stdin.write(rest)
    proc.stdin.close()
    tail = proc.stdout.read()
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    whole = aimux("prettify", "-f", "text", str(FIX / "openai" / "chat-text-stream.sse")).stdout
    assert early + tail == whole


def test_follow_then_prints_the_final_document():
    data = (FIX / "anthropic" / "text-end-turn-stream.sse").read_bytes()
    followed = aimux("prettify", "--follow", "-f", "json", stdin=data)
    assert followed.returncode == 0, followed.stderr
    assert json.loads(followed.stdout) == json.loads(aimux("prettify", "-f", "json", stdin=data).stdout)


def test_follow_of_a_truncated_stream_exits_9():
    data = (FIX / "ollama" / "chat-stream-truncated.ndjson").read_bytes()
    result = aimux("prettify", "--follow", "-f", "text", stdin=data)
    assert result.returncode == 9
    assert result.stdout.strip()


# --- colour and terminal safety -------------------------------------------------------------------------------


def test_rich_view_on_a_terminal_has_colour_unless_no_color():
    rel = str(FIX / "anthropic" / "thinking.json")
    code, coloured = on_pty("prettify", rel)
    assert code == 0 and b"\x1b[" in coloured
    code, plain = on_pty("prettify", rel, env={"NO_COLOR": "1"})
    assert code == 0
    assert b"\x1b[3" not in plain and b"\x1b[9" not in plain  # no foreground colours (bold/dim are allowed)
    code, flag = on_pty("prettify", "--no-color", rel)
    assert b"\x1b[3" not in flag and b"\x1b[9" not in flag


def test_force_color_colours_a_pipe():
    result = aimux("prettify", "-f", "rich", str(FIX / "anthropic" / "thinking.json"), env={"FORCE_COLOR": "1"})
    assert b"\x1b[" in result.stdout
    plain = aimux("prettify", "-f", "rich", str(FIX / "anthropic" / "thinking.json"))
    assert b"\x1b[" not in plain.stdout


_SGR = __import__("re").compile(rb"\x1b\[[0-9;]*m")


@pytest.mark.parametrize("rel", ["hostile/openai-ansi.json", "hostile/anthropic-ansi-stream.sse",
                                 "hostile/tool-call-ansi.json", "hostile/error-ansi.json"])
@pytest.mark.parametrize("fmt", ["rich", "text", "json", "toon"])
def test_hostile_output_is_inert_on_a_terminal(rel, fmt):
    code, raw = on_pty("prettify", "-f", fmt, str(FIX / rel))
    assert code in (0, 9), raw[-500:]
    # aimux's own colour codes (SGR) are the only escape sequences that reach the terminal
    leftover = _SGR.sub(b"", raw)
    assert b"\x1b" not in leftover, leftover[leftover.find(b"\x1b") - 40:][:120]
    assert b"\x07" not in leftover and "\u202e".encode() not in leftover and "\x9b".encode() not in leftover
    assert "\u200b".encode() not in leftover and "\u2060".encode() not in leftover
    if fmt != "text" or rel.endswith(("openai-ansi.json", "ansi-stream.sse")):  # the others have no answer text
        assert b"\\x1b" in leftover or b"\\u001b" in leftover  # shown, visibly


def test_hostile_text_stays_exact_when_piped():
    result = aimux("prettify", "-f", "text", str(FIX / "hostile" / "openai-ansi.json"))
    assert b"\x1b[" in result.stdout  # a pipe gets the data exactly as sent


def test_hostile_follow_on_a_terminal_is_inert():
    master, slave = pty.openpty()
    data = (FIX / "hostile" / "anthropic-ansi-stream.sse").read_bytes()
    proc = subprocess.Popen([sys.executable, "-m", "aimux_cli", "prettify", "--follow", "-f", "text"],
                            stdin=subprocess.PIPE, stdout=slave, stderr=slave, cwd=ROOT,
                            env={**os.environ, "TERM": "xterm"})
    os.close(slave)
    proc.stdin.write(data)
    proc.stdin.close()
    raw = read_terminal(master)
    proc.wait(timeout=60)
    assert b"\x1b" not in _SGR.sub(b"", raw)
    assert b"\\x1b" in raw


def test_no_input_on_a_terminal_is_a_usage_error_not_a_hang():
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "aimux_cli", "prettify"], stdin=slave, stdout=slave,
                            stderr=slave, cwd=ROOT, env={**os.environ, "TERM": "xterm"})
    os.close(slave)
    raw = read_terminal(master)
    assert proc.wait(timeout=60) == 2
    assert b"no input: give a FILE, or pipe a response in" in raw


@pytest.mark.parametrize("args", [["prettify"], ["prettify", "-"], ["prettify", "--follow"]])
def test_closed_stdin_is_an_input_error(args):
    proc = subprocess.run([sys.executable, "-m", "aimux_cli", *args], capture_output=True, cwd=ROOT,
                          stdin=subprocess.DEVNULL, preexec_fn=lambda: os.close(0), timeout=60)
    assert proc.returncode == 4
    assert proc.stderr == b"aimux: error: <stdin>: standard input is closed\n"


# --- -f text of a tool-call answer: the same lines from a body and from its stream ----------------------------------

TOOL_STREAMS = ["anthropic/tool-use-parallel-stream.sse", "openai/chat-two-tool-calls-stream.sse",
                "openai-responses/reasoning-summary-function-call-stream.sse",
                "ollama/wire-chat-thinking-tool-calls-stream.ndjson",
                "gemini/vertex-stream-function-call-arguments-gemini3.sse"]


@pytest.mark.parametrize("rel", TOOL_STREAMS)
def test_text_of_a_tool_call_answer_is_the_same_with_and_without_follow(rel):
    """`prettify -f text` printed nothing for a tool-call answer, where `--follow -f text` (and `ask -f text`) print
    one `tool NAME ARGS` line per call after the text: a pipeline got different output from a body and its stream."""
    data = (FIX / rel).read_bytes()
    whole = aimux("prettify", "-f", "text", str(FIX / rel))
    followed = aimux("prettify", "--follow", "-f", "text", stdin=data)
    assert (whole.returncode, followed.returncode) == (0, 0), whole.stderr + followed.stderr
    assert whole.stdout == followed.stdout
    lines = whole.stdout.decode().splitlines()
    calls = [line for line in lines if line.startswith("tool ")]
    assert calls and lines[-len(calls):] == calls  # after the text
    for line in calls:
        _, name, args = line.split(" ", 2)
        assert name and isinstance(json.loads(args), dict)


def test_text_of_several_choices_is_the_same_with_and_without_follow():
    """--follow -f text shows choice 0 as it streams (the choices' deltas interleave); the other choices used to be
    dropped, where prettify -f text of the same bytes writes every choice, each after a blank line."""
    rel = "openai/chat-n2-stream.sse"
    whole = aimux("prettify", "-f", "text", str(FIX / rel))
    followed = aimux("prettify", "--follow", "-f", "text", stdin=(FIX / rel).read_bytes())
    assert (whole.returncode, followed.returncode) == (0, 0), whole.stderr + followed.stderr
    assert followed.stdout == whole.stdout
    assert len([part for part in whole.stdout.decode().split("\n\n") if part.strip()]) == 2


def test_text_of_a_tool_call_body_lists_each_call():
    result = aimux("prettify", "-f", "text", str(FIX / "openai/chat-two-tool-calls.json"))
    assert result.returncode == 0, result.stderr
    calls = [line for line in result.stdout.decode().splitlines() if line.startswith("tool ")]
    document = json.loads(aimux("prettify", "-f", "json", str(FIX / "openai/chat-two-tool-calls.json")).stdout)
    expected = [b for b in document["blocks"] if b["type"] == "tool_call"]
    assert [(c.split(" ", 2)[1], json.loads(c.split(" ", 2)[2])) for c in calls] == \
        [(b["name"], b["arguments"]) for b in expected] and len(calls) == 2
