"""Issue 9, F23 and F18 (rest): a view draws at most a few hundred blocks of one kind (but the answer's text), then
notes how many more there are; the live view's watch of the tool calls does constant work per event."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from types import SimpleNamespace

import pytest
from rich.console import Console

from aimux_cli import live
from aimux_cli.render.rich_view import SHOWN_BLOCKS, SHOWN_CALLS, render_rich
from aimux_cli.render.stream_view import StreamRenderer
from test_live import _Env

RESULT = {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1",
          "content": [{"type": "web_search_result", "url": "https://example.com/a", "title": "A page"}]}


def view(doc: dict) -> list[str]:
    console = Console(width=100, record=True, color_system=None, force_terminal=False, file=io.StringIO())
    render_rich(doc, console)
    return [line.rstrip() for line in console.export_text().splitlines()]


def test_rich_view_draws_a_bounded_number_of_blocks_of_one_kind() -> None:
    blocks = [RESULT] * 10_000 + [{"type": "thinking", "text": "hm"}] * 300 + [{"type": "text", "text": "hi"}]
    lines = view({"api": "anthropic.messages", "status": "ok", "blocks": blocks})
    assert lines.count("web_search_tool_result") == SHOWN_BLOCKS == 200
    assert lines.count("thinking") == SHOWN_BLOCKS
    assert "hi" in lines  # the answer stays
    assert "… 9,800 more web_search_tool_result blocks (-f json has them all)" in lines
    assert "… 100 more thinking blocks (-f json has them all)" in lines


def test_rich_view_keeps_text_refusals_and_a_thousand_tool_calls() -> None:
    call = {"type": "tool_call", "id": "c", "name": "get_weather", "arguments": {"city": "Paris"}}
    blocks = [call, {"type": "text", "text": "and"}] * 1_500 + [{"type": "refusal", "text": "no"}] * 300
    lines = view({"api": "openai.chat", "status": "ok", "blocks": blocks})
    assert sum(line.startswith("tool call get_weather") for line in lines) == SHOWN_CALLS == 1000
    assert lines.count("and") == 1_500
    assert sum(line.startswith("refusal") for line in lines) == 300
    assert lines[-1] == "… 500 more tool call blocks (-f json has them all)"


def test_each_choice_has_its_own_bound() -> None:
    choice = {"finish": "stop", "blocks": [RESULT] * 250}
    lines = view({"api": "x", "status": "ok", "choices": [dict(choice, index=0), dict(choice, index=1)]})
    assert lines.count("web_search_tool_result") == 2 * SHOWN_BLOCKS
    assert lines.count("… 50 more web_search_tool_result blocks (-f json has them all)") == 2


def test_follow_prints_a_bounded_number_of_tool_calls() -> None:
    record = [{"model": "q", "created_at": "2026-01-05T09:20:44Z", "done": False,
               "message": {"role": "assistant", "content": "", "thinking": "Paris or Rome."}},
              {"model": "q", "created_at": "2026-01-05T09:20:45Z", "done": False,
               "message": {"role": "assistant", "content": "", "tool_calls": [
                   {"function": {"index": 0, "name": "get_weather", "arguments": {"city": "Paris"}}}]}}]
    data = "".join(json.dumps(line) + "\n" for line in record * 1_500).encode()
    run = subprocess.run([sys.executable, "-m", "aimux_cli", "prettify", "--follow", "-f", "rich"], input=data,
                         capture_output=True, check=False)
    lines = run.stdout.decode().splitlines()
    assert sum(line.startswith("tool call get_weather") for line in lines) == SHOWN_CALLS
    assert any(line.startswith(f"… {1_500 - SHOWN_CALLS} more tool call blocks") for line in lines)


def test_live_thinking_segments_are_bounded_on_their_console() -> None:
    out, err = io.StringIO(), io.StringIO()
    renderer = StreamRenderer(Console(file=out, width=80, color_system=None),
                              Console(file=err, width=80, color_system=None), thinking="show")
    for n in range(300):
        renderer.append("thinking", f"step {n}")
        renderer.append("text", "x")
    renderer.close()
    shown = err.getvalue().splitlines()
    assert shown.count("thinking") == SHOWN_BLOCKS
    assert "step 199" in shown and "step 200" not in shown
    assert "… 100 more thinking blocks (-f json has them all)" in shown
    assert out.getvalue().count("x") == 300


class _Tools(dict):
    """Tool calls that count how many of them are looked at through values()."""

    seen = 0

    def values(self):
        return _Values(self)


class _Values:
    def __init__(self, tools: _Tools) -> None:
        self.tools = tools

    def __len__(self) -> int:
        return len(self.tools)

    def __iter__(self):
        for value in dict.values(self.tools):
            _Tools.seen += 1
            yield value

    def __reversed__(self):
        for value in reversed(dict.values(self.tools)):
            _Tools.seen += 1
            yield value


@pytest.mark.parametrize("tty", [True, False])
def test_watching_many_tool_calls_takes_the_new_ones_only(tty: bool) -> None:
    """F18 rest: the calls in progress were copied whole per event (list(tools.values())[done:]), 20,000 Ollama tool
    calls took 24 s in rich --follow; now only the new ones are taken, and the renderer keeps the list it is given."""
    tools = _Tools()
    acc = SimpleNamespace(choices={0: SimpleNamespace(tools=tools)})
    progress = live.Progress("rich", _Env(tty=tty))
    _Tools.seen = 0
    for n in range(2000):
        tools[n] = {"id": f"c{n}", "name": "get_country", "arguments": "{}"}
        progress.watch(acc)
    assert _Tools.seen <= 5 * 2000
    assert progress.renderer._calls is progress._run and len(progress._run) == 2000
    progress.close(None)
