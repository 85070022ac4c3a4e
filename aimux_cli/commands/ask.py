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

The request (commands/ask_input.py): prompt and system text, plus the extras of issue 11 (-o, --body, --tool,
--tool-choice, --schema, --reasoning, -a) built per wire by request.py. `-v` shows the exchange on stderr
(aimux_cli/exchange_view.py); `--curl` / `--dry-run` print the request and send nothing (aimux_cli/curl.py).
With --schema the complete answer is validated (aimux_cli/schema_check.py; commands/ask_finish.py).
Several providers (`-p a,b`) or `--fallback` are commands/ask_many.py's.

Exit codes (errors.py): 0; 2 usage; 3 config (unknown provider, missing key); 5 auth (401/403); 6 rate limit after
retries; 7 any other provider error, an error event inside a stream included; 8 network failure or timeout before
any answer; 9 an answer cut short (connection dropped, silence longer than --timeout, or a stream that ended
without its terminal event): what arrived is printed first; 11 the answer does not validate against --schema
(printed first). Retries (client.py) never happen once a byte was shown.
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

from aimux_cli.commands import ask_log
from aimux_cli.commands.ask_exchange import Exchange, _type_message, new_exchange, unsent  # noqa: F401 - tests
from aimux_cli.commands.ask_finish import finish, interrupted
from aimux_cli.commands.ask_input import (  # noqa: F401 - build_prompt, read_stdin: tests
    AskOptions, build_prompt, check_options, gather, prepare, read_stdin,
)
from aimux_cli.commands.ask_pump import Pump  # noqa: F401 - the fuzz tests and bench_ask pump as ask pumps
from aimux_cli.live import INTERRUPTS, View


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
    check_options(opts)
    messages, system = gather(opts, env.stdin_isatty, state)
    resolved, prepared = prepare(opts, opts.provider, messages, system)
    if opts.curl or opts.dry_run:  # nothing is sent, so nothing is logged
        return unsent(prepared, resolved, env, curl=opts.curl)
    if opts.verbose:
        from aimux_cli.exchange_view import request_lines, show

        show(request_lines(prepared), env)
    waiting = None if opts.debug or not env.interactive("stderr") else f"waiting for {prepared.provider}"
    exchange = state["exchange"] = new_exchange(opts, env, resolved, prepared, fmt == "raw")
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
