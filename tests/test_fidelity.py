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
