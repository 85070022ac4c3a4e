"""Nothing written to stdout is lost when a write into a full pipe is cut short (output.whole_writes).

A blocking write into a full pipe returns early, short, when a signal (or io_uring's task work: uvloop's loop,
closed just before `bench provider` writes its report) interrupts it; a pipe that another process made non-blocking
refuses with EAGAIN. Under PYTHONUNBUFFERED=1 Python's text layer dropped what a short write left, and the command
went on to exit 0 with its output cut at 64 KiB; buffered, EAGAIN was an error with the rest lost.

Each case runs aimux as a real process whose stdout is a pipe this test does not read until it is full; then the
write is interrupted (SIGUSR1, to which the child answers with a no-op handler) or, on a non-blocking pipe, left to
meet EAGAIN; then everything is read and compared with the same command's output into an ordinary pipe.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from provider_server import Reply, split_body

ROOT = Path(__file__).resolve().parents[1]
STREAM = ROOT / "tests" / "data" / "bench" / "openai-21-chunks.sse"
KEY = "sk-pipes-secret-0123456789"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads pipe and process state from Linux")

# aimux through its real entry point, SIGUSR1 made harmless (its only effect: interrupting a blocked write)
CHILD = ("import signal, sys; signal.signal(signal.SIGUSR1, lambda *_: None); sys.argv[0] = 'aimux'; "
         "from aimux_cli.fastexit import entry; entry()")
MODES = {"unbuffered": {"PYTHONUNBUFFERED": "1"}, "buffered": {}}


def _env(mode: str, extra: dict | None = None) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONUNBUFFERED", "NO_COLOR", "FORCE_COLOR")}
    return {**base, "COLUMNS": "100", **MODES[mode], **(extra or {})}


def _queued(fd: int) -> int:
    buf = bytearray(4)
    fcntl.ioctl(fd, termios.FIONREAD, buf)
    return int.from_bytes(buf, sys.byteorder)


def _waits_for_room(pid: int, full: bool) -> bool:
    """Whether the process sleeps in a write into a full pipe, or in poll/select (waiting for room): the kernel's
    wait channel says; where it does not, a sleeping writer and a pipe filled to its size."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        wchan = Path(f"/proc/{pid}/wchan").read_text()
    except (OSError, IndexError):
        return False
    if state not in ("S", "D"):
        return False
    if wchan in ("", "0"):  # no wait channels in this kernel
        return full
    return any(word in wchan for word in ("pipe_write", "poll", "select"))


def run_into_full_pipe(args: list[str], env: dict, how: str) -> tuple[int, bytes, bytes]:
    """(exit code, stdout, stderr) of aimux `args` whose stdout pipe fills up before it is read; `how`: "signal"
    interrupts the write blocked on the full pipe, "nonblocking" makes the pipe non-blocking from the start."""
    r, w = os.pipe()
    if how == "nonblocking":
        os.set_blocking(w, False)
    proc = subprocess.Popen([sys.executable, "-c", CHILD, *args], stdin=subprocess.DEVNULL, stdout=w,
                            stderr=subprocess.PIPE, cwd=ROOT, env=env)
    os.close(w)
    size = fcntl.fcntl(r, fcntl.F_GETPIPE_SZ)
    # wait (unread) until the writer waits for room in the pipe, or has ended
    while proc.poll() is None and not (_queued(r) and _waits_for_room(proc.pid, _queued(r) >= size)):
        time.sleep(0.01)
    if how == "signal" and proc.poll() is None:
        os.kill(proc.pid, signal.SIGUSR1)  # the blocked write returns short: the rest must still be written
    chunks = []
    while chunk := os.read(r, 1 << 20):
        chunks.append(chunk)
    os.close(r)
    err = proc.stderr.read()  # small: cannot fill its pipe while stdout was waiting
    return proc.wait(), b"".join(chunks), err


def plain(args: list[str], env: dict) -> bytes:
    done = subprocess.run([sys.executable, "-m", "aimux_cli", *args], capture_output=True, cwd=ROOT, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


@pytest.fixture(scope="module")
def big_document(tmp_path_factory) -> Path:
    """A 10 MB chat completion (fixtures/openai/chat-text.json, its answer repeated)."""
    doc = json.loads((ROOT / "fixtures" / "openai" / "chat-text.json").read_text())
    message = doc["choices"][0]["message"]
    message["content"] = (message["content"] + "\n") * (10_000_000 // (len(message["content"]) + 1))
    path = tmp_path_factory.mktemp("pipes") / "big.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("how", ["signal", "nonblocking"])
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("fmt", ["json", "toon"])
def test_prettify_output_survives_a_cut_short_write(big_document, fmt, mode, how):
    args = ["prettify", "-f", fmt, str(big_document)]
    expected = plain(args, _env(mode))
    assert len(expected) > 10_000_000
    code, out, err = run_into_full_pipe(args, _env(mode), how)
    assert (code, len(out)) == (0, len(expected)), err.decode()
    assert out == expected


@pytest.mark.parametrize("how", ["signal", "nonblocking"])
def test_ask_raw_bytes_survive_a_cut_short_write(provider_server, tmp_path, how):
    """`ask -f raw` writes the provider's bytes through output.write_bytes (the binary layer, not the text one)."""
    doc = json.loads((ROOT / "fixtures" / "openai" / "chat-text.json").read_text())
    doc["choices"][0]["message"]["content"] = "sourdough " * 100_000
    body = json.dumps(doc).encode()
    provider_server.route("/v1/chat/completions", Reply(200, {"content-type": "application/json"}, [(0.0, body)]))
    config = tmp_path / "config.toml"
    config.write_text(f'[providers.local]\nwire = "openai.chat"\nbase_url = "{provider_server.url}/v1"\n'
                      f'api_key_env = "LOCAL_PIPES_KEY"\nmodel = "m"\n')
    env = _env("unbuffered", {"AIMUX_CONFIG": str(config), "LOCAL_PIPES_KEY": KEY})
    code, out, err = run_into_full_pipe(["ask", "-p", "local", "--no-stream", "-f", "raw", "hi"], env, how)
    assert (code, len(out)) == (0, len(body)), err.decode()
    assert out == body


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_bench_report_survives_a_cut_short_write(provider_server, tmp_path, loop):
    """The case seen: `bench provider -f json` under PYTHONUNBUFFERED=1, its report cut at a pipe's size, exit 0."""
    if loop == "uvloop":
        pytest.importorskip("uvloop", reason="uvloop is not installed (pip install 'aimux[fast]')")
    events = split_body(STREAM.read_bytes(), ".sse")
    provider_server.route("/v1/chat/completions",
                          Reply(200, {"content-type": "text/event-stream"}, [(0.0, e) for e in events]))
    config = tmp_path / "config.toml"
    config.write_text(f'[providers.local]\nwire = "openai.chat"\nbase_url = "{provider_server.url}/v1"\n'
                      f'api_key_env = "LOCAL_PIPES_KEY"\nmodel = "m"\n')
    env = _env("unbuffered", {"AIMUX_CONFIG": str(config), "LOCAL_PIPES_KEY": KEY})
    args = ["bench", "provider", "-p", "local", "-n", "400", "-c", "8", "--warmup", "1", "--loop", loop, "-f", "json"]
    code, out, err = run_into_full_pipe(args, env, "signal")
    assert code == 0, err.decode()
    assert len(out) > 65536
    report = json.loads(out)  # a cut report is not JSON
    assert len(report["requests"]) == 400
