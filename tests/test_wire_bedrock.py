"""AWS Bedrock Converse wire (aimux_cli/wire/bedrock.py): bodies, ConverseStream (binary and as JSON lines),
exceptions, InvokeModelWithResponseStream chunks, and body/stream agreement."""

from __future__ import annotations

import base64
from pathlib import Path

import orjson
import pytest

from aimux_cli.inputs import Source
from aimux_cli.prettify import normalize
from aimux_cli.wire import StreamFolder, detect, parse_body
from aimux_cli.wire import bedrock as wire

from wire_support import without_ids

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "bedrock"
API = "bedrock.converse"


def doc(name: str, **kw) -> dict:
    out = normalize(Source(name, (FIXTURES / name).read_bytes()), **kw)
    assert out.document is not None, out.warnings
    return out.document.to_dict()


# -- detection ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("obj", [
    {"output": {"message": {"role": "assistant", "content": []}}, "stopReason": "end_turn"},
    {"messageStart": {"role": "assistant"}},
    {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "x"}}},
    {"contentBlockStop": {"contentBlockIndex": 0}},
    {"messageStop": {"stopReason": "end_turn"}},
    {"metadata": {"usage": {"inputTokens": 1}}},
    {"throttlingException": {"message": "slow down"}},
    {"chunk": {"bytes": "e30="}},
    {"__type": "com.amazon.coral.service#UnrecognizedClientException", "message": "bad token"},
])
def test_detect_accepts_converse_shapes(obj):
    assert wire.detect(obj)
    assert detect(obj) == API


@pytest.mark.parametrize("obj", [
    {"message": "The provided model identifier is invalid."},  # a bare message: too common to claim
    {"metadata": {"name": "x"}},
    {"messageStart": {"role": "assistant"}, "other": 1},
    {"contentBlockDelta": "x"},
    {"output": "text"},
    [],
    "messageStart",
])
def test_detect_rejects_other_shapes(obj):
    assert not wire.detect(obj)


# -- bodies ---------------------------------------------------------------------------------------------------

def test_text_body():
    d = doc("converse-text.json")
    assert (d["api"], d["provider"], d["status"], d["finish"], d["finish_raw"]) == (API, "bedrock", "ok", "stop",
                                                                                     "end_turn")
    assert d["blocks"] == [{"type": "text", "text": "The Rhine flows through six countries: Switzerland, "
                            "Liechtenstein, Austria, Germany, France and the Netherlands."}]
    assert d["usage"] == {"input_tokens": 18, "output_tokens": 27, "total_tokens": 45}
    assert d["timing"] == {"total_s": 0.612}


def test_tool_use_body_with_cache_counts():
    d = doc("converse-tool-use.json")
    assert (d["finish"], d["finish_raw"]) == ("tool_call", "tool_use")
    assert d["blocks"][1] == {"type": "tool_call", "id": "tooluse_Vq7mK2xRT0aLp9dWc4ZsNg", "name": "get_weather",
                              "arguments": {"city": "Lisbon", "unit": "celsius"}}
    assert d["usage"]["cache_read_tokens"] == 1024 and d["usage"]["cache_write_tokens"] == 0


def test_reasoning_body_drops_signature_and_redacted_content():
    d = doc("converse-reasoning.json")
    assert [b["type"] for b in d["blocks"]] == ["thinking", "thinking", "text"]
    assert d["blocks"][1] == {"type": "thinking", "redacted": True}
    text = orjson.dumps(d).decode()
    assert "EqQBCkgI" not in text and "RXJyb3Ig" not in text


def test_recorded_server_tool_and_result_blocks():
    d = doc("recorded-nova-code-interpreter.json")
    assert [b["type"] for b in d["blocks"]] == ["server_tool_use", "nova_code_interpreter_result", "tool_call"]
    assert d["blocks"][0]["input"] == {"snippet": "1234 * 5678"}
    assert d["blocks"][1]["content"] == [{"json": {"exitCode": 0, "isError": False, "stdErr": "",
                                                   "stdOut": "7006652"}}]


def test_recorded_error_body_reads_with_the_wire_forced():
    d = doc("recorded-error-invalid-model.json", wire=API)
    assert (d["status"], d["finish"]) == ("error", "error")
    assert d["error"] == {"message": "The provided model identifier is invalid."}
    body = orjson.loads((FIXTURES / "recorded-error-invalid-model.json").read_bytes())
    assert parse_body(body, api=API, http_status=400).error == {"status": 400,
                                                                "message": "The provided model identifier is invalid."}


def test_error_body_with_aws_type():
    d = parse_body({"__type": "com.amazon.coral.service#ThrottlingException:http://internal", "message": "slow"})
    assert d.error == {"type": "ThrottlingException", "message": "slow"}


@pytest.mark.parametrize("reason, finish", [("guardrail_intervened", "content_filter"),
                                            ("content_filtered", "content_filter"), ("max_tokens", "length"),
                                            ("malformed_tool_use", "error"),
                                            ("model_context_window_exceeded", "length")])
def test_stop_reasons(reason, finish):
    d = parse_body({"output": {"message": {"content": [{"text": "x"}]}}, "stopReason": reason})
    assert (d.finish, d.finish_raw) == (finish, reason)


def test_guardrail_assessments_are_safety_entries():
    d = doc("converse-guardrail-intervened.json")
    assert (d["finish"], d["finish_raw"]) == ("content_filter", "guardrail_intervened")
    assert d["safety"] == [
        {"scope": "prompt", "category": "VIOLENCE", "probability": "LOW", "detected": False, "filtered": False,
         "policy": "content", "action": "NONE", "filterStrength": "HIGH"},
        {"scope": "prompt", "category": "PROMPT_ATTACK", "probability": "NONE", "detected": False, "filtered": False,
         "policy": "content", "action": "NONE", "filterStrength": "HIGH"},
        {"scope": "prompt", "category": "Investment advice", "detected": True, "filtered": True, "policy": "topic",
         "action": "BLOCKED"},
        {"scope": "prompt", "category": "EMAIL", "detected": True, "filtered": True, "policy": "sensitive_information",
         "action": "ANONYMIZED", "match": "jane.doe@example.com"},
    ]


def test_a_guardrail_that_found_nothing_gives_no_entry():
    assert "safety" not in doc("recorded-nova-guardrail-trace.json")


def test_unknown_blocks_are_kept_without_bytes():
    body = {"output": {"message": {"content": [{"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}}]}},
            "stopReason": "end_turn"}
    assert parse_body(body).blocks == ({"type": "image", "format": "png", "source": {}},)


# -- streams --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, streams", [
    ("converse-text.json", ["converse-text-stream.eventstream", "converse-text-stream.ndjson"]),
    ("converse-tool-use.json", ["converse-tool-use-stream.eventstream", "converse-tool-use-stream.ndjson"]),
    ("converse-reasoning.json", ["converse-reasoning-stream.eventstream", "converse-reasoning-stream.ndjson"]),
    ("converse-guardrail-intervened.json", ["converse-guardrail-intervened-stream.eventstream",
                                            "converse-guardrail-intervened-stream.ndjson"]),
])
def test_body_and_stream_give_the_same_document(body, streams):
    """The binary stream, its JSON-lines form (as the SDKs print it) and the body of the same answer agree
    (latency included: Converse reports it in both)."""
    expected = doc(body)
    for name in streams:
        assert doc(name) == expected, name


def test_recorded_server_tool_stream_matches_its_body_shape():
    stream, body = doc("recorded-nova-code-interpreter-stream.eventstream"), doc("recorded-nova-code-interpreter.json")
    assert [b["type"] for b in stream["blocks"]] == [b["type"] for b in body["blocks"]]
    assert stream["blocks"][0]["input"] == body["blocks"][0]["input"]
    assert stream["blocks"][1]["content"] == body["blocks"][1]["content"]


def test_stream_exception_keeps_the_text_before_it():
    d = doc("converse-stream-throttling.eventstream")
    assert (d["status"], d["finish"]) == ("error", "error")
    assert d["blocks"] == [{"type": "text", "text": "Photosynthesis turns light, water and carbon dioxide into"}]
    assert d["error"] == {"status": 429, "type": "throttlingException",
                          "message": "Too many tokens, please wait before trying again."}


def test_stream_cut_inside_a_frame_is_incomplete():
    d = doc("converse-stream-truncated.eventstream")
    assert (d["status"], d["finish"]) == ("incomplete", None)
    assert d["blocks"][0]["text"] == "The Rhine flows through six countries: Switzerland, Liechtenstein,"


def test_deltas_are_returned_for_the_live_view():
    folder = StreamFolder()
    assert folder.feed_json({"messageStart": {"role": "assistant"}}) == []
    assert folder.feed_json({"contentBlockDelta": {"contentBlockIndex": 0,
                                                   "delta": {"reasoningContent": {"text": "hm"}}}}) == [("thinking",
                                                                                                       "hm")]
    assert folder.feed_json({"contentBlockDelta": {"contentBlockIndex": 1, "delta": {"text": "Hi"}}}) == [("text",
                                                                                                         "Hi")]


# -- InvokeModelWithResponseStream ----------------------------------------------------------------------------

def test_invoke_stream_is_folded_by_the_anthropic_module():
    """The chunks' base64 bytes are Anthropic events: the document is anthropic.messages, served by Bedrock, and
    agrees with the InvokeModel body of the same answer (Bedrock's invocation latency aside)."""
    stream = doc("invoke-anthropic-stream.eventstream")
    body = doc("invoke-anthropic.json", provider="bedrock")
    assert (stream["api"], stream["provider"], stream["status"]) == ("anthropic.messages", "bedrock", "ok")
    assert stream["timing"] == {"total_s": 1.402}
    assert without_ids(stream) == without_ids(body)


def test_a_chunk_that_is_not_base64_json_is_a_warning():
    folder = StreamFolder()
    good = base64.b64encode(b'{"type": "message_stop"}').decode()
    folder.feed_json({"chunk": {"bytes": "%%%"}})
    folder.feed_json({"chunk": {"bytes": good}})
    d = folder.document()
    assert d.status == "ok" and d.api == "anthropic.messages"
    assert d.warnings == ("bedrock.converse: a chunk whose bytes are not base64 JSON was skipped",)


def test_a_chunk_of_an_unknown_model_api_is_a_warning():
    folder = StreamFolder()
    folder.feed_json({"chunk": {"bytes": base64.b64encode(b'{"generation": "hi"}').decode()}})
    assert folder.document().warnings == ("bedrock.converse: a chunk of a model API aimux does not know was skipped",)


def test_an_exception_after_invoke_chunks_is_the_error_of_the_anthropic_document():
    folder = StreamFolder()
    for line in (FIXTURES / "invoke-anthropic-stream.ndjson").read_bytes().splitlines()[:4]:
        folder.feed_json({"chunk": {"bytes": base64.b64encode(line).decode()}})
    folder.feed_json({"modelStreamErrorException": {"message": "Model stream error", "originalStatusCode": 500}})
    d = folder.document()
    assert (d.api, d.provider, d.status) == ("anthropic.messages", "bedrock", "error")
    assert d.error == {"status": 424, "type": "modelStreamErrorException", "message": "Model stream error"}
    assert d.text() == "Haiku are three lines of five, seven"
