"""Reading what a child process wrote to a pseudo-terminal, for the tests that run aimux on a real pty.

    master, slave = pty.openpty()
    proc = subprocess.Popen([...], stdout=slave, stderr=slave)
    os.close(slave)
    screen_bytes = read_terminal(master)
"""

from __future__ import annotations

import os
import select


def read_terminal(master: int, timeout: float = 120) -> bytes:
    """Everything written to a pseudo-terminal until the child closes it (or `timeout` seconds pass with nothing
    new); closes `master`."""
    out = b""
    try:
        while select.select([master], [], [], timeout)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(master)
    return out
