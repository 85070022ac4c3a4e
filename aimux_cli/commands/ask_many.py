"""`aimux ask` with several providers (issue 11): `-p a,b,c` asks each at once; `--fallback NAME` tries them in
order until one answers. commands/ask.py's run() calls `run_many(opts)` for either.

Both start as a single ask does (commands/ask_input.py): the prompt, stdin and the request extras are read once,
then every provider's request is prepared before anything is sent, so an unknown provider or a missing key is exit
3 with nothing sent. `--curl` / `--dry-run` print every provider's request (curl commands under `# NAME` comment
lines; request bodies one after another, a stream of JSON values that `jq` reads).

Fan-out (`-p a,b,c`, or -p repeated): each request runs in a thread of its own through the same Exchange as a
single ask (retries per client.py, never once answer text arrived), its answer kept in a render/lane.py Lane.

- `rich` (a terminal): render/multi_view.py, one live panel per provider, then each answer once, whole, with its
  footer (model, tokens, time to first token, total time, tokens per second, cost when reported, attempts).
- `text`: each answer under a `== NAME ==` line, in the order given, each printed once it is complete (a blank line
  between two), its tool calls as `tool NAME ARGUMENTS` lines; a provider that failed has its one-line error there
  (after what arrived from it). Refusals and warnings go to stderr, named by provider. A transient `waiting for …`
  line on stderr when it is a terminal.
- `json` / `toon`: a list of the documents, in the order given, each with its `client` section (timing, `provider`;
  for one that failed, `exit_code` and `error`). A provider that failed without a response document gets an error
  document: its error body as prettify reads it, else `{api, provider, status: error, finish: error, error}`.
- `raw`: a usage error (exit 2): the bytes of several responses cannot be one recording.

Exit code: 0 when every provider answered; else the highest exit code among the providers that failed (so 9, an
answer cut short, outranks 8, a network failure, then 7, 6, 5 and 1), after one `aimux: error:` line per failure on
stderr, in the order given. Ctrl-C: what arrived stays shown (the panels, or in `text` what each provider sent so
far), one `interrupted` line per provider still running, exit 130. Each provider's exchange is logged as a single
ask's is (commands/ask_log.py), each as a conversation of its own; `--continue` / `--cid` take one provider.

Fallback (`-p a --fallback b --fallback c`): a, then b, then c, each exactly as a single ask (same views, formats,
retries). The next is tried only when one failed before any answer was shown (an HTTP error, a network failure, a
response that ended, or carried an error, before its first token; with `-f raw`, before its first byte), never
after; stderr then says `aimux: warning: a: HTTP 503 …; falling back to b`. The footer names the provider that
answered, and so does the document: its `provider`, and `client.provider`, with `client.fallback` listing those that
failed first (their `provider`, `exit_code` and `error`). When all fail: the last one's error line and exit code.
"""

from __future__ import annotations

from aimux_cli import output
from aimux_cli.commands import ask_log
from aimux_cli.commands.ask_exchange import Exchange, new_exchange, unsent
from aimux_cli.commands.ask_input import AskOptions, check_options, gather, prepare
from aimux_cli.errors import AimuxError, UsageError
from aimux_cli.live import INTERRUPTS, View
from aimux_cli.present import scrubbed, warn


def run_many(opts: AskOptions) -> int:
    """Fan-out or fallback (see the module docstring); returns the exit code, or raises the last AimuxError of a
    fallback chain that failed (cli.main prints its line)."""
    from aimux_cli import fastexit
    from aimux_cli.render.console import TerminalEnv

    fastexit.clean()  # the threads are joined or left blocked on a socket the process closes: nothing to finalize
    env = TerminalEnv.detect(color_flag=opts.color)
    fmt = opts.fmt or ("rich" if env.stdout_isatty else "text")
    chain = check_usage(opts, fmt)
    state: dict = {}
    messages, system = gather(opts, env.stdin_isatty, state)
    plans = [prepare(opts, name, messages, system) for name in chain]  # exit 3 here, before anything is sent
    labels = lane_labels(plans)
    keys = [(prepared.provider, resolved.model) for resolved, prepared in plans]
    twice = next((n for n, key in enumerate(keys) if key in keys[:n]), None)
    if twice is not None:  # the default provider (no -p) named again with --fallback, or one model twice
        raise UsageError(f"provider {keys[twice][0]!r} is named twice (model {keys[twice][1]!r})")
    if opts.curl or opts.dry_run:  # nothing is sent, so nothing is logged
        for resolved, prepared in plans:
            if opts.curl:
                output.write(f"# {_clean(labels[plans.index((resolved, prepared))], env)}\n")
            unsent(prepared, resolved, env, curl=opts.curl)
        return 0
    if opts.fallback:
        return fallback(opts, env, fmt, plans, state, labels)
    from aimux_cli.commands.ask_fanout import fan_out

    return fan_out(opts, env, fmt, plans, state, labels)


def lane_labels(plans: list) -> list[str]:
    """What each provider is called in views, sections, documents and messages: its name, or NAME/MODEL when
    another of the run has the same provider (`-p openai/gpt-4.1,openai/gpt-4o` compares two models)."""
    providers = [prepared.provider for _, prepared in plans]
    return [f"{prepared.provider}/{resolved.model}" if providers.count(prepared.provider) > 1 else prepared.provider
            for resolved, prepared in plans]


def check_usage(opts: AskOptions, fmt: str) -> list:
    """The providers to ask, in order; a UsageError (exit 2) for what cannot be done with several."""
    many = len(opts.providers) > 1
    check_options(opts)
    if many and opts.fallback:
        raise UsageError("--fallback follows one provider (-p a --fallback b: b when a fails); -p a,b asks both "
                         "at once: give one or the other")
    if many and fmt == "raw":
        raise UsageError("-f raw takes one provider: the bytes of several responses cannot be one recording "
                         "(-f json gives a list of their documents)")
    if many and (opts.cont or opts.cid):
        raise UsageError("--continue and --cid take one provider (a conversation has one answer per turn); "
                         "with --fallback the provider that answers continues it")
    chain = [opts.provider, *opts.fallback] if opts.fallback else list(opts.providers)
    seen = set()
    for name in chain:
        if name in seen:
            raise UsageError(f"provider {name!r} is named twice")
        seen.add(name)
    return chain


def _clean(text: str, env) -> str:
    from aimux_cli.render.sanitize import for_terminal

    return for_terminal(text) if env.stdout_isatty else text


# --- fallback ------------------------------------------------------------------------------------------------------


class Attempt(Exchange):
    """One provider of a fallback chain. Unless it is the last, an HTTP error's body is not written with -f raw:
    the next provider's answer is the recording."""

    last = True
    label: str | None = None  # the footer names the provider that answered (ask_finish.footer_text)
    client_extra: dict = {}  # client.provider and client.fallback of the document (ask_finish.finish)

    def _http_failure(self, exc: AimuxError) -> AimuxError:
        raw, self.raw = self.raw, self.raw and self.last
        try:
            return super()._http_failure(exc)
        finally:
            self.raw = raw


class FallBack(Exception):
    """The provider failed before anything of an answer was shown: the next one may be tried."""

    def __init__(self, error: AimuxError) -> None:
        super().__init__(str(error))
        self.error = error


def fallback(opts: AskOptions, env, fmt: str, plans: list, state: dict, labels: list[str]) -> int:
    failed: list[dict] = []  # provider, exit_code, error of each that failed first
    for n, (resolved, prepared) in enumerate(plans):
        exchange = new_exchange(opts, env, resolved, prepared, fmt == "raw", cls=Attempt)
        exchange.last = n == len(plans) - 1
        exchange.label = labels[n]
        exchange.client_extra = {"provider": labels[n], **({"fallback": list(failed)} if failed else {})}
        attempt = {**state, "exchange": exchange}
        code: int | None = None
        try:
            code = _attempt(opts, env, fmt, exchange, attempt)
            return code
        except FallBack as exc:
            code = int(exc.error.exit_code)
            failed.append({"provider": labels[n], "exit_code": code, "error": scrubbed(str(exc.error))})
            warn(f"{exc.error}; falling back to {labels[n + 1]}")
        except BaseException as exc:
            code = ask_log.exit_code_of(exc)
            raise
        finally:
            if opts.log:
                ask_log.record(attempt, code)
    raise AssertionError("unreachable: the last provider of a chain never falls back")


def _attempt(opts: AskOptions, env, fmt: str, exchange: Attempt, state: dict) -> int:
    """One provider of the chain as a single ask; FallBack when it failed with nothing shown and is not the last."""
    from aimux_cli.commands import ask_finish

    if opts.verbose:
        from aimux_cli.exchange_view import request_lines, show

        show(request_lines(exchange.prepared), env)
    waiting = None if opts.debug or not env.interactive("stderr") else f"waiting for {exchange.prepared.provider}"
    with INTERRUPTS:
        view = exchange.view = state["view"] = View(fmt, env, opts.thinking, waiting)
        try:
            doc, cut = exchange.run(view)
        except KeyboardInterrupt:
            return ask_finish.interrupted(view, exchange)
        except AimuxError as exc:
            view.close(None)
            if not exchange.last and _nothing_shown(view, exchange):
                raise FallBack(exc) from None
            raise
        except BaseException:
            view.close(None)
            raise
        if not exchange.last and _nothing_shown(view, exchange):
            try:
                ask_finish.outcome(doc, cut, exchange)
            except AimuxError as exc:
                view.close(None)
                raise FallBack(exc) from None
        try:
            view.close(doc)
        except KeyboardInterrupt:
            return ask_finish.interrupted(view, exchange)
    return ask_finish.finish(doc, cut, fmt, env, view, exchange)


def _nothing_shown(view: View, exchange: Exchange) -> bool:
    """No answer text, thinking or tool call was shown (and with -f raw, no byte written)."""
    return view.first_delta is None and not (exchange.raw and exchange.received)
