"""prettify on batch result files (aimux_cli/kinds/batch.py): one result per line with its custom_id, each body
normalized by the wire modules (the one accumulator), the summary, exit codes, --follow, hostile lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fuzz.harness import run_case
from kinds_support import cli

from aimux_cli import wire
from aimux_cli.inputs import Source
from aimux_cli.prettify import normalize

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "batch"
FILES = sorted(p.name for p in FIX.glob("*.ndjson"))


def _data(data: bytes, **kw) -> dict:
    return normalize(Source("x", data), **kw).data


def _lines(name: str) -> list[dict]:
    return [json.loads(line) for line in (FIX / name).read_text().splitlines()]


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("fmt", ["text", "rich"])
def test_formats(name, fmt, snapshot):
    run = cli((FIX / name).read_bytes(), fmt)
    assert run.code == 0
    assert (run.stdout, run.stderr) == snapshot


def test_openai_batch_output():
    doc = _data((FIX / "openai-output.ndjson").read_bytes())
    assert (doc["kind"], doc["api"], doc["provider"], doc["status"]) == ("batch", "openai.batch", "openai", "error")
    assert doc["summary"] == {"results": 4, "succeeded": 2, "errored": 1, "canceled": 0, "expired": 1,
                              "usage": {"input_tokens": 41, "output_tokens": 15, "total_tokens": 56}}
    lines = _lines("openai-output.ndjson")
    assert [r["custom_id"] for r in doc["results"]] == [line["custom_id"] for line in lines]
    for result, line in zip(doc["results"][:3], lines):  # each body as prettify reads it on its own
        body = line["response"]["body"]
        assert result["document"] == wire.parse_body(body, http_status=line["response"]["status_code"]).to_dict()
        assert result["http_status"] == line["response"]["status_code"]
    assert doc["results"][2]["error"]["code"] == "invalid_value"
    assert doc["results"][3] == {"custom_id": "request-4", "status": "expired", "id": "batch_req_abc",
                                 "error": {"code": "batch_expired", "message": lines[3]["error"]["message"]}}


def test_anthropic_results():
    doc = _data((FIX / "anthropic-results.ndjson").read_bytes())
    assert doc["api"] == "anthropic.batch" and doc["model"] == "claude-sonnet-4-5-20250929"
    assert [r["status"] for r in doc["results"]] == ["succeeded", "succeeded", "errored", "canceled", "expired"]
    lines = _lines("anthropic-results.ndjson")
    assert doc["results"][0]["document"] == wire.parse_body(lines[0]["result"]["message"]).to_dict()
    assert doc["results"][2]["error"] == {"type": "invalid_request_error", "message": "max_tokens: Field required"}
    assert "document" not in doc["results"][3]


def test_embeddings_batch_keeps_vectors_in_json_only():
    data = (FIX / "openai-embeddings-output.ndjson").read_bytes()
    doc = _data(data)
    assert doc["status"] == "ok" and doc["summary"]["usage"] == {"input_tokens": 8, "total_tokens": 8}
    inner = doc["results"][0]["document"]
    assert inner["kind"] == "embeddings" and "vectors" not in inner
    as_json = json.loads(cli(data, "json").stdout)
    sent = _lines("openai-embeddings-output.ndjson")[0]["response"]["body"]["data"][0]["embedding"]
    assert as_json["results"][0]["document"]["vectors"] == [sent]


def test_fail_exits_with_the_first_failed_results_code():
    from aimux_cli.errors import exit_code_for_error
    from aimux_cli.present import exit_code_of

    data = (FIX / "openai-output.ndjson").read_bytes()
    assert cli(data, "toon").code == 0  # without --fail
    assert cli(data, "toon", fail=True).code == 7
    outcome = normalize(Source("x", data))
    first = outcome.document.fields["results"][2]["error"]  # request-3, HTTP 400
    assert exit_code_of(outcome.document, True) == int(exit_code_for_error(first)) == 7
    ok = normalize(Source("x", (FIX / "openai-embeddings-output.ndjson").read_bytes()))
    assert exit_code_of(ok.document, True) == 0


def test_one_line_is_a_batch_of_one():
    line = (FIX / "anthropic-results.ndjson").read_text().splitlines()[0]
    doc = _data(line.encode() + b"\n")
    assert doc["kind"] == "batch" and doc["summary"]["results"] == 1


def test_follow_reads_a_batch_whole():
    data = (FIX / "anthropic-results.ndjson").read_bytes()
    followed = cli(data, "json --follow")
    assert followed.code == 0 and followed.stdout == cli(data, "json").stdout


def test_a_line_that_is_not_a_batch_result_is_left_out_with_a_warning():
    lines = (FIX / "openai-output.ndjson").read_text().splitlines()
    data = "\n".join([lines[0], '{"hello": 1}', "[1, 2]", lines[1]]).encode()
    doc = _data(data)
    assert doc["summary"]["results"] == 2
    assert doc["warnings"] == ["line 2: not a batch result; left out", "line 3: not a batch result; left out"]


@pytest.mark.parametrize("line", [
    {"custom_id": "a", "response": {"status_code": "200", "body": "x"}, "error": None},
    {"custom_id": "a", "response": {"status_code": 200, "body": {"object": "chat.completion", "choices": 5}}},
    {"custom_id": "a", "response": None, "error": {"code": ["x"], "message": {"m": 1}}},
    {"custom_id": "a", "result": {"type": "succeeded", "message": [1]}},
    {"custom_id": "a", "result": {"type": "errored", "error": "boom"}},
    {"custom_id": "a", "result": {"type": "mystery"}},
])
def test_hostile_lines(line):
    data = (json.dumps(line) + "\n" + json.dumps(line) + "\n").encode()
    doc = _data(data)
    assert doc["kind"] == "batch"
    assert run_case(data) == []


def test_chat_streams_with_custom_id_are_not_batches():
    """An NDJSON chat stream (Ollama) stays a chat document; only a line of a batch's shape makes a batch."""
    data = b'{"model":"m","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"hi"},' \
           b'"done":true,"done_reason":"stop","custom_id":"x"}\n'
    doc = _data(data)
    assert "kind" not in doc and doc["api"] == "ollama.chat"


def test_the_rich_view_of_a_large_batch_draws_the_first_hundred_results():
    line = (FIX / "openai-output.ndjson").read_text().splitlines()[0]
    data = "".join(line.replace('"request-1"', f'"r-{i}"') + "\n" for i in range(130)).encode()
    rich = cli(data, "rich").stdout
    assert "r-99 · succeeded" in rich and "r-100 · " not in rich
    assert "… and 30 more results (-f toon, -f json and -f text have them all)" in rich
    assert "== r-129 · succeeded ==" in cli(data, "text").stdout


def test_warnings_are_bounded_as_a_chat_documents_are():
    line = (FIX / "openai-output.ndjson").read_text().splitlines()[0]
    data = (line + "\n" + "".join(f'{{"x": {i}}}\n' for i in range(50))).encode()
    warnings = _data(data)["warnings"]
    assert len(warnings) == 21 and warnings[-1] == "… and 30 more warning(s)"
