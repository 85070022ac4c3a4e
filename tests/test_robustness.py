"""Hostile shapes (issue 9, defect 4): a well-known key holding an unexpected type, values nested 1,000 deep,
numbers beyond any float. Detection never raises; a wire module keeps what it understood and the document says
what it skipped in `warnings`; every output format draws the result."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest
from rich.console import Console

from aimux_cli import wire
from aimux_cli.errors import InputError
from aimux_cli.inputs import Source
from aimux_cli.prettify import normalize
from aimux_cli.present import dumps_json
from aimux_cli.render.rich_view import render_rich, render_value
from aimux_cli.render.text import render_text
from aimux_cli.toon import encode


DEEP = "<1000 deep>"  # stands for a list nested 1,000 deep, which neither json.dumps nor orjson.dumps writes


def body(value) -> bytes:
    """JSON text of `value` (the standard library writes integers beyond 64 bits), with DEEP spelled out."""
    import json
    return json.dumps(value).encode().replace(b'"' + DEEP.encode() + b'"', b"[" * 1000 + b"1" + b"]" * 1000)


def depth(value) -> int:
    n = 0
    while isinstance(value, list):
        value, n = value[0], n + 1
    return n


def every_format(data: bytes):
    """Normalize `data` as prettify does and draw it in every format; returns the outcome."""
    outcome = normalize(Source("case", data))
    encode(outcome.data)
    dumps_json(outcome.data)
    console = Console(file=io.StringIO(), width=100, force_terminal=True)
    if outcome.document is not None:
        render_text(outcome.document.to_dict())
        render_rich(outcome.document.to_dict(), console)
    else:
        render_value(outcome.value, console)
    return outcome


# --- detection never raises ------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    {"type": ["string", "null"]},  # a JSON Schema
    {"object": []},
    {"object": {}},
    {"type": {"a": 1}},
    {"error": {"code": [], "status": {}}},
    [{"candidates": []}, 1],
    [[]],
])
def test_detection_never_raises(value):
    wire.detect(value)  # no exception
    outcome = every_format(orjson.dumps(value))
    assert outcome.document is None or outcome.document.api in wire.WIRES


def test_a_json_schema_is_plain_json():
    outcome = every_format(b'{"type":["string","null"]}')
    assert outcome.document is None and outcome.value == {"type": ["string", "null"]}


# --- the crash sites of issue 9: what was understood is kept, with a warning -----------------------------------

def test_chat_choices_not_a_list_keeps_model_and_usage():
    doc = every_format(b'{"object":"chat.completion","model":"m1","choices":1,"usage":{"prompt_tokens":3}}').document
    assert doc.api == "openai.chat" and doc.model == "m1" and doc.usage == {"input_tokens": 3}
    assert any("choices" in w for w in doc.warnings)


def test_anthropic_content_not_a_list_keeps_the_finish():
    doc = every_format(b'{"type":"message","model":"claude-x","content":2,"stop_reason":"end_turn"}').document
    assert (doc.api, doc.model, doc.finish, doc.status) == ("anthropic.messages", "claude-x", "stop", "ok")
    assert any("content" in w for w in doc.warnings)


def test_gemini_candidates_not_a_list_keeps_the_model():
    doc = every_format(b'{"candidates":{"object":null},"modelVersion":"gemini-x"}').document
    assert doc.api == "gemini.generate" and doc.model == "gemini-x"
    assert any("candidates" in w for w in doc.warnings)


def test_a_server_tool_input_piece_that_is_not_text_is_ignored():
    """Fuzz (final run, case 40319): an input_json_delta whose partial_json is a number, on a server_tool_use block,
    was kept among the input's string pieces and the document could not be made (TypeError, exit 1, every format)."""
    events = [
        {"type": "message_start", "message": {"type": "message", "model": "claude-x", "content": []}},
        {"type": "content_block_start", "index": 0,
         "content_block": {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": '{"q'}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": 7}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": '":"x"}'}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "found it"}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}},
        {"type": "message_stop"},
    ]
    data = b"".join(b"event: " + e["type"].encode() + b"\ndata: " + orjson.dumps(e) + b"\n\n" for e in events)
    doc = every_format(data).document
    assert (doc.status, doc.finish) == ("ok", "stop")
    assert doc.blocks[0]["input"] == {"q": "x"} and doc.blocks[-1]["text"] == "found it"


@pytest.mark.parametrize("field", ["model", "id"])
def test_a_deeply_nested_model_or_id_is_ignored_with_a_warning(field):
    value = {"object": "chat.completion", "choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}],
             field: DEEP}
    doc = every_format(body(value)).document
    assert doc.text() == "hi" and doc.finish == "stop" and getattr(doc, field) is None
    assert any(field in w for w in doc.warnings)


def test_a_deeply_nested_finish_reason_is_kept_raw_and_unknown():
    value = {"object": "chat.completion", "choices": [{"message": {"content": "hi"}, "finish_reason": DEEP}]}
    doc = every_format(body(value)).document
    assert doc.text() == "hi" and doc.finish is None and depth(doc.finish_raw) == 1000


def test_a_deeply_nested_anthropic_block_is_kept():
    value = {"type": "message", "content": [{"type": "text", "text": "hi"}, {"type": "server_x", "v": DEEP}],
             "stop_reason": "end_turn"}
    doc = every_format(body(value)).document
    assert doc.text() == "hi" and doc.blocks[1]["type"] == "server_x"


def test_an_ollama_duration_beyond_a_float_is_skipped_and_the_others_kept():
    value = {"model": "llama", "message": {"role": "assistant", "content": "hi"}, "done": True,
             "done_reason": "stop", "eval_count": 3, "load_duration": 10 ** 309, "total_duration": 2_000_000_000}
    doc = every_format(body(value)).document
    assert doc.text() == "hi" and doc.status == "ok" and doc.timing == {"total_s": 2.0}
    assert doc.usage == {"output_tokens": 3}
    assert any("load_duration" in w for w in doc.warnings)


@pytest.mark.parametrize("value", [
    {"object": "chat.completion", "choices": [{"message": "hi", "finish_reason": "stop"}]},
    {"object": "chat.completion", "choices": [{"message": {"content": ["x", 1, {"type": []}]}}]},
    {"object": "chat.completion", "choices": [{"index": "²", "message": {"content": "a"}}, {"message": {}}]},
    {"type": "message", "content": [{"type": "text", "text": ["x"]}, {"type": None}, {"type": [{}]}]},
    {"type": "message", "content": [{"type": "tool_call", "x": 1}, {"type": "text", "text": "ok"}]},
    {"candidates": [{"index": "²", "content": {"parts": [{"text": "a"}]}}, {"index": 0}]},
    {"candidates": [{"citationMetadata": {"citations": [{"uri": [], "title": {}}]}}]},
    {"error": {"message": "m", "code": "²"}},
    {"error": {"message": "m", "code": "9" * 5000}},
    {"object": "chat.completion", "usage": {"prompt_tokens": 10 ** 30, "total_tokens": 1e300}, "choices": []},
])
def test_type_confused_bodies_are_drawn(value):
    doc = every_format(body(value)).document
    assert doc is not None


# --- the dispatch-level net: one unreadable event does not stop the stream -------------------------------------

def test_an_unreadable_event_is_a_warning_and_the_stream_goes_on():
    events = [
        {"type": "message_start", "message": {"model": "claude-x", "content": []}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}},
        {"type": "content_block_delta", "index": [0], "delta": {"type": "text_delta", "text": "??"}},  # unhashable
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " world"}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}},
        {"type": "message_stop"},
    ]
    data = b"".join(b"data: " + orjson.dumps(e) + b"\n\n" for e in events)
    doc = every_format(data).document
    assert doc.text() == "Hello world" and doc.status == "ok" and doc.finish == "stop"
    assert doc.warnings == ("anthropic.messages: event 4: part of the response has a shape aimux does not "
                            "understand and was skipped (TypeError)",)
    assert doc.to_dict()["warnings"] == list(doc.warnings)


def test_warnings_are_bounded():
    events = [{"object": "chat.completion.chunk", "choices": [{"delta": {"content": "x"}}]}]
    events += [{"object": "chat.completion.chunk",  # an unhashable tool-call index: each event is unreadable
                "choices": [{"delta": {"tool_calls": [{"index": [i], "function": {"name": "f"}}]}}]}
               for i in range(100)]
    data = b"".join(b"data: " + orjson.dumps(e) + b"\n\n" for e in events) + b"data: [DONE]\n\n"
    doc = every_format(data).document
    assert doc.text() == "x" and len(doc.warnings) == 21
    assert doc.warnings[-1] == "… and 80 more warning(s)"


@pytest.mark.parametrize("value", [
    {"error": DEEP},  # an OpenAI-shaped stream error event holding a deep list: str() of it recursed
    {"error": {"message": DEEP, "type": {"a": [1]}, "code": DEEP}},
    {"error": 5},
])
def test_an_error_of_any_shape_is_kept_as_text(value):
    events = [{"object": "chat.completion.chunk", "choices": [{"delta": {"content": "partial"}}]}, value]
    data = b"".join(b"data: " + body(e) + b"\n\n" for e in events)
    doc = every_format(data).document
    assert doc.status == "error" and doc.text() == "partial" and not doc.warnings
    assert all(isinstance(doc.error[k], str) for k in ("message", "type", "code") if k in doc.error)


# --- lone surrogates: JSON can spell half a UTF-16 pair; no UTF-8 writer takes it ------------------------------

@pytest.mark.parametrize("data", [
    b'{"object":"chat.completion","choices":[{"message":{"content":"a\\ud800b"},"finish_reason":"stop"}]}',
    b'data: {"object":"chat.completion.chunk","choices":[{"delta":{"content":"a\\ud800b"}}]}\n\ndata: [DONE]\n\n',
    b'data: {"object":"chat.completion.chunk","choices":[{"delta":{"content":"a"}}]}\n\n'
    b'data: {"object":"chat.completion.chunk","choices":[{"delta":{"content":"\\ud800b"}}]}\n\ndata: [DONE]\n\n',
    b'{"model":"m","message":{"content":"a\\udc00b"},"done":false}\n{"model":"m","message":{},"done":true}\n',
])
def test_a_lone_surrogate_is_replaced_with_a_warning(data):
    doc = every_format(data).document
    assert doc.text() == "a\ufffdb" and doc.warnings
    doc.text().encode("utf-8")  # every writer can take it


def test_a_lone_surrogate_in_plain_json_is_replaced_with_a_warning():
    outcome = every_format(b'{"a":"\\udc00","\\ud800":1}')
    assert outcome.value == {"a": "\ufffd", "\ufffd": 1}
    assert any("surrogate" in w for w in outcome.warnings)


# --- byte-level damage to every fixture: BOM, line ends, NUL, numbers beyond 64 bits or a float ---------------

FIXTURES = sorted(p for p in (Path(__file__).resolve().parents[1] / "fixtures").rglob("*")
                  if p.suffix in (".json", ".sse", ".ndjson"))
DAMAGE = {
    "bom": lambda b: b"\xef\xbb\xbf" + b,
    "crlf": lambda b: b.replace(b"\n", b"\r\n"),
    "cr": lambda b: b.replace(b"\n", b"\r"),
    "nul-inside": lambda b: b[: len(b) // 2] + b"\x00" + b[len(b) // 2 :],
    "nul-after": lambda b: b + b"\x00",
    "bad-utf8": lambda b: b[: len(b) // 3] + b"\xff\xc3" + b[len(b) // 3 :],
    "int-beyond-64-bits": lambda b: b.replace(b'_tokens": ', b'_tokens": 123456789012345678901234567890'),
    "float-beyond-double": lambda b: b.replace(b'_tokens": ', b'_tokens": 1e400'),
    "cut-in-half": lambda b: b[: len(b) // 2],
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_fixtures_never_crash(damage):
    for path in FIXTURES:
        data = DAMAGE[damage](path.read_bytes())
        try:
            every_format(data)
        except InputError:
            pass  # a one-line input error (exit 4) is an answer; an exception of any other kind is a crash


def test_an_ndjson_stream_whose_first_line_is_longer_than_the_sniffed_head():
    # a 1 MB first record used to be sniffed as one JSON body from its first 4 KB, then refused ("extra data")
    big = "y" * 1_000_000
    data = (orjson.dumps({"model": "m", "message": {"role": "assistant", "content": big}, "done": False}) + b"\n"
            + orjson.dumps({"model": "m", "message": {}, "done": True, "done_reason": "stop"}) + b"\n")
    doc = normalize(Source("case", data)).document
    assert doc.api == "ollama.chat" and doc.text() == big and doc.status == "ok"


@pytest.mark.parametrize("value", [
    {"candidates": [{"content": {"parts": 5}, "finishReason": "STOP"}], "modelVersion": "g"},
    {"model": "m", "message": {"content": "", "tool_calls": 5}, "done": True, "done_reason": "stop"},
    {"object": "chat.completion",
     "choices": [{"message": {"content": "", "tool_calls": 5}, "finish_reason": "stop"}]},
])
def test_a_list_field_holding_a_number_keeps_the_finish(value):
    doc = every_format(body(value)).document
    assert doc.finish == "stop" and doc.status == "ok"


def test_a_block_of_no_type_holding_a_text_list_is_kept_as_sent():
    # fuzz finding F15: an `other` block whose `text` was a list was joined like a block in pieces (TypeError)
    data = (b'event: message_start\ndata: {"type":"message_start"}\n\n'
            b'event: content_block_start\ndata: {"index":0,"content_block":{"text":[null]}}\n\n')
    doc = every_format(data).document
    assert doc.blocks == ({"type": "unknown", "text": [None]},) and doc.warnings
