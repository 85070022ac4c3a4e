"""AWS event-stream framing (aimux_cli/eventstream.py): frames, headers, CRCs, cuts, hostile bytes."""

from __future__ import annotations

import struct
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aimux_cli import streams
from aimux_cli.eventstream import EventStreamParser, parse_headers, prelude_ok
from aimux_cli.inputs import Source
from aimux_cli.prettify import normalize
from aimux_cli.stream_decode import collect

from eventstream_support import BEDROCK, GENERATED, build, event, frame, header

RECORDED = BEDROCK / "recorded-nova-micro-stream.eventstream"


def items(data: bytes):
    return collect(EventStreamParser(), data)


def test_generated_fixtures_match_their_sources():
    """The committed binary fixtures are what tests/eventstream_support.py makes of their .ndjson sources."""
    for name in GENERATED:
        assert (BEDROCK / name).read_bytes() == build(name), name


def test_recorded_stream_decodes_every_frame():
    got = items(RECORDED.read_bytes())
    assert got.warnings == [] and not got.cut
    assert len(got.items) == 33
    assert got.items[0] == {"messageStart": {"p": "abcdefghijklmnopqr", "role": "assistant"}}
    assert got.items[1]["contentBlockDelta"]["delta"] == {"text": "The"}
    assert list(got.items[-1]) == ["metadata"]
    assert got.items[-1]["metadata"]["usage"]["totalTokens"] == 95


@pytest.mark.parametrize("size", [1, 2, 7, 12, 13, 100, 4096])
def test_chunks_of_any_size_give_the_same_events(size):
    data = RECORDED.read_bytes()
    parser = EventStreamParser()
    out = []
    for i in range(0, len(data), size):
        out += parser.feed(data[i : i + size])
    out += parser.close()
    assert out == items(data).items
    assert parser.warnings == [] and not parser.cut


def test_every_header_value_type():
    uuid = bytes(range(16))
    heads = (header("t", 0) + header("f", 1) + header("b", 2, -5) + header("s", 3, -300) + header("i", 4, 70000)
             + header("l", 5, -(2**40)) + header("a", 6, b"\x00\xff") + header("str", 7, "héllo")
             + header("ts", 8, 1_700_000_000_000) + header("u", 9, uuid))
    assert parse_headers(heads) == {"t": True, "f": False, "b": -5, "s": -300, "i": 70000, "l": -(2**40),
                                    "a": b"\x00\xff", "str": "héllo", "ts": 1_700_000_000_000, "u": uuid}
    got = items(frame(heads + header(":event-type", 7, "ping"), b'{"ok": true}'))
    assert got.items == [{"ping": {"ok": True}}] and got.warnings == []


def test_empty_payload_is_an_empty_object():
    assert items(frame(header(":event-type", 7, "initial-response"), b"")).items == [{"initial-response": {}}]


def test_exception_and_error_messages():
    exception = frame(header(":message-type", 7, "exception") + header(":exception-type", 7, "throttlingException"),
                      b'{"message": "slow down"}')
    error = frame(header(":message-type", 7, "error") + header(":error-code", 7, "InternalFailure")
                  + header(":error-message", 7, "boom"), b"")
    assert items(exception + error).items == [
        {"throttlingException": {"message": "slow down"}},
        {"eventStreamError": {"code": "InternalFailure", "message": "boom"}},
    ]


def test_bad_message_crc_skips_that_event_only():
    """The corrupted-CRC fixture: frame 3 is skipped with a warning, the frames before and after are kept."""
    got = items((BEDROCK / "converse-stream-bad-crc.eventstream").read_bytes())
    good = items((BEDROCK / "converse-text-stream.eventstream").read_bytes())
    assert got.items == good.items[:2] + good.items[3:]
    assert got.warnings == ["frame 3 (byte 291) skipped: its message CRC does not match (a corrupt event)"]
    assert not got.cut


def test_bad_prelude_crc_resyncs_at_the_next_frame():
    one, two, three = (event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": t}}) for t in "abc")
    broken = bytearray(two)
    broken[9] ^= 0xFF  # the prelude CRC: the frame's lengths can no longer be trusted
    got = items(one + bytes(broken) + three)
    assert [i["contentBlockDelta"]["delta"]["text"] for i in got.items] == ["a", "c"]
    assert got.warnings == [f"bytes {len(one)}-{len(one) + len(two) - 1} skipped: not a valid event-stream frame "
                            "(bad prelude: its CRC or lengths do not check out)"]


def test_a_frame_claiming_4_gb_is_not_believed_nor_allocated():
    claim = struct.pack(">II", 0xFFFFFFF0, 8)
    from zlib import crc32

    hostile = claim + struct.pack(">I", crc32(claim)) + b"x" * 64  # a prelude whose CRC checks out
    after = event("messageStop", {"stopReason": "end_turn"})
    tracemalloc.start()
    try:
        got = items(hostile + after)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got.items == [{"messageStop": {"stopReason": "end_turn"}}]
    assert "skipped: not a valid event-stream frame" in got.warnings[0]
    assert peak < 1 << 20


def test_a_stream_cut_inside_a_frame_is_cut():
    got = items((BEDROCK / "converse-stream-truncated.eventstream").read_bytes())
    assert got.cut
    assert len(got.items) == 3
    assert got.warnings == ["the stream ends inside the frame at byte 476 (85 of its bytes arrived): it was cut short"]


def test_a_line_end_after_the_last_frame_is_not_a_cut():
    got = items(RECORDED.read_bytes() + b"\n")
    assert (len(got.items), got.warnings, got.cut) == (33, [], False)


def test_payload_not_json_is_skipped_and_bad_utf8_replaced():
    bad_json = frame(header(":event-type", 7, "x"), b"not json")
    bad_utf8 = frame(header(":event-type", 7, "y"), b'{"t": "a\xffb"}')
    got = items(bad_json + bad_utf8)
    assert got.items == [{"y": {"t": "a\ufffdb"}}]
    assert got.warnings == ["frame 1 (byte 0) skipped: its payload is not JSON",
                            f"frame 2 (byte {len(bad_json)}): invalid UTF-8 in its payload, replaced with U+FFFD"]


def test_headers_that_run_past_their_end_skip_the_frame():
    heads = b"\x05:abc"  # a name of 5 bytes with 4 present, no value type
    got = items(frame(heads, b"{}") + event("ping", {}))
    assert got.items == [{"ping": {}}]
    assert got.warnings == ["frame 1 (byte 0) skipped: a header name runs past the headers"]


def test_sniff_names_the_binary_stream():
    assert streams.sniff(RECORDED.read_bytes()[:64]) == "eventstream"
    assert not streams.needs_more(b"\x00")
    assert streams.iter_events(RECORDED.read_bytes())[0] == "eventstream"


def test_prettify_keeps_what_came_before_a_corrupt_event():
    out = normalize(Source("bad.bin", (BEDROCK / "converse-stream-bad-crc.eventstream").read_bytes()))
    doc = out.document
    assert doc.status == "ok" and doc.api == "bedrock.converse"
    assert doc.text() == "The Rhine flows through six Austria, Germany, France and the Netherlands."
    assert doc.warnings == ("frame 3 (byte 291) skipped: its message CRC does not match (a corrupt event)",)


def test_prettify_of_garbage_after_a_nul_is_one_input_error():
    from aimux_cli.errors import InputError

    with pytest.raises(InputError, match="no JSON values"):
        normalize(Source("x.bin", b"\x00" + bytes(range(1, 200))))


# -- hostile bytes -----------------------------------------------------------------------------------------------

FRAMES = [event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "hi"}}),
          event("messageStop", {"stopReason": "end_turn"}), RECORDED.read_bytes()[:400]]


def _run(data: bytes, size: int) -> EventStreamParser:
    parser = EventStreamParser()
    for i in range(0, len(data), size):
        out = parser.feed(data[i : i + size])
        assert all(isinstance(item, dict) and len(item) == 1 for item in out)
        assert len(parser._buf) <= len(data)  # never more than what arrived
    parser.close()
    assert len(parser.warnings) <= 21
    return parser


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048), st.integers(1, 64))
def test_random_bytes_never_raise(data, size):
    _run(b"\x00" + data, size)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
       st.integers(0, 2), st.integers(1, 600), st.integers(0, 10_000))
def test_mutated_frames_never_raise(flips, which, size, cut):
    data = bytearray(b"".join(FRAMES[which:]) + FRAMES[0])
    for at, value in flips:
        data[at % len(data)] = value
    _run(bytes(data[: max(cut, 1)]), size)


def test_prelude_ok_needs_twelve_bytes():
    assert not prelude_ok(b"\x00" * 11)
    assert prelude_ok(FRAMES[0])
