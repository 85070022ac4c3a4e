"""Gemini generateContent wire: project fixtures, SSE / JSON-array / body agreement, and the provider corpus."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from aimux_cli.wire import StreamFolder
from aimux_cli.wire import gemini as wire

from wire_support import load_document, without_ids

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "gemini"
CORPUS = ROOT.parent / "shared" / "provider-corpus" / "gemini"
API = "gemini.generate"


def load(path: Path) -> dict:
    return load_document(path, API)


def fixture(name: str) -> dict:
    return load(FIXTURES / name)


# -- detection ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("obj", [
    {"candidates": [], "usageMetadata": {}},
    {"promptFeedback": {"blockReason": "SAFETY"}},
    {"usageMetadata": {"promptTokenCount": 3}, "modelVersion": "gemini-2.5-flash"},
    {"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}},
])
def test_detect_accepts_gemini_shapes(obj):
    assert wire.detect(obj)


@pytest.mark.parametrize("obj", [
    {"error": {"message": "bad key", "type": "invalid_request_error", "code": "invalid_api_key"}},  # OpenAI
    {"error": {"code": 401, "message": "No auth credentials found"}},  # OpenRouter: numeric code, no status
    {"error": "model not found"},  # Ollama
    {"choices": [], "usage": {}},
    [{"candidates": []}],  # arrays are handled by aimux_cli.wire.detect, element by element
])
def test_detect_rejects_other_shapes(obj):
    assert not wire.detect(obj)


# -- bodies ---------------------------------------------------------------------------------------------------

def test_text_stop_with_cache_and_thought_counts():
    doc = fixture("text-stop.json")
    assert (doc["api"], doc["provider"], doc["status"], doc["finish"], doc["finish_raw"]) == \
        (API, "gemini", "ok", "stop", "STOP")
    assert (doc["model"], doc["id"]) == ("gemini-2.5-flash", "kQ3vaPzXC8eQ1MkPq5bEoAw")
    assert doc["blocks"] == [{"type": "text", "text": "Octopuses have three hearts. Two pump blood through the gills, "
                              "and the third sends it around the rest of the body. The third one actually stops "
                              "beating while the octopus swims, which is one reason they prefer crawling."}]
    assert doc["usage"] == {"input_tokens": 2310, "output_tokens": 46, "total_tokens": 2543, "reasoning_tokens": 187,
                            "cache_read_tokens": 2048}


def test_max_tokens():
    doc = fixture("max-tokens.json")
    assert (doc["status"], doc["finish"], doc["finish_raw"]) == ("ok", "length", "MAX_TOKENS")
    assert doc["usage"] == {"input_tokens": 11, "output_tokens": 16, "total_tokens": 27}


def test_safety_without_content():
    doc = fixture("safety.json")
    assert (doc["status"], doc["finish"], doc["finish_raw"]) == ("ok", "content_filter", "SAFETY")
    assert "blocks" not in doc
    assert doc["usage"] == {"input_tokens": 23, "total_tokens": 23}


def test_parallel_function_calls_are_tool_call():
    doc = fixture("parallel-function-calls.json")
    assert (doc["finish"], doc["finish_raw"]) == ("tool_call", "STOP")
    assert doc["blocks"] == [
        {"type": "tool_call", "name": "set_light", "arguments": {"room": "kitchen", "brightness": 70}},
        {"type": "tool_call", "name": "set_thermostat", "arguments": {"celsius": 21.5}},
    ]  # Gemini gave no ids: none are invented


def test_thought_parts():
    doc = fixture("thought-parts.json")
    assert [b["type"] for b in doc["blocks"]] == ["thinking", "text"]
    assert doc["blocks"][0]["text"].startswith("**Comparing the two numbers**")
    assert doc["blocks"][1]["text"] == "9.9 is bigger than 9.11."
    assert doc["usage"]["reasoning_tokens"] == 311


def test_multiple_candidates_are_choices():
    doc = fixture("wire-candidates-n2.json")
    assert (doc["finish"], doc["finish_raw"]) == ("stop", "STOP")
    assert doc["blocks"] == [{"type": "text", "text": "A haiku needs five, seven, five."}]
    assert [(c["index"], c["finish"], c["finish_raw"]) for c in doc["choices"]] == \
        [(0, "stop", "STOP"), (1, "length", "MAX_TOKENS")]
    assert doc["choices"][1]["blocks"] == [{"type": "text", "text": "Syllables: five, then seven, then"}]


def test_blocked_prompt_is_ok_filtered_with_a_feedback_block():
    doc = fixture("wire-prompt-blocked.json")
    assert (doc["status"], doc["finish"], doc["finish_raw"]) == ("ok", "content_filter", "SAFETY")
    assert doc["blocks"] == [{"type": "promptFeedback", "blockReason": "SAFETY"}]
    assert doc["usage"] == {"input_tokens": 17, "total_tokens": 17}


def test_grounding_sources_become_citations():
    doc = fixture("wire-grounding.json")
    assert doc["blocks"][0]["citations"] == [
        {"url": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/AbF9wXE1", "title": "uefa.com"},
        {"url": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/AbF9wXE2", "title": "bbc.co.uk"},
    ]


@pytest.mark.parametrize("name, status, type_, code", [
    ("error-400-invalid-argument.json", 400, "INVALID_ARGUMENT", "API_KEY_INVALID"),  # details[0].reason
    ("error-404-not-found.json", 404, "NOT_FOUND", None),
    ("error-429-resource-exhausted.json", 429, "RESOURCE_EXHAUSTED", None),
    ("wire-error-array.json", 503, "UNAVAILABLE", None),
])
def test_error_bodies(name, status, type_, code):
    doc = fixture(name)
    raw = orjson.loads((FIXTURES / name).read_bytes())
    raw = raw[0] if isinstance(raw, list) else raw
    assert (doc["api"], doc["status"], doc["finish"]) == (API, "error", "error")
    expected = {"status": status, "type": type_, "message": raw["error"]["message"]}
    if code is not None:
        expected["code"] = code
    assert doc["error"] == expected


@pytest.mark.parametrize("details", [None, "x", [], [1, None], [{"reason": 3}], [{"@type": "LocalizedMessage"}]])
def test_error_details_without_a_reason_give_no_code(details):
    from aimux_cli import wire

    doc = wire.parse_body({"error": {"code": 400, "message": "m", "status": "INVALID_ARGUMENT", "details": details}},
                          api=API)
    assert "code" not in doc.error and doc.error["type"] == "INVALID_ARGUMENT"


# -- streams --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, stream", [
    ("text-stop.json", "text-stream.sse"),
    ("text-stop.json", "text-stream-array.json"),
    ("thought-parts.json", "wire-thought-parts-stream.sse"),
])
def test_stream_and_body_give_the_same_document(body, stream):
    streamed = fixture(stream)
    assert streamed["status"] == "ok"
    assert len(streamed["blocks"]) == len(fixture(body)["blocks"])  # chunks extend one block per kind
    assert without_ids(fixture(body)) == without_ids(streamed)


def test_thought_signature_is_never_copied():
    doc = fixture("wire-thought-parts-stream.sse")
    assert "CiQB0e2K" not in orjson.dumps(doc).decode()


def test_stream_without_finish_reason_is_incomplete():
    doc = fixture("text-stream-truncated.sse")
    assert (doc["status"], doc["finish"]) == ("incomplete", None)
    assert doc["blocks"] == [{"type": "text", "text": "Here are three tips for better sleep: keep a regular schedule, "
                              "avoid screens for an hour before bed, and keep"}]


def test_error_event_in_stream_keeps_earlier_text():
    doc = fixture("wire-stream-error.sse")
    assert (doc["status"], doc["finish"]) == ("error", "error")
    assert doc["error"] == {"status": 503, "type": "UNAVAILABLE",
                            "message": "The model is overloaded. Please try again later."}
    assert doc["blocks"] == [{"type": "text", "text": "Tides are caused mainly by the Moon's gravity"}]


def test_fold_returns_visible_deltas():
    folder = StreamFolder(api=API)
    deltas = folder.feed_json({"candidates": [{"content": {"parts": [{"text": "hm", "thought": True},
                                                                     {"text": "Hi"}]}}]})
    assert deltas == [("thinking", "hm"), ("text", "Hi")]
    assert folder.document().status == "incomplete"


# -- the provider corpus --------------------------------------------------------------------------------------

CORPUS_FILES = sorted(CORPUS.iterdir()) if CORPUS.is_dir() else []


@pytest.mark.skipif(not CORPUS_FILES, reason="provider corpus not found at ../shared/provider-corpus")
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_corpus_file_normalizes(path):
    doc = load(path)
    if path.name.startswith("error-"):
        assert (doc["status"], doc["error"]["status"], doc["error"]["type"]) == ("error", 404, "NOT_FOUND")
        return
    assert doc["status"] == "ok"
    assert doc["finish"] in {"stop", "length", "tool_call", "content_filter"}
    assert doc["model"] and doc["id"]
    assert "thoughtSignature" not in orjson.dumps(doc).decode()


@pytest.mark.skipif(not CORPUS_FILES, reason="provider corpus not found at ../shared/provider-corpus")
def test_corpus_parallel_calls_of_one_function_stay_apart():
    doc = load(CORPUS / "generateContent-parallel-functionCall-thoughtSignature.json")
    assert [b["name"] for b in doc["blocks"]] == ["generate_topic"] * 3
    assert doc["finish"] == "tool_call"
