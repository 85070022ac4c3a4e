"""Every real recorded response of ../shared/provider-corpus normalizes, and streams agree with bodies.

The corpus is third-party material read in place (never copied into the project); the tests skip with a reason
when it is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aimux_cli.inputs import Source
from aimux_cli.prettify import normalize

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "provider-corpus"
FILES = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".json", ".sse", ".ndjson")) if CORPUS.is_dir() else []
needs_corpus = pytest.mark.skipif(not FILES, reason=f"provider corpus not found at {CORPUS}")

# The generic path is right for these: they are not responses of a supported wire format. (The legacy Anthropic
# text completion was one until the anthropic.complete wire; tests/test_wire_legacy.py reads it.)
GENERIC: set[str] = set()


def _doc(rel: str):
    path = CORPUS / rel
    return normalize(Source(rel, path.read_bytes()))


@needs_corpus
@pytest.mark.parametrize("rel", [str(p.relative_to(CORPUS)) for p in FILES] or ["<none>"])
def test_every_corpus_file_normalizes(rel):
    outcome = _doc(rel)
    if rel in GENERIC:
        assert outcome.document is None and outcome.warnings
        return
    doc = outcome.document
    assert doc is not None, f"{rel} took the generic path: {outcome.warnings}"
    data = doc.to_dict()
    assert list(data)[:1] == ["api"] and "status" in data and "finish" in data
    if "/error-" in rel:
        assert doc.status == "error" and doc.finish == "error"
        assert doc.error.get("message"), data
    else:
        assert doc.status in ("ok", "incomplete", "error")
        assert doc.blocks or doc.status != "ok" or doc.finish in ("content_filter", "refusal"), data
    for block in doc.blocks:
        assert block.get("type"), block
        assert "signature" not in block and "encrypted_content" not in block and "data" not in block


def _shape(rel: str):
    doc = _doc(rel).document
    return doc.api, doc.status, doc.finish, sorted({b["type"] for b in doc.blocks})


# (body, stream) of the same kind of answer, recorded separately (so not the same text or block count): their
# documents agree on api, status, finish and the kinds of blocks.
PAIRS = [
    ("openai/chat-tool_calls-parallel-gpt-3.5.json", "openai/chat-stream-parallel-tool_calls.sse"),
    ("openai/chat-text-plain.json", "openai/chat-stream-text-usage.sse"),
    ("openai/chat-finish_reason-length.json", "openai/chat-stream-finish_reason-length.sse"),
    ("openai/chat-multiple-choices-n3.json", "openai/chat-stream-multiple-choices-n3.sse"),
    ("openai/responses-basic-text.json", "openai/responses-stream-text.sse"),
    ("openai/responses-function_call.json", "openai/responses-stream-function_call.sse"),
    ("anthropic/messages-thinking-signature.json", "anthropic/stream-thinking-signature.sse"),
    ("anthropic/messages-stop_sequence.json", "anthropic/stream-stop_sequence.sse"),
    ("anthropic/messages-redacted_thinking.json", "anthropic/stream-redacted_thinking.sse"),
    ("ollama/api-chat.json", "ollama/api-chat-stream.ndjson"),
    ("ollama/api-generate.json", "ollama/api-generate-stream.ndjson"),
    ("deepseek/chat-reasoner-reasoning_content.json", "deepseek/chat-stream-reasoning_content.sse"),
    ("gemini/generateContent-thought-parts.json", "gemini/stream-generateContent-array-thought-text.json"),
]


@needs_corpus
@pytest.mark.parametrize(("body", "stream"), PAIRS)
def test_stream_and_body_of_the_same_kind_agree(body, stream):
    assert _shape(body) == _shape(stream)
