"""Untrusted text -> text that is safe to show on a terminal.

Model output (and anything else that came from a response: tool names, error messages, ids) is untrusted. Before any
of it reaches a terminal, `for_terminal` replaces every character that a terminal would act on, or that would hide or
reorder text, with a visible, inert escape in Python's own notation (what `ascii()` prints for that character):

- C0 controls except newline and tab, so ESC (which starts CSI colour/cursor/clear-screen sequences, OSC titles,
  OSC 8 links and OSC 52 clipboard writes), BEL, backspace and carriage return: ``\\x1b``, ``\\x07``, ``\\x08``,
  ``\\r``. Replacing the ESC alone is enough to make a whole sequence inert: ``ESC[31m`` is shown as ``\\x1b[31m``.
- DEL and the C1 controls U+0080-U+009F (U+009B is a one-character CSI, U+009D a one-character OSC): ``\\x9b``.
- Bidirectional controls (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069), which can make text read in an
  order other than the one it has ("Trojan Source"): ``\\u202e``.
- Invisible characters that can hide text or smuggle data: zero-width space/non-joiner/joiner (U+200B-U+200D),
  word joiner and invisible operators (U+2060-U+2064), deprecated format characters (U+206A-U+206F), BOM/ZWNBSP
  (U+FEFF), Mongolian vowel separator (U+180E), soft hyphen (U+00AD), interlinear annotation (U+FFF9-U+FFFB), line
  and paragraph separators (U+2028, U+2029), Unicode tag characters (U+E0000-U+E007F), every other format character
  (category Cf), runs of two or more variation selectors (a known way to smuggle bytes), and lone surrogates (which
  would also make the UTF-8 encoder raise).

Kept as they are, because they are how ordinary text is written: newline, tab, a zero-width joiner between two emoji
(family and profession emoji), the tag sequences of the flags of England, Scotland and Wales, a single variation
selector (the emoji presentation selector U+FE0F). The zero-width non-joiner, which Persian and some Indic words use,
is shown as ``\\u200c``: a deliberate trade-off for a view where hidden text is the risk. Backslashes are not
doubled: clean text stays byte-for-byte the same, at the price that a literal ``\\x1b`` typed by the model looks like
an escaped ESC (both are inert).

`for_terminal` is for what is drawn on a terminal only. Piped output (TOON, JSON, `--format text` to a pipe) is never
passed through it: it must stay exact, and TOON and JSON quote control characters themselves.
"""

from __future__ import annotations

import re

# Every character that may need escaping, as one character class.
_UNSAFE_CHARS = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f\xad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\ufeff\ufff9-\ufffb\ud800-\udfff\U000e0000-\U000e007f"
    # the remaining format characters (Unicode category Cf) of Unicode 15
    "\u0600-\u0605\u06dd\u070f\u0890\u0891\u08e2\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
)
_VARIATION_SELECTORS = "\ufe00-\ufe0f\U000e0100-\U000e01ef"

# Emoji-ish code points a ZWJ may join (pictographs, dingbats, arrows, skin tones, after a presentation selector).
_EMOJI = "\u2190-\u2bff\u3030\u303d\u3297\u3299\U0001f000-\U0001faff"
# The only recommended (RGI) tag sequences: the flags of England, Scotland and Wales; any other tag run is escaped, so
# tags cannot carry hidden text.
_SUBDIVISION_TAGS = (  # "gb" then "eng" | "sct" | "wls", in tag letters
    "\U000e0067\U000e0062"
    "(?:\U000e0065\U000e006e\U000e0067|\U000e0073\U000e0063\U000e0074|\U000e0077\U000e006c\U000e0073)"
)
# A clean text is answered by one scan for this class (about 10 ms a megabyte), before the full regex runs.
_CANDIDATE = re.compile(f"[{_UNSAFE_CHARS}{_VARIATION_SELECTORS}\U0001f3f4]")
_UNSAFE = re.compile(
    # The leading look-ahead lets the engine skip clean stretches at class-scan speed instead of trying every
    # alternative at every position (3x faster on a megabyte with one escape in it).
    f"(?={_CANDIDATE.pattern})(?:"
    # Allowed sequences first (group 1): returned unchanged by the replacement function.
    f"(\U0001f3f4{_SUBDIVISION_TAGS}\U000e007f|(?<=[{_EMOJI}\ufe0f])\u200d(?=[{_EMOJI}]))"
    f"|[{_UNSAFE_CHARS}]+|[{_VARIATION_SELECTORS}]{{2,}})"
)


def _escape_match(match: re.Match[str]) -> str:
    if match.group(1) is not None:
        return match.group(1)
    return "".join(ascii(ch)[1:-1] for ch in match.group())


def for_terminal(s: str) -> str:
    """Return `s` with every terminal control, bidi control and invisible character shown as a visible escape."""
    if _CANDIDATE.search(s) is None:
        return s
    return _UNSAFE.sub(_escape_match, s)


def escape_markup(s: str) -> str:
    """Escape Rich markup (`[bold]`, `[link=…]`) in `s`, for the rare place where a markup string is unavoidable.

    Prefer building `rich.text.Text` objects from plain strings: they are never parsed as markup. This does not
    sanitize: use `escape_markup(for_terminal(s))` for response text.
    """
    from rich.markup import escape  # imported here: this module must not import Rich at import time

    return escape(s)
