"""The one place that writes to stdout, and the one way to write an output file.

Contract: `write(text)` / `write_bytes(data)` go to stdout, flushed when it is a terminal (or when asked, for
streaming); a closed pipe (`aimux ... | head -1`) raises `PipeClosed`, which the CLI turns into a quiet exit.
`write_file(path, text)` writes a whole file atomically (a temporary file beside it, then a rename) or raises
`OutputError` (exit 1) naming the path.

Secrets: text passes `redact` (every registered key, in every printed form, becomes `[REDACTED]`): `write` through
the guarded stdout (a key split across two streamed writes is still caught; `flush()` writes the held-back tail at
the end of a run), `write_file` whole. `write_bytes` is the one exception by design: `ask -f raw` writes the
provider's bytes exactly as received.

Whole writes: the process's entry point (fastexit.entry) calls `whole_writes()` first, so that every byte given to
stdout or stderr is written, whatever cuts a write short (a signal, uvloop's io_uring, a pipe made non-blocking by
another process): nothing written is ever dropped while the command goes on to exit 0 (see `_WholeWrites`).
"""

from __future__ import annotations

import io
import os
import sys

from aimux_cli.errors import OutputError


class _WholeWrites(io.RawIOBase):
    """A file descriptor whose every write completes: a short write goes on with the rest, EAGAIN waits for room.

    Python's text streams take a write to a pipe as done or failed. It can be neither: a blocking write into a full
    pipe returns early, short, when a signal or io_uring's task work (uvloop's loop, closed just before a report is
    written) interrupts it, and a pipe that another process holding it made non-blocking refuses with EAGAIN. With
    PYTHONUNBUFFERED=1 (`python -u`, common in containers) stdout's text layer writes straight to the file and
    drops whatever a short write left: a report cut at 64 KiB, exit 0."""

    def __init__(self, fd: int, name: str) -> None:
        super().__init__()
        self._fd, self._name = fd, name

    @property
    def name(self) -> str:
        return self._name

    def fileno(self) -> int:
        return self._fd

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return os.isatty(self._fd)

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            try:
                done += os.write(self._fd, view[done:])  # PEP 475: EINTR with nothing written is retried
            except BlockingIOError:
                import select

                select.select([], [self._fd], [])
        return done


def whole_writes() -> None:
    """Rebuild stdout and stderr over `_WholeWrites` (the process's entry point calls this before anything is
    written), keeping their encoding, errors and buffering: buffered stays buffered, `-u` stays unbuffered."""
    if os.name != "posix":
        return
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None or stream is not getattr(sys, f"__{name}__"):  # already replaced (tests, a wrapper)
            continue
        try:
            fd = stream.fileno()
            stream.flush()
        except (OSError, ValueError, AttributeError):
            continue
        raw = _WholeWrites(fd, stream.name)
        buffered = isinstance(stream.buffer, io.BufferedIOBase)
        binary = io.BufferedWriter(raw) if buffered else raw
        setattr(sys, name, io.TextIOWrapper(binary, encoding=stream.encoding, errors=stream.errors, newline="\n",
                                            line_buffering=stream.line_buffering, write_through=stream.write_through))


def _redact():
    """aimux_cli.redact when it was imported, else None: no secret can be registered without it, so `prettify`
    (which never resolves a key) neither imports it nor pays for it."""
    return sys.modules.get("aimux_cli.redact")


class PipeClosed(Exception):
    """The reader of stdout went away."""


def _stdout():
    if sys.stdout is None:  # started with fd 1 closed
        raise OutputError("cannot write the output: standard output is closed")
    redact = _redact()
    if redact is not None and redact.active() and not isinstance(sys.stdout, redact.Guard):
        redact.guard_streams()  # stdout was replaced since a key was registered
    return sys.stdout


def _failed(exc: OSError) -> OutputError:
    return OutputError(f"cannot write the output: {exc.strerror or exc}")


def write(text: str, *, flush: bool = False) -> None:
    out = _stdout()
    try:
        out.write(text)
        if flush or out.isatty():
            out.flush()
    except BrokenPipeError:
        raise PipeClosed() from None
    except OSError as exc:  # disk full, I/O error: one line, exit 1
        raise _failed(exc) from None


def write_bytes(data: bytes, *, flush: bool = False) -> None:
    """The bytes as they are: not scrubbed (`ask -f raw` records the provider's reply exactly)."""
    out = _stdout()
    try:
        if hasattr(out, "release"):  # a redact.Guard: what it held back goes first
            out.release()
        out.flush()
        out.buffer.write(data)
        if flush:
            out.buffer.flush()
    except BrokenPipeError:
        raise PipeClosed() from None
    except OSError as exc:
        raise _failed(exc) from None


def silence_stdout() -> None:
    """After a broken pipe, point stdout at devnull so the interpreter's final flush cannot fail loudly."""
    if sys.stdout is None:
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def flush() -> None:
    """Flush stdout now, so that a failure to write (disk full, closed pipe) is reported like any other instead of
    as a warning from the interpreter at exit."""
    redact = _redact()
    if redact is not None:
        redact.release_all()
    if sys.stdout is None:
        return
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise PipeClosed() from None
    except OSError as exc:
        raise _failed(exc) from None


def write_file(path: str | os.PathLike, text: str) -> None:
    """Write `text` (scrubbed of secrets, UTF-8) to `path` atomically: readers see the old file or the whole new one.

    A path that exists and is not a regular file (`/dev/stdout`, a FIFO) is written in place. Any failure (missing
    directory, no permission, a directory at `path`, disk full) is an OutputError (exit 1) naming the path."""
    import stat

    redact = _redact()
    data = (redact.scrub(text) if redact is not None else text).encode("utf-8")
    name = os.fspath(path)
    try:
        try:
            mode = os.stat(name).st_mode
        except FileNotFoundError:
            mode = stat.S_IFREG
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            with open(name, "wb") as fh:
                fh.write(data)
            return
        _replace(name, data)
    except OSError as exc:
        raise OutputError(f"{name}: cannot write: {exc.strerror or exc}") from None


def _replace(name: str, data: bytes) -> None:
    directory, base = os.path.split(name)
    temp = os.path.join(directory, f".{base}.{os.urandom(4).hex()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for open(name, "w")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if os.path.isdir(name):
            raise IsADirectoryError(21, "Is a directory", name)
        os.replace(temp, name)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
