"""One input through `aimux prettify`, in process, in every output format; and the checks that it held.

Contract: `run_case(data, expect=())` -> a list of `Failure` (empty when the input was handled well).

The path is the CLI's: `aimux_cli.commands.prettify.run` with the options `aimux prettify -f FMT` builds, stdin,
stdout and stderr replaced by in-memory files, and the exceptions mapped to exit codes as `aimux_cli.cli.main`
maps them. Only Typer's argument parsing is skipped (it costs milliseconds and cannot see the input). The Rich view
is drawn by the console `TerminalEnv` builds, writing to the in-memory stdout at a fixed width (COLUMNS=100, no
colour).

A run fails on:
- `exception`: an exception escaped (cli.main would print "internal error", exit 1), named by its crash site:
  the exception type and the innermost aimux_cli frame (file:line);
- `exit-1`: exit code 1 without an exception (an output failure on an in-memory stdout is a bug too);
- `traceback`: "Traceback" on stderr;
- `slow`: a run over `TIME_LIMIT` seconds (CPU time of this process by default: other processes on a busy machine
  do not make a case fail; `benchmarks/fuzz.py --wall` uses the wall clock);
- `memory`: peak traced memory over 10x the input, or `MEMORY_FLOOR` for small inputs (only while tracemalloc
  traces: the runner starts it);
- `lost-text`: one of `expect` (the text blocks decoded before a corrupt point) missing from `-f text` output.
"""

from __future__ import annotations

import io
import os
import sys
import time
import tracemalloc
import traceback
from contextlib import contextmanager
from pathlib import Path

FORMATS = ("toon", "json", "text", "rich")
WIDTH = 100
TIME_LIMIT = 5.0
MEMORY_FACTOR = 10
MEMORY_FLOOR = 4 * 1024 * 1024  # the most any clean fixture or corpus file needs, in any format, is 3.2 MiB
PACKAGE = str(Path(__file__).resolve().parents[2] / "aimux_cli")
ROOT = str(Path(PACKAGE).parent)


class Failure:
    """One way a case failed: `kind`, the crash `site` it is grouped by, and a `detail` line."""

    __slots__ = ("kind", "site", "detail", "fmt")

    def __init__(self, kind: str, site: str, detail: str, fmt: str) -> None:
        self.kind, self.site, self.detail, self.fmt = kind, site, detail, fmt

    def __repr__(self) -> str:
        return f"{self.kind} [{self.fmt}] {self.site}: {self.detail}"


class Run:
    """The result of one format's run."""

    __slots__ = ("fmt", "code", "stdout", "stderr", "exc", "seconds", "peak")

    def __init__(self, fmt: str) -> None:
        self.fmt, self.code, self.stdout, self.stderr = fmt, 0, "", ""
        self.exc: BaseException | None = None
        self.seconds = 0.0
        self.peak: int | None = None


class _Stdin:
    """Just enough of sys.stdin for inputs.read_source ("-" reads stdin.buffer)."""

    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise io.UnsupportedOperation("fileno")


_ENV = {"COLUMNS": str(WIDTH), "NO_COLOR": "1", "TERM": "dumb"}
_UNSET = ("FORCE_COLOR", "AIMUX_DEBUG")


@contextmanager
def captured(data: bytes):
    """stdin reads `data`; stdout and stderr are in-memory; the environment fixes width and colour."""
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    saved_env = {k: os.environ.get(k) for k in (*_ENV, *_UNSET)}
    # stdout as a pipe would be: UTF-8 bytes (a StringIO keeps 4 bytes a character, which the memory check counts)
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", newline="\n", write_through=True)
    err = io.StringIO()
    os.environ.update(_ENV)
    for key in _UNSET:
        os.environ.pop(key, None)
    sys.stdin, sys.stdout, sys.stderr = _Stdin(data), out, err
    try:
        yield out, err
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def prettify(data: bytes, fmt: str, *, clock=time.process_time) -> Run:
    """`printf DATA | aimux prettify -f FMT`, in process; the exit code as cli.main would give it."""
    from aimux_cli import output
    from aimux_cli.commands.prettify import PrettifyOptions, run
    from aimux_cli.errors import AimuxError, ExitCode

    result = Run(fmt)
    tracing = tracemalloc.is_tracing()
    if tracing:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
    start = clock()
    with captured(data) as (out, err):
        try:
            result.code = run(PrettifyOptions(files=["-"], fmt=fmt)) or 0
            output.flush()
        except AimuxError as exc:  # cli.main: one line, the error's code
            err.write(f"aimux: error: {exc}\n")
            result.code = int(exc.exit_code)
        except (output.PipeClosed, BrokenPipeError):
            result.code = 0
        except RecursionError as exc:  # caught apart so that a huge traceback is not kept alive
            result.exc, result.code = exc, int(ExitCode.FAILURE)
        except Exception as exc:  # cli.main: "internal error", exit 1
            result.exc, result.code = exc, int(ExitCode.FAILURE)
    result.seconds = clock() - start
    if tracing:
        result.peak = tracemalloc.get_traced_memory()[1] - base
    result.stdout = out.buffer.getvalue().decode("utf-8", "replace")
    result.stderr = err.getvalue()
    return result


def crash_site(exc: BaseException) -> str:
    """`Type at aimux_cli/file.py:line` of the innermost aimux_cli frame of the exception's traceback."""
    where = None
    for frame, line in traceback.walk_tb(exc.__traceback__):
        name = frame.f_code.co_filename
        if name.startswith(PACKAGE):
            where = f"{os.path.relpath(name, ROOT)}:{line}"
    return f"{type(exc).__name__} at {where or '(outside aimux_cli)'}"


def check(run: Run, size: int, expect: tuple[str, ...] = (), time_limit: float = TIME_LIMIT) -> list[Failure]:
    failures = []
    if run.exc is not None:
        message = " ".join(str(run.exc).split())[:160]
        failures.append(Failure("exception", crash_site(run.exc), message, run.fmt))
    elif run.code == 1:
        failures.append(Failure("exit-1", "exit 1 without an exception", run.stderr.strip()[:160], run.fmt))
    if "Traceback" in run.stderr:
        failures.append(Failure("traceback", "Traceback on stderr", run.stderr[:160], run.fmt))
    if run.seconds > time_limit:
        failures.append(Failure("slow", f"slow in -f {run.fmt}", f"{run.seconds:.1f} s for {size} bytes", run.fmt))
    limit = max(MEMORY_FACTOR * size, MEMORY_FLOOR)
    if run.peak is not None and run.peak > limit:
        failures.append(Failure("memory", f"memory in -f {run.fmt}",
                                f"peak {run.peak / 2**20:.1f} MiB for {size} bytes", run.fmt))
    missing = [text for text in expect if text not in run.stdout] if run.fmt == "text" and not run.exc else []
    if missing:
        failures.append(Failure("lost-text", f"lost text (exit {run.code})",
                                f"{len(missing)} of {len(expect)} text blocks missing, {len(run.stdout)} chars "
                                f"printed: {run.stderr.strip()[:120]}", run.fmt))
    return failures


def run_case(data: bytes, expect: tuple[str, ...] = (), *, formats=FORMATS, time_limit: float = TIME_LIMIT,
             clock=time.process_time) -> list[Failure]:
    """Every format's run of one input; the failures of all of them."""
    failures = []
    for fmt in formats:
        run = prettify(data, fmt, clock=clock)
        failures += check(run, len(data), expect, time_limit)
        del run
    return failures
