"""JSON arrays of stream chunks (Gemini `streamGenerateContent` without `alt=sse`): each element as soon as it is
complete. Part of aimux_cli/streams.py's contract (it re-exports `JSONArrayParser`); see its docstring.
"""

from __future__ import annotations

import re

import orjson

from .stream_decode import Decoder, Parser, StreamSyntaxError


_TOKEN = re.compile(r'[\[\]{},"]')


def _string_end(buf: str, pos: int) -> int:
    """The index of the quote that closes the string being scanned (from `pos` on), or -1 when it has not arrived.
    A quote closes it when an even number of backslashes precedes it. (A regular expression with a repeated
    escape group used memory in proportion to the escapes in a string: 8 MiB for 60,000 of them.)"""
    while True:
        quote = buf.find('"', pos)
        if quote < 0:
            return -1
        start = quote
        while start > 0 and buf[start - 1] == "\\":  # the opening quote, never a backslash, ends the run
            start -= 1
        if (quote - start) % 2 == 0:
            return quote
        pos = quote + 1


class JSONArrayParser(Parser):
    """Incremental top-level JSON array: each element as soon as it is complete.

    A scanner finds the structural characters with a regular expression (strings are skipped whole, so brackets,
    braces and escaped quotes inside them do not count) and tracks the depth; each element's text is then given to
    orjson, which does the real validation. Scalar elements are complete only at the next "," or "]".
    """

    def __init__(self) -> None:
        self._decoder = Decoder()
        self._buf = ""
        self._pos = 0  # scanned up to here
        self._lines_before = 0  # newlines in the text already dropped from _buf
        self._depth = 0
        self._in_string = False
        self._state = "before"  # "before" the "[", "inside", "after" the "]"
        self._start: int | None = None  # where the current element's text starts
        self._gap: int | None = None  # after a complete element: from here to the next "," or "]" must be blank
        self._trailing = False  # text after the closing "]" was seen (and noted)

    def feed(self, chunk: bytes) -> list[object]:
        text = self._decoder.decode(chunk)
        out: list[object] = []
        self._buf += text
        self._scan(out)
        self._trim()
        return out

    def close(self) -> list[object]:
        text = self._decoder.decode(b"", final=True)
        out: list[object] = []
        self._buf += text
        self._scan(out)
        if self._state == "inside":
            self.cut = True
            self.note(f"the stream ends inside the JSON array (line {self._line(len(self._buf))}): it was cut short")
        elif self._state == "before":
            self.note("not a JSON array")
        elif self._buf[self._pos :].strip() and not self._trailing:
            self.note(f"text after the JSON array ignored (line {self._line(self._pos)})")
        return out

    def _scan(self, out: list[object]) -> None:
        """Scan the buffer for structural characters; a bad element is skipped (noted) and the scan goes on."""
        buf = self._buf
        while True:
            if self._in_string:
                end = _string_end(buf, self._pos)
                if end < 0:
                    self._pos = len(buf)  # the string goes on in a later chunk
                    return
                self._pos, self._in_string = end + 1, False
                continue
            match = _TOKEN.search(buf, self._pos)
            if match is None:
                return
            i = match.start()
            self._pos = i + 1  # past the token first, so that a fault leaves the scan able to go on
            try:
                self._token(buf[i], i, out)
            except StreamSyntaxError as err:
                self.note(f"skipped {err}")

    def _token(self, char: str, i: int, out: list[object]) -> None:
        if self._state != "inside":
            if self._state == "before" and char == "[" and not self._buf[:i].strip():
                self._state, self._depth, self._start = "inside", 1, i + 1
                return
            self._pos = len(self._buf)  # not part of the array: skip it (close() says so once)
            if self._state == "after" and not self._trailing:
                self._trailing = True
                raise StreamSyntaxError("text after the JSON array", self._line(i))
            return
        elif char == '"':
            self._in_string = True
        elif char in "{[":
            self._depth += 1
            if self._depth == 2 and self._start is None:  # an element right after another one: take it anyway
                self._start, self._gap = i, None
                raise StreamSyntaxError("expected ',' between array elements", self._line(i))
        elif self._depth > 1:
            if char in "}]":
                self._depth -= 1
                if self._depth == 1:  # an object or array element just closed
                    start, self._start, self._gap = self._start, None, i + 1
                    self._emit(start, i + 1, out)
        elif char == ",":
            self._end_element(i, i + 1, out)
        elif char == "]":
            self._depth, self._state = 0, "after"
            self._end_element(i, None, out)

    def _end_element(self, i: int, next_start: int | None, out: list[object]) -> None:
        """At a depth-1 "," or "]": emit a pending scalar element, or check the gap after an emitted one."""
        start, gap = self._start, self._gap
        self._start, self._gap = next_start, None
        if start is not None and self._buf[start:i].strip():
            self._emit(start, i, out)
        elif gap is not None and self._buf[gap:i].strip():
            raise StreamSyntaxError("expected ',' between array elements", self._line(gap))

    def _emit(self, start: int, end: int, out: list[object]) -> None:
        # as UTF-8 bytes: orjson would otherwise cache them in the slice, and the slice is gone before the parse
        # (issue 9: a 1 MB element with one wide character was the buffer + slice + cache + value at once)
        data = self._buf[start:end].encode()
        try:
            out.append(orjson.loads(data))
        except orjson.JSONDecodeError as exc:
            line = self._line(start + len(data) - len(data.lstrip()))  # where the element itself begins
            raise StreamSyntaxError(f"invalid JSON array element: {exc.msg}", line) from None

    def _line(self, i: int) -> int:
        return self._lines_before + self._buf.count("\n", 0, i) + 1

    def _trim(self) -> None:
        """Drop the text no longer needed, so that memory stays bounded by the largest element."""
        keep = min(x for x in (self._start, self._gap, self._pos) if x is not None)
        if self._state == "before":
            keep = 0
        if keep:
            self._lines_before += self._buf.count("\n", 0, keep)
            self._buf = self._buf[keep:]
            self._pos -= keep
            self._start = None if self._start is None else self._start - keep
            self._gap = None if self._gap is None else self._gap - keep
