"""`aimux ask`: prompt (+ stdin context) -> one provider request -> the answer, as it streams -> an exit code.

Input: the PROMPT words joined with spaces. Piped stdin is context: its text first, then a blank line, then the
prompt; stdin alone is the prompt; neither is a usage error (exit 2). Stdin is read only when it is not a terminal
(give `< /dev/null` in scripts whose stdin is a pipe that never closes).

Output, by `--format` (default `rich` on a terminal, `text` when piped):

- `rich`: the answer drawn as Markdown while it streams (finished blocks printed once, only the growing tail
  redrawn), tool calls growing as they stream then drawn as prettify draws them; thinking dimmed on stderr when it
  is a terminal; then a footer on stderr: model, tokens in/out, time to first token, total time, output tokens per
  second (and the finish reason when it is not a normal stop).
- `text`: the answer text written to stdout as it arrives, flushed per chunk, exact bytes into a pipe (sanitized on
  a terminal), then one `tool NAME ARGUMENTS-AS-JSON` line per tool call. Thinking goes to stderr, labelled
  `thinking: ` and ended by a newline, only when stderr is a terminal, so `ask … > out 2> log` keeps the log for
  errors (`--thinking hide` drops it, `--thinking stdout` writes it before the answer). This is `prettify
  --follow`'s progress view (aimux_cli/live.py), reused as it is.
- `toon` / `json`: the aimux response document (the prettify contract) once the answer is complete, with a
  `client` section: what aimux measured (time to the first token, total time, attempts); while it streams, the
  text is shown on stderr when stderr is a terminal.
- `raw`: the provider's body bytes exactly as received, written as they arrive: `aimux ask -f raw > case.sse`
  records a fixture that `aimux prettify case.sse` reads back to the same document. For an HTTP error, the
  error body (with the key scrubbed) is written, so error fixtures can be recorded too.

Exit codes (errors.py): 0; 2 usage; 3 config (unknown provider, missing key); 5 auth (401/403); 6 rate limit after
retries; 7 any other provider error, an error event inside a stream included; 8 network failure or timeout before
any answer; 9 an answer cut short (connection dropped, silence longer than --timeout, or a stream that ended
without its terminal event): what arrived is printed first. Retries (client.py) never happen once a byte was shown.
Every error is one line: provider, HTTP status, the provider's error type and message, with the key scrubbed.
130 for Ctrl-C: the view is closed (what was drawn stays, once), then `aimux: interrupted after 1.23 s: MODEL · N
chunks, C characters so far` on stderr.

The log (commands/ask_log.py, aimux_cli/logdb.py): once the request is prepared, the exchange is written to the
local log whatever its outcome (not with --no-log or `log = false`); a log that cannot be written is one warning and
never changes the exit code. `-c/--continue` and `--cid ID` send a logged conversation's earlier turns first.

On a terminal, stderr shows a transient `waiting for PROVIDER · 1.2 s` line until the first token (with
`--no-stream`, until the answer); never into a pipe, nor with --debug. ask closes what it opens, so the process
ends as soon as its output is flushed (aimux_cli/fastexit.py).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

from aimux_cli import output, streams, wire as wires
from aimux_cli.commands import ask_log
from aimux_cli.commands.ask_pump import Pump
from aimux_cli.live import INTERRUPTS, View, interrupted_line
from aimux_cli.present import dumps_json, scrubbed, warn
from aimux_cli.errors import (
    AimuxError,
    AuthError,
    ExitCode,
    IncompleteError,
    InputError,
    ProviderError,
    RateLimitError,
    UsageError,
    exit_code_for_error,
)

@dataclass
class AskOptions:
    prompt: list[str] = field(default_factory=list)
    provider: str | None = None
    model: str | None = None
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    base_url: str | None = None
    timeout: float | None = None
    retries: int = 2
    stream: bool = True
    fmt: str | None = None
    color: bool | None = None
    debug: bool = False
    thinking: str = "show"  # show (stderr), hide, stdout
    log: bool = True  # write the exchange to the log (aimux_cli/logdb.py) unless the config says `log = false`
    cont: bool = False  # -c/--continue: the newest logged conversation's turns come first (commands/ask_log.py)
    cid: str | None = None  # --cid: this conversation's turns come first


def run(opts: AskOptions) -> int:
    """Run one ask; returns 0 or raises an AimuxError carrying the exit code (cli.main prints its line).

    Once a request was prepared, the exchange is logged whatever its outcome (logdb.record never raises)."""
    state: dict = {}
    code: int | None = None
    try:
        code = _run(opts, state)
        return code
    except BaseException as exc:
        code = ask_log.exit_code_of(exc)
        raise
    finally:
        if state.get("exchange") is not None and opts.log:
            ask_log.record(state, code)


def _run(opts: AskOptions, state: dict) -> int:
    from aimux_cli import config, fastexit, request
    from aimux_cli.render.console import TerminalEnv

    fastexit.clean()  # ask closes its client and joins its threads: the process may end as soon as it is flushed
    env = TerminalEnv.detect(color_flag=opts.color)
    fmt = opts.fmt or ("rich" if env.stdout_isatty else "text")
    if opts.timeout is not None and opts.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    prompt = state["prompt"] = build_prompt(opts.prompt, None if env.stdin_isatty else read_stdin())
    overrides = {k: v for k, v in (("model", opts.model), ("base_url", opts.base_url), ("timeout", opts.timeout))
                 if v is not None}
    resolved = config.resolve(opts.provider, overrides)
    messages, system = [{"role": "user", "content": prompt}], opts.system
    if opts.cont or opts.cid:
        state["conversation"], earlier, kept = ask_log.history(opts.cid)
        messages, system = earlier + messages, system or kept
    else:
        state["conversation"] = ask_log.new_conversation()
    state["system"] = system
    prepared = request.build(resolved, messages=messages, system=system, temperature=opts.temperature,
                             max_tokens=opts.max_tokens, stream=opts.stream)
    if opts.thinking not in ("show", "hide", "stdout"):
        raise UsageError("--thinking must be show, hide or stdout")
    waiting = None if opts.debug or not env.interactive("stderr") else f"waiting for {prepared.provider}"
    exchange = state["exchange"] = Exchange(prepared, resolved.wire, resolved.timeout, opts.retries, fmt == "raw")
    exchange.model = resolved.model
    exchange.log = opts.log
    with INTERRUPTS:  # from here on, Ctrl-C ends in interrupted(): the view closed, a note, exit 130
        view = exchange.view = state["view"] = View(fmt, env, opts.thinking, waiting)
        try:
            doc, cut = exchange.run(view)
        except KeyboardInterrupt:
            return interrupted(view, exchange)
        except BaseException:
            view.close(None)
            raise
        try:
            view.close(doc)
        except KeyboardInterrupt:
            return interrupted(view, exchange)
    return finish(doc, cut, fmt, env, view, exchange)


def build_prompt(words: list[str], stdin_text: str | None) -> str:
    """The prompt: stdin context, a blank line, then the PROMPT words; either alone; neither is a usage error."""
    prompt = " ".join(words).strip()
    context = (stdin_text or "").rstrip("\n")
    if not context.strip():
        context = ""
    if not prompt and not context:
        raise UsageError("no prompt: give the prompt as arguments (aimux ask \"...\") or pipe it on stdin")
    if context and prompt:
        return f"{context}\n\n{prompt}"
    return prompt or context


def read_stdin() -> str:
    """All of piped stdin as text (InputError, exit 4, for invalid UTF-8)."""
    from aimux_cli.inputs import read_source

    if sys.stdin is None:  # fd 0 closed: no context, like a terminal
        return ""
    data = read_source("-").data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"<stdin>: invalid UTF-8 at byte {exc.start}") from None


class Exchange:
    """One request through client.py, its body pumped into the view; HTTP errors become one-line AimuxErrors."""

    def __init__(self, prepared, wire: str, timeout: float, retries: int, raw: bool) -> None:
        self.prepared, self.wire, self.timeout, self.retries, self.raw = prepared, wire, timeout, retries, raw
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
            for chunk in s:
                self.received.append(chunk)
                if self.raw:
                    self._arrived()
                    output.write_bytes(chunk, flush=True)
                pump.feed(chunk)

    def _send(self, client, pump: Pump) -> None:
        response = client.send(self.prepared, timeout=self.timeout, retries=self.retries, on_retry=self._on_retry)
        self.t_start = response.timing.t_start
        self.status, self.headers = response.status, response.headers
        self.received.append(response.body)
        if self.raw:
            self._arrived()
            output.write_bytes(response.body, flush=True)
        pump.feed(response.body)

    def _on_retry(self, attempt: int, delay: float, reason: str) -> None:
        self.attempts = attempt + 1
        line = f"{self.prepared.provider}: {reason}; retry {attempt} of {self.retries} in {delay:.2f} s"
        if self.view is None:
            warn(line)
        else:
            with self.view.note():
                warn(line)

    def _arrived(self) -> None:
        if self.view is not None:
            self.view.arrived()

    def _http_failure(self, exc: AimuxError) -> AimuxError:
        """The final HTTP error as one line: provider, status, attempts, the provider's error type and message."""
        status, body = exc.status, getattr(exc, "body", b"") or b""  # type: ignore[attr-defined]
        if self.raw and body:
            self._arrived()
            output.write_bytes(body, flush=True)
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


def finish(doc, cut: IncompleteError | None, fmt: str, env, view: View, exchange: Exchange) -> int:
    """After the body: the document (toon/json), the footer (rich), then the exit code of what happened."""
    provider = exchange.prepared.provider
    if doc is None:
        if cut is not None:
            raise cut
        raise IncompleteError(f"{provider}: the response ended before any answer arrived")
    skipped = exchange.pump.folder.skipped if exchange.pump is not None else 0
    if skipped:  # as prettify (and prettify --follow) says it of the same bytes
        warn(f"{provider}: skipped {skipped} event(s) whose data was not JSON")
    data = doc.to_dict()
    if fmt in ("json", "toon"):
        data["client"] = client_timing(view.first_delta, exchange)
    if fmt == "json":
        output.write(dumps_json(data) + "\n")
    elif fmt == "toon":
        from aimux_cli.toon import encode

        output.write(encode(data) + "\n")
    elif fmt == "rich":
        footer(doc, env, view, exchange)
    elif fmt == "text" and doc.status != "error":  # an error document gets its own line below
        from aimux_cli.present import text_notes

        text_notes(doc)  # what else the answer was (a refusal, warnings, content filtering), on stderr
    if cut is not None:
        raise IncompleteError(f"{cut}; what arrived is printed above")
    if doc.status == "error":
        err = doc.error
        status = err.get("status")
        where = f"HTTP {status}" if status else "error in the response"
        line = f"{provider}: {where}: {_type_message(err) or 'no details given'}"
        raise AimuxError(_scrub(line, exchange.prepared), exit_code=exit_code_for_error(err))
    if doc.status == "incomplete":
        raise IncompleteError(f"{provider}: the stream ended before its terminal event: the answer is incomplete")
    return int(ExitCode.OK)


def client_timing(first_delta: float | None, exchange: Exchange) -> dict:
    """What aimux measured itself (the footer's figures): time to the first visible token of a stream, the whole
    exchange, and the attempts it took, in seconds from the start of the request that succeeded."""
    t0, t_end = exchange.t_start, exchange.t_end or time.monotonic()
    timing = {}
    if first_delta is not None and exchange.prepared.stream:
        timing["first_token_s"] = round(first_delta - t0, 4)
    timing["total_s"] = round(t_end - t0, 4)
    timing["attempts"] = exchange.attempts
    return timing


def interrupted(view: View, exchange: Exchange) -> int:
    """Ctrl-C: the view is closed (what was drawn stays, once), then one line on stderr with what had arrived."""
    INTERRUPTS.restore()  # a second Ctrl-C now ends aimux at once
    exchange.t_end = exchange.t_end or time.monotonic()
    try:
        view.close(None, interrupted=True)
    except KeyboardInterrupt:
        pass
    doc = exchange.pump.document() if exchange.pump is not None else None
    line = interrupted_line(exchange.t_end - exchange.t_start, doc, view.deltas, "chunks", view.chars)
    from aimux_cli.render.sanitize import for_terminal

    sys.stderr.write(f"aimux: {for_terminal(scrubbed(line))}\n")
    sys.stderr.flush()
    return int(ExitCode.INTERRUPTED)


def footer(doc, env, view: View, exchange: Exchange) -> None:
    """One dimmed line on stderr: model · tokens · time to first token · total time · tokens per second."""
    from rich.text import Text

    from aimux_cli.render.sanitize import for_terminal

    env.stderr_console.print(Text(for_terminal(footer_text(doc, view.first_delta, exchange)), style="dim"),
                             soft_wrap=True)


def footer_text(doc, first_delta: float | None, exchange: Exchange) -> str:
    usage = doc.usage or {}
    t0, t_end = exchange.t_start, exchange.t_end or time.monotonic()
    parts = [doc.model or exchange.prepared.provider]
    if "input_tokens" in usage or "output_tokens" in usage:
        parts.append(f"{usage.get('input_tokens', '?')} in / {usage.get('output_tokens', '?')} out tokens")
    if first_delta is not None and exchange.prepared.stream:
        parts.append(f"first token {first_delta - t0:.2f} s")
    parts.append(f"total {t_end - t0:.2f} s")
    out = usage.get("output_tokens")
    start = first_delta if first_delta is not None and exchange.prepared.stream else t0
    if isinstance(out, int) and out > 0 and t_end > start:
        parts.append(f"{out / (t_end - start):.1f} tok/s")
    if doc.finish not in (None, "stop"):
        parts.append(f"finish {doc.finish}")
    return " · ".join(parts)
