"""A transient `⠹ waiting for openai · 2.4 s` line on stderr while nothing has arrived yet (`aimux ask`).

Shown only on a terminal (the caller decides), from 0.15 s on so that a fast answer shows no flash, and erased
before anything else is written: `stop()` joins the drawing thread and clears the line; `pause()` clears it for a
moment so that a line can be written to stderr (a retry notice). The label is sanitized. No Rich: plain escape
sequences (carriage return, erase line), so `ask -f text` never imports it.
"""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager


class Waiting:
    """The waiting line, drawn by its own thread (the main thread is blocked reading the network); see the module
    docstring."""

    FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

    def __init__(self, label: str, *, delay: float = 0.15, period: float = 0.1) -> None:
        from aimux_cli.render.sanitize import for_terminal

        self.label = for_terminal(label)
        self.delay, self.period = delay, period
        self.t0 = time.monotonic()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._drawn = False
        self._thread = threading.Thread(target=self._run, name="aimux-waiting", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        frame = 0
        if self._stop.wait(self.delay):
            return
        while not self._stop.is_set():
            with self._lock:
                if self._stop.is_set():
                    return
                elapsed = time.monotonic() - self.t0
                self._write(f"\r\x1b[2K{self.FRAMES[frame % len(self.FRAMES)]} {self.label} · {elapsed:.1f} s")
                self._drawn = True
            frame += 1
            self._stop.wait(self.period)

    def _write(self, text: str) -> None:
        try:
            sys.stderr.write(text)
            sys.stderr.flush()
        except (OSError, ValueError):
            self._stop.set()

    def _erase(self) -> None:
        if self._drawn:
            self._write("\r\x1b[2K")
            self._drawn = False

    @contextmanager
    def pause(self):
        with self._lock:
            self._erase()
            yield

    def stop(self) -> None:
        if self._stop.is_set() and not self._thread.is_alive() and not self._drawn:
            return
        self._stop.set()
        with self._lock:
            self._erase()
        self._thread.join()
