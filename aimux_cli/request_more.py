"""Request builders of the wires request.py does not build itself: Cohere's v2 chat (`cohere.chat`). Pure, no I/O.

Contract: the builder takes request.py's arguments object (`model`, `turns`, `system`, `temperature`,
`max_tokens`, `stream`, `attachments` when present) and the ResolvedProvider, and returns `(path, body, headers)`,
as request.py's own builders do; request.py registers it in `_BUILDERS` and adds the auth and common headers.

Cohere v2 (`POST {base}/v2/chat`, base `https://api.cohere.com`; docs.cohere.com/reference/chat):
- messages: `system`, `user` (text, or text and `image_url` parts for attached images), `assistant` (text; with
  tool calls: `tool_calls` in the OpenAI form and its text as `tool_plan`), `tool` (`tool_call_id`, `content`);
- `stream`, `temperature`, `max_tokens` by those names; the stream is SSE with `event:` lines (wire/cohere.py).
- `apply_extras` writes `ask`'s tools (OpenAI's function form), `--tool-choice` (`REQUIRED` / `NONE`: Cohere
  cannot force one named tool), `--schema` (`response_format: {type: json_object, json_schema}`) and `--reasoning`
  (`thinking: {type: enabled | disabled}`) into such a body.
The model list is `GET {base}/v1/models?endpoint=chat&page_size=1000` (MODEL_LIST_PATHS).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from aimux_cli.errors import UsageError

if TYPE_CHECKING:
    from aimux_cli.config import ResolvedProvider
    from aimux_cli.request_extras import Extras

COHERE_CHAT_PATH = "/v2/chat"
# The model-list path of each wire built here (request.models_request appends `/models` for the others).
MODEL_LIST_PATHS = {"cohere.chat": "/v1/models?endpoint=chat&page_size=1000"}


def cohere_chat(args: Any, resolved: ResolvedProvider) -> tuple[str, dict, dict]:
    """The v2 chat body for `args` (request.py's _Args)."""
    body: dict[str, Any] = {"model": args.model, "messages": cohere_messages(args.turns, args.system,
                                                                        getattr(args, "attachments", ())),
                            "stream": args.stream}
    if args.temperature is not None:
        body["temperature"] = args.temperature
    if args.max_tokens is not None:
        body["max_tokens"] = args.max_tokens
    return COHERE_CHAT_PATH, body, {}


def cohere_messages(turns: list[dict[str, Any]], system: str | None, attachments: tuple = ()) -> list[dict]:
    """Neutral turns (request_wire.normalize_turns) as Cohere v2 messages; attachments go with the last user turn."""
    out: list[dict] = [{"role": "system", "content": system}] if system else []
    last_user = max((i for i, t in enumerate(turns) if t["role"] == "user"), default=-1)
    for position, turn in enumerate(turns):
        role, content = turn["role"], turn["content"]
        if role == "tool":
            out.append({"role": "tool", "tool_call_id": turn.get("tool_call_id"), "content": content})
        elif role == "assistant" and turn.get("tool_calls"):
            message: dict[str, Any] = {"role": "assistant", "tool_calls": [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                for c in turn["tool_calls"]]}
            if content:
                message["tool_plan"] = content
            out.append(message)
        elif position == last_user and attachments:
            out.append({"role": role, "content": _parts(content, attachments)})
        else:
            out.append({"role": role, "content": content})
    return out


def _parts(text: str, attachments: tuple) -> list[dict]:
    parts: list[dict] = [{"type": "text", "text": text}] if text else []
    for att in attachments:
        if not att.mime.startswith("image/"):
            raise UsageError(f"--attach {att.filename}: cohere.chat takes images only, not {att.mime}")
        data = base64.b64encode(att.data).decode("ascii")
        parts.append({"type": "image_url", "image_url": {"url": f"data:{att.mime};base64,{data}"}})
    return parts


def apply_extras(body: dict, extras: Extras, max_tokens: int | None) -> None:
    """`ask`'s tools, tool choice, schema and reasoning in Cohere v2's form (in place)."""
    if extras.tools:
        body["tools"] = [{"type": "function", "function": {
            "name": t.name, **({"description": t.description} if t.description is not None else {}),
            "parameters": t.parameters}} for t in extras.tools]
    choice = extras.tool_choice
    if choice in ("required", "none"):
        body["tool_choice"] = choice.upper()
    elif choice not in (None, "auto"):
        raise UsageError(f"--tool-choice {choice}: cohere.chat can require a tool call (required) or forbid one "
                         "(none), not name the tool")
    if extras.schema is not None:
        body["response_format"] = {"type": "json_object", "json_schema": extras.schema}
    if extras.reasoning is not None:
        body["thinking"] = {"type": "disabled" if extras.reasoning == "none" else "enabled"}
