"""prettify on model lists (aimux_cli/kinds/models_list.py): entries as `aimux models` makes them, a table, one
id a line in text, and what must not be taken for a model list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kinds_support import cli

from aimux_cli.inputs import Source
from aimux_cli.models import entry
from aimux_cli.prettify import normalize

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "models"
FILES = sorted(p.name for p in FIX.glob("*.json"))


def _data(value) -> dict | list:
    return normalize(Source("x", json.dumps(value).encode())).data


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("fmt", ["text", "rich"])
def test_formats(name, fmt, snapshot):
    run = cli((FIX / name).read_bytes(), fmt)
    assert run.code == 0, run.stderr
    assert run.stdout == snapshot


@pytest.mark.parametrize(("name", "api", "provider", "wire"), [
    ("openai.json", "openai.models", "openai", "openai.chat"),
    ("anthropic.json", "anthropic.models", "anthropic", "anthropic.messages"),
    ("gemini.json", "gemini.models", "gemini", "gemini.generate"),
    ("ollama-tags.json", "ollama.tags", "ollama", "ollama.chat"),
    ("openrouter.json", "openai.models", None, "openai.chat"),
])
def test_entries_are_those_of_aimux_models(name, api, provider, wire):
    raw = json.loads((FIX / name).read_bytes())
    doc = _data(raw)
    assert (doc["kind"], doc["api"], doc.get("provider")) == ("models", api, provider)
    raws = raw.get("data") or raw.get("models")
    assert doc["models"] == [entry(wire, r) for r in raws] and doc["count"] == len(raws)
    text = cli((FIX / name).read_bytes(), "text").stdout
    assert text.splitlines() == [e["id"] for e in doc["models"]]


def test_next_page_cursor():
    assert _data(json.loads((FIX / "anthropic.json").read_bytes()))["next_page"] == \
        {"after_id": "claude-haiku-4-5-20251001"}
    gemini = _data(json.loads((FIX / "gemini.json").read_bytes()))
    assert gemini["next_page"]["pageToken"] and gemini["models"][0]["id"] == "gemini-2.5-flash"


def test_one_model_object_bedrock_and_a_bare_list():
    one = _data({"id": "gpt-4o", "object": "model", "created": 1715367049, "owned_by": "system"})
    assert (one["api"], one["count"], one["models"][0]["id"]) == ("openai.models", 1, "gpt-4o")
    bedrock = _data({"modelSummaries": [{"modelId": "anthropic.claude-3-haiku-20240307-v1:0",
                                         "modelName": "Claude 3 Haiku", "providerName": "Anthropic"}]})
    assert (bedrock["api"], bedrock["models"][0]["owned_by"]) == ("bedrock.models", "Anthropic")
    together = _data([{"id": "meta-llama/Llama-3-8b-chat-hf", "object": "model", "context_length": 8192}])
    assert together["kind"] == "models" and together["models"][0]["context_length"] == 8192


@pytest.mark.parametrize("value", [
    {"object": "list", "data": []},  # empty: nothing says what it lists
    {"object": "list", "data": [{"object": "file", "id": "file-1"}]},  # OpenAI's list of files
    {"data": [{"id": 3}]},
    {"models": [{"name": "llama"}]},  # no Ollama or Gemini marker
    {"models": "x"},
])
def test_other_lists_stay_generic(value):
    outcome = normalize(Source("x", json.dumps(value).encode()))
    assert outcome.document is None and outcome.value == value


def test_an_entry_without_id_is_left_out_with_a_warning():
    doc = _data({"object": "list", "data": [{"object": "model", "id": "a"}, {"object": "model"}, 5]})
    assert [m["id"] for m in doc["models"]] == ["a"] and len(doc["warnings"]) == 2


def test_model_ids_with_escapes_are_not_live_on_a_terminal():
    body = {"object": "list",
            "data": [{"object": "model", "id": "evil\x1b[2J\x1b]8;;http://x\x07", "owned_by": "\x9b31m"}]}
    run = cli(json.dumps(body).encode(), "rich")
    assert run.code == 0 and "\x1b" not in run.stdout and "\x9b" not in run.stdout


def test_the_rich_table_of_a_long_list_is_bounded_and_text_has_every_id():
    body = json.dumps({"object": "list", "data": [{"object": "model", "id": f"m-{i}"} for i in range(1500)]}).encode()
    rich = cli(body, "rich").stdout
    assert "\nm-999\n" in rich and "m-1000" not in rich and "… and 500 more models (-f text lists every id)" in rich
    assert cli(body, "text").stdout.splitlines()[-1] == "m-1499"


def test_a_model_size_past_a_float_is_shown_as_sent():
    """Fuzz seed 4711, case 63957: an Ollama size of 400 digits raised OverflowError in the Rich table (exit 1)."""
    fixture = Path(__file__).resolve().parent.parent / "fixtures/models/ollama-tags.json"
    data = fixture.read_bytes().replace(b"2019393189", b"9" * 400)
    result = cli(data, "rich")
    assert result.code == 0, result.stderr
    assert "46 MB" in result.stdout and "llama3.2" in result.stdout  # the other rows as before
