"""The live path (`prettify --follow`, `aimux ask`) on damaged and huge streams (issue 9: fuzz findings F17, F18):
what prettify without --follow reads from the same bytes, the live path reads too, with the same `warnings`; deep
values and long thinking cost linear work. Memory is measured with the fuzz harness's RSS probe (tests/fuzz)."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from aimux_cli import live
from aimux_cli.render import stream_view
from aimux_cli.render.plain_stream import plain_call
from aimux_cli.render.rich_view import markdown
from aimux_cli.render.stream_view import StreamRenderer
from fuzz import harness
from provider_server import Reply
from test_ask import CHAT, inline, route, server  # noqa: F401 - fixtures
from test_live import _Env, terminal_console

DEEP = "[" * 1000 + "]" * 1000


def sse(*events: dict) -> bytes:
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"


def chunk(delta: dict, finish: str | None = None) -> dict:
    return {"object": "chat.completion.chunk", "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def document(run) -> dict:
    assert run.exc is None and run.code == 0, (run.exc, run.stderr)
    return json.loads(run.stdout)


# --- F17: a tool call 1,000 levels deep ---------------------------------------------------------------------------


def test_a_plain_tool_line_of_deep_arguments() -> None:
    value: list = []
    for _ in range(999):
        value = [value]
    assert plain_call({"type": "tool_call", "name": "f", "arguments": value}) == f"tool f {DEEP}"


@pytest.mark.parametrize("fmt", ["text --follow", "text"])
def test_follow_prints_a_tool_call_of_deep_arguments(fmt: str) -> None:
    data = sse(chunk({"tool_calls": [{"index": 0, "id": "c1", "type": "function",
                                      "function": {"name": "f", "arguments": DEEP}}]}, "tool_calls"))
    run = harness.prettify(data, fmt, trace=False)
    assert run.exc is None and run.code == 0, (run.exc, run.stderr)
    assert run.stdout == f"tool f {DEEP}\n"


# --- parser warnings: the same in prettify, prettify --follow and ask ---------------------------------------------

DAMAGED_SSE = (b'data: {"object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":'
               b'"hel\xfflo"},"finish_reason":null}]}\n\n'
               b'data: {"object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":'
               b'" ok"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n')
DAMAGED_NDJSON = (b'{"model":"llama3.2","created_at":"2024-01-01T00:00:00Z","message":{"role":"assistant",'
                  b'"content":"hello"},"done":false}\nnot json\n'
                  b'{"model":"llama3.2","created_at":"2024-01-01T00:00:00Z","message":{"role":"assistant",'
                  b'"content":" o\xffk"},"done":true,"done_reason":"stop"}\n')


@pytest.mark.parametrize("data", [DAMAGED_SSE, DAMAGED_NDJSON], ids=["sse", "ndjson"])
def test_follow_carries_the_parser_warnings_of_prettify(data: bytes) -> None:
    whole = document(harness.prettify(data, "json", trace=False))
    followed = document(harness.prettify(data, "json --follow", trace=False))
    assert whole["warnings"] and followed["warnings"] == whole["warnings"]
    assert followed["blocks"] == whole["blocks"]


def test_ask_carries_the_parser_warnings_of_prettify(server, inline) -> None:  # noqa: F811 - fixtures
    route(server, "openai", Reply.body(DAMAGED_SSE, content_type="text/event-stream"))
    result = inline("ask", "-p", "openai", "-f", "json", "hi")
    assert result.returncode == 0, result.stderr
    asked = json.loads(result.stdout)
    whole = document(harness.prettify(DAMAGED_SSE, "json", trace=False))
    assert whole["warnings"] and asked["warnings"] == whole["warnings"]
    assert asked["blocks"] == whole["blocks"]


# --- a lone surrogate: in the first event of a stream, in a whole body ---------------------------------------------

LONE_FIRST = (b'data: {"object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":'
              b'"a\\ud800b"},"finish_reason":null}]}\n\n' + sse(chunk({"content": " ok"}, "stop")))
LONE_BODY = (b'{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant",'
             b'"content":"a\\ud800b ok"},"finish_reason":"stop"}]}')


def test_follow_reads_a_first_event_holding_a_lone_surrogate() -> None:
    run = harness.prettify(LONE_FIRST, "text --follow", trace=False)
    assert (run.code, run.stdout) == (0, "a\ufffdb ok\n"), run.stderr
    whole = document(harness.prettify(LONE_FIRST, "json", trace=False))
    assert document(harness.prettify(LONE_FIRST, "json --follow", trace=False)) == whole


def test_ask_reads_a_body_holding_a_lone_surrogate(server, inline) -> None:  # noqa: F811 - fixtures
    route(server, "openai", Reply.body(LONE_BODY), stream=False)
    result = inline("ask", "-p", "openai", "--no-stream", "-f", "json", "hi")
    assert result.returncode == 0, result.stderr
    asked = json.loads(result.stdout)
    whole = document(harness.prettify(LONE_BODY, "json", trace=False))
    assert asked["blocks"] == whole["blocks"] == [{"type": "text", "text": "a\ufffdb ok"}]
    assert asked["warnings"] == whole["warnings"] and whole["warnings"]
    result = inline("ask", "-p", "openai", "--no-stream", "-f", "text", "hi")
    assert (result.returncode, result.stdout.decode()) == (0, "a\ufffdb ok\n")


# --- F18: a long thinking block, a long paragraph ------------------------------------------------------------------


def thinking_stream(deltas: int) -> bytes:
    def ev(name: str, obj: dict) -> str:
        return f"event: {name}\ndata: {json.dumps(obj)}\n\n"

    out = [ev("message_start", {"type": "message_start", "message": {
              "id": "m", "type": "message", "role": "assistant", "model": "c", "content": [],
              "usage": {"input_tokens": 1, "output_tokens": 1}}}),
           ev("content_block_start", {"type": "content_block_start", "index": 0,
                                      "content_block": {"type": "thinking", "thinking": ""}})]
    out += [ev("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {
                "type": "thinking_delta", "thinking": "I am thinking about it some more. " * 20}})] * deltas
    return ("".join(out) + ev("message_stop", {"type": "message_stop"})).encode()


def test_rich_follow_of_long_thinking_stays_small_and_off_a_piped_stderr() -> None:
    data = thinking_stream(2500)  # 2 MB
    harness.prettify(thinking_stream(2), "rich --follow")  # imports, outside the measure
    run = harness.prettify(data, "rich --follow")
    assert run.exc is None and run.code == 0, (run.exc, run.stderr)
    assert "thinking about it" not in run.stderr  # stderr is not a terminal (README: --thinking show)
    if run.peak is not None:
        assert run.peak < 4 * len(data), f"peak {run.peak / 2**20:.1f} MiB for {len(data)} bytes"


@pytest.mark.parametrize(("stderr_tty", "shown"), [(True, True), (False, False)])
def test_rich_progress_shows_thinking_on_stderr_only_when_it_is_a_terminal(stderr_tty: bool, shown: bool) -> None:
    env = _Env(tty=True, stderr_tty=stderr_tty)
    progress = live.Progress("rich", env)
    progress.show([("thinking", "Greet them.")])
    progress.show([("text", "Hello.")])
    progress.close(None)
    assert ("Greet them." in env.err.getvalue()) is shown
    assert "Greet them." not in env.out.getvalue()


@pytest.mark.parametrize("interactive", [True, False])
def test_long_thinking_not_on_a_terminal_is_kept_in_pieces(interactive: bool) -> None:
    """Thinking written at its end (not a terminal) is kept as its deltas, joined once: it used to be one string
    grown by `+=` on an attribute, a copy of the whole per delta."""
    out = io.StringIO()
    console = terminal_console(out) if interactive else Console(file=out, width=80, color_system=None)
    renderer = StreamRenderer(console, console, thinking="show")
    for _ in range(100):
        renderer.append("thinking", "more ")
    assert len(renderer._pieces) == (0 if interactive else 100)
    renderer.close()
    assert out.getvalue().count("more") == 100


def test_the_live_region_draws_a_bounded_head_of_a_long_paragraph(monkeypatch: pytest.MonkeyPatch) -> None:
    """A paragraph that never ends: each redraw parses a bounded head of it (the screen shows no more), not the
    whole growing tail."""
    drawn: list[int] = []
    monkeypatch.setattr(stream_view, "markdown", lambda source: drawn.append(len(source)) or markdown(source))
    renderer = StreamRenderer(terminal_console(io.StringIO()), refresh_per_second=1e9)
    renderer._interval = 0.0
    word = "word " * 400  # 2,000 characters
    for _ in range(60):  # 120,000 characters, one paragraph
        renderer.append("text", word)
        renderer._cost = 0.0  # no rate limit: every delta redraws
    live_draws = drawn[:]
    renderer.close()
    assert len(live_draws) >= 50 and max(live_draws) <= max(stream_view.LIVE_CHARS, 2 * 80 * 60) < 60_000


def test_block_splitter_keeps_a_long_tail_as_lines() -> None:
    splitter = stream_view.BlockSplitter()
    for n in range(1000):
        assert splitter.feed(f"line {n}\n") == []
    assert splitter.head(11) == "line 0\nline"
    assert splitter.tail == "".join(f"line {n}\n" for n in range(1000))
    assert splitter.feed("\nnext") == ["\n".join(f"line {n}" for n in range(1000))]
    assert splitter.tail == "next"


class _Counted(dict):
    reads = 0

    def __getitem__(self, key):
        _Counted.reads += 1
        return super().__getitem__(key)


def test_watching_many_tool_calls_reads_each_a_few_times() -> None:
    """A stream of 2,000 tool calls (the fuzz found 20,000: rich --follow took 99 s): after each event the view
    looks at what changed, not at every call so far."""
    from types import SimpleNamespace

    choice = SimpleNamespace(tools={})
    acc = SimpleNamespace(choices={0: choice})
    progress = live.Progress("rich", _Env(tty=False))
    _Counted.reads = 0
    for n in range(2000):
        choice.tools[n] = _Counted(id=f"c{n}", name="get_country", arguments="{}")
        progress.watch(acc)
    assert _Counted.reads <= 10 * 2000
    progress.close(None)


def test_follow_says_it_skipped_events_as_prettify_does() -> None:
    data = (sse(chunk({"content": "hi"}))[:-len(b"data: [DONE]\n\n")] + b"data: junk\n\n"
            + sse(chunk({}, "stop")))
    line = "aimux: warning: <stdin>: skipped 1 event(s) whose data was not JSON\n"
    for fmt in ("json", "json --follow", "text --follow"):
        run = harness.prettify(data, fmt, trace=False)
        assert (run.code, run.stderr) == (0, line), fmt


def test_ask_says_it_skipped_events_as_prettify_does(server, inline) -> None:  # noqa: F811 - fixtures
    data = (sse(chunk({"content": "hi"}))[:-len(b"data: [DONE]\n\n")] + b"data: junk\n\n"
            + sse(chunk({}, "stop")))
    route(server, "openai", Reply.body(data, content_type="text/event-stream"))
    for fmt in ("json", "text"):
        result = inline("ask", "-p", "openai", "-f", fmt, "hi")
        assert result.returncode == 0, result.stderr
        assert result.stderr.decode() == "aimux: warning: openai: skipped 1 event(s) whose data was not JSON\n", fmt
