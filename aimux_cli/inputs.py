"""Reading what the user gave us: files or stdin -> bytes -> JSON, with errors that name the place.

Contract: `read_source(name)` -> `Source(label, data)` or InputError; `load_json(source)` -> value or InputError whose
message names the file, line and column. No terminal or network I/O here beyond reading the named input.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import orjson

from aimux_cli.errors import InputError

# 19+ digits in a row may be an integer beyond 64 bits (or just digits inside a string: then the slow path is
# merely slower, never wrong). Mapping digits to "0" and the rest to " " and searching for a run is several times
# faster than a regex scan of the body.
_DIGIT_MAP = bytes(48 if 48 <= b < 58 else 32 for b in range(256))
_DIGIT_RUN = b"0" * 19

# Refuse bodies larger than this instead of exhausting memory; a real provider response is far smaller.
MAX_INPUT_BYTES = 256 * 1024 * 1024


class Source:
    """One input: its label and its bytes. A plain class: a dataclass costs a millisecond of start-up."""

    __slots__ = ("label", "data", "cut")

    def __init__(self, label: str, data: bytes, cut: bool = False) -> None:
        self.label = label  # file name as given, or "<stdin>"
        self.data = data
        self.cut = cut  # the input went on past MAX_INPUT_BYTES: `data` is its first MAX_INPUT_BYTES (read_source)

    def __repr__(self) -> str:
        return f"Source({self.label!r}, {len(self.data)} bytes)"


def read_source(name: str, *, keep_head: bool = False) -> Source:
    """Read a whole file (or stdin for "-"), refusing directories, unreadable files and oversize inputs; with
    `keep_head`, an input past MAX_INPUT_BYTES gives its first MAX_INPUT_BYTES with `cut` set instead (prettify
    shows what they hold before its error about the rest)."""
    if name == "-":
        if sys.stdin is None:  # started with fd 0 closed (some CI runners, `cmd <&-`)
            raise InputError("<stdin>: standard input is closed")
        return _read_limited(sys.stdin.buffer, "<stdin>", keep_head)
    try:
        if os.path.isdir(name):
            raise InputError(f"{name}: is a directory")
        with open(name, "rb") as fh:
            return _read_limited(fh, name, keep_head)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except PermissionError:
        raise InputError(f"{name}: permission denied") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None


def _read_limited(fh, label: str, keep_head: bool) -> Source:
    data = fh.read(MAX_INPUT_BYTES)
    cut = len(data) == MAX_INPUT_BYTES and bool(fh.read(1))  # no slice of the head: that would copy 256 MiB
    if cut and not keep_head:
        raise InputError(f"{label}: {TOO_LARGE}, refused")
    return Source(label, data, cut)


TOO_LARGE = f"input larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB"


def decode_utf8(source: Source) -> str:
    """The text of a source; invalid UTF-8 is an InputError naming the byte offset."""
    try:
        return source.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = exc.start
    # raised outside the except clause: the UnicodeDecodeError (as __context__) holds a copy of the whole body,
    # which a caller keeping this error (a partial JSON array, issue 9) would keep alive
    line, col = position(source.data, start)
    raise InputError(f"{source.label}: invalid UTF-8 at byte {start} (line {line}, column {col})")


def position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of a byte offset."""
    line = data.count(b"\n", 0, offset) + 1
    start = data.rfind(b"\n", 0, offset) + 1
    col = len(data[start:offset].decode("utf-8", "replace")) + 1
    return line, col


def load_json(source: Source) -> Any:
    """Parse a source as one JSON value; errors name the file, line and column."""
    data = source.data
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        raise InputError(f"{source.label}: empty input")
    value = exact_json(data)
    return _load_slow(source, data) if value is NOT_JSON else value


NOT_JSON = object()


def exact_json(data: bytes) -> Any:
    """orjson's value of `data`, or NOT_JSON when orjson refuses it or may have rounded an integer."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return NOT_JSON
    # orjson turns integers beyond 64 bits into floats, losing digits: the standard library keeps them. Checked
    # after parsing, so that a body that is not one value (an NDJSON stream) is not scanned for nothing.
    return NOT_JSON if _DIGIT_RUN in data.translate(_DIGIT_MAP) else value


def _load_slow(source: Source, data: bytes) -> Any:
    """orjson refuses valid JSON it cannot represent (integers beyond 64 bits, deep nesting) and reports
    positions in characters: re-parse with the standard library to accept the former and to name the place."""
    import json  # only for what orjson refuses: not worth its import on every run

    text = decode_utf8(Source(source.label, data))
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise InputError(f"{source.label}: JSON nested too deeply to process") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{source.label}: invalid JSON: {_describe(exc, text)} "
                         f"at line {exc.lineno}, column {exc.colno}") from None
    except ValueError as exc:  # e.g. int string conversion limits
        raise InputError(f"{source.label}: invalid JSON: {exc}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _describe(exc: ValueError, text: str) -> str:  # a json.JSONDecodeError
    if exc.pos >= len(text.rstrip()):
        return "unexpected end of input (truncated?)"
    message = exc.msg.removesuffix(" at")  # "Unterminated string starting at": the position follows anyway
    return message[0].lower() + message[1:]
