"""`aimux ask`'s pump: the response body's bytes as they arrive -> events (the parser sniffed from the first bytes,
as prettify --follow sniffs stdin) -> the folder -> the view. Used by aimux_cli/commands/ask.py (`Exchange`).
"""

from __future__ import annotations

from aimux_cli import streams, wire as wires
from aimux_cli.errors import InputError
from aimux_cli.eventstream import EventStreamParser
from aimux_cli.live import View, feed_events, parser_warnings

_PARSERS = {"sse": streams.SSEParser, "ndjson": streams.NDJSONParser, "json-array": streams.JSONArrayParser,
            "eventstream": EventStreamParser}  # AWS's binary frames (Bedrock ConverseStream)


class Pump:
    """Body bytes as they arrive -> events (the parser is sniffed from the first bytes) -> the folder -> the view.

    A body that turns out to be one JSON document (a non-stream answer, or a server that ignored `stream`) is
    buffered and normalized whole at `close()`, its blocks then shown like deltas."""

    def __init__(self, folder: wires.StreamFolder, view: View) -> None:
        self.folder, self.view = folder, view
        self.head = streams.Head()  # the first bytes, until they tell the kind; all of a whole JSON body
        self.kind: str | None = None
        self.parser = None
        self.doc = None  # set by close() for a whole JSON body

    def feed(self, chunk: bytes) -> None:
        if self.parser is None:
            if self.kind == "json":  # kept whole (`bytes +=` copied all of it per read)
                self.head.data += chunk
                return
            if not self.head.add(chunk):
                return
            self.kind = streams.sniff(self.head.data)
            if self.kind == "json":
                return
            self.parser = _PARSERS[self.kind]()
            chunk, self.head = bytes(self.head.data), streams.Head()
        feed_events(self.folder, self.view, self.kind, self.parser.feed(chunk))

    def close(self, complete: bool) -> None:
        """End of the body; `complete` is False when it was cut short (a partial last event is then dropped)."""
        if self.parser is not None:
            try:
                feed_events(self.folder, self.view, self.kind, self.parser.close())
            except streams.StreamError:
                if complete:
                    raise
            finally:
                parser_warnings(self.folder, self.parser.warnings)  # the same `warnings` as prettify's
        elif self.head.data.strip():
            try:
                self._whole_body()
            except streams.StreamError:
                if complete:
                    raise
                # cut short inside a body that does not read: nothing of it can be shown, the cut is the error

    def _whole_body(self) -> None:
        """Read as prettify reads a body (a lone surrogate or a bad byte replaced with U+FFFD, with a warning)."""
        from aimux_cli.inputs import Source
        from aimux_cli.prettify import normalize

        body = Source("response", bytes(self.head.data))
        try:
            out = normalize(body, wire=self.folder.api, provider=self.folder.provider)
        except InputError:
            raise streams.StreamError("the response is neither JSON nor a stream") from None
        self.doc = out.document
        if self.doc is None:
            raise streams.StreamError("the response is not in the provider's format")
        self.view.blocks(self.doc.blocks)

    def document(self):
        if self.doc is not None:
            return self.doc
        return self.folder.document() if self.folder.acc is not None else None
