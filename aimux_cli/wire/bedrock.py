"""AWS Bedrock Converse (`POST /model/{modelId}/converse` and `/converse-stream`) -> the aimux document; also the
`chunk` events of InvokeModelWithResponseStream, whose payloads are the model's own stream events.

Contract: a Converse body, each event of a ConverseStream (decoded from its binary framing by
aimux_cli/eventstream.py into `{EVENT: payload}`, the shape the AWS SDKs print), or an error body -> Accumulator
calls (aimux_cli/document.py).

- Body: `output.message.content[]`, one block per entry, keyed by its position; a stream keys its blocks by
  `contentBlockIndex`, so a body and its stream give the same document. `text` -> text; `reasoningContent` ->
  thinking (`reasoningText.text`; `redactedContent` -> thinking with `redacted: true`; signatures never copied);
  `toolUse` -> tool_call (`toolUseId`, `name`, `input`), except a server-side tool (`type: server_tool_use`, Nova's
  code interpreter), kept as a `server_tool_use` block with its input, as the Anthropic wire keeps Anthropic's;
  `toolResult` -> a block of its `type` (else `toolResult`) with `toolUseId`, `status` and `content`;
  `citationsContent` -> text with its citations (`{url, title}`); any other block (`image`, `document`, ...) is
  kept under its key as type, without its base64 `bytes`.
- `trace.guardrail` (Bedrock Guardrails' assessments, in a stream the `metadata` event's) -> `safety` entries
  (aimux_cli/wire/bedrock_guardrail.py); `stopReason: guardrail_intervened` is finish `content_filter`.
- `stopReason` is `finish_raw`; `additionalModelResponseFields.stop_sequence` is the stop sequence. Usage:
  `inputTokens`, `outputTokens`, `totalTokens`, `cacheReadInputTokens` -> cache_read_tokens,
  `cacheWriteInputTokens` -> cache_write_tokens. `metrics.latencyMs` -> timing `total_s`.
- Stream: `messageStart`, `contentBlockStart` (a tool's id and name), `contentBlockDelta` (`text`, `toolUse.input`
  pieces of JSON text, `reasoningContent.text` / `redactedContent` / `signature`, `citation`, `toolResult`),
  `contentBlockStop`, `messageStop` (the terminal event: `stopReason`), `metadata` (usage and metrics, after
  `messageStop`). The padding field `p` is ignored.
- Exceptions, in a stream (`throttlingException`, `modelStreamErrorException`, ...; `eventStreamError` for a
  framing-level error) -> an error with that type, the status AWS documents for it (429, 424, ...) and the message;
  what came before is kept.
- Error body: `{"message": "..."}` (`Message`, and `__type` when sent) -> an error; detected only with `__type`
  (a bare `message` is too common a shape): `ask` forces the wire, so its errors always read.
- InvokeModelWithResponseStream: a `chunk` event's `bytes` (base64) hold one event of the model's own API. They are
  folded by that API's wire module (Anthropic's for Claude: `anthropic.messages`, whose document this then is), with
  Bedrock's `amazon-bedrock-invocationMetrics` -> timing `total_s`. A chunk of an API aimux does not know is
  skipped with a warning.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from aimux_cli.document import Accumulator, ArgumentPieces, call_arguments, parse_arguments
from aimux_cli.document_fields import without_opaque

API = "bedrock.converse"
VENDOR = "bedrock"
DONE_MARKERS: tuple[str, ...] = ()

_STREAM = frozenset(("messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockStop", "messageStop",
                     "metadata"))
# The stream's exception events and the HTTP status AWS documents for each (Bedrock Runtime API reference).
EXCEPTIONS = {"internalServerException": 500, "modelStreamErrorException": 424, "validationException": 400,
              "throttlingException": 429, "serviceUnavailableException": 503, "modelTimeoutException": 408,
              "accessDeniedException": 403, "resourceNotFoundException": 404, "modelNotReadyException": 429,
              "modelErrorException": 424, "serviceQuotaExceededException": 400, "eventStreamError": None}
_OPAQUE = frozenset(("bytes", "signature", "redactedContent", "p"))
_DEPTH = 32
_INNER = "bedrock.inner"  # acc.state: the wire module folding InvokeModel chunks


def detect(obj: Any) -> bool:
    """True for a Converse body, a ConverseStream or InvokeModel stream event, or an AWS error body (`__type`)."""
    if not isinstance(obj, dict):
        return False
    output = obj.get("output")
    if isinstance(output, dict) and isinstance(output.get("message"), dict):
        return True
    if "__type" in obj and ("message" in obj or "Message" in obj):
        return True
    if len(obj) != 1:
        return False
    (name, value), = obj.items()
    if name in _STREAM:
        return isinstance(value, dict) and _stream_shape(name, value)
    if name == "chunk":
        return isinstance(value, dict) and "bytes" in value
    return name in EXCEPTIONS and isinstance(value, dict)


def _stream_shape(name: str, value: dict) -> bool:
    if name == "messageStart":
        return "role" in value
    if name == "metadata":
        return "usage" in value or "metrics" in value
    if name == "messageStop":
        return "stopReason" in value
    return "contentBlockIndex" in value


def parse(obj: dict, acc: Accumulator) -> None:
    """Fold a whole body (a Converse response or an error body) into `acc`."""
    output = obj.get("output")
    if not isinstance(output, dict):
        _error_body(acc, obj)
        return
    acc.ensure_choice(0)
    message = output.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if content is not None and not isinstance(content, list):
        acc.warn(f"{API}: `output.message.content` is not a list; ignored")
        content = None
    for index, block in enumerate(content or ()):
        if isinstance(block, dict):
            _block(acc, block, index)
    _stop(acc, obj)
    _metadata(acc, obj)
    acc.mark_terminal()


def fold(acc: Accumulator, obj: Any, event: str | None) -> list[tuple[str, str]]:
    """Fold one stream event (`{NAME: payload}`); returns the visible deltas it carried."""
    if not isinstance(obj, dict) or len(obj) != 1:
        if isinstance(obj, dict) and isinstance(obj.get("output"), dict):
            parse(obj, acc)  # a whole body inside a stream (a proxy)
        return []
    (name, value), = obj.items()
    if not isinstance(value, dict):
        return []
    if name == "contentBlockDelta":
        delta = value.get("delta")
        return _delta(acc, delta, value.get("contentBlockIndex", 0)) if isinstance(delta, dict) else []
    if name == "chunk":
        return _chunk(acc, value)
    if name == "contentBlockStart":
        start = value.get("start")
        if isinstance(start, dict):
            _start(acc, start, value.get("contentBlockIndex", 0))
    elif name == "contentBlockStop":
        _close(acc, value.get("contentBlockIndex", 0))
    elif name == "messageStart":
        acc.ensure_choice(0)
    elif name == "messageStop":
        _stop(acc, value)
        acc.mark_terminal()
    elif name == "metadata":
        _metadata(acc, value)
    elif name in EXCEPTIONS:
        _exception(acc, name, value)
    return []


# -- blocks ---------------------------------------------------------------------------------------------------------

def _block(acc: Accumulator, block: dict, index: int) -> None:
    """One whole content block of a body: `{KIND: value}`."""
    if isinstance(block.get("text"), str):
        acc.text(block["text"], key=index)
        return
    reasoning = block.get("reasoningContent")
    if isinstance(reasoning, dict):
        text = reasoning.get("reasoningText")
        text = text.get("text") if isinstance(text, dict) else None
        if isinstance(text, str):
            acc.thinking(text, key=index)
        elif reasoning.get("redactedContent") is not None:
            acc.redacted_thinking(key=index)
        return
    tool = block.get("toolUse")
    if isinstance(tool, dict):
        if tool.get("type") == "server_tool_use":
            acc.other(_server_tool(tool, tool.get("input")), key=index)
        else:
            acc.tool_call(index, id=tool.get("toolUseId"), name=tool.get("name"), arguments=tool.get("input"))
        return
    result = block.get("toolResult")
    if isinstance(result, dict):
        acc.other(_tool_result(result, result.get("content")), key=index)
        return
    cited = block.get("citationsContent")
    if isinstance(cited, dict):
        for part in cited.get("content") or ():
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                acc.text(part["text"], key=index)
        acc.citations(_citations(cited.get("citations")), key=index)
        return
    for kind, value in block.items():  # image, document, video, guardContent, ...: kept under their key
        acc.other({"type": kind, **(_clean(value) if isinstance(value, dict) else {"value": _clean(value)})},
                  key=index)


def _server_tool(tool: dict, arguments: Any) -> dict:
    return {"type": "server_tool_use", "id": tool.get("toolUseId"), "name": tool.get("name"), "input": arguments}


def _tool_result(result: dict, content: Any) -> dict:
    kind = result.get("type")
    return {"type": kind if isinstance(kind, str) and kind else "toolResult", "toolUseId": result.get("toolUseId"),
            "status": result.get("status"), "content": _clean(content)}


def _start(acc: Accumulator, start: dict, index: Any) -> None:
    tool = start.get("toolUse")
    if isinstance(tool, dict):
        if tool.get("type") == "server_tool_use":
            acc.other(_server_tool(tool, ArgumentPieces()), key=index)
        else:
            acc.tool_call(index, id=tool.get("toolUseId"), name=tool.get("name"))
        return
    result = start.get("toolResult")
    if isinstance(result, dict):
        acc.other(_tool_result(result, []), key=index)


def _delta(acc: Accumulator, delta: dict, index: Any) -> list[tuple[str, str]]:
    text = delta.get("text")
    if isinstance(text, str):
        acc.text(text, key=index)
        return [("text", text)] if text else []
    reasoning = delta.get("reasoningContent")
    if isinstance(reasoning, dict):
        text = reasoning.get("text")
        if isinstance(text, str):
            acc.thinking(text, key=index)
            return [("thinking", text)] if text else []
        if reasoning.get("redactedContent") is not None and acc.block_for(index) is None:
            acc.redacted_thinking(key=index)
        return []  # a signature carries nothing to show
    tool = delta.get("toolUse")
    if isinstance(tool, dict):
        piece = tool.get("input")
        if isinstance(piece, str):
            _tool_input(acc, index, piece)
    elif isinstance(delta.get("toolResult"), list):
        block = acc.block_for(index)
        if block is not None and isinstance(block.get("content"), list):
            block["content"].extend(_clean(delta["toolResult"]))
    elif isinstance(delta.get("citation"), dict):
        acc.citations(_citations([delta["citation"]]), key=index)
    return []


def _tool_input(acc: Accumulator, index: Any, piece: str) -> None:
    block = acc.block_for(index)
    if block is None:  # a client tool call (tool calls are not index blocks), or one whose start was lost
        acc.tool_call(index, arguments=piece)
    elif type(block.get("input")) is ArgumentPieces:  # a server tool's input, parsed when its block stops
        block["input"].append(piece)


def _close(acc: Accumulator, index: Any) -> None:
    block = acc.block_for(index)
    if block is not None and type(block.get("input")) is ArgumentPieces:
        pieces = block["input"]
        block["input"] = parse_arguments(call_arguments({"arguments": pieces})) if pieces else {}


def _citations(cites: Any) -> list[dict]:
    """Converse citations -> `{url, title}` (a web location's url; a document's title)."""
    out = []
    for cite in cites or ():
        if not isinstance(cite, dict):
            continue
        location = cite.get("location")
        web = location.get("web") if isinstance(location, dict) else None
        url = web.get("url") if isinstance(web, dict) else None
        title = cite.get("title") or (web.get("domain") if isinstance(web, dict) else None)
        entry = {k: v for k, v in (("url", url), ("title", title)) if isinstance(v, str) and v}
        if entry:
            out.append(entry)
    return out


# -- stop, usage, errors --------------------------------------------------------------------------------------------

def _stop(acc: Accumulator, obj: dict) -> None:
    extra = obj.get("additionalModelResponseFields")
    stop_sequence = extra.get("stop_sequence") if isinstance(extra, dict) else None
    acc.set_finish(obj.get("stopReason"), stop_sequence=stop_sequence if isinstance(stop_sequence, str) else None)


def _metadata(acc: Accumulator, obj: dict) -> None:
    usage = obj.get("usage")
    if isinstance(usage, dict):
        acc.set_usage(input_tokens=usage.get("inputTokens"), output_tokens=usage.get("outputTokens"),
                      total_tokens=usage.get("totalTokens"), cache_read_tokens=usage.get("cacheReadInputTokens"),
                      cache_write_tokens=usage.get("cacheWriteInputTokens"))
    metrics = obj.get("metrics")
    if isinstance(metrics, dict):
        _latency(acc, metrics.get("latencyMs"))
    if isinstance(obj.get("trace"), dict):  # Guardrails assessments -> safety entries
        from aimux_cli.wire import bedrock_guardrail

        bedrock_guardrail.record(acc, obj["trace"])


def _latency(acc: Accumulator, ms: Any) -> None:
    if isinstance(ms, (int, float)) and not isinstance(ms, bool) and ms >= 0:
        acc.set_timing(total_s=ms / 1000)


def _exception(acc: Accumulator, name: str, value: dict) -> None:
    message = value.get("message", value.get("Message"))
    if name == "eventStreamError":
        acc.set_error(type=name, code=value.get("code"), message=message)
        return
    acc.set_error(status=EXCEPTIONS[name], type=name, message=message)


def _error_body(acc: Accumulator, obj: dict) -> None:
    """`{"message"}` with the status on the transport; `__type` (`ns#ThrottlingException:url`) names the type."""
    kind = obj.get("__type")
    if isinstance(kind, str):
        kind = kind.rpartition("#")[2].partition(":")[0] or None
    acc.set_error(type=kind, message=obj.get("message", obj.get("Message")))


# -- InvokeModelWithResponseStream ----------------------------------------------------------------------------------

def _chunk(acc: Accumulator, value: dict) -> list[tuple[str, str]]:
    """One `chunk` event: its base64 `bytes` hold one event of the model's own API, folded by that API's module."""
    raw = value.get("bytes")
    try:
        inner = orjson.loads(base64.b64decode(raw, validate=True)) if isinstance(raw, str) else None
    except (binascii.Error, ValueError):  # orjson.JSONDecodeError is a ValueError
        inner = None
    if not isinstance(inner, dict):
        acc.warn(f"{API}: a chunk whose bytes are not base64 JSON was skipped")
        return []
    mod = acc.state.get(_INNER)
    if mod is None:
        from aimux_cli import wire as wires  # the registry imports this module: not at import time

        api = wires.detect(inner)
        if api is None or api == API:
            acc.warn(f"{API}: a chunk of a model API aimux does not know was skipped")
            return []
        mod = acc.state[_INNER] = wires.module(api)
        acc.api = api  # the document is the model's API (anthropic.messages), served by Bedrock
    metrics = inner.get("amazon-bedrock-invocationMetrics")
    if isinstance(metrics, dict):
        _latency(acc, metrics.get("invocationLatency"))
    return mod.fold(acc, inner, None)


def _clean(value: Any) -> Any:
    return without_opaque(value, _OPAQUE, limit=_DEPTH)
