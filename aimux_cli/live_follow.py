"""`aimux prettify --follow`: a stream read from stdin as it arrives, folded and shown with live.py's view.

    follow(opts, fmt, env) -> exit code

stdin is read in CHUNK pieces; its head is sniffed (streams.sniff): a whole JSON body, or a batch result file, is
read whole and normalized as prettify does without --follow; SSE, NDJSON, a JSON array of chunks or AWS's binary
event stream is parsed as it comes and folded by live.feed_events into one document, drawn on live.Progress. The
final document is printed in the chosen format after the progress (rich: its summary only; text: the streamed text
is the output). Ctrl-C keeps what was drawn, writes `aimux: interrupted after …` on stderr and exits 130.
"""

from __future__ import annotations

import os
import sys
import time

from aimux_cli import streams, wire as wires
from aimux_cli.errors import ExitCode, InputError
from aimux_cli.inputs import Source
from aimux_cli.live import INTERRUPTS, Progress, feed_events, interrupted_line, parser_warnings

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


def follow(opts, fmt: str, env) -> int:
    from aimux_cli.present import emit, exit_code_of, normalize_and_emit, text_notes, warn
    from aimux_cli.prettify import Outcome

    folder = wires.StreamFolder(api=opts.wire, provider=opts.provider)
    progress = Progress(fmt, env)
    error: InputError | None = None
    t0 = time.monotonic()
    with INTERRUPTS:
        try:
            body = _pump(folder, progress)
            if body is not None:
                return normalize_and_emit(Source("<stdin>", body), opts, fmt, env)
        except streams.StreamError as exc:
            error = InputError(f"<stdin>: {exc}")
        except wires.UnknownWire:
            error = InputError("<stdin>: not a known provider stream (use prettify without --follow for plain JSON)")
        except KeyboardInterrupt:
            return _interrupted(folder, progress, t0)
        # The Rich view needs no document: it is drawn to its end before the document (a second copy of the text)
        # is built, which a 1 MB delta otherwise held twice at once (issue 9, memory of rich --follow).
        doc = folder.document() if folder.acc is not None and progress.renderer is None else None
        try:
            progress.close(doc)
        except KeyboardInterrupt:
            return _interrupted(folder, progress, t0)
        if progress.renderer is not None and folder.acc is not None:
            doc = folder.document()
    if doc is None:
        raise error or InputError("<stdin>: empty input")
    outcome = Outcome(document=doc)
    if folder.skipped:  # as prettify without --follow says it
        warn(f"<stdin>: skipped {folder.skipped} event(s) whose data was not JSON")
    if fmt == "rich" and progress.drew:
        env.stdout_console.print()  # the summary follows what was drawn after a blank line, as prettify spaces parts
    if fmt != "text":
        emit(outcome, fmt, opts, env, summary_only=fmt == "rich")
    else:  # the text was streamed; an error must still not vanish in a pipeline
        text_notes(outcome.document)
    if error is not None:
        warn(str(error), error=True)
        return int(ExitCode.INPUT)
    return exit_code_of(outcome.document, opts.fail)


def _interrupted(folder, progress: Progress, t0: float) -> int:
    """Ctrl-C: what was drawn stays (once), then one line on stderr saying how much had arrived; exit 130."""
    INTERRUPTS.restore()
    try:
        progress.close(None, interrupted=True)
    except KeyboardInterrupt:
        pass
    doc = folder.document() if folder.acc is not None else None
    line = interrupted_line(time.monotonic() - t0, doc, folder.events, "events", progress.chars)
    from aimux_cli.present import scrubbed
    from aimux_cli.render.sanitize import for_terminal

    sys.stderr.write(f"aimux: {for_terminal(scrubbed(line))}\n")
    sys.stderr.flush()
    return int(ExitCode.INTERRUPTED)


def _pump(folder, progress) -> bytes | None:
    """Feed stdin through the sniffed parser into `folder`; returns the bytes instead when stdin is one body."""
    chunks = _read_chunks()
    sniffing = streams.Head()
    for chunk in chunks:
        if sniffing.add(chunk):
            break
    head = bytes(sniffing.data)
    kind = streams.sniff(head)
    if kind == "json":  # a whole body: nothing to follow; the caller normalizes it as prettify does
        return head + b"".join(chunks)
    if kind == "ndjson" and b'"custom_id"' in head:  # a batch result file (aimux_cli/kinds): read whole too
        from aimux_cli.kinds import batch_head

        if batch_head(head):
            return head + b"".join(chunks)
    if kind == "eventstream":  # AWS's binary frames (Bedrock); their values are folded as NDJSON's are
        from aimux_cli.eventstream import EventStreamParser as parser_class
    else:
        parser_class = {"sse": streams.SSEParser, "ndjson": streams.NDJSONParser,
                        "json-array": streams.JSONArrayParser}[kind]
    parser = parser_class()
    for chunk in _chain(head, chunks):
        feed_events(folder, progress, kind, parser.feed(chunk))
    try:
        feed_events(folder, progress, kind, parser.close())
    finally:
        parser_warnings(folder, parser.warnings)
    return None


def _chain(head: bytes, rest):
    yield head
    yield from rest
