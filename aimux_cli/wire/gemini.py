"""Gemini `generateContent` / `streamGenerateContent`: bodies, stream chunks and error bodies -> the document.

Contract: a GenerateContentResponse (a body, one SSE event of `alt=sse`, or one element of the JSON array that
`streamGenerateContent` returns without `alt=sse`) or an error body `{"error": {"code", "message", "status"}}`
-> Accumulator calls (aimux_cli/document.py).

- Each candidate is a choice (its `index`, else its position). Parts: `text` -> text, `text` with
  `thought: true` -> thinking, `functionCall {name, args, id?}` -> tool_call (id only when given); other parts
  (`executableCode`, `codeExecutionResult`, `inlineData`, `fileData`, ...) are kept as blocks of that type, minus
  binary `data`. `thoughtSignature` is never copied. Text parts across chunks extend one block per candidate.
- `citationMetadata` and `groundingMetadata` web sources become `{url, title}` citations of the candidate's text.
- `finishReason` is `finish_raw` (STOP with function calls becomes tool_call by the document's rule).
- Usage: promptTokenCount, candidatesTokenCount, totalTokenCount, thoughtsTokenCount -> reasoning_tokens,
  cachedContentTokenCount -> cache_read_tokens; a later chunk's counts replace earlier ones.
- `modelVersion` is the model, `responseId` the id.
- Streams: a chunk whose last candidate has a `finishReason` is terminal; a stream without one is incomplete.
- Error bodies (also inside an array, `[{"error": {...}}]`, or as a stream event): `code` is the HTTP status,
  `status` (NOT_FOUND, ...) the type.

A blocked prompt (`promptFeedback.blockReason`, no candidates) is a complete, successful response (HTTP 200,
not an error body, not marked incomplete), so its status is `ok`. Gemini's standard field for why such a response
ended is `blockReason` (there is no candidate to carry a `finishReason`), so it is the `finish_raw`: SAFETY,
PROHIBITED_CONTENT, BLOCKLIST and IMAGE_SAFETY give `content_filter` (the contract lists PROHIBITED_CONTENT, a
blockReason value, under content_filter); OTHER gives null. The feedback is also kept as a block
`{"type": "promptFeedback", "blockReason": ..., "blockReasonMessage": ...}` so its message is not lost.

Not handled: Vertex's streamed function-call arguments (`partialArgs` / `willContinue`); each `functionCall`
part is taken as one whole call.
"""

from __future__ import annotations

from typing import Any

from aimux_cli.document import Accumulator

API = "gemini.generate"
VENDOR = "gemini"
DONE_MARKERS: tuple[str, ...] = ()

_SKIP_PART_KEYS = frozenset({"text", "thought", "thoughtSignature", "functionCall", "partMetadata", "videoMetadata"})


def detect(obj: Any) -> bool:
    """True for a GenerateContentResponse (body or chunk) or a Google-style error body."""
    if not isinstance(obj, dict):
        return False
    if "candidates" in obj or "promptFeedback" in obj:
        return True
    if "usageMetadata" in obj and ("modelVersion" in obj or "responseId" in obj):
        return True
    err = obj.get("error")
    # Google errors carry a numeric code and a status name; OpenAI-shaped errors carry neither pair
    return isinstance(err, dict) and isinstance(err.get("code"), int) and isinstance(err.get("status"), str)


def parse(obj: Any, acc: Accumulator) -> None:
    """Fold a whole body (a response or an error) into `acc`; a body is complete by definition."""
    fold(acc, obj, None)
    acc.mark_terminal()


def fold(acc: Accumulator, obj: Any, event: str | None) -> list[tuple[str, str]]:
    """Fold one chunk (or a whole body); returns its visible deltas."""
    if not isinstance(obj, dict):
        return []
    if obj.get("error") is not None:
        _error(acc, obj["error"])
        return []
    acc.meta(model=obj.get("modelVersion"), id=obj.get("responseId"))
    _usage(acc, obj.get("usageMetadata"))
    deltas: list[tuple[str, str]] = []
    candidates = obj.get("candidates") or ()
    for position, cand in enumerate(candidates):
        if isinstance(cand, dict):
            _candidate(acc, cand, cand.get("index", position), deltas)
    if candidates and isinstance(candidates[-1], dict) and candidates[-1].get("finishReason"):
        acc.mark_terminal()
    feedback = obj.get("promptFeedback")
    if isinstance(feedback, dict) and feedback.get("blockReason"):
        acc.other({"type": "promptFeedback", "blockReason": feedback["blockReason"],
                   "blockReasonMessage": feedback.get("blockReasonMessage")})
        acc.set_finish(feedback["blockReason"])  # SAFETY, PROHIBITED_CONTENT, BLOCKLIST... -> content_filter
        acc.mark_terminal()  # a blocked prompt is the whole answer
    return deltas


def _error(acc: Accumulator, err: Any) -> None:
    if not isinstance(err, dict):
        acc.set_error(message=str(err))
        return
    code = err.get("code")
    acc.set_error(status=code if isinstance(code, int) else None, type=err.get("status"),
                  message=err.get("message"))


def _usage(acc: Accumulator, usage: Any) -> None:
    if not isinstance(usage, dict):
        return
    acc.set_usage(input_tokens=usage.get("promptTokenCount"), output_tokens=usage.get("candidatesTokenCount"),
                  total_tokens=usage.get("totalTokenCount"), reasoning_tokens=usage.get("thoughtsTokenCount"),
                  cache_read_tokens=usage.get("cachedContentTokenCount"))


def _candidate(acc: Accumulator, cand: dict, index: int, deltas: list[tuple[str, str]]) -> None:
    acc.ensure_choice(index)
    content = cand.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    for part in parts or ():
        if isinstance(part, dict):
            _part(acc, part, index, deltas)
    acc.citations(_citations(cand), choice=index)
    if cand.get("finishReason"):
        acc.set_finish(cand["finishReason"], choice=index)


def _part(acc: Accumulator, part: dict, index: int, deltas: list[tuple[str, str]]) -> None:
    text = part.get("text")
    if isinstance(text, str) and text:
        kind = "thinking" if part.get("thought") else "text"
        if kind == "thinking":
            acc.thinking(text, choice=index)
        else:
            acc.text(text, choice=index)
        deltas.append((kind, text))
    call = part.get("functionCall")
    if isinstance(call, dict):
        args = call.get("args")
        # each functionCall part is a whole call with no stable key of its own: a fresh key keeps
        # parallel calls of the same function apart
        acc.tool_call(object(), id=call.get("id"), name=call.get("name"),
                      arguments={} if args is None else args, choice=index)
    for key, value in part.items():
        if key not in _SKIP_PART_KEYS:
            block = {"type": key}
            if isinstance(value, dict):
                block.update((k, v) for k, v in value.items() if k != "data")  # inline bytes are opaque
            else:
                block["value"] = value
            acc.other(block, choice=index)


def _citations(cand: dict) -> list[dict]:
    out: list[dict] = []
    seen: set = set()
    meta = cand.get("citationMetadata")
    sources = meta.get("citations") or meta.get("citationSources") if isinstance(meta, dict) else None
    for src in sources or ():
        if isinstance(src, dict):
            _add_cite(out, seen, src.get("uri"), src.get("title"))
    grounding = cand.get("groundingMetadata")
    chunks = grounding.get("groundingChunks") if isinstance(grounding, dict) else None
    for chunk in chunks or ():
        web = chunk.get("web") if isinstance(chunk, dict) else None
        if isinstance(web, dict):
            _add_cite(out, seen, web.get("uri"), web.get("title"))
    return out


def _add_cite(out: list[dict], seen: set, url: Any, title: Any) -> None:
    entry = {k: v for k, v in (("url", url), ("title", title)) if v}
    marker = (url, title)
    if entry and marker not in seen:
        seen.add(marker)
        out.append(entry)
