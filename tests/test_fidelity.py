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


# -- item 9: content-filter results ------------------------------------------------------------------------------

def _safety(doc: dict) -> list[dict]:
    return doc.get("safety", [])


def test_azure_filter_results_are_kept_as_safety():
    doc = doc_of("azure/chat-content-filter.json")
    safety = _safety(doc)
    assert [e["scope"] for e in safety] == ["prompt"] * 5 + ["output"] * 6
    assert {"scope": "prompt", "category": "jailbreak", "detected": False, "filtered": False} in safety
    assert {"scope": "prompt", "category": "hate", "severity": "safe", "filtered": False} in safety
    assert {"scope": "output", "category": "violence", "severity": "medium", "filtered": True} in safety


def test_azure_stream_and_body_agree_on_safety():
    # the stream rates each segment (violence safe, then low, then filtered medium): merged, it is the body's
    body = doc_of("azure/chat-content-filter.json")
    stream = doc_of("azure/chat-content-filter-stream.sse")
    assert without_ids(body) == without_ids(stream)


def test_gemini_safety_ratings_and_prompt_feedback_are_kept():
    doc = doc_of("gemini/safety-ratings-low.json")
    safety = _safety(doc)
    assert safety[0] == {"scope": "prompt", "category": "HARM_CATEGORY_SEXUALLY_EXPLICIT",
                         "probability": "NEGLIGIBLE", "filtered": False}
    assert {"scope": "output", "category": "HARM_CATEGORY_HARASSMENT", "probability": "LOW",
            "filtered": False} in safety
    assert len(safety) == 8
    blocked = _safety(doc_of("gemini/safety.json"))
    assert {"scope": "output", "category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH",
            "filtered": True} in blocked


def test_gemini_stream_and_body_agree_on_safety():
    body = doc_of("gemini/safety-ratings-low.json")
    stream = doc_of("gemini/safety-ratings-low-stream.sse")
    assert without_ids(body) == without_ids(stream)


def test_vertex_scores_and_severity_and_several_candidates():
    from aimux_cli.wire import parse_body

    rating = {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "LOW", "probabilityScore": 0.21,
              "severity": "HARM_SEVERITY_NEGLIGIBLE", "severityScore": 0.07}
    doc = parse_body({"candidates": [
        {"content": {"parts": [{"text": "a"}]}, "finishReason": "STOP", "safetyRatings": [rating]},
        {"content": {"parts": [{"text": "b"}]}, "finishReason": "STOP", "index": 1, "safetyRatings": [rating]},
    ]}).to_dict()
    assert doc["safety"] == [
        {"scope": "output", "choice": 0, "category": "HARM_CATEGORY_HATE_SPEECH", "probability": "LOW",
         "probability_score": 0.21, "severity": "HARM_SEVERITY_NEGLIGIBLE", "severity_score": 0.07,
         "filtered": False},
        {"scope": "output", "choice": 1, "category": "HARM_CATEGORY_HATE_SPEECH", "probability": "LOW",
         "probability_score": 0.21, "severity": "HARM_SEVERITY_NEGLIGIBLE", "severity_score": 0.07,
         "filtered": False},
    ]


def test_azure_extra_fields_and_a_filter_error_are_kept():
    from aimux_cli.wire import parse_body

    doc = parse_body({"object": "chat.completion", "choices": [{"index": 0, "finish_reason": "stop",
        "message": {"content": "x"}, "content_filter_results": {
            "protected_material_code": {"filtered": False, "detected": True,
                                        "citation": {"URL": "https://github.com/example/repo", "license": "MIT"}},
            "custom_blocklists": {"filtered": False, "details": []},
            "error": {"code": "content_filter_error", "message": "The contents are not filtered"}}}]}).to_dict()
    assert doc["safety"] == [
        {"scope": "output", "category": "protected_material_code", "detected": True, "filtered": False,
         "citation": {"URL": "https://github.com/example/repo", "license": "MIT"}},
        {"scope": "output", "category": "custom_blocklists", "filtered": False},
        {"scope": "output", "category": "error", "filtered": False, "code": "content_filter_error",
         "message": "The contents are not filtered"},
    ]


def test_only_notable_safety_is_shown():
    from aimux_cli.render.text import safety_notes

    assert safety_notes(doc_of("azure/chat-filter-results.json")) == []  # all safe: nothing on screen
    assert safety_notes(doc_of("azure/chat-content-filter.json")) == [
        "content filter: output violence medium, filtered"]
    assert safety_notes(doc_of("gemini/safety-ratings-low.json")) == [
        "content filter: output HARM_CATEGORY_HARASSMENT LOW"]
    assert safety_notes(doc_of("gemini/wire-prompt-blocked.json")) == [
        "content filter: prompt HARM_CATEGORY_DANGEROUS_CONTENT HIGH"]


def test_text_format_says_on_stderr_that_the_answer_was_filtered():
    result = aimux("prettify", "-f", "text", str(FIX / "azure/chat-content-filter.json"))
    assert result.returncode == 0
    assert result.stdout == b"The battle scene opens at dawn, and the first\n"
    assert b"content filter: output violence medium, filtered" in result.stderr
    quiet = aimux("prettify", "-f", "text", str(FIX / "azure/chat-filter-results.json"))
    assert b"content filter" not in quiet.stderr


def test_a_streamed_call_cut_mid_argument_keeps_what_arrived():
    # no end marker and no finishReason: the document still has every piece of the argument that arrived
    blocks = _fold_parts(
        {"functionCall": {"name": "write_file", "willContinue": True}},
        {"functionCall": {"partialArgs": [{"jsonPath": "$.path", "stringValue": "notes.md"}], "willContinue": True}},
        *({"functionCall": {"partialArgs": [{"jsonPath": "$.content", "stringValue": f"{n} ", "willContinue": True}],
                            "willContinue": True}} for n in range(2000)),
    )
    assert blocks == [{"type": "tool_call", "name": "write_file",
                       "arguments": {"path": "notes.md", "content": "".join(f"{n} " for n in range(2000))}}]


def test_provider_fields_named_like_parameters_are_kept_as_fields():
    from aimux_cli.wire import parse_body

    doc = parse_body({"object": "chat.completion", "choices": [{"index": 0, "finish_reason": "stop",
        "message": {"content": "x"},
        "content_filter_results": {"hate": {"filtered": False, "severity": "safe", "self": 1, "fields": 2}}}]})
    assert doc.safety == ({"scope": "output", "category": "hate", "severity": "safe", "filtered": False,
                           "self": 1, "fields": 2},)
