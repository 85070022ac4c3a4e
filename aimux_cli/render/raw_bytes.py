"""`-f raw` output (`ask -f raw`, `aimux logs show -f raw`): a provider's bytes as they were received.

Into a pipe or a file they are written exactly, so that `aimux ask -f raw > case.sse` records a fixture and
`aimux logs show 12 -f raw | aimux prettify` reads the exchange again. On a terminal they are decoded as UTF-8 (bytes
that are not UTF-8 shown as `\\xNN`), across chunk boundaries, and passed through the sanitizer: a provider's bytes
are untrusted like model output (a raw ESC in an SSE comment, a C1 CSI U+009B that JSON lets through unescaped, the
binary frames of a Bedrock event stream), and nothing in them may act on the terminal.
"""

from __future__ import annotations

import sys

from aimux_cli import output


class RawWriter:
    """Write the bytes of one response, chunk by chunk; `close()` after the last (a character cut at the end)."""

    def __init__(self) -> None:
        self._tty: bool | None = None
        self._decoder = None

    def write(self, data: bytes, *, final: bool = False) -> None:
        if self._tty is None:
            try:
                self._tty = sys.stdout is not None and sys.stdout.isatty()
            except (AttributeError, ValueError):
                self._tty = False
        if not self._tty:
            if data:
                output.write_bytes(data, flush=True)
            return
        if self._decoder is None:
            import codecs

            self._decoder = codecs.getincrementaldecoder("utf-8")("backslashreplace")
        text = self._decoder.decode(data, final=final)
        if text:
            from aimux_cli.render.sanitize import for_terminal

            output.write(for_terminal(text), flush=True)

    def close(self) -> None:
        self.write(b"", final=True)
