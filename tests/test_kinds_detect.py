"""The other kinds (aimux_cli/kinds) never take a chat response: every chat fixture and corpus file stays a chat
document; the kinds are not even imported for the usual chat input. Also the Rich view of Cohere's billed units."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from aimux_cli import kinds
from aimux_cli.inputs import Source
from aimux_cli.prettify import normalize

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
CORPUS = ROOT.parent / "shared" / "provider-corpus"
OTHER_KINDS = ("embeddings", "models", "batch")
SUFFIXES = (".json", ".sse", ".ndjson", ".eventstream")
CHAT = sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*") if p.suffix in SUFFIXES
              and p.relative_to(FIXTURES).parts[0] not in (*OTHER_KINDS, "generic", "hostile"))
CORPUS_FILES = sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.suffix in SUFFIXES) \
    if CORPUS.is_dir() else []


@pytest.mark.parametrize("rel", CHAT)
def test_chat_fixtures_stay_chat(rel):
    outcome = normalize(Source(rel, (FIXTURES / rel).read_bytes()))
    assert getattr(outcome.document, "kind", None) is None  # a chat document, or the generic path as before


@pytest.mark.skipif(not CORPUS_FILES, reason=f"provider corpus not found at {CORPUS}")
@pytest.mark.parametrize("rel", CORPUS_FILES or ["<none>"])
def test_corpus_stays_chat(rel):
    outcome = normalize(Source(rel, (CORPUS / rel).read_bytes()))
    assert getattr(outcome.document, "kind", None) is None


@pytest.mark.parametrize("value", [None, 1, "x", [], [1], {}, {"data": None}, {"object": "list", "data": [None]},
                                   {"embeddings": [None]}, {"embedding": 5}, {"models": [{"name": 5}]},
                                   {"custom_id": 5, "response": {}}, {"custom_id": "a", "result": []},
                                   {"embeddings": {"float": 3}}, {"modelSummaries": [5]}, [{"object": "model"}]])
def test_detection_never_raises(value):
    assert kinds.detect(value) is None
    assert kinds.from_body(value) is None


def test_a_chat_body_does_not_import_the_kinds():
    code = ("import sys; from aimux_cli.commands.prettify import run, PrettifyOptions; "
            f"run(PrettifyOptions(files=[{str(FIXTURES / 'openai' / 'chat-text.json')!r}], fmt='toon')); "
            "sys.stdout.flush(); print('kinds' in ' '.join(sys.modules), file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stderr.strip() == "False"


def test_cohere_billed_units_read_as_units():
    """Regression: the Rich header printed Cohere's cost as raw JSON ({"billed_units":{...}})."""
    from aimux_cli.render.rich_view import cost_text

    doc = {"provider": "cohere", "cost": {"billed_units": {"input_tokens": 7, "output_tokens": 1088}}}
    assert cost_text(doc) == "billed 7 input tokens · 1,088 output tokens"
    assert cost_text({"provider": "x", "cost": {"billed_units": {}}}) == '{"billed_units":{}}'


@pytest.mark.parametrize("rel", sorted(str(p.relative_to(FIXTURES)) for kind in OTHER_KINDS
                                       for p in (FIXTURES / kind).iterdir()))
def test_json_in_pieces_is_the_whole_document(rel):
    """-f json of another kind is written a list element at a time (memory); the text is that of the whole."""
    from aimux_cli.jsondump import dumps

    doc = normalize(Source(rel, (FIXTURES / rel).read_bytes())).document
    pieces = list(doc.json_pieces())
    assert "".join(pieces) == dumps(doc.to_dict(vectors=True), 2) + "\n"
    assert len(pieces) > 2
