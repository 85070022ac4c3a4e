"""Every command against every network fault of the loopback provider (tests/provider_server.py), as real processes.

Commands: `ask` in text, json, toon and raw; `test-providers`; `bench provider -n 2`. Faults: a one-byte drip, an
error body dripping forever, silence after the headers, silence mid-stream, a reset before any byte and mid-body, a
reply that is not HTTP, a gzip bomb on a 200 and on a 500, corrupt gzip (at once and mid-stream), gzip that ends
early, a Content-Encoding never asked for, a bad chunk-size line, `content-length: abc`, a response head in bare LF,
an HTML 502 from a proxy, the key echoed in a 401 body, in a stream error event and in the answer text, and
Retry-After in every form.

Each run must end with the documented exit code, one error line at most and no traceback or "internal error", keep
the partial answer where one arrived, stay far below a gzip bomb's inflated size in memory (aimux's own peak RSS,
from wait4), and never show the test key: stdout, stderr and -o files are searched for it plain, JSON-escaped,
\\u-escaped and URL-encoded. `-f raw` is the one exception by design: the provider's bytes as received (README).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import quote, quote_plus

import pytest

from provider_server import Reply, Seen, http_date

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-fault+SECRET/5f2e=8a91c"  # "+", "/" and "=" make the escaped and URL-encoded forms differ from it
KEY_FORMS = {
    "plain": KEY,
    "json \\/": KEY.replace("/", "\\/"),
    "\\u-escaped": "".join(f"\\u{ord(c):04x}" for c in KEY),
    "url-encoded": quote(KEY, safe=""),
    "form-encoded": quote_plus(KEY),
    "secret core": "SECRET/5f2e=8a91c",
}
CHAT = "/v1/chat/completions"
MODELS = "/v1/models"
MODEL = "gpt-4.1-mini"
BOMB = 1 << 30  # what the gzip bombs inflate to; every run must stay far below it
HANG = 30.0  # seconds: 10x the provider timeout of CONFIG; a run still going then is stuck (killed, the test fails)
PARTIAL = "Hello from before the fault, "  # the text of the events sent before a fault cuts the stream

CONFIG = """\
[providers.openai]
base_url = "{url}/v1"
timeout = 3
"""

COMMANDS: dict[str, list[str]] = {
    "ask-text": ["ask", "-p", "openai", "--retries", "0", "-f", "text", "hello"],
    "ask-json": ["ask", "-p", "openai", "--retries", "0", "-f", "json", "hello"],
    "ask-toon": ["ask", "-p", "openai", "--retries", "0", "-f", "toon", "hello"],
    "ask-raw": ["ask", "-p", "openai", "--retries", "0", "-f", "raw", "hello"],
    "test-providers": ["test-providers", "openai", "-t", "5", "-f", "json", "-o", "{out}"],
    "bench": ["bench", "provider", "-p", "openai", "-n", "2", "-c", "1", "--warmup", "0", "-f", "json", "-o", "{out}"],
}


# --- provider-shaped bodies ------------------------------------------------------------------------------------------


def chunk(obj: dict) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def delta(text: str, finish: str | None = None) -> bytes:
    return chunk({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": MODEL,
                  "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]})


def sse(*texts: str, done: bool = True) -> list[bytes]:
    """A chat stream of these text deltas (and its finish and [DONE] when `done`), one event per piece."""
    events = [delta(t) for t in texts]
    return events + [delta("", "stop"), b"data: [DONE]\n\n"] if done else events


def body(text: str) -> bytes:
    return json.dumps({"id": "c1", "object": "chat.completion", "created": 1, "model": MODEL,
                       "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                    "finish_reason": "stop"}],
                       "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}}).encode()


ANSWER = ["Hello from before the fault, ", "and the rest ", "of the answer."]
GOOD_STREAM = Reply(200, {"content-type": "text/event-stream"}, [(0.0, e) for e in sse(*ANSWER)])
GOOD_BODY = Reply.body(body("".join(ANSWER)))
ECHO = {"error": {"message": f"Incorrect API key provided: {KEY}. You can find your API key at "
                             "https://platform.openai.com/account/api-keys.",
                  "type": "invalid_request_error", "code": "invalid_api_key"}}
HTML_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
            b"</center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n")


def _gzip_cut(data: bytes) -> bytes:
    """gzip of `data` without its last blocks and trailer: the first event decodes, the body then ends early."""
    z = zlib.compressobj(6, zlib.DEFLATED, 31)
    return z.compress(data[:200]) + z.flush(zlib.Z_SYNC_FLUSH) + z.compress(data[200:])


def by_kind(stream: Reply, whole: Reply) -> Callable[[Seen], Reply]:
    """Answer a streamed request with `stream` and a whole one with `whole` (test-providers sends both)."""
    return lambda seen: stream if seen.json().get("stream") else whole


# --- the faults ------------------------------------------------------------------------------------------------------

ASK = ("ask-text", "ask-json", "ask-toon", "ask-raw")


@dataclass
class Fault:
    replies: list  # for the chat route, in turn (the last repeats)
    exits: dict[str, int]  # command -> exit code; "ask" stands for the four ask formats
    partial: bool = False  # the text sent before the fault must be in the output
    error: str | None = None  # a word the error line (or report) must hold
    retry_after: float | None = None  # the lower bound between the two requests of a Retry-After case
    names_url: bool = False  # the error line names the URL (an HTML page from something in front of the provider)
    ask_args: list[str] = field(default_factory=list)

    def exit_for(self, command: str) -> int:
        return self.exits.get(command, self.exits.get("ask", 0) if command.startswith("ask") else 0)


def _retry(headers: dict[str, str] | Callable[[], dict[str, str]], wait: float) -> Fault:
    def busy(seen: Seen) -> Reply:  # built on arrival: an HTTP date must be ahead of the request, not of the import
        return Reply.json({"error": {"type": "overloaded", "message": "busy"}}, 503,
                          headers() if callable(headers) else headers)
    return Fault([busy, by_kind(GOOD_STREAM, GOOD_BODY)], {"ask": 0, "test-providers": 10, "bench": 0},
                 retry_after=wait, ask_args=["--retries", "1"])


FAULTS: dict[str, Fault] = {
    "slow drip": Fault([by_kind(Reply.drip(b"".join(sse(*ANSWER)), every=0.001, size=1),
                                Reply.drip(body("".join(ANSWER)), every=0.002, size=16,
                                           content_type="application/json"))],
                       {"ask": 0, "test-providers": 0, "bench": 0}),
    "error body dripping forever": Fault([Reply(500, {"content-type": "text/plain"},
                                                [(0, b"upstream failed ")] + [(0.1, b".")] * 600)],  # 60 s
                                         {"ask": 7, "test-providers": 10, "bench": 7},
                                         error="HTTP 500: upstream failed"),
    "silence after headers": Fault([Reply.silence()], {"ask": 8, "test-providers": 10, "bench": 8}, error="timed out"),
    "silence mid-stream": Fault([by_kind(Reply.silence(delta(PARTIAL)), GOOD_BODY)],
                                {"ask": 9, "test-providers": 10, "bench": 9}, partial=True),
    "reset mid-body": Fault([by_kind(Reply(200, {"content-type": "text/event-stream"},
                                           [(0, e) for e in sse(*ANSWER)], drop_after=1, reset=True), GOOD_BODY)],
                            {"ask": 9, "test-providers": 10, "bench": 9}, partial=True),
    "gzip bomb 200": Fault([Reply.gzip_bomb(BOMB, prefix=delta(PARTIAL))],
                           {"ask": 9, "test-providers": 10, "bench": 9}, partial=True, error="decompression bomb"),
    "gzip bomb 500": Fault([Reply.gzip_bomb(BOMB, status=500, content_type="application/json")],
                           {"ask": 7, "test-providers": 10, "bench": 7}, error="HTTP 500"),
    "corrupt gzip": Fault([by_kind(Reply.corrupt_gzip(delta(PARTIAL)),
                                   Reply.corrupt_gzip(body("x")[:20], content_type="application/json"))],
                          {"ask": 9, "test-providers": 10, "bench": 9}, partial=True, error="gzip"),
    "corrupt gzip at once": Fault([Reply.corrupt_gzip(b"")], {"ask": 7, "test-providers": 10, "bench": 7},
                                  error="gzip"),
    "gzip that ends early": Fault([by_kind(Reply(200, {"content-type": "text/event-stream", "content-encoding": "gzip"},
                                                 [(0, _gzip_cut(b"".join(sse(*ANSWER))))], "length"),
                                           GOOD_BODY)],
                                  {"ask": 9, "test-providers": 10, "bench": 9}, partial=True, error="ends early"),
    "a coding never asked for": Fault([Reply(200, {"content-type": "text/event-stream", "content-encoding": "br"},
                                             [(0, b"\x1b\x2f\x00\xf8")], "length")],
                                      {"ask": 7, "test-providers": 10, "bench": 7}, error="Content-Encoding 'br'"),
    "not HTTP at all": Fault([Reply.raw(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")], {"ask": 8, "test-providers": 10, "bench": 8}),
    "reset before any byte": Fault([Reply(chunks=[(0, b"x")], drop_after=0, reset=True)],
                                   {"ask": 8, "test-providers": 10, "bench": 8}),
    "bad chunk size": Fault([by_kind(Reply.bad_chunk_size([delta(PARTIAL)]), GOOD_BODY)],
                            {"ask": 9, "test-providers": 10, "bench": 9}, partial=True),
    "content-length abc": Fault([Reply.bad_content_length()], {"ask": 8, "test-providers": 10, "bench": 8}),
    "bare LF head": Fault([by_kind(Reply.bare_lf(b"".join(sse(*ANSWER)), content_type="text/event-stream"),
                                   Reply.bare_lf(body("".join(ANSWER))))],
                          {"ask": 0, "test-providers": 0, "bench": 0}),
    "HTML 502": Fault([Reply.body(HTML_502, 502, "text/html")], {"ask": 7, "test-providers": 10, "bench": 7},
                      error="HTTP 502 from ", names_url=True),
    "key in 401 body": Fault([Reply.json(ECHO, 401)], {"ask": 5, "test-providers": 10, "bench": 5},
                             error="Incorrect API key provided: [REDACTED]"),
    "key in stream error event": Fault(
        [by_kind(Reply(200, {"content-type": "text/event-stream"}, [(0, delta(PARTIAL)), (0.01, chunk(ECHO))]),
                 GOOD_BODY)],
        {"ask": 5, "test-providers": 10, "bench": 5}, partial=True),  # the code invalid_api_key is 5 (errors.ERROR_KINDS)
    "key in answer text": Fault(
        [by_kind(Reply(200, {"content-type": "text/event-stream"}, [(0, e) for e in sse("the key is ", KEY)]),
                 Reply.body(body(f"the key is {KEY}")))],
        {"ask": 0, "test-providers": 0, "bench": 0}),
    "retry-after seconds": _retry({"retry-after": "1"}, 1.0),
    "retry-after http-date": _retry(lambda: {"retry-after": http_date(2)}, 1.0),  # whole seconds: 2 s ahead >= 1 s
    "retry-after-ms": _retry({"retry-after-ms": "300"}, 0.3),
    "retry-after garbage": _retry({"retry-after": "soon, maybe"}, 0.0),
}


# --- running aimux ---------------------------------------------------------------------------------------------------


@dataclass
class Run:
    code: int
    out: bytes
    err: bytes
    files: dict[str, bytes]
    peak_rss: int  # bytes, the child's maximum resident set size


def process_env(config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_API_KEY") and not k.lower().endswith("_proxy") and k != "AIMUX_DEBUG"}
    dead = "http://127.0.0.1:9"  # a proxy that refuses: anything not bound for the loopback server fails at once
    env.update(OPENAI_API_KEY=KEY, AIMUX_CONFIG=str(config), HTTP_PROXY=dead, HTTPS_PROXY=dead, ALL_PROXY=dead,
               NO_PROXY="127.0.0.1,localhost", NO_COLOR="1", COLUMNS="100", XDG_CONFIG_HOME=str(config.parent))
    return env


# Linux folds the forking process's memory into a child's ru_maxrss (fork copies the mm, vfork shares it, and exec
# keeps the old mm's high-water mark): spawned from a pytest of 400 MB, aimux would "peak" at 400 MB. So a small
# Python spawns aimux, reads its rusage with wait4 and writes "status maxrss_kib" to the file named first.
_SPAWN = ("import os, sys\n"
          "pid = os.posix_spawn(sys.executable, [sys.executable, *sys.argv[2:]], os.environ)\n"
          "_, status, usage = os.wait4(pid, 0)\n"
          "open(sys.argv[1], 'w').write(f'{status} {usage.ru_maxrss}')\n")


def run_aimux(config: Path, argv: list[str]) -> Run:
    """Run aimux to completion with stdout/stderr in files; its exit code and its own peak RSS (see _SPAWN)."""
    with tempfile.TemporaryDirectory() as tmp:
        out_file, usage_file = os.path.join(tmp, "report.json"), os.path.join(tmp, "usage")
        argv = [a.replace("{out}", out_file) for a in argv]
        with open(os.path.join(tmp, "stdout"), "wb") as out, open(os.path.join(tmp, "stderr"), "wb") as err:
            proc = subprocess.Popen([sys.executable, "-c", _SPAWN, usage_file, "-m", "aimux_cli", *argv], cwd=ROOT,
                                    env=process_env(config), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    start_new_session=True)
            _wait(proc, argv)
        status, maxrss = map(int, Path(usage_file).read_text().split())
        os.unlink(usage_file)
        files = {name: Path(tmp, name).read_bytes() for name in os.listdir(tmp)}
    return Run(os.waitstatus_to_exitcode(status), files.pop("stdout"), files.pop("stderr"), files, maxrss * 1024)


def _wait(proc: subprocess.Popen, argv: list[str]) -> None:
    """A run still going after HANG seconds is killed (its whole session) and fails the test: a guard against hangs
    (a fault the command does not bound in time), not a speed limit."""
    try:
        proc.wait(timeout=HANG)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.fail(f"still running after {HANG:g} s (10x the provider timeout): {argv}")


def leaks(run: Run, command: str) -> list[str]:
    """Where a form of the key shows up (raw stdout excepted: the provider's bytes as received, by design)."""
    outputs = {"stderr": run.err, **{f"-o {name}": data for name, data in run.files.items()}}
    if command != "ask-raw":
        outputs["stdout"] = run.out
    return [f"{form} in {where}" for where, data in outputs.items() for form, text in KEY_FORMS.items()
            if text.encode() in data or text.lower().encode() in data.lower()]


@pytest.fixture
def config(provider_server, tmp_path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(url=provider_server.url))
    provider_server.route(MODELS, Reply.json({"object": "list", "data": [{"id": MODEL, "object": "model"}]}))
    return path


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("fault", list(FAULTS))
def test_every_command_holds_under_every_fault(provider_server, config, fault, command):
    spec = FAULTS[fault]
    provider_server.route(CHAT, *spec.replies)
    argv = COMMANDS[command] + (spec.ask_args if command.startswith("ask") else [])
    if command.startswith("ask") and spec.ask_args:
        argv = [a for i, a in enumerate(argv) if not (a == "--retries" or argv[i - 1] == "--retries")] + spec.ask_args
    run = run_aimux(config, argv)
    err = run.err.decode("utf-8", "replace")
    context = f"{fault} × {command}: exit {run.code}\nstderr: {err[-1500:]}\nstdout: {run.out[:800]!r}"

    assert "Traceback" not in err and "internal error" not in err, context
    assert not leaks(run, command), f"{leaks(run, command)}; {context}"
    assert run.code == spec.exit_for(command), context
    assert run.peak_rss < BOMB // 2, f"peak RSS {run.peak_rss >> 20} MiB; {context}"
    reports = [run.out, *run.files.values()] if command in ("test-providers", "bench") else []
    for report in reports:
        assert b"internal error" not in report, context
    if command.startswith("ask") and run.code:
        lines = [line for line in err.splitlines() if line.startswith("aimux: error:")]
        assert len(lines) == 1, context
        if spec.error:
            assert spec.error in lines[0], context
        if spec.names_url:
            assert lines[0].endswith(f"{provider_server.url}{CHAT}: 502 Bad Gateway") and "<" not in lines[0], context
    if spec.partial and command.startswith("ask"):
        shown = run.out.decode("utf-8", "replace")
        assert PARTIAL.strip() in shown, context
    if spec.retry_after is not None and command.startswith("ask"):
        first, second = provider_server.seen(CHAT)[:2]
        assert second.t - first.t >= spec.retry_after, context


def test_a_gzip_bomb_on_a_200_stays_far_below_its_size_and_keeps_the_text(provider_server, config):
    """Defect 3: a 1 GiB bomb on a 200 drove `ask` to gigabytes of RSS; the body is now cut at 256 MiB decoded."""
    provider_server.route(CHAT, Reply.gzip_bomb(2 * BOMB, prefix=delta(PARTIAL)))
    run = run_aimux(config, COMMANDS["ask-text"])
    assert run.code == 9 and run.out.decode().startswith(PARTIAL)
    assert "inflates more than 500:1 (a decompression bomb)" in run.err.decode()
    assert run.peak_rss < 256 << 20, f"peak RSS {run.peak_rss >> 20} MiB for a {2 * BOMB >> 30} GiB bomb"


def test_a_gzip_bomb_on_an_error_status_reads_at_most_one_mib(provider_server, config):
    """Defect 3: the 500 case read the whole bomb (23 GB RSS); an error body is now read to 1 MiB decoded."""
    provider_server.route(CHAT, Reply.gzip_bomb(2 * BOMB, status=500, content_type="application/json"))
    run = run_aimux(config, COMMANDS["ask-json"])
    assert run.code == 7 and "HTTP 500" in run.err.decode()
    assert run.peak_rss < 200 << 20, f"peak RSS {run.peak_rss >> 20} MiB"


def test_debug_log_of_a_failing_ask_shows_the_exchange_and_never_the_key(provider_server, config):
    """Issue 10: --debug showed the request headers twice (once as if they were the response's) and neither the
    request body nor the response headers. Issue 9: the key echoed in the 401 body stays out of the log."""
    provider_server.route(CHAT, Reply.json(ECHO, 401, {"x-request-id": "req-7", "www-authenticate": f"Bearer {KEY}"}))
    run = run_aimux(config, ["--debug", *COMMANDS["ask-json"]])
    err = run.err.decode()
    assert run.code == 5 and not leaks(run, "ask-json"), err
    client_lines = [line.split("aimux.client: ", 1)[1] for line in err.splitlines() if "aimux.client: " in line]
    assert client_lines[0] == f"> POST {provider_server.url}{CHAT} (attempt 1)"
    assert client_lines[1].startswith("> headers: ") and "authorization: [REDACTED];" in client_lines[1]
    assert client_lines[2].startswith("> body (")
    assert '"messages":[{"role":"user","content":"hello"}]' in client_lines[2]
    assert client_lines[3].startswith("< HTTP 401 Unauthorized (")
    assert "x-request-id: req-7;" in client_lines[4] and "www-authenticate: [REDACTED];" in client_lines[4]
    assert client_lines[5].startswith("< body (") and "Incorrect API key provided: [REDACTED]" in client_lines[5]
