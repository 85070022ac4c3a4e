"""HTTP Content-Encoding, bounded: raw body bytes -> decoded bytes, never more than a limit. Pure, no I/O, no httpx.

    decoder = Decoder(headers.get("content-encoding"), limit=256 << 20)
    for raw in transport:                    # raw bytes as they arrive
        for piece in decoder.feed(raw): ...  # decoded pieces of at most PIECE bytes each
    for piece in decoder.end(): ...          # the rest; DecodeError if the encoded data stopped early
    reader = Truncating(coding, limit)       # an error body: feed(raw) -> True when enough; body() -> bytes

Codings: identity (none), gzip / x-gzip (several members too), deflate (zlib-wrapped, or raw as some servers send).
Anything else raises DecodeError at construction (client.py advertises only `gzip, deflate`).

Bounds: inflation happens at most PIECE bytes at a time (zlib's max_length), so a gzip bomb costs PIECE bytes of
memory per step, not its inflated size; once the decoded total would pass `limit`, the pieces up to the limit are
yielded and then BodyTooLarge is raised. A body that inflates more than MAX_RATIO times its encoded size, past
RATIO_FLOOR decoded bytes, is refused the same way, long before the limit: deflate tops out near 1030:1 on NUL
bytes, provider JSON and SSE stay under 100:1 even when one event repeats (a decompression-bomb check in the manner
of Apache POI's minimum inflate ratio). Corrupt data raises DecodeError after every piece decoded before the
corrupt point was yielded, so callers keep what arrived. Both are ValueErrors the caller turns into one line.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

PIECE = 1 << 16  # bytes inflated per step: the memory a bomb can take at once
MAX_RATIO = 500  # decoded bytes per encoded byte beyond which a body is a bomb ...
RATIO_FLOOR = 16 << 20  # ... once this much was decoded (small bodies of one repeated byte are fine)
SUPPORTED = "gzip, deflate"  # the Accept-Encoding a client using this module may send


class DecodeError(ValueError):
    """The body is not valid data in its declared Content-Encoding (or the coding is unknown)."""


class BodyTooLarge(ValueError):
    """The decoded body passed the decoder's limit."""

    def __init__(self, limit: int, why: str = "") -> None:
        super().__init__(why or f"the body is larger than {_size(limit)} decoded")
        self.limit = limit


def _size(n: int) -> str:
    return f"{n / (1 << 20):.4g} MiB" if n >= 1 << 20 else f"{n} bytes"


class Decoder:
    """One response body's decoder; `coding` is the Content-Encoding header value (None or "" for identity)."""

    def __init__(self, coding: str | None, limit: int) -> None:
        codings = [c.strip().lower() for c in (coding or "").split(",") if c.strip().lower() not in ("", "identity")]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise DecodeError(f"unsupported Content-Encoding {coding.strip()!r}")  # type: ignore[union-attr]
        self.coding = codings[0] if codings else "identity"
        self.limit = limit
        self.total = 0  # decoded bytes yielded so far
        self._z: zlib._Decompress | None = None  # type: ignore[name-defined]
        self._raw = 0  # encoded bytes fed
        self._head = b""  # deflate: the first bytes, until we know whether the zlib wrapper is there

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Decoded pieces of `data` (held back only while a deflate body's first two bytes are unknown)."""
        if self.coding == "identity":
            yield from self._bounded(data)
            return
        self._raw += len(data)
        if self._z is None:
            if self.coding == "deflate" and len(self._head) + len(data) < 2:
                self._head += data
                return
            data, self._head = self._head + data, b""
            self._z = zlib.decompressobj(self._wbits(data))
        yield from self._inflate(data)

    def end(self) -> Iterator[bytes]:
        """The decoded rest; DecodeError when the encoded data ended before its end marker."""
        if self.coding == "identity" or not self._raw:
            return  # an empty body encodes nothing, whatever its Content-Encoding says
        if self._z is None:  # a one-byte deflate body
            self._z = zlib.decompressobj(self._wbits(self._head))
        yield from self._inflate(self._head)
        self._head = b""
        if not self._z.eof:
            raise DecodeError(f"the {self.coding} data ends early (after {self.total} decoded bytes)")

    def _wbits(self, head: bytes) -> int:
        if self.coding != "deflate":
            return 16 + zlib.MAX_WBITS
        zlib_wrapped = len(head) >= 2 and head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0
        return zlib.MAX_WBITS if zlib_wrapped else -zlib.MAX_WBITS

    def _inflate(self, data: bytes) -> Iterator[bytes]:
        z = self._z
        assert z is not None
        if z.eof:  # input after the end marker: another gzip member, or padding
            data = z.unused_data + data
        while True:
            if z.eof:
                if not data.startswith(b"\x1f\x8b") or self.coding == "deflate":
                    return  # bytes after the end marker that are not another gzip member: padding, ignored
                z = self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)  # the next member of a multi-member gzip
            before = z.copy()
            try:
                piece = z.decompress(data, PIECE)
            except zlib.error:
                yield from self._up_to_the_error(before, data)
            # at the end marker the rest is in unused_data (and, with max_length, in unconsumed_tail too: not twice)
            data = z.unused_data if z.eof else z.unconsumed_tail
            if piece:
                yield from self._bounded(piece)
                if self.total > RATIO_FLOOR and self.total > MAX_RATIO * (self._raw - len(data)):
                    raise BodyTooLarge(self.limit, f"the {self.coding} data inflates more than {MAX_RATIO}:1 "
                                                   f"(a decompression bomb), refused after {_size(self.total)}")
            elif not z.eof:
                return  # all input consumed and no output pending: wait for more

    def _up_to_the_error(self, z: zlib._Decompress, data: bytes) -> Iterator[bytes]:  # type: ignore[name-defined]
        """zlib drops a call's whole output when it meets corrupt data: inflate again, one input byte at a time
        (only on this error path), to yield everything before the corrupt byte, in pieces as usual, then raise."""
        kept = bytearray()
        for i in range(len(data)):
            try:
                kept += z.decompress(data[i:i + 1])  # one deflate byte inflates to a few KiB at most
            except zlib.error as exc:
                yield from self._bounded(bytes(kept))
                raise DecodeError(f"corrupt {self.coding} data after {self.total} decoded bytes ({exc})") from None
            if len(kept) >= PIECE:
                yield from self._bounded(bytes(kept))
                kept.clear()
        raise DecodeError(f"corrupt {self.coding} data after {self.total} decoded bytes")  # (not reached)

    def _bounded(self, piece: bytes) -> Iterator[bytes]:
        room = self.limit - self.total
        if len(piece) > room:
            if room > 0:
                self.total += room
                yield piece[:room]
            raise BodyTooLarge(self.limit)
        self.total += len(piece)
        if piece:
            yield piece


class Truncating:
    """A body wanted only up to `limit` bytes each way, raw and decoded (an error response's): feed raw bytes until
    feed() says enough; body() is what decoded. Corrupt or unknown encodings keep what decoded (or the raw bytes):
    an error status says more than its body anyway."""

    def __init__(self, coding: str | None, limit: int) -> None:
        try:
            self._decoder = Decoder(coding, limit)
        except DecodeError:
            self._decoder = Decoder(None, limit)
        self._limit = limit
        self._parts: list[bytes] = []
        self._raw = 0
        self._done = False

    def feed(self, raw: bytes) -> bool:
        """Take raw bytes; True once enough was read."""
        self._raw += len(raw)
        self._take(self._decoder.feed(raw))
        return self._done or self._raw >= self._limit

    def body(self) -> bytes:
        self._take(self._decoder.end())
        return b"".join(self._parts)

    def _take(self, pieces: Iterator[bytes]) -> None:
        if self._done:
            return
        try:
            for piece in pieces:
                self._parts.append(piece)
        except (DecodeError, BodyTooLarge):
            self._done = True
