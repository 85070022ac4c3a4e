"""`aimux ask`'s exchange: one PreparedRequest through client.py, its body pumped into the view as it arrives
(commands/ask_pump.py); an HTTP error becomes one line (provider, status, attempts, the provider's error type and
message, keys scrubbed). Used by commands/ask.py for one provider and by commands/ask_many.py for each of several.

With `verbose` (ask -v), the request is shown on stderr before it is sent and the status line and response headers
once they arrive, httpie-style (aimux_cli/exchange_view.py).
"""

from __future__ import annotations

import time

from aimux_cli import output, streams, wire as wires
from aimux_cli.commands import ask_log
from aimux_cli.commands.ask_pump import Pump
from aimux_cli.errors import AimuxError, AuthError, IncompleteError, ProviderError, RateLimitError
from aimux_cli.live import View
from aimux_cli.present import scrubbed, warn


class Exchange:
    """One request through client.py, its body pumped into the view; HTTP errors become one-line AimuxErrors."""

    def __init__(self, prepared, wire: str, timeout: float, retries: int, raw: bool) -> None:
        self.prepared, self.wire, self.timeout, self.retries, self.raw = prepared, wire, timeout, retries, raw
        self._raw_out = None  # -f raw: render.raw_bytes.RawWriter
        self.attempts = 1
        self.t_start = time.monotonic()
        self.t_end: float | None = None
        self.view: View | None = None
        self.pump: Pump | None = None  # kept for the note after a Ctrl-C: what arrived so far
        # for the log: the response's status and headers, its body as it arrived (or the error body)
        self.model: str | None = None
        self.status: int | None = None
        self.headers: dict[str, str] | None = None
        self.received: list[bytes] = []
        self.error_body: bytes | None = None
        self.log = False  # import the log's module (sqlite3, 2 ms) in a thread while the request is under way
        self.prefetch = None
        self.verbose_env = None  # ask -v: the TerminalEnv whose stderr shows the response's status and headers
        self.extras = None  # the request extras (request_extras.Extras): finish() validates against their schema

    def run(self, view: View):
        """-> (document or None, IncompleteError or None when the body was cut short)."""
        from aimux_cli import client

        if self.log:
            self.prefetch = ask_log.prefetch()
        folder = wires.StreamFolder(api=self.wire, provider=self.prepared.provider)
        pump = self.pump = Pump(folder, view)
        cut: IncompleteError | None = None
        try:
            if self.prepared.stream:
                self._stream(client, pump)
            else:
                self._send(client, pump)
        except IncompleteError as exc:
            cut = exc
        except (AuthError, RateLimitError, ProviderError) as exc:
            self.status, self.headers, self.error_body = exc.status, exc.headers, exc.body
            if getattr(exc, "status", None) is None:
                raise
            self._show_head()
            raise self._http_failure(exc) from None
        finally:
            self.t_end = time.monotonic()
        try:
            pump.close(complete=cut is None)
        except streams.StreamError as exc:
            raise ProviderError(f"{self.prepared.provider}: unreadable response: {exc}") from None
        return pump.document(), cut

    def _stream(self, client, pump: Pump) -> None:
        with client.stream(self.prepared, timeout=self.timeout, retries=self.retries, on_retry=self._on_retry) as s:
            self.t_start = s.timing.t_start
            self.status, self.headers = s.status, s.headers
            self._show_head()
            for chunk in s:
                self.received.append(chunk)
                if self.raw:
                    self._arrived()
                    self._write_raw(chunk)
                pump.feed(chunk)
            if self.raw:
                self._write_raw(b"", final=True)

    def _send(self, client, pump: Pump) -> None:
        response = client.send(self.prepared, timeout=self.timeout, retries=self.retries, on_retry=self._on_retry)
        self.t_start = response.timing.t_start
        self.status, self.headers = response.status, response.headers
        self._show_head()
        self.received.append(response.body)
        if self.raw:
            self._arrived()
            self._write_raw(response.body, final=True)
        pump.feed(response.body)

    def _on_retry(self, attempt: int, delay: float, reason: str) -> None:
        self.attempts = attempt + 1
        line = f"{self.prepared.provider}: {reason}; retry {attempt} of {self.retries} in {delay:.2f} s"
        if self.view is None:
            warn(line)
        else:
            with self.view.note():
                warn(line)

    def _show_head(self) -> None:
        """ask -v: the status line and the response headers, on stderr, before the answer."""
        if self.verbose_env is None:
            return
        from aimux_cli.exchange_view import response_lines, show

        if self.view is None:
            show(response_lines(self.status, self.headers), self.verbose_env)
        else:
            with self.view.note():
                show(response_lines(self.status, self.headers), self.verbose_env)

    def _write_raw(self, data: bytes, final: bool = False) -> None:
        """-f raw: exact bytes into a pipe or file, shown inert on a terminal (render/raw_bytes.py)."""
        if self._raw_out is None:
            from aimux_cli.render.raw_bytes import RawWriter

            self._raw_out = RawWriter()
        self._raw_out.write(data, final=final)

    def _arrived(self) -> None:
        if self.view is not None:
            self.view.arrived()

    def _http_failure(self, exc: AimuxError) -> AimuxError:
        """The final HTTP error as one line: provider, status, attempts, the provider's error type and message."""
        status, body = exc.status, getattr(exc, "body", b"") or b""  # type: ignore[attr-defined]
        if self.raw and body:
            self._arrived()
            self._write_raw(body, final=True)
        detail = _error_detail(body, self.wire, self.prepared.provider, status)
        tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        line = f"{self.prepared.provider}: HTTP {status}{tries}: {detail}" if detail else f"{exc}{tries}"
        return type(exc)(_scrub(line, self.prepared))


def _error_detail(body: bytes, wire: str, provider: str, status: int) -> str:
    """"type: message" of an error body, normalized by the wire parser; "" when the body says nothing usable."""
    import orjson

    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:  # client.py's own line says it: the text, or an HTML page's title and the URL
        return ""
    doc = wires.parse_body(value, api=wire, provider=provider, http_status=status)
    err = doc.error if doc is not None else {}
    return _type_message(err)


def _type_message(err: dict) -> str:
    kind = err.get("type") or err.get("code")
    message = " ".join(scrubbed(str(err.get("message") or "")).split())  # scrubbed before lines are joined
    return ": ".join(str(part) for part in (kind, message) if part)


def _scrub(line: str, prepared) -> str:
    from aimux_cli.request import redact

    return redact(line, prepared.secrets)


def new_exchange(opts, env, resolved, prepared, raw: bool, cls=None) -> Exchange:
    """An Exchange (or a subclass: `cls`) set up from ask's options: the one place that setup lives, for
    commands/ask.py and commands/ask_many.py alike (the log, -v, the --schema extras)."""
    exchange = (cls or Exchange)(prepared, resolved.wire, resolved.timeout, opts.retries, raw)
    exchange.model = resolved.model
    exchange.log = opts.log
    exchange.verbose_env = env if opts.verbose else None
    exchange.extras = opts.extras
    return exchange


def unsent(prepared, resolved, env, *, curl: bool) -> int:
    """--curl: the request as a runnable curl command; --dry-run: its body as indented JSON. Nothing is sent."""
    if curl:
        from aimux_cli.curl import command

        text, notes = command(prepared, resolved)
        for note in notes:
            warn(f"{prepared.provider}: {note}")
    else:
        from aimux_cli.present import dumps_json

        text = dumps_json(prepared.json_body)
    if env.stdout_isatty:
        from aimux_cli.render.sanitize import for_terminal

        text = for_terminal(text)
    output.write(text + "\n")
    return 0
