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

from aimux_cli.commands import ask_log
from aimux_cli.commands.ask_exchange import Exchange, _type_message  # noqa: F401 - _type_message: tests
from aimux_cli.commands.ask_finish import finish
from aimux_cli.commands.ask_pump import Pump  # noqa: F401 - the fuzz tests and bench_ask pump as ask pumps
from aimux_cli.errors import ExitCode, InputError, UsageError
from aimux_cli.live import INTERRUPTS, View, interrupted_line
from aimux_cli.present import scrubbed


@dataclass
class AskOptions:
    prompt: list[str] = field(default_factory=list)
    provider: str | None = None  # the first of `providers`
    providers: list[str] = field(default_factory=list)  # -p a,b,c or -p repeated: fanned out (commands/ask_many.py)
    fallback: list[str] = field(default_factory=list)  # --fallback NAME, repeatable: tried in order (ask_many.py)
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

    Once a request was prepared, the exchange is logged whatever its outcome (logdb.record never raises).
    Several providers or --fallback go to commands/ask_many.py."""
    if len(opts.providers) > 1 or opts.fallback:
        from aimux_cli.commands.ask_many import run_many

        return run_many(opts)
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
    from aimux_cli import fastexit
    from aimux_cli.render.console import TerminalEnv

    fastexit.clean()  # ask closes its client and joins its threads: the process may end as soon as it is flushed
    env = TerminalEnv.detect(color_flag=opts.color)
    fmt = opts.fmt or ("rich" if env.stdout_isatty else "text")
    if opts.timeout is not None and opts.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    messages, system = gather(opts, env.stdin_isatty, state)
    resolved, prepared = prepare(opts, opts.provider, messages, system)
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


def gather(opts: AskOptions, stdin_isatty: bool, state: dict) -> tuple[list[dict], str | None]:
    """The turns to send, once for every provider: the earlier turns of a continued conversation, then the prompt
    (stdin context + PROMPT); and the system prompt. Fills state's prompt, conversation and system for the log."""
    prompt = state["prompt"] = build_prompt(opts.prompt, None if stdin_isatty else read_stdin())
    messages, system = [{"role": "user", "content": prompt}], opts.system
    if opts.cont or opts.cid:
        state["conversation"], earlier, kept = ask_log.history(opts.cid)
        messages, system = earlier + messages, system or kept
    else:
        state["conversation"] = ask_log.new_conversation()
    state["system"] = system
    return messages, system


def prepare(opts: AskOptions, provider: str | None, messages: list[dict], system: str | None):
    """-> (ResolvedProvider, PreparedRequest) of `provider` (None: the config's default) for these turns, with
    opts' request options (--model, --base-url, --timeout, the request extras). ConfigError (3) for an unknown
    provider or a missing key."""
    from aimux_cli import config, request

    overrides = {k: v for k, v in (("model", opts.model), ("base_url", opts.base_url), ("timeout", opts.timeout))
                 if v is not None}
    resolved = config.resolve(provider, overrides)
    prepared = request.build(resolved, messages=messages, system=system, temperature=opts.temperature,
                             max_tokens=opts.max_tokens, stream=opts.stream)
    return resolved, prepared


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


