"""One measured request of `aimux bench provider`: send it, read its stream as it arrives, time it, and turn
whatever goes wrong into a failed Sample. The statistics and the load shapes are in bench.py.

Contract: `measure(session, prepared, wire, timeout, index, t0) -> Sample` times the request from the moment it is
called (before a connection is looked for or made: TTFT includes connect time, which `connect_ms` also gives apart,
from the lean transport's `connect_s`), and never raises for a reply: an AimuxError
gives its category; a reply the wire parser cannot read, "provider"; no file descriptor left anywhere on the way
(out_of_descriptors), "network" with a message saying so. Messages are one line, at most 300 characters, scrubbed of
secrets (request.redact). `preload(wire)` imports what handling a request may import later, before any socket
opens. ChunkReader folds body chunks into the document, noting which chunks carried text (for TTFT and ITL).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from aimux_cli.bench import Sample, category, timings
from aimux_cli.errors import AimuxError


async def measure(session: Any, prepared: Any, wire: str, timeout: float, index: int, t0: float,
                  log: int = 0) -> Sample:
    """Send one streamed request and time it; failures become a Sample with their category, never an exception.
    `log` (LOG_ROWS, LOG_BODIES) keeps what the exchange log needs on `sample.exchange`, once the timing is done."""
    from aimux_cli.wire import UnknownWire

    t_start = time.monotonic()  # TTFT and E2E count from here: before a connection is looked for or made
    sample = Sample(index, (t_start - t0) * 1000)
    stream = doc = None
    try:
        reader = ChunkReader(wire, prepared.provider or None)
        stream = session.stream(prepared, timeout=timeout, retries=0)
        sample = await _timed(sample, stream, reader, prepared, wire, t_start)
        if log and reader.folder.acc is not None:  # folded again only for the log: no work for a plain run
            doc = reader.folder.document()
    except AimuxError as exc:
        sample = _failed(sample, category(exc), str(exc), prepared.secrets)
        if log:
            sample.exchange = _kept(exc, None, log)
        return sample
    except UnknownWire:
        sample = _failed(sample, "provider", f"{prepared.provider}: the stream is not in the {wire} format",
                         prepared.secrets)
    except Exception as exc:  # noqa: BLE001  # one odd reply must not end the run: it is this request's failure
        sample = _unexpected(sample, exc, prepared)
    if log:
        sample.exchange = _kept(stream, doc, log)
    return sample


async def _timed(sample: Sample, stream: Any, reader: ChunkReader, prepared: Any, wire: str,
                 t_start: float) -> Sample:
    from aimux_cli.errors import category as category_of, exit_code_for_error
    from aimux_cli.wire import UnknownWire

    secrets = prepared.secrets
    try:
        try:
            await stream.aopen()
        finally:  # a connection made for a request that then failed (an HTTP error) still took its time
            connect = getattr(stream, "connect_s", None)
            sample.connect_ms = None if connect is None else connect * 1000
        async with stream:
            if hasattr(stream, "aconsume"):  # LeanStream: chunks are handled as they arrive, no task switch each
                await stream.aconsume(reader.feed)
            else:
                async for t, chunk in stream.aiter_timed():
                    reader.feed(t, chunk)
        doc = reader.close()
    except UnknownWire:
        return _failed(sample, "provider", f"{prepared.provider}: the stream is not in the {wire} format", secrets)
    if doc.status != "ok":
        if doc.status == "error":  # an error event in a 200 stream: its type decides, by the table ask and --fail use
            why = doc.error.get("message") or doc.error.get("type") or "error event in the stream"
            return _failed(sample, category_of(exit_code_for_error(doc.error)), str(why), secrets)
        return _failed(sample, "incomplete", "the stream ended before its terminal event", secrets)
    tokens, estimated = output_tokens(doc, wire, reader.pieces)
    sample.tokens_estimated = estimated
    return timings(sample, t_start, reader.marks, stream.timing.t_last_byte or time.monotonic(), tokens)


LOG_ROWS, LOG_BODIES = 1, 2  # `measure(log=...)`: keep status, headers and document; also the raw response bytes


def _kept(source: Any, doc: Any, log: int) -> dict[str, Any]:
    """What the log row of one request needs, from its stream or its error (an AimuxError carries status, headers,
    body or received bytes). Raw bytes only with LOG_BODIES: a long run must not hold (or store) every answer."""
    status = getattr(source, "status", None)
    raw = None
    if log >= LOG_BODIES:
        if isinstance(source, AimuxError):
            raw = source.received if source.received is not None else source.body
        elif source is not None:
            raw = source.received
    return {"status": status if isinstance(status, int) and status > 0 else None,
            "headers": getattr(source, "headers", None), "raw": raw, "doc": doc}


def _unexpected(sample: Sample, exc: Exception, prepared: Any) -> Sample:
    """A failure outside the error family: no descriptor left (network), else a reply the parser could not read."""
    who = prepared.provider or "the provider"
    if out_of_descriptors(exc):
        return _failed(sample, "network", f"{who}: out of file descriptors (too many open files; lower "
                                          "--concurrency or raise ulimit -n)", prepared.secrets)
    return _failed(sample, "provider", f"{who}: the reply could not be read ({type(exc).__name__}: {exc})",
                   prepared.secrets)


def out_of_descriptors(exc: BaseException) -> bool:
    """Whether `exc`, or an exception it was raised from, is "too many open files" (EMFILE / ENFILE)."""
    import errno

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def preload(wire: str) -> None:
    """Import now what handling a request may import later: once the sockets hold every descriptor, an import
    (which opens a file) would fail."""
    import datetime  # noqa: F401  # _measured's
    import errno  # noqa: F401  # out_of_descriptors'

    from aimux_cli import wire as wires
    from aimux_cli.request import redact  # noqa: F401  # _failed's

    try:
        wires.module(wire)
        ChunkReader(wire, None).close()  # the stream parser and the folder's document, on an empty stream
    except Exception:  # an unknown wire: each request reports it
        pass


def _failed(sample: Sample, status: str, message: str, secrets: Sequence[str] = ()) -> Sample:
    from aimux_cli.request import redact

    sample.status, sample.error = status, " ".join(redact(message, secrets).split())[:300]
    return sample


def output_tokens(doc: Any, wire: str, pieces: int) -> tuple[int | None, bool]:
    """(output tokens, estimated): the provider's usage, else the count of text-carrying events."""
    usage = doc.usage
    tokens = usage.get("output_tokens")
    if isinstance(tokens, int) and not isinstance(tokens, bool):
        if wire == "gemini.generate" and isinstance(usage.get("reasoning_tokens"), int):
            tokens += usage["reasoning_tokens"]  # Gemini counts thought tokens apart from candidate tokens
        return tokens, False
    return (pieces or None), True


class ChunkReader:
    """Body chunks -> events -> the folded document, noting when a chunk carried answer or reasoning text."""

    def __init__(self, wire: str, provider: str | None) -> None:
        from aimux_cli.streams import SSEParser, wire_parser
        from aimux_cli.wire import StreamFolder

        self.parser = wire_parser(wire)
        self.ndjson = not isinstance(self.parser, SSEParser)  # JSON values (Ollama, Bedrock), not SSE events
        self.folder = StreamFolder(api=wire, provider=provider)
        self.marks: list[float] = []  # monotonic arrival times of text-carrying chunks
        self.pieces = 0  # text-carrying events

    def feed(self, t: float, chunk: bytes) -> None:
        if self._fold(self.parser.feed(chunk)):
            self.marks.append(t)

    def close(self) -> Any:
        self._fold(self.parser.close())
        return self.folder.document()

    def _fold(self, events: list) -> int:
        pieces = 0
        folder = self.folder
        for ev in events:
            deltas = folder.feed_json(ev) if self.ndjson else folder.feed_sse(ev.data, ev.event)
            if any(text for _, text in deltas):
                pieces += 1
        self.pieces += pieces
        return pieces
