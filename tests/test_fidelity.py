"""Document fidelity (issue 10, items 6, 9, 10, 11): what a provider reports is kept, and means what it says.

- a response the provider marks incomplete (token limit, content filter) is a complete answer: status ok, exit 0;
  only a stream cut before its terminal event is `incomplete` (exit 9);
- content-filter results (Gemini safetyRatings / promptFeedback, Azure content_filter_results /
  prompt_filter_results) are kept as `safety`, and shown when notable;
- Gemini's streamed function-call arguments (partialArgs / willContinue) fold into whole calls;
- Perplexity's top-level citations / search_results become citations of the answer; Together's
  usage.cached_tokens is cache_read_tokens.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from wire_support import load_document, without_ids

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "fixtures"


def doc_of(rel: str, api: str | None = None) -> dict:
    return load_document(FIX / rel, api)  # api None: detected from the first value


def aimux(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    return subprocess.run([sys.executable, "-m", "aimux_cli", *args], capture_output=True, cwd=ROOT,
                          env={**env, "COLUMNS": "100"}, timeout=300)


# -- item 6: provider-marked incomplete is not a cut stream ------------------------------------------------------

def test_responses_incomplete_stream_and_body_agree():
    body = doc_of("openai-responses/incomplete-max-output-tokens.json", "openai.responses")
    stream = doc_of("openai-responses/stream-incomplete-max-output-tokens.sse", "openai.responses")
    assert without_ids(body) == without_ids(stream)
    assert (stream["status"], stream["finish"], stream["finish_raw"]) == ("ok", "length", "max_output_tokens")


@pytest.mark.parametrize("rel", ["openai-responses/incomplete-max-output-tokens.json",
                                 "openai-responses/stream-incomplete-max-output-tokens.sse"])
def test_responses_incomplete_exits_0_without_the_truncation_message(rel):
    result = aimux("prettify", "-f", "json", str(FIX / rel))
    assert result.returncode == 0, result.stderr
    assert b"terminal event" not in result.stderr
    doc = orjson.loads(result.stdout)
    assert (doc["status"], doc["finish"]) == ("ok", "length")


def test_a_cut_responses_stream_still_exits_9():
    result = aimux("prettify", "-f", "json", str(FIX / "openai-responses/stream-truncated.sse"))
    assert result.returncode == 9
    assert b"terminal event" in result.stderr
    assert orjson.loads(result.stdout)["status"] == "incomplete"


# -- item 11: Perplexity sources, Together cache reads -------------------------------------------------------------

PERPLEXITY_CITES = [
    {"url": "https://science.nasa.gov/mission/webb/", "title": "James Webb Space Telescope - NASA Science"},
    {"url": "https://www.esa.int/Science_Exploration/Space_Science/Webb", "title": "ESA - Webb"},
    {"url": "https://en.wikipedia.org/wiki/James_Webb_Space_Telescope",
     "title": "James Webb Space Telescope - Wikipedia"},
    {"url": "https://webbtelescope.org/news/journey-to-l2", "title": "Webb's journey to L2 explained"},
]


@pytest.mark.parametrize("rel", ["perplexity/chat-citations-search-results.json",
                                 "perplexity/chat-citations-search-results-stream.sse"])
def test_perplexity_citations_and_search_results_are_the_answers_citations(rel):
    doc = doc_of(rel)
    assert doc["provider"] == "perplexity"
    assert [b["type"] for b in doc["blocks"]] == ["text"]
    # citations order, titles from search_results, then the search result that was not cited; each URL once
    assert doc["blocks"][0]["citations"] == PERPLEXITY_CITES


def test_perplexity_stream_and_body_agree():
    body = doc_of("perplexity/chat-citations-search-results.json")
    stream = doc_of("perplexity/chat-citations-search-results-stream.sse")
    assert without_ids(body) == without_ids(stream)


def test_sources_that_arrive_before_the_text_wait_for_it():
    from aimux_cli.document import Accumulator
    from aimux_cli.wire import openai_chat

    acc = Accumulator("openai.chat")
    head = {"object": "chat.completion.chunk", "citations": ["https://a.example/"],
            "search_results": [{"url": "https://a.example/", "title": "A"}]}
    openai_chat.fold(acc, {**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}, None)
    openai_chat.fold(acc, {"object": "chat.completion.chunk",
                           "choices": [{"index": 0, "delta": {"content": "Answer [1]."}}]}, None)
    openai_chat.fold(acc, {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}, None)
    acc.mark_terminal()
    assert acc.document().blocks == ({"type": "text", "text": "Answer [1].",
                                      "citations": [{"url": "https://a.example/", "title": "A"}]},)


def test_together_cached_tokens_are_cache_reads():
    doc = doc_of("together/chat-cached-tokens.json")
    assert doc["usage"] == {"input_tokens": 1862, "output_tokens": 27, "total_tokens": 1889,
                            "cache_read_tokens": 1792}
    assert (doc["finish"], doc["finish_raw"]) == ("stop", "eos")


# -- item 10: Gemini streamed function-call arguments -------------------------------------------------------------

GEMINI3_CALLS = [
    {"type": "tool_call", "name": "get_weather", "arguments": {"city": "Lisbon", "date": "2026-12-04", "unit": "celsius"}},
    {"type": "tool_call", "name": "get_weather", "arguments": {"city": "Porto", "date": "2026-12-05", "unit": "celsius"}},
    {"type": "tool_call", "name": "find_restaurants",
     "arguments": {"city": "Lisbon", "cuisine": "seafood", "max_results": 3, "open_now": False}},
    {"type": "tool_call", "name": "create_reminder",
     "arguments": {"title": "Pack an umbrella and a warm jacket", "when": {"date": "2026-12-03", "time": "20:00"},
                   "tags": ["travel", "weather"], "note": None}},
]


def test_gemini_streamed_function_call_arguments_fold_into_whole_calls():
    doc = doc_of("gemini/vertex-stream-function-call-arguments-gemini3.sse")
    assert (doc["status"], doc["finish"]) == ("ok", "tool_call")
    assert doc["blocks"][1:] == GEMINI3_CALLS
    assert doc["blocks"][0]["type"] == "text"


def test_gemini_streamed_function_call_arguments_stream_and_body_agree():
    body = doc_of("gemini/vertex-function-calls-gemini3.json")
    stream = doc_of("gemini/vertex-stream-function-call-arguments-gemini3.sse")
    assert without_ids(body) == without_ids(stream)
    assert b"thoughtSignature" not in orjson.dumps(stream) and b"CiQB0e2K" not in orjson.dumps(stream)


def _fold_parts(*parts: dict) -> list[dict]:
    from aimux_cli.document import Accumulator
    from aimux_cli.wire import gemini

    acc = Accumulator("gemini.generate")
    for part in parts:
        gemini.fold(acc, {"candidates": [{"content": {"role": "model", "parts": [part]}}]}, None)
    return list(acc.document().blocks)


def test_streamed_call_pieces_repeating_name_and_id_stay_one_call():
    blocks = _fold_parts(
        {"functionCall": {"name": "lookup", "id": "c1", "willContinue": True,
                          "partialArgs": [{"jsonPath": "$.q", "stringValue": "San ", "willContinue": True}]}},
        {"functionCall": {"name": "lookup", "id": "c1", "partialArgs": [{"jsonPath": "$.q", "stringValue": "Jose"}]}},
        {"functionCall": {"name": "lookup", "id": "c2", "args": {"q": "Oslo"}}},
    )
    assert blocks == [{"type": "tool_call", "id": "c1", "name": "lookup", "arguments": {"q": "San Jose"}},
                      {"type": "tool_call", "id": "c2", "name": "lookup", "arguments": {"q": "Oslo"}}]


def test_streamed_call_paths_in_bracket_form_and_paths_that_cannot_be_set():
    blocks = _fold_parts(
        {"functionCall": {"name": "f", "willContinue": True}},
        {"functionCall": {"partialArgs": [{"jsonPath": "$['a b'][1]", "numberValue": 2.5},
                                          {"jsonPath": "$.n", "stringValue": "x"},
                                          {"jsonPath": "$.n.deeper", "boolValue": True},  # n is a string
                                          {"jsonPath": "$.big[99999999]", "boolValue": True},
                                          {"jsonPath": "no-dollar", "stringValue": "kept"}],
                          "willContinue": True}},
        {"functionCall": {}},
        {"functionCall": {}},  # an end marker without an open call is no call either
    )
    assert blocks == [{"type": "tool_call", "name": "f", "arguments": {
        "a b": [None, 2.5], "n": "x", "$.n.deeper": True, "$.big[99999999]": True, "no-dollar": "kept"}}]
