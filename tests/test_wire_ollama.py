"""Ollama wires (/api/chat and /api/generate): project fixtures, body/stream agreement, and the provider corpus."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from aimux_cli.wire import StreamFolder, parse_body
from aimux_cli.wire import ollama, ollama_generate

from wire_support import load_document, without_ids

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "ollama"
CORPUS = ROOT.parent / "shared" / "provider-corpus" / "ollama"
CHAT, GENERATE = "ollama.chat", "ollama.generate"


def api_of(obj: dict) -> str:
    # the order of aimux_cli.wire's detection: generate before chat
    return GENERATE if ollama_generate.detect(obj) else CHAT


def load(path: Path) -> dict:
    return load_document(path, api_of)


def fixture(name: str) -> dict:
    return load(FIXTURES / name)


# -- detection ------------------------------------------------------------------------------------------------

def test_detect_tells_chat_from_generate():
    chat = {"model": "m", "message": {"role": "assistant", "content": "x"}, "done": False}
    generate = {"model": "m", "response": "x", "done": False}
    assert ollama.detect(chat) and not ollama_generate.detect(chat)
    assert ollama_generate.detect(generate) and not ollama.detect(generate)


def test_plain_error_body_is_chat():
    assert ollama.detect({"error": "model 'x' not found"})
    assert not ollama_generate.detect({"error": "model 'x' not found"})


@pytest.mark.parametrize("obj", [
    {"error": {"message": "bad key", "type": "invalid_request_error"}},  # OpenAI-shaped: an object
    {"object": "chat.completion", "choices": [{"message": {"content": "x"}}]},
    {"message": "no done flag"},
])
def test_detect_rejects_other_shapes(obj):
    assert not ollama.detect(obj) and not ollama_generate.detect(obj)


# -- chat -----------------------------------------------------------------------------------------------------

def test_chat_body():
    doc = fixture("chat.json")
    assert (doc["api"], doc["provider"], doc["model"], doc["status"], doc["finish"], doc["finish_raw"]) == \
        (CHAT, "ollama", "llama3.2:3b", "ok", "stop", "stop")
    assert "id" not in doc
    assert doc["blocks"][0]["text"].startswith("Rainbows form when sunlight enters raindrops")
    assert doc["usage"] == {"input_tokens": 31, "output_tokens": 44}  # no total: Ollama reports none
    assert doc["timing"] == {"load_s": 0.041283917, "prompt_s": 0.096514, "completion_s": 2.031402,
                             "total_s": 2.184630125}


def test_chat_thinking_and_parallel_tool_calls():
    doc = fixture("chat-thinking-tool-calls.json")
    assert (doc["finish"], doc["finish_raw"]) == ("tool_call", "stop")
    assert doc["blocks"] == [
        {"type": "thinking", "text": "The user wants the weather in Paris and in Rome. I can call get_weather twice, "
                                     "once per city, and then compare."},
        {"type": "tool_call", "name": "get_weather", "arguments": {"city": "Paris"}},
        {"type": "tool_call", "name": "get_weather", "arguments": {"city": "Rome"}},
    ]  # no id in Ollama's calls: none is invented
    assert doc["usage"] == {"input_tokens": 212, "output_tokens": 71}


def test_chat_error_body():
    doc = fixture("error-model-not-found.json")
    assert (doc["api"], doc["status"], doc["finish"]) == (CHAT, "error", "error")
    assert doc["error"] == {"message": "model 'llama9:70b' not found"}


def test_chat_error_takes_the_transport_status():
    doc = parse_body({"error": "model 'llama9:70b' not found"}, api=CHAT, http_status=404).to_dict()
    assert doc["error"] == {"status": 404, "message": "model 'llama9:70b' not found"}


@pytest.mark.parametrize("body, stream", [
    ("chat.json", "chat-stream.ndjson"),
    ("chat-thinking-tool-calls.json", "wire-chat-thinking-tool-calls-stream.ndjson"),
    ("generate.json", "generate-stream.ndjson"),
])
def test_stream_and_body_give_the_same_document(body, stream):
    streamed = fixture(stream)
    assert streamed["status"] == "ok"
    assert without_ids(fixture(body)) == without_ids(streamed)


def test_stream_without_done_is_incomplete():
    doc = fixture("chat-stream-truncated.ndjson")
    assert (doc["status"], doc["finish"]) == ("incomplete", None)
    assert doc["blocks"][0]["text"].startswith("The three primary colours of light are red, green and")
    assert "usage" not in doc and "timing" not in doc


def test_error_line_in_stream_keeps_earlier_text():
    doc = fixture("wire-chat-stream-error.ndjson")
    assert (doc["api"], doc["status"], doc["finish"]) == (CHAT, "error", "error")
    assert doc["error"] == {"message": "an error was encountered while running the model: unexpected EOF"}
    assert doc["blocks"] == [{"type": "text", "text": "Photosynthesis turns light into"}]


def test_body_not_done_is_incomplete():
    doc = parse_body({"model": "m", "message": {"role": "assistant", "content": "Hi"}, "done": False},
                     api=CHAT).to_dict()
    assert doc["status"] == "incomplete"


# -- generate -------------------------------------------------------------------------------------------------

def test_generate_body():
    doc = fixture("generate.json")
    assert (doc["api"], doc["status"], doc["finish"], doc["finish_raw"]) == (GENERATE, "ok", "stop", "stop")
    assert doc["blocks"] == [{"type": "text", "text": "Why do programmers prefer dark mode? Because light attracts "
                                                      "bugs."}]
    assert doc["usage"] == {"input_tokens": 14, "output_tokens": 15}
    assert doc["timing"]["total_s"] == 0.912044583
    assert "context" not in orjson.dumps(doc).decode()


def test_generate_thinking_stream():
    doc = fixture("wire-generate-thinking-stream.ndjson")
    assert (doc["status"], doc["finish"], doc["finish_raw"]) == ("ok", "length", "length")
    assert doc["blocks"] == [{"type": "thinking", "text": "Seventeen has no divisors other than 1 and itself."},
                             {"type": "text", "text": "Yes, 17 is prime."}]
    assert doc["usage"] == {"input_tokens": 12, "output_tokens": 9}


def test_fold_returns_visible_deltas():
    folder = StreamFolder(api=GENERATE)
    assert folder.feed_json({"model": "m", "response": "", "thinking": "hm", "done": False}) == [("thinking", "hm")]
    assert folder.feed_json({"model": "m", "response": "Hi", "done": False}) == [("text", "Hi")]
    assert folder.feed_json({"model": "m", "response": "", "done": True, "done_reason": "stop"}) == []
    assert folder.document().status == "ok"


# -- the provider corpus --------------------------------------------------------------------------------------

CORPUS_FILES = sorted(p for p in CORPUS.iterdir() if not p.name.startswith("v1-")) if CORPUS.is_dir() else []


@pytest.mark.skipif(not CORPUS_FILES, reason="provider corpus not found at ../shared/provider-corpus")
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_corpus_file_normalizes(path):
    doc = load(path)
    assert doc["api"] == (GENERATE if "generate" in path.name else CHAT)
    if "error" in path.name:
        assert (doc["status"], doc["finish"]) == ("error", "error")
        assert doc["error"]["message"] == "an error was encountered while running the model"
        assert doc["blocks"][0]["text"] == " Yes.Ican"
        return
    assert (doc["status"], doc["finish_raw"]) == ("ok", "stop")
    assert doc["usage"]["input_tokens"] == 17 or doc["usage"]["input_tokens"] == 169
    assert set(doc["timing"]) == {"load_s", "prompt_s", "completion_s", "total_s"}


@pytest.mark.skipif(not CORPUS_FILES, reason="provider corpus not found at ../shared/provider-corpus")
def test_corpus_v1_chat_completions_is_not_an_ollama_native_body():
    obj = orjson.loads((CORPUS / "v1-chat-completions-json_schema.json").read_bytes())
    assert not ollama.detect(obj) and not ollama_generate.detect(obj)  # Ollama's /v1 speaks openai.chat
