"""`aimux bench provider` under faults (issue 9, defects 5 and 8): replies that are not HTTP, encoded bodies, a
parser that cannot read a reply, and running out of file descriptors. Each failed request is a sample with a
category and a message; the run always ends with a report.

Faults that tests/provider_server.py cannot produce (bytes that break HTTP framing) come from RawServer here: a
socket server on 127.0.0.1 that answers each request with scripted raw bytes.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import socket
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import pytest

from aimux_cli import bench
from aimux_cli.bench import Plan
from aimux_cli.config import ResolvedProvider
from aimux_cli.request import build
from provider_server import Reply, split_body

ROOT = Path(__file__).resolve().parents[1]
STREAM = ROOT / "tests" / "data" / "bench" / "openai-21-chunks.sse"
KEY = "sk-bench-faults-0123456789"
ROUTE = "/v1/chat/completions"
BODY = STREAM.read_bytes()


def head(*lines: str, end: bytes = b"\r\n") -> bytes:
    return end.join(line.encode() for line in ("HTTP/1.1 200 OK", "content-type: text/event-stream", *lines)) + end * 2


def chunked(*pieces: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


OK = head("transfer-encoding: chunked") + chunked(*split_body(BODY, ".sse"))
BAD_CHUNK_SIZE = head("transfer-encoding: chunked") + chunked(split_body(BODY, ".sse")[0])[:-5] + b"zz\r\nmore\r\n"
BAD_LENGTH = head("content-length: abc") + BODY
GZIP = head(f"content-length: {len(gzip.compress(BODY))}", "content-encoding: gzip") + gzip.compress(BODY)
CORRUPT_GZIP = head("connection: close", "content-encoding: gzip") + gzip.compress(BODY)[:40] + b"\x00garbage" * 8
BROTLI = head("connection: close", "content-encoding: br") + b"\x1b\x00\x00"
DROPPED = head("transfer-encoding: chunked") + chunked(*split_body(BODY, ".sse"))[:300]  # then the socket closes
BARE_LF = head(f"content-length: {len(BODY)}", end=b"\n") + BODY  # and the connection stays open


class RawServer:
    """Answers request i with replies[i] (the last one repeating), then closes the connection unless the reply is
    in `keep_open`. Requests are read up to the end of their head and their Content-Length body."""

    def __init__(self, *replies: bytes, keep_open: tuple[bytes, ...] = ()) -> None:
        self.replies, self.keep_open, self.served = list(replies), keep_open, 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        data = b""
        try:
            while True:
                while b"\r\n\r\n" not in data:
                    more = conn.recv(65536)
                    if not more:
                        return
                    data += more
                head_, _, data = data.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head_.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                while len(data) < length:
                    data += conn.recv(65536)
                data = data[length:]
                with self.lock:
                    reply = self.replies[min(self.served, len(self.replies) - 1)]
                    self.served += 1
                conn.sendall(reply)
                if reply not in self.keep_open:
                    return
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture
def raw_server():
    servers: list[RawServer] = []

    def make(*replies: bytes, **kw) -> RawServer:
        servers.append(RawServer(*replies, **kw))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def run_bench(url: str, plan: Plan, timeout: float = 10.0) -> bench.Run:
    resolved = ResolvedProvider(name="local", wire="openai.chat", base_url=url + "/v1", model="bench-model",
                                api_key=KEY, headers={}, timeout=timeout, auth="bearer", key_env=None,
                                config_path="-")
    prepared = build(resolved, prompt="hello", max_tokens=64, stream=True)
    return asyncio.run(bench.run(prepared, resolved.wire, plan, timeout=timeout))


# --- the lean connection's parser, fed bytes directly ---

def fed(data: bytes, piece: int = 7):
    from aimux_cli.lean_http import LeanConn

    conn = LeanConn()
    for i in range(0, len(data), piece):
        conn.data_received(data[i:i + piece])
    if conn.mode == "close" and conn.error is None:
        conn.connection_lost(None)
    return conn


def body_of(conn) -> bytes:
    return b"".join(d for _, d in conn.pieces)


@pytest.mark.parametrize("piece", [1, 5, 1000])
def test_a_head_with_bare_lf_line_ends_parses_as_h11_does(piece):
    conn = fed(b"HTTP/1.1 200 OK\nContent-Type: text/event-stream\ncontent-length: 5\n\nhello", piece)
    assert conn.head_done and conn.status == 200 and conn.headers["content-type"] == "text/event-stream"
    assert body_of(conn) == b"hello" and conn.done and conn.error is None
    mixed = fed(b"HTTP/1.1 200 OK\r\ncontent-length: 2\n\r\nhi", piece)
    assert body_of(mixed) == b"hi" and mixed.done


@pytest.mark.parametrize("coding, encode", [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),  # zlib-wrapped, as RFC 9110 says
    ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send it
])
@pytest.mark.parametrize("framing", ["chunked", "length", "close"])
def test_gzip_and_deflate_replies_are_decoded(coding, encode, framing):
    encoded = encode(BODY)
    if framing == "chunked":
        reply = head("transfer-encoding: chunked", f"content-encoding: {coding}") + chunked(encoded[:10], encoded[10:])
    elif framing == "length":
        reply = head(f"content-length: {len(encoded)}", f"content-encoding: {coding}") + encoded
    else:
        reply = head("connection: close", f"content-encoding: {coding}") + encoded
    conn = fed(reply, 64)
    assert conn.error is None and conn.done
    assert body_of(conn) == BODY


def test_an_unknown_coding_is_refused_clearly():
    conn = fed(BROTLI)
    assert "br" in str(conn.error) and "identity" in str(conn.error)
    assert body_of(conn) == b""


def test_corrupt_gzip_keeps_what_decoded_before_the_fault():
    data = gzip.compress(BODY)
    conn = fed(head("connection: close", "content-encoding: gzip") + data[:len(data) // 2] + b"\xff" * 64, 16)
    assert conn.error is not None and "corrupt gzip" in str(conn.error)
    got = body_of(conn)  # what inflated before zlib saw the fault (its last bytes may be garbage it inflated)
    assert len(got) > 100 and got[:100] == BODY[:100]


def test_a_gzip_body_cut_short_is_an_error_not_a_whole_body():
    data = gzip.compress(BODY)
    conn = fed(head("connection: close", "content-encoding: gzip") + data[:-12], 4096)  # no end of the gzip member
    assert conn.error is not None and "ends early" in str(conn.error)


@pytest.mark.parametrize("reply, why", [
    (BAD_LENGTH, "bad content-length 'abc'"),
    (head("content-length: -5") + b"x", "bad content-length '-5'"),
    (b"SMTP ready\r\n\r\n", "bad status line"),
    (b"HTTP/1.1 abc OK\r\n\r\n", "bad status line"),
])
def test_a_head_that_is_not_http_is_an_error(reply, why):
    conn = fed(reply)
    assert why in str(conn.error)


def test_a_bad_chunk_size_line_delivers_the_body_before_it():
    conn = fed(BAD_CHUNK_SIZE, 1 << 16)
    assert "bad chunk size line 'zz'" in str(conn.error)
    assert body_of(conn) == split_body(BODY, ".sse")[0]


# --- whole runs: one bad reply never ends a run ---

def test_one_bad_reply_never_aborts_a_run(raw_server):
    server = raw_server(BAD_CHUNK_SIZE, OK, BAD_LENGTH, GZIP, CORRUPT_GZIP, BROTLI, DROPPED, OK)
    result = run_bench(server.url, Plan(requests=8, concurrency=1, warmup=0))
    got = [(s.status, s.error) for s in result.samples]
    # framing faults are network errors, undecodable bodies provider errors (as in client.py), either is a stream
    # cut short once some of the body had arrived
    assert [status for status, _ in got] == ["incomplete", "ok", "network", "ok", "provider", "provider",
                                             "incomplete", "ok"], got
    assert "bad chunk size line" in got[0][1] and "bad content-length 'abc'" in got[2][1]
    assert "corrupt gzip" in got[4][1] and "Content-Encoding 'br'" in got[5][1]
    assert "cut short" in got[6][1]
    assert result.samples[3].output_tokens == 21  # the gzip reply was read as the plain one
    summary = bench.summarize(result.samples, result.wall_s)
    assert summary["errors"] == {"auth": 0, "rate_limit": 0, "provider": 2, "network": 1, "incomplete": 2}
    assert summary["error_messages"] == {"incomplete": got[0][1], "network": got[2][1], "provider": got[4][1]}
    assert all(KEY not in (error or "") for _, error in got)


def test_a_bare_lf_head_on_a_kept_alive_connection_is_read_at_once(raw_server):
    server = raw_server(BARE_LF, keep_open=(BARE_LF,))
    result = run_bench(server.url, Plan(requests=2, concurrency=1, warmup=0), timeout=3.0)
    assert [s.status for s in result.samples] == ["ok", "ok"], [s.error for s in result.samples]
    assert server.served == 2


def test_a_reply_the_parser_cannot_read_is_that_requests_failure(raw_server, monkeypatch):
    """A wire module that raises on a type-confused chunk fails that one request ("provider"), not the run."""
    from aimux_cli import wire

    feed_sse = wire.StreamFolder.feed_sse

    def confused(self, data, event=None):
        if '"boom"' in data:
            raise TypeError("'int' object is not iterable")
        return feed_sse(self, data, event)

    monkeypatch.setattr(wire.StreamFolder, "feed_sse", confused)
    boom = head("transfer-encoding: chunked") + chunked(b'data: {"choices": [], "x": "boom"}\n\n')
    server = raw_server(boom, OK)
    result = run_bench(server.url, Plan(requests=3, concurrency=1, warmup=0))
    assert [s.status for s in result.samples] == ["provider", "ok", "ok"]
    assert "could not be read (TypeError: 'int' object is not iterable)" in result.samples[0].error


# --- file descriptors ---

def limited(soft: int):
    """A preexec_fn that lowers the child's open-file limit (soft and hard) to `soft`."""
    def apply() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, soft))
    return apply


def aimux(*args: str, env: dict, limit: int | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aimux_cli", *args], capture_output=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "NO_COLOR": "", "COLUMNS": "120", **env},
                          preexec_fn=limited(limit) if limit else None)


@pytest.fixture
def bench_env(provider_server, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'[providers.local]\nwire = "openai.chat"\nbase_url = "{provider_server.url}/v1"\n'
                      f'api_key_env = "LOCAL_BENCH_KEY"\nmodel = "bench-model"\n')
    return {"AIMUX_CONFIG": str(config), "LOCAL_BENCH_KEY": KEY}


def test_concurrency_beyond_the_open_file_limit_is_refused_up_front(provider_server, bench_env):
    provider_server.route(ROUTE, Reply.file(STREAM))
    result = aimux("bench", "provider", "-p", "local", "-n", "400", "-c", "400", "--warmup", "0", "-f", "json",
                   env=bench_env, limit=256)
    assert result.returncode == 2 and result.stdout == b""
    line = result.stderr.decode()
    assert line.count("\n") == 1 and "open-file limit (256" in line and "--concurrency 400" in line
    assert provider_server.count(ROUTE) == 0


def test_the_open_loop_pool_shrinks_to_the_open_file_limit(provider_server, bench_env):
    provider_server.route(ROUTE, Reply.file(STREAM))
    result = aimux("bench", "provider", "-p", "local", "-n", "5", "--rate", "200", "--warmup", "0", "-f", "json",
                   env=bench_env, limit=256)
    assert result.returncode == 0, result.stderr
    assert b"warning: at most" in result.stderr and b"open-file limit (256" in result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["completed"] == 5 and report["meta"]["concurrency"] < 256


RUN_WITH_FEW_DESCRIPTORS = """
import asyncio, json, sys
from aimux_cli import bench
from aimux_cli.config import ResolvedProvider
from aimux_cli.request import build
resolved = ResolvedProvider(name="local", wire="openai.chat", base_url=sys.argv[1] + "/v1", model="m",
                            api_key="KEY", headers={}, timeout=20.0, auth="bearer", key_env=None, config_path="-")
prepared = build(resolved, prompt="hello", max_tokens=64, stream=True)
run = asyncio.run(bench.run(prepared, resolved.wire, bench.Plan(requests=200, concurrency=200, warmup=0),
                            timeout=20.0))
print(json.dumps([[s.status, s.error] for s in run.samples]))
""".replace("KEY", KEY)


def test_running_out_of_descriptors_mid_run_fails_requests_not_the_run(provider_server):
    """Past the up-front check (bench.run called directly, 200 in flight under a limit of 120): the wire module
    is imported before the sockets take every descriptor, and a connection that gets none is a network failure
    saying so."""
    events = split_body(BODY, ".sse")
    provider_server.route(ROUTE, Reply(200, {"content-type": "text/event-stream"},
                                       [(0.5, events[0])] + [(0.0, e) for e in events[1:]]))
    result = subprocess.run([sys.executable, "-c", RUN_WITH_FEW_DESCRIPTORS, provider_server.url], cwd=ROOT,
                            capture_output=True, timeout=120, preexec_fn=limited(120))
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    samples = json.loads(result.stdout)
    assert len(samples) == 200
    statuses = {status for status, _ in samples}
    assert statuses <= {"ok", "network"} and "ok" in statuses and "network" in statuses
    assert all("out of file descriptors" in error for status, error in samples if status == "network")


def test_an_error_body_dripping_forever_is_read_for_the_timeout_only(provider_server):
    """The status is the news: the error body is read for at most the timeout, then the request fails with what
    arrived (before, the lean client waited for the whole drip: 30 s here, every dot in the message)."""
    provider_server.route(ROUTE, Reply(500, {"content-type": "text/plain"},
                                       [(0.0, b"upstream failed ")] + [(0.1, b".")] * 300))
    result = run_bench(provider_server.url, Plan(requests=1, concurrency=1, warmup=0), timeout=1.0)
    sample = result.samples[0]
    assert sample.status == "provider" and "HTTP 500: upstream failed" in sample.error
    assert sample.error.count(".") < 100, sample.error
