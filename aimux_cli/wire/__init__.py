"""Wire formats: detection and dispatch. One module per format, each with the same small interface.

A wire module `m` provides:

- `API`: its name (`openai.chat`, ...) and `VENDOR`: the family's default vendor (`openai`, ...).
- `detect(obj) -> bool`: True when a JSON body (or the first event of a stream) is of this format.
- `parse(obj, acc)`: fold a whole (non-stream) body into the Accumulator `acc`, including error bodies.
- `fold(acc, obj, event) -> list[Delta]`: fold one stream event (`obj` is the event's JSON data, `event` the SSE
  event name or None for NDJSON / JSON-array chunks) and return the visible deltas it carried, in order.
- `DONE_MARKERS`: data strings that end a stream without JSON (OpenAI's `[DONE]`), may be empty.

Deltas are `(kind, text)` with kind `text`, `thinking` or `refusal`; `--follow` and `ask` print them as they come.

Robustness: a provider may send any JSON where a wire module expects a shape. Detection never raises (a module
whose `detect` trips over a value is simply not that value's wire), and each body's parse and each event's fold is
isolated here: a `SHAPE_ERRORS` exception keeps what was folded before it, adds a line to the document's
`warnings`, and the rest of the stream still folds. Wire modules still check the shapes they know of (that keeps
the rest of the same event); this is the net under them.

Contract: body or events -> `Document` (aimux_cli/document.py). The same answer streamed or not gives the same
document, because both paths go through the one Accumulator.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Iterable

import orjson

from aimux_cli.document import Accumulator, Document

Delta = tuple[str, str]

# Order matters for detection: the most specific shapes first.
_MODULES = {
    "openai.responses": "aimux_cli.wire.openai_responses",
    "anthropic.messages": "aimux_cli.wire.anthropic",
    "anthropic.complete": "aimux_cli.wire.anthropic_complete",
    "cohere.chat": "aimux_cli.wire.cohere",
    "gemini.generate": "aimux_cli.wire.gemini",
    "bedrock.converse": "aimux_cli.wire.bedrock",
    "ollama.generate": "aimux_cli.wire.ollama_generate",
    "ollama.chat": "aimux_cli.wire.ollama",
    "openai.completions": "aimux_cli.wire.openai_completions",
    "openai.chat": "aimux_cli.wire.openai_chat",
}
WIRES = tuple(sorted(_MODULES))
_CHAT_OBJECTS = frozenset(("chat.completion", "chat.completion.chunk"))
# `--wire` also accepts these short names
ALIASES = {"openai": "openai.chat", "chat": "openai.chat", "responses": "openai.responses",
           "anthropic": "anthropic.messages", "gemini": "gemini.generate", "ollama": "ollama.chat",
           "bedrock": "bedrock.converse",
           "cohere": "cohere.chat", "mistral": "openai.chat", "completions": "openai.completions",
           "text_completion": "openai.completions", "complete": "anthropic.complete"}


_LOADED: dict[str, Any] = {}

# What a wire module raises on a shape it does not understand: a list where it expects an object, a number too
# large for a float, a value nested past the recursion limit. Anything else is a bug, and propagates.
SHAPE_ERRORS = (TypeError, KeyError, AttributeError, ValueError, IndexError, RecursionError, OverflowError)


def unreadable(api: str, exc: BaseException, where: str = "") -> str:
    """The warning for a body or event that a wire module could not read to its end. Only the exception's type is
    named: its message could quote provider data (the document must not echo whatever the provider sent)."""
    return f"{api}: {where}part of the response has a shape aimux does not understand and was skipped " \
           f"({type(exc).__name__})"


def module(api: str):
    """The wire module of `api` (imported on demand, so start-up pays only for what it uses)."""
    mod = _LOADED.get(api)
    if mod is None:  # import_module costs microseconds even when cached: detection calls this per wire
        mod = _LOADED[api] = import_module(_MODULES[api])
    return mod


def canonical(name: str) -> str | None:
    """The canonical wire name of a `--wire` value, or None when unknown."""
    name = ALIASES.get(name, name)
    return name if name in _MODULES else None


def detect(obj: Any) -> str | None:
    """The wire format of a JSON body or first stream chunk, or None when it is not a known provider response."""
    if isinstance(obj, list):
        # Gemini's stream without alt=sse is a JSON array of chunks
        return "gemini.generate" if obj and _detects(module("gemini.generate"), obj[0]) else None
    if not isinstance(obj, dict):
        return None
    kind = obj.get("object")
    if kind.__class__ is str and kind in _CHAT_OBJECTS:
        # the most common input by far, and unmistakable: no other wire uses these values, so skip the ordered
        # scan (and importing the other wire modules at all)
        return "openai.chat"
    if kind == "text_completion":  # the legacy Completions object is just as unmistakable
        return "openai.completions"
    for api in _MODULES:
        if _detects(_LOADED.get(api) or module(api), obj):  # a call less per wire once loaded
            return api
    return None


def _detects(mod: Any, obj: Any) -> bool:
    try:
        return bool(mod.detect(obj))
    except SHAPE_ERRORS:  # e.g. {"type": ["string", "null"]}, a JSON Schema: not this wire's shape
        return False


def parse_body(obj: Any, *, api: str | None = None, provider: str | None = None,
               http_status: int | None = None, warnings: Iterable[str] = ()) -> Document | None:
    """Normalize a whole body; None when its format is unknown (the caller then takes the generic path).
    `warnings`: what the caller could not read in the bytes of the body (they go into the document)."""
    api = api or detect(obj)
    if api is None:
        return None
    mod = module(api)
    acc = Accumulator(api, provider=provider, default_provider=mod.VENDOR)
    for message in warnings:
        acc.warn(message)
    if isinstance(obj, list):  # a JSON array of stream chunks
        for number, chunk in enumerate(obj, 1):
            try:
                mod.fold(acc, chunk, None)
            except SHAPE_ERRORS as exc:
                acc.warn(unreadable(api, exc, f"element {number}: "))
    else:
        try:
            mod.parse(obj, acc)
        except SHAPE_ERRORS as exc:
            acc.warn(unreadable(api, exc))
            acc.mark_terminal()  # the body arrived whole: what could not be read is a warning, not a cut stream
    _apply_http_status(acc, http_status)
    return acc.document()


def _apply_http_status(acc: Accumulator, http_status: int | None) -> None:
    if http_status is not None and http_status >= 400:
        if not acc.error:
            acc.set_error(status=http_status, message="")
        acc.error["status"] = http_status


class StreamFolder:
    """Folds stream events (SSE events or JSON values) into one document, detecting the wire from the first."""

    def __init__(self, api: str | None = None, provider: str | None = None,
                 http_status: int | None = None) -> None:
        self.api = api
        self.provider = provider
        self.http_status = http_status
        self.acc: Accumulator | None = None
        self.mod = None
        self.events = 0
        self.skipped = 0
        self._notes: list[str] = []  # warnings given before the first event started the document

    def _start(self, obj: Any) -> None:
        api = self.api or detect(obj)
        if api is None:
            raise UnknownWire(obj)
        self.api = api
        self.mod = module(api)
        self.acc = Accumulator(api, provider=self.provider, default_provider=self.mod.VENDOR)
        for message in self._notes:
            self.acc.warn(message)

    def warn(self, message: str) -> None:
        """A warning about the stream itself (bytes that are not UTF-8, a line that is not JSON) for the document."""
        if self.acc is None:
            self._notes.append(message)
        else:
            self.acc.warn(message)

    def feed_json(self, obj: Any, event: str | None = None) -> list[Delta]:
        """Fold one decoded event; returns its visible deltas."""
        if self.acc is None:
            self._start(obj)
        self.events += 1
        try:
            return self.mod.fold(self.acc, obj, event)
        except SHAPE_ERRORS as exc:
            return self._unreadable(exc)

    def _unreadable(self, exc: BaseException) -> list[Delta]:
        """An event the wire module could not read to its end: what it folded stays, the document says so."""
        self.acc.warn(unreadable(self.api, exc, f"event {self.events}: "))
        return []

    def feed_done(self, data: str) -> bool:
        """Handle a non-JSON data line; True when it is this wire's end-of-stream marker."""
        if self.mod is not None and data.strip() in self.mod.DONE_MARKERS:
            self.acc.mark_terminal()
            return True
        if self.mod is None and data.strip() == "[DONE]":
            return True
        return False

    def feed_sse(self, data: str, event: str | None = None) -> list[Delta]:
        """Fold one SSE event's data: JSON is folded, the end marker ends the stream, anything else is counted
        in `skipped` (some servers pad streams with non-JSON data; the caller may warn)."""
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            from aimux_cli.surrogates import REFUSED, loads_refused  # rare: not worth an import on start-up

            obj = loads_refused(data, exc)
            if obj is REFUSED:
                if not self.feed_done(data):
                    self.skipped += 1
                return []
            self.warn(f"event {self.events + 1}: half of a UTF-16 surrogate pair replaced with U+FFFD")
        if self.acc is None:
            self._start(obj)
        self.events += 1  # feed_json inlined: this runs once per event of every stream
        try:
            return self.mod.fold(self.acc, obj, None if event == "message" else event)
        except SHAPE_ERRORS as exc:
            return self._unreadable(exc)

    def feed_all(self, objs: Iterable[Any]) -> None:
        for obj in objs:
            self.feed_json(obj)

    def document(self) -> Document:
        if self.acc is None:
            raise UnknownWire(None)
        _apply_http_status(self.acc, self.http_status)
        return self.acc.document()


class UnknownWire(ValueError):
    """The first event is not of a known wire format."""

    def __init__(self, obj: Any) -> None:
        super().__init__("not a known provider stream")
        self.obj = obj
