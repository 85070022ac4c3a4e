"""prettify's pure core: raw response bytes -> the aimux response document (or a generic JSON value).

Contract: `normalize(source, wire=None, provider=None) -> Outcome`. The input kind (a JSON body, a JSON array of
chunks, an SSE or an NDJSON stream) is sniffed from the bytes; the wire format is detected from the content unless
forced. No terminal I/O: warnings are returned, the caller prints them.
"""

from __future__ import annotations

from typing import Any

import orjson

from aimux_cli import wire as wires
from aimux_cli.document import Document
from aimux_cli.errors import InputError
from aimux_cli.inputs import NOT_JSON, Source, exact_json, load_json


class Outcome:
    """What prettify produced for one input: a document, or a generic JSON value (api `json`).

    A plain class rather than a dataclass: defining a dataclass costs about a millisecond of start-up."""

    __slots__ = ("document", "value", "warnings", "error")

    def __init__(self, document: Document | None = None, value: Any = None, warnings: list[str] | None = None,
                 error: InputError | None = None) -> None:
        self.document = document
        self.value = value  # the generic path: the input encoded as it is
        self.warnings = warnings if warnings is not None else []
        self.error = error  # raised after what was received has been printed

    @property
    def data(self) -> Any:
        return self.document.to_dict() if self.document is not None else self.value


def normalize(source: Source, *, wire: str | None = None, provider: str | None = None) -> Outcome:
    """Normalize one input. `wire` is a canonical wire name, "none" for the generic path, or None to detect.

    An input cut at MAX_INPUT_BYTES (`source.cut`): a stream gives the document of the events it holds, with an
    input error (exit 4) to report after it is printed; a body cut there does not read, and is refused."""
    if source.cut:
        from aimux_cli.inputs import MAX_INPUT_BYTES, TOO_LARGE

        try:
            out = _normalize_whole(source, wire, provider)
        except InputError:
            raise InputError(f"{source.label}: {TOO_LARGE}, refused (its first "
                             f"{MAX_INPUT_BYTES // 2**20} MiB are not a whole response)") from None
        out.error = out.error or InputError(f"{source.label}: {TOO_LARGE}: what its first "
                                            f"{MAX_INPUT_BYTES // 2**20} MiB hold is shown, the rest was not read")
        return out
    return _normalize_whole(source, wire, provider)


def _normalize_whole(source: Source, wire: str | None, provider: str | None) -> Outcome:
    data = source.data
    if data[:1] == b"{" and wire != "none":
        # The usual input, one JSON object: when it parses as one value, sniff could only have said "json"
        # (an NDJSON stream is never one value), so skip it.
        value = exact_json(data)
        if value is not NOT_JSON:
            return _from_json(source, value, wire, provider)  # orjson: it lets no lone surrogate through
    out = _normalize(source, wire, provider)
    # Only the standard library's parser (integers beyond 64 bits, deep nesting) lets a lone surrogate through:
    # orjson refuses one, and the stream parsers re-read what it refuses with surrogates replaced.
    if b"\\ud" in data or b"\\uD" in data:
        from aimux_cli.surrogates import clean_document, clean_value, has_lone_surrogates

        if out.document is not None:
            clean = getattr(out.document, "cleaned", None)  # a document of another kind (aimux_cli/kinds)
            out.document, count = clean() if clean is not None else clean_document(out.document)
        elif has_lone_surrogates(out.value):
            out.value, count = clean_value(out.value)
            out.warnings.append(f"{source.label}: {count} string(s) held half of a UTF-16 surrogate pair, "
                                "replaced with U+FFFD")
    return out


def _normalize(source: Source, wire: str | None, provider: str | None) -> Outcome:
    if wire == "none":
        value, warnings = _load_body(source)
        return Outcome(value=value, warnings=warnings)
    data = source.data
    if not data.strip():
        raise InputError(f"{source.label}: empty input")
    from aimux_cli import streams  # not needed for the usual one-object body above

    head = data[:4096]
    # a first line longer than the head (one 1 MB NDJSON record) needs the whole body to tell NDJSON from JSON
    kind = streams.sniff(data if streams.needs_more(head) else head)
    if kind == "json-array":
        try:
            value = load_json(source)
        except InputError as exc:
            return _from_partial_array(source, wire, provider, exc)
        return _from_json(source, value, wire, provider)
    if kind == "json":
        value, warnings = _load_body(source)
        return _from_json(source, value, wire, provider, warnings)
    if kind == "sse":
        return _from_sse(source, wire, provider)
    if kind == "eventstream":  # AWS binary frames, one JSON value each: folded as NDJSON values are
        from aimux_cli.eventstream import EventStreamParser

        return _from_ndjson(source, wire, provider, EventStreamParser())
    return _from_ndjson(source, wire, provider)


def _load_body(source: Source) -> tuple[Any, list[str]]:
    """One JSON value; bytes that are not UTF-8 are replaced with U+FFFD (with a warning) when the rest parses."""
    try:
        return load_json(source), []
    except InputError as exc:
        fixed = source.data.decode("utf-8", "replace")
        if fixed.encode() == source.data:  # valid UTF-8: the error is about the JSON itself
            raise
        try:
            value = load_json(Source(source.label, fixed.encode()))
        except InputError:
            raise exc from None
        return value, [f"invalid UTF-8 at byte {_first_bad(source.data)}, replaced with U+FFFD"]


def _first_bad(data: bytes) -> int:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return -1


def _from_json(source: Source, value: Any, wire: str | None, provider: str | None,
               warnings: list[str] | tuple = ()) -> Outcome:
    doc = wires.parse_body(value, api=wire, provider=provider, warnings=warnings)
    if doc is None and wire is None:  # no wire format's: embeddings, a model list, a batch line (aimux_cli/kinds)
        from aimux_cli import kinds

        doc = kinds.from_body(value, provider, warnings)
    if doc is None:
        return Outcome(value=value, warnings=[*(f"{source.label}: {w}" for w in warnings),
                                              f"{source.label}: not a known provider response; "
                                              "encoded as plain JSON (api json)"])
    return Outcome(document=doc)


def _from_partial_array(source: Source, wire: str | None, provider: str | None, exc: InputError) -> Outcome:
    """A JSON array of stream chunks cut short (Gemini without alt=sse), or with a bad element: fold the others."""
    from aimux_cli import streams

    got = streams.collect(streams.JSONArrayParser(), source.data)
    folder = _folder(wire, provider, got.warnings)
    try:
        _fold_releasing(folder, got.items)
    except wires.UnknownWire:
        raise exc from None
    if folder.acc is None:
        raise exc
    return Outcome(document=folder.document())


def _from_sse(source: Source, wire: str | None, provider: str | None) -> Outcome:
    from aimux_cli import streams

    got = streams.collect(streams.SSEParser(), source.data)
    folder = _folder(wire, provider, got.warnings)
    for event in got.items:
        if folder.acc is None:
            try:
                obj = orjson.loads(event.data)
            except orjson.JSONDecodeError as exc:
                from aimux_cli.surrogates import REFUSED, loads_refused

                obj = loads_refused(event.data, exc)
                if obj is REFUSED:
                    continue  # comments-as-data or padding before the first real event
                folder.warn("event 1: half of a UTF-16 surrogate pair replaced with U+FFFD")
            try:
                folder.feed_json(obj, None if event.event == "message" else event.event)
            except wires.UnknownWire:
                raise InputError(f"{source.label}: event stream of an unknown format "
                                 f"(first event: {_preview(event.data)})") from None
            continue
        folder.feed_sse(event.data, event.event)
    if folder.acc is None:
        raise InputError(f"{source.label}: event stream with no JSON events")
    out = Outcome(document=folder.document())
    if folder.skipped:
        out.warnings.append(f"{source.label}: skipped {folder.skipped} event(s) whose data was not JSON")
    return out


def _from_ndjson(source: Source, wire: str | None, provider: str | None, parser=None) -> Outcome:
    """An NDJSON stream: a bad line is skipped with a warning; a stream cut inside its last line keeps every line
    before it (its document is then incomplete unless the terminal event had already arrived)."""
    from aimux_cli import streams

    got = streams.collect(parser or streams.NDJSONParser(), source.data)
    if not got.items:
        raise InputError(f"{source.label}: no JSON values ({got.warnings[0]})" if got.warnings
                         else f"{source.label}: no JSON values")
    if wire is None and _batch(got.items[0]):  # a batch result file (JSONL): one result per line
        from aimux_cli import kinds

        return Outcome(document=kinds.from_lines(got.items, provider, got.warnings))
    folder = _folder(wire, provider, got.warnings)
    try:
        _fold_releasing(folder, got.items)
    except wires.UnknownWire:
        return Outcome(value=got.items, warnings=[*(f"{source.label}: {w}" for w in got.warnings),
                                                  f"{source.label}: not a known provider stream; "
                                                  "encoded as a plain JSON list (api json)"])
    return Outcome(document=folder.document())


def _batch(first) -> bool:
    """Whether the first line of an NDJSON input is a batch result (its `custom_id` key is checked first: no chat
    stream has one, so a chat stream does not import aimux_cli.kinds)."""
    if not (isinstance(first, dict) and "custom_id" in first):
        return False
    from aimux_cli import kinds

    return kinds.is_batch_line(first)


def _fold_releasing(folder: wires.StreamFolder, items: list) -> None:
    """Fold parsed items, dropping each from `items` once folded: the parsed events and the document they build
    were otherwise all held at once (issue 9: 20,000 Ollama records, 5.7 MB). The first item is folded before any
    is dropped, so that on UnknownWire (raised only by the first) `items` is whole for the generic path."""
    if not items:
        return
    feed = folder.feed_json
    feed(items[0])
    items[0] = None
    for i in range(1, len(items)):
        obj, items[i] = items[i], None
        feed(obj)
    obj = None


def _folder(wire: str | None, provider: str | None, warnings: list[str]) -> wires.StreamFolder:
    """A stream folder whose document will carry `warnings` (what the stream parser could not read)."""
    folder = wires.StreamFolder(api=wire, provider=provider)
    for message in warnings:
        folder.warn(message)
    return folder


def _preview(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
