"""Mistral on the openai.chat wire: magistral's content arrays (`text` chunks and `thinking` chunks holding a list
of text chunks), in bodies and in stream deltas, and the vendor they mark."""

from __future__ import annotations

from pathlib import Path

import pytest

from aimux_cli import streams
from aimux_cli.inputs import Source
from aimux_cli.prettify import normalize
from aimux_cli.wire import StreamFolder, canonical, parse_body

from wire_support import load_document, without_ids

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "mistral"
CORPUS = ROOT.parent / "shared" / "provider-corpus" / "mistral"
API = "openai.chat"


def fixture(name: str) -> dict:
    return load_document(FIXTURES / name, None)


def test_body_thinking_chunks_become_thinking_and_text_chunks_text():
    doc = fixture("magistral-thinking.json")
    assert (doc["api"], doc["provider"], doc["finish"]) == (API, "mistral", "stop")
    assert doc["blocks"] == [
        {"type": "thinking", "text": "The user asks for the boiling point of water at sea level. That is 100 °C, "
                                     "or 212 °F."},
        {"type": "text", "text": "Water boils at 100 °C (212 °F) at sea level."},
    ]


def test_stream_and_body_agree():
    whole, streamed = fixture("magistral-thinking.json"), fixture("magistral-thinking-stream.sse")
    assert streamed["status"] == "ok"
    assert without_ids(whole) == without_ids(streamed)


def test_stream_deltas_follow_as_thinking_then_text():
    folder = StreamFolder()
    deltas = []
    _, events = streams.iter_events((FIXTURES / "magistral-thinking-stream.sse").read_bytes())
    for event in events:
        deltas += folder.feed_sse(event.data, event.event)
    assert [kind for kind, _ in deltas] == ["thinking"] * 4 + ["text"] * 3


def test_several_text_chunks_of_one_thinking_chunk_are_one_block():
    thinking = [{"type": "text", "text": "First, "}, {"type": "text", "text": "then."}]
    body = {"object": "chat.completion", "model": "magistral-small-2509", "choices": [{
            "index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": [
                {"type": "thinking", "thinking": thinking, "closed": True},
                {"type": "reference", "reference_ids": [1, 2]},
                {"type": "text", "text": "Done."}]}}]}
    doc = parse_body(body).to_dict()
    assert doc["provider"] == "mistral"
    assert doc["blocks"] == [{"type": "thinking", "text": "First, then."},
                             {"type": "reference", "reference_ids": [1, 2]}, {"type": "text", "text": "Done."}]


def test_plain_text_parts_do_not_mark_mistral():
    body = {"object": "chat.completion", "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"content": [{"type": "text", "text": "Hi"}]}}]}
    assert parse_body(body).provider == "openai"


def test_wire_alias():
    assert canonical("mistral") == API


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"provider corpus not found at {CORPUS}")
@pytest.mark.parametrize("rel", ["chat-magistral-thinking-content-array.json",
                                 "chat-stream-magistral-thinking-chunks.sse"])
def test_recorded_magistral_answers_of_the_corpus(rel):
    doc = normalize(Source(rel, (CORPUS / rel).read_bytes())).document
    assert (doc.api, doc.provider, doc.status, doc.finish) == (API, "mistral", "ok", "stop")
    assert [b["type"] for b in doc.blocks] == ["thinking", "text"]
