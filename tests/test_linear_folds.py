"""Folding a stream costs work linear in its size (issue 9): a tool call's arguments or a server tool's input that
arrive as thousands of pieces are kept as the pieces and joined once, not grown by `+=` (which copies all of it per
piece). The work is counted, not timed: each piece is a `str` subclass whose `__radd__` (which Python tries first
for `str + piece`) counts the characters a concatenation would copy."""

from __future__ import annotations

import json

from aimux_cli.document import Accumulator, call_arguments
from aimux_cli import wire as wires
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


def test_ndjson_line_in_many_chunks_is_joined_once() -> None:
    """One NDJSON line (an Ollama body, say) read in 2,000 chunks: the unfinished line is kept as its chunks."""
    from aimux_cli.streams import NDJSONParser

    class Decoder:  # hands each chunk on as a Piece, so that concatenating it is counted
        def decode(self, chunk: bytes, final: bool = False) -> str:
            return Piece(bytes(chunk).decode())

    line = json.dumps({"model": "m", "response": "x" * 20 * PIECES, "done": True}).encode()
    parser = NDJSONParser()
    parser._decoder = Decoder()
    Piece.copied = 0
    out = [value for piece in pieces(line.decode()) for value in parser.feed(piece.encode())]
    out += parser.feed(b"\n") + parser.close()
    assert out == [json.loads(line)]
    assert Piece.copied <= 2 * len(line)


class Chunk(bytes):
    def __radd__(self, other: bytes) -> bytes:
        if isinstance(other, bytearray):
            return NotImplemented  # `bytearray += chunk` extends in place
        Piece.copied += len(other) + len(self)
        return bytes.__add__(other, self)


def chunks(data: bytes, n: int = PIECES) -> list[Chunk]:
    size = -(-len(data) // n)
    return [Chunk(data[i:i + size]) for i in range(0, len(data), size)]


def test_follow_reads_a_long_first_line_in_linear_work(monkeypatch) -> None:
    """prettify --follow sniffs a stream from its head, which for NDJSON is its whole first line: a line of 100 MB
    read in 64 KB pieces took 16 s (the head grown by `bytes +=` and scanned again per read)."""
    from aimux_cli import live_follow, streams

    line = json.dumps({"model": "m", "response": "x" * 20 * PIECES, "done": True}).encode() + b"\n"
    monkeypatch.setattr(live_follow, "_read_chunks", lambda: iter(chunks(line)))
    scanned = []
    needs_more = streams.needs_more
    monkeypatch.setattr(streams, "needs_more", lambda head: scanned.append(len(head)) or needs_more(head))
    Piece.copied = 0
    run = harness.prettify(line, "json --follow", trace=False)
    assert (run.exc, run.code) == (None, 0), run.stderr
    assert json.loads(run.stdout)["blocks"] == [{"type": "text", "text": "x" * 20 * PIECES}]
    assert Piece.copied + sum(scanned) <= 4 * len(line)


def test_ask_reads_a_whole_body_and_a_long_first_line_in_linear_work(monkeypatch) -> None:
    """`aimux ask` keeps a body that is one JSON document whole, and sniffs a stream from its head, as it arrives:
    both grew `bytes` per read (and asked `needs_more` of all of it)."""
    from aimux_cli import streams
    from aimux_cli.commands.ask import Pump

    class View:
        def __init__(self) -> None:
            self.shown: list = []

        def blocks(self, blocks) -> None:
            self.shown += blocks

        def show(self, deltas) -> None:
            self.shown += deltas

        def watch(self, acc) -> None:
            pass

    scanned = []
    needs_more = streams.needs_more
    monkeypatch.setattr(streams, "needs_more", lambda head: scanned.append(len(head)) or needs_more(head))
    answer = "x" * 20 * PIECES
    whole = json.dumps({"object": "chat.completion", "model": "m", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}]}).encode()
    ndjson = json.dumps({"model": "m", "response": answer, "done": True}).encode() + b"\n"
    for api, body in (("openai.chat", whole), ("ollama.generate", ndjson)):
        Piece.copied, scanned[:] = 0, []
        pump = Pump(wires.StreamFolder(api), View())
        for chunk in chunks(body):
            pump.feed(chunk)
        pump.close(True)
        assert pump.document().text() == answer, api
        assert Piece.copied + sum(scanned) <= 4 * len(body), api


def test_long_lines_are_looked_for_from_line_starts_only() -> None:
    """The Rich view folds (long_content) or cuts (the generic JSON view) lines longer than 64 KB. A search for them
    that starts at every character scans each time to the line's end: quadratic in the length of the lines under
    the limit (2 MB of 32,000-character lines took 19 s; a Gemini stream of 15.6 MB of thinking, 1.1 s of 6). Work
    is not timed here: a search that starts inside a line must find nothing, so each line is scanned once."""
    from aimux_cli.render import long_content, rich_view

    for pattern, limit in ((long_content._LONG_CONTENT_LINE, long_content.CHUNK_CHARS),
                           (rich_view._LONG_LINE, rich_view._LINE_CHARS)):
        line = "x" * (limit + 10)
        assert pattern.search(line).span() == (0, len(line))
        assert pattern.search("short\n" + line + "\nshort").span() == (6, 6 + len(line))
        assert pattern.search(line, 1) is None and pattern.search("ab" + line, 1) is None  # not from inside a line
    text = "short\n" + "y" * (long_content.CHUNK_CHARS + 5) + "\nend"
    assert "\n".join(long_content.line_chunks(text)) == "short\n" + "y" * long_content.CHUNK_CHARS + "\nyyyyy\nend"
