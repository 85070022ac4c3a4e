"""A scriptable HTTP server on 127.0.0.1 that plays LLM providers in tests. Nothing leaves the machine.

    server.route("/v1/chat/completions", Reply.sse_file("openai/stream-basic.sse", delay=0.01),
                 headers={"authorization": "Bearer test-key"}, json={"model": "gpt-x", "stream": True})
    ... point the client at server.url + "/v1" ...
    assert server.count("/v1/chat/completions") == 1
    assert server.requests[0].json()["messages"][0]["role"] == "user"

A route holds a queue of replies: each request takes the next one and the last one repeats (so
`route(path, Reply(status=503), Reply.json({...}))` answers 503 once, then 200 forever); a reply may also be a
function of the request (Seen -> Reply), e.g. to answer streamed and whole requests differently. A Reply is a
status, headers, and a body given as (delay_seconds, bytes) chunks sent with chunked transfer encoding (or
Content-Length, or connection-close framing); it can drop the connection after N chunks (FIN or RST), or hang
without answering until the server stops. Expectations (`headers=`, `json=` subset, `check=` callable) are checked
on arrival: a mismatch is answered with 418 and recorded in `server.errors`, which the pytest fixture asserts empty
at teardown.

Faults (for tests/test_faults.py and the client tests): `Reply.drip` (a few bytes at a time), `Reply.silence`
(headers, maybe a first chunk, then nothing), `drop_after`+`reset` (a reset mid-body), `Reply.gzip_bomb` (a few MB
of gzip inflating past 1 GiB), `Reply.corrupt_gzip` (valid gzip for a prefix, then garbage), `Reply.bad_chunk_size`,
`Reply.bad_content_length`, `Reply.bare_lf` (a response head ending its lines in LF alone), and `Reply.raw` for any
bytes at all (framing "raw": no status line or headers of the server's own; the connection closes after them).
`http_date(seconds)` gives a Retry-After date that many seconds ahead.

Each connection gets its own thread (ThreadingHTTPServer), so 64+ concurrent streams are fine.
"""

from __future__ import annotations

import email.utils
import functools
import gzip as gziplib
import json as jsonlib
import re
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
CORPUS = REPO.parent / "shared" / "provider-corpus"  # third-party bodies; read in place, never copied

_CONTENT_TYPES = {".sse": "text/event-stream", ".ndjson": "application/x-ndjson", ".json": "application/json"}
_EVENT_END = re.compile(rb"(?<=\n\n)|(?<=\r\n\r\n)")


@dataclass
class Reply:
    """What the server answers to one request."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[tuple[float, bytes]] = field(default_factory=list)  # (delay before sending, bytes)
    framing: str = "chunked"  # "chunked" | "length" (Content-Length of the whole body) | "close" | "raw" (chunks are
    # the whole response, status line and headers included, written as they are; then the connection closes)
    drop_after: int | None = None  # close the connection after this many chunks, body unfinished
    reset: bool = False  # drop with a TCP RST instead of a FIN
    hang: bool = False  # read the request and never answer (until the server stops)

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Reply:
        """A JSON document in one chunk."""
        body = jsonlib.dumps(obj).encode()
        return cls(status, {"content-type": "application/json", **(headers or {})}, [(0.0, body)], "length")

    @classmethod
    def body(cls, data: bytes, status: int = 200, content_type: str = "application/json", **kw: Any) -> Reply:
        """Raw bytes in one chunk."""
        return cls(status, {"content-type": content_type, **kw.pop("headers", {})}, [(0.0, data)], **kw)

    @classmethod
    def file(cls, path: str | Path, *, delay: float = 0.0, split: str = "auto", status: int = 200, **kw: Any) -> Reply:
        """Replay a recorded body; `path` is relative to fixtures/ (or absolute). `.sse` files are sent one event
        per chunk, `.ndjson` one line per chunk, `.json` whole; `delay` goes before every chunk after the first."""
        p = Path(path) if Path(path).is_absolute() else FIXTURES / path
        data = p.read_bytes()
        pieces = split_body(data, p.suffix if split == "auto" else split)
        chunks = [(0.0 if i == 0 else delay, piece) for i, piece in enumerate(pieces)]
        headers = {"content-type": _CONTENT_TYPES.get(p.suffix, "application/octet-stream"), **kw.pop("headers", {})}
        return cls(status, headers, chunks, **kw)

    # --- faults ---

    @classmethod
    def drip(cls, data: bytes, *, every: float = 0.02, size: int = 1, status: int = 200,
             content_type: str = "text/event-stream") -> Reply:
        """`data` `size` bytes at a time, `every` seconds apart (a slow or congested provider)."""
        pieces = [data[i:i + size] for i in range(0, len(data), size)]
        chunks = [(0.0 if i == 0 else every, p) for i, p in enumerate(pieces)]
        return cls(status, {"content-type": content_type}, chunks)

    @classmethod
    def silence(cls, first: bytes = b"", *, status: int = 200, content_type: str = "text/event-stream") -> Reply:
        """Headers (and `first`, if given), then nothing until the server stops: the client's read timeout decides."""
        chunks = ([(0.0, first)] if first else []) + [(3600.0, b"never sent")]
        return cls(status, {"content-type": content_type}, chunks)

    @classmethod
    def gzip(cls, data: bytes, *, status: int = 200, content_type: str = "application/json",
             coding: str = "gzip") -> Reply:
        """`data` gzip-encoded (or zlib-wrapped for coding="deflate"), with Content-Length."""
        body = gziplib.compress(data) if coding != "deflate" else zlib.compress(data)
        return cls(status, {"content-type": content_type, "content-encoding": coding}, [(0.0, body)], "length")

    @classmethod
    def gzip_bomb(cls, inflated: int = 1 << 30, *, status: int = 200, content_type: str = "text/event-stream",
                  prefix: bytes = b"") -> Reply:
        """A valid gzip body of about inflated/1000 bytes that decodes to `prefix` + NUL bytes, `inflated` in all."""
        return cls(status, {"content-type": content_type, "content-encoding": "gzip"},
                   [(0.0, gzip_bomb(inflated, prefix))], "length")

    @classmethod
    def corrupt_gzip(cls, good: bytes, *, status: int = 200, content_type: str = "text/event-stream") -> Reply:
        """gzip whose first part decodes to `good` exactly, followed by bytes that are not deflate data."""
        z = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        body = z.compress(good) + z.flush(zlib.Z_SYNC_FLUSH) + b"\xff" * 64  # 0xff: an invalid block type
        return cls(status, {"content-type": content_type, "content-encoding": "gzip"}, [(0.0, body)], "length")

    @classmethod
    def raw(cls, *pieces: bytes, delay: float = 0.0) -> Reply:
        """Exactly these bytes as the whole response (status line and headers included), then a close."""
        return cls(chunks=[(0.0 if i == 0 else delay, p) for i, p in enumerate(pieces)], framing="raw")

    @classmethod
    def bad_chunk_size(cls, good: list[bytes], *, content_type: str = "text/event-stream") -> Reply:
        """A chunked body: `good` as proper chunks, then a chunk-size line that is not hexadecimal."""
        head = f"HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\n\r\n".encode()
        return cls.raw(head, *(b"%x\r\n%s\r\n" % (len(g), g) for g in good), b"zz;not-hex\r\nxyz\r\n", delay=0.01)

    @classmethod
    def bad_content_length(cls, body: bytes = b'{"ok": true}') -> Reply:
        return cls.raw(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: abc\r\n\r\n" + body)

    @classmethod
    def bare_lf(cls, body: bytes, *, status: int = 200, content_type: str = "application/json") -> Reply:
        """A well-formed response whose head ends every line in LF alone (as some embedded servers send)."""
        head = f"HTTP/1.1 {status} OK\ncontent-type: {content_type}\ncontent-length: {len(body)}\n\n"
        return cls.raw(head.encode() + body)


@functools.lru_cache(maxsize=4)
def gzip_bomb(inflated: int, prefix: bytes = b"") -> bytes:
    """gzip of `prefix` + NULs, `inflated` bytes in all, built in ~0.1 s per GiB: one full-flushed deflate block of
    1 MiB of NULs, repeated (each block is independent after a full flush), then the real CRC and length."""
    block = 1 << 20
    zeros = bytes(block)
    z = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    head = z.compress(prefix) + z.flush(zlib.Z_FULL_FLUSH) if prefix else b""
    piece = z.compress(zeros) + z.flush(zlib.Z_FULL_FLUSH)
    count, rest = divmod(max(0, inflated - len(prefix)), block)
    tail = (z.compress(bytes(rest)) if rest else b"") + z.flush(zlib.Z_FINISH)
    crc = zlib.crc32(prefix)
    for _ in range(count):
        crc = zlib.crc32(zeros, crc)
    crc = zlib.crc32(bytes(rest), crc)
    gzip_head = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc & 0xFFFFFFFF, (len(prefix) + count * block + rest) & 0xFFFFFFFF)
    return gzip_head + head + piece * count + tail + trailer


def http_date(seconds_ahead: float) -> str:
    """A Retry-After HTTP date `seconds_ahead` from now (whole seconds, as the format allows)."""
    return email.utils.formatdate(time.time() + seconds_ahead, usegmt=True)


def split_body(data: bytes, how: str) -> list[bytes]:
    """Cut a body into the chunks a provider would send: SSE events, NDJSON lines, or whole."""
    if how in (".sse", "events"):
        pieces = _EVENT_END.split(data)
    elif how in (".ndjson", "lines"):
        pieces = data.splitlines(keepends=True)
    else:
        pieces = [data]
    return [p for p in pieces if p]


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    target: str  # the request target as sent (absolute-form when it came through a proxy)
    path: str  # path without the query
    query: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    t: float  # time.monotonic() when the request was fully read

    def json(self) -> Any:
        return jsonlib.loads(self.body)


@dataclass
class _Route:
    replies: list[Reply | Callable[[Seen], Reply]]
    method: str | None
    headers: dict[str, str]
    json: dict[str, Any]
    check: Callable[[Seen], None] | None
    served: int = 0

    def expectation_error(self, seen: Seen) -> str | None:
        if self.method and seen.method != self.method:
            return f"method {seen.method}, expected {self.method}"
        for name, want in self.headers.items():
            got = seen.headers.get(name.lower())
            if got != want:
                return f"header {name}: got {'nothing' if got is None else 'another value'}, expected the test value"
        if self.json:
            try:
                doc = seen.json()
            except ValueError:
                return "body is not JSON"
            for key, want in self.json.items():
                if doc.get(key) != want:
                    return f"body field {key}: got {doc.get(key)!r}, expected {want!r}"
        if self.check:
            try:
                self.check(seen)
            except AssertionError as exc:
                return f"check failed: {exc}"
        return None

    def next_reply(self, seen: Seen) -> Reply:
        reply = self.replies[min(self.served, len(self.replies) - 1)]
        self.served += 1
        return reply if isinstance(reply, Reply) else reply(seen)


class ProviderServer:
    """The loopback server; use as a context manager or call start()/close()."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.errors: list[str] = []
        self._routes: dict[str, _Route] = {}
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self.port: int = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self) -> ProviderServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self.stopping.set()  # releases hanging handlers and pending chunk delays
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ProviderServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def route(
        self,
        path: str,
        *replies: Reply | Callable[[Seen], Reply],
        method: str | None = None,
        headers: Mapping[str, str] | None = None,
        json: Mapping[str, Any] | None = None,
        check: Callable[[Seen], None] | None = None,
    ) -> None:
        """Answer requests to `path` (query ignored) with `replies` in turn, the last one repeating."""
        if not replies:
            raise ValueError("a route needs at least one reply")
        self._routes[path] = _Route(list(replies), method, dict(headers or {}), dict(json or {}), check)

    def count(self, path: str | None = None) -> int:
        """How many requests arrived (for `path`, or in all)."""
        return sum(1 for s in self.requests if path is None or s.path == path)

    def seen(self, path: str) -> list[Seen]:
        return [s for s in self.requests if s.path == path]

    def _dispatch(self, seen: Seen) -> Reply:
        with self._lock:
            self.requests.append(seen)
            route = self._routes.get(seen.path)
            if route is None:
                self.errors.append(f"no route for {seen.method} {seen.path}")
                return Reply.json({"error": {"type": "not_found", "message": f"no route {seen.path}"}}, 404)
            problem = route.expectation_error(seen)
            if problem:
                self.errors.append(f"{seen.method} {seen.path}: {problem}")
                return Reply.json({"error": {"type": "expectation_failed", "message": problem}}, 418)
            return route.next_reply(seen)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # bench and concurrency tests open 64+ connections at once
    owner: ProviderServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that hung up mid-body is a test case
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked transfer encoding
    disable_nagle_algorithm = True  # small chunks go out at once
    server: _Server

    def parse_request(self) -> bool:
        self.t_arrival = time.monotonic()  # the request line is in: reply delays count from here, not after parsing
        return super().parse_request()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        pass

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_GET

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass  # the reply dropped the connection on purpose

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        seen = Seen(
            self.command,
            self.path,
            parts.path,
            parts.query,
            {k.lower(): v for k, v in self.headers.items()},
            body,
            time.monotonic(),
        )
        owner = self.server.owner
        reply = owner._dispatch(seen)
        try:
            self._answer(reply, owner.stopping)
        except OSError:
            self.close_connection = True  # the client went away (timeout, test finished)

    def _answer(self, reply: Reply, stopping: threading.Event) -> None:
        if reply.hang:
            stopping.wait()
            self._drop(reset=False)
            return
        if reply.framing == "raw":
            return self._answer_raw(reply, stopping)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.framing == "chunked":
            self.send_header("transfer-encoding", "chunked")
        elif reply.framing == "length":
            self.send_header("content-length", str(sum(len(c) for _, c in reply.chunks)))
        else:
            self.send_header("connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.flush()
        # chunk i goes out at arrival + the sum of the delays so far: parsing time and sleep overshoots do not add up
        due = getattr(self, "t_arrival", time.monotonic())
        for i, (delay, data) in enumerate(reply.chunks):
            if reply.drop_after is not None and i >= reply.drop_after:
                break
            due += delay
            if delay and stopping.wait(max(0.0, due - time.monotonic())):
                return self._drop(reset=False)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if reply.framing == "chunked" else data)
        if reply.drop_after is not None:
            return self._drop(reply.reset)
        if reply.framing == "chunked":
            self.wfile.write(b"0\r\n\r\n")

    def _answer_raw(self, reply: Reply, stopping: threading.Event) -> None:
        for i, (delay, data) in enumerate(reply.chunks):
            if reply.drop_after is not None and i >= reply.drop_after:
                break
            if delay and stopping.wait(delay):
                break
            self.wfile.write(data)
            self.wfile.flush()
        self._drop(reply.reset)

    def _drop(self, reset: bool) -> None:
        self.close_connection = True
        sock = self.connection
        try:
            if reset:  # SO_LINGER 0 makes close() send RST: the client sees "connection reset"
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()
