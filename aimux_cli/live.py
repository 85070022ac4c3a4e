"""Showing a stream as it arrives: the progress view shared by `aimux ask` and `aimux prettify --follow`, and the
`--follow` loop that folds a stream from stdin.

Where the progressive text goes depends on the final format: `text` writes the answer to stdout as it arrives
(that is the whole output); `rich` draws it on stdout with the streaming Markdown renderer, then the document's
summary; `toon`/`json` keep stdout for the final document and show the progress on stderr when it is a terminal.
"""

from __future__ import annotations

import os
import sys

import orjson

from aimux_cli import output, streams, wire as wires
from aimux_cli.errors import ExitCode, InputError
from aimux_cli.inputs import Source

CHUNK = 65536


def _read_chunks():
    if sys.stdin is None:  # fd 0 closed
        raise InputError("<stdin>: standard input is closed")
    fd = sys.stdin.fileno()
    while True:
        chunk = os.read(fd, CHUNK)
        if not chunk:
            return
        yield chunk


class Progress:
    """Shows deltas as they come, on the right stream, sanitized for terminals (shared with `aimux ask`)."""

    def __init__(self, fmt: str, env) -> None:
        self.fmt, self.env = fmt, env
        self.renderer = None
        self.wrote_text = False
        if fmt == "rich":
            from aimux_cli.render.stream_view import StreamRenderer
            self.renderer = StreamRenderer(env.stdout_console, env.stderr_console)

    def show(self, deltas) -> None:
        from aimux_cli.render.sanitize import for_terminal
        for kind, text in deltas:
            if self.renderer is not None:
                self.renderer.append(kind, text)
            elif self.fmt == "text" and kind == "text":
                output.write(for_terminal(text) if self.env.stdout_isatty else text, flush=True)
                self.wrote_text = True
            elif self.env.stderr_isatty and kind in ("text", "thinking", "refusal"):
                sys.stderr.write(for_terminal(text))
                sys.stderr.flush()

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.close()
        elif self.fmt == "text" and self.wrote_text:
            output.write("\n", flush=True)
        elif self.env.stderr_isatty and self.fmt in ("toon", "json"):
            sys.stderr.write("\n")


def follow(opts, fmt: str, env) -> int:
    from aimux_cli.present import emit, exit_code_of, normalize_and_emit, warn
    from aimux_cli.prettify import Outcome

    folder = wires.StreamFolder(api=opts.wire, provider=opts.provider)
    progress = Progress(fmt, env)
    error: InputError | None = None
    try:
        body = _pump(folder, progress)
        if body is not None:
            return normalize_and_emit(Source("<stdin>", body), opts, fmt, env)
    except streams.StreamError as exc:
        error = InputError(f"<stdin>: {exc}")
    except wires.UnknownWire:
        error = InputError("<stdin>: not a known provider stream (use prettify without --follow for plain JSON)")
    progress.close()
    if folder.acc is None:
        raise error or InputError("<stdin>: empty input")
    outcome = Outcome(document=folder.document())
    if fmt != "text":
        emit(outcome, fmt, opts, env, summary_only=fmt == "rich")
    if error is not None:
        warn(str(error), error=True)
        return int(ExitCode.INPUT)
    return exit_code_of(outcome.document, opts.fail)


def _pump(folder, progress) -> bytes | None:
    """Feed stdin through the sniffed parser into `folder`; returns the bytes instead when stdin is one body."""
    chunks = _read_chunks()
    head = b""
    for chunk in chunks:
        head += chunk
        if not streams.needs_more(head):
            break
    kind = streams.sniff(head)
    if kind == "json":  # a whole body: nothing to follow; the caller normalizes it as prettify does
        return head + b"".join(chunks)
    parser = {"sse": streams.SSEParser, "ndjson": streams.NDJSONParser,
              "json-array": streams.JSONArrayParser}[kind]()
    for chunk in _chain(head, chunks):
        feed_events(folder, progress, kind, parser.feed(chunk))
    feed_events(folder, progress, kind, parser.close())
    return None


def _chain(head: bytes, rest):
    yield head
    yield from rest


def feed_events(folder, progress, kind: str, items: list) -> None:
    """Fold parsed stream items (SSE events or JSON values) into `folder`, showing their deltas on `progress`."""
    for item in items:
        if kind == "sse":
            if folder.acc is None:
                try:
                    obj = orjson.loads(item.data)
                except orjson.JSONDecodeError:
                    continue
                deltas = folder.feed_json(obj, None if item.event == "message" else item.event)
            else:
                deltas = folder.feed_sse(item.data, item.event)
        else:
            deltas = folder.feed_json(item)
        if deltas:
            progress.show(deltas)
