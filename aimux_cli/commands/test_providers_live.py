"""`aimux test-providers` on a terminal: each provider's row as soon as it finishes, under a transient spinner.

Contract: `check_live(targets, timeout, env) -> report` (the same report as `health.report`);
`repeat_live(targets, ...) -> runs per target` for --repeat/--watch, the summary table redrawn in place (Rich Live),
or with another format a run counter on stderr. The table header is
drawn at once with fixed column widths, then each provider's row as it finishes (so in the order they finish), then
the summary line. While checks run, one spinner line on stderr (frame, providers done, elapsed seconds) is redrawn
about ten times a second, erased before each row is drawn and at the end: the final screen holds the table alone.
Rows and spinner are drawn from the event loop's one thread, so they never race. Used only when stdout is a
terminal (rows only in the rich format); the spinner only when stderr is a terminal too.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from typing import Any

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
TICK = 0.1  # seconds between spinner frames
GAP = 3  # a column separator: " │ "


def check_live(targets: list, timeout: float, env: Any, *, rows: bool = True, log: bool = False,
               started: float | None = None) -> dict[str, Any]:
    """Check `targets`, drawing the table row by row (`rows`, with its summary) and the spinner; the report."""
    from aimux_cli import health
    from aimux_cli.render.check_table import grid_for, row, summary

    console = env.stdout_console
    checks = _checks_of(targets)
    widths = column_widths(targets, timeout, console.width)
    if rows:
        console.print(grid_for(widths, checks=checks))  # the header, before any result
    spinner = Spinner(len(targets)) if env.interactive("stderr") else None

    def on_result(index: int, result: Any) -> None:
        if spinner is not None:
            spinner.clear()
            spinner.done += 1
        if rows:
            grid = grid_for(widths, header=False, checks=checks)
            grid.add_row(*row(result.to_dict(), checks))
            console.print(grid)
        if spinner is not None:
            spinner.draw()

    async def run() -> list:
        ticking = asyncio.create_task(spinner.run()) if spinner is not None else None
        try:
            return await health.check_all(targets, timeout, on_result)
        finally:
            if ticking is not None:
                ticking.cancel()
            if spinner is not None:
                spinner.clear()

    results = asyncio.run(run())
    if log:  # once the spinner is gone: a warning about the log gets a line of its own
        from aimux_cli import health_log

        health_log.record(targets, results)
    report = health.report(results, started)
    if rows:
        console.print(summary(report))
    return report


def column_widths(targets: list, timeout: float, total: int) -> dict[str, int]:
    """Widths that fit every row to come: names and models are known up front, a latency is bounded by the
    deadline, and the error column takes the rest of the line (at least 20 cells)."""
    from rich.cells import cell_len

    from aimux_cli.render.sanitize import for_terminal

    step = max(len("complete"), cell_len(f"✓ {round(timeout * 1000) + 1000} ms"))
    widths = {
        "provider": max([len("provider")] + [cell_len(for_terminal(t.name)) for t in targets]),
        "model": min(40, max([len("model")] + [cell_len(for_terminal(t.model)) for t in targets])),
        "status": cell_len("✗ fail"), **{name: max(step, len(name)) for name in _checks_of(targets)},
    }
    widths["error"] = max(20, total - sum(widths.values()) - GAP * len(widths))
    return widths


def _checks_of(targets: list) -> tuple[str, ...]:
    from aimux_cli.health import CHECKS

    present = {name for t in targets for name in t.checks}
    return tuple(n for n in CHECKS if n in present)


def repeat_live(targets: list, timeout: float, env: Any, *, runs: int | None, interval: float,
                summarize: Callable[[list], dict], after_run: Callable[[list], None], rows: bool,
                watch: bool) -> list[list]:
    """Run the checks of `targets` `runs` times (None: until Ctrl-C), with the table of the summary so far redrawn
    in place after each run when `rows` (a terminal); the runs of each target. With `watch`, the first Ctrl-C stops
    the runs (the run in flight is dropped) and the summary follows; a second one interrupts (exit 130)."""
    import signal

    from aimux_cli import health_repeat
    from aimux_cli.render.check_table import summary, table

    live = None
    if rows:
        from rich.live import Live

        live = Live(console=env.stdout_console, auto_refresh=False, transient=False)
    # another format on a terminal: the spinner on stderr counts the runs until the report
    spinner = Spinner(len(targets), "runs") if live is None and env.interactive("stdout") and \
        env.interactive("stderr") else None

    async def main() -> list[list]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        history: list[list] = [[] for _ in targets]

        def on_run(index: int, results: list) -> None:
            history[index] = results
            after_run(history)
            if live is not None:
                report = summarize(history)
                live.update(_live_view(report, table, summary), refresh=True)
            if spinner is not None:
                spinner.done += 1

        def interrupted() -> None:
            stop.set()
            loop.remove_signal_handler(signal.SIGINT)  # a second Ctrl-C interrupts for good

        handled = False
        if watch:
            try:
                loop.add_signal_handler(signal.SIGINT, interrupted)
                handled = True
            except (NotImplementedError, RuntimeError):  # no loop signal handlers here (Windows): Ctrl-C is 130
                pass
        ticking = asyncio.create_task(spinner.run()) if spinner is not None else None
        try:
            return await health_repeat.probe(targets, timeout, runs=runs, interval=interval, on_run=on_run,
                                             stop=stop)
        finally:
            if handled:
                loop.remove_signal_handler(signal.SIGINT)
            if ticking is not None:
                ticking.cancel()
                spinner.clear()

    if live is None:
        return asyncio.run(main())
    with live:
        history = asyncio.run(main())
        if not any(history):  # stopped before any run ended: the (empty) summary still says so
            live.update(_live_view(summarize(history), table, summary), refresh=True)
    return history


def _live_view(report: dict, table: Callable, summary: Callable) -> Any:
    from rich.console import Group

    return Group(table(report), summary(report))


class Spinner:
    """One transient line on stderr: `⠋ checking N providers: D done, 1.2 s` (`D runs done` with --repeat)."""

    def __init__(self, total: int, unit: str = "") -> None:
        self.total, self.done, self.frame, self.t0 = total, 0, 0, time.monotonic()
        self.unit = unit  # what `done` counts when it is not providers ("runs")

    async def run(self) -> None:
        while True:
            self.draw()
            self.frame += 1
            await asyncio.sleep(TICK)

    def draw(self) -> None:
        noun = "provider" if self.total == 1 else "providers"
        done = f"{self.done} {self.unit} done" if self.unit else f"{self.done} done"
        elapsed = time.monotonic() - self.t0
        line = f"{FRAMES[self.frame % len(FRAMES)]} checking {self.total} {noun}: {done}, {elapsed:.1f} s"
        self._write(f"\r\x1b[2K{line}")

    def clear(self) -> None:
        self._write("\r\x1b[2K")

    @staticmethod
    def _write(text: str) -> None:
        try:
            sys.stderr.write(text)
            sys.stderr.flush()
        except (OSError, ValueError):  # a closed terminal must not end the checks
            pass
