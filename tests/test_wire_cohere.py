"""Cohere Chat v2 wire: detection, recorded and written fixtures, body/stream agreement, citations, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from aimux_cli.document import Accumulator
from aimux_cli.inputs import Source
from aimux_cli.prettify import normalize
from aimux_cli.wire import StreamFolder, canonical, detect, parse_body
from aimux_cli.wire import cohere as wire

from wire_support import fold_sse, load_document, without_ids

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "cohere"
API = "cohere.chat"


def fixture(name: str, api: str | None = None) -> dict:
    return load_document(FIXTURES / name, api)





# -- detection ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("obj", [
    {"id": "x", "message": {"role": "assistant", "content": []}, "finish_reason": "COMPLETE"},
    {"id": "x", "type": "message-start", "delta": {"message": {"role": "assistant"}}},
    {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "hi"}}}},
    {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "I will"}}},
    {"type": "citation-start", "index": 0, "delta": {"message": {"citations": {}}}},
    {"type": "message-end", "delta": {"finish_reason": "COMPLETE"}},
])
def test_detect_accepts_bodies_and_stream_events(obj):
    assert wire.detect(obj)
    assert detect(obj) == API


@pytest.mark.parametrize("obj", [
    {"type": "message_start", "message": {}},  # Anthropic: underscores
    {"type": "content_block_delta", "index": 0, "delta": {}},
    {"model": "llama3", "message": {"role": "assistant", "content": "hi"}, "done": True},  # Ollama
    {"choices": [{"message": {"content": "hi"}}], "message": {}, "finish_reason": "stop"},
    {"id": "x", "message": "invalid api token"},  # Cohere's error body: too plain to detect
    {"type": ["message-start"]}, {"type": {"a": 1}}, {"message": [], "finish_reason": 1}, [], "message-end", None,
])
def test_detect_rejects_other_shapes_without_raising(obj):
    assert not wire.detect(obj)


def test_wire_names():
    assert canonical("cohere") == API and canonical(API) == API


# -- recorded bodies (traceloop/openllmetry cassettes) -----------------------------------------------------------

def test_recorded_text_body():
    doc = fixture("recorded-text.json")
    assert (doc["api"], doc["provider"], doc["status"], doc["finish"], doc["finish_raw"]) == \
        (API, "cohere", "ok", "stop", "COMPLETE")
    assert doc["id"] == "83e3e297-264b-478e-9b22-5058386292ed"
    assert [b["type"] for b in doc["blocks"]] == ["text"]
    assert doc["blocks"][0]["text"].startswith("Arrrr, matey!")
    assert doc["usage"] == {"input_tokens": 69, "output_tokens": 89}  # `tokens`, not the billed units
    assert doc["cost"] == {"billed_units": {"input_tokens": 7, "output_tokens": 88}}


def test_recorded_tool_plan_and_calls():
    doc = fixture("recorded-tool-calls.json")
    assert (doc["finish"], doc["finish_raw"]) == ("tool_call", "TOOL_CALL")
    plan, *calls = doc["blocks"]
    assert plan == {"type": "thinking", "text": "I will search for the current time and weather in Tokyo."}
    assert calls == [
        {"type": "tool_call", "id": "get_time_dp3men9jrvhf", "name": "get_time", "arguments": {"location": "Tokyo"}},
        {"type": "tool_call", "id": "get_weather_d7arjgsc96yf", "name": "get_weather",
         "arguments": {"location": "Tokyo"}},
    ]


def test_recorded_citations_of_tool_results_name_their_source():
    doc = fixture("recorded-citations-tool-results.json")
    (block,) = doc["blocks"]
    assert block["citations"] == [{"title": "get_time_dp3men9jrvhf:0"}, {"title": "get_weather_d7arjgsc96yf:0"}]


# -- streams --------------------------------------------------------------------------------------------------

PAIRS = [
    ("text.json", "recorded-text-stream.sse"),
    ("tool-calls.json", "recorded-tool-calls-stream.sse"),
    ("thinking-citations.json", "thinking-citations-stream.sse"),
]


@pytest.mark.parametrize(("body", "stream"), PAIRS)
def test_stream_and_body_give_the_same_document(body, stream):
    whole, streamed = fixture(body), fixture(stream)
    assert streamed["status"] == "ok"
    assert without_ids(whole) == without_ids(streamed)


def test_recorded_stream_arguments_are_parsed_and_deltas_follow():
    doc, deltas = fold_sse((FIXTURES / "recorded-tool-calls-stream.sse").read_bytes())
    assert [b.get("name") for b in doc["blocks"]] == [None, "get_time", "get_weather"]
    assert doc["blocks"][1]["arguments"] == {"location": "Tokyo"}
    assert {kind for kind, _ in deltas} == {"thinking"}  # the tool plan, as it streams
    assert "".join(text for _, text in deltas) == doc["blocks"][0]["text"]


def test_thinking_then_text_with_document_citations():
    doc, deltas = fold_sse((FIXTURES / "thinking-citations-stream.sse").read_bytes())
    assert [b["type"] for b in doc["blocks"]] == ["thinking", "text"]
    assert [kind for kind, _ in deltas] == ["thinking"] * 4 + ["text"] * 4
    # a document's url and title; each source once, though doc:0 backs two spans
    assert doc["blocks"][1]["citations"] == [
        {"url": "https://example.org/penguins/tallest", "title": "Tall penguins"}, {"title": "Penguin weights"}]
    assert doc["usage"] == {"input_tokens": 1874, "output_tokens": 97, "cache_read_tokens": 1536}


def test_stream_error_at_message_end_keeps_the_text():
    doc = fixture("stream-error.sse")
    assert (doc["status"], doc["finish"], doc["finish_raw"]) == ("error", "error", "ERROR")
    assert doc["blocks"][0]["text"] == "The three largest moons of Jupiter are Ganymede, Callisto and"
    assert doc["error"]["message"].startswith("internal server error")


def test_stream_cut_before_message_end_is_incomplete():
    data = (FIXTURES / "recorded-tool-calls-stream.sse").read_bytes()
    cut = data[:data.index(b"event: tool-call-end")]
    doc, _ = fold_sse(cut)
    assert doc["status"] == "incomplete"
    assert doc["blocks"][1]["name"] == "get_time"


def test_done_marker_alone_ends_a_stream():
    folder = StreamFolder(api=API)
    folder.feed_sse('{"id": "x", "type": "message-start", "delta": {"message": {"role": "assistant"}}}', None)
    folder.feed_sse('{"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "Hi"}}}}')
    folder.feed_sse("[DONE]")
    assert folder.document().status == "ok"


def test_events_of_unexpected_shapes_carry_nothing():
    acc = Accumulator(API, default_provider=wire.VENDOR)
    for event in ({"type": "content-delta", "delta": {"message": {"content": "text"}}},
                  {"type": "content-delta", "delta": []}, {"type": "tool-call-delta", "index": 0, "delta": {}},
                  {"type": "citation-start", "delta": {"message": {"citations": [1, {"sources": 3}]}}},
                  {"type": "message-end", "delta": "COMPLETE"}, {"type": "debug", "prompt": "..."}, [1], "x"):
        assert wire.fold(acc, event, None) == []
    assert acc.document().blocks == ()


# -- errors ---------------------------------------------------------------------------------------------------

def test_error_body_is_read_when_the_wire_is_known():
    obj = {"id": "5d0c", "message": "model 'command-z' not found"}
    doc = parse_body(obj, api=API, http_status=404).to_dict()
    assert (doc["status"], doc["finish"]) == ("error", "error")
    assert doc["error"] == {"status": 404, "message": "model 'command-z' not found"}


def test_error_body_fixture_takes_the_generic_path_when_detected():
    outcome = normalize(Source("e.json", (FIXTURES / "error-404-model-not-found.json").read_bytes()))
    assert outcome.document is None
    forced = fixture("error-404-model-not-found.json", API)
    assert forced["status"] == "error" and forced["error"]["message"].startswith("model 'command-z'")
