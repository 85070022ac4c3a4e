"""`aimux ask -p a,b,c`: the same request to each provider at once, each in a thread of its own; the output as
commands/ask_many.py's docstring describes it (rich panels, `== NAME ==` text sections, a list of documents).

The providers' threads only fill their lanes (render/lane.py) and their exchanges; the main thread judges each
provider as it ends, draws, prints and logs, so nothing else writes to the terminal while the live view is up.
"""

from __future__ import annotations

import sys
import threading
import time
from contextlib import nullcontext

from aimux_cli import output
from aimux_cli.commands import ask_log
from aimux_cli.commands.ask_exchange import Exchange, new_exchange
from aimux_cli.errors import AimuxError, ExitCode, internal_error_line
from aimux_cli.live import INTERRUPTS, interrupted_line
from aimux_cli.present import scrubbed, warn
from aimux_cli.render.lane import Lane

TICK = 0.25  # seconds between looks at the providers when no view is drawn (an ending one wakes the loop at once)


class LaneExchange(Exchange):
    """A fan-out's exchange: a retry notice goes to `notify` (the lane's panel, or stderr) instead of ask's
    waiting line; with -v, the response's head is written under a `== NAME ==` line, one provider's at a time."""

    notify = staticmethod(warn)
    _stderr = threading.Lock()

    def _show_head(self) -> None:
        if self.verbose_env is None:
            return
        with LaneExchange._stderr:
            verbose_label(self.prepared.provider)
            super()._show_head()

    def _on_retry(self, attempt: int, delay: float, reason: str) -> None:
        self.attempts = attempt + 1
        self.notify(f"{self.prepared.provider}: {reason}; retry {attempt} of {self.retries} in {delay:.2f} s")


def interrupted_lines(lanes: list[Lane], exchanges: list[Exchange]) -> None:
    """After a Ctrl-C: one line per provider still running, with what had arrived from it."""
    from aimux_cli.render.sanitize import for_terminal

    now = time.monotonic()
    for lane, exchange in zip(lanes, exchanges):
        if lane.state != "interrupted":
            continue
        try:
            doc = exchange.pump.document() if exchange.pump is not None else None
        except Exception:  # its thread is still folding: the counts alone
            doc = None
        line = interrupted_line(now - exchange.t_start, doc, lane.deltas, "chunks", lane.chars)
        sys.stderr.write(f"aimux: {for_terminal(scrubbed(f'{lane.name}: {line}'))}\n")
    sys.stderr.flush()


def verbose_label(name: str) -> None:
    """-v with several providers: which provider the request or response lines below are from."""
    from aimux_cli.render.sanitize import for_terminal

    sys.stderr.write(f"== {for_terminal(name)} ==\n")
    sys.stderr.flush()


def failure_of(exc: BaseException) -> tuple[int, str]:
    """(exit code, one line) of an exception raised in a provider's thread."""
    if isinstance(exc, AimuxError):
        return int(exc.exit_code), str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return int(ExitCode.INTERRUPTED), "interrupted"
    return int(ExitCode.FAILURE), internal_error_line(exc)


class Run:
    """One provider of the fan-out: its lane, exchange and thread, then its document, exit code and error line."""

    def __init__(self, opts, env, resolved, prepared, wake: threading.Event, label: str | None = None) -> None:
        self.lane = Lane(label or prepared.provider, resolved.model)
        self.exchange = new_exchange(opts, env, resolved, prepared, False, cls=LaneExchange)
        self.exchange.view = self.lane
        self.wake = wake
        self.doc = self.cut = self.exc = None
        self.code: int | None = None  # set once judged
        self.error: str | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._work, name=f"ask {prepared.provider}", daemon=True)

    def _work(self) -> None:
        try:
            self.doc, self.cut = self.exchange.run(self.lane)
        except BaseException as exc:  # judged by the main thread
            self.exc = exc
        finally:
            self.done.set()
            self.wake.set()

    def judge(self, footer: bool) -> None:
        """The exit code and error line of what arrived; the lane is finished with them (and the footer)."""
        from aimux_cli.commands import ask_finish

        doc = self.doc
        if self.exc is not None:
            self.code, self.error = failure_of(self.exc)
            doc = _what_arrived(self.exchange.pump)
        else:
            try:
                self.code = ask_finish.outcome(doc, self.cut, self.exchange)
            except AimuxError as exc:
                self.code, self.error = int(exc.exit_code), str(exc)
        self.doc = doc
        self.lane.finish(doc=doc, footer=footer_line(doc, self.lane, self.exchange) if footer and doc else None,
                         error=self.error)


def _what_arrived(pump):
    """The document of what a failed exchange received, or None (nothing, or nothing readable)."""
    if pump is None or (pump.doc is None and pump.folder.acc is None):
        return None
    try:
        return pump.document()
    except Exception:  # a body that broke off where it cannot be folded: the error line says what happened
        return None


def fan_out(opts, env, fmt: str, plans: list, state: dict, labels: list[str] | None = None) -> int:
    """Ask every prepared provider at once; show, print and log as commands/ask_many.py says; the exit code."""
    wake = threading.Event()
    labels = labels or [prepared.provider for _, prepared in plans]
    runs = [Run(opts, env, resolved, prepared, wake, label) for (resolved, prepared), label in zip(plans, labels)]
    view, waiting = _views(opts, env, fmt, runs)
    printer = Printer(runs, env, opts.thinking, waiting) if fmt == "text" else None
    interrupted = False
    try:
        with INTERRUPTS:
            try:
                if view is not None:
                    with INTERRUPTS.drawing():
                        view.start()
                for run in runs:
                    run.thread.start()
                _loop(runs, wake, view, printer, waiting, fmt)
            except KeyboardInterrupt:
                interrupted = True
                INTERRUPTS.restore()  # a second Ctrl-C ends aimux at once
                for run in runs:
                    if run.code is None:
                        run.lane.finish(interrupted=True)
            finally:
                if waiting is not None:
                    waiting.stop()
            if view is not None:
                with INTERRUPTS.drawing():
                    view.close()
        if printer is not None:
            printer.flush()
        if fmt in ("json", "toon") and not interrupted:
            _documents(runs, fmt, env)
        return _end(runs, interrupted)
    finally:  # whatever happened (a closed pipe too), each exchange that was sent is logged
        if opts.log:
            _log(runs, state)


def _views(opts, env, fmt: str, runs: list[Run]):
    """(the multi-provider view for rich, the waiting line for stderr), each None when not drawn; where each run's
    retry notices go."""
    quiet = opts.debug or opts.verbose  # they write to stderr as the exchanges go: no live region then
    if opts.verbose:
        from aimux_cli.exchange_view import request_lines, show

        for run in runs:
            verbose_label(run.lane.name)
            show(request_lines(run.exchange.prepared), env)
    view = waiting = None
    if fmt == "rich":
        from aimux_cli.render.multi_view import MultiView

        view = MultiView(env.stdout_console, [run.lane for run in runs], thinking=opts.thinking, live=not quiet)
        if view.live_ok:
            for run in runs:
                run.exchange.notify = run.lane.retry
    if (view is None or not view.live_ok) and env.interactive("stderr") and not quiet:
        from aimux_cli.render.waiting import Waiting

        waiting = Waiting(_waiting_label(runs))
        for run in runs:
            run.exchange.notify = _paused(waiting, warn)
    return view, waiting


def _loop(runs: list[Run], wake: threading.Event, view, printer, waiting, fmt: str) -> None:
    pending = list(runs)
    while pending:
        wake.wait(view.period if view is not None and view.live_ok else TICK)
        wake.clear()
        for run in [run for run in pending if run.done.is_set()]:
            pending.remove(run)
            run.judge(footer=fmt == "rich")
        if waiting is not None:
            waiting.label = _waiting_label(pending)
        if printer is not None:
            printer.ready()
        if view is not None:
            with INTERRUPTS.drawing():
                view.refresh()


def _waiting_label(runs: list[Run]) -> str:
    from aimux_cli.render.sanitize import for_terminal

    return for_terminal("waiting for " + ", ".join(run.lane.name for run in runs))


def _paused(waiting, write):
    def note(line: str) -> None:
        with waiting.pause():
            write(line)
    return note


def _end(runs: list[Run], interrupted: bool) -> int:
    """The warnings and failures' lines, the Ctrl-C notes; the exit code."""
    for run in runs:
        skipped = run.exchange.pump.folder.skipped if run.exchange.pump is not None else 0
        if skipped:  # as a single ask says it
            warn(f"{run.lane.name}: skipped {skipped} event(s) whose data was not JSON")
    for run in runs:
        if run.error is not None:
            warn(run.error, error=True)
    if interrupted:
        interrupted_lines([run.lane for run in runs], [run.exchange for run in runs])
        return int(ExitCode.INTERRUPTED)
    return max((run.code or 0 for run in runs), default=0)


def _log(runs: list[Run], state: dict) -> None:
    """Each provider's exchange as a single ask logs its one, each a conversation of its own (the first keeps the
    id gather() made); one still running was interrupted (130)."""
    for n, run in enumerate(runs):
        if not run.thread.ident:  # never started: nothing was sent
            continue
        lane_state = {**state, "exchange": run.exchange, "view": run.lane,
                      "conversation": state["conversation"] if n == 0 else ask_log.new_conversation()}
        ask_log.record(lane_state, int(ExitCode.INTERRUPTED) if run.code is None else run.code)


def footer_line(doc, lane: Lane, exchange) -> str:
    """The panel's footer: ask's footer (model · tokens · first token · total · tok/s · finish), then the cost when
    the provider reported one, and the attempts when the request was retried."""
    from aimux_cli.commands.ask_finish import footer_text
    from aimux_cli.render.rich_view import cost_text

    line = footer_text(doc, lane.first_delta, exchange)
    if doc.cost is not None:
        line += f" · cost {cost_text(doc.to_dict())}"
    if exchange.attempts > 1:
        line += f" · {exchange.attempts} attempts"
    return line


# --- text ----------------------------------------------------------------------------------------------------------


class Printer:
    """`-f text`: each provider's section, in the order given, as soon as it and those before it are complete."""

    def __init__(self, runs: list[Run], env, thinking: str, waiting) -> None:
        self.runs, self.env, self.thinking, self.waiting = runs, env, thinking, waiting
        self.next = 0

    def ready(self) -> None:
        while self.next < len(self.runs) and self.runs[self.next].code is not None:
            self._print(self.runs[self.next])
            self.next += 1

    def flush(self) -> None:
        """After the last one, or a Ctrl-C: the sections not printed yet, with what arrived of them."""
        while self.next < len(self.runs):
            self._print(self.runs[self.next])
            self.next += 1

    def _print(self, run: Run) -> None:
        from aimux_cli.render.sanitize import for_terminal

        terminal = self.env.stdout_isatty
        head = f"{'' if run is self.runs[0] else chr(10)}== {run.lane.name} ==\n"
        text = section_text(run, self.thinking)
        if run.error is not None:
            text += f"aimux: error: {' '.join(run.error.splitlines())}\n"
        out = head + text
        with self.waiting.pause() if self.waiting is not None else nullcontext():
            output.write(for_terminal(out) if terminal else out, flush=True)
            if run.doc is not None:
                notes(run.lane.name, run.doc)


def section_text(run: Run, thinking: str) -> str:
    """What `ask -f text` prints of one answer: its text and `tool NAME ARGUMENTS` lines (the thinking first, with
    --thinking stdout); without a document (Ctrl-C), the text that arrived."""
    from aimux_cli.present import tool_lines
    from aimux_cli.render.text import render_text

    doc = run.doc
    if doc is None:
        with run.lane.lock:
            text = run.lane.text.full()
        return text + ("\n" if text and not text.endswith("\n") else "")
    out = ""
    if thinking == "stdout":
        kept = [b.get("text") for b in doc.blocks if b.get("type") == "thinking" and b.get("text")]
        out = "".join(f"thinking: {t}\n\n" for t in kept)
    return out + render_text(doc.to_dict()) + tool_lines(doc)


def notes(name: str, doc) -> None:
    """What else an answer was (a refusal, warnings, content filtering), on stderr, named by provider."""
    for block in doc.blocks:
        if block.get("type") == "refusal":
            warn(f"{name}: the model refused: {block.get('text', '')}")
    for message in doc.warnings:
        warn(f"{name}: {message}")
    if doc.safety:
        from aimux_cli.render.text import safety_notes

        for note in safety_notes({"safety": list(doc.safety)}):
            warn(f"{name}: {note}")


# --- json / toon ---------------------------------------------------------------------------------------------------


def _documents(runs: list[Run], fmt: str, env) -> None:
    from aimux_cli.present import write_data

    write_data([document(run) for run in runs], fmt, env)


def document(run: Run) -> dict:
    """One provider's entry of the list: its document (or an error document) with its `client` section."""
    from aimux_cli.commands.ask_finish import client_timing, schema_verdict

    data = run.doc.to_dict() if run.doc is not None else error_document(run)
    if run.doc is not None:
        verdict = schema_verdict(run.doc, run.cut, run.exchange.extras)
        if verdict is not None:
            data["schema"] = verdict.to_dict()
    client = client_timing(run.lane.first_delta, run.exchange)
    client["provider"] = run.lane.name
    if run.code:
        client["exit_code"] = run.code
        client["error"] = run.error
    data["client"] = client
    return data


def error_document(run: Run) -> dict:
    """A failed provider's document: its error body as prettify reads it, else a minimal error document."""
    import orjson

    from aimux_cli import wire as wires
    from aimux_cli.document import Document

    exchange = run.exchange
    status = exchange.status if exchange.error_body is not None else None  # an HTTP error's (Exchange.run)
    if exchange.error_body:
        try:
            doc = wires.parse_body(orjson.loads(exchange.error_body), api=exchange.wire,
                                   provider=run.lane.name, http_status=status)
        except Exception:  # not JSON, or not this wire's error shape: the minimal document says it
            doc = None
        if doc is not None and doc.status == "error":
            return doc.to_dict()
    error = {"status": status} if isinstance(status, int) else {}
    error["message"] = run.error
    return Document(exchange.wire, "error", "error", provider=run.lane.name, model=run.lane.model,
                    error=error).to_dict()
