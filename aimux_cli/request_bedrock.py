"""The AWS Bedrock Converse request (`bedrock.converse`): request.py's arguments -> (path, body, headers). Pure, no I/O.

Contract: `converse(args, resolved)` takes request.py's arguments object (`model`, `turns`, `system`,
`temperature`, `max_tokens`, `stream`, `attachments` when present) and returns `(path, body, headers)`, as
request.py's own builders do; request.py registers it in `_BUILDERS` and adds the auth and common headers.
`apply_extras(body, extras, max_tokens)` writes `ask`'s tools, tool choice, schema and reasoning into the body.

Converse (docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html):
- `POST {base}/model/{modelId}/converse`, or `/converse-stream` (a binary `application/vnd.amazon.eventstream`
  body, aimux_cli/eventstream.py); the model id (or an inference profile or ARN) is percent-encoded whole, `:` and
  `/` included, as the AWS SDKs send it. Base: `https://bedrock-runtime.{region}.amazonaws.com`.
- `messages`: `user` / `assistant` turns whose `content` is a list of blocks: `{"text"}`; an assistant's tool calls
  `{"toolUse": {toolUseId, name, input}}` (input an object); tool results `{"toolResult": {toolUseId, content:
  [{"text"}]}}` in a user turn (consecutive results share one turn: Converse wants turns to alternate);
  attachments with the last user turn: `{"image": {format, source: {bytes: base64}}}` or
  `{"document": {format: "pdf", name, source: {bytes}}}`.
- `system`: `[{"text"}]`; `inferenceConfig`: `maxTokens`, `temperature`.
- Tools: `toolConfig: {tools: [{toolSpec: {name, description, inputSchema: {json}}}], toolChoice}` (`auto`,
  `any` for required, `tool: {name}`; `none` sends no tools). `--schema` is a forced tool named after the schema,
  as on anthropic.messages. `--reasoning` is sent as Claude's `thinking` in `additionalModelRequestFields`: only
  Claude models take it (the others name it differently, and `-o additionalModelRequestFields.…` sets theirs).
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aimux_cli import request_tools, request_wire
from aimux_cli.errors import UsageError

if TYPE_CHECKING:
    from aimux_cli.config import ResolvedProvider
    from aimux_cli.request_extras import Extras

EVENTSTREAM = "application/vnd.amazon.eventstream"
BASE_URL = "https://bedrock-runtime.{region}.amazonaws.com"
_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/gif": "gif", "image/webp": "webp"}
_NAME = re.compile(r"[^A-Za-z0-9\s\-()\[\]]")  # what Converse allows in a document's name


def converse(args: Any, resolved: ResolvedProvider) -> tuple[str, dict, dict]:
    """The Converse body for `args` (request.py's _Args)."""
    body: dict[str, Any] = {"messages": messages(args.turns, getattr(args, "attachments", ()))}
    if args.system:
        body["system"] = [{"text": args.system}]
    config: dict[str, Any] = {}
    if args.max_tokens is not None:
        config["maxTokens"] = args.max_tokens
    if args.temperature is not None:
        config["temperature"] = args.temperature
    if config:
        body["inferenceConfig"] = config
    path = f"/model/{quote(args.model, safe='')}/{'converse-stream' if args.stream else 'converse'}"
    return path, body, {"accept": EVENTSTREAM if args.stream else "application/json"}


def messages(turns: list[dict[str, Any]], attachments: tuple = ()) -> list[dict]:
    """Neutral turns (request_wire.normalize_turns) as Converse messages; attachments go with the last user turn."""
    last_user = max((i for i, t in enumerate(turns) if t["role"] == "user"), default=-1)
    if attachments and last_user < 0:
        raise UsageError("--attach needs a user turn to attach the files to")
    out: list[dict] = []
    for position, turn in enumerate(turns):
        role = turn["role"]
        if role == "tool":
            block = {"toolResult": {"toolUseId": turn.get("tool_call_id") or "call",
                                    "content": [{"text": turn["content"] or "(empty)"}]}}
            if out and out[-1]["role"] == "user" and all("toolResult" in b for b in out[-1]["content"]):
                out[-1]["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
            continue
        content: list[dict] = [{"text": turn["content"]}] if turn["content"] else []
        for call in turn.get("tool_calls") or () if role == "assistant" else ():
            content.append({"toolUse": {"toolUseId": call["id"], "name": call["name"],
                                        "input": request_wire.arguments_object(call["arguments"])}})
        if position == last_user:
            content += [_attachment(att) for att in attachments]
        out.append({"role": role, "content": content or [{"text": " "}]})  # Converse refuses an empty content
    return out


def _attachment(att: Any) -> dict:
    data = base64.b64encode(att.data).decode("ascii")
    if att.mime == "application/pdf":
        name = _NAME.sub(" ", att.filename.rsplit(".", 1)[0]).strip() or "document"
        return {"document": {"format": "pdf", "name": name[:200], "source": {"bytes": data}}}
    return {"image": {"format": _FORMATS.get(att.mime, "png"), "source": {"bytes": data}}}


def apply_extras(body: dict, extras: Extras, max_tokens: int | None) -> None:
    """`ask`'s tools, tool choice, schema and reasoning in Converse's form (in place)."""
    tools = [_spec(t.name, t.description, t.parameters) for t in extras.tools]
    choice: dict | None = {"auto": {"auto": {}}, "required": {"any": {}}}.get(extras.tool_choice or "")
    if extras.tool_choice not in (None, "auto", "none", "required"):
        choice = {"tool": {"name": extras.tool_choice}}
    if extras.tool_choice == "none":
        tools = []  # Converse has no "none": a request without tools cannot call one
    if extras.schema is not None:
        name, schema = request_tools.forced_schema(extras, "bedrock.converse")
        if extras.reasoning not in (None, "none"):
            raise UsageError("--reasoning cannot be combined with --schema on bedrock.converse: the schema is sent as "
                             "a forced tool, which Claude refuses while it thinks")
        tools.append(_spec(name, request_tools.FORCED_SCHEMA_DESCRIPTION, schema))
        choice = {"any": {}} if extras.tools else {"tool": {"name": name}}
    if tools:
        body["toolConfig"] = {"tools": tools, **({"toolChoice": choice} if choice else {})}
    if extras.reasoning is not None:
        _reasoning(body, extras.reasoning)


def _spec(name: str, description: str | None, schema: dict) -> dict:
    spec: dict[str, Any] = {"name": name, "inputSchema": {"json": schema}}
    if description:
        spec["description"] = description
    return {"toolSpec": spec}


def _reasoning(body: dict, level: str) -> None:
    """Anthropic models on Bedrock take `thinking` as an additional model request field; the budget counts within
    maxTokens, so room is left for the answer."""
    extra = body.setdefault("additionalModelRequestFields", {})
    if level == "none":
        extra["thinking"] = {"type": "disabled"}
        return
    budget = request_tools.ANTHROPIC_BUDGETS[level]  # as anthropic.messages sends them
    extra["thinking"] = {"type": "enabled", "budget_tokens": budget}
    config = body.setdefault("inferenceConfig", {})
    config["maxTokens"] = budget + config.get("maxTokens", 4096) if config.get("maxTokens", 0) <= budget \
        else config["maxTokens"]


def models_url(base_url: str) -> str:
    """Bedrock's model list (ListFoundationModels) is served by its control plane, `bedrock.{region}`, not by the
    runtime host: `https://bedrock.{region}.amazonaws.com/foundation-models`. Another base URL (a proxy, a test
    server) gets `/foundation-models` appended."""
    base = base_url.partition("?")[0].rstrip("/")
    return base.replace("://bedrock-runtime.", "://bedrock.", 1) + "/foundation-models"
