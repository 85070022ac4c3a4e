"""`aimux ask` with several providers (commands/ask_many.py, ask_fanout.py; render/lane.py, multi_view.py), against
the loopback provider server (tests/provider_server.py).

Fan-out (`-p a,b,c`): text sections in the order given whatever order they end in, a failing provider's error line
under its header, the json list, the exit code (the highest of the failures), the log; the Rich panels drawn into a
fixed-width console (snapshots) and on a pseudo-terminal (the final screen holds each answer once). Fallback
(`--fallback`): the first two failing (HTTP 500, connection refused) and the third answering, never after text was
written, all failing. Every run's output is checked for the test key.
"""

from __future__ import annotations

import io
import json
import os
import pty
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from aimux_cli.inputs import Source
from aimux_cli.prettify import normalize
from aimux_cli.render.text import render_text
from provider_server import FIXTURES, Reply
from pty_support import read_terminal

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-test-SECRET-many-4321"
CHAT, MESSAGES = "/v1/chat/completions", "/v1/messages"
GEMINI = "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
FIXTURE = {"openai": "openai/chat-text-stream.sse", "anthropic": "anthropic/text-end-turn-stream.sse",
           "gemini": "gemini/text-stream.sse", "ollama": "ollama/chat-stream.ndjson",
           "responses": "openai-responses/reasoning-summary-function-call-stream.sse"}
PATH = {"openai": CHAT, "anthropic": MESSAGES, "gemini": GEMINI, "ollama": "/api/chat", "responses": "/v1/responses"}
FIRST_WORDS = {"openai": "Tides come mostly", "anthropic": "Bread goes stale", "gemini": "Octopuses have three"}


def closed_port() -> int:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(provider_server, tmp_path):
    """The loopback server and a config pointing openai, anthropic and gemini at it; `refused` at a closed port."""
    url = provider_server.url
    config = tmp_path / "config.toml"
    config.write_text(f'[providers.openai]\nbase_url = "{url}/v1"\n[providers.anthropic]\nbase_url = "{url}/v1"\n'
                      f'[providers.gemini]\nbase_url = "{url}/v1beta"\n'
                      f'[providers.refused]\nwire = "anthropic.messages"\nbase_url = "http://127.0.0.1:'
                      f'{closed_port()}/v1"\napi_key_env = "ANTHROPIC_API_KEY"\nmodel = "claude-x"\n'
                      f'[providers.ollama]\nbase_url = "{url}"\n'
                      f'[providers.responses]\nwire = "openai.responses"\nbase_url = "{url}/v1"\n'
                      f'api_key_env = "OPENAI_API_KEY"\nmodel = "gpt-test"\n')
    provider_server.config = config
    return provider_server


def answer(provider: str, *, delay: float = 0.0, **kw) -> Reply:
    return Reply.file(FIXTURE[provider], delay=delay, **kw)


def text_of(provider: str) -> str:
    return render_text(expected(provider))


def expected(provider: str) -> dict:
    fixture = FIXTURE[provider]
    doc = normalize(Source(fixture, (FIXTURES / fixture).read_bytes()), provider=provider).document
    return doc.to_dict()


def env_for(server, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_API_KEY") and not k.lower().endswith("_proxy") and k != "AIMUX_DEBUG"}
    env.update({name: KEY for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY")})
    env.update(AIMUX_CONFIG=str(server.config), NO_PROXY="*", NO_COLOR="", FORCE_COLOR="", COLUMNS="100")
    env.update(extra)
    return env


def ask(server, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "aimux_cli", "ask", *args], capture_output=True, cwd=ROOT,
                            env=env or env_for(server), stdin=subprocess.DEVNULL, timeout=120)
    for stream in (result.stdout, result.stderr):
        assert KEY.encode() not in stream, f"the API key leaked: {stream[:2000]!r}"
    return result


def server_error() -> Reply:
    return Reply.file("openai/error-500-server-error.json", status=500)


# --- fan-out: text -------------------------------------------------------------------------------------------------


def test_fan_out_text_is_in_the_order_given_with_the_failure_under_its_header(server):
    """openai ends last (its events 50 ms apart) but comes first; gemini's 500 is its section's one line."""
    server.route(CHAT, answer("openai", delay=0.05))
    server.route(MESSAGES, answer("anthropic"))
    server.route(GEMINI, server_error())
    result = ask(server, "-p", "openai,anthropic,gemini", "--retries", "0", "hello")
    assert result.returncode == 7, result.stderr
    out = result.stdout.decode()
    error = "aimux: error: gemini: HTTP 500: The server had an error while processing your request. Sorry about that!"
    assert out == (f"== openai ==\n{text_of('openai')}\n== anthropic ==\n{text_of('anthropic')}\n"
                   f"== gemini ==\n{error}\n")
    assert result.stderr.decode().splitlines() == [error]
    assert [seen.path for seen in server.requests].count(GEMINI) == 1  # --retries 0


def test_fan_out_compares_two_models_of_one_provider_under_their_own_names(server):
    """-p PROVIDER/MODEL: two lanes of one provider are named NAME/MODEL (they were both 'openai', then refused as
    a provider named twice), in sections, documents and the fallback's notes."""
    server.route(CHAT, answer("openai"))
    result = ask(server, "-p", "openai/m-one,openai/m-two", "hello")
    assert result.returncode == 0, result.stderr
    body = text_of("openai")
    assert result.stdout.decode() == f"== openai/m-one ==\n{body}\n== openai/m-two ==\n{body}"
    assert sorted(seen.json()["model"] for seen in server.seen(CHAT)) == ["m-one", "m-two"]
    docs = json.loads(ask(server, "-p", "openai/m-one,openai/m-two", "-f", "json", "hello").stdout)
    assert [d["client"]["provider"] for d in docs] == ["openai/m-one", "openai/m-two"]
    server.route(CHAT, lambda seen: server_error() if seen.json()["model"] == "m-one" else answer("openai"))
    result = ask(server, "-p", "openai/m-one", "--fallback", "openai/m-two", "--retries", "0", "-f", "json", "hi")
    assert result.returncode == 0, result.stderr
    assert "falling back to openai/m-two" in result.stderr.decode()
    client = json.loads(result.stdout)["client"]
    assert client["provider"] == "openai/m-two" and client["fallback"][0]["provider"] == "openai/m-one"
    assert ask(server, "-p", "openai/m-one,openai/m-one", "hello").returncode == 2


def test_fan_out_worst_exit_code_wins_and_a_cut_answer_keeps_what_arrived(server):
    """A dropped connection mid-stream (9) outranks an HTTP 500 (7); each failure is one line, in the order given."""
    server.route(CHAT, server_error())
    server.route(MESSAGES, answer("anthropic", drop_after=4))
    server.route(GEMINI, answer("gemini"))
    result = ask(server, "-p", "openai", "-p", "anthropic", "-p", "gemini", "--retries", "0", "hello")
    assert result.returncode == 9, result.stderr
    sections = result.stdout.decode().split("\n== ")
    assert sections[1].startswith("anthropic ==\nBread goes stale") and "room temperature" not in sections[1]
    assert "cut short" in sections[1]
    assert sections[2] == "gemini ==\n" + text_of("gemini")
    lines = result.stderr.decode().splitlines()
    assert [line.split(":")[2].strip() for line in lines] == ["openai", "anthropic"]
    assert server.count(MESSAGES) == 1  # never retried once text had arrived


def test_fan_out_to_every_wire_gives_each_fixtures_document(server):
    for provider in FIXTURE:
        server.route(PATH[provider], answer(provider, delay=0.002))
    result = ask(server, "-p", ",".join(FIXTURE), "-f", "json", "hello")
    assert result.returncode == 0, result.stderr
    docs = json.loads(result.stdout)
    assert [d.pop("client")["provider"] for d in docs] == list(FIXTURE)
    assert docs == [expected(provider) for provider in FIXTURE]


def test_fan_out_all_answering_exits_0_and_logs_each_exchange(server):
    for provider in ("openai", "anthropic", "gemini"):
        server.route(PATH[provider], answer(provider))
    result = ask(server, "-p", "gemini,openai,anthropic", "hello")
    assert result.returncode == 0 and result.stderr == b""
    assert [line for line in result.stdout.decode().splitlines() if line.startswith("== ")] == [
        "== gemini ==", "== openai ==", "== anthropic =="]
    logs = subprocess.run([sys.executable, "-m", "aimux_cli", "logs", "-f", "json"], capture_output=True, cwd=ROOT,
                          env=env_for(server), timeout=120)
    entries = json.loads(logs.stdout)
    assert sorted(e["provider"] for e in entries) == ["anthropic", "gemini", "openai"]
    assert {e["exit_code"] for e in entries} == {0}
    assert len({e["conversation_id"] for e in entries}) == 3  # a conversation each: -c continues one answer


def test_no_log_writes_nothing(server):
    for provider in ("openai", "gemini"):
        server.route(PATH[provider], answer(provider))
    assert ask(server, "-p", "openai,gemini", "--no-log", "hello").returncode == 0
    logs = subprocess.run([sys.executable, "-m", "aimux_cli", "logs", "-f", "json"], capture_output=True, cwd=ROOT,
                          env=env_for(server), timeout=120)
    assert json.loads(logs.stdout or b"[]") == []


# --- fan-out: json, toon, usage ------------------------------------------------------------------------------------


def test_fan_out_json_is_a_list_of_documents_with_client_and_error_entries(server):
    server.route(CHAT, answer("openai"))
    server.route(MESSAGES, Reply.file("anthropic/error-401-authentication.json", status=401))
    server.route(GEMINI, answer("gemini", drop_after=3))
    result = ask(server, "-p", "openai,anthropic,gemini", "-f", "json", "--retries", "0", "hello")
    assert result.returncode == 9, result.stderr
    docs = json.loads(result.stdout)
    assert [d["provider"] for d in docs] == ["openai", "anthropic", "gemini"]
    clients = [d.pop("client") for d in docs]
    assert [c["provider"] for c in clients] == ["openai", "anthropic", "gemini"]
    assert docs[0] == expected("openai")
    assert "exit_code" not in clients[0] and clients[0]["attempts"] == 1
    assert 0 <= clients[0]["first_token_s"] <= clients[0]["total_s"]
    assert docs[1]["status"] == "error" and docs[1]["error"]["status"] == 401  # the error body, as prettify reads it
    assert docs[1]["error"]["type"] == "authentication_error"
    assert clients[1]["exit_code"] == 5 and clients[1]["error"].startswith("anthropic: HTTP 401")
    assert docs[2]["status"] == "incomplete" and docs[2]["blocks"][0]["text"].startswith("Octopuses")
    assert clients[2]["exit_code"] == 9 and "cut short" in clients[2]["error"]


def test_fan_out_network_failure_is_a_minimal_error_document(server):
    server.route(CHAT, answer("openai"))
    result = ask(server, "-p", "openai,refused", "-f", "json", "--retries", "0", "hello")
    assert result.returncode == 8, result.stderr
    doc = json.loads(result.stdout)[1]
    assert doc["api"] == "anthropic.messages" and doc["provider"] == "refused" and doc["status"] == "error"
    assert "cannot connect" in doc["error"]["message"] and doc["client"]["exit_code"] == 8


def test_fan_out_toon_is_the_same_list(server):
    toon = pytest.importorskip("toon_format")
    server.route(CHAT, answer("openai"))
    server.route(GEMINI, answer("gemini"))
    as_toon = ask(server, "-p", "openai,gemini", "-f", "toon", "hello")
    as_json = ask(server, "-p", "openai,gemini", "-f", "json", "hello")
    assert as_toon.returncode == 0 and as_json.returncode == 0
    strip = [{k: v for k, v in d.items() if k != "client"} for d in json.loads(as_json.stdout)]
    assert [{k: v for k, v in d.items() if k != "client"} for d in toon.decode(as_toon.stdout.decode())] == strip


@pytest.mark.parametrize(("args", "message"), [
    (["-p", "openai,gemini", "-f", "raw"], "-f raw takes one provider"),
    (["-p", "openai,gemini", "--fallback", "anthropic"], "--fallback follows one provider"),
    (["-p", "openai,openai"], "provider 'openai' is named twice"),
    (["-p", "openai,gemini", "-c"], "--continue and --cid take one provider"),
])
def test_what_several_providers_cannot_do_is_a_usage_error(server, args, message):
    result = ask(server, *args, "hello")
    assert result.returncode == 2 and result.stderr.decode().startswith(f"aimux: error: {message}")
    assert len(result.stderr.splitlines()) == 1 and server.count() == 0


def test_fallback_to_the_default_provider_itself_is_a_usage_error(server):
    server.config.write_text('default_provider = "openai"\n' + server.config.read_text())
    result = ask(server, "--fallback", "openai", "hello")
    assert result.returncode == 2 and b"provider 'openai' is named twice" in result.stderr
    assert server.count() == 0


def test_an_unknown_provider_in_the_list_sends_nothing(server):
    result = ask(server, "-p", "openai,nope", "hello")
    assert result.returncode == 3 and b"unknown provider 'nope'" in result.stderr
    assert server.count() == 0


def test_dry_run_prints_each_request_body(server):
    result = ask(server, "-p", "openai,anthropic", "--dry-run", "hello")
    assert result.returncode == 0, result.stderr
    decoder, text, bodies = json.JSONDecoder(), result.stdout.decode(), []
    pos = 0
    while text[pos:].strip():
        value, end = decoder.raw_decode(text, pos + len(text[pos:]) - len(text[pos:].lstrip()))
        bodies.append(value)
        pos = end
    assert [b["model"] for b in bodies] == ["gpt-4.1-mini", "claude-sonnet-4-5"] and server.count() == 0


# --- fallback ------------------------------------------------------------------------------------------------------


def test_fallback_past_a_500_and_a_refused_connection_to_the_third(server):
    server.route(CHAT, server_error())
    server.route(GEMINI, answer("gemini"))
    result = ask(server, "-p", "openai", "--fallback", "refused", "--fallback", "gemini", "--retries", "1",
                 "-f", "json", "hello")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    client = doc.pop("client")
    assert doc == expected("gemini")
    assert client["provider"] == "gemini"
    assert [(f["provider"], f["exit_code"]) for f in client["fallback"]] == [("openai", 7), ("refused", 8)]
    assert client["fallback"][0]["error"].startswith("openai: HTTP 500 after 2 attempts: server_error")
    err = result.stderr.decode().splitlines()
    falls = [line for line in err if "falling back" in line]
    assert falls[0].startswith("aimux: warning: openai: HTTP 500 after 2 attempts") and falls[0].endswith(
        "; falling back to refused")
    assert "cannot connect" in falls[1] and falls[1].endswith("; falling back to gemini")
    assert sum("retry 1 of 1" in line for line in err) == 2  # each provider retried per the existing rules
    assert server.count(CHAT) == 2 and server.count(GEMINI) == 1


def test_fallback_text_and_rich_footer_name_the_provider_that_answered(server):
    server.route(CHAT, server_error())
    server.route(MESSAGES, answer("anthropic"))
    text = ask(server, "-p", "openai", "--fallback", "anthropic", "--retries", "0", "hello")
    assert text.returncode == 0 and text.stdout.decode() == text_of("anthropic")
    rich = ask(server, "-p", "openai", "--fallback", "anthropic", "--retries", "0", "-f", "rich", "hello")
    assert rich.returncode == 0, rich.stderr
    footer = rich.stderr.decode().strip().splitlines()[-1]
    assert footer.startswith("anthropic · claude-") and footer.endswith(" tok/s")


def test_fallback_never_after_answer_text_was_written(server):
    server.route(CHAT, answer("openai", drop_after=4))
    server.route(MESSAGES, answer("anthropic"))
    result = ask(server, "-p", "openai", "--fallback", "anthropic", "--retries", "2", "hello")
    assert result.returncode == 9, result.stderr
    assert result.stdout.decode().startswith("Tides come mostly f")
    assert server.count(MESSAGES) == 0 and server.count(CHAT) == 1
    assert b"falling back" not in result.stderr


def test_fallback_on_an_error_event_before_any_text(server):
    """A 200 stream whose first event is an error (overloaded) showed nothing: the next provider is tried."""
    overloaded = (b'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", '
                  b'"message": "Overloaded"}}\n\n')
    server.route(MESSAGES, Reply.body(overloaded, content_type="text/event-stream"))
    server.route(CHAT, answer("openai"))
    result = ask(server, "-p", "anthropic", "--fallback", "openai", "hello")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == text_of("openai")
    assert b"overloaded_error: Overloaded; falling back to openai" in result.stderr


def test_fallback_when_all_fail_exits_with_the_last_error(server):
    server.route(CHAT, server_error())
    server.route(MESSAGES, Reply.file("anthropic/error-401-authentication.json", status=401))
    result = ask(server, "-p", "openai", "--fallback", "anthropic", "--fallback", "refused", "--retries", "0",
                 "hello")
    assert result.returncode == 8, result.stderr
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 3 and lines[-1].startswith("aimux: error: refused: ")
    assert lines[1].startswith("aimux: warning: anthropic: HTTP 401") and result.stdout == b""


def test_fallback_raw_records_only_the_answer(server):
    server.route(CHAT, server_error())
    server.route(GEMINI, answer("gemini"))
    result = ask(server, "-p", "openai", "--fallback", "gemini", "--retries", "0", "-f", "raw", "hello")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (FIXTURES / FIXTURE["gemini"]).read_bytes()


# --- the Rich view -------------------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def lanes(clock: Clock):
    from aimux_cli.render.lane import Lane

    openai, anthropic, gemini = (Lane(name, model, clock=clock) for name, model in (
        ("openai", "gpt-4.1-mini"), ("anthropic", "claude-sonnet-4-5"), ("gemini", "gemini-2.5-flash")))
    clock.now = 100.42
    anthropic.show([("thinking", "Staling is starch retrogradation; the fridge is near its fastest temperature.")])
    openai.show([("text", "Tides come mostly from the **Moon's** gravity.\n\n```python\nprint('high tide')\n")])
    gemini.retry("gemini: HTTP 503; retry 1 of 2 in 0.50 s")
    clock.now = 101.5
    return openai, anthropic, gemini


def draw(renderable, width: int = 100, height: int = 24) -> str:
    from rich.console import Console

    console = Console(file=io.StringIO(), width=width, height=height, color_system=None, force_terminal=False,
                      markup=False, emoji=False, highlight=False)
    console.print(renderable)
    return console.file.getvalue()


@pytest.mark.parametrize("width", [130, 100, 70])
def test_live_frame_in_rows_of_panels(snapshot, width):
    """130 columns: three panels side by side; 100: two rows (two, then one), as under 40 columns three would be;
    70: one a row. Each shows the end of its answer within its share of the 24 lines."""
    from aimux_cli.render.multi_view import Board

    clock = Clock()
    assert draw(Board(list(lanes(clock)), clock=clock), width=width) == snapshot


def test_final_panels_hold_each_answer_its_footer_and_errors(snapshot):
    from aimux_cli.document import Document
    from aimux_cli.render.multi_view import Board

    clock = Clock()
    openai, anthropic, gemini = lanes(clock)
    doc = Document("openai.chat", "ok", "stop", provider="openai", model="gpt-4.1-mini",
                   blocks=({"type": "text", "text": "Tides come mostly from the **Moon's** gravity."},),
                   cost=0.00012)
    openai.finish(doc=doc, footer="gpt-4.1-mini · 12 in / 9 out tokens · first token 0.42 s · total 1.50 s · "
                                  "8.3 tok/s · cost 0.00012")
    anthropic.finish(doc=Document("anthropic.messages", "ok", "stop", provider="anthropic", blocks=(
        {"type": "thinking", "text": "Staling is starch retrogradation."},
        {"type": "text", "text": "Bread goes stale mainly because its starch recrystallises."},
        {"type": "tool_call", "id": "t1", "name": "note", "arguments": {"x": 1}})),
        footer="claude-sonnet-4-5 · total 1.50 s")
    gemini.finish(error="gemini: HTTP 500 after 3 attempts: server_error: boom \x1b[31mred")
    board = Board([openai, anthropic, gemini], final=True, clock=clock)
    assert draw(board, width=130) == snapshot
    hidden = draw(Board([anthropic], "hide", final=True, clock=clock), width=80)
    assert "Staling" not in hidden and "Bread goes stale" in hidden
    assert "\x1b" not in draw(board, width=130)  # the error's escape is shown inert


def test_source_tail_keeps_the_fence_it_starts_in():
    from aimux_cli.render.lane import Source

    source = Source()
    for piece in ["intro\n\n```py\n", *[f"line {n}\n" for n in range(200)], "```\n\nafter\n"]:
        source.add(piece)
    assert source.full().startswith("intro")
    tail = source.tail(60)
    assert tail.startswith("```py\nline ") and tail.endswith("```\n\nafter\n")
    assert len(tail) <= 60 + len("```py\n")
    closed = source.tail(8)
    assert closed.strip() == "after"  # after the fence closed: no fence prepended


def test_fan_out_on_a_terminal_leaves_each_answer_once(server):
    """The live panels are erased and every answer printed once, whole, each with its footer (pyte replays the
    bytes into a screen of the same size)."""
    import pyte

    server.route(CHAT, answer("openai", delay=0.02))
    server.route(MESSAGES, answer("anthropic", delay=0.03))
    server.route(GEMINI, server_error())
    master, slave = pty.openpty()
    env = env_for(server, TERM="xterm-256color", COLUMNS="150", LINES="50")
    proc = subprocess.Popen([sys.executable, "-m", "aimux_cli", "ask", "-p", "openai,anthropic,gemini",
                             "--retries", "0", "hello"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave)
    os.close(slave)
    data = read_terminal(master)
    assert proc.wait(timeout=120) == 7, data.decode(errors="replace")
    assert KEY.encode() not in data
    screen = pyte.Screen(150, 50)
    pyte.Stream(screen).feed(data.decode().replace("\n", "\r\n"))
    shown = "\n".join(line.rstrip() for line in screen.display)
    for provider in ("openai", "anthropic"):
        assert shown.count(FIRST_WORDS[provider]) == 1, shown
    assert "hours and 50" in shown and "room temperature" in shown  # whole answers, in their panels
    assert shown.count("first token") == 2 and shown.count("tok/s") == 2  # the footers
    assert shown.count("gemini: HTTP 500") == 2  # in its panel, and the line on stderr after it
    assert "waiting" not in shown
    frames = data.split(b"\x1b[?2026h")  # each redraw (erase, draw) is inside one synchronized update
    assert len(frames) > 2 and all(frame.count(b"\x1b[?2026l") == 1 for frame in frames[1:])
    assert all(b"\x1b[1A" not in frame.split(b"\x1b[?2026l")[1] for frame in frames[1:])
    assert b"\x1b[1A" not in frames[0] and b"\x1b[1A" in data  # Live moves up over its region to redraw it


def test_ctrl_c_keeps_what_arrived_and_exits_130(server):
    """Ctrl-C while openai holds the rest of its stream and gemini never answers: the panels stay with what arrived
    (anthropic's whole answer, openai's first words), one `interrupted` line per provider still running."""
    import pyte
    import select
    import signal

    held = answer("openai")
    held.chunks = held.chunks[:3] + [(600.0, data) for _, data in held.chunks[3:]]
    server.route(CHAT, held)
    server.route(MESSAGES, answer("anthropic"))
    server.route(GEMINI, Reply(hang=True))
    master, slave = pty.openpty()
    env = env_for(server, TERM="xterm-256color", COLUMNS="150", LINES="40")
    proc = subprocess.Popen([sys.executable, "-m", "aimux_cli", "ask", "-p", "openai,anthropic,gemini", "hello"],
                            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    seen = b""
    while b"Tides come mostly" not in seen or b"room temperature" not in seen:  # both drawn in the live region
        assert select.select([master], [], [], 60)[0], seen
        seen += os.read(master, 65536)
    proc.send_signal(signal.SIGINT)
    data = seen + read_terminal(master)
    assert proc.wait(timeout=120) == 130, data.decode(errors="replace")
    screen = pyte.Screen(150, 40)
    pyte.Stream(screen).feed(data.decode().replace("\n", "\r\n"))
    shown = [line.rstrip() for line in screen.display if line.strip()]
    text = "\n".join(shown)
    assert text.count("Tides come mostly from the Moon's gravity.") == 1 and "50 minutes" not in text
    assert text.count("Bread goes stale") == 1 and text.count("interrupted") == 4  # 2 panels, 2 lines
    assert shown[-2].startswith("aimux: openai: interrupted after ") and shown[-2].endswith(" characters so far")
    assert shown[-1].startswith("aimux: gemini: interrupted after ") and shown[-1].endswith("nothing had arrived")


# --- more of what a user meets -------------------------------------------------------------------------------------


def logged(server) -> list[dict]:
    logs = subprocess.run([sys.executable, "-m", "aimux_cli", "logs", "-f", "json"], capture_output=True, cwd=ROOT,
                          env=env_for(server), timeout=120)
    return json.loads(logs.stdout or b"[]")


def test_fan_out_not_streamed_and_tool_calls_in_text(server):
    server.route(CHAT, Reply.file("openai/chat-two-tool-calls.json"))
    server.route(GEMINI.replace("streamGenerateContent", "generateContent"), Reply.file("gemini/text-stop.json"))
    result = ask(server, "-p", "openai,gemini", "--no-stream", "weather?")
    assert result.returncode == 0, result.stderr
    gemini = normalize(Source("g", (FIXTURES / "gemini/text-stop.json").read_bytes())).document.to_dict()
    assert result.stdout.decode() == (
        "== openai ==\n"
        'tool get_current_weather {"city": "Lisbon", "country": "PT", "unit": "celsius"}\n'
        'tool get_local_time {"timezone": "Europe/Lisbon", "format": "24h"}\n'
        f"\n== gemini ==\n{render_text(gemini)}")
    docs = json.loads(ask(server, "-p", "openai,gemini", "--no-stream", "-f", "json", "hi").stdout)
    assert [list(d["client"]) for d in docs] == [["total_s", "attempts", "provider"]] * 2  # no first token


def test_fan_out_rich_into_a_pipe_prints_the_panels_once_at_the_end(server):
    server.route(CHAT, answer("openai"))
    server.route(MESSAGES, answer("anthropic"))
    result = ask(server, "-p", "openai,anthropic", "-f", "rich", "hello")
    assert result.returncode == 0 and result.stderr == b""
    out = result.stdout.decode()
    assert "\x1b" not in out and out.count("Tides come mostly") == 1 and out.count("Bread goes stale") == 1
    assert out.count("tok/s") == 2 and out.splitlines()[0].startswith("╭─ openai · gpt-4.1-mini ✓")


def test_fallback_logs_each_attempt_in_one_conversation(server):
    server.route(CHAT, server_error())
    server.route(MESSAGES, answer("anthropic"))
    assert ask(server, "-p", "openai", "--fallback", "anthropic", "--retries", "0", "hello").returncode == 0
    entries = sorted(logged(server), key=lambda e: e["provider"])
    assert [(e["provider"], e["exit_code"]) for e in entries] == [("anthropic", 0), ("openai", 7)]
    assert entries[0]["conversation_id"] == entries[1]["conversation_id"]


def test_hostile_escapes_never_reach_the_terminal_in_panels(server):
    server.route(MESSAGES, Reply.file("hostile/anthropic-ansi-stream.sse", delay=0.002))
    server.route(CHAT, Reply.file("hostile/openai-ansi.json"))
    master, slave = pty.openpty()
    env = env_for(server, TERM="xterm-256color", COLUMNS="120", LINES="40")
    proc = subprocess.Popen([sys.executable, "-m", "aimux_cli", "ask", "-p", "anthropic,openai", "hello"],
                            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    data = read_terminal(master)
    assert proc.wait(timeout=120) == 0, data.decode(errors="replace")
    assert b"Plain start." in data
    for hostile in (b"\x1b[2J", b"\x1b[2A", b"\x1b[10G", b"\x1b]8;;https://ev", b"\x1b[31m", b"\x1b]0;"):
        assert hostile not in data


def test_fan_out_text_on_a_terminal_stderr_shows_retries_and_a_transient_waiting_line(server):
    """stdout piped, stderr a terminal: the `waiting for …` line is erased before each section and at the end."""
    import pyte

    server.route(CHAT, answer("openai"))
    server.route(GEMINI, Reply(status=503, headers={"retry-after-ms": "400"}), answer("gemini"))
    master, slave = pty.openpty()
    env = env_for(server, TERM="xterm-256color", COLUMNS="100", LINES="20")
    proc = subprocess.Popen([sys.executable, "-m", "aimux_cli", "ask", "-p", "openai,gemini", "hello"], cwd=ROOT,
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    data = read_terminal(master)
    out = proc.stdout.read().decode()
    assert proc.wait(timeout=120) == 0, data.decode(errors="replace")
    assert out == f"== openai ==\n{text_of('openai')}\n== gemini ==\n{text_of('gemini')}"
    screen = pyte.Screen(100, 20)
    pyte.Stream(screen).feed(data.decode().replace("\n", "\r\n"))
    shown = [line.rstrip() for line in screen.display if line.strip()]
    assert shown == ["aimux: warning: gemini: HTTP 503; retry 1 of 2 in 0.40 s"]
    assert b"waiting for gemini" in data  # drawn while it waited (only openai had answered)


def test_verbose_names_the_provider_of_each_request_and_response_head(server):
    server.route(CHAT, answer("openai"))
    server.route(MESSAGES, answer("anthropic"))
    result = ask(server, "-p", "openai,anthropic", "-v", "hello")
    assert result.returncode == 0, result.stderr
    err = result.stderr.decode().splitlines()
    for name, request in (("openai", "POST /v1/chat/completions HTTP/1.1"), ("anthropic", "POST /v1/messages HTTP/1.1")):
        labels = [n for n, line in enumerate(err) if line == f"== {name} =="]
        assert len(labels) == 2 and err[labels[0] + 1] == request and err[labels[1] + 1] == "HTTP/1.1 200 OK"
    assert "[REDACTED]" in result.stderr.decode()


def test_source_live_gives_the_finished_blocks_and_the_growing_one():
    from aimux_cli.render.lane import Source

    source = Source()
    for piece in ["# Title\n\nfirst para", "graph\n\n```py\nx = 1\n\ny = 2\n```\n\n", "  indented\n\nlast gro"]:
        source.add(piece)
    text = source.full()
    assert [text[s:].split("\n")[0] for s in source.starts] == ["# Title", "first paragraph", "```py", "last gro"]
    start, split, finished, growing = source.live(0, keep=1000, limit=1000)
    assert (start, growing) == (0, "last gro") and finished == text[:split].rstrip("\n")
    start, _, finished, _ = source.live(0, keep=40, limit=1000)  # the kept start moves to a later block start
    assert start == source.starts[2] and finished == "```py\nx = 1\n\ny = 2\n```\n\n  indented"
    assert source.live(start, keep=40, limit=5)[2:] == ("", source.tail(5))  # a long last block: its tail alone


def test_live_board_redraws_after_a_resize_and_keeps_an_unchanged_panel():
    from aimux_cli.render.multi_view import Board

    clock = Clock()
    board = Board(list(lanes(clock)), clock=clock)
    wide, again = draw(board, width=130), draw(board, width=130)
    assert wide == again  # drawn from what was kept: the same frame
    wider = draw(board, width=150)  # another width, the same layout and height: drawn afresh, not an empty body
    assert "print('high tide')" in wider and "Staling" in wider
    assert draw(Board(list(lanes(Clock())), clock=clock), width=150) == wider
