"""`aimux logs`: list, show, prune and locate the exchange log that `aimux ask` writes (aimux_cli/logdb.py).

- `aimux logs [-n 20] [--provider P] [--model M] [--since 2h|DATE] [-q TEXT] [-f rich|json|toon]`: the newest
  entries first. `rich` (default on a terminal) is a table: id, time (UTC), provider, model, HTTP status and exit
  code, tokens in/out, time to first token, the first words of the answer. `json` and `toon` (default when piped)
  give a list of entries: id, time, command, provider, model, wire, status, exit_code, input_tokens, output_tokens,
  ttft_s, total_s, cost, conversation_id, prompt and answer (each cut to PREVIEW characters). `--since` takes a
  duration back from now (`90s`, `30m`, `2h`, `7d`, `2w`) or a date (`2026-11-30`, `2026-11-30T08:00`, UTC unless
  an offset is given). `-q` finds entries whose prompt or answer contains every word given (SQLite FTS5; a
  `"quoted phrase"` is one word), with LIKE when the SQLite has no FTS5. `-c ID` (or `-c last`) lists one
  conversation of `ask -c` (aimux_cli/commands/ask_log.py).
- `aimux logs show ID|last [-f rich|text|json|toon|raw|request]`: one entry. `rich`/`text`/`toon` draw the
  response document as prettify does; `json` is the entry (the fields above, plus url, request and response
  headers, usage, the whole prompt) with its `document`; `raw` writes the response bytes exactly as they arrived
  (`aimux logs show 12 -f raw | aimux prettify` gives the logged document again; `> fixtures/x.sse` makes a
  fixture); `request` writes the request body as JSON.
- `aimux logs prune --keep N | --older-than 30d`: deletes the other entries, then compacts the file (VACUUM); the
  count deleted is said on stderr.
- `aimux logs path`: the database's path (whether or not it exists yet).

Exit codes: 0; 2 for a bad option value; 4 for an unknown ID, a missing or unreadable log; 1 when prune cannot write.
Everything drawn on a terminal passes the sanitizer: prompts and answers are model or user text.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from aimux_cli import output
from aimux_cli.errors import InputError, OutputError, UsageError
from aimux_cli.present import write_data

PREVIEW = 200  # characters of prompt and answer in a listing
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_LIST_COLUMNS = ("id", "time", "command", "provider", "model", "wire", "status", "exit_code", "input_tokens",
                 "output_tokens", "ttft_s", "total_s", "cost", "conversation_id")


class ListOptions:
    def __init__(self, limit: int = 20, provider: str | None = None, model: str | None = None,
                 since: str | None = None, query: str | None = None, conversation: str | None = None,
                 fmt: str | None = None, color: bool | None = None) -> None:
        self.limit, self.provider, self.model, self.since, self.query = limit, provider, model, since, query
        self.conversation, self.fmt, self.color = conversation, fmt, color


def _open():
    from aimux_cli import logdb

    try:
        return logdb.connect(create=False)
    except logdb.LogError as exc:
        raise InputError(f"cannot read the log: {exc}") from None


def note(line: str) -> None:
    """A line for people on stderr (not a warning: nothing went wrong)."""
    sys.stderr.write(f"aimux: {line}\n")
    sys.stderr.flush()


def _env(color: bool | None):
    from aimux_cli.render.console import TerminalEnv

    return TerminalEnv.detect(color_flag=color)


# --- aimux logs ------------------------------------------------------------------------------------------------------


def run_list(opts: ListOptions) -> int:
    env = _env(opts.color)
    fmt = opts.fmt or ("rich" if env.stdout_isatty else "toon")
    if opts.limit < 1:
        raise UsageError("-n must be at least 1")
    since = parse_since(opts.since) if opts.since else None
    from aimux_cli import logdb

    rows: list[dict] = []
    if logdb.db_path().exists():  # no log yet: an empty list, not an error
        conn = _open()
        try:
            rows = select(conn, opts, since)
        finally:
            conn.close()
    entries = [list_entry(r) for r in rows]
    if fmt == "rich":
        if not entries:
            note("no log entries" + (" match" if opts.query or opts.provider or opts.model or since else ""))
            return 0
        env.stdout_console.print(table(entries))
    else:
        write_data(entries, fmt, env)
    return 0


def select(conn, opts: ListOptions, since: str | None) -> list[dict]:
    """The rows of a listing, newest first."""
    from aimux_cli import logdb

    where, args = [], []
    if opts.conversation == "last":
        found = conn.execute("SELECT conversation_id FROM exchanges WHERE conversation_id IS NOT NULL "
                             "ORDER BY id DESC LIMIT 1").fetchone()
        opts.conversation = found[0] if found else "-"
    for column, value in (("provider", opts.provider), ("model", opts.model),
                          ("conversation_id", opts.conversation)):
        if value:
            where.append(f"e.{column} = ?")
            args.append(value)
    if since:
        where.append("e.time >= ?")
        args.append(since)
    join = ""
    if opts.query:
        if logdb.has_fts(conn):
            join = "JOIN exchanges_fts f ON f.rowid = e.id"
            where.append("exchanges_fts MATCH ?")
            args.append(fts_query(opts.query))
        else:
            for word in _words(opts.query):
                where.append("(e.prompt LIKE ? ESCAPE '\\' OR e.answer LIKE ? ESCAPE '\\')")
                pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                args += [pattern, pattern]
    sql = (f"SELECT {', '.join('e.' + c for c in _LIST_COLUMNS)}, e.prompt, e.answer FROM exchanges e {join} "
           f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY e.id DESC LIMIT ?")
    try:
        return [dict(r) for r in conn.execute(sql, [*args, opts.limit])]
    except Exception as exc:  # sqlite3.Error: a corrupt file shows itself only when read
        raise InputError(f"cannot read the log: {exc}") from None


def _words(text: str) -> list[str]:
    """Words of a search, a "quoted phrase" counting as one."""
    return [a or b for a, b in re.findall(r'"([^"]+)"|(\S+)', text) if (a or b).strip()]


def fts_query(text: str) -> str:
    """An FTS5 query matching every word of `text` (each quoted, so no character is FTS syntax)."""
    words = _words(text)
    if not words:
        raise UsageError("-q needs some text to search for")
    return " AND ".join('"' + w.replace('"', '""') + '"' for w in words)


def parse_since(value: str) -> str:
    """`--since` as the ISO UTC time the log's `time` column is compared with."""
    from datetime import datetime, timedelta, timezone

    match = _DURATION.match(value)
    if match:
        moment = datetime.now(timezone.utc) - timedelta(seconds=float(match[1]) * _UNITS[match[2]])
    else:
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(f"--since {value!r}: expected a duration (90s, 30m, 2h, 7d, 2w) or a date "
                             "(2026-11-30, 2026-11-30T08:00)") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def list_entry(row: dict) -> dict:
    entry = {k: row[k] for k in _LIST_COLUMNS if row.get(k) is not None}
    for key in ("prompt", "answer"):
        if row.get(key):
            entry[key] = _cut(row[key], PREVIEW)
    return entry


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def table(entries: list[dict]) -> Any:
    from rich.table import Table
    from rich.text import Text

    from aimux_cli.render.sanitize import for_terminal

    grid = Table(show_edge=False, header_style="bold", pad_edge=False)
    for name, justify in (("id", "right"), ("time (UTC)", "left"), ("provider", "left"), ("model", "left"),
                          ("status", "left"), ("tokens", "right"), ("TTFT", "right"), ("answer", "left")):
        grid.add_column(name, justify=justify, no_wrap=name != "answer")  # only the answer gives way
    for e in entries:
        status = str(e.get("status", "-"))
        if e.get("exit_code"):
            status += f" exit {e['exit_code']}"
        tokens = f"{e.get('input_tokens', '?')}/{e.get('output_tokens', '?')}" if "input_tokens" in e or \
            "output_tokens" in e else ""
        ttft = f"{e['ttft_s']:.2f} s" if isinstance(e.get("ttft_s"), (int, float)) else ""
        answer = " ".join(str(e.get("answer", "")).split())
        grid.add_row(str(e["id"]), e.get("time", "")[:19].replace("T", " "),
                     Text(for_terminal(str(e.get("provider", "")))), Text(for_terminal(str(e.get("model", "")))),
                     Text(status, style="red" if e.get("exit_code") else ""), tokens, ttft,
                     Text(for_terminal(_cut(answer, 200)), style="dim", no_wrap=True, overflow="ellipsis"))
    return grid


# --- aimux logs show ---------------------------------------------------------------------------------------------


def run_show(ident: str, fmt: str | None, color: bool | None) -> int:
    env = _env(color)
    fmt = fmt or ("rich" if env.stdout_isatty else "toon")
    conn = _open()
    try:
        row = fetch(conn, ident)
    finally:
        conn.close()
    from aimux_cli import logdb

    if fmt == "raw":
        if row["response_raw"] is None:
            raise InputError(f"log entry {row['id']} has no response bytes: nothing arrived "
                             f"(exit code {row['exit_code']})")
        from aimux_cli.render.raw_bytes import RawWriter  # exact into a pipe, inert on a terminal

        RawWriter().write(logdb.decompress(row["response_raw"]), final=True)
        return 0
    if fmt == "request":
        import orjson

        body = orjson.loads(row["request_body"]) if row["request_body"] else None
        write_data(body, "json", env)
        return 0
    document = _loads(row["document"])
    if fmt == "json":
        write_data(show_entry(row, document), "json", env)
    elif fmt == "toon":
        write_data(document if document is not None else show_entry(row, None), "toon", env)
    elif document is None:
        raise InputError(f"log entry {row['id']} has no response document (exit code {row['exit_code']}): "
                         "try -f json or -f raw")
    elif fmt == "text":
        from aimux_cli.render.text import render_text

        text = render_text(document)
        if env.stdout_isatty:
            from aimux_cli.render.sanitize import for_terminal

            text = for_terminal(text)
        output.write(text + ("" if text.endswith("\n") else "\n"))
    else:
        from aimux_cli.render.rich_view import render_rich

        render_rich(document, env.stdout_console)
    return 0


def fetch(conn, ident: str) -> dict:
    """The row for an id, or `last`; InputError naming what exists when there is none."""
    if ident == "last":
        row = conn.execute("SELECT * FROM exchanges ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            raise InputError("the log is empty")
        return dict(row)
    if not ident.isdigit():
        raise UsageError(f"log entry {ident!r}: expected a number or 'last'")
    row = conn.execute("SELECT * FROM exchanges WHERE id = ?", (int(ident),)).fetchone()
    if row is None:
        low, high = conn.execute("SELECT min(id), max(id) FROM exchanges").fetchone()
        known = f"entries {low} to {high}" if low is not None else "no entries"
        raise InputError(f"no log entry {ident} (the log has {known})")
    return dict(row)


def show_entry(row: dict, document: Any) -> dict:
    entry: dict[str, Any] = {k: row[k] for k in (*_LIST_COLUMNS, "url", "system", "prompt")
                             if row.get(k) is not None}
    for key in ("request_headers", "response_headers", "usage"):
        if row.get(key):
            entry[key] = _loads(row[key])
    if document is not None:
        entry["document"] = document
    return entry


def _loads(text: str | None) -> Any:
    if not text:
        return None
    import orjson

    return orjson.loads(text)


# --- aimux logs prune / path ------------------------------------------------------------------------------------------


def run_prune(keep: int | None, older_than: str | None) -> int:
    if (keep is None) == (older_than is None):
        raise UsageError("give exactly one of --keep N and --older-than DURATION")
    if keep is not None and keep < 0:
        raise UsageError("--keep must be 0 or more")
    from aimux_cli import logdb

    if not logdb.db_path().exists():
        note("no log yet: nothing to prune")
        return 0
    if older_than is not None and not _DURATION.match(older_than):
        raise UsageError(f"--older-than {older_than!r}: expected a duration such as 30d, 12h or 2w")
    conn = _open()
    try:
        if keep is not None:
            cursor = conn.execute("DELETE FROM exchanges WHERE id NOT IN "
                                  "(SELECT id FROM exchanges ORDER BY id DESC LIMIT ?)", (keep,))
        else:
            cursor = conn.execute("DELETE FROM exchanges WHERE time < ?", (parse_since(older_than),))
        deleted = cursor.rowcount
        if deleted:
            conn.execute("VACUUM")
        left = conn.execute("SELECT count(*) FROM exchanges").fetchone()[0]
    except Exception as exc:  # sqlite3.Error: locked, read-only, full
        raise OutputError(f"cannot prune the log {logdb.db_path()}: {exc}") from None
    finally:
        conn.close()
    note(f"deleted {deleted} log entr{'y' if deleted == 1 else 'ies'}, {left} left")
    return 0


def run_path() -> int:
    from aimux_cli import logdb

    output.write(f"{logdb.db_path()}\n")
    return 0
