"""Issue 9, memory of a 1 MB string with bad UTF-8 in a whole NDJSON body or a JSON array of chunks (fuzz cases
10535, 70804): one replaced byte makes the decoded text 2 bytes a character, and it was held several times at once
(the decoded body beside its split lines, the line beside the UTF-8 copy orjson caches in it and the parsed value,
the element's slice beside the array buffer, and a copy of the whole body in the UnicodeDecodeError that a partial
array's error kept as its context). Measured with the fuzz harness's RSS probe."""

from __future__ import annotations

import json

import pytest

from aimux_cli.inputs import InputError, Source, decode_utf8
from fuzz import harness

BIG = b"y" * 600_000 + b"\x91" + b"y" * 370_000 + b"\xf9" + b"y" * 25_000


def ollama_stream(big: bytes) -> bytes:
    lines = [json.dumps({"model": "m", "created_at": "2026-01-05T09:14:02Z", "response": w, "done": False}).encode()
             for w in ("Why", " do", " bugs")]
    lines[1] = lines[1].replace(b'"done": false', b'"done": "' + big + b'"')
    lines.append(json.dumps({"model": "m", "created_at": "2026-01-05T09:14:03Z", "response": "",
                             "done": True, "done_reason": "stop", "eval_count": 3}).encode())
    return b"\n".join(lines) + b"\n"


def gemini_array(big: bytes) -> bytes:
    def chunk(text: str, role: bytes = b"model", finish: str | None = None) -> bytes:
        obj = {"candidates": [{"content": {"parts": [{"text": text}], "role": "ROLE"}, "index": 0}],
               "modelVersion": "gemini-3-flash-preview"}
        if finish:
            obj["candidates"][0]["finishReason"] = finish
        return json.dumps(obj).encode().replace(b"ROLE", role)

    return b"[" + chunk("Hi") + b"," + chunk("", big, "STOP") + b"]"


# the fuzz bar is 10x: 10.3x, 6.9x and 11.3x before; 8.3x, 5.2x and 8.3x now
@pytest.mark.parametrize(("build", "fmt", "bar"), [(ollama_stream, "json", 9), (ollama_stream, "text --follow", 6),
                                                   (gemini_array, "json", 9)],
                         ids=["ndjson", "ndjson-follow", "json-array"])
def test_a_1mb_string_with_bad_bytes_stays_small(build, fmt: str, bar: int) -> None:
    data = build(BIG)
    harness.prettify(build(b"y"), fmt)  # imports, outside the measure
    run = harness.prettify(data, fmt)
    assert run.exc is None and run.code == 0, (run.exc, run.stderr)
    assert "invalid UTF-8" in run.stderr or fmt == "json"
    if run.peak is not None:
        assert run.peak < bar * len(data), f"peak {run.peak / 2**20:.1f} MiB for {len(data)} bytes"


def test_the_decode_error_holds_no_copy_of_the_body() -> None:
    with pytest.raises(InputError) as info:
        decode_utf8(Source("x", b"ab\xffcd"))
    assert info.value.__context__ is None  # a UnicodeDecodeError there holds a copy of the whole body
    assert "byte 2" in str(info.value)
