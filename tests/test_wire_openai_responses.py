"""OpenAI Responses wire: detection, project fixtures, body/stream agreement, and the provider corpus."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from aimux_cli import streams
from aimux_cli.document import Accumulator
from aimux_cli.wire import detect, parse_body
from aimux_cli.wire import openai_responses as wire

from wire_support import load_document, without_ids

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "openai-responses"
CORPUS = ROOT.parent / "shared" / "provider-corpus"
API = "openai.responses"
TERMINAL = ("response.completed", "response.incomplete", "response.failed")

SUMMARY_1 = "**Planning the forecast lookup**\n\nThe user wants tomorrow's weather in Oslo, so I need the forecast tool."
SUMMARY_2 = "**Choosing units**\n\nThey wrote in metric earlier, so Celsius is the right unit for the call."


def load(path: Path, api: str | None = API) -> dict:
    return load_document(path, api)


def fixture(name: str) -> dict:
    return load(FIXTURES / name)


def fold_events(*events: dict) -> dict:
    acc = Accumulator(API, default_provider=wire.VENDOR)
    for event in events:
        wire.fold(acc, event, None)
    return acc.document().to_dict()


# -- detection ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("obj", [
    {"object": "response", "status": "completed", "output": []},
    {"type": "response.created", "response": {"object": "response"}},
    {"type": "response.output_text.delta", "delta": "hi", "output_index": 0},
    {"type": "error", "code": "server_error", "message": "boom", "sequence_number": 3},
])
def test_detect_accepts_responses_and_their_events(obj):
    assert wire.detect(obj)
    assert detect(obj) == API


@pytest.mark.parametrize("obj", [
    {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},  # Anthropic
    {"type": "message_start", "message": {}},
    {"object": "chat.completion", "choices": []},
    {"error": {"message": "bad key", "type": "invalid_request_error"}},  # OpenAI error body: openai.chat
    {"type": 3},
    [],
    None,
])
def test_detect_rejects_other_shapes(obj):
    assert not wire.detect(obj)


# -- project fixtures -----------------------------------------------------------------------------------------

def test_text_body():
    doc = fixture("text.json")
    assert (doc["api"], doc["provider"], doc["model"]) == (API, "openai", "gpt-4.1-2025-04-14")
    assert doc["id"] == "resp_0a1b2c3d4e5f60718293a4b5c6d7e8f90011223344556677"
    assert (doc["status"], doc["finish"], doc["finish_raw"]) == ("ok", "stop", "completed")
    assert [b["type"] for b in doc["blocks"]] == ["text"]
    assert doc["blocks"][0]["text"].startswith("A leap year adds one day to February")
    assert doc["usage"] == {"input_tokens": 2210, "output_tokens": 58, "total_tokens": 2268, "reasoning_tokens": 0,
                            "cache_read_tokens": 2048}


@pytest.mark.parametrize("name", ["incomplete-max-output-tokens.json", "stream-incomplete-max-output-tokens.sse"])
def test_incomplete_max_output_tokens_is_a_complete_answer_cut_by_the_limit(name):
    # the provider's own `incomplete` (a body, or a stream ended by response.incomplete) is not a cut stream
    doc = fixture(name)
    assert (doc["status"], doc["finish"], doc["finish_raw"]) == ("ok", "length", "max_output_tokens")
    assert doc["blocks"][0]["text"].endswith("and over the next decade it")


def test_encrypted_reasoning_is_redacted_and_not_copied():
    doc = fixture("reasoning-encrypted.json")
    assert doc["blocks"][0] == {"type": "thinking", "redacted": True}
    assert doc["blocks"][1] == {"type": "text",
                                "text": "Yes. 9.11 is smaller than 9.9, because 0.11 is less than 0.90."}
    assert doc["usage"]["reasoning_tokens"] == 256
    assert b"gAAAA" not in orjson.dumps(doc)


@pytest.mark.parametrize("name", ["reasoning-summary-function-call.json",
                                  "reasoning-summary-function-call-stream.sse"])
def test_reasoning_summary_text_and_function_call(name):
    doc = fixture(name)
    assert (doc["status"], doc["finish"], doc["finish_raw"]) == ("ok", "tool_call", "completed")
    assert doc["blocks"] == [
        {"type": "thinking", "text": SUMMARY_1 + "\n\n" + SUMMARY_2},
        {"type": "text", "text": "I'll check tomorrow's forecast for Oslo."},
        {"type": "tool_call", "id": "call_Vx3kP9mQ2wRt7YbN5cLs8DfH", "name": "get_forecast",
         "arguments": {"city": "Oslo", "days": 1, "unit": "celsius"}},
    ]
    assert doc["usage"] == {"input_tokens": 312, "output_tokens": 187, "total_tokens": 499, "reasoning_tokens": 128,
                            "cache_read_tokens": 0}


def test_stream_and_body_of_the_same_answer_agree():
    body = fixture("reasoning-summary-function-call.json")
    stream = fixture("reasoning-summary-function-call-stream.sse")
    assert without_ids(body) == without_ids(stream)


def test_error_event_keeps_the_text_before_it():
    doc = fixture("stream-error-event.sse")
    assert (doc["status"], doc["finish"]) == ("error", "error")
    assert doc["blocks"] == [{"type": "text", "text": "Sure, converting 5 miles gives"}]
    assert doc["error"] == {"code": "rate_limit_exceeded",
                            "message": "Rate limit reached for gpt-4.1-mini on tokens per min (TPM). "
                                       "Please try again in 1.2s."}


def test_failed_response():
    doc = fixture("stream-failed.sse")
    assert (doc["status"], doc["finish"], doc["finish_raw"]) == ("error", "error", "failed")
    assert doc["blocks"] == [{"type": "text", "text": "Here is a short poem about autumn:\n\nLeaves let go of"}]
    assert doc["error"]["code"] == "server_error"
    assert doc["error"]["message"].startswith("An error occurred while processing your request.")


def test_truncated_stream_is_incomplete():
    doc = fixture("stream-truncated.sse")
    assert (doc["status"], doc["finish"]) == ("incomplete", None)
    assert "finish_raw" not in doc
    assert doc["blocks"][0]["text"] == "To boil an egg, lower it gently into simmering water and"


# -- edge cases folded directly -----------------------------------------------------------------------------------

def test_summary_parts_join_like_the_body_even_with_an_empty_part():
    def delta(index, text):
        return {"type": "response.reasoning_summary_text.delta", "output_index": 0, "summary_index": index,
                "delta": text}
    done = {"type": "response.completed", "response": {"status": "completed", "output": []}}
    doc = fold_events(delta(0, "a"), delta(0, "b"), delta(2, "c"), done)
    assert doc["blocks"] == [{"type": "thinking", "text": "ab\n\nc"}]
    body = parse_body({"object": "response", "status": "completed", "output": [
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "ab"},
                                          {"type": "summary_text", "text": ""},
                                          {"type": "summary_text", "text": "c"}]}]})
    assert list(body.blocks) == doc["blocks"]


def test_fold_returns_visible_deltas():
    acc = Accumulator(API)
    assert wire.fold(acc, {"type": "response.output_text.delta", "output_index": 1, "content_index": 0,
                           "delta": "Hi"}, "response.output_text.delta") == [("text", "Hi")]
    assert wire.fold(acc, {"type": "response.refusal.delta", "output_index": 2, "content_index": 0,
                           "delta": "No"}, None) == [("refusal", "No")]
    assert wire.fold(acc, {"type": "response.function_call_arguments.delta", "output_index": 3,
                           "delta": "{}"}, None) == []


def test_item_without_deltas_is_taken_from_output_item_done():
    item = {"type": "message", "content": [
        {"type": "output_text", "text": "Rain.", "annotations": [
            {"type": "url_citation", "url": "https://w.example", "title": "W", "start_index": 0, "end_index": 5}]}]}
    doc = fold_events({"type": "response.output_item.done", "output_index": 0, "item": item},
                      {"type": "response.completed", "response": {"status": "completed", "output": [item]}})
    assert doc["blocks"] == [{"type": "text", "text": "Rain.",
                              "citations": [{"url": "https://w.example", "title": "W"}]}]


def test_other_items_keep_type_and_salient_fields():
    body = {"object": "response", "status": "completed", "output": [
        {"type": "image_generation_call", "id": "ig_1", "status": "completed", "result": "iVBORw0KGgo" * 50},
        {"type": "web_search_call", "id": "ws_1", "status": "completed",
         "action": {"type": "search", "query": "tides"}},
    ]}
    doc = parse_body(body).to_dict()
    assert doc["blocks"] == [
        {"type": "image_generation_call", "id": "ig_1", "status": "completed"},
        {"type": "web_search_call", "id": "ws_1", "status": "completed",
         "action": {"type": "search", "query": "tides"}},
    ]


def test_in_progress_body_is_incomplete():
    doc = parse_body({"object": "response", "status": "in_progress", "output": []}).to_dict()
    assert (doc["status"], doc["finish_raw"]) == ("incomplete", "in_progress")


def test_content_filter_reason():
    doc = parse_body({"object": "response", "status": "incomplete",
                      "incomplete_details": {"reason": "content_filter"}, "output": []}).to_dict()
    assert (doc["status"], doc["finish"], doc["finish_raw"]) == ("ok", "content_filter", "content_filter")


# -- provider corpus ----------------------------------------------------------------------------------------------

def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for d in ("openai", "openrouter") for p in (CORPUS / d).glob("responses-*"))


needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"provider corpus not found at {CORPUS}")


@needs_corpus
@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_file_normalizes(path):
    doc = load(path, api=None)
    assert doc["api"] == API
    assert doc["status"] == "ok"  # responses-stream-incomplete.sse ends with response.incomplete: a whole answer
    assert doc["finish"] == ("length" if "incomplete" in path.name else doc["finish"])
    assert doc["finish"] in ("stop", "tool_call", "length")
    assert doc["blocks"]
    assert b"encrypted_content" not in orjson.dumps(doc) and b"gAAAA" not in orjson.dumps(doc)


@needs_corpus
@pytest.mark.parametrize("path", [p for p in corpus_files() if p.suffix == ".sse"],
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_stream_agrees_with_its_final_response(path):
    """The terminal event carries the whole response: as a body it must give the stream's document."""
    _, events = streams.iter_events(path.read_bytes())
    finals = [orjson.loads(e.data)["response"] for e in events
              if e.data.startswith("{") and orjson.loads(e.data).get("type") in TERMINAL]
    assert finals, "a corpus stream with no terminal event"
    body = parse_body(finals[-1], api=API).to_dict()
    assert without_ids(body) == without_ids(load(path))


@needs_corpus
def test_corpus_web_search_citations():
    doc = load(CORPUS / "openai/responses-reasoning-web_search_call-annotations.json")
    kinds = [b["type"] for b in doc["blocks"]]
    assert kinds.count("web_search_call") == 2 and kinds[-1] == "text"
    assert doc["blocks"][1]["action"]["query"] == "Mexico top news October 15, 2025"
    assert doc["blocks"][-1]["citations"][0]["url"].startswith("https://apnews.com/article/")


@needs_corpus
def test_corpus_openrouter_stream_ends_with_done_after_completed():
    doc = load(CORPUS / "openrouter/responses-stream-reasoning-encrypted.sse", api=None)
    assert (doc["status"], doc["finish"]) == ("ok", "stop")
    assert doc["blocks"] == [{"type": "thinking", "redacted": True}, {"type": "text", "text": "4"}]
    assert doc["cost"] == 8.6e-06
