"""`aimux logs` (list, show, prune, path) over a log that real `aimux ask` runs wrote against the loopback server.

The replay check is end to end: `aimux logs show ID -f raw` piped into a real `aimux prettify` process gives the very
document that ask printed and logged, for every wire's stream.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from aimux_cli import logdb
from aimux_cli.render.text import render_text
from aimux_cli.toon import encode
from provider_server import FIXTURES, Reply
from test_ask import (ROOT, WIRES, ask_document, expected, inline, process_env, route,  # noqa: F401 - fixtures
                      server)


def asked(server, inline, provider: str, prompt: str, *extra: str) -> dict:
    route(server, provider, Reply.file(WIRES[provider][4]))
    result = inline("ask", "-p", provider, "-f", "json", *extra, prompt)
    assert result.returncode == 0, result.stderr
    return ask_document(result.stdout)


def listing(inline, *args: str) -> list[dict]:
    result = inline("logs", "-f", "json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def put(**fields) -> int:
    conn = logdb.connect()
    try:
        return logdb.insert(conn, {"time": logdb.now_utc(), "command": "ask", **fields})
    finally:
        conn.close()


# --- replay ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", sorted(WIRES))
def test_raw_replays_through_prettify_into_the_same_document(server, inline, provider):
    doc = asked(server, inline, provider, "hello")
    (entry,) = listing(inline)
    raw = inline("logs", "show", str(entry["id"]), "-f", "raw")
    assert raw.returncode == 0 and raw.stdout == (FIXTURES / WIRES[provider][4]).read_bytes()
    env = process_env(server)
    show = subprocess.Popen([sys.executable, "-m", "aimux_cli", "logs", "show", str(entry["id"]), "-f", "raw"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE)
    pretty = subprocess.run([sys.executable, "-m", "aimux_cli", "prettify", "-p", provider, "-f", "json"],
                            cwd=ROOT, env=env, stdin=show.stdout, capture_output=True)
    show.stdout.close()
    assert show.wait() == 0 and pretty.returncode == 0, pretty.stderr
    assert json.loads(pretty.stdout) == doc
    shown = inline("logs", "show", "last", "-f", "json")
    assert json.loads(shown.stdout)["document"] == doc


# --- listing ----------------------------------------------------------------------------------------------------------


def test_list_filters_by_provider_model_search_since_and_count(server, inline):
    asked(server, inline, "openai", "zebra of the quokka")
    asked(server, inline, "anthropic", "weather in Lisbon")
    asked(server, inline, "openai", "quokka phases", "-m", "gpt-other")
    everything = listing(inline)
    assert [e["id"] for e in everything] == [3, 2, 1]  # newest first
    assert everything[1]["provider"] == "anthropic" and everything[1]["prompt"] == "weather in Lisbon"
    assert {"time", "model", "status", "exit_code", "ttft_s", "total_s", "answer"} <= set(everything[0])
    assert [e["id"] for e in listing(inline, "--provider", "openai")] == [3, 1]
    assert [e["id"] for e in listing(inline, "-p", "openai", "-m", "gpt-other")] == [3]
    assert [e["id"] for e in listing(inline, "-q", "quokka")] == [3, 1]
    assert [e["id"] for e in listing(inline, "-q", "QUOKKA zebra")] == [1]
    assert [e["id"] for e in listing(inline, "-q", '"quokka phases"')] == [3]
    assert [e["id"] for e in listing(inline, "-q", '"phases quokka"')] == []
    assert [e["id"] for e in listing(inline, "-q", 'AND OR "NEAR(')] == []  # FTS syntax is searched as text
    assert [e["id"] for e in listing(inline, "-n", "2")] == [3, 2]
    assert [e["id"] for e in listing(inline, "--since", "1h")] == [3, 2, 1]
    assert listing(inline, "--since", "2999-01-01") == []
    assert len(listing(inline, "--since", "2000-01-01T00:00+02:00")) == 3


def test_list_searches_answers_too(server, inline):
    doc = asked(server, inline, "openai", "hello")
    word = render_text(doc).split()[2].strip(".,")
    assert [e["id"] for e in listing(inline, "-q", word)] == [1]


def test_list_toon_is_the_default_into_a_pipe(server, inline):
    asked(server, inline, "openai", "hello")
    result = inline("logs")
    assert result.returncode == 0 and result.stdout == (encode(listing(inline)) + "\n").encode()


def test_list_table_is_sanitized(server, inline):
    put(provider="evil\x1b]8;;x\x07", model="m\x1b[2J", answer="red \x1b[31mtext\x1b[0m and more",
        status=200, exit_code=0, input_tokens=3, output_tokens=4, ttft_s=0.25)
    result = inline("logs", "-f", "rich", "--no-color")
    assert result.returncode == 0
    assert b"\x1b" not in result.stdout and b"red" in result.stdout and b"0.25 s" in result.stdout
    assert b"3/4" in result.stdout


def test_without_a_log_the_list_is_empty_and_no_file_is_made(inline, server):
    assert listing(inline) == []
    result = inline("logs", "-f", "rich")
    assert result.returncode == 0 and result.stderr == b"aimux: no log entries\n"
    assert not logdb.db_path().exists()


@pytest.mark.parametrize("args, line", [
    (("--since", "yesterday"), "--since 'yesterday': expected a duration"),
    (("-n", "0"), "-n must be at least 1"),
    (("-q", "  "), "-q needs some text"),
])
def test_bad_list_options_exit_2(server, inline, args, line):
    put(prompt="x")
    result = inline("logs", *args)
    assert result.returncode == 2 and line in result.stderr.decode()


def test_a_corrupt_log_is_one_line_and_exit_4(inline, server):
    path = logdb.db_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a database at all\n" * 200)
    result = inline("logs")
    assert result.returncode == 4
    assert result.stderr.decode().startswith("aimux: error: cannot read the log: ")
    assert len(result.stderr.splitlines()) == 1


# --- show -------------------------------------------------------------------------------------------------------------


def test_show_formats(server, inline):
    doc = asked(server, inline, "anthropic", "hello", "--system", "be brief")
    text = inline("logs", "show", "1", "-f", "text")
    assert text.stdout.decode() == render_text(doc) + ("" if render_text(doc).endswith("\n") else "\n")
    assert inline("logs", "show", "1", "-f", "toon").stdout.decode() == encode(doc) + "\n"
    request = json.loads(inline("logs", "show", "last", "-f", "request").stdout)
    assert request["system"] == "be brief" and request["messages"] == [{"role": "user", "content": "hello"}]
    entry = json.loads(inline("logs", "show", "last", "-f", "json").stdout)
    assert entry["id"] == 1 and entry["url"].endswith("/v1/messages") and entry["prompt"] == "hello"
    assert "x-api-key" not in entry["request_headers"] and entry["status"] == 200
    rich = inline("logs", "show", "1", "-f", "rich", "--no-color")
    assert rich.returncode == 0 and render_text(doc).split()[0].encode() in rich.stdout


def test_show_an_error_entry(server, inline):
    route(server, "openai", Reply.body((FIXTURES / "openai/error-401-invalid-api-key.json").read_bytes(), 401))
    assert inline("ask", "-p", "openai", "hi").returncode == 5
    entry = json.loads(inline("logs", "show", "last", "-f", "json").stdout)
    assert entry["status"] == 401 and entry["exit_code"] == 5
    raw = inline("logs", "show", "last", "-f", "raw").stdout
    assert raw == (FIXTURES / "openai/error-401-invalid-api-key.json").read_bytes()


@pytest.mark.parametrize("ident, code, line", [
    ("7", 4, "no log entry 7 (the log has entries 1 to 1)"),
    ("seven", 2, "log entry 'seven': expected a number or 'last'"),
])
def test_show_unknown_entries(server, inline, ident, code, line):
    put(prompt="x")
    result = inline("logs", "show", ident)
    assert result.returncode == code and line in result.stderr.decode()


def test_show_without_a_log_exits_4(server, inline):
    result = inline("logs", "show", "last")
    assert result.returncode == 4 and b"no log yet" in result.stderr


# --- prune and path ---------------------------------------------------------------------------------------------------


def test_prune_keep_and_older_than(server, inline):
    put(prompt="ancient words", time="2001-01-01T00:00:00.000Z")
    for i in range(4):
        put(prompt=f"fresh {i}")
    result = inline("logs", "prune", "--older-than", "30d")
    assert result.returncode == 0 and result.stderr == b"aimux: deleted 1 log entry, 4 left\n"
    assert inline("logs", "prune", "--keep", "2").stderr == b"aimux: deleted 2 log entries, 2 left\n"
    assert [e["prompt"] for e in listing(inline)] == ["fresh 3", "fresh 2"]
    assert listing(inline, "-q", "ancient") == [] and len(listing(inline, "-q", "fresh")) == 2


@pytest.mark.parametrize("args", [(), ("--keep", "1", "--older-than", "2d"), ("--older-than", "soon")])
def test_prune_needs_exactly_one_valid_limit(server, inline, args):
    put(prompt="x")
    assert inline("logs", "prune", *args).returncode == 2


def test_path_prints_the_database_path(server, inline):
    result = inline("logs", "path")
    assert result.returncode == 0 and result.stdout.decode() == f"{logdb.db_path()}\n"


def test_raw_of_an_exchange_that_got_no_answer_exits_4(server, inline):
    put(prompt="x", exit_code=8)
    result = inline("logs", "show", "last", "-f", "raw")
    assert result.returncode == 4 and b"has no response bytes: nothing arrived (exit code 8)" in result.stderr


def test_raw_is_exact_into_a_pipe_and_inert_on_a_terminal(server, inline):
    from test_ask import run_on_pty

    data = b'data: {"x": "a \xc2\x9b31m b"}\n\n: \x1b[2J\xff\n\n'
    put(provider="openai", response_raw=logdb.compress(data), status=200, exit_code=0)
    assert inline("logs", "show", "last", "-f", "raw").stdout == data
    code, terminal, _ = run_on_pty(server, "logs", "show", "last", "-f", "raw")
    assert code == 0
    assert b"\x1b" not in terminal and b"\xc2\x9b" not in terminal and b"\xff" not in terminal
    assert rb"a \x9b31m b" in terminal and rb"\x1b[2J\xff" in terminal
