"""OpenAI Responses API: a `response` body, or the typed events of its stream.

Input: a body with `object: "response"`, or stream events (`response.created`, `response.output_item.added`,
`response.output_text.delta`, `response.refusal.delta`, `response.function_call_arguments.delta`,
`response.reasoning_summary_text.delta`, `response.output_item.done`, `response.completed` /
`response.incomplete` / `response.failed`, `error`). The event kind is read from the data's `type`, because some
servers (OpenRouter) send no `event:` lines. Output: Accumulator calls.

Rules (issue 3): `finish_raw` is `incomplete_details.reason` when present, else the response `status`. A response
the provider marks `incomplete` (`max_output_tokens`, `content_filter`), as a body or a stream ended by
`response.incomplete`, is complete: status `ok`, finish `length` / `content_filter`. Only a stream cut before its
terminal event (or a body still `in_progress`/`queued`) has status `incomplete`. A function
call's `id` is its `call_id`. Each `reasoning` item is one thinking block, its summary parts joined with a blank
line; a reasoning item with no visible text is a redacted thinking block (its `encrypted_content` is never
copied). `message` items give text blocks (`url_citation` annotations as citations) and refusal blocks; any other
item (web_search_call, file_search_call, image_generation_call, ...) is an `other` block with its salient fields.

Stream and body give the same blocks: blocks are keyed by `output_index` (and `content_index` inside a message);
summary parts that arrive as separate `summary_index` values are joined with a blank line as in the body; an item
whose deltas never came is folded whole from its `output_item.done` (or from the final response), like a body.
"""

from __future__ import annotations

from typing import Any

from aimux_cli.document import Accumulator, first_reported
from aimux_cli.wire.openai_chat import salient, url_citations

API = "openai.responses"
VENDOR = "openai"
# OpenRouter ends its Responses streams with `data: [DONE]` after `response.completed`.
DONE_MARKERS = ("[DONE]",)

Delta = tuple[str, str]

_TERMINAL = ("response.completed", "response.incomplete", "response.failed")
_STARTED = ("response.created", "response.in_progress", "response.queued")
_SEP = "\n\n"  # between the summary parts of one reasoning item


def detect(obj: Any) -> bool:
    """A response body, or a Responses stream event; never Anthropic's `{"type": "error", "error": {...}}`."""
    if not isinstance(obj, dict):
        return False
    if obj.get("object") == "response":
        return True
    kind = obj.get("type")
    if not isinstance(kind, str):
        return False
    if kind.startswith("response."):
        return True
    return kind == "error" and "error" not in obj and "message" in obj


def parse(obj: dict, acc: Accumulator) -> None:
    """Fold a whole response body."""
    if obj.get("object") != "response" and isinstance(obj.get("response"), dict):
        fold(acc, obj, None)  # a single stream event given as a body
        return
    output = obj.get("output")
    if isinstance(output, list):
        for index, item in enumerate(output):
            if isinstance(item, dict):
                _fold_item(acc, item, index)
    _finish(acc, obj)


def fold(acc: Accumulator, obj: Any, event: str | None) -> list[Delta]:
    """Fold one stream event and return the visible deltas it carried."""
    if not isinstance(obj, dict):
        return []
    kind = obj.get("type") or event
    if kind == "response.output_text.delta":
        return _delta(acc, obj, "text")
    if kind == "response.reasoning_summary_text.delta":
        return _summary_delta(acc, obj, "summary_index")
    if kind == "response.reasoning_text.delta":
        return _summary_delta(acc, obj, "content_index")
    if kind == "response.refusal.delta":
        return _delta(acc, obj, "refusal")
    if kind == "response.function_call_arguments.delta" or kind == "response.custom_tool_call_input.delta":
        index = obj.get("output_index", 0)
        acc.tool_call(index, arguments=obj.get("delta"))
        acc.state.setdefault("seen", set()).add(index)
    elif kind == "response.output_item.added":
        _item_added(acc, obj)
    elif kind == "response.output_item.done":
        _item_done(acc, obj.get("item"), obj.get("output_index", 0))
    elif kind in _STARTED:
        response = obj.get("response")
        if isinstance(response, dict):
            acc.meta(model=response.get("model"), id=response.get("id"))
    elif kind in _TERMINAL:
        _terminal(acc, obj.get("response"))
    elif kind == "error":
        # {"type": "error", "code", "message"}; the event's own `type` is not the error's type
        err = obj.get("error") if isinstance(obj.get("error"), dict) else {k: v for k, v in obj.items() if k != "type"}
        _error(acc, err)
    return []


def _delta(acc: Accumulator, obj: dict, kind: str) -> list[Delta]:
    text = obj.get("delta")
    if not text or not isinstance(text, str):
        return []
    index = obj.get("output_index", 0)
    key = (index, obj.get("content_index", 0))
    if kind == "text":
        acc.text(text, key=key)
    else:
        acc.refusal(text, key=key)
    acc.state.setdefault("seen", set()).add(index)
    return [(kind, text)]


def _summary_delta(acc: Accumulator, obj: dict, part_field: str) -> list[Delta]:
    """A summary part (or reasoning text part) delta: parts of one item join with a blank line, as in the body."""
    text = obj.get("delta")
    if not text or not isinstance(text, str):
        return []
    index = obj.get("output_index", 0)
    part = (part_field, obj.get(part_field, 0))
    last = acc.state.setdefault("part", {})
    if index in last and last[index] != part:
        text = _SEP + text
    last[index] = part
    acc.thinking(text, key=index)
    acc.state.setdefault("seen", set()).add(index)
    return [("thinking", text)]


def _item_added(acc: Accumulator, obj: dict) -> None:
    item = obj.get("item")
    if not isinstance(item, dict):
        return
    if item.get("type") in ("function_call", "custom_tool_call"):
        # id and name now, so the block sits at its place; arguments come as deltas
        acc.tool_call(obj.get("output_index", 0), id=item.get("call_id"), name=item.get("name"))


def _item_done(acc: Accumulator, item: Any, index: int) -> None:
    """An item is complete: fold it whole unless its deltas already did; attach a message's citations."""
    if not isinstance(item, dict):
        return
    done = acc.state.setdefault("done", set())
    if index in done:
        return
    done.add(index)
    if index not in acc.state.get("seen", ()):
        _fold_item(acc, item, index)
    elif item.get("type") == "message":
        for part_index, part in enumerate(_parts(item)):
            acc.citations(url_citations(part.get("annotations")), key=(index, part_index))


def _terminal(acc: Accumulator, response: Any) -> None:
    if not isinstance(response, dict):
        acc.mark_terminal()
        return
    output = response.get("output")
    if isinstance(output, list):  # items whose events never came (servers that skip them)
        for index, item in enumerate(output):
            _item_done(acc, item, index)
    _finish(acc, response)


def _finish(acc: Accumulator, response: dict) -> None:
    """Meta, usage, finish and status of a whole response (a body, or a stream's terminal event)."""
    acc.meta(model=response.get("model"), id=response.get("id"))
    _usage(acc, response.get("usage"))
    status = response.get("status")
    details = response.get("incomplete_details")
    reason = details.get("reason") if isinstance(details, dict) else None
    acc.set_finish(reason if reason is not None else status)
    if response.get("error"):
        _error(acc, response["error"])
    if status == "failed" and not acc.error:
        acc.set_error(message="")
    if status in ("completed", "incomplete", "failed", "cancelled"):
        # the whole response arrived: an `incomplete` one (token limit, content filter) is a complete answer
        # that says why it stopped (finish length / content_filter, status ok, as chat's `length` is); the
        # document's `incomplete` status is kept for a stream cut before its terminal event
        acc.mark_terminal()


def _fold_item(acc: Accumulator, item: dict, index: int) -> None:
    kind = item.get("type")
    if kind == "message":
        _message(acc, item, index)
    elif kind == "reasoning":
        texts = [p.get("text") for p in _list(item.get("summary")) + _list(item.get("content"))
                 if isinstance(p, dict)]
        text = _SEP.join(t for t in texts if isinstance(t, str) and t)
        if text:
            acc.thinking(text, key=index)
        elif acc.block_for(index) is None:
            acc.redacted_thinking(key=index)
    elif kind in ("function_call", "custom_tool_call"):
        arguments = item.get("arguments") if kind == "function_call" else item.get("input")
        acc.tool_call(index, id=item.get("call_id"), name=item.get("name"), arguments=arguments)
    else:
        acc.other(salient(item), key=index)


def _message(acc: Accumulator, item: dict, index: int) -> None:
    for part_index, part in enumerate(_parts(item)):
        key = (index, part_index)
        kind = part.get("type")
        if kind in ("output_text", "text"):
            text = part.get("text")
            if isinstance(text, str):
                acc.text(text, key=key)
                acc.citations(url_citations(part.get("annotations")), key=key)
        elif kind == "refusal":
            text = part.get("refusal")
            if isinstance(text, str):
                acc.refusal(text, key=key)
        else:
            acc.other(salient(part), key=key)


def _parts(item: dict) -> list[dict]:
    return [p for p in _list(item.get("content")) if isinstance(p, dict)]


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _usage(acc: Accumulator, usage: Any) -> None:
    if not isinstance(usage, dict):
        return
    out_details = usage.get("output_tokens_details")
    in_details = usage.get("input_tokens_details")
    acc.set_usage(
        input_tokens=usage.get("input_tokens"), output_tokens=usage.get("output_tokens"),
        total_tokens=usage.get("total_tokens"),
        reasoning_tokens=out_details.get("reasoning_tokens") if isinstance(out_details, dict) else None,
        cache_read_tokens=in_details.get("cached_tokens") if isinstance(in_details, dict) else None,
        cache_write_tokens=first_reported(in_details, "cache_write_tokens", "cache_creation_tokens"))
    acc.set_cost(usage.get("cost"))  # OpenRouter


def _error(acc: Accumulator, err: Any) -> None:
    if not isinstance(err, dict):
        acc.set_error(message=err)
        return
    status = err.get("status_code", err.get("status"))
    acc.set_error(status=status if isinstance(status, (int, str)) else None, type=err.get("type"),
                  code=err.get("code"), message=err.get("message"))
