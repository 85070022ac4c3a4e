"""OpenAI legacy Completions (`POST /v1/completions`, `object: text_completion`), and the servers that still
serve it (vLLM, llama.cpp, Together, Fireworks, ...): bodies and SSE streams -> the aimux document.

Contract: a `text_completion` body or one chunk of its stream (the same object, with each choice's next piece of
`text`; ended by `data: [DONE]`) -> Accumulator calls.

- `choices[].text` -> text of choice `index` (several choices with `n` > 1); `finish_reason` (`stop`, `length`,
  `content_filter`) -> finish_raw; `logprobs` (tokens, token_logprobs, top_logprobs, text_offset) is an opaque
  per-token table and is never copied, like chat's.
- `usage` (`prompt_tokens`, `completion_tokens`, `total_tokens`, and the details chat has) is read as chat's; an
  `{"error": {...}}` body or event is OpenAI's error shape, read by the chat wire (`openai.chat`) when detected and
  here when the wire is forced or named by the first event.
- A body without `object` (some OpenAI-compatible servers) is still this wire when its first choice has `text`
  and neither `message` nor `delta`.
"""

from __future__ import annotations

from typing import Any

from aimux_cli.document import Accumulator
from aimux_cli.wire import openai_chat

API = "openai.completions"
VENDOR = "openai"
DONE_MARKERS = ("[DONE]",)

OBJECT = "text_completion"


def detect(obj: Any) -> bool:
    """A `text_completion` body or chunk (also one without `object` whose first choice carries `text`)."""
    if not isinstance(obj, dict):
        return False
    if obj.get("object") == OBJECT:
        return True
    choices = obj.get("choices")
    if "object" in obj or not isinstance(choices, list) or not choices:
        return False
    first = choices[0]
    return isinstance(first, dict) and "text" in first and "message" not in first and "delta" not in first


def parse(obj: dict, acc: Accumulator) -> None:
    """Fold a whole body; a complete body is terminal."""
    fold(acc, obj, None)
    acc.mark_terminal()


def fold(acc: Accumulator, obj: Any, event: str | None) -> list[tuple[str, str]]:
    """Fold one chunk (or a whole body) and return the visible deltas it carried."""
    if not isinstance(obj, dict):
        return []
    if acc.id is None or acc.model is None:
        acc.meta(model=obj.get("model"), id=obj.get("id"))
    deltas: list[tuple[str, str]] = []
    choices = obj.get("choices")
    if isinstance(choices, list):
        for position, choice in enumerate(choices):
            if isinstance(choice, dict):
                _choice(acc, choice, position, deltas)
    elif choices:
        acc.warn(f"{API}: `choices` is not a list; ignored")
    usage = obj.get("usage")
    if usage:
        openai_chat.fold_usage(acc, usage)
    if obj.get("error"):
        openai_chat.fold_error(acc, obj["error"])
    return deltas


def _choice(acc: Accumulator, choice: dict, position: int, deltas: list[tuple[str, str]]) -> None:
    index = choice.get("index", position)
    if not isinstance(index, int) or isinstance(index, bool):
        index = position
    acc.ensure_choice(index)
    text = choice.get("text")
    if text and isinstance(text, str):
        acc.text(text, index)
        deltas.append(("text", text))  # of any choice, as chat's: live.py sorts out choice 0 when n > 1
    finish = choice.get("finish_reason")
    if finish is not None:
        stop = choice.get("stop_reason")  # vLLM: the matched stop string (an int is a token id)
        acc.set_finish(finish, index, stop_sequence=stop if isinstance(stop, str) and index == 0 else None)
