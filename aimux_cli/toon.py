"""TOON encoder: a JSON value -> TOON text, per the TOON specification v4.0 (toon-spec: 4.0).

`encode(value, indent=2, delimiter=",")` accepts what JSON parsing produces (dict with str keys, list, str,
int, float, bool, None) and returns the document without a trailing newline. Where the spec leaves a choice,
the output is byte-identical to the reference encoder @toon-format/toon 4.4.0, except as noted here:

- Numbers print as JavaScript's `String(number)` does: shortest round-trip digits, plain decimal in
  [1e-6, 1e21), `1e-7` / `1e+21` outside it, -0 as 0; NaN and infinities as null (spec §3). But where the
  reference would lose precision, aimux prints exact digits (spec §2: decode(encode(x)) must equal x, and
  toon_format decodes integer tokens as exact ints): ints beyond 2**53 keep all their digits (at 1e21 and
  beyond they take the reference's exponent form only when it is exact), and integral floats in [1e16, 1e21)
  print their exact value (2.0**60 -> 1152921504606846976, where the reference pads: 1152921504606847000).
- Object keys keep their Python (encounter) order; JavaScript would move integer-like keys first.
- A string holding a lone surrogate has no UTF-8 form: ValueError (the reference: TypeError).
  Values of other types, and keys that are not str: TypeError.

Nesting depth is unbounded: the walk uses an explicit stack, never recursion. Written for speed: type
dispatch on exact types, precompiled regular expressions for quoting decisions, str.replace for escaping,
cached indentation strings and encoded short strings, and one join at the end (`encode_pieces`: one join
per piece, for output too large to hold twice). Scalars (quoting, numbers, keys) are in toon_scalar.py. Imports
only `re` and `operator`.
"""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING

from aimux_cli.toon_scalar import _BARE_KEYS, _CONTAINERS, _SCALARS, _Container, _key, _quote, _scalar_encoder

if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

__all__ = ["DELIMITERS", "encode", "encode_pieces"]

DELIMITERS = {"comma": ",", "tab": "\t", "pipe": "|"}
"""CLI names of the three delimiters the spec allows (§11)."""

class _Pads(dict):
    """Indentation strings by depth, for one indent size (kept across calls: they depend on nothing else)."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def __missing__(self, depth: int) -> str:
        pad = self[depth] = self.unit * depth
        return pad


_PADS: dict[int, _Pads] = {}
_NO_LIMIT = 1 << 62


def encode(value: Any, *, indent: int = 2, delimiter: str = ",") -> str:
    """Encode a JSON value as a TOON document (spec v4.0); no trailing newline.

    Raises ValueError for an unknown delimiter, an indent below 1 or a lone surrogate; TypeError for a
    value that is not JSON (or a key that is not a str).
    """
    writer = _writer(value, indent, delimiter)
    if type(writer) is str:
        return writer
    try:
        writer.root(value)
    except AttributeError:  # a key without str methods: checking each key's type would slow every field
        raise TypeError("object keys must be str") from None
    return "\n".join(writer.lines)


def encode_pieces(value: Any, *, indent: int = 2, delimiter: str = ",", lines: int = 4096) -> Iterator[str]:
    """`encode`'s document in pieces of about `lines` lines each ("".join of them is `encode(value)`), so that a
    writer never holds the whole output at once: the list of its lines and their joined text (issue 9). Errors
    as `encode`, raised before the first piece or between two."""
    writer = _writer(value, indent, delimiter)
    if type(writer) is str:
        if writer:
            yield writer
        return
    writer.limit = max(1, lines)
    out, lead = writer.lines, ""
    try:
        writer.root(value)
        while True:
            if out:
                if max(map(len, out)) < _LONG_LINE:
                    if lead:
                        out.insert(0, "")  # the newline before this piece, in the one join
                    piece = "\n".join(out)
                    out.clear()
                    yield piece
                else:
                    yield from _long_pieces(out, lead)
                lead = "\n"
            if not writer.stack:
                return
            writer.run()
    except AttributeError:
        raise TypeError("object keys must be str") from None


_LONG_LINE = 1 << 16  # a line this long is yielded alone, not joined with its neighbours


def _long_pieces(out: list[str], lead: str) -> Iterator[str]:
    """The lines of `out` as encode_pieces yields them, with each long line (a megabyte string) yielded as itself:
    joining it with its neighbours, then adding the newline before them, made two more copies of it (issue 9)."""
    run: list[str] = []
    for line in out:
        if len(line) < _LONG_LINE:
            run.append(line)
            continue
        if run:
            yield lead + "\n".join(run)
            run.clear()
            lead = "\n"
        if lead:
            yield lead
        yield line
        lead = "\n"
    if run:
        yield lead + "\n".join(run)
    out.clear()


def _writer(value: Any, indent: int, delimiter: str) -> _Writer | str:
    """The options checked; a writer for a dict or list, else the encoded scalar."""
    if delimiter not in (",", "\t", "|"):
        raise ValueError(f"delimiter must be ',', '\\t' or '|', not {delimiter!r}")
    if type(indent) is not int:
        raise TypeError(f"indent must be an int, not {type(indent).__name__}")
    if indent < 1:
        raise ValueError(f"indent must be at least 1, not {indent}")
    scalar = _SCALARS.get(delimiter) or _SCALARS.setdefault(delimiter, _scalar_encoder(delimiter))
    kind = type(value)
    if kind is not dict and kind is not list:
        if kind is str and value[:1] == "\ufeff":  # unquoted, it could pass for a byte-order mark
            return _quote(value)  # (the reference quotes it too)
        return scalar(value)
    pads = _PADS.get(indent) or _PADS.setdefault(indent, _Pads(" " * indent))
    return _Writer(pads, delimiter, scalar)


class _Writer:
    """One document's state: the output lines and a stack of open scopes (iterator, depth, is-list)."""

    def __init__(self, pads: _Pads, delimiter: str, scalar: Any) -> None:
        self.lines: list[str] = []
        self.pads = pads
        self.scalar = scalar
        self.delimiter = delimiter
        self.symbol = "" if delimiter == "," else delimiter  # comma is implicit in headers (§6)
        self.stack: list[tuple[Any, int, bool]] = []
        self.limit = _NO_LIMIT  # run() returns once this many lines are waiting (encode_pieces), the walk resumable

    def root(self, value: dict | list) -> None:
        if type(value) is list:
            if not value:
                self.lines.append("[]")  # §9.1 root empty array
            elif not self.container("", value, 1):
                return
        elif len(value) >= 2 and type(next(iter(value.values()))) is dict and self.keyed("", value, 1):
            return
        else:
            self.stack.append((iter(value.items()), 0, False))
        self.run()

    def run(self) -> None:
        """Walk the open scopes depth-first; a scope that opens a child stops, and resumes after it."""
        stack, pads, scalar = self.stack, self.pads, self.scalar
        lines, limit = self.lines, self.limit
        append, bare_keys, seen = lines.append, _BARE_KEYS, scalar.seen
        while stack:
            if len(lines) >= limit:  # between scopes: the stack holds where to resume
                return
            items, depth, is_list = stack[-1]
            pad = pads[depth]
            if is_list:
                for item in items:
                    kind = type(item)
                    if kind is dict:
                        if not item:
                            append(pad + "-")  # §10 empty object list item
                        elif self.list_item_object(item, depth):
                            break
                    elif kind is list:
                        if self.list_item_array(pad + "- ", item, depth + 1):
                            break
                    else:
                        append(pad + "- " + scalar(item))
                else:
                    stack.pop()
            else:
                for key, item in items:
                    kind = type(item)
                    if key not in bare_keys:
                        key = _key(key)
                    if kind is dict or kind is list:
                        if self.container(pad + key, item, depth + 1):
                            break
                    else:  # a string seen before costs one look-up, no call (an encoded value is never "")
                        append(f"{pad}{key}: {(kind is str and seen(item)) or scalar(item)}")
                else:
                    stack.pop()

    def list_item_object(self, obj: dict, depth: int) -> bool:
        """§10: the first field goes on the hyphen line; the rest follow one level deeper. Always pushes."""
        fields = iter(obj.items())
        key, value = next(fields)
        self.stack.append((fields, depth + 1, False))
        head = self.pads[depth] + "- " + _key(key)
        kind = type(value)
        if kind is dict or kind is list:
            self.container(head, value, depth + 2)
        else:
            self.lines.append(head + ": " + self.scalar(value))
        return True

    def list_item_array(self, head: str, array: list, depth: int) -> bool:
        """§9.2/§9.4: an array as a list item never takes the tabular form. True if it opened a scope."""
        head += f"[{len(array)}{self.symbol}]"
        if not array:
            self.lines.append(head + ":")  # "- [0]:", never "- []"
            return False
        if _CONTAINERS.isdisjoint(map(type, array)):
            self.lines.append(head + ": " + self.delimiter.join(map(self.scalar, array)))
            return False
        self.lines.append(head + ":")
        self.stack.append((iter(array), depth, True))
        return True

    def container(self, head: str, value: dict | list, depth: int) -> bool:
        """A dict or list in field position; `head` is indentation + key. True if it opened a scope."""
        if type(value) is dict:
            if not value:
                self.lines.append(head + ":")
                return False
            if len(value) >= 2 and type(next(iter(value.values()))) is dict and self.keyed(head, value, depth):
                return False
            self.lines.append(head + ":")
            self.stack.append((iter(value.items()), depth, False))
            return True
        if not value:
            self.lines.append(head + ": []")
            return False
        head += f"[{len(value)}{self.symbol}]"
        if _CONTAINERS.isdisjoint(map(type, value)):  # §9.1
            self.lines.append(head + ": " + self.delimiter.join(map(self.scalar, value)))
            return False
        table = _table(value, self.scalar, self.delimiter, self.pads[depth])
        if table is not None:  # §9.3
            fields, rows = table
            self.lines.append(head + fields + ":")
            self.lines.extend(rows)
            return False
        self.lines.append(head + ":")  # §9.2, §9.4
        self.stack.append((iter(value), depth, True))
        return True

    def keyed(self, head: str, obj: dict, depth: int) -> bool:
        """§9.5 keyed tabular form for an object of uniform objects; False if the object does not qualify."""
        table = _table(list(obj.values()), self.scalar, self.delimiter)
        if table is None:
            return False
        fields, rows = table
        pad = self.pads[depth]
        self.lines.append(f"{head}[{len(obj)}:{self.symbol}]{fields}:")
        self.lines.extend([pad + _key(key) + ": " + row for key, row in zip(obj, rows)])
        return True


def _table(rows: list, scalar: Any, delimiter: str, pad: str = "") -> tuple[str, list[str]] | None:
    """Field list and row lines (each starting with `pad`) if `rows` qualify for a tabular form (§9.3), else None.

    Flat rows (the first row holds no dict or list) are checked and encoded in one pass: a container met
    later means a column mixing primitives and containers, which no tabular form allows. A row is built with its
    indentation in one join: a row holding a megabyte string is then one copy of it, not two (issue 9).
    """
    first = rows[0]
    if type(first) is not dict or not first:
        return None
    if not _CONTAINERS.isdisjoint(map(type, first.values())):
        return _nested_table(rows, scalar, delimiter, pad)
    names = first.keys()
    join = delimiter.join
    cells: list[str] = []
    add = cells.append
    try:
        if len(names) == 1:
            (name,) = names
            for row in rows:
                if type(row) is not dict or row.keys() != names:
                    return None
                add(pad + scalar(row[name]))
        else:
            pick = itemgetter(*names)
            for row in rows:
                if type(row) is not dict or row.keys() != names:
                    return None
                leaves = [*map(scalar, pick(row))]
                leaves[0] = pad + leaves[0]
                add(join(leaves))
    except _Container:
        return None
    return "{" + join(map(_key, names)) + "}", cells


def _nested_table(rows: list, scalar: Any, delimiter: str, pad: str = "") -> tuple[str, list[str]] | None:
    """General §9.3 form with nested field groups, at any depth and without recursion.

    The first row fixes the shape (a list or an empty object anywhere in it rules a table out); every row
    must then have the same key set in each group, and primitives at the leaves. Every shape is checked
    before any leaf is encoded: a mismatch, the common outcome, then costs no leaf encoding.
    """
    if _mismatch(rows):
        return None
    shape = _shape(rows[0], delimiter)
    if shape is None:
        return None
    parts, groups, paths = shape
    for row in rows:
        for path, names in groups:  # parents before children: node[name] is known to exist
            node = row
            for name in path:
                node = node[name]
            if type(node) is not dict or node.keys() != names:
                for part in parts:  # a key that cannot be encoded raises here, as it did before any row check
                    if type(part) is tuple:
                        _key(part[0])
                return None
    header = "".join([part if type(part) is str else _key(part[0]) for part in parts])
    join = delimiter.join
    cells = []
    try:
        for row in rows:
            leaves = []
            for path in paths:
                node = row
                for name in path:
                    node = node[name]
                leaves.append(scalar(node))
            leaves[0] = pad + leaves[0]
            cells.append(join(leaves))
    except _Container:
        return None
    return header, cells


def _mismatch(rows: list) -> bool:
    """A cheap early "no table" for the usual case, rows whose keys differ one level down (tool calls' arguments):
    True when a row's keys differ from the first row's, at the top level or in the first row's nested objects, when
    those hold only primitives. False means: not decided here (the full check follows)."""
    first = rows[0]
    nested = []
    for name, value in first.items():
        kind = type(value)
        if kind is dict:
            if not value or not _CONTAINERS.isdisjoint(map(type, value.values())):
                return False
            nested.append((name, value.keys()))
        elif kind is list:
            return False
    # A valid shape: whatever follows encodes these keys first, depth-first, so their errors come first here too.
    for name, value in first.items():
        _key(name)
        if type(value) is dict:
            for inner in value:
                _key(inner)
    names = first.keys()
    for row in rows:
        if type(row) is not dict or row.keys() != names:
            return True
        for name, keys in nested:
            child = row[name]
            if type(child) is not dict or child.keys() != keys:
                return True
    return False


def _shape(first: dict, delimiter: str) -> tuple[list, list, list[tuple[str, ...]]] | None:
    """Walk the first row depth-first (iteratively): the header as parts (str literals, (key,) for the keys,
    encoded later), its key groups as (path, key set) with parents first, and its leaf paths in order.
    None when a list or an empty object in it rules a table out."""
    parts: list = ["{"]
    groups: list[tuple[tuple[str, ...], Any]] = [((), first.keys())]
    paths: list[tuple[str, ...]] = []
    stack = [(iter(first.items()), ())]
    started = [False]
    while stack:
        fields, prefix = stack[-1]
        for name, value in fields:
            if started[-1]:
                parts.append(delimiter)
            started[-1] = True
            parts.append((name,))
            kind = type(value)
            if kind is dict:
                if not value:
                    return None
                path = prefix + (name,)
                groups.append((path, value.keys()))
                parts.append("{")
                stack.append((iter(value.items()), path))
                started.append(False)
                break
            if kind is list:
                return None
            paths.append(prefix + (name,))
        else:
            stack.pop()
            started.pop()
            parts.append("}")
    return parts, groups, paths
