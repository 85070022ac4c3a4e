"""content_coding.Decoder and Truncating: HTTP Content-Encoding decoded in bounded steps (pure, no network)."""

from __future__ import annotations

import gzip
import os
import zlib

import pytest

from aimux_cli.content_coding import MAX_RATIO, PIECE, BodyTooLarge, DecodeError, Decoder, Truncating
from provider_server import gzip_bomb

TEXT = os.urandom(3000) + b"hello " * 20000


def decode(coding: str | None, data: bytes, limit: int = 1 << 30, step: int = 7) -> bytes:
    decoder = Decoder(coding, limit)
    out = [p for i in range(0, len(data), step) for p in decoder.feed(data[i:i + step])]
    return b"".join(out + list(decoder.end()))


def raw_deflate(data: bytes) -> bytes:
    z = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return z.compress(data) + z.flush()


@pytest.mark.parametrize(("coding", "data"), [
    (None, TEXT), ("identity", TEXT), ("gzip", gzip.compress(TEXT)), ("x-gzip", gzip.compress(TEXT)),
    ("GZIP ", gzip.compress(TEXT)), ("deflate", zlib.compress(TEXT)), ("deflate", raw_deflate(TEXT)),
])
@pytest.mark.parametrize("step", [1, 7, 1 << 20])
def test_every_coding_round_trips_in_any_split(coding, data, step):
    if step == 1 and len(data) > 100_000:
        data = data[:100_000] if coding in (None, "identity") else data
    expected = TEXT if coding not in (None, "identity") or step != 1 else data
    assert decode(coding, data, step=step) == expected


def test_pieces_are_bounded_and_multi_member_gzip_is_whole():
    pieces = list(Decoder("gzip", 1 << 30).feed(gzip.compress(bytes(1 << 20)) + gzip.compress(b"second")))
    assert max(map(len, pieces)) <= PIECE and b"".join(pieces) == bytes(1 << 20) + b"second"
    assert decode("gzip", gzip.compress(b"x") + b"\0\0\0") == b"x"  # padding after the end marker is ignored


def test_empty_and_one_byte_bodies():
    assert decode("gzip", b"") == b"" and decode("deflate", b"") == b""
    with pytest.raises(DecodeError, match="ends early"):
        decode("deflate", b"\x78")


def test_corrupt_data_yields_everything_before_the_corrupt_byte():
    z = zlib.compressobj(6, zlib.DEFLATED, 31)
    data = z.compress(b"kept text") + z.flush(zlib.Z_SYNC_FLUSH) + b"\xff" * 10
    decoder, got = Decoder("gzip", 1 << 20), []
    with pytest.raises(DecodeError, match="corrupt gzip data after 9 decoded bytes"):
        for piece in decoder.feed(data):  # in one feed: zlib alone would drop the whole call's output
            got.append(piece)
    assert b"".join(got) == b"kept text"


@pytest.mark.parametrize("data", [gzip.compress(TEXT)[:-9], gzip.compress(TEXT)[:40]])
def test_a_body_that_ends_early_is_an_error_after_its_text(data):
    with pytest.raises(DecodeError, match="the gzip data ends early"):
        decode("gzip", data)


@pytest.mark.parametrize("coding", ["br", "zstd", "compress", "gzip, gzip", "identity, br"])
def test_unsupported_codings_are_refused_by_name(coding):
    with pytest.raises(DecodeError, match="unsupported Content-Encoding"):
        Decoder(coding, 10)


@pytest.mark.parametrize("coding", [None, "gzip"])
def test_the_limit_yields_up_to_it_then_raises(coding):
    data = TEXT if coding is None else gzip.compress(TEXT)
    decoder, got = Decoder(coding, 1000), []
    with pytest.raises(BodyTooLarge, match="larger than 1000 bytes decoded"):
        for piece in decoder.feed(data):
            got.append(piece)
    assert b"".join(got) == TEXT[:1000]


def test_a_bomb_is_refused_by_its_ratio_after_sixteen_mib():
    decoder, total = Decoder("gzip", 1 << 40), 0
    with pytest.raises(BodyTooLarge, match=f"inflates more than {MAX_RATIO}:1"):
        for piece in decoder.feed(gzip_bomb(1 << 30)):
            total += len(piece)
    assert 16 << 20 < total < 17 << 20
    assert decode("gzip", gzip.compress(bytes(15 << 20))) == bytes(15 << 20)  # 1000:1, but under 16 MiB: fine


def test_truncating_keeps_the_first_bytes_whatever_the_body():
    reader = Truncating("gzip", 1000)
    assert reader.feed(gzip_bomb(1 << 30)) is True and reader.body() == bytes(1000)
    reader = Truncating("br", 1000)  # unknown coding: the raw bytes
    assert reader.feed(b"abc") is False and reader.body() == b"abc"
    reader = Truncating("gzip", 1000)
    assert reader.feed(b"not gzip") is True and reader.body() == b""


def test_text_before_a_corrupt_byte_comes_in_one_piece_not_byte_by_byte():
    z = zlib.compressobj(6, zlib.DEFLATED, 31)
    event = b"data: " + b'{"text": "%s"}' % (b"x" * 150) + b"\n\n"
    pieces = []
    with pytest.raises(DecodeError):
        for piece in Decoder("gzip", 1 << 20).feed(z.compress(event) + z.flush(zlib.Z_SYNC_FLUSH) + b"\xff"):
            pieces.append(piece)
    assert pieces == [event]  # a consumer sniffing the first bytes sees a whole event
