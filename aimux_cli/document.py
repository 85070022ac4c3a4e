"""The aimux response document, and the one accumulator every wire format folds into.

Contract: provider events (a whole body is just one big event) -> `Accumulator` calls -> `Document`.
`Document.to_dict()` gives the exact key order of the documented format (docs/document.md): keys that are
empty or unknown are omitted, except `api`, `status` and `finish`, which are always present.

Wire modules (aimux_cli/wire/*) never build dicts of the document themselves: they call the accumulator, so a
stream and the non-stream body of the same answer end in the same document by construction. The vocabulary (finish
classes, usage keys, tool-call arguments) and the pure steps that finish blocks are in document_fields.py.
"""

from __future__ import annotations

from typing import Any

from aimux_cli import safety as _safety
from aimux_cli.document_fields import (  # noqa: F401 - also imported from here by the wire modules
    ERROR_KEYS, FINISH_CLASSES, MAX_WARNINGS, TIMING_KEYS, USAGE_KEYS, ArgumentPieces, _CONTENT_KINDS, _choice_order,
    _digits, _finalize_block, _plain, _split_think_tags, _type_name, call_arguments, first_reported,
    normalize_finish, parse_arguments,
)


def _scalar_text(value: Any, field: str, acc: Accumulator) -> str | None:
    """A reported name or id as text: a string as is, a number in decimal; anything else (an object, a list) is
    not a name: it is left out with a warning rather than turned into an unreadable (or unbounded) repr."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return str(value)
        except ValueError:  # an integer beyond the interpreter's digit limit
            pass
    acc.warn(f"{field}: ignored a value of type {type(value).__name__}")
    return None


class Document:
    """A normalized provider response, immutable; see docs/document.md for every field.

    A hand-written slotted class rather than a frozen dataclass: defining that 15-field dataclass cost about 4 ms
    of every run's start-up (Python generates and compiles its methods at import).

    api: the wire format (openai.chat, ...); status: ok | incomplete | error; finish: the normalized stop reason or
    None; provider, model, id: as reported; finish_raw: the provider's own stop reason; stop_sequence: the matched
    stop sequence; blocks: the ordered content of choice 0; choices: only when more than one; usage: token counts
    reported; timing: provider timings in seconds; cost: as reported; error: status, type, code, message;
    request_id: the request id a body reports; warnings: what aimux could not read in the input (a shape it does
    not understand, bytes that are not UTF-8), so that a partly read document says so; safety: content-filter
    results (aimux_cli/safety.py).
    """

    __slots__ = ("api", "status", "finish", "provider", "model", "id", "finish_raw", "stop_sequence", "blocks",
                 "choices", "usage", "timing", "cost", "error", "request_id", "warnings", "safety")

    def __init__(self, api: str, status: str, finish: str | None, provider: str | None = None,
                 model: str | None = None, id: str | None = None, finish_raw: Any = None,
                 stop_sequence: str | None = None, blocks: tuple[dict, ...] = (), choices: tuple[dict, ...] = (),
                 usage: dict | None = None, timing: dict | None = None, cost: Any = None,
                 error: dict | None = None, request_id: str | None = None,
                 warnings: tuple[str, ...] = (), safety: tuple[dict, ...] = ()) -> None:
        values = (api, status, finish, provider, model, id, finish_raw, stop_sequence, blocks, choices,
                  {} if usage is None else usage, {} if timing is None else timing, cost,
                  {} if error is None else error, request_id, warnings, safety)
        for name, value in zip(self.__slots__, values):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Document is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Document is immutable: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not Document:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # holds dicts

    def __repr__(self) -> str:
        return f"Document({', '.join(f'{n}={getattr(self, n)!r}' for n in self.__slots__)})"

    def to_dict(self) -> dict[str, Any]:
        """The document as an ordered dict: the documented key order, empty or unknown keys omitted."""
        out: dict[str, Any] = {"api": self.api}
        if self.provider:  # None and "" are omitted alike (the three are str or None)
            out["provider"] = self.provider
        if self.model:
            out["model"] = self.model
        if self.id:
            out["id"] = self.id
        out["status"] = self.status
        out["finish"] = self.finish
        if self.finish_raw is not None:
            out["finish_raw"] = self.finish_raw
        if self.stop_sequence is not None:
            out["stop_sequence"] = self.stop_sequence
        if self.blocks:
            out["blocks"] = list(self.blocks)
        if self.choices:
            out["choices"] = list(self.choices)
        if self.safety:
            out["safety"] = list(self.safety)
        if self.usage:
            out["usage"] = dict(self.usage)
        if self.timing:
            out["timing"] = dict(self.timing)
        if self.cost is not None:
            out["cost"] = self.cost
        if self.error:
            out["error"] = dict(self.error)
        if self.request_id:
            out["request_id"] = self.request_id
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out

    def text(self) -> str:
        """The answer text of choice 0: its text blocks joined."""
        return "".join(b["text"] for b in self.blocks if b.get("type") == "text")


class _Choice:
    __slots__ = ("blocks", "keys", "tools", "finish_raw", "last", "pending_citations")

    def __init__(self) -> None:
        self.blocks: list[dict] = []
        self.keys: dict[Any, dict] = {}  # explicit provider block index -> block
        # citations that arrived before their block's first text (Anthropic streams send citations_delta first)
        self.pending_citations: dict[Any, list[dict]] = {}
        self.tools: dict[Any, dict] = {}  # tool-call key -> block (string arguments kept as ArgumentPieces)
        self.finish_raw: Any = None
        self.last: dict | None = None  # the block that a delta without an explicit index extends


class Accumulator:
    """Folds provider events into a Document. Wire modules call it; `document()` applies the contract's rules.

    Deltas of the same kind for the same choice extend one block unless an explicit block index (`key`) keeps
    them apart. Tool calls are keyed per call: id and name come from the first delta that carries them, only
    the arguments are concatenated.
    """

    def __init__(self, api: str, provider: str | None = None, default_provider: str | None = None) -> None:
        self.api = api
        self.provider = provider  # given by the user: wins over anything inferred
        self.inferred_provider: str | None = None
        self.default_provider = default_provider
        self.model: str | None = None
        self.id: str | None = None
        self.stop_sequence: str | None = None
        self.usage: dict[str, Any] = {}
        self.timing: dict[str, float] = {}
        self.cost: Any = None
        self.error: dict[str, Any] = {}
        self.request_id: str | None = None
        self.choices: dict[int, _Choice] = {}
        self.terminal = False  # the wire's terminal event (or a complete body) was seen
        self.state: dict[Any, Any] = {}  # a wire module's own stream bookkeeping; never in the document
        self.safety_results: dict[tuple, dict] = {}  # content-filter results by (scope, choice, category)
        self.before_document: list = []  # a wire's callbacks that settle what it holds back (joins left to do)
        self.warnings: list[str] = []  # what could not be read (see `warn`)
        self.dropped_warnings = 0  # distinct warnings beyond MAX_WARNINGS, counted only

    # -- metadata -------------------------------------------------------------------------------------------
    def meta(self, *, model: Any = None, id: Any = None) -> None:
        if model:
            self.model = _scalar_text(model, "model", self)
        if id:
            self.id = _scalar_text(id, "id", self)

    def warn(self, message: str) -> None:
        """Note something in the input that could not be read; the document lists these as `warnings`. The same
        message is kept once, and at most MAX_WARNINGS are kept (the last one then counts the rest)."""
        warnings = self.warnings
        if message in warnings:
            return
        if len(warnings) < MAX_WARNINGS:
            warnings.append(message)
        else:
            self.dropped_warnings += 1

    def infer_provider(self, name: str | None) -> None:
        if name and not self.inferred_provider:
            self.inferred_provider = name

    def set_usage(self, **counts: Any) -> None:
        """Record usage counts; later values replace earlier ones; None means not reported, 0 is kept."""
        for key, value in counts.items():
            if value is not None:
                self.usage[key] = value

    def set_timing(self, **seconds: Any) -> None:
        for key, value in seconds.items():
            if value is not None:
                self.timing[key] = value

    def set_cost(self, cost: Any) -> None:
        if cost is not None:
            self.cost = cost

    def set_error(self, *, status: Any = None, type: Any = None, code: Any = None, message: Any = None) -> None:
        """Record an error; an all-digit code (Azure's "401") is the HTTP status, other codes stay `code`."""
        if isinstance(code, bool):
            code = str(code)
        if isinstance(code, int) or _digits(code):
            if status is None:
                status = int(code)
            code = None
        if _digits(status):
            status = int(status)
        err = {"status": status if isinstance(status, int) else None, "type": _plain(type), "code": _plain(code),
               "message": _plain(message, text=True)}
        for key, value in err.items():
            if value is not None and value != "":
                self.error[key] = value
        self.error.setdefault("message", "")

    def set_finish(self, raw: Any, choice: int = 0, stop_sequence: Any = None) -> None:
        if raw is not None:
            self._choice(choice).finish_raw = raw
        if stop_sequence is not None:
            self.stop_sequence = stop_sequence

    def safety(self, scope: str, category: Any, choice: int = 0, /, **fields: Any) -> None:
        """Record a content-filter result: `scope` prompt or output, the provider's category, and the entry fields
        (probability, severity, detected, filtered, ...); see aimux_cli/safety.py for the shape and the merging."""
        _safety.record(self.safety_results, scope, category, choice, fields)

    def mark_terminal(self) -> None:
        self.terminal = True

    # -- content --------------------------------------------------------------------------------------------
    def _choice(self, index: int) -> _Choice:
        ch = self.choices.get(index)
        if ch is None:
            ch = self.choices[index] = _Choice()
        return ch

    def ensure_choice(self, index: int = 0) -> None:
        self._choice(index)

    def _extend(self, kind: str, text: str, choice: int, key: Any) -> dict | None:
        ch = self._choice(choice)
        block = ch.keys.get(key) if key is not None else ch.last
        if block is not None and block["type"] == kind and "text" in block and (key is not None or block is ch.last):
            block["text"].append(text)  # pieces, joined in _finalize_block: `+=` would copy the text per delta
            return block
        if text == "":
            return None  # blocks are never empty
        block = {"type": kind, "text": [text]}
        ch.blocks.append(block)
        ch.last = block
        if key is not None:
            ch.keys[key] = block
        if ch.pending_citations and kind == "text" and key in ch.pending_citations:
            block["citations"] = ch.pending_citations.pop(key)
        return block

    def text(self, delta: str, choice: int = 0, key: Any = None) -> None:
        if delta and isinstance(delta, str):  # a wire passes what the provider sent: [1] is no text
            if key is None:  # the bulk of every stream: one more piece for the current text block, inline
                ch = self.choices.get(choice)
                block = ch.last if ch is not None else None
                if block is not None and block["type"] == "text" and "text" in block:
                    block["text"].append(delta)
                    return
            self._extend("text", delta, choice, key)

    def thinking(self, delta: str, choice: int = 0, key: Any = None) -> None:
        if delta and isinstance(delta, str):
            self._extend("thinking", delta, choice, key)

    def refusal(self, delta: str, choice: int = 0, key: Any = None) -> None:
        if delta and isinstance(delta, str):
            self._extend("refusal", delta, choice, key)

    def citations(self, cites: list[dict], choice: int = 0, key: Any = None) -> None:
        """Attach citations ({url, title}) to the latest text block of the choice (or the one with `key`).
        Citations that arrive before any such text wait for it (Anthropic's citations_delta comes first, Perplexity
        sends its sources in a stream's first chunk)."""
        if not cites:
            return
        ch = self._choice(choice)
        if key is not None:
            block = ch.keys.get(key)
        else:
            block = next((b for b in reversed(ch.blocks) if b["type"] == "text"), None)
        if block is None:
            ch.pending_citations.setdefault(key, []).extend(cites)  # attached when the block's text arrives
            return
        if block["type"] == "text":
            block.setdefault("citations", []).extend(cites)

    def redacted_thinking(self, choice: int = 0, key: Any = None) -> None:
        ch = self._choice(choice)
        block = {"type": "thinking", "redacted": True}
        ch.blocks.append(block)
        ch.last = block
        if key is not None:
            ch.keys[key] = block

    def tool_call(self, key: Any, *, id: Any = None, name: Any = None, arguments: Any = None,
                  choice: int = 0) -> None:
        """Start or extend the tool call `key`; string arguments are concatenated, other values replace."""
        ch = self._choice(choice)
        block = ch.tools.get(key)
        if block is None:
            block = {"type": "tool_call", "id": None, "name": None, "arguments": ArgumentPieces()}
            ch.tools[key] = block
            ch.blocks.append(block)
        ch.last = block
        if id and not block["id"]:
            block["id"] = _scalar_text(id, "tool call id", self)
        if name and not block["name"]:
            block["name"] = _scalar_text(name, "tool call name", self)
        if arguments is None:
            return
        if isinstance(arguments, str):
            pieces = block["arguments"]
            if type(pieces) is not ArgumentPieces:  # a string after a value sent whole starts again
                pieces = block["arguments"] = ArgumentPieces()
            if arguments:  # no empty pieces: their number grows exactly when the arguments do (live.Progress.watch)
                pieces.append(arguments)
        else:
            block["arguments"] = arguments

    def other(self, block: dict, choice: int = 0, key: Any = None) -> None:
        """A provider block with no row in the contract: kept with its provider type and salient fields."""
        ch = self._choice(choice)
        block = {k: v for k, v in block.items() if v is not None}
        kind = block.get("type")
        if not isinstance(kind, str) or kind in _CONTENT_KINDS:
            # a block must name its type, and only the accumulator makes the contract's kinds (a "tool_call" here
            # would lack the fields every reader of the document expects)
            self.warn(f"a block of type {_type_name(kind)} was kept as type \"unknown\"")
            block = {"type": "unknown", **{k: v for k, v in block.items() if k != "type"}}
        ch.blocks.append(block)
        ch.last = block
        if key is not None:
            ch.keys[key] = block

    def block_for(self, key: Any, choice: int = 0) -> dict | None:
        return self._choice(choice).keys.get(key)

    # -- result ---------------------------------------------------------------------------------------------
    def document(self) -> Document:
        """Apply the contract's rules and return the document (the accumulator stays usable)."""
        for settle in self.before_document:
            settle()
        # `incomplete` is a stream cut before its terminal event; a provider's own "incomplete" is a finish reason
        status = "error" if self.error else ("ok" if self.terminal else "incomplete")
        rendered = [(index, *self._finish_choice(self.choices[index], status))
                    for index in sorted(self.choices, key=_choice_order)]
        if not rendered:  # an error body has no choice, and its finish is still `error`
            rendered = [(0, [], "error" if status == "error" else None, None)]
        _, blocks, finish, finish_raw = rendered[0]
        choices: tuple[dict, ...] = ()
        if len(rendered) > 1:
            choices = tuple({"index": i, "finish": f, "finish_raw": r, "blocks": b} for i, b, f, r in rendered)
        provider = self.provider or self.inferred_provider or self.default_provider
        # most of these are empty: skipping their comprehensions is measurable at stream rates
        usage = {k: self.usage[k] for k in USAGE_KEYS if k in self.usage} if self.usage else {}
        timing = {k: self.timing[k] for k in TIMING_KEYS if k in self.timing} if self.timing else {}
        error = {k: self.error[k] for k in ERROR_KEYS if k in self.error} if self.error else {}
        return _make_document(api=self.api, status=status, finish=finish, provider=provider, model=self.model,
                              id=self.id, finish_raw=finish_raw, stop_sequence=self.stop_sequence,
                              blocks=tuple(blocks), choices=choices, usage=usage, timing=timing, cost=self.cost,
                              error=error, request_id=self.request_id, warnings=self._warnings(),
                              safety=_safety.entries(self.safety_results, len(rendered) > 1) if self.safety_results
                              else ())

    def _warnings(self) -> tuple[str, ...]:
        if not self.warnings:
            return ()
        dropped = self.dropped_warnings
        return tuple(self.warnings) + ((f"… and {dropped} more warning(s)",) if dropped else ())

    def _finish_choice(self, ch: _Choice, status: str) -> tuple[list[dict], str | None, Any]:
        blocks = _split_think_tags([_finalize_block(b) for b in ch.blocks])
        if status == "error":
            return blocks, "error", ch.finish_raw
        finish = normalize_finish(ch.finish_raw)
        if finish == "stop":
            kinds = {b["type"] for b in blocks}
            if "tool_call" in kinds:
                finish = "tool_call"
            elif "refusal" in kinds:
                finish = "refusal"
        return blocks, finish, ch.finish_raw


# __init__ pays one object.__setattr__ per field (15 here); filling the slots through their descriptors builds
# the same immutable Document in about two thirds of the time.
_SLOT_SETTERS = tuple((name, getattr(Document, name).__set__) for name in Document.__slots__)


def _make_document(**fields: Any) -> Document:
    """Document(**fields), faster; every field must be given (a KeyError names one that was forgotten)."""
    doc = object.__new__(Document)
    for name, setter in _SLOT_SETTERS:
        setter(doc, fields[name])
    return doc

