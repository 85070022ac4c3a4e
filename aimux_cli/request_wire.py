"""Neutral conversation turns -> each wire's own messages. Pure, no I/O; request.py calls it.

A turn is one of (normalize_turns, below, checks them and gives calls without an id one):
  {"role": "system" | "user", "content": str}
  {"role": "assistant", "content": str, "tool_calls": [{"id", "name", "arguments": JSON text}]}  (tool_calls optional)
  {"role": "tool", "tool_call_id", "name", "content": str}                                       (a call's result)
Attachments (request_extras.Attachment) go with the last user turn, as each wire's inline base64 parts.

| turn        | openai.chat              | openai.responses         | anthropic.messages    | gemini.generate        | ollama.chat         |
| tool call   | assistant `tool_calls`   | `function_call` item     | `tool_use` block      | `functionCall` part    | `tool_calls`        |
| tool result | role `tool`              | `function_call_output`   | user `tool_result`    | user `functionResponse`| role `tool`         |
| image       | `image_url` data URL     | `input_image` data URL   | `image` base64 block  | `inlineData` part      | message `images`    |
| PDF         | `file` part, data URL    | `input_file` data URL    | `document` block      | `inlineData` part      | refused (UsageError)|

Anthropic, Gemini and Ollama take a call's arguments as an object: JSON text that is not an object is sent as
{"value": <its value or the text>}. Gemini's function response is the result when it is a JSON object, else
{"output": <the text>}. Consecutive tool results go in one message (Anthropic and Gemini require it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aimux_cli.errors import UsageError

if TYPE_CHECKING:
    from aimux_cli.request_extras import Attachment

Turns = list[dict[str, Any]]


def normalize_turns(messages: Sequence[Mapping[str, Any]] | None, prompt: str | None) -> list[dict[str, Any]]:
    """Checked copies of neutral turns (the forms are in this module's docstring). A tool call without an id gets
    `call_N`; a tool result without `tool_call_id` answers the earliest unanswered call of its name (Gemini reports
    no ids)."""
    if (messages is None) == (prompt is None):
        raise ValueError("give exactly one of messages= or prompt=")
    if prompt is not None:
        return [{"role": "user", "content": prompt}]
    turns: list[dict[str, Any]] = []
    pending: list[dict[str, str]] = []  # calls not answered yet, in order
    for msg in messages or ():
        role, content = msg.get("role"), msg.get("content")
        if role not in ("system", "user", "assistant", "tool") or not isinstance(content, str):
            raise ValueError(f"a message needs role system/user/assistant/tool and string content, got {msg!r}")
        turn: dict[str, Any] = {"role": role, "content": content}
        if role == "assistant" and msg.get("tool_calls"):
            turn["tool_calls"] = [_call(c, len(pending) + i) for i, c in enumerate(msg["tool_calls"])]
            pending += turn["tool_calls"]
        elif role == "tool":
            turn.update(_result(msg, pending))
        turns.append(turn)
    return turns


def _call(call: Mapping[str, Any], index: int) -> dict[str, str]:
    name, arguments = call.get("name"), call.get("arguments", "{}")
    if not isinstance(name, str) or not name or not isinstance(arguments, str):
        raise ValueError(f"a tool call needs a name and its arguments as JSON text, got {call!r}")
    call_id = call.get("id")
    return {"id": call_id if isinstance(call_id, str) and call_id else f"call_{index + 1}", "name": name,
            "arguments": arguments}


def _result(msg: Mapping[str, Any], pending: list[dict[str, str]]) -> dict[str, str]:
    call_id, name = msg.get("tool_call_id"), msg.get("name")
    match = next((c for c in pending if c["id"] == call_id), None) if call_id else \
        next((c for c in pending if c["name"] == name), pending[0] if pending else None)
    if match is not None:
        pending.remove(match)
    call_id = call_id or (match["id"] if match else None)
    name = name or (match["name"] if match else None)
    if not isinstance(call_id, str) or not isinstance(name, str):
        raise ValueError(f"a tool result needs tool_call_id and name (or a call before it to answer), got {msg!r}")
    return {"tool_call_id": call_id, "name": name}


def _b64(att: Attachment) -> str:
    import base64  # only with attachments: ask's start-up does not pay for it

    return base64.b64encode(att.data).decode("ascii")


def _data_url(att: Attachment) -> str:
    return f"data:{att.mime};base64,{_b64(att)}"


def _last_user(turns: Turns) -> int:
    for i in range(len(turns) - 1, -1, -1):
        if turns[i]["role"] == "user":
            return i
    return -1


def _with_attachments(turns: Turns, attachments: tuple[Attachment, ...]) -> list[tuple[dict, tuple]]:
    """Each turn with the attachments it carries (all on the last user turn)."""
    at = _last_user(turns) if attachments else -1
    if attachments and at < 0:
        raise UsageError("--attach needs a user turn to attach the files to")
    return [(t, attachments if i == at else ()) for i, t in enumerate(turns)]


def arguments_object(text: Any) -> dict:
    """A call's arguments (JSON text) as the object the wires that take an object want; anything that is not an
    object goes under "value"."""
    import orjson

    if not isinstance(text, str):
        return text if isinstance(text, dict) else {"value": text}
    try:
        value = orjson.loads(text) if text.strip() else {}
    except orjson.JSONDecodeError:
        return {"value": text}
    return value if isinstance(value, dict) else {"value": value}


# ------------------------------------------------------------------------------------------------ openai.chat


def openai_chat(turns: Turns, system: str | None, attachments: tuple) -> list[dict]:
    out: list[dict] = [{"role": "system", "content": system}] if system else []
    for turn, atts in _with_attachments(turns, attachments):
        role = turn["role"]
        if role == "tool":
            out.append({"role": "tool", "tool_call_id": turn["tool_call_id"], "content": turn["content"]})
        elif role == "assistant" and turn.get("tool_calls"):
            calls = [{"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                     for c in turn["tool_calls"]]
            out.append({"role": "assistant", "content": turn["content"] or None, "tool_calls": calls})
        elif atts:
            parts: list[dict] = [{"type": "text", "text": turn["content"]}] if turn["content"] else []
            for att in atts:
                if att.mime == "application/pdf":
                    parts.append({"type": "file", "file": {"filename": att.filename, "file_data": _data_url(att)}})
                else:
                    parts.append({"type": "image_url", "image_url": {"url": _data_url(att)}})
            out.append({"role": role, "content": parts})
        else:
            out.append({"role": role, "content": turn["content"]})
    return out


# ------------------------------------------------------------------------------------------- openai.responses


def openai_responses(turns: Turns, attachments: tuple) -> list[dict]:
    out: list[dict] = []
    for turn, atts in _with_attachments(turns, attachments):
        role = turn["role"]
        if role == "tool":
            out.append({"type": "function_call_output", "call_id": turn["tool_call_id"], "output": turn["content"]})
            continue
        if atts:
            parts: list[dict] = [{"type": "input_text", "text": turn["content"]}] if turn["content"] else []
            for att in atts:
                if att.mime == "application/pdf":
                    parts.append({"type": "input_file", "filename": att.filename, "file_data": _data_url(att)})
                else:
                    parts.append({"type": "input_image", "image_url": _data_url(att), "detail": "auto"})
            out.append({"role": role, "content": parts})
        elif turn["content"] or not turn.get("tool_calls"):
            out.append({"role": role, "content": turn["content"]})
        for call in turn.get("tool_calls") or ():
            out.append({"type": "function_call", "call_id": call["id"], "name": call["name"],
                        "arguments": call["arguments"]})
    return out


# ----------------------------------------------------------------------------------------- anthropic.messages

_ANTHROPIC_ID = re.compile(r"[^A-Za-z0-9_-]")


def _anthropic_id(call_id: str) -> str:
    return _ANTHROPIC_ID.sub("_", call_id) or "call"  # Anthropic wants ^[a-zA-Z0-9_-]+$; other wires' ids may not be


def _anthropic_media(att: Attachment) -> dict:
    kind = "document" if att.mime == "application/pdf" else "image"
    return {"type": kind, "source": {"type": "base64", "media_type": att.mime, "data": _b64(att)}}


def anthropic(turns: Turns, attachments: tuple) -> list[dict]:
    out: list[dict] = []
    for turn, atts in _with_attachments(turns, attachments):
        role = turn["role"]
        if role == "tool":
            block = {"type": "tool_result", "tool_use_id": _anthropic_id(turn["tool_call_id"]),
                     "content": turn["content"]}
            if out and out[-1]["role"] == "user" and isinstance(out[-1]["content"], list) \
                    and out[-1]["content"] and out[-1]["content"][-1].get("type") == "tool_result":
                out[-1]["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
            continue
        if role == "assistant" and turn.get("tool_calls"):
            blocks: list[dict] = [{"type": "text", "text": turn["content"]}] if turn["content"] else []
            blocks += [{"type": "tool_use", "id": _anthropic_id(c["id"]), "name": c["name"],
                        "input": arguments_object(c["arguments"])} for c in turn["tool_calls"]]
            out.append({"role": "assistant", "content": blocks})
            continue
        content: Any = turn["content"]
        if atts:  # Anthropic advises images before the text
            content = [_anthropic_media(a) for a in atts] + ([{"type": "text", "text": content}] if content else [])
        if role == "user" and out and out[-1]["role"] == "user" and isinstance(out[-1]["content"], list):
            # the text after tool results joins their message: a user message right after tool_use holds them
            out[-1]["content"] += content if isinstance(content, list) else [{"type": "text", "text": content}]
        else:
            out.append({"role": role, "content": content})
    return out


# -------------------------------------------------------------------------------------------- gemini.generate


def gemini(turns: Turns, attachments: tuple) -> list[dict]:
    out: list[dict] = []
    for turn, atts in _with_attachments(turns, attachments):
        role = turn["role"]
        if role == "tool":
            part = {"functionResponse": {"name": turn["name"], "response": _function_response(turn["content"])}}
            if out and out[-1]["role"] == "user" and "functionResponse" in out[-1]["parts"][-1]:
                out[-1]["parts"].append(part)
            else:
                out.append({"role": "user", "parts": [part]})
            continue
        parts: list[dict] = [{"inlineData": {"mimeType": a.mime, "data": _b64(a)}} for a in atts]
        if turn["content"] or not (parts or turn.get("tool_calls")):
            parts.append({"text": turn["content"]})
        parts += [{"functionCall": {"name": c["name"], "args": arguments_object(c["arguments"])}}
                  for c in turn.get("tool_calls") or ()]
        out.append({"role": "model" if role == "assistant" else "user", "parts": parts})
    return out


def _function_response(text: str) -> dict:
    import orjson

    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {"output": text}
    return value if isinstance(value, dict) else {"output": text}


# ------------------------------------------------------------------------------------------------ ollama.chat


def ollama(turns: Turns, system: str | None, attachments: tuple) -> list[dict]:
    if any(a.mime == "application/pdf" for a in attachments):
        raise UsageError("ollama.chat takes images only: a PDF cannot be attached (--attach)")
    out: list[dict] = [{"role": "system", "content": system}] if system else []
    for turn, atts in _with_attachments(turns, attachments):
        role = turn["role"]
        if role == "tool":
            out.append({"role": "tool", "content": turn["content"], "tool_name": turn["name"]})
            continue
        message: dict[str, Any] = {"role": role, "content": turn["content"]}
        if atts:
            message["images"] = [_b64(a) for a in atts]
        if turn.get("tool_calls"):
            message["tool_calls"] = [{"function": {"name": c["name"], "arguments": arguments_object(c["arguments"])}}
                                     for c in turn["tool_calls"]]
        out.append(message)
    return out
