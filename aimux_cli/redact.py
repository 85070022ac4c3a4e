"""Secrets never leave the process: one registry of secrets, one scrub for every string aimux prints or writes.

Contract:
- `register(secret)` adds a value (an API key, a credential header's value) to a process-wide registry; config.py
  calls it when it resolves a key, request.py when it prepares a request. Values shorter than 4 characters are
  ignored (they would mangle ordinary text).
- `scrub(text)` / `scrub_bytes(data)` replace every occurrence of every registered secret with `[REDACTED]`, in plain
  form and in the forms that printing paths produce: JSON / Python escapes (`\\n` as two characters, `\\uXXXX`,
  `\\xNN`, a bytes repr `b'...'`, escaped once or twice, mixed freely), percent-encoding (`%2F`, `%2f`, `+` for a
  space), base64 (as in a Basic `user:key` credential), and folded by a terminal view (Rich breaks a word longer
  than the line: a line break, padding, styles or a quote border between two characters). With nothing registered
  they return their argument unchanged at the cost of one global lookup; `aimux prettify` never even imports this.
- `Scrubber` scrubs a stream of writes: it holds back only a tail that could be the start of a secret (in any of
  those forms) until the next write or `release()`, so a key split across two streamed chunks is still caught.
- Once a secret is registered, `sys.stdout` and `sys.stderr` are wrapped in a `Guard` (a scrubbing text stream):
  Rich consoles, warnings, tracebacks under `--debug` and `logging` handlers all write through it. `release_all()`
  writes the held-back tails (output.flush calls it at the end of a run; an atexit hook does too).
- `LogFilter` scrubs `logging` records (message and arguments) for handlers that do not write to a guarded stream.

The one documented exception is `output.write_bytes` (`ask -f raw`): the provider's bytes exactly as received.
The forms a secret can take, compiled into one pattern, are redact_forms.py (imported on the first registration).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aimux_cli.redact_forms import State

REDACTED = "[REDACTED]"
MIN_LENGTH = 4  # shorter values would mangle ordinary text


# What a terminal view puts where it folds a long word: style codes, padding to the line's end, a line break,
# indentation and borders (Rich's block quotes and panels). Atomic: a run of spaces is never re-split on a failure.
_GAP = "(?>(?:\x1b\\[[0-9;]{0,32}m|\r?\n|[ \t\u2500-\u259f]{1,512})+)"
FOLD_AFTER = 16  # characters of a secret before the first place a fold is looked for (no terminal is that narrow)
_GAP_ROOM = 1024  # characters of fold the stream hold-back looks back over, beyond the longest form
_GAP_RE = None
_GAP_TAIL_RE = None


def _gaps():
    global _GAP_RE, _GAP_TAIL_RE
    if _GAP_RE is None:
        import re

        _GAP_RE = re.compile(_GAP)
        # the end of a text that may still become a fold: complete pieces, then an unfinished one
        _GAP_TAIL_RE = re.compile("(?:\x1b\\[[0-9;]*m|[\r\n \t\u2500-\u259f])*(?:\x1b(?:\\[[0-9;]*)?)?")
    return _GAP_RE, _GAP_TAIL_RE


_STATE: State | None = None


def register(*secrets: str | None) -> None:
    """Add secrets to the registry (values under 4 characters and repeats are ignored); guard stdout/stderr."""
    global _STATE
    known = _STATE.secrets if _STATE is not None else frozenset()
    new = set()
    for secret in secrets:
        if not isinstance(secret, str):
            continue
        value = secret.strip()  # surrounding whitespace is not part of a key, and the rest is found inside it
        if len(value) >= MIN_LENGTH and value not in known:
            new.add(value)
    if new:
        from aimux_cli.redact_forms import State  # only once there is a secret

        _STATE = State(known | new, FOLD_AFTER, _GAP_ROOM)
    if _STATE is not None:
        guard_streams()


def clear() -> None:
    """Forget every secret (tests)."""
    global _STATE
    _STATE = None


def active() -> bool:
    """Whether any secret is registered."""
    return _STATE is not None


def scrub(text: str) -> str:
    """`text` with every registered secret, in any known form, replaced by [REDACTED]."""
    state = _STATE
    if state is None or not text:
        return text
    text = state.pattern.sub(REDACTED, text)
    return _unfold(state, text) if state.foldable else text


def _unfold(state: State, text: str) -> str:
    """Replace secrets that a terminal view folded (a line break, padding, styles or a border between two of their
    characters). A view folds a long word at the line's width, so the first FOLD_AFTER characters are always
    together: only where they occur is anything more checked."""
    for secret in state.foldable:
        head = secret[:FOLD_AFTER]
        start = text.find(head)
        while start >= 0:
            end = _folded_end(secret, text, start)
            if end:
                text = text[:start] + REDACTED + text[end:]
                start += len(REDACTED)
            start = text.find(head, start + 1)
    return text


def _folded_end(secret: str, text: str, start: int) -> int:
    """The end of `secret` written from `start` with folds between its characters, or 0 when it is not there."""
    gap, _ = _gaps()
    pos, n = start, len(text)
    for j, c in enumerate(secret):
        if pos < n and text[pos] == c:
            pos += 1
            continue
        folded = gap.match(text, pos) if j >= FOLD_AFTER else None
        if folded is None or folded.end() >= n or text[folded.end()] != c:
            return 0
        pos = folded.end() + 1
    return pos


def scrub_bytes(data: bytes) -> bytes:
    """`scrub` for bytes (UTF-8 forms)."""
    state = _STATE
    if state is None or not data:
        return data
    return state.bytes_pattern.sub(REDACTED.encode(), data)


def scrub_value(value):
    """A copy of a JSON-like value (dicts, lists, strings) with every string scrubbed; keys too."""
    if _STATE is None:
        return value
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub_value(k): scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(v) for v in value]
    return value


class Scrubber:
    """Scrub a stream of text pieces: `feed` returns what is safe to write now, `release` the held-back tail."""

    __slots__ = ("held",)

    def __init__(self) -> None:
        self.held = ""

    def feed(self, text: str) -> str:
        state = _STATE
        if state is None:
            if not self.held:
                return text
            text, self.held = self.held + text, ""
            return text
        text = state.pattern.sub(REDACTED, self.held + text)
        if state.foldable:
            text = _unfold(state, text)
        keep = _held_length(state, text)
        if keep:
            self.held = text[-keep:]
            return text[:-keep]
        self.held = ""
        return text

    def release(self) -> str:
        held, self.held = self.held, ""
        return held


def _held_length(state: State, text: str) -> int:
    """Length of the longest tail of `text` that is a proper prefix of a match of some secret variant."""
    n = len(text)
    for found in state.starts.finditer(text, max(0, n - state.window)):
        i = found.start()
        if any(_could_start(variant, text, i, fold) for variant, fold in state.by_start[text[i]]):
            return n - i
    return 0


def _could_start(variant: list[tuple[str, ...]], text: str, start: int, fold: bool) -> bool:
    """Whether text[start:] is a proper prefix of some string the variant matches (a small NFA walk)."""
    end = len(text)
    gap, gap_tail = _gaps()
    positions = {start}
    last = len(variant) - 1
    for index, unit in enumerate(variant):
        following = set()
        for pos in positions:
            rest = text[pos:]
            for form in unit:
                if text.startswith(form, pos):
                    if pos + len(form) == end:
                        return True  # ends exactly between two units: the rest may follow
                    following.add(pos + len(form))
                elif form.startswith(rest):
                    return True  # ends inside this unit's form
        if fold and FOLD_AFTER <= index + 1 <= last:  # a fold may come between two characters
            for pos in list(following):
                if gap_tail.fullmatch(text, pos):
                    return True  # the text ends in what may still be a fold
                folded = gap.match(text, pos)
                if folded:
                    following.add(folded.end())
        positions = following
        if not positions:
            return False
    return False  # a whole match: already replaced by scrub


class Guard:
    """A text stream that scrubs everything written through it, holding back a tail that could begin a secret."""

    def __init__(self, raw) -> None:
        import _thread

        self._raw = raw
        self._scrubber = Scrubber()
        self._lock = _thread.allocate_lock()

    def write(self, text: str) -> int:
        with self._lock:
            safe = self._scrubber.feed(text)
            if safe:
                self._raw.write(safe)
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def release(self) -> None:
        """Write the held-back tail (end of output)."""
        with self._lock:
            held = self._scrubber.release()
            if held:
                self._raw.write(held)

    def flush(self) -> None:
        self._raw.flush()

    @property
    def raw(self):
        return self._raw

    def __getattr__(self, name: str):
        return getattr(self._raw, name)


_HOOKED = False


def guard_streams() -> None:
    """Wrap sys.stdout and sys.stderr in a Guard (once each; again if something replaced them since)."""
    global _HOOKED
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, Guard):
            setattr(sys, name, Guard(stream))
    if not _HOOKED:
        import atexit

        atexit.register(release_all)
        _HOOKED = True


def release_all() -> None:
    """Write the held-back tails of the guarded stdout and stderr."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, Guard):
            try:
                stream.release()
            except (OSError, ValueError):
                pass


def unguard_streams() -> None:
    """Put the raw streams back (tests)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if isinstance(stream, Guard):
            stream.release()
            setattr(sys, name, stream.raw)


class LogFilter:
    """A logging filter that scrubs a record's message (arguments merged in) of every registered secret."""

    def filter(self, record) -> bool:
        if _STATE is not None:
            try:
                message = record.getMessage()
            except Exception:  # a bad format string: keep logging's own behaviour
                return True
            record.msg, record.args = scrub(message), None
        return True
