"""prettify on embeddings responses (aimux_cli/kinds/embeddings.py): the summary document in every format, the
vectors in -f json only, hostile vectors, and memory on a large body."""

from __future__ import annotations

import base64
import json
import math
import struct
from pathlib import Path

import orjson
import pytest
import toon_format
from fuzz.harness import prettify, run_case
from kinds_support import cli

from aimux_cli.inputs import Source
from aimux_cli.prettify import normalize

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "embeddings"
FILES = sorted(p.name for p in FIX.glob("*.json"))


def _doc(name: str) -> dict:
    outcome = normalize(Source(name, (FIX / name).read_bytes()))
    assert outcome.document is not None, outcome.warnings
    return outcome.data


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("fmt", ["text", "rich"])
def test_formats(name, fmt, snapshot):
    run = cli((FIX / name).read_bytes(), fmt)
    assert run.code == 0, run.stderr
    assert run.stdout == snapshot


@pytest.mark.parametrize("name", FILES)
def test_json_keeps_the_vectors_as_sent_and_toon_never_has_them(name):
    raw = json.loads((FIX / name).read_bytes())
    as_json = json.loads(cli((FIX / name).read_bytes(), "json").stdout)
    as_toon = toon_format.decode(cli((FIX / name).read_bytes(), "toon").stdout)
    if "data" in raw:
        sent = [d["embedding"] for d in raw["data"]]
    elif isinstance(raw.get("embeddings"), dict):
        sent = raw["embeddings"]["float"]
        others = {k: v for k, v in raw["embeddings"].items() if k != "float"}
        assert as_json.get("other_vectors", {}) == others
    elif "predictions" in raw:
        sent = [p["embeddings"]["values"] for p in raw["predictions"]]
    elif "embeddings" in raw:
        sent = [e["values"] if isinstance(e, dict) else e for e in raw["embeddings"]]
    else:
        sent = [raw["embedding"]["values"] if isinstance(raw["embedding"], dict) else raw["embedding"]]
    assert as_json.pop("vectors") == sent
    as_json.pop("other_vectors", None)
    assert as_json == as_toon  # otherwise the same document
    assert "vectors" not in as_toon and len(json.dumps(as_toon)) < 1500


def test_openai_float_summary():
    doc = _doc("openai-float.json")
    assert list(doc)[:5] == ["kind", "api", "status", "provider", "model"]
    assert (doc["kind"], doc["api"], doc["provider"], doc["model"]) == \
        ("embeddings", "openai.embeddings", "openai", "text-embedding-3-small")
    assert (doc["count"], doc["dimensions"], doc["encoding"]) == (3, 16, "float")
    assert doc["usage"] == {"input_tokens": 12, "total_tokens": 12}
    raw = json.loads((FIX / "openai-float.json").read_bytes())
    for entry, item in zip(doc["embeddings"], raw["data"]):
        assert entry["index"] == item["index"]
        assert entry["norm"] == round(math.sqrt(sum(x * x for x in item["embedding"])), 6)
        assert entry["head"] == [round(x, 6) for x in item["embedding"][:3]]


def test_base64_norms_equal_the_decoded_floats():
    raw = json.loads((FIX / "openai-base64.json").read_bytes())
    doc = _doc("openai-base64.json")
    assert (doc["encoding"], doc["dimensions"]) == ("base64", 32)
    for entry, item in zip(doc["embeddings"], raw["data"]):
        data = base64.b64decode(item["embedding"])
        values = struct.unpack(f"<{len(data) // 4}f", data)
        assert entry["norm"] == round(math.sqrt(sum(x * x for x in values)), 6)


def test_many_vectors_list_five_and_count_the_rest():
    doc = _doc("openai-many.json")
    assert doc["count"] == 12 and len(doc["embeddings"]) == 5 and doc["not_shown"] == 7
    raw = json.loads((FIX / "openai-many.json").read_bytes())
    norms = [math.sqrt(sum(x * x for x in d["embedding"])) for d in raw["data"]]
    assert doc["norm"] == {"min": round(min(norms), 6), "mean": round(sum(norms) / 12, 6), "max": round(max(norms), 6)}
    text = cli((FIX / "openai-many.json").read_bytes(), "text").stdout
    assert text.splitlines()[-1] == "… and 7 more"


@pytest.mark.parametrize(("name", "api", "provider", "usage"), [
    ("gemini-batch.json", "gemini.embed", "gemini", None),
    ("gemini-single.json", "gemini.embed", "gemini", None),
    ("cohere-v2.json", "cohere.embed", "cohere", {"input_tokens": 2}),
    ("ollama-embed.json", "ollama.embed", "ollama", {"input_tokens": 8}),
    ("ollama-embeddings-legacy.json", "ollama.embeddings", "ollama", None),
    ("mistral.json", "openai.embeddings", "openai", {"input_tokens": 6, "total_tokens": 6}),
    ("vertex-predict.json", "vertex.embed", "vertex", {"input_tokens": 10}),
])
def test_other_vendors(name, api, provider, usage):
    doc = _doc(name)
    assert (doc["api"], doc["provider"], doc.get("usage")) == (api, provider, usage)
    assert doc["status"] == "ok" and "warnings" not in doc


def test_cohere_texts_cost_and_other_types():
    doc = _doc("cohere-v2.json")
    assert [e["text"] for e in doc["embeddings"]] == ["hello", "goodbye"]
    assert doc["other_encodings"] == ["int8"] and doc["cost"] == {"billed_units": {"input_tokens": 2}}


def test_provider_option_wins():
    outcome = normalize(Source("x", (FIX / "openai-float.json").read_bytes()), provider="mistral")
    assert outcome.data["provider"] == "mistral"


@pytest.mark.parametrize("vector", [["a", 1.0], [[1.0]], [None], [10**400], "not base64!", {"x": 1}, 7])
def test_a_hostile_vector_gets_no_norm_and_a_warning(vector):
    body = {"object": "list", "model": "m", "data": [{"object": "embedding", "index": 0, "embedding": [0.6, 0.8]},
                                                     {"object": "embedding", "index": 1, "embedding": vector}]}
    data = json.dumps(body).encode()
    doc = normalize(Source("x", data)).data
    assert doc["kind"] == "embeddings" and doc["count"] == 2
    assert doc["embeddings"][0]["norm"] == 1.0 and doc["embeddings"][1]["norm"] is None
    assert any("embedding 1" in w for w in doc["warnings"])
    assert run_case(data) == []  # every format: no crash, json and toon the same document


def test_bad_base64_length_is_a_warning():
    good = base64.b64encode(struct.pack("<2f", 0.6, 0.8)).decode()
    body = {"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": good},
                                       {"object": "embedding", "index": 1, "embedding": good[:-4]}]}
    doc = normalize(Source("x", json.dumps(body).encode())).data
    assert doc["encoding"] == "base64" and doc["embeddings"][0]["norm"] == 1.0
    assert doc["embeddings"][1]["norm"] is None and doc["warnings"]


def test_terminal_escapes_in_cohere_texts_are_not_live():
    body = {"id": "x", "embeddings": {"float": [[1.0, 0.0]]}, "texts": ["\x1b]0;pwned\x07\x1b[31mred"],
            "meta": {}, "response_type": "embeddings_by_type"}
    run = cli(json.dumps(body).encode(), "rich")
    assert run.code == 0 and "\x1b" not in run.stdout and "\x07" not in run.stdout


def test_a_large_body_stays_within_ten_times_its_size():
    """An 8 MB embeddings body (the fuzz harness's memory bar: 10x the input) in toon and in json. A 50 MB one was
    measured by hand (see the commit message)."""
    import random

    rng = random.Random(1)
    data = orjson.dumps({"object": "list", "model": "m", "data": [
        {"object": "embedding", "index": i, "embedding": [rng.uniform(-1, 1) for _ in range(1536)]}
        for i in range(250)], "usage": {"prompt_tokens": 1, "total_tokens": 1}})
    assert len(data) > 7_000_000
    for fmt in ("toon", "json"):
        run = prettify(data, fmt, trace=True)
        assert run.code == 0 and run.exc is None
        assert run.peak < 10 * len(data), (fmt, run.peak)
        if fmt == "toon":
            assert len(run.stdout) < 3000


def test_recorded_responses():
    """Real responses (pydantic-ai's cassettes, fixtures/README.md): the OpenAI SDK's default base64, Cohere v2 and
    Gemini batchEmbedContents; every vector of these models has unit norm."""
    base64_doc, cohere, gemini = (_doc(f"recorded-{n}.json") for n in ("openai-base64", "cohere-v2", "gemini-batch"))
    assert (base64_doc["encoding"], base64_doc["dimensions"], base64_doc["usage"]) == \
        ("base64", 1536, {"input_tokens": 4, "total_tokens": 4})
    assert (cohere["dimensions"], cohere["embeddings"][0]["text"], cohere["usage"]) == \
        (1536, "Hello, world!", {"input_tokens": 4})
    assert gemini["dimensions"] == 3072
    for doc in (base64_doc, cohere, gemini):
        assert doc["count"] == 1 and abs(doc["embeddings"][0]["norm"] - 1) < 1e-3 and "warnings" not in doc
