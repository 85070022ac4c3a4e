"""The local log of exchanges: one SQLite file, one row per request aimux made. `record` writes, `connect` reads.

Where: `$AIMUX_LOG_DB` when set and non-empty, else `aimux/logs.db` under the user's data directory
(`$XDG_DATA_HOME`, default `~/.local/share`). `log = false` in the config or `ask --no-log` turns writing off.

A row (table `exchanges`): id, time (UTC, ISO 8601), command, provider, model, wire, url (no userinfo, no
credential query parameters), prompt (the text the user asked), request_body (JSON), request_headers (JSON, credential
headers removed, not masked), status (HTTP), response_headers (JSON, cookies removed), response_raw (the body bytes as
received, zlib-compressed), document (the aimux response document as JSON), answer (its text, for listing and
search), ttft_s and total_s (what aimux measured), input_tokens, output_tokens, usage (JSON), cost (when the
provider reports one), exit_code, conversation_id (ask's conversations: commands/ask_log.py), system. Every text field and the raw bytes pass `redact` as well, so a
key the provider echoes back is not stored either.

Storage: WAL mode (readers never wait for a writer), `synchronous=NORMAL` (a commit does not fsync; a power cut may
lose the last entries, never corrupt the file), a busy timeout of BUSY_TIMEOUT_MS. The schema version is SQLite's
`user_version`; opening a file runs the MIGRATIONS it lacks, in one transaction each (an empty file gets them all).
Version 3 adds `system` (the system prompt, which a continued conversation keeps). Version 2 adds the FTS5 index `exchanges_fts` over prompt and answer (kept in step by triggers); an SQLite built
without FTS5 gets none and `search` falls back to LIKE.

Failure never breaks the answer: `record` returns None after one warning on stderr when the database is locked
longer than the busy timeout, read-only, full, corrupt, or cannot be created. This module imports sqlite3, so it is
itself imported only by the commands that log or read the log (never on prettify's or --version's path).
"""

from __future__ import annotations

import os
import sqlite3
import time
import zlib
from pathlib import Path
from typing import Any

BUSY_TIMEOUT_MS = 250  # a write takes about a millisecond: a quarter of a second covers many concurrent writers
COMPRESS_LEVEL = 6

_COLUMNS = ("time", "command", "provider", "model", "wire", "url", "prompt", "request_body", "request_headers",
            "status", "response_headers", "response_raw", "document", "answer", "ttft_s", "total_s",
            "input_tokens", "output_tokens", "usage", "cost", "exit_code", "conversation_id", "system",
            "tool_results")

_V1 = (
    """CREATE TABLE exchanges (
        id INTEGER PRIMARY KEY,
        time TEXT NOT NULL,
        command TEXT NOT NULL,
        provider TEXT, model TEXT, wire TEXT, url TEXT, prompt TEXT,
        request_body TEXT, request_headers TEXT,
        status INTEGER, response_headers TEXT, response_raw BLOB,
        document TEXT, answer TEXT,
        ttft_s REAL, total_s REAL, input_tokens INTEGER, output_tokens INTEGER, usage TEXT, cost REAL,
        exit_code INTEGER, conversation_id TEXT)""",
    "CREATE INDEX exchanges_time ON exchanges (time)",
    "CREATE INDEX exchanges_conversation ON exchanges (conversation_id)",
)

_V2_FTS = (
    "CREATE VIRTUAL TABLE exchanges_fts USING fts5(prompt, answer, content='exchanges', content_rowid='id')",
    """CREATE TRIGGER exchanges_fts_insert AFTER INSERT ON exchanges BEGIN
        INSERT INTO exchanges_fts (rowid, prompt, answer) VALUES (new.id, new.prompt, new.answer);
    END""",
    """CREATE TRIGGER exchanges_fts_delete AFTER DELETE ON exchanges BEGIN
        INSERT INTO exchanges_fts (exchanges_fts, rowid, prompt, answer)
        VALUES ('delete', old.id, old.prompt, old.answer);
    END""",
    "INSERT INTO exchanges_fts (rowid, prompt, answer) SELECT id, prompt, answer FROM exchanges",
)


def _run(conn: sqlite3.Connection, statements: tuple[str, ...]) -> None:
    for statement in statements:  # not executescript: it would commit the migration's transaction
        conn.execute(statement)


def _v2(conn: sqlite3.Connection) -> None:
    conn.execute("SAVEPOINT fts")
    try:
        _run(conn, _V2_FTS)
    except sqlite3.OperationalError as exc:  # an SQLite without FTS5: search falls back to LIKE
        if "fts5" not in str(exc):
            raise
        conn.execute("ROLLBACK TO fts")
    conn.execute("RELEASE fts")


_V3 = ("ALTER TABLE exchanges ADD COLUMN system TEXT",)  # the system prompt, kept along a conversation
# the tool results an ask sent back (--tool-result), JSON [{tool_call_id, name, content}]: re-sent with the
# conversation's turns, after the assistant turn whose calls they answer
_V4 = ("ALTER TABLE exchanges ADD COLUMN tool_results TEXT",)

MIGRATIONS = (lambda conn: _run(conn, _V1), _v2, lambda conn: _run(conn, _V3),
              lambda conn: _run(conn, _V4))  # i: version i -> i + 1
SCHEMA_VERSION = len(MIGRATIONS)


def db_path(env: dict[str, str] | None = None) -> Path:
    """Where the log is: $AIMUX_LOG_DB, else aimux/logs.db under $XDG_DATA_HOME (default ~/.local/share)."""
    env = os.environ if env is None else env
    if env.get("AIMUX_LOG_DB"):
        return Path(env["AIMUX_LOG_DB"]).expanduser()
    base = env.get("XDG_DATA_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path(env.get("HOME") or Path.home()) / ".local" / "share"
    return root / "aimux" / "logs.db"


class LogError(Exception):
    """The log cannot be opened or written; the message names the file and the reason."""


def connect(path: Path | None = None, *, create: bool = True) -> sqlite3.Connection:
    """An open, migrated connection to the log (rows as sqlite3.Row). Raises LogError naming the file."""
    path = db_path() if path is None else path
    try:
        if not create and not path.exists():
            raise LogError(f"{path}: no log yet (aimux ask writes one)")
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except OSError as exc:
        raise LogError(f"{path}: {exc.strerror or exc}") from None
    except sqlite3.Error as exc:
        raise LogError(f"{path}: {exc}") from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        migrate(conn)
    except sqlite3.Error as exc:
        conn.close()
        raise LogError(f"{path}: {exc}") from None
    conn.row_factory = sqlite3.Row
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Run the migrations the file lacks (each in its own transaction); returns the version it now has."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(f"the log's schema version {version} is newer than this aimux knows "
                                    f"({SCHEMA_VERSION}): upgrade aimux")
    while version < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            now = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have migrated meanwhile
            if now == version:
                MIGRATIONS[version](conn)
                conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


def has_fts(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'exchanges_fts'").fetchone() is not None


def now_utc() -> str:
    """The current time in UTC, ISO 8601 to the millisecond (sorts as text)."""
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def insert(conn: sqlite3.Connection, entry: dict[str, Any]) -> int:
    """Insert one row (keys: _COLUMNS; missing ones are NULL); returns its id."""
    values = [entry.get(c) for c in _COLUMNS]
    cursor = conn.execute(f"INSERT INTO exchanges ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                          values)
    return int(cursor.lastrowid)


_warned = False
_kept: sqlite3.Connection | None = None  # the writer's last connection, left open on purpose (see record)


def record(entry: dict[str, Any], path: Path | None = None) -> int | None:
    """Write one exchange (see `entry`); its id, or None after one warning on stderr. Never raises.

    The connection stays open after its commit: closing the last connection to a WAL database checkpoints it (two
    fsyncs, 1.5 ms and up to 20 ms on a busy disk), which `ask` would pay after every answer. Committed rows are in
    the WAL file already, so a process that ends without closing (fastexit's os._exit) loses nothing; the next
    connection, or an automatic checkpoint every 1000 pages, moves them into the database file."""
    global _warned, _kept
    conn = None
    try:
        conn = connect(path)
        row_id = insert(conn, entry)
        _kept, conn = conn, None
        return row_id
    except (LogError, sqlite3.Error, OSError, ValueError) as exc:
        if not _warned:
            _warned = True
            from aimux_cli.present import warn

            where = str(exc) if isinstance(exc, LogError) else f"{path or db_path()}: {exc}"
            warn(f"the exchange was not logged: {where} (--no-log or `log = false` in the config turns the log off)")
        return None
    finally:
        if conn is not None:
            conn.close()


def record_many(entries: list[dict[str, Any]], path: Path | None = None) -> int:
    """Write several rows in one transaction (a bench run: one row per request); how many were written (0 after
    one warning on stderr). Never raises."""
    global _warned
    if not entries:
        return 0
    conn = None
    try:
        conn = connect(path)
        conn.execute("BEGIN IMMEDIATE")
        for item in entries:
            insert(conn, item)
        conn.execute("COMMIT")
        return len(entries)
    except (LogError, sqlite3.Error, OSError, ValueError) as exc:
        if not _warned:
            _warned = True
            from aimux_cli.present import warn

            where = str(exc) if isinstance(exc, LogError) else f"{path or db_path()}: {exc}"
            warn(f"{len(entries)} exchanges were not logged: {where}")
        return 0
    finally:
        if conn is not None:
            conn.close()


def compress(raw: bytes | None) -> bytes | None:
    return None if raw is None else zlib.compress(raw, COMPRESS_LEVEL)


def decompress(blob: bytes | None) -> bytes:
    return b"" if blob is None else zlib.decompress(blob)


# --- building a row without secrets ----------------------------------------------------------------------------------

_DROPPED_RESPONSE_HEADERS = ("set-cookie", "set-cookie2")


def clean_headers(headers: dict[str, str] | None, response: bool = False) -> str | None:
    """Headers as JSON with every credential header removed (not masked), and cookies of a response."""
    if headers is None:
        return None
    from aimux_cli.request import is_secret_header

    kept = {k: v for k, v in headers.items()
            if not is_secret_header(k) and not (response and k.lower() in _DROPPED_RESPONSE_HEADERS)}
    return _scrub(_dumps(kept))


def clean_url(url: str | None) -> str | None:
    """The URL without userinfo and without query parameters whose names say they carry a credential."""
    if not url:
        return url
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    from aimux_cli.request import is_secret_header

    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not is_secret_header(k)])
    return _scrub(urlunsplit((parts.scheme, netloc, parts.path, query, "")))


def entry(*, command: str, prepared: Any, wire: str, model: str | None, prompt: str | None, status: int | None,
          response_headers: dict[str, str] | None, raw: bytes | None, doc: Any, ttft_s: float | None,
          total_s: float | None, exit_code: int, conversation_id: str | None = None,
          system: str | None = None, tool_results: list[dict] | None = None) -> dict[str, Any]:
    """One row for `insert`, from a PreparedRequest, what came back and the document; nothing secret in it."""
    usage = (doc.usage if doc is not None else None) or {}
    cost = doc.cost if doc is not None else None
    data = doc.to_dict() if doc is not None else None
    return {
        "time": now_utc(), "command": command, "provider": prepared.provider,
        "model": model or (doc.model if doc is not None else None),  # the model asked for; the document has its own
        "wire": wire, "url": clean_url(prepared.url), "prompt": _scrub(prompt),
        "request_body": _scrub(_dumps(prepared.json_body)) if prepared.json_body is not None else None,
        "request_headers": clean_headers(prepared.headers), "status": status,
        "response_headers": clean_headers(response_headers, response=True),
        "response_raw": compress(_scrub_bytes(raw)) if raw is not None else None,
        "document": _scrub(_dumps(data)) if data is not None else None,
        "answer": _scrub(doc.text()) if doc is not None else None,
        "ttft_s": ttft_s, "total_s": total_s,
        "input_tokens": _int(usage.get("input_tokens")), "output_tokens": _int(usage.get("output_tokens")),
        "usage": _scrub(_dumps(usage)) if usage else None,
        "cost": float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) else None,
        "exit_code": exit_code, "conversation_id": conversation_id, "system": _scrub(system),
        "tool_results": _scrub(_dumps(tool_results)) if tool_results else None,
    }


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dumps(value: Any) -> str:
    import orjson

    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str).decode()


def _scrub(text: str | None) -> str | None:
    from aimux_cli import redact

    return redact.scrub(text) if text else text


def _scrub_bytes(data: bytes) -> bytes:
    from aimux_cli import redact

    return redact.scrub_bytes(data)
