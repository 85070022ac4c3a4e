"""The legacy text-completion wires: OpenAI Completions (`text_completion`) and Anthropic Text Completions
(`type: completion`): detection, fixtures, body/stream agreement, choices, errors and cut streams."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from aimux_cli.inputs import Source
from aimux_cli.prettify import normalize
from aimux_cli.wire import StreamFolder, canonical, detect, parse_body
from aimux_cli.wire import anthropic_complete, openai_completions

from wire_support import fold_sse, load_document, without_ids

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
CORPUS = ROOT.parent / "shared" / "provider-corpus"


def fixture(name: str, api: str | None = None) -> dict:
    return load_document(FIXTURES / name, api)





# -- detection ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("obj", "api"), [
    ({"object": "text_completion", "choices": [{"text": "hi", "index": 0}]}, "openai.completions"),
    ({"id": "c", "choices": [{"text": "hi", "index": 0, "finish_reason": None}]}, "openai.completions"),  # no object
    ({"object": "chat.completion", "choices": [{"message": {"content": "hi"}}]}, "openai.chat"),
    ({"choices": [{"text": "hi", "delta": {"content": "hi"}}]}, "openai.chat"),
    ({"type": "completion", "completion": " Hi", "stop_reason": None}, "anthropic.complete"),
    ({"type": "message", "role": "assistant", "content": []}, "anthropic.messages"),
    ({"type": "completion"}, None),  # no completion text: not a legacy completion
    ({"choices": [{"text": "hi"}], "object": "list"}, None),
])
def test_detection(obj, api):
    assert detect(obj) == api


@pytest.mark.parametrize("obj", [{"choices": "x"}, {"choices": [[1]]}, {"object": ["text_completion"]}, [], 3])
def test_detection_never_raises(obj):
    assert not openai_completions.detect(obj) and not anthropic_complete.detect(obj)


def test_wire_names():
    assert canonical("completions") == "openai.completions"
    assert canonical("complete") == "anthropic.complete"


# -- OpenAI legacy completions --------------------------------------------------------------------------------

def test_recorded_body_cut_by_length():
    doc = fixture("openai-completions/recorded-length.json")
    assert (doc["api"], doc["provider"], doc["model"], doc["status"], doc["finish"]) == \
        ("openai.completions", "openai", "davinci-002", "ok", "length")
    assert doc["blocks"] == [{"type": "text", "text": "-go library\nS-dmssea 2020-08-13: How"}]
    assert doc["usage"] == {"input_tokens": 8, "output_tokens": 16, "total_tokens": 24}


def test_completion_stream_and_body_agree():
    whole, streamed = fixture("openai-completions/text.json"), fixture("openai-completions/text-stream.sse")
    assert streamed["status"] == "ok" and streamed["usage"] == whole["usage"]
    assert without_ids(whole) == without_ids(streamed)


def test_completion_stream_deltas_are_text():
    doc, deltas = fold_sse((FIXTURES / "openai-completions/text-stream.sse").read_bytes())
    assert {kind for kind, _ in deltas} == {"text"}
    assert "".join(text for _, text in deltas) == doc["blocks"][0]["text"]


def test_choices_and_logprobs_never_copied():
    doc = fixture("openai-completions/n2-logprobs.json")
    assert [(c["index"], c["finish"], c["blocks"][0]["text"]) for c in doc["choices"]] == \
        [(0, "stop", " Blue."), (1, "length", " The sky is")]
    assert b"logprob" not in orjson.dumps(doc) and b"text_offset" not in orjson.dumps(doc)


def test_completion_stream_cut_is_incomplete():
    data = (FIXTURES / "openai-completions/text-stream.sse").read_bytes()
    doc, _ = fold_sse(data[:data.index(b'"finish_reason":"stop"')].rsplit(b"\n\n", 1)[0] + b"\n\n")
    assert doc["status"] == "incomplete"


def test_completion_error_event_keeps_the_text():
    folder = StreamFolder()
    folder.feed_sse('{"id": "c", "object": "text_completion", "choices": [{"text": "Half", "index": 0}]}')
    folder.feed_sse('{"error": {"message": "The server had an error", "type": "server_error", "code": null}}')
    doc = folder.document().to_dict()
    assert doc["api"] == "openai.completions" and doc["status"] == "error"
    assert doc["blocks"][0]["text"] == "Half" and doc["error"]["type"] == "server_error"


# -- Anthropic legacy text completions ------------------------------------------------------------------------

def test_anthropic_complete_body():
    doc = fixture("anthropic/complete-stop-sequence.json")
    assert (doc["api"], doc["provider"], doc["model"], doc["status"], doc["finish"], doc["finish_raw"]) == \
        ("anthropic.complete", "anthropic", "claude-2.1", "ok", "stop", "stop_sequence")
    assert doc["stop_sequence"] == "\n\nHuman:"
    assert doc["blocks"] == [{"type": "text", "text": " Paris is the capital of France."}]
    assert "usage" not in doc


def test_anthropic_complete_stream_and_body_agree():
    whole = fixture("anthropic/complete-stop-sequence.json")
    streamed, deltas = fold_sse((FIXTURES / "anthropic/complete-stop-sequence-stream.sse").read_bytes())
    assert without_ids(whole) == without_ids(streamed)
    assert [text for _, text in deltas] == [" Paris", " is the", " capital of", " France."]


def test_anthropic_complete_stream_error_keeps_the_text():
    doc = fixture("anthropic/complete-stream-error.sse")
    assert (doc["status"], doc["finish"]) == ("error", "error")
    assert doc["blocks"][0]["text"] == " Once upon a time"
    assert doc["error"] == {"type": "overloaded_error", "message": "Overloaded"}


def test_anthropic_complete_stream_without_stop_reason_is_incomplete():
    data = (FIXTURES / "anthropic/complete-stop-sequence-stream.sse").read_bytes()
    doc, _ = fold_sse(data[:data.rindex(b"event: completion")])
    assert doc["status"] == "incomplete" and doc["finish"] is None


def test_anthropic_complete_body_with_max_tokens():
    doc = parse_body({"type": "completion", "completion": " It was", "stop_reason": "max_tokens", "stop": None,
                      "model": "claude-2.1"}).to_dict()
    assert (doc["api"], doc["finish"], doc["finish_raw"]) == ("anthropic.complete", "length", "max_tokens")
    assert "stop_sequence" not in doc


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"provider corpus not found at {CORPUS}")
def test_recorded_anthropic_legacy_body_of_the_corpus():
    rel = "anthropic/complete-legacy-stop_sequence.json"
    doc = normalize(Source(rel, (CORPUS / rel).read_bytes())).document
    assert doc is not None and doc.api == "anthropic.complete"
    assert (doc.text(), doc.finish, doc.stop_sequence) == (" Hello!", "stop", "\n\nHuman:")
