"""OpenAI Chat Completions wire (and the OpenAI-compatible servers): detection, project fixtures, body/stream
agreement, vendor inference, error bodies, and the provider corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from aimux_cli import streams
from aimux_cli.document import Accumulator
from aimux_cli.wire import detect, parse_body
from aimux_cli.wire import openai_chat as wire

from wire_support import load_document, without_ids

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
CORPUS = ROOT.parent / "shared" / "provider-corpus"
API = "openai.chat"
# corpus directories that hold Chat Completions answers (the openai/ and openrouter/ ones also hold Responses files)
CORPUS_DIRS = ("openai", "azure-openai", "cerebras", "deepseek", "groq", "mistral", "openrouter", "together")


def load(path: Path, api: str | None = API) -> dict:
    return load_document(path, api)


def fixture(name: str) -> dict:
    return load(FIXTURES / name)


def fold_chunks(*chunks: dict, done: bool = True) -> dict:
    acc = Accumulator(API, default_provider=wire.VENDOR)
    for chunk in chunks:
        wire.fold(acc, chunk, None)
    if done:
        acc.mark_terminal()
    return acc.document().to_dict()


# -- detection ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("obj", [
    {"object": "chat.completion", "choices": []},
    {"object": "chat.completion.chunk", "choices": [], "usage": {"prompt_tokens": 1}},
    {"choices": [{"index": 0, "message": {"content": "hi"}}]},  # a server that omits `object`
    {"choices": [{"index": 0, "delta": {"content": "hi"}}]},
    {"choices": [], "object": "", "prompt_filter_results": [{"prompt_index": 0}]},  # Azure's first chunk
    {"error": {"message": "bad key", "type": "invalid_request_error", "code": "invalid_api_key"}},
    {"error": {"code": "401", "message": "Access denied"}},  # Azure
    {"error": {"code": 402, "message": "more credits"}, "user_id": "u"},  # OpenRouter
    {"object": "error", "message": "model not found", "type": "NotFoundError", "code": 404},  # vLLM
])
def test_detect_accepts_completions_chunks_and_error_bodies(obj):
    assert wire.detect(obj)


@pytest.mark.parametrize("obj", [
    {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},  # Anthropic
    {"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}},  # Gemini
    {"error": "model 'x' not found"},  # Ollama
    {"object": "text_completion", "choices": [{"text": "hi", "index": 0}]},  # legacy completions
    {"object": "response", "output": []},  # Responses
    {"type": "response.created", "response": {}},
    {"choices": "nope"},
    {"data": [1, 2]},
    [],
    "chat.completion",
])
def test_detect_rejects_other_shapes(obj):
    assert not wire.detect(obj)


def test_detection_order_gives_error_bodies_to_their_own_family():
    assert detect({"error": {"message": "bad key", "type": "invalid_request_error"}}) == API
    assert detect({"type": "error", "error": {"type": "overloaded_error", "message": "x"}}) == "anthropic.messages"


# -- project fixtures: OpenAI -----------------------------------------------------------------------------------

def test_text_body():
    doc = fixture("openai/chat-text.json")
    assert (doc["api"], doc["provider"], doc["model"]) == (API, "openai", "gpt-4o-mini-2024-07-18")
    assert doc["id"] == "chatcmpl-AmX0tides7Qp2vLrN4sK9wYzE1fB"
    assert (doc["status"], doc["finish"], doc["finish_raw"]) == ("ok", "stop", "stop")
    assert [b["type"] for b in doc["blocks"]] == ["text"]
    assert doc["blocks"][0]["text"].startswith("Tides come mostly from the Moon's gravity.")
    assert doc["blocks"][0]["text"].endswith("about every 24 hours and 50 minutes.")
    assert doc["usage"] == {"input_tokens": 24, "output_tokens": 62, "total_tokens": 86, "reasoning_tokens": 0,
                            "cache_read_tokens": 0}


@pytest.mark.parametrize(("body", "stream"), [
    ("openai/chat-text.json", "openai/chat-text-stream.sse"),
    ("openai/chat-two-tool-calls.json", "openai/chat-two-tool-calls-stream.sse"),
    ("openai/chat-n2.json", "openai/chat-n2-stream.sse"),
    ("cerebras/chat-time-info.json", "cerebras/chat-time-info-stream.sse"),
    ("groq/chat-x-groq.json", "groq/chat-x-groq-stream.sse"),
    ("openrouter/chat-cost.json", "openrouter/chat-stream-cost.sse"),
    ("deepseek/reasoner.json", "deepseek/reasoner-stream.sse"),
])
def test_stream_and_body_of_the_same_answer_agree(body, stream):
    a, b = fixture(body), fixture(stream)
    assert b["status"] == "ok"
    assert without_ids(a) == without_ids(b)


def test_two_parallel_tool_calls():
    doc = fixture("openai/chat-two-tool-calls-stream.sse")
    assert (doc["finish"], doc["finish_raw"]) == ("tool_call", "tool_calls")
    assert doc["blocks"] == [
        {"type": "tool_call", "id": "call_Qm4vT8sLx2NbR7kWc1HdEa0Z", "name": "get_current_weather",
         "arguments": {"city": "Lisbon", "country": "PT", "unit": "celsius"}},
        {"type": "tool_call", "id": "call_Zp9jY3fGu6MeK0tVb5SnCq2X", "name": "get_local_time",
         "arguments": {"timezone": "Europe/Lisbon", "format": "24h"}},
    ]
    assert doc["usage"] == {"input_tokens": 1187, "output_tokens": 214, "total_tokens": 1401,
                            "reasoning_tokens": 192, "cache_read_tokens": 1024}


def test_two_choices_each_with_its_finish():
    doc = fixture("openai/chat-n2-stream.sse")
    assert [c["index"] for c in doc["choices"]] == [0, 1]
    assert [(c["finish"], c["finish_raw"]) for c in doc["choices"]] == [("stop", "stop"), ("length", "length")]
    assert doc["choices"][0]["blocks"] == [{"type": "text",
                                            "text": "Fern Hollow Coffee: small batches, roasted on Tuesdays."}]
    assert doc["choices"][1]["blocks"][0]["text"].startswith("The Slow Kettle, a café")
    assert (doc["finish"], doc["blocks"]) == ("stop", doc["choices"][0]["blocks"])


def test_refusal_makes_stop_a_refusal():
    doc = fixture("openai/chat-refusal.json")
    assert (doc["status"], doc["finish"], doc["finish_raw"]) == ("ok", "refusal", "stop")
    assert doc["blocks"] == [{"type": "refusal",
                              "text": "I can't help with building a device meant to injure people."}]


def test_length_and_content_filter():
    length = fixture("openai/chat-length.json")
    assert (length["finish"], length["finish_raw"]) == ("length", "length")
    assert length["blocks"][0]["text"].endswith("2. Plug it back in and")
    filtered = fixture("openai/chat-content-filter.json")
    assert (filtered["status"], filtered["finish"], filtered["finish_raw"]) == ("ok", "content_filter",
                                                                                "content_filter")
    assert "blocks" not in filtered  # content null: no empty block
    assert filtered["usage"]["output_tokens"] == 0


def test_think_tags_become_a_thinking_block():
    doc = fixture("openai/chat-think-tags.json")
    assert doc["provider"] == "openai"  # reasoning_content: null without prompt_cache_hit_tokens is no DeepSeek
    assert doc["blocks"] == [
        {"type": "thinking", "text": "The user asks for 17 * 24. 17 * 20 = 340 and 17 * 4 = 68, so 340 + 68 = 408."},
        {"type": "text", "text": "17 × 24 = **408**."},
    ]


def test_error_midway_keeps_the_text_before_it():
    doc = fixture("openai/chat-stream-error-midway.sse")
    assert (doc["status"], doc["finish"]) == ("error", "error")
    assert "finish_raw" not in doc
    assert doc["blocks"][0]["text"] == "Sure. The three largest moons of Jupiter are Ganymede, Callisto and"
    assert doc["error"] == {"type": "model_error", "message": "The model produced invalid content. Consider "
                            "modifying your prompt if you are seeing this error persistently."}


def test_truncated_stream_is_incomplete():
    doc = fixture("openai/chat-stream-truncated.sse")
    assert (doc["status"], doc["finish"]) == ("incomplete", None)
    assert doc["blocks"][0]["text"].startswith("Photosynthesis turns light into chemical energy. Inside the")


@pytest.mark.parametrize(("name", "error"), [
    ("openai/error-400-invalid-request.json",
     {"type": "invalid_request_error", "code": "invalid_value",
      "message": "Invalid value for 'temperature': expected a number between 0 and 2, but got 3.5 instead."}),
    ("openai/error-401-invalid-api-key.json", {"type": "invalid_request_error", "code": "invalid_api_key"}),
    ("openai/error-429-insufficient-quota.json", {"type": "insufficient_quota", "code": "insufficient_quota"}),
    ("openai/error-500-server-error.json", {"type": "server_error"}),
    ("azure/error-401.json", {"status": 401}),
    ("azure/error-400-content-filter.json", {"status": 400, "code": "content_filter"}),
    ("openrouter/error-402-insufficient-credits.json", {"status": 402}),
    ("groq/error-401-invalid-api-key.json", {"type": "invalid_request_error", "code": "invalid_api_key",
                                             "message": "Invalid API Key"}),
    ("groq/error-429-rate-limit.json", {"type": "tokens", "code": "rate_limit_exceeded"}),
])
def test_error_bodies(name, error):
    doc = fixture(name)
    assert (doc["api"], doc["status"], doc["finish"]) == (API, "error", "error")
    assert "blocks" not in doc
    assert {k: doc["error"][k] for k in error} == error
    assert doc["error"]["message"]
    if "status" not in error:
        assert "status" not in doc["error"]  # these bodies carry no HTTP status of their own
    assert "code" not in doc["error"] or not str(doc["error"]["code"]).isdigit()


def test_transport_status_fills_the_error_status():
    kind, events = streams.iter_events((FIXTURES / "openai/error-401-invalid-api-key.json").read_bytes())
    doc = parse_body(events[0], http_status=401).to_dict()
    assert doc["error"]["status"] == 401 and doc["error"]["code"] == "invalid_api_key"


# -- project fixtures: compatible servers -----------------------------------------------------------------------

def test_cerebras_reasoning_and_time_info():
    doc = fixture("cerebras/chat-reasoning.json")
    assert doc["provider"] == "cerebras"
    assert doc["blocks"] == [
        {"type": "thinking", "text": "It leaves at 13:05 and the trip takes 95 minutes. 13:05 plus 1 hour is 14:05, "
                                     "plus 35 minutes is 14:40."},
        {"type": "text", "text": "The train arrives at 14:40."},
    ]
    assert doc["usage"]["reasoning_tokens"] == 44
    assert doc["timing"] == {"queue_s": 0.003871204, "prompt_s": 0.001944017, "completion_s": 0.028416991,
                             "total_s": 0.036004543}


def test_groq_usage_timings_from_body_and_x_groq_stream():
    body, stream = fixture("groq/chat-x-groq.json"), fixture("groq/chat-x-groq-stream.sse")
    assert body["provider"] == stream["provider"] == "groq"
    assert body["usage"] == {"input_tokens": 45, "output_tokens": 24, "total_tokens": 69}
    assert body["timing"] == {"queue_s": 0.041827713, "prompt_s": 0.00251487, "completion_s": 0.0218181818,
                              "total_s": 0.0243330518}
    assert stream["usage"] == body["usage"]


def test_groq_error_event_takes_status_code():
    doc = fixture("groq/chat-stream-error-event.sse")
    assert (doc["provider"], doc["status"], doc["finish"]) == ("groq", "error", "error")
    assert doc["blocks"][0]["text"] == 'Sure, here is the JSON you asked for: {"name": "Ada", "born":'
    assert doc["error"]["status"] == 400
    assert (doc["error"]["type"], doc["error"]["code"]) == ("invalid_request_error", "json_validate_failed")


def test_deepseek_reasoning_content_and_cache_hits():
    doc = fixture("deepseek/reasoner-stream.sse")
    assert doc["provider"] == "deepseek"
    assert [b["type"] for b in doc["blocks"]] == ["thinking", "text"]
    assert doc["blocks"][1]["text"] == 'The word "bookkeeper" contains the letter e three times.'
    assert doc["usage"] == {"input_tokens": 83, "output_tokens": 96, "total_tokens": 179, "reasoning_tokens": 71,
                            "cache_read_tokens": 64}


def test_openrouter_cost_and_native_finish_reason():
    doc = fixture("openrouter/chat-cost.json")
    assert (doc["provider"], doc["cost"], doc["finish_raw"]) == ("openrouter", 0.000364, "stop")
    null_native = fixture("openrouter/chat-native-finish-null.json")
    assert (null_native["provider"], null_native["finish"]) == ("openrouter", "stop")


def test_azure_filter_results():
    doc = fixture("azure/chat-filter-results.json")
    assert (doc["provider"], doc["finish"]) == ("azure", "stop")
    cut = fixture("azure/chat-content-filter.json")
    assert (cut["provider"], cut["finish"], cut["blocks"][0]["text"]) == (
        "azure", "content_filter", "The battle scene opens at dawn, and the first")


def test_provider_given_by_the_user_wins():
    kind, events = streams.iter_events((FIXTURES / "groq/chat-x-groq.json").read_bytes())
    assert parse_body(events[0], provider="mine").provider == "mine"


# -- edge cases folded directly -----------------------------------------------------------------------------------

def test_fold_returns_visible_deltas_in_order():
    acc = Accumulator(API)
    chunk = {"object": "chat.completion.chunk",
             "choices": [{"index": 0, "delta": {"reasoning_content": "hm", "content": "Hi", "refusal": "no"}}]}
    assert wire.fold(acc, chunk, None) == [("thinking", "hm"), ("text", "Hi"), ("refusal", "no")]
    assert wire.fold(acc, {"choices": [{"index": 0, "delta": {"content": ""}}]}, None) == []


def test_reasoning_sent_twice_under_both_names_is_not_duplicated():
    doc = fold_chunks({"choices": [{"index": 0, "delta": {"reasoning_content": "a", "reasoning": "a"}}]},
                      {"choices": [{"index": 0, "delta": {"content": "b"}, "finish_reason": "stop"}]})
    assert doc["blocks"] == [{"type": "thinking", "text": "a"}, {"type": "text", "text": "b"}]


def test_legacy_function_call_streamed():
    doc = fold_chunks(
        {"choices": [{"index": 0, "delta": {"function_call": {"name": "lookup", "arguments": ""}}}]},
        {"choices": [{"index": 0, "delta": {"function_call": {"arguments": "{\"q\": "}}}]},
        {"choices": [{"index": 0, "delta": {"function_call": {"arguments": "1}"}}, "finish_reason": "function_call"}]})
    assert doc["blocks"] == [{"type": "tool_call", "name": "lookup", "arguments": {"q": 1}}]
    assert doc["finish"] == "tool_call"


def test_tool_calls_without_index_stay_apart():
    calls = [{"id": "a", "function": {"name": "f", "arguments": "{}"}},
             {"id": "b", "function": {"name": "g", "arguments": "{\"x\": 1}"}}]
    doc = fold_chunks({"choices": [{"index": 0, "delta": {"tool_calls": calls}, "finish_reason": "tool_calls"}]})
    assert [(b["id"], b["name"], b["arguments"]) for b in doc["blocks"]] == [("a", "f", {}), ("b", "g", {"x": 1})]


def test_url_citations_and_vllm_stop_reason():
    message = {"content": "See the docs.", "annotations": [
        {"type": "url_citation", "url_citation": {"url": "https://a.example", "title": "A", "start_index": 0}}]}
    doc = fold_chunks({"object": "chat.completion", "choices": [
        {"index": 0, "message": message, "finish_reason": "stop", "stop_reason": "###"}]})
    assert doc["blocks"] == [{"type": "text", "text": "See the docs.",
                              "citations": [{"url": "https://a.example", "title": "A"}]}]
    assert doc["stop_sequence"] == "###"


def test_unknown_content_parts_are_kept_without_blobs():
    parts = [{"type": "text", "text": "Here:"},
             {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}}]
    doc = fold_chunks({"object": "chat.completion", "choices": [{"index": 0, "message": {"content": parts}}]})
    assert doc["blocks"] == [{"type": "text", "text": "Here:"}, {"type": "image_url", "image_url": {"detail": "low"}}]


def test_vllm_error_object():
    doc = parse_body({"object": "error", "message": "The model `x` does not exist.", "type": "NotFoundError",
                      "param": None, "code": 404}).to_dict()
    assert (doc["api"], doc["status"]) == (API, "error")
    assert doc["error"] == {"status": 404, "type": "NotFoundError", "message": "The model `x` does not exist."}


def test_choice_level_error_keeps_finish_raw():
    doc = fold_chunks({"choices": [{"index": 0, "delta": {"content": "partial"}, "finish_reason": "length"}]},
                      {"choices": [{"index": 0, "delta": {}, "finish_reason": "error",
                                    "error": {"code": 502, "message": "upstream died"}}]})
    assert (doc["status"], doc["finish"], doc["finish_raw"]) == ("error", "error", "error")
    assert doc["error"] == {"status": 502, "message": "upstream died"}
    assert doc["blocks"] == [{"type": "text", "text": "partial"}]


# -- provider corpus ----------------------------------------------------------------------------------------------

def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    files = [p for d in CORPUS_DIRS for p in sorted((CORPUS / d).glob("*")) if p.suffix in (".json", ".sse")]
    files += sorted((CORPUS / "ollama").glob("v1-*"))
    return [p for p in files if "responses" not in p.name]


needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"provider corpus not found at {CORPUS}")


@needs_corpus
@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_file_normalizes(path):
    doc = load(path, api=None)
    assert doc["api"] == API
    if path.name.startswith("error-"):
        assert (doc["status"], doc["finish"]) == ("error", "error")
        assert doc["error"]["message"]
    elif doc["status"] == "ok":
        assert doc["finish"] is not None or path.name == "chat-stream-tool_call-kimi-k2-novita.sse"
        assert doc.get("blocks") or doc.get("choices")
    else:
        assert doc["status"] == "error" and "-error" in path.name  # the corpus' mid-stream error streams


def corpus(name: str) -> dict:
    return load(CORPUS / name, api=None)


@needs_corpus
def test_corpus_vendor_inference():
    assert corpus("groq/chat-stream-x_groq-usage.sse")["provider"] == "groq"
    assert corpus("cerebras/chat-text-time_info.json")["provider"] == "cerebras"
    assert corpus("azure-openai/chat-stream-prompt_filter-first-chunk.sse")["provider"] == "azure"
    assert corpus("openrouter/chat-gemini-tool_calls.json")["provider"] == "openrouter"
    assert corpus("deepseek/chat-stream-reasoning_content.sse")["provider"] == "deepseek"
    assert corpus("mistral/chat-text.json")["provider"] == "openai"


@needs_corpus
def test_corpus_mistral_thinking_parts_body_and_stream():
    for name in ("mistral/chat-magistral-thinking-content-array.json",
                 "mistral/chat-stream-magistral-thinking-chunks.sse"):
        doc = corpus(name)
        assert [b["type"] for b in doc["blocks"]] == ["thinking", "text"], name
    stream = corpus("mistral/chat-stream-magistral-thinking-chunks.sse")
    assert stream["blocks"][0]["text"].startswith("Okay, the user is asking how to cross the street.")
    assert stream["blocks"][1]["text"].startswith("To cross the street safely, follow these steps")


@needs_corpus
def test_corpus_openrouter_midstream_error_keeps_reasoning_and_finish_raw():
    doc = corpus("openrouter/chat-stream-processing-comments-midstream-error.sse")
    assert (doc["status"], doc["finish"], doc["finish_raw"]) == ("error", "error", "length")
    assert doc["blocks"] == [{"type": "thinking", "text": "We need to respond to a greeting. The user"}]
    assert doc["error"] == {"status": 400, "message": "Token limit reached"}
    assert (doc["cost"], doc["usage"]["reasoning_tokens"]) == (0, 11)


@needs_corpus
def test_corpus_openrouter_encrypted_reasoning_is_redacted():
    doc = corpus("openrouter/chat-stream-reasoning-native-options.sse")
    assert doc["blocks"][0] == {"type": "thinking", "redacted": True}
    assert doc["blocks"][1]["text"].startswith("I'm Grok, an AI built by xAI.")
    assert (doc["finish_raw"], doc["cost"], doc["usage"]["cache_read_tokens"]) == ("stop", 0.00333825, 679)


@needs_corpus
def test_corpus_groq_error_event_after_reasoning():
    doc = corpus("groq/chat-stream-reasoning-channel-then-error-event.sse")
    assert (doc["status"], doc["error"]["status"], doc["error"]["code"]) == ("error", 400, "tool_use_failed")
    assert doc["blocks"][0]["type"] == "thinking" and doc["blocks"][0]["text"].startswith("We need to call the tool")
