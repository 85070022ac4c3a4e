"""Peak memory of one run: the process's resident-set high-water mark, reset before the run (Linux), else tracemalloc.

Contract: `with Probe() as probe: ...` then `probe.peak` is the most memory the block needed, in bytes.

Why RSS and not tracemalloc first: orjson asks for a parsing buffer of about 12x the input that it never touches
(a 50 MB body: tracemalloc 650 MB, RSS +95 MB), and tracemalloc makes allocation-heavy code several times slower.
The RSS probe writes "5" to /proc/self/clear_refs (resets VmHWM, Linux 4.0+) and reads VmHWM - VmRSS from
/proc/self/status. So that memory freed by one case is not silently reused by the next (hiding its growth), glibc is
told to map every block of 128 KiB or more on its own and to give it back when freed (mallopt, once).

It can under-count: memory that an earlier run freed but the allocator kept (a fragmented heap) is reused without
raising the resident set. It never over-counts what the run needed.

Where /proc/self/clear_refs cannot be written, tracemalloc measures instead (`Probe.kind == "tracemalloc"`), and
the harness then leaves such runs out of the time check.
"""

from __future__ import annotations

import functools
import tracemalloc


def _status() -> tuple[int, int]:
    """(VmHWM, VmRSS) in bytes."""
    hwm = rss = 0
    with open("/proc/self/status", "rb") as fh:
        for line in fh:
            if line.startswith(b"VmHWM:"):
                hwm = int(line.split()[1]) * 1024
            elif line.startswith(b"VmRSS:"):
                rss = int(line.split()[1]) * 1024
    return hwm, rss


def _reset() -> None:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


@functools.lru_cache(maxsize=None)
def kind() -> str:
    """"rss" when the high-water mark can be reset here, else "tracemalloc"."""
    try:
        _reset()
        _status()
    except (OSError, ValueError, IndexError):
        return "tracemalloc"
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD: fixed, so blocks this big are always their own mapping
        libc.mallopt(-1, 128 * 1024)  # M_TRIM_THRESHOLD: give the top of the heap back early
    except (OSError, AttributeError):
        pass
    return "rss"


class Probe:
    def __init__(self) -> None:
        self.kind = kind()
        self.peak = 0
        self._owner = False
        self._base = 0

    def __enter__(self) -> Probe:
        if self.kind == "rss":
            _reset()
            self._base = _status()[1]
        else:
            self._owner = not tracemalloc.is_tracing()
            if self._owner:
                tracemalloc.start()
            tracemalloc.reset_peak()
            self._base = tracemalloc.get_traced_memory()[0]
        return self

    def __exit__(self, *exc) -> None:
        if self.kind == "rss":
            self.peak = max(0, _status()[0] - self._base)
        else:
            self.peak = max(0, tracemalloc.get_traced_memory()[1] - self._base)
            if self._owner:
                tracemalloc.stop()
