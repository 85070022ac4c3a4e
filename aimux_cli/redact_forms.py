"""The secret registry compiled (redact.py's half that knows encodings): secrets -> every form they can be printed in.

    State(secrets, fold_after, gap_room)   .pattern (str regex), .bytes_pattern, and what redact.Scrubber needs
                                           to hold back a tail that may begin a secret (.starts, .by_start, .window)

Each character of a secret becomes a unit: the strings it may appear as when printed (_forms): itself, JSON / Python
escapes (`\\n`, `\\uXXXX`, `\\xNN`, a bytes repr, escaped once or twice), percent-encoding (`%2F`, `%2f`, `+`
for a space). A secret also has base64 variants (_base64_cores: as in a Basic `user:key` credential). All of them,
longest secret first, are joined into one regex. redact.py imports this module only when a secret is registered
(`aimux ask` to a keyless local server never does); this module imports nothing of aimux.
"""

from __future__ import annotations

_NAMED = {"\n": "n", "\r": "r", "\t": "t", "\b": "b", "\f": "f", '"': '"', "'": "'", "/": "/"}
_B64_MIN = 8  # shortest base64 run worth replacing
# Characters that JSON, Python and URL encoders print as they are (RFC 3986 unreserved): a secret character of this
# kind has one form; any other character may also appear escaped or percent-encoded.
_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


class State:
    """The compiled registry; replaced whole on every registration (so readers never see half of one). Secrets
    longer than `fold_after` may be folded by a terminal view; `gap_room` is the hold-back's allowance for folds."""

    __slots__ = ("secrets", "source", "pattern", "_bytes_pattern", "variants", "folds", "foldable", "starts",
                 "by_start", "window")

    def __init__(self, secrets: frozenset[str], fold_after: int, gap_room: int) -> None:
        import re

        self.secrets = secrets
        # each variant: a list of units, each unit the concrete strings one character of the secret may appear as
        self.variants: list[list[tuple[str, ...]]] = []
        # the plain secrets a terminal view may fold (see redact._unfold), longest first
        self.foldable = tuple(s for s in sorted(secrets, key=len, reverse=True) if len(s) > fold_after)
        self.folds: list[bool] = []  # per variant: whether the hold-back allows for folds (the plain secret's)
        for secret in sorted(secrets, key=len, reverse=True):
            cores = _base64_cores(secret)
            self.variants.append([_forms(c) for c in secret])
            self.variants.extend([(c,) for c in core] for core in cores)
            self.folds += [secret in self.foldable] + [False] * len(cores)
        source = "|".join("".join(_unit_pattern(unit) for unit in variant) for variant in self.variants)
        self.source = source
        self.pattern = re.compile(source)
        self._bytes_pattern = None
        self.by_start: dict[str, list[tuple[list[tuple[str, ...]], bool]]] = {}  # first character -> variants
        for variant, fold in zip(self.variants, self.folds):
            for c in {f[0] for f in variant[0]}:
                self.by_start.setdefault(c, []).append((variant, fold))
        self.starts = re.compile("[" + "".join(re.escape(c) for c in sorted(self.by_start)) + "]")
        self.window = max(sum(max(map(len, unit)) for unit in variant) for variant in self.variants) + gap_room

    @property
    def bytes_pattern(self):
        """The same pattern for bytes, compiled on first use (only error bodies need it)."""
        if self._bytes_pattern is None:
            import re

            self._bytes_pattern = re.compile(self.source.encode("utf-8", "surrogatepass"))
        return self._bytes_pattern


# --- the forms a secret can take -------------------------------------------------------------------------------


def _hexes(value: int, width: int) -> tuple[str, ...]:
    lower = f"{value:0{width}x}"
    return (lower,) if lower == lower.upper() else (lower, lower.upper())


def _forms(c: str) -> tuple[str, ...]:
    """Every string one character of a secret may be printed as: itself, escaped (once or twice), %-encoded."""
    if c in _PLAIN:  # no encoder escapes these
        return (c,)
    code = ord(c)
    forms = [c]
    escapes = []  # the part after the backslash(es)
    if c == "\\":
        forms += ["\\\\", "\\" * 4]
    elif c in _NAMED:
        escapes.append(_NAMED[c])
    if c == " ":
        forms.append("+")
    if code < 0x100:
        escapes += [f"x{h}" for h in _hexes(code, 2)]
    if code < 0x10000:
        escapes += [f"u{h}" for h in _hexes(code, 4)]
    else:
        escapes += [f"U{h}" for h in _hexes(code, 8)]
        hi, lo = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        escapes += [f"u{a}\\u{b}" for a in _hexes(hi, 4) for b in _hexes(lo, 4)]
        escapes += [f"u{a}\\\\u{b}" for a in _hexes(hi, 4) for b in _hexes(lo, 4)]
    for slashes in ("\\", "\\\\", "\\\\\\"):
        forms += [slashes + e for e in escapes]
    utf8 = c.encode("utf-8", "surrogateescape" if 0xDC80 <= code <= 0xDCFF else "surrogatepass")
    for case in (str.lower, str.upper):
        forms.append("".join(f"%{case(f'{b:02x}')}" for b in utf8))
        if code >= 0x80:  # a bytes repr of the UTF-8 encoding
            forms += ["".join(f"{slashes}x{case(f'{b:02x}')}" for b in utf8) for slashes in ("\\", "\\\\")]
    return tuple(dict.fromkeys(forms))


def _unit_pattern(unit: tuple[str, ...]) -> str:
    import re

    if len(unit) == 1:
        return re.escape(unit[0])
    return "(?:" + "|".join(re.escape(f) for f in sorted(unit, key=len, reverse=True)) + ")"


def _base64_cores(secret: str) -> list[str]:
    """The runs of base64 text that encode only the secret's bytes, at each of the three alignments, standard and
    URL-safe (a Basic credential `base64(user:key)` contains one of them)."""
    import base64

    data = secret.encode("utf-8", "surrogatepass")
    cores = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data + b"\0\0").decode("ascii")
        start, end = -(-8 * offset // 6), (8 * offset + 8 * len(data)) // 6
        core = encoded[start:end]
        if len(core) >= _B64_MIN:
            cores.append(core)
            cores.append(core.replace("+", "-").replace("/", "_"))
    return list(dict.fromkeys(cores))
