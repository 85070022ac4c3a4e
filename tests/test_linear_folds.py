"""Folding a stream costs work linear in its size (issue 9): a tool call's arguments or a server tool's input that
arrive as thousands of pieces are kept as the pieces and joined once, not grown by `+=` (which copies all of it per
piece). The work is counted, not timed: each piece is a `str` subclass whose `__radd__` (which Python tries first
for `str + piece`) counts the characters a concatenation would copy."""

from __future__ import annotations

import json

from aimux_cli.document import Accumulator, call_arguments
from aimux_cli.wire import StreamFolder
from fuzz import harness

PIECES = 2000


class Piece(str):
    copied = 0

    def __radd__(self, other: str) -> str:
        Piece.copied += len(other) + len(self)
        return str.__add__(other, self)


def pieces(text: str, n: int = PIECES) -> list[Piece]:
    size = -(-len(text) // n)
    return [Piece(text[i:i + size]) for i in range(0, len(text), size)]


ARGS = json.dumps({"q": "x" * 20 * PIECES})


def test_tool_call_arguments_are_joined_once() -> None:
    acc = Accumulator("openai.chat")
    Piece.copied = 0
    acc.tool_call("c1", id="call_1", name="search")
    for piece in pieces(ARGS):
        acc.tool_call("c1", arguments=piece)
    assert call_arguments(acc.choices[0].tools["c1"]) == ARGS  # what the live view reads while it streams
    doc = acc.document()
    assert doc.blocks == ({"type": "tool_call", "id": "call_1", "name": "search", "arguments": json.loads(ARGS)},)
    assert Piece.copied <= 2 * len(ARGS)  # `+=` copied about PIECES * len(ARGS) / 2


def test_tool_call_arguments_sent_whole_still_replace_and_restart() -> None:
    acc = Accumulator("openai.chat")
    acc.tool_call("c1", name="f", arguments='{"a"')
    acc.tool_call("c1", arguments={"b": 2})  # a value sent whole replaces the pieces
    assert acc.document().blocks[0]["arguments"] == {"b": 2}
    acc.tool_call("c1", arguments="")
    acc.tool_call("c1", arguments='{"c": 3}')  # a string after it starts again
    assert acc.document().blocks[0]["arguments"] == {"c": 3}
    acc.tool_call("c2", name="g", arguments=["not", "pieces"])  # a list sent as the arguments is a value
    acc.tool_call("c2", name="g")
    assert acc.document().blocks[1]["arguments"] == ["not", "pieces"]


def _anthropic_server_tool(parts: list[str], stop: bool = True) -> list[dict]:
    events = [{"type": "message_start", "message": {"id": "msg_1", "model": "claude", "role": "assistant"}},
              {"type": "content_block_start", "index": 0,
               "content_block": {"type": "server_tool_use", "id": "srv_1", "name": "web_search", "input": {}}}]
    events += [{"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": p}}
               for p in parts]
    if stop:
        events += [{"type": "content_block_stop", "index": 0}, {"type": "message_stop"}]
    return events


def test_anthropic_server_tool_input_is_joined_once() -> None:
    for stop, expect in ((True, json.loads(ARGS)), (False, ARGS)):  # cut before its stop: the input as it came
        folder = StreamFolder("anthropic.messages")
        Piece.copied = 0
        for event in _anthropic_server_tool(pieces(ARGS), stop):
            folder.feed_json(event)
        block = folder.document().blocks[0]
        assert (block["type"], block["input"]) == ("server_tool_use", expect)
        assert Piece.copied <= 2 * len(ARGS)


def test_follow_folds_a_tool_call_of_many_pieces() -> None:
    """End to end, prettify --follow -f json: the document holds the call's whole arguments."""
    def chunk(delta: dict, finish: str | None = None) -> dict:
        return {"object": "chat.completion.chunk", "model": "m",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    calls = [chunk({"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "f", "arguments": ""}}]})]
    calls += [chunk({"tool_calls": [{"index": 0, "function": {"arguments": str(p)}}]}) for p in pieces(ARGS)]
    data = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in calls + [chunk({}, "tool_calls")])
    for fmt in ("json", "json --follow"):
        run = harness.prettify(data + b"data: [DONE]\n\n", fmt, trace=False)
        assert (run.exc, run.code) == (None, 0), run.stderr
        assert json.loads(run.stdout)["blocks"][0]["arguments"] == json.loads(ARGS), fmt
