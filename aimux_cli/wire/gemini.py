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
- `safetyRatings` of a candidate and of `promptFeedback` -> the document's `safety` (aimux_cli/safety.py).
- Usage: promptTokenCount, candidatesTokenCount, totalTokenCount, thoughtsTokenCount -> reasoning_tokens,
  cachedContentTokenCount -> cache_read_tokens; a later chunk's counts replace earlier ones.
- `modelVersion` is the model, `responseId` the id.
- Streams: a chunk whose last candidate has a `finishReason` is terminal; a stream without one is incomplete.
- Error bodies (also inside an array, `[{"error": {...}}]`, or as a stream event): `code` is the HTTP status,
  `status` (NOT_FOUND, ...) the type, the `reason` of an ErrorInfo in `details` (API_KEY_INVALID) the code.

A blocked prompt (`promptFeedback.blockReason`, no candidates) is a complete, successful response (HTTP 200,
not an error body, not marked incomplete), so its status is `ok`. Gemini's standard field for why such a response
ended is `blockReason` (there is no candidate to carry a `finishReason`), so it is the `finish_raw`: SAFETY,
PROHIBITED_CONTENT, BLOCKLIST and IMAGE_SAFETY give `content_filter` (the contract lists PROHIBITED_CONTENT, a
blockReason value, under content_filter); OTHER gives null. The feedback is also kept as a block
`{"type": "promptFeedback", "blockReason": ..., "blockReasonMessage": ...}` so its message is not lost.

Streamed function-call arguments (Vertex `toolConfig.functionCallingConfig.streamFunctionCallArguments`, Gemini 3):
a call arrives in pieces, `functionCall` parts that carry `partialArgs` or `willContinue: true`. The first piece
names the function (`name`, maybe `id`); each `partialArgs` entry sets the value at its `jsonPath` (RFC 9535,
`$.city`, `$.when.date`, `$.tags[0]`, `$['a b']`): `stringValue` pieces of one path are concatenated,
`numberValue`, `boolValue` and `nullValue` set the value. A piece without `willContinue: true` completes the call;
an empty `functionCall: {}` (or `{"willContinue": false}`) only marks the end. So the stream gives the calls, with
their arguments, of the body of the same answer. A piece naming another function or id starts a new call; a path
that cannot be read keeps its value under the path itself.
"""

from __future__ import annotations

import re
from typing import Any

from aimux_cli.document import Accumulator

API = "gemini.generate"
VENDOR = "gemini"
DONE_MARKERS: tuple[str, ...] = ()

_SKIP_PART_KEYS = frozenset({"text", "thought", "thoughtSignature", "functionCall", "partMetadata", "videoMetadata"})
# one step of an RFC 9535 path: .name, [index], ['name'] or ["name"]
_PATH_STEP = re.compile(r"""\.([^.\[\]'"]+)|\[(\d{1,9})\]|\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\]""")
_MAX_INDEX = 10_000  # a larger array index in a path is not padded out: the value is kept under the path


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
    if candidates.__class__ is not list and candidates != ():
        acc.warn(f"{API}: `candidates` is not a list; ignored")
        candidates = ()
    for position, cand in enumerate(candidates):
        if isinstance(cand, dict):
            index = cand.get("index", position)
            _candidate(acc, cand, index if isinstance(index, int) else position, deltas)
    if candidates and isinstance(candidates[-1], dict) and candidates[-1].get("finishReason"):
        acc.mark_terminal()
    feedback = obj.get("promptFeedback")
    if isinstance(feedback, dict) and "safetyRatings" in feedback:
        _ratings(acc, "prompt", feedback["safetyRatings"], 0)
    if isinstance(feedback, dict) and feedback.get("blockReason"):
        acc.other({"type": "promptFeedback", "blockReason": feedback["blockReason"],
                   "blockReasonMessage": feedback.get("blockReasonMessage")})
        acc.set_finish(feedback["blockReason"])  # SAFETY, PROHIBITED_CONTENT, BLOCKLIST... -> content_filter
        acc.mark_terminal()  # a blocked prompt is the whole answer
    return deltas


def _error(acc: Accumulator, err: Any) -> None:
    if not isinstance(err, dict):
        acc.set_error(message=err)
        return
    code = err.get("code")
    acc.set_error(status=code if isinstance(code, int) else None, type=err.get("status"),
                  code=_reason(err.get("details")), message=err.get("message"))


def _reason(details: Any) -> str | None:
    """The `reason` of the first google.rpc.ErrorInfo in `details` (API_KEY_INVALID for a bad key, whose status is
    only INVALID_ARGUMENT), else None."""
    if isinstance(details, list):
        for detail in details:
            if isinstance(detail, dict) and isinstance(detail.get("reason"), str) and detail["reason"]:
                return detail["reason"]
    return None


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
    for part in parts if isinstance(parts, list) else ():
        if isinstance(part, dict):
            _part(acc, part, index, deltas)
    acc.citations(_citations(cand), choice=index)
    if "safetyRatings" in cand:
        _ratings(acc, "output", cand["safetyRatings"], index)
    if cand.get("finishReason"):
        acc.set_finish(cand["finishReason"], choice=index)


def _ratings(acc: Accumulator, scope: str, ratings: Any, index: int) -> None:
    """SafetyRating {category, probability, blocked; Vertex also probabilityScore, severity, severityScore}."""
    for rating in ratings if isinstance(ratings, list) else ():
        if isinstance(rating, dict):
            acc.safety(scope, rating.get("category"), index, probability=rating.get("probability"),
                       probability_score=rating.get("probabilityScore"), severity=rating.get("severity"),
                       severity_score=rating.get("severityScore"), filtered=rating.get("blocked"))


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
        _function_call(acc, call, index)
    for key, value in part.items():
        if key not in _SKIP_PART_KEYS:
            block = {"type": key}
            if isinstance(value, dict):
                block.update((k, v) for k, v in value.items() if k != "data")  # inline bytes are opaque
            else:
                block["value"] = value
            acc.other(block, choice=index)


class _StreamedCall:
    """A call whose arguments are still arriving: its block key, name, id, arguments, and the string pieces per
    path, joined into the arguments when the call ends or a document is made (joining per piece would copy a long
    argument once per piece)."""

    __slots__ = ("key", "name", "id", "args", "pieces", "unjoined")

    def __init__(self, name: Any, id: Any) -> None:
        self.key, self.name, self.id = object(), name, id
        self.args: dict = {}
        self.pieces: dict[str, list[str]] = {}
        self.unjoined: set[str] = set()

    def join(self) -> None:
        for path in self.unjoined:
            pieces = self.pieces[path]
            pieces[:] = ["".join(pieces)]
            _set_value(self.args, path, pieces[0])
        self.unjoined.clear()


def _function_call(acc: Accumulator, call: dict, index: int) -> None:
    """A whole call, or one piece of a call whose arguments stream (see the module docstring)."""
    calls = _open_calls(acc)
    current = calls.get(index)
    name, id = call.get("name"), call.get("id")
    partial = call.get("partialArgs")
    if not partial and call.get("willContinue") is not True:
        if current is not None:  # not a piece: the call still open is complete
            calls.pop(index).join()
        args = call.get("args")
        if name or id or args:  # `{}` / `{"willContinue": false}` only end a streamed call
            # each whole call has no stable key of its own: a fresh key keeps parallel calls of one function apart
            acc.tool_call(object(), id=id, name=name, arguments={} if args is None else args, choice=index)
        return
    if current is None or (name and current.name and name != current.name) or (id and current.id and id != current.id):
        if current is not None:
            current.join()
        current = calls[index] = _StreamedCall(name, id)
    current.name, current.id = current.name or name, current.id or id
    if isinstance(call.get("args"), dict):
        current.args.update(call["args"])
    for arg in partial if isinstance(partial, list) else ():
        if isinstance(arg, dict):
            _partial_arg(current, arg)
    acc.tool_call(current.key, id=id, name=name, arguments=current.args, choice=index)
    if call.get("willContinue") is not True:
        calls.pop(index).join()


def _open_calls(acc: Accumulator) -> dict[int, _StreamedCall]:
    """The streamed calls still open, by candidate; they are joined before any document is made."""
    calls = acc.state.get("streamed_calls")
    if calls is None:
        calls = acc.state["streamed_calls"] = {}
        acc.before_document.append(lambda: [call.join() for call in calls.values()])
    return calls


def _partial_arg(call: _StreamedCall, arg: dict) -> None:
    """Set one `partialArgs` value at its JSON path; string pieces of a path are joined."""
    path = arg.get("jsonPath")
    if not isinstance(path, str):
        return
    if isinstance(arg.get("stringValue"), str):
        pieces = call.pieces.get(path)
        if pieces is None:
            pieces = call.pieces[path] = []
            _set_value(call.args, path, "")  # the key takes its place now; the value is joined later
        pieces.append(arg["stringValue"])
        call.unjoined.add(path)
        return
    if isinstance(arg.get("numberValue"), (int, float)) and not isinstance(arg["numberValue"], bool):
        value: Any = arg["numberValue"]
    elif isinstance(arg.get("boolValue"), bool):
        value = arg["boolValue"]
    elif "nullValue" in arg:
        value = None
    else:
        return  # no value in this piece
    call.pieces.pop(path, None)  # a scalar replaces what string pieces had built
    call.unjoined.discard(path)
    _set_value(call.args, path, value)


def _set_value(args: dict, path: str, value: Any) -> None:
    steps = _json_path(path)
    if not steps or not _set_path(args, steps, value):
        args[path] = value


def _json_path(path: str) -> list[str | int] | None:
    """`$.a.b[0]['c d']` -> ["a", "b", 0, "c d"]; None when the path is not of that form."""
    if not path.startswith("$"):
        return None
    steps: list[str | int] = []
    pos = 1
    while pos < len(path):
        match = _PATH_STEP.match(path, pos)
        if match is None:
            return None
        name, number, single, double = match.groups()
        if number is not None:
            steps.append(int(number))
        elif name is not None:
            steps.append(name)
        else:
            steps.append(re.sub(r"\\(.)", r"\1", single if single is not None else double))  # \' -> '
        pos = match.end()
    return steps


def _set_path(target: dict, steps: list[str | int], value: Any) -> bool:
    """Set `value` at `steps` inside `target`, creating objects and arrays on the way; False when the path runs
    into a value of another shape or an index beyond _MAX_INDEX."""
    if any(isinstance(step, int) and step > _MAX_INDEX for step in steps):
        return False  # checked first: a failed path creates nothing
    node: Any = target
    for step, after in zip(steps, steps[1:] + [None]):
        if isinstance(step, int):
            if not isinstance(node, list):
                return False
            node.extend([None] * (step + 1 - len(node)))
        elif not isinstance(node, dict):
            return False
        if after is None:
            node[step] = value
            return True
        child = node[step] if isinstance(step, int) else node.get(step)
        if child is None:  # created on the way; an existing value of another shape is never replaced
            child = node[step] = [] if isinstance(after, int) else {}
        node = child
    return False


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
    url, title = (v if isinstance(v, str) else None for v in (url, title))  # a citation's fields are text
    entry = {k: v for k, v in (("url", url), ("title", title)) if v}
    marker = (url, title)
    if entry and marker not in seen:
        seen.add(marker)
        out.append(entry)
