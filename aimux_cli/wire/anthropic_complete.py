"""Anthropic legacy Text Completions (`POST /v1/complete`): bodies, SSE streams and errors -> the aimux document.

Contract: a `{"type": "completion", "id", "completion", "stop_reason", "model", "stop", "log_id"}` body, or the
events of its stream (`event: completion` with the same object, each carrying the next piece of `completion`,
`stop_reason` null until the last; `event: ping`; `event: error`) -> Accumulator calls.

- `completion` -> text (streamed pieces are incremental, as with `anthropic-version: 2023-06-01`);
  `stop_reason` (`stop_sequence`, `max_tokens`) -> finish_raw; `stop` (the stop sequence that matched) ->
  stop_sequence. The legacy API reports no token usage.
- A stream ends with the event whose `stop_reason` is set: that event is terminal (there is no `message_stop`).
- `{"type": "error", "error": {"type", "message"}}` inside such a stream is read as Anthropic's error (a body of
  that shape alone is detected as `anthropic.messages`, whose error it equally is).
"""

from __future__ import annotations

from typing import Any

from aimux_cli.document import Accumulator

API = "anthropic.complete"
VENDOR = "anthropic"
DONE_MARKERS: tuple[str, ...] = ()


def detect(obj: Any) -> bool:
    """A legacy completion body or stream event: `type: completion` with a `completion` field."""
    return isinstance(obj, dict) and obj.get("type") == "completion" and "completion" in obj


def parse(obj: dict, acc: Accumulator) -> None:
    """Fold a whole body; a whole body is terminal even without a stop reason."""
    fold(acc, obj, None)
    acc.mark_terminal()


def fold(acc: Accumulator, obj: Any, event: str | None) -> list[tuple[str, str]]:
    """Fold one event (or a whole body); returns the visible deltas it carried."""
    if not isinstance(obj, dict):
        return []
    kind = obj.get("type") or event
    if kind == "error":
        err = obj.get("error")
        err = err if isinstance(err, dict) else {"message": err}
        acc.set_error(type=err.get("type"), message=err.get("message"))
        return []
    if kind != "completion":
        return []  # ping, and anything newer
    if acc.id is None or acc.model is None:
        acc.meta(model=obj.get("model"), id=obj.get("id"))
    acc.ensure_choice(0)
    text = obj.get("completion")
    deltas: list[tuple[str, str]] = []
    if text and isinstance(text, str):
        acc.text(text)
        deltas.append(("text", text))
    reason = obj.get("stop_reason")
    if reason is not None:
        stop = obj.get("stop")
        acc.set_finish(reason, stop_sequence=stop if isinstance(stop, str) and stop else None)
        acc.mark_terminal()
    return deltas
