"""Anthropic Messages wire: project fixtures, body/stream agreement, and the provider corpus."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from aimux_cli.wire import StreamFolder, parse_body
from aimux_cli.wire import anthropic as wire

from wire_support import load_document

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "anthropic"
CORPUS = ROOT.parent / "shared" / "provider-corpus" / "anthropic"
API = "anthropic.messages"


def load(path: Path) -> dict:
    return load_document(path, API)


def fixture(name: str) -> dict:
    return load(FIXTURES / name)


def same_answer(a: dict, b: dict) -> dict:
    return {k: v for k, v in a.items() if k not in ("id", "timing")} == \
        {k: v for k, v in b.items() if k not in ("id", "timing")}


# -- detection ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("obj", [
    {"type": "message", "role": "assistant", "content": []},
    {"type": "message_start", "message": {}},
    {"type": "content_block_delta", "index": 0, "delta": {}},
    {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
])
def test_detect_accepts_messages_events_and_errors(obj):
    assert wire.detect(obj)


@pytest.mark.parametrize("obj", [
    {"type": "completion", "completion": " Hello!", "stop_reason": "stop_sequence"},  # legacy text completion
    {"error": {"message": "bad key", "type": "invalid_request_error", "code": "invalid_api_key"}},  # OpenAI
    {"type": "response.created", "response": {}},  # OpenAI Responses event
    {"type": "error", "code": "server_error", "message": "boom"},  # Responses error event: no nested object
    [],
    "message",
])
def test_detect_rejects_other_shapes(obj):
    assert not wire.detect(obj)


# -- bodies ---------------------------------------------------------------------------------------------------

def test_text_end_turn():
    doc = fixture("text-end-turn.json")
    assert (doc["api"], doc["provider"], doc["status"], doc["finish"], doc["finish_raw"]) == \
        (API, "anthropic", "ok", "stop", "end_turn")
    assert doc["model"] == "claude-sonnet-4-5-20250929"
    assert doc["id"] == "msg_01HcQ7tXbE2vGm9KpLwR4sNd"
    assert [b["type"] for b in doc["blocks"]] == ["text"]
    assert doc["blocks"][0]["text"].startswith("Bread goes stale mainly because")
    assert doc["usage"] == {"input_tokens": 21, "output_tokens": 52, "cache_read_tokens": 0, "cache_write_tokens": 0}
    assert "total_tokens" not in doc["usage"]


def test_max_tokens_with_cache_counts():
    doc = fixture("max-tokens-cache.json")
    assert (doc["status"], doc["finish"], doc["finish_raw"]) == ("ok", "length", "max_tokens")
    assert doc["usage"] == {"input_tokens": 12, "output_tokens": 32, "cache_read_tokens": 4096,
                            "cache_write_tokens": 512}


def test_stop_sequence_is_reported():
    doc = fixture("stop-sequence.json")
    assert (doc["finish"], doc["finish_raw"], doc["stop_sequence"]) == ("stop", "stop_sequence", "3.")
    assert doc["blocks"] == [{"type": "text", "text": "1. Preheat the oven to 200 °C.\n2. Slice the potatoes thinly.\n"}]


def test_refusal_stop_reason():
    doc = fixture("refusal.json")
    assert (doc["status"], doc["finish"], doc["finish_raw"]) == ("ok", "refusal", "refusal")
    assert doc["blocks"][0]["text"] == "I can explain how vaccines are tested for safety, but"


def test_thinking_without_signature():
    doc = fixture("thinking.json")
    assert [b["type"] for b in doc["blocks"]] == ["thinking", "text"]
    assert doc["blocks"][0] == {"type": "thinking", "text": "The user asks whether 221 is prime. Check small primes "
                                "up to sqrt(221), about 14.9. 221 / 13 = 17 exactly, so 221 = 13 * 17 and it is "
                                "not prime."}
    assert "Eqo" not in orjson.dumps(doc).decode()  # the signature never reaches the document


def test_redacted_thinking_drops_data():
    doc = fixture("redacted-thinking.json")
    assert doc["blocks"][0] == {"type": "thinking", "redacted": True}
    assert doc["blocks"][1]["text"].endswith("the capital of Australia is Canberra.")
    assert "EmwKAhgB" not in orjson.dumps(doc).decode()


def test_parallel_tool_use():
    doc = fixture("tool-use-parallel.json")
    assert (doc["finish"], doc["finish_raw"]) == ("tool_call", "tool_use")
    assert [b["type"] for b in doc["blocks"]] == ["text", "tool_call", "tool_call"]
    assert doc["blocks"][1] == {"type": "tool_call", "id": "toolu_01WeAtH3rK7yQp2Lm9Xs4Bv6", "name": "get_weather",
                                "arguments": {"location": "Kyoto, Japan", "unit": "celsius"}}
    assert doc["blocks"][2] == {"type": "tool_call", "id": "toolu_01TiMeZ5nC8rT1wQ4Hj6Pk0D", "name": "get_time",
                                "arguments": {"timezone": "Asia/Tokyo"}}


def test_pause_turn_keeps_server_tool_blocks_without_encrypted_content():
    doc = fixture("pause-turn-web-search.json")
    assert (doc["status"], doc["finish"], doc["finish_raw"]) == ("ok", "pause", "pause_turn")
    assert [b["type"] for b in doc["blocks"]] == ["text", "server_tool_use", "web_search_tool_result", "text"]
    assert doc["blocks"][1] == {"type": "server_tool_use", "id": "srvtoolu_01WsEaRcH7kLm3Pq9Xz2Bv5N",
                                "name": "web_search", "input": {"query": "Python 3.14 release date"}}
    result = doc["blocks"][2]
    assert result["tool_use_id"] == "srvtoolu_01WsEaRcH7kLm3Pq9Xz2Bv5N"
    assert [(r["url"], r["title"]) for r in result["content"]] == [
        ("https://peps.example.org/pep-0745/", "Python 3.14 release schedule"),
        ("https://docs.example.org/3.14/whatsnew.html", "What's new in Python 3.14")]
    assert doc["blocks"][3]["citations"] == [{"url": "https://peps.example.org/pep-0745/",
                                              "title": "Python 3.14 release schedule"}]
    text = orjson.dumps(doc).decode()
    assert "encrypted_content" not in text and "encrypted_index" not in text


@pytest.mark.parametrize("name, status, type_, message, request_id", [
    ("error-401-authentication.json", None, "authentication_error", "invalid x-api-key",
     "req_011CUa1b2C3d4E5f6G7h8J9k"),
    ("error-429-rate-limit.json", None, "rate_limit_error", "This request would exceed the rate limit",
     "req_011CUb2c3D4e5F6g7H8j9K0m"),
    ("error-529-overloaded.json", None, "overloaded_error", "Overloaded", "req_011CUc3d4E5f6G7h8J9k0L1n"),
])
def test_error_bodies(name, status, type_, message, request_id):
    doc = fixture(name)
    assert (doc["api"], doc["status"], doc["finish"]) == (API, "error", "error")
    assert doc["error"]["type"] == type_
    assert "status" not in doc["error"]  # the body carries no HTTP status; the transport supplies it
    assert doc["error"]["message"].startswith(message)
    assert doc["request_id"] == request_id
    assert "blocks" not in doc


def test_error_body_takes_the_transport_status():
    obj = orjson.loads((FIXTURES / "error-529-overloaded.json").read_bytes())
    doc = parse_body(obj, api=API, http_status=529).to_dict()
    assert doc["error"] == {"status": 529, "type": "overloaded_error", "message": "Overloaded"}


# -- streams --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, stream", [
    ("text-end-turn.json", "text-end-turn-stream.sse"),
    ("thinking.json", "thinking-stream.sse"),
    ("tool-use-parallel.json", "tool-use-parallel-stream.sse"),
    ("wire-web-search-citations.json", "wire-web-search-citations-stream.sse"),
])
def test_stream_and_body_give_the_same_document(body, stream):
    whole, streamed = fixture(body), fixture(stream)
    assert streamed["status"] == "ok"
    assert same_answer(whole, streamed)


def test_stream_usage_from_message_delta_replaces_message_start():
    doc = fixture("text-end-turn-stream.sse")
    assert doc["usage"]["output_tokens"] == 52  # message_start said 1


def test_streamed_tool_arguments_are_reassembled_per_block():
    doc = fixture("tool-use-parallel-stream.sse")
    calls = [b for b in doc["blocks"] if b["type"] == "tool_call"]
    assert [c["arguments"] for c in calls] == [{"location": "Kyoto, Japan", "unit": "celsius"},
                                               {"timezone": "Asia/Tokyo"}]


def test_citations_delta_before_text_and_server_tool_input():
    doc = fixture("wire-web-search-citations-stream.sse")
    assert [b["type"] for b in doc["blocks"]] == ["thinking", "server_tool_use", "web_search_tool_result", "text",
                                                  "text"]
    assert doc["blocks"][1]["input"] == {"query": "boiling point of water at 3000 m"}
    assert doc["blocks"][3] == {"type": "text", "text": "At 3,000 m water boils at about 90 °C.",
                                "citations": [{"url": "https://physics.example.org/boiling-altitude",
                                               "title": "Boiling point of water and altitude"}]}
    assert doc["blocks"][4] == {"type": "text", "text": " Pasta takes a little longer there."}  # index keeps apart


def test_error_event_keeps_earlier_blocks():
    doc = fixture("stream-error-overloaded.sse")
    assert (doc["status"], doc["finish"]) == ("error", "error")
    assert doc["error"] == {"type": "overloaded_error", "message": "Overloaded"}
    assert doc["blocks"] == [{"type": "text", "text": "Here is the outline you asked for:\n\n1. Introduction\n2. Methods"}]


def test_truncated_stream_is_incomplete():
    doc = fixture("stream-truncated.sse")
    assert (doc["status"], doc["finish"]) == ("incomplete", None)
    assert doc["blocks"][0]["text"].endswith("evaporation, condensation,")


def test_fold_returns_visible_deltas():
    acc_folder = StreamFolder(api=API)
    acc_folder.feed_json({"type": "message_start", "message": {"model": "m", "id": "x", "usage": {}}})
    acc_folder.feed_json({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking",
                                                                                       "thinking": ""}})
    assert acc_folder.feed_json({"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "thinking_delta", "thinking": "hm"}}) == [("thinking", "hm")]
    assert acc_folder.feed_json({"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "signature_delta", "signature": "sig"}}) == []
    assert acc_folder.feed_json({"type": "content_block_delta", "index": 1,
                                 "delta": {"type": "text_delta", "text": "Hi"}}) == [("text", "Hi")]


# -- the provider corpus --------------------------------------------------------------------------------------

CORPUS_FILES = sorted(CORPUS.iterdir()) if CORPUS.is_dir() else []


@pytest.mark.skipif(not CORPUS_FILES, reason="provider corpus not found at ../shared/provider-corpus")
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_corpus_file_normalizes(path):
    if path.name.startswith("complete-"):
        obj = orjson.loads(path.read_bytes())
        assert not wire.detect(obj)  # a legacy completion takes the generic json path
        return
    doc = load(path)
    expected = "error" if path.name.startswith("error-") else "ok"
    assert doc["status"] == expected
    if expected == "ok":
        assert doc["finish"] in {"stop", "length", "tool_call", "refusal", "pause"}
        assert doc["model"] and doc["id"]
    text = orjson.dumps(doc).decode()
    assert '"signature"' not in text and "encrypted_content" not in text


@pytest.mark.skipif(not CORPUS_FILES, reason="provider corpus not found at ../shared/provider-corpus")
def test_corpus_stream_citations_attach_to_their_text():
    doc = load(CORPUS / "stream-web_search-server_tool_use-citations.sse")
    cited = [b for b in doc["blocks"] if b.get("citations")]
    assert cited and cited[0]["text"].startswith("Today (November 15, 2025)")
    assert cited[0]["citations"][0]["url"] == "https://www.wunderground.com/hourly/us/ca/san-francisco"
