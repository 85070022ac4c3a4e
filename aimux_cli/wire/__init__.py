"""Wire formats: detection and dispatch. One module per format, each with the same small interface.

A wire module `m` provides:

- `API`: its name (`openai.chat`, ...) and `VENDOR`: the family's default vendor (`openai`, ...).
- `detect(obj) -> bool`: True when a JSON body (or the first event of a stream) is of this format.
- `parse(obj, acc)`: fold a whole (non-stream) body into the Accumulator `acc`, including error bodies.
- `fold(acc, obj, event) -> list[Delta]`: fold one stream event (`obj` is the event's JSON data, `event` the SSE
  event name or None for NDJSON / JSON-array chunks) and return the visible deltas it carried, in order.
- `DONE_MARKERS`: data strings that end a stream without JSON (OpenAI's `[DONE]`), may be empty.

Deltas are `(kind, text)` with kind `text`, `thinking` or `refusal`; `--follow` and `ask` print them as they come.

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
    "gemini.generate": "aimux_cli.wire.gemini",
    "ollama.generate": "aimux_cli.wire.ollama_generate",
    "ollama.chat": "aimux_cli.wire.ollama",
    "openai.chat": "aimux_cli.wire.openai_chat",
}
WIRES = tuple(sorted(_MODULES))
_CHAT_OBJECTS = frozenset(("chat.completion", "chat.completion.chunk"))
# `--wire` also accepts these short names
ALIASES = {"openai": "openai.chat", "chat": "openai.chat", "responses": "openai.responses",
           "anthropic": "anthropic.messages", "gemini": "gemini.generate", "ollama": "ollama.chat"}


_LOADED: dict[str, Any] = {}


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
        return "gemini.generate" if obj and module("gemini.generate").detect(obj[0]) else None
    if not isinstance(obj, dict):
        return None
    if obj.get("object") in _CHAT_OBJECTS:
        # the most common input by far, and unmistakable: no other wire uses these values, so skip the ordered
        # scan (and importing the other wire modules at all)
        return "openai.chat"
    for api in _MODULES:
        if (_LOADED.get(api) or module(api)).detect(obj):  # a call less per wire once loaded
            return api
    return None


def parse_body(obj: Any, *, api: str | None = None, provider: str | None = None,
               http_status: int | None = None) -> Document | None:
    """Normalize a whole body; None when its format is unknown (the caller then takes the generic path)."""
    api = api or detect(obj)
    if api is None:
        return None
    mod = module(api)
    acc = Accumulator(api, provider=provider, default_provider=mod.VENDOR)
    if isinstance(obj, list):  # a JSON array of stream chunks
        for chunk in obj:
            mod.fold(acc, chunk, None)
    else:
        mod.parse(obj, acc)
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

    def _start(self, obj: Any) -> None:
        api = self.api or detect(obj)
        if api is None:
            raise UnknownWire(obj)
        self.api = api
        self.mod = module(api)
        self.acc = Accumulator(api, provider=self.provider, default_provider=self.mod.VENDOR)

    def feed_json(self, obj: Any, event: str | None = None) -> list[Delta]:
        """Fold one decoded event; returns its visible deltas."""
        if self.acc is None:
            self._start(obj)
        self.events += 1
        return self.mod.fold(self.acc, obj, event)

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
        except orjson.JSONDecodeError:
            if not self.feed_done(data):
                self.skipped += 1
            return []
        if self.acc is None:
            self._start(obj)
        self.events += 1  # feed_json inlined: this runs once per event of every stream
        return self.mod.fold(self.acc, obj, None if event == "message" else event)

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
