"""The process's entry point (the `aimux` script, `python -m aimux_cli`): run the CLI, then leave at once if allowed.

A command that closes everything it opens (files, sockets, threads) calls `clean()`. After such a command the
process ends with `os._exit` as soon as stdout and stderr are flushed, instead of finalizing the interpreter:
freeing every module and object took about 20 ms after `aimux ask` had written its last byte, as long as a whole
short answer from a fast provider. Other commands exit the usual way. In-process callers of `cli.main` (the tests)
are not affected: only `entry()` leaves early.

Before anything else, `entry()` rebuilds stdout and stderr so that no write is ever cut short silently
(output.whole_writes: a signal or uvloop's io_uring interrupting a write into a full pipe, a non-blocking pipe).
"""

from __future__ import annotations

import os
import sys

_clean = False


def clean() -> None:
    """The running command leaves nothing open that the interpreter's finalization would have to close or flush."""
    global _clean
    _clean = True


def entry() -> None:
    from aimux_cli import output

    output.whole_writes()  # before anything is written: no write is ever cut short silently
    from aimux_cli.cli import main

    try:
        main()
        code: object = 0
    except SystemExit as exc:
        if not _clean:
            raise
        code = exc.code
    except KeyboardInterrupt:  # a Ctrl-C after the command had dealt with its own
        if not _clean:
            raise
        code = 130
    if not _clean:
        return
    if code is None:
        code = 0
    elif not isinstance(code, int):  # what SystemExit does with a message
        sys.stderr.write(f"{code}\n")
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except BrokenPipeError:  # the reader went away: quiet, as `aimux ... | head` always is
            pass
        except (OSError, ValueError):
            code = code or 1
    os._exit(code)
