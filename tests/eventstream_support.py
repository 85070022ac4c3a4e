"""Build AWS event-stream frames for tests and for the binary fixtures under fixtures/bedrock/.

The `.eventstream` fixtures are generated from their `.ndjson` sources (one `{EVENT: payload}` per line, the shape
the AWS SDKs print a stream in, which prettify also reads as it is): `python tests/eventstream_support.py` rewrites
them, and tests/test_eventstream.py checks that the committed bytes are what this module makes of the sources.
"""

from __future__ import annotations

import base64
import struct
import sys
from pathlib import Path
from zlib import crc32

import orjson

ROOT = Path(__file__).resolve().parents[1]
BEDROCK = ROOT / "fixtures" / "bedrock"
EXCEPTIONS = ("internalServerException", "modelStreamErrorException", "validationException", "throttlingException",
              "serviceUnavailableException", "modelTimeoutException")


def header(name: str, kind: int, value: object = None) -> bytes:
    """One header: name, value type, value (types as in aimux_cli/eventstream.py)."""
    raw = name.encode()
    out = bytes([len(raw)]) + raw + bytes([kind])
    if kind in (0, 1):
        return out
    fixed = {2: ">b", 3: ">h", 4: ">i", 5: ">q", 8: ">q"}
    if kind in fixed:
        return out + struct.pack(fixed[kind], value)
    if kind in (6, 7):
        data = value.encode() if isinstance(value, str) else value
        return out + struct.pack(">H", len(data)) + data
    return out + value  # 9: a 16-byte UUID


def frame(headers: bytes, payload: bytes) -> bytes:
    """One message with correct prelude and message CRCs."""
    total = 12 + len(headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", crc32(prelude))
    body = prelude + headers + payload
    return body + struct.pack(">I", crc32(body))


def event(name: str, payload: object) -> bytes:
    """The frame AWS sends for one stream event (or exception) `{name: payload}`."""
    if name in EXCEPTIONS:
        heads = header(":exception-type", 7, name) + header(":content-type", 7, "application/json") \
            + header(":message-type", 7, "exception")
    else:
        heads = header(":event-type", 7, name) + header(":content-type", 7, "application/json") \
            + header(":message-type", 7, "event")
    return frame(heads, orjson.dumps(payload))


def chunk(inner: object) -> bytes:
    """An InvokeModelWithResponseStream `chunk` event carrying one event of the model's own API."""
    return event("chunk", {"bytes": base64.b64encode(orjson.dumps(inner)).decode()})


def encode_lines(path: Path, wrap: bool = False) -> bytes:
    """The event stream of an `.ndjson` source: each line one event (`wrap`: each line one model event in a
    chunk)."""
    out = b""
    for line in path.read_bytes().splitlines():
        if not line.strip():
            continue
        value = orjson.loads(line)
        if wrap and not (len(value) == 1 and next(iter(value)) in EXCEPTIONS):
            out += chunk(value)
        else:
            ((name, payload),) = value.items()
            out += event(name, payload)
    return out


def corrupt(data: bytes, frame_no: int) -> bytes:
    """`data` with one payload byte of frame `frame_no` (1-based) changed: its message CRC no longer matches."""
    pos = 0
    for _ in range(frame_no - 1):
        pos += struct.unpack_from(">I", data, pos)[0]
    total, hlen = struct.unpack_from(">II", data, pos)
    at = pos + 12 + hlen + 2
    return data[:at] + bytes([data[at] ^ 0x20]) + data[at + 1 :]


def cut_inside(data: bytes, frame_no: int) -> bytes:
    """`data` cut in the middle of frame `frame_no` (1-based): a stream cut short."""
    pos = 0
    for _ in range(frame_no - 1):
        pos += struct.unpack_from(">I", data, pos)[0]
    return data[: pos + struct.unpack_from(">I", data, pos)[0] // 2]


# fixture -> (source, wrap chunks, transformation)
GENERATED = {
    "converse-text-stream.eventstream": ("converse-text-stream.ndjson", False, None),
    "converse-tool-use-stream.eventstream": ("converse-tool-use-stream.ndjson", False, None),
    "converse-reasoning-stream.eventstream": ("converse-reasoning-stream.ndjson", False, None),
    "converse-stream-throttling.eventstream": ("converse-stream-throttling.ndjson", False, None),
    "converse-stream-bad-crc.eventstream": ("converse-text-stream.ndjson", False, lambda d: corrupt(d, 3)),
    "converse-stream-truncated.eventstream": ("converse-text-stream.ndjson", False, lambda d: cut_inside(d, 4)),
    "invoke-anthropic-stream.eventstream": ("invoke-anthropic-stream.ndjson", True, None),
    "converse-guardrail-intervened-stream.eventstream": ("converse-guardrail-intervened-stream.ndjson", False, None),
}


def build(name: str) -> bytes:
    source, wrap, change = GENERATED[name]
    data = encode_lines(BEDROCK / source, wrap)
    return change(data) if change else data


if __name__ == "__main__":
    for name in GENERATED:
        (BEDROCK / name).write_bytes(build(name))
        print("wrote", BEDROCK / name, file=sys.stderr)
