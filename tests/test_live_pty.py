"""What a person sees live, on a real pseudo-terminal: `aimux ask` against the loopback provider server and
`aimux prettify --follow`, their bytes replayed into a terminal emulator (pyte) and asserted on the final screen.

Streamed Markdown keeps every line once, in order, with the line printed before aimux started; tool calls are shown;
Ctrl-C leaves the screen whole and exits 130 with a note; thinking is labelled and never runs into the answer; a
waiting line is shown until the first token on a terminal, and never into a pipe."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pyte
import pytest
from rich.console import Console

from aimux_cli.render.rich_view import markdown
from provider_server import FIXTURES, Reply, split_body

ROOT = Path(__file__).resolve().parents[1]
LIVE = Path(__file__).parent / "data" / "live"
MARKDOWN = LIVE / "openai-markdown-stream.sse"
KEY = "sk-test-LIVE-5678"
COLS, ROWS = 100, 60
BEFORE = "BEFORE-AIMUX-STARTED"
CHAT, MESSAGES = "/v1/chat/completions", "/v1/messages"


@pytest.fixture
def server(provider_server, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(f'[providers.openai]\nbase_url = "{provider_server.url}/v1"\n'
                    f'[providers.anthropic]\nbase_url = "{provider_server.url}/v1"\n')
    provider_server.config = path
    return provider_server


def environ(server=None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_API_KEY") and not k.lower().endswith("_proxy")
           and k not in ("AIMUX_DEBUG", "NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES")}
    env.update(OPENAI_API_KEY=KEY, ANTHROPIC_API_KEY=KEY, NO_PROXY="*", TERM="xterm-256color")
    if server is not None:
        env["AIMUX_CONFIG"] = str(server.config)
    env.update(extra)
    return env


class Terminal:
    """aimux started by a shell on a pseudo-terminal of COLS x ROWS, as from a prompt: `BEFORE` is printed first.

    `tty` says which of stdout/stderr are the terminal (the other is a pipe, read into `piped`)."""

    def __init__(self, args: list[str], env: dict, *, tty: str = "both", stdin=subprocess.DEVNULL) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        out = slave if tty in ("both", "stdout") else subprocess.PIPE
        err = slave if tty in ("both", "stderr") else subprocess.PIPE
        script = f'printf "{BEFORE}\\n" >&{1 if tty != "stderr" else 2}; exec "$@"'

        def controlling_terminal() -> None:  # as a shell starts a job: the terminal's Ctrl-C reaches aimux
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(["sh", "-c", script, "sh", sys.executable, "-m", "aimux_cli", *args],
                                     cwd=ROOT, env=env, stdin=stdin, stdout=out, stderr=err,
                                     preexec_fn=controlling_terminal, pass_fds=(slave,))
        os.close(slave)
        self.master, self.raw, self.tty = master, b"", tty
        self.piped = b""

    def read_until(self, probe: bytes) -> None:
        """Read the terminal until `probe` has been drawn (fails the test if the program ends first)."""
        while probe not in self.raw:
            ready, _, _ = select.select([self.master], [], [], 60)
            assert ready, f"waited 60 s for {probe!r}: {self.raw[-300:]!r}"
            chunk = self._read()
            assert chunk, f"ended before {probe!r} was drawn: {self.raw[-300:]!r}"

    def ctrl_c(self) -> None:
        """Type Ctrl-C: the terminal sends SIGINT to aimux and echoes `^C` where the cursor is."""
        os.write(self.master, b"\x03")

    def _read(self) -> bytes:
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the child closed the terminal
            chunk = b""
        self.raw += chunk
        return chunk

    def finish(self) -> int:
        while True:
            ready, _, _ = select.select([self.master], [], [], 60)
            if not ready or not self._read():
                break
        os.close(self.master)
        pipe = self.proc.stdout or self.proc.stderr
        self.piped = pipe.read() if pipe is not None else b""
        code = self.proc.wait(timeout=60)
        assert KEY.encode() not in self.raw + self.piped
        return code

    def screen(self, strip: bool = True, blanks: bool = False) -> list[str]:
        """The lines of the final screen, blank ones left out unless `blanks` (each COLS wide, padded, when not
        `strip`)."""
        screen = pyte.Screen(COLS, ROWS)
        pyte.ByteStream(screen).feed(self.raw)
        lines = [line.rstrip() if strip else line for line in screen.display]
        while lines and not lines[-1].strip():
            lines.pop()
        return lines if blanks else [line for line in lines if line.strip()]


def answer_of(path: Path) -> str:
    """The answer text of an OpenAI chat stream file."""
    text = ""
    for event in split_body(path.read_bytes(), ".sse"):
        data = event.decode().strip().removeprefix("data: ")
        if data != "[DONE]":
            for choice in json.loads(data)["choices"]:
                text += choice["delta"].get("content") or ""
    return text


def drawn_once(source: str, blanks: bool = False) -> list[str]:
    """The lines of `source` drawn as Markdown, as prettify draws it (blank ones left out unless `blanks`)."""
    out = io.StringIO()
    Console(file=out, width=COLS, color_system=None).print(markdown(source))
    return [line.rstrip() for line in out.getvalue().splitlines() if blanks or line.strip()]


# --- 1. streamed Markdown keeps every line ----------------------------------------------------------------------


def test_ask_streamed_markdown_keeps_every_line_once_in_order(server):
    server.route(CHAT, Reply.file(MARKDOWN, delay=0.01))
    term = Terminal(["ask", "-p", "openai", "tides?"], environ(server))
    assert term.finish() == 0
    screen = term.screen(blanks=True)
    answer = drawn_once(answer_of(MARKDOWN), blanks=True)
    assert len([line for line in answer if line]) >= 10 and screen[0] == BEFORE
    assert screen[1:-1] == answer  # blank lines included: the streamed view is the static one
    assert screen[-1].startswith("gpt-4o-mini-2024-07-18 · 12 in / 71 out tokens · first token ")


def test_follow_streamed_markdown_keeps_every_line_once_in_order():
    term = Terminal(["prettify", "--follow"], environ(), stdin=subprocess.PIPE)
    feeder = threading.Thread(target=_drip, args=(term.proc.stdin, MARKDOWN.read_bytes()))
    feeder.start()
    code = term.finish()
    feeder.join()
    assert code == 0
    screen = term.screen(blanks=True)
    answer = drawn_once(answer_of(MARKDOWN), blanks=True)
    assert screen[0] == BEFORE and screen[1:1 + len(answer)] == answer
    assert screen[1 + len(answer)] == "" and screen[2 + len(answer)].startswith("openai · gpt-4o-mini-2024-07-18")
    for line in filter(None, answer):
        assert screen.count(line) == 1, line


def _drip(pipe, data: bytes) -> None:
    for event in split_body(data, ".sse"):
        pipe.write(event)
        pipe.flush()
        time.sleep(0.01)
    pipe.close()


# --- 2. tool calls ----------------------------------------------------------------------------------------------


def test_ask_draws_tool_calls_on_a_terminal(server):
    server.route(CHAT, Reply.file("openai/chat-two-tool-calls-stream.sse", delay=0.01))
    term = Terminal(["ask", "-p", "openai", "weather?"], environ(server))
    assert term.finish() == 0
    screen = term.screen()
    assert screen[:12] == [
        BEFORE, "tool call get_current_weather  call_Qm4vT8sLx2NbR7kWc1HdEa0Z", "  {", '    "city": "Lisbon",',
        '    "country": "PT",', '    "unit": "celsius"', "  }",
        "tool call get_local_time  call_Zp9jY3fGu6MeK0tVb5SnCq2X", "  {", '    "timezone": "Europe/Lisbon",',
        '    "format": "24h"', "  }"]
    assert screen[12].startswith("o4-mini-2025-04-16 · ") and "".join(screen[12:]).endswith("finish tool_call")


def test_ask_shows_a_tool_call_while_its_arguments_stream(server):
    reply = Reply.file("openai/chat-two-tool-calls-stream.sse")
    reply.chunks = reply.chunks[:2] + [(600.0, data) for _, data in reply.chunks[2:]]  # then the server holds on
    server.route(CHAT, reply)
    term = Terminal(["ask", "-p", "openai", "weather?"], environ(server))
    try:
        term.read_until(b'{"city"')
        assert 'tool call get_current_weather  {"city"' in term.screen()
    finally:
        term.ctrl_c()
        code = term.finish()
    assert code == 130
    assert term.screen()[1:] == ['tool call get_current_weather  {"city" (interrupted)',
                                 term.screen()[-1]]  # as it was drawn, not as a call with broken arguments
    assert re.fullmatch(r"aimux: interrupted after \d+\.\d\d s: o4-mini-2025-04-16 · 1 tool call so far",
                        term.screen()[-1])


@pytest.mark.parametrize(("fixture", "lines"), [
    ("openai/chat-two-tool-calls-stream.sse",
     ['tool get_current_weather {"city": "Lisbon", "country": "PT", "unit": "celsius"}',
      'tool get_local_time {"timezone": "Europe/Lisbon", "format": "24h"}']),
    ("openai-responses/reasoning-summary-function-call-stream.sse",
     ["I'll check tomorrow's forecast for Oslo.", 'tool get_forecast {"city": "Oslo", "days": 1, "unit": "celsius"}']),
    ("ollama/wire-chat-thinking-tool-calls-stream.ndjson", None),
])
def test_follow_text_prints_tool_calls_after_the_text(fixture, lines):
    result = subprocess.run([sys.executable, "-m", "aimux_cli", "prettify", "--follow", "-f", "text"],
                            input=(FIXTURES / fixture).read_bytes(), capture_output=True, cwd=ROOT, env=environ(),
                            timeout=60)
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode().splitlines()
    calls = [line for line in out if line.startswith("tool ")]
    assert calls, out
    if lines is not None:
        assert out == lines
    assert all(json.loads(line.split(" ", 2)[2]) is not None for line in calls)


def test_follow_text_says_a_streamed_refusal_once():
    result = subprocess.run([sys.executable, "-m", "aimux_cli", "prettify", "--follow", "-f", "text"],
                            input=(LIVE / "openai-refusal-stream.sse").read_bytes(), capture_output=True, cwd=ROOT,
                            env=environ(), timeout=60)
    assert result.returncode == 0 and result.stdout == b""
    assert result.stderr.decode() == (
        "aimux: warning: the model refused: I can't help with building a device meant to injure people.\n")


@pytest.mark.parametrize(("fixture", "calls"), [
    ("openai-responses/reasoning-summary-function-call-stream.sse", ["get_forecast  call_Vx3kP9mQ2wRt7YbN5cLs8DfH"]),
    ("ollama/wire-chat-thinking-tool-calls-stream.ndjson", ["get_weather", "get_weather"]),
])
def test_follow_draws_tool_calls_on_a_terminal(fixture, calls):
    term = Terminal(["prettify", "--follow"], environ(), stdin=subprocess.PIPE)
    term.proc.stdin.write((FIXTURES / fixture).read_bytes())
    term.proc.stdin.close()
    assert term.finish() == 0
    assert [line for line in term.screen() if line.startswith("tool call ")] == [f"tool call {c}" for c in calls]


# --- 3. Ctrl-C --------------------------------------------------------------------------------------------------


def test_ctrl_c_mid_stream_keeps_the_screen_and_exits_130(server):
    reply = Reply.file(MARKDOWN)
    reply.chunks = reply.chunks[:12] + [(600.0, data) for _, data in reply.chunks[12:]]  # a drip that stalls
    server.route(CHAT, reply)
    term = Terminal(["ask", "-p", "openai", "tides?"], environ(server))
    term.read_until(b"a smaller")  # the last delta before the stall: drawn although no delta follows
    term.ctrl_c()
    assert term.finish() == 130
    screen = term.screen()
    arrived = answer_of(MARKDOWN)[:7 * 11]  # the first eleven 7-character deltas
    assert screen[:-1] == [BEFORE, *drawn_once(arrived)]
    assert re.fullmatch(r"aimux: interrupted after \d+\.\d\d s: gpt-4o-mini-2024-07-18 · 11 chunks, 77 characters "
                        r"so far", screen[-1])
    assert "Traceback" not in term.raw.decode()


def test_ctrl_c_in_text_mode_keeps_the_text_once(server):
    reply = Reply.file(MARKDOWN)
    reply.chunks = reply.chunks[:12] + [(600.0, data) for _, data in reply.chunks[12:]]
    server.route(CHAT, reply)
    term = Terminal(["ask", "-p", "openai", "tides?"], environ(server), tty="stderr")
    proc = term.proc
    first = b""
    while not first.endswith(b"a smaller"):  # all that the server sent before it stalls
        first += os.read(proc.stdout.fileno(), 4096)
    proc.send_signal(signal.SIGINT)
    assert term.finish() == 130
    assert first + term.piped == (answer_of(MARKDOWN)[:77] + "\n").encode()
    assert term.screen()[-1].startswith("aimux: interrupted after ")


def test_ctrl_c_in_follow_keeps_the_screen_and_exits_130():
    events = split_body(MARKDOWN.read_bytes(), ".sse")
    term = Terminal(["prettify", "--follow"], environ(), stdin=subprocess.PIPE)
    term.proc.stdin.write(b"".join(events[:12]))  # then the stream stalls, its writer still there
    term.proc.stdin.flush()
    term.read_until(b"a smaller")
    term.ctrl_c()
    code = term.finish()
    term.proc.stdin.close()
    assert code == 130
    screen = term.screen()
    assert screen[:-1] == [BEFORE, *drawn_once(answer_of(MARKDOWN)[:77])]
    assert re.fullmatch(r"aimux: interrupted after \d+\.\d\d s: gpt-4o-mini-2024-07-18 · 12 events, 77 characters "
                        r"so far", screen[-1])


def test_ctrl_c_while_waiting_exits_130(server):
    server.route(CHAT, Reply(hang=True))
    term = Terminal(["ask", "-p", "openai", "tides?"], environ(server))
    term.read_until(b"waiting for openai")
    term.proc.send_signal(signal.SIGINT)
    assert term.finish() == 130
    assert term.screen() == [BEFORE, term.screen()[-1]]  # the waiting line is gone
    assert re.fullmatch(r"aimux: interrupted after \d+\.\d\d s: nothing had arrived", term.screen()[-1])


# --- 4. thinking ------------------------------------------------------------------------------------------------


def test_thinking_on_a_terminal_never_runs_into_a_piped_answer(server):
    """`aimux ask -p claude hi | cat`: the thinking (stderr, the terminal) is labelled and ends its line."""
    server.route(MESSAGES, Reply.file("anthropic/thinking-stream.sse"))
    term = Terminal(["ask", "-p", "anthropic", "hi"], environ(server), tty="stderr")
    assert term.finish() == 0
    assert term.piped == "No, 221 is not prime: it equals 13 × 17.\n".encode()
    screen = term.screen(strip=False)
    assert screen[0].rstrip() == BEFORE and len(screen) == 3  # the thinking takes two lines of the 100 columns
    assert "".join(screen[1:]).rstrip() == (
        "thinking: The user asks whether 221 is prime. Check small primes up to sqrt(221), about 14.9. 221 / 13 = 17 "
        "exactly, so 221 = 13 * 17 and it is not prime.")
    assert term.raw.endswith(b"\r\n")


@pytest.mark.parametrize(("mode", "out", "terminal"), [
    ("hide", "No, 221 is not prime: it equals 13 × 17.\n", [BEFORE]),
    ("stdout", "thinking: The user asks whether 221 is prime. Check small primes up to sqrt(221), about 14.9. "
               "221 / 13 = 17 exactly, so 221 = 13 * 17 and it is not prime.\n\n"
               "No, 221 is not prime: it equals 13 × 17.\n", [BEFORE]),
])
def test_thinking_option(server, mode, out, terminal):
    server.route(MESSAGES, Reply.file("anthropic/thinking-stream.sse"))
    term = Terminal(["ask", "-p", "anthropic", "--thinking", mode, "hi"], environ(server), tty="stderr")
    assert term.finish() == 0
    assert term.piped.decode() == out and term.screen() == terminal


# --- 5. feedback while waiting ------------------------------------------------------------------------------------


@pytest.mark.parametrize("no_stream", [False, True])
def test_a_waiting_line_until_the_first_token_then_gone(server, no_stream):
    fixture = "openai/chat-text.json" if no_stream else "openai/chat-text-stream.sse"
    reply = Reply.file(fixture)
    reply.chunks[0] = (0.8, reply.chunks[0][1])  # the provider thinks for 0.8 s
    server.route(CHAT, reply)
    term = Terminal(["ask", "-p", "openai", *(["--no-stream"] if no_stream else []), "hi"], environ(server))
    term.read_until(b"waiting for openai")
    assert term.finish() == 0
    assert "waiting for openai" not in "\n".join(term.screen())
    assert term.screen()[1].startswith("Tides come mostly from the Moon")


def test_no_waiting_line_into_a_pipe(server):
    reply = Reply.file("openai/chat-text-stream.sse")
    reply.chunks[0] = (0.5, reply.chunks[0][1])
    server.route(CHAT, reply)
    result = subprocess.run([sys.executable, "-m", "aimux_cli", "ask", "-p", "openai", "hi"], capture_output=True,
                            cwd=ROOT, env=environ(server), stdin=subprocess.DEVNULL, timeout=60)
    assert result.returncode == 0 and result.stderr == b""
