"""The exchange log (aimux_cli/logdb.py) and `aimux ask` writing it: the schema and its migrations, what a row holds,
that nothing secret is stored (the database files grepped for every form of the test key), that a locked,
read-only or corrupt database costs one warning and never the answer, and that concurrent processes both log.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import zlib

import pytest

from aimux_cli import logdb
from provider_server import FIXTURES, Reply
from secret_forms import leaks
from test_ask import KEY, ROOT, WIRES, expected, inline, process_env, route, server  # noqa: F401 - fixtures

V1_ROW = ("2026-01-01T00:00:00.000Z", "ask", "openai", "gpt-x", "openai.chat", "http://h/v1", "old prompt",
          "old answer words")


def db_rows(path) -> list[dict]:
    conn = logdb.connect(path, create=False)
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM exchanges ORDER BY id")]
    finally:
        conn.close()


def all_bytes(path) -> bytes:
    """The database file and its WAL and shared-memory companions, as stored on disk."""
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


# --- schema ----------------------------------------------------------------------------------------------------------


def test_an_empty_file_gets_every_migration_in_wal_mode(tmp_path):
    path = tmp_path / "logs.db"
    path.write_bytes(b"")
    conn = logdb.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == logdb.SCHEMA_VERSION == 4
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == logdb.BUSY_TIMEOUT_MS
    assert logdb.has_fts(conn)
    conn.close()


def test_a_missing_directory_is_created(tmp_path):
    path = tmp_path / "a" / "b" / "logs.db"
    logdb.connect(path).close()
    assert path.exists()


def test_a_version_1_file_is_migrated_and_its_rows_become_searchable(tmp_path):
    path = tmp_path / "logs.db"
    old = sqlite3.connect(path, isolation_level=None)
    logdb._run(old, logdb._V1)
    old.execute("INSERT INTO exchanges (time, command, provider, model, wire, url, prompt, answer) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", V1_ROW)
    old.execute("PRAGMA user_version = 1")
    old.close()
    conn = logdb.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == logdb.SCHEMA_VERSION
    hits = conn.execute("SELECT rowid FROM exchanges_fts WHERE exchanges_fts MATCH 'words'").fetchall()
    assert [h[0] for h in hits] == [1]
    new_id = logdb.insert(conn, {"time": logdb.now_utc(), "command": "ask", "prompt": "fresh", "answer": "words"})
    hits = conn.execute("SELECT rowid FROM exchanges_fts WHERE exchanges_fts MATCH 'words' ORDER BY rowid").fetchall()
    assert [h[0] for h in hits] == [1, new_id]
    conn.execute("DELETE FROM exchanges WHERE id = 1")
    hits = conn.execute("SELECT rowid FROM exchanges_fts WHERE exchanges_fts MATCH 'words'").fetchall()
    assert [h[0] for h in hits] == [new_id]
    conn.close()


def test_a_version_2_file_gains_the_system_column(tmp_path):
    path = tmp_path / "logs.db"
    old = sqlite3.connect(path, isolation_level=None)
    logdb._run(old, logdb._V1)
    logdb._v2(old)
    old.execute("INSERT INTO exchanges (time, command, prompt) VALUES ('t', 'ask', 'kept')")
    old.execute("PRAGMA user_version = 2")
    old.close()
    conn = logdb.connect(path)
    assert [tuple(r) for r in conn.execute("SELECT prompt, system FROM exchanges")] == [("kept", None)]
    logdb.insert(conn, {"time": "t", "command": "ask", "system": "be brief"})
    assert conn.execute("SELECT system FROM exchanges WHERE id = 2").fetchone()[0] == "be brief"
    conn.close()


def test_a_version_3_file_gains_the_tool_results_column(tmp_path):
    path = tmp_path / "logs.db"
    old = sqlite3.connect(path, isolation_level=None)
    logdb._run(old, logdb._V1)
    logdb._v2(old)
    logdb._run(old, logdb._V3)
    old.execute("INSERT INTO exchanges (time, command, prompt, system) VALUES ('t', 'ask', 'kept', 's')")
    old.execute("PRAGMA user_version = 3")
    old.close()
    conn = logdb.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 4
    assert [tuple(r) for r in conn.execute("SELECT prompt, system, tool_results FROM exchanges")] == [
        ("kept", "s", None)]
    logdb.insert(conn, {"time": "t", "command": "ask", "tool_results": '[{"name": "f"}]'})
    assert conn.execute("SELECT tool_results FROM exchanges WHERE id = 2").fetchone()[0] == '[{"name": "f"}]'
    conn.close()


def test_a_newer_schema_is_refused_by_name(tmp_path):
    path = tmp_path / "logs.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(logdb.LogError, match="schema version 99 is newer"):
        logdb.connect(path)


def test_log_path_follows_the_environment(tmp_path):
    assert logdb.db_path({"AIMUX_LOG_DB": "/x/y.db"}) == logdb.Path("/x/y.db")
    assert logdb.db_path({"XDG_DATA_HOME": "/data", "HOME": "/h"}) == logdb.Path("/data/aimux/logs.db")
    assert logdb.db_path({"HOME": "/h"}) == logdb.Path("/h/.local/share/aimux/logs.db")
    assert logdb.db_path({"XDG_DATA_HOME": "relative", "HOME": "/h"}) == logdb.Path("/h/.local/share/aimux/logs.db")


def test_urls_and_headers_lose_their_credentials():
    assert logdb.clean_url("https://user:pw@h.example/v1/x?key=abc&alt=sse") == "https://h.example/v1/x?alt=sse"
    headers = json.loads(logdb.clean_headers({"authorization": "Bearer x", "x-api-key": "k", "x-goog-api-key": "g",
                                              "content-type": "application/json", "x-custom-token": "t"}))
    assert headers == {"content-type": "application/json"}
    response = json.loads(logdb.clean_headers({"set-cookie": "s=1", "x-request-id": "r"}, response=True))
    assert response == {"x-request-id": "r"}


# --- ask writes the log --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", sorted(WIRES))
def test_ask_logs_every_field_of_a_streamed_exchange(server, inline, provider):
    fixture = WIRES[provider][4]
    route(server, provider, Reply.file(fixture, delay=0.001, headers={"x-request-id": "req-1"}))
    result = inline("ask", "-p", provider, "-f", "text", "hello there")
    assert result.returncode == 0, result.stderr
    (row,) = db_rows(logdb.db_path())
    assert row["command"] == "ask" and row["provider"] == provider and row["exit_code"] == 0
    assert row["wire"] == {"responses": "openai.responses"}.get(provider, row["wire"]) and row["status"] == 200
    assert row["url"].startswith(server.url) and row["prompt"] == "hello there"
    assert zlib.decompress(row["response_raw"]) == (FIXTURES / fixture).read_bytes()
    assert json.loads(row["document"]) == expected(fixture, provider)
    assert json.loads(row["response_headers"])["x-request-id"] == "req-1"
    assert json.loads(row["request_body"])  # the JSON sent
    assert not {"authorization", "x-api-key", "x-goog-api-key"} & set(json.loads(row["request_headers"]))
    assert row["time"].endswith("Z") and row["total_s"] >= row["ttft_s"] >= 0
    assert row["answer"] and row["answer"] in result.stdout.decode()


def test_ask_logs_usage_and_a_not_streamed_exchange(server, inline):
    route(server, "openai", Reply.file("openai/chat-text.json"), stream=False)
    assert inline("ask", "-p", "openai", "--no-stream", "-f", "json", "hi").returncode == 0
    (row,) = db_rows(logdb.db_path())
    doc = expected("openai/chat-text.json", "openai")
    assert row["ttft_s"] is None and row["model"] == "gpt-4.1-mini"  # asked for; the document has the served one
    assert row["input_tokens"] == doc["usage"]["input_tokens"] and json.loads(row["usage"]) == doc["usage"]


def test_an_http_error_is_logged_with_its_exit_code_and_body(server, inline):
    body = (FIXTURES / "openai/error-401-invalid-api-key.json").read_bytes()
    route(server, "openai", Reply.body(body, 401))
    assert inline("ask", "-p", "openai", "hi").returncode == 5
    (row,) = db_rows(logdb.db_path())
    assert row["status"] == 401 and row["exit_code"] == 5 and zlib.decompress(row["response_raw"]) == body


def test_nothing_secret_is_stored_even_when_the_provider_echoes_the_key(server, inline):
    echo = f'{{"error": {{"message": "Incorrect API key provided: {KEY} (also {json.dumps(KEY)})"}}}}'
    route(server, "openai", Reply.body(echo.encode(), 401))
    inline("ask", "-p", "openai", "hi")
    for provider in ("anthropic", "gemini", "responses"):
        route(server, provider, Reply.file(WIRES[provider][4]))
        assert inline("ask", "-p", provider, "hi").returncode == 0
    path = logdb.db_path()
    assert len(db_rows(path)) == 4
    assert not leaks(all_bytes(path), KEY)
    assert not leaks(all_bytes(path), f"Bearer {KEY}")


def test_no_log_option_and_config_turn_the_log_off(server, inline):
    route(server, "openai", Reply.file(WIRES["openai"][4]))
    assert inline("ask", "-p", "openai", "--no-log", "hi").returncode == 0
    assert not logdb.db_path().exists()
    server.config.write_text("log = false\n" + server.config.read_text())
    assert inline("ask", "-p", "openai", "hi").returncode == 0
    assert not logdb.db_path().exists()


def test_a_bad_log_setting_is_a_config_error(server, inline):
    server.config.write_text("log = 'no'\n" + server.config.read_text())
    result = inline("ask", "-p", "openai", "hi")
    assert result.returncode == 3 and b"log: expected true or false" in result.stderr


# --- a log that cannot be written never costs the answer ------------------------------------------------------------


def _read_only(path):
    logdb.connect(path).close()
    for p in path.parent.glob(path.name + "*"):
        p.chmod(0o444)
    path.parent.chmod(0o555)


def _corrupt(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)


def _not_a_database(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is a text file, not a database\n" * 100)


def _directory(path):
    path.mkdir(parents=True)


ROOT_USER = os.geteuid() == 0


@pytest.mark.parametrize("spoil", [
    pytest.param(_read_only, marks=pytest.mark.skipif(ROOT_USER, reason="root writes read-only files")),
    _corrupt, _not_a_database, _directory])
def test_an_unwritable_log_is_one_warning_and_the_answer_exits_normally(server, inline, spoil):
    spoil(logdb.db_path())
    route(server, "openai", Reply.file(WIRES["openai"][4]))
    try:
        result = inline("ask", "-p", "openai", "-f", "text", "hi")
    finally:
        logdb.db_path().parent.chmod(0o755)
    assert result.returncode == 0
    assert result.stdout.decode().rstrip("\n") == expected(WIRES["openai"][4], "openai")["blocks"][0]["text"]
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("aimux: warning: the exchange was not logged: "), lines
    assert "Traceback" not in result.stderr.decode()


@pytest.mark.parametrize("how", ["read-only", "full"])
def test_a_read_only_or_full_database_is_one_warning(server, inline, monkeypatch, how):
    """The same as above without file modes (which root ignores): SQLite itself refuses the write."""
    path = logdb.db_path()
    logdb.connect(path).close()
    real = sqlite3.connect

    def spoiled(target, **kw):
        if how == "read-only":
            return real(f"file:{target}?mode=ro", uri=True, **kw)
        conn = real(target, **kw)
        conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
        return conn

    monkeypatch.setattr(logdb.sqlite3, "connect", spoiled)
    route(server, "openai", Reply.file(WIRES["openai"][4]))
    result = inline("ask", "-p", "openai", "-f", "text", "hi " * 2000)
    monkeypatch.undo()
    assert result.returncode == 0 and result.stdout
    err = result.stderr.decode()
    assert err.count("aimux: warning: the exchange was not logged") == 1, err
    assert ("readonly" if how == "read-only" else "full") in err
    assert len(db_rows(path)) == 0


def test_a_locked_log_is_one_warning_and_the_error_keeps_its_exit_code(server, inline):
    path = logdb.db_path()
    holder = logdb.connect(path)
    holder.execute("BEGIN EXCLUSIVE")  # in WAL mode an exclusive transaction still keeps other writers out
    route(server, "openai", Reply.body((FIXTURES / "openai/error-500-server-error.json").read_bytes(), 500))
    try:
        result = inline("ask", "-p", "openai", "--retries", "0", "hi")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.returncode == 7
    assert result.stderr.decode().count("aimux: warning: the exchange was not logged") == 1
    assert "database is locked" in result.stderr.decode()


def test_record_never_raises_and_warns_once(tmp_path, capsys):
    bad = tmp_path / "dir.db"
    bad.mkdir()
    assert logdb.record({"time": "t", "command": "x"}, bad) is None
    assert logdb.record({"time": "t", "command": "x"}, bad) is None
    assert capsys.readouterr().err.count("warning") == 1


# --- concurrent processes ------------------------------------------------------------------------------------------


def test_concurrent_ask_processes_all_log(server):
    route(server, "openai", Reply.file(WIRES["openai"][4], delay=0.01))
    env = process_env(server)
    procs = [subprocess.Popen([sys.executable, "-m", "aimux_cli", "ask", "-p", "openai", "-f", "text", f"n{i}"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL) for i in range(4)]
    outcomes = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert outcomes == [(0, b"")] * 4
    rows = db_rows(logdb.db_path())
    assert sorted(r["prompt"] for r in rows) == ["n0", "n1", "n2", "n3"]
    assert not leaks(all_bytes(logdb.db_path()), KEY)


def test_concurrent_first_opens_migrate_once(tmp_path):
    path = tmp_path / "logs.db"
    code = ("import sys; from aimux_cli import logdb; from pathlib import Path\n"
            "for i in range(20):\n"
            "    assert logdb.record({'time': 't', 'command': 'x', 'prompt': str(i)}, Path(sys.argv[1]))\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=ROOT, stderr=subprocess.PIPE)
             for _ in range(3)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    for p in procs:
        p.stderr.close()
    assert results == [(0, b"")] * 3
    assert len(db_rows(path)) == 60


def test_record_many_writes_in_one_transaction_or_warns_once(tmp_path, capsys):
    path = tmp_path / "logs.db"
    rows = [{"time": logdb.now_utc(), "command": "bench", "prompt": f"p{i}"} for i in range(50)]
    assert logdb.record_many(rows, path) == 50
    assert [r["prompt"] for r in db_rows(path)] == [f"p{i}" for i in range(50)]
    bad = tmp_path / "dir.db"
    bad.mkdir()
    assert logdb.record_many(rows, bad) == 0 and logdb.record_many(rows, bad) == 0
    assert capsys.readouterr().err.count("50 exchanges were not logged") == 1


def test_a_network_failure_is_logged_without_a_response(server, inline):
    result = inline("ask", "-p", "openai", "--retries", "0", "--base-url", "http://127.0.0.1:1/v1", "hi")
    assert result.returncode == 8
    (row,) = db_rows(logdb.db_path())
    assert row["exit_code"] == 8 and row["status"] is None and row["response_raw"] is None
    assert row["url"] == "http://127.0.0.1:1/v1/chat/completions" and row["prompt"] == "hi"
