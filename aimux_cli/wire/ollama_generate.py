"""Ollama `/api/generate`: the NDJSON stream and the non-stream body -> the aimux document.

Contract: as `/api/chat` (aimux_cli/wire/ollama.py), except that each chunk carries the answer in `response`
and the reasoning in `thinking` at the top level instead of a `message` object. The final `done: true` chunk
(finish, counts, ns timings converted to seconds) and `{"error": "..."}` lines are handled the same way; its
`context` token list is not part of the document. A lone `{"error": "..."}` body is detected as ollama.chat,
the family's chat format; inside a generate stream the same line is this wire's error event.
"""

from __future__ import annotations

from typing import Any

from aimux_cli.document import Accumulator
from aimux_cli.wire.ollama import fold_chunk

API = "ollama.generate"
VENDOR = "ollama"
DONE_MARKERS: tuple[str, ...] = ()


def detect(obj: Any) -> bool:
    """True for an /api/generate chunk or body (`response` and `done`)."""
    return isinstance(obj, dict) and "response" in obj and "done" in obj


def parse(obj: Any, acc: Accumulator) -> None:
    """Fold a whole body: the same calls as its final stream chunk (terminal only when `done` is true)."""
    fold(acc, obj, None)


def fold(acc: Accumulator, obj: Any, event: str | None) -> list[tuple[str, str]]:
    """Fold one chunk; returns its visible deltas (the text is `response`, beside `thinking`)."""
    return fold_chunk(acc, obj, obj if isinstance(obj, dict) else {}, "response")
