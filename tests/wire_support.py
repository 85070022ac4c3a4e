"""Shared by the tests/test_wire_*.py files: a fixture file -> its document, through the wire-level API.

Bodies (and Gemini's JSON arrays of chunks) go through `parse_body`, SSE and NDJSON streams through a
`StreamFolder`, with the wire forced (`api`) or, when `api` is a callable, chosen from the first value.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from aimux_cli import streams
from aimux_cli.wire import StreamFolder, parse_body


def load_document(path: Path, api: str | Callable[[Any], str] | None) -> dict:
    kind, events = streams.iter_events(path.read_bytes())
    if kind == "sse":
        folder = StreamFolder(api=api)
        for event in events:
            folder.feed_sse(event.data, event.event)
        return folder.document().to_dict()
    first = events[0] if events else None
    wire = api(first) if callable(api) else api
    if kind == "ndjson":
        folder = StreamFolder(api=wire)
        for value in events:
            folder.feed_json(value)
        return folder.document().to_dict()
    doc = parse_body(events if kind == "json-array" else first, api=wire)
    assert doc is not None
    return doc.to_dict()


def without_ids(doc: dict) -> dict:
    """A document without what differs between a stream and the body of the same answer."""
    return {k: v for k, v in doc.items() if k not in ("id", "timing")}


def fold_sse(data: bytes) -> tuple[dict, list]:
    """An SSE stream's document and the visible deltas of its events, as --follow and ask see them."""
    folder = StreamFolder()
    deltas = []
    _, events = streams.iter_events(data)
    for event in events:
        deltas += folder.feed_sse(event.data, event.event)
    return folder.document().to_dict(), deltas
