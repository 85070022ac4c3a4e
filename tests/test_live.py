"""The live view in process: the streaming Rich renderer drawn on a fake terminal and replayed into a terminal
emulator (pyte), the plain progress of `text`, tool calls while they stream, and Ctrl-C while drawing.

Terminal runs of the real program are in tests/test_live_pty.py."""

from __future__ import annotations

import io
import signal
import threading
import time
from pathlib import Path

import pyte
import pytest
from rich.console import Console

from aimux_cli import live
from aimux_cli.render import stream_view
from aimux_cli.render.plain_stream import plain_call
from aimux_cli.render.rich_view import markdown
from aimux_cli.render.stream_view import StreamRenderer

ANSWER = (Path(__file__).parent / "data" / "stream" / "answer.md").read_text(encoding="utf-8")
WIDTH, HEIGHT = 80, 60


def terminal_console(out: io.StringIO) -> Console:
    return Console(file=out, width=WIDTH, height=HEIGHT, force_terminal=True, force_interactive=True,
                   color_system=None, markup=False, emoji=False, highlight=False)


def screen_of(raw: str, blanks: bool = False) -> list[str]:
    """The lines of the screen after replaying `raw` (newlines as a terminal's ONLCR turns them): the non-blank
    ones, or with `blanks` all of them down to the last non-blank one."""
    screen = pyte.Screen(WIDTH, HEIGHT)
    pyte.Stream(screen).feed(raw.replace("\n", "\r\n"))
    lines = [line.rstrip() for line in screen.display]
    while lines and not lines[-1]:
        lines.pop()
    return lines if blanks else [line for line in lines if line]


def static_lines(source: str) -> list[str]:
    """The lines of `source` drawn once as Markdown, as prettify draws it (what the screen must hold at the end)."""
    out = io.StringIO()
    Console(file=out, width=WIDTH, color_system=None).print(markdown(source))
    return [line.rstrip() for line in out.getvalue().splitlines()]


def eventually(condition) -> None:
    """Wait for `condition()` (a redraw put off by the rate limit happens a moment later, from its timer)."""
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, "the screen never showed it"
        time.sleep(0.02)


class SlowOnMainThread:
    """A renderable that takes 0.3 s to draw on the main thread: longer than a refresh period, so a redraw from
    another thread would have to happen in the middle of printing a finished block."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def __rich_console__(self, console, options):
        if threading.current_thread() is threading.main_thread():
            time.sleep(0.3)
        yield self.inner


def test_finished_blocks_and_the_line_above_survive_the_live_redraws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 10.1: a redraw racing the print of a finished block moved the cursor up by a stale height and erased
    the heading, the paragraph and the shell prompt line above."""
    monkeypatch.setattr(stream_view, "markdown", lambda source: SlowOnMainThread(markdown(source)))
    out = io.StringIO()
    out.write("$ aimux ask hi\n")
    renderer = StreamRenderer(terminal_console(out))
    for i in range(0, len(ANSWER), 40):
        renderer.append("text", ANSWER[i:i + 40])
    renderer.close()
    assert screen_of(out.getvalue(), blanks=True) == ["$ aimux ask hi", *static_lines(ANSWER)]


def test_streamed_blocks_are_spaced_as_the_whole_answer_is() -> None:
    """A table that begins a block came with an empty line of Rich's own, after the blank line between blocks."""
    source = "Intro.\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n\nAfter.\n"
    out = io.StringIO()
    renderer = StreamRenderer(terminal_console(out))
    for i in range(0, len(source), 3):
        renderer.append("text", source[i:i + 3])
    renderer.close()
    assert screen_of(out.getvalue(), blanks=True) == static_lines(source)


def test_a_delta_put_off_is_drawn_when_the_stream_pauses() -> None:
    """Deltas that come faster than the redraw period are drawn together, and the last of them must not wait for
    the next one: a model that pauses would leave a stale tail on the screen for as long as it pauses."""
    out = io.StringIO()
    renderer = StreamRenderer(terminal_console(out), refresh_per_second=5)
    renderer.append("text", "A paragraph")
    renderer.append("text", " that is still growing")  # within the period: put off
    eventually(lambda: screen_of(out.getvalue()) == ["A paragraph that is still growing"])
    renderer.close()
    assert screen_of(out.getvalue()) == ["A paragraph that is still growing"]


def test_redraws_are_rate_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[str] = []
    monkeypatch.setattr(stream_view, "markdown", lambda source: drawn.append(source) or markdown(source))
    renderer = StreamRenderer(terminal_console(io.StringIO()), refresh_per_second=1 / 3600)
    for word in ("one ", "two ", "three ", "four"):
        renderer.append("text", word)
    renderer.close()
    assert drawn == ["one ", "one two three four"]  # the first delta, then the block printed for good


# --- tool calls ------------------------------------------------------------------------------------------------


def test_tool_calls_are_drawn_while_they_stream_then_as_prettify_draws_them() -> None:
    out = io.StringIO()
    renderer = StreamRenderer(terminal_console(out), refresh_per_second=1e9)
    call = {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": ""}
    renderer.append("text", "Let me look.")
    for piece in ('{"city"', ': "Par', 'is"}'):
        call["arguments"] += piece
        renderer.tools([call])
        eventually(lambda: f'tool call get_weather  {call["arguments"]}' in screen_of(out.getvalue()))
    renderer.close()
    assert screen_of(out.getvalue(), blanks=True) == ["Let me look.", "", "tool call get_weather  call_1", "  {",
                                                      '    "city": "Paris"', "  }"]  # spaced as prettify spaces


def test_a_call_without_a_name_yet_is_shown_growing() -> None:
    line = stream_view.call_progress({"name": None, "arguments": '{"q": "' + "x" * 200}, 60)
    assert line.plain.startswith("tool call …  …") and line.cell_len <= 60


def test_progress_draws_each_tool_call_once_when_text_follows_it() -> None:
    from aimux_cli.document import Accumulator

    env = _Env()
    progress = live.Progress("rich", env)
    acc = Accumulator("openai.chat")
    acc.tool_call(0, id="a", name="first", arguments='{"n": 1}')
    progress.watch(acc)
    acc.text("between")
    progress.show([("text", "between")])
    acc.tool_call(1, id="b", name="second", arguments='{"n": 2}')
    progress.watch(acc)
    progress.close(acc.document())
    shown = screen_of(env.out.getvalue())
    assert [line for line in shown if line.startswith("tool call")] == ["tool call first  a", "tool call second  b"]
    assert shown.index("between") == shown.index("tool call first  a") + 4


def test_a_whole_body_draws_every_tool_call_in_order() -> None:
    """`ask --no-stream` on a terminal: the blocks of the body are drawn as a stream would draw them."""
    env = _Env()
    progress = live.Progress("rich", env)
    progress.blocks([{"type": "text", "text": "Checking both."},
                     {"type": "tool_call", "id": "a", "name": "first", "arguments": {"n": 1}},
                     {"type": "tool_call", "id": "b", "name": "second", "arguments": {"n": 2}},
                     {"type": "text", "text": "Done."}])
    progress.close(None)
    shown = screen_of(env.out.getvalue())
    assert shown == ["Checking both.", "tool call first  a", "  {", '    "n": 1', "  }", "tool call second  b", "  {",
                     '    "n": 2', "  }", "Done."]


def test_plain_text_prints_tool_calls_after_the_answer(capsys: pytest.CaptureFixture[str]) -> None:
    from aimux_cli.document import Accumulator

    acc = Accumulator("openai.chat")
    acc.text("Checking.")
    acc.tool_call(0, id="a", name="get_weather", arguments='{"city": "Paris"}')
    acc.tool_call(1, id="b", name="broken", arguments='{"cut')
    acc.mark_terminal()
    progress = live.Progress("text", _Env(tty=False))
    progress.show([("text", "Checking.")])
    progress.close(acc.document())
    assert capsys.readouterr().out == ('Checking.\ntool get_weather {"city": "Paris"}\n'
                                       'tool broken "{\\"cut"\n')


@pytest.mark.parametrize(("name", "shown"), [("get_weather", "get_weather"), ("two words", '"two words"'),
                                            ("line\nbreak", '"line\\nbreak"'), (None, "?")])
def test_a_plain_tool_line_is_always_three_fields_on_one_line(name, shown) -> None:
    line = plain_call({"type": "tool_call", "name": name, "arguments": {"q": "a\nb"}})
    assert line == f'tool {shown} {{"q": "a\\nb"}}'


def test_a_stream_of_several_choices_shows_the_first_choice_alone(capsys: pytest.CaptureFixture[str]) -> None:
    """n > 1 interleaves the choices' deltas: shown as they came, they were an unreadable mix of both answers."""
    from aimux_cli import streams, wire

    data = (Path(__file__).parents[1] / "fixtures" / "openai" / "chat-n2-stream.sse").read_bytes()
    folder, parser = wire.StreamFolder(), streams.SSEParser()
    progress = live.Progress("text", _Env(tty=False))
    for i in range(0, len(data), 50):
        live.feed_events(folder, progress, "sse", parser.feed(data[i:i + 50]))
    live.feed_events(folder, progress, "sse", parser.close())
    streamed = capsys.readouterr().out
    assert streamed == "Fern Hollow Coffee: small batches, roasted on Tuesdays."  # choice 0 alone, as it came
    doc = folder.document()
    progress.close(doc)
    # then the other choice after a blank line: the whole is what prettify -f text writes of the same bytes
    from aimux_cli.render.text import render_text
    assert streamed + capsys.readouterr().out == render_text(doc.to_dict())
    assert render_text(doc.to_dict()).count("\n\n") == 1


# --- thinking ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "out", "err"), [
    ("show", "Hello.\n", "thinking: Greet them.\n"),
    ("hide", "Hello.\n", ""),
    ("stdout", "thinking: Greet them.\n\nHello.\n", ""),
])
def test_plain_thinking_is_labelled_and_ends_its_line(capsys, mode: str, out: str, err: str) -> None:
    progress = live.Progress("text", _Env(tty=False, stderr_tty=True), thinking=mode)
    progress.show([("thinking", "Greet "), ("thinking", "them.")])
    progress.show([("text", "Hello.")])
    progress.close(None)
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == (out, err)


@pytest.mark.parametrize(("mode", "where"), [("show", "err"), ("hide", None), ("stdout", "out")])
def test_rich_thinking_goes_where_asked(mode: str, where: str | None) -> None:
    out, err = io.StringIO(), io.StringIO()
    renderer = StreamRenderer(terminal_console(out), terminal_console(err), thinking=mode)
    renderer.append("thinking", "Greet them.")
    renderer.append("text", "Hello.")
    renderer.close()
    screens = {"out": screen_of(out.getvalue()), "err": screen_of(err.getvalue())}
    for name, lines in screens.items():
        assert (["thinking", "Greet them."] == lines[:2]) is (name == where)
    assert screens["out"][-1] == "Hello."


# --- Ctrl-C ------------------------------------------------------------------------------------------------------


def test_ctrl_c_while_drawing_waits_for_the_drawing_to_end() -> None:
    handler_calls = []
    with live.INTERRUPTS:
        handler = signal.getsignal(signal.SIGINT)
        with pytest.raises(KeyboardInterrupt):
            with live.INTERRUPTS.drawing():
                handler(signal.SIGINT, None)  # as if Ctrl-C came now: noted, not raised
                handler_calls.append("still drawing")
        with pytest.raises(KeyboardInterrupt):
            handler(signal.SIGINT, None)  # not drawing: at once
    assert handler_calls == ["still drawing"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# --- helpers -----------------------------------------------------------------------------------------------------


class _Env:
    """The TerminalEnv facts Progress reads, with a terminal console writing into a StringIO."""

    def __init__(self, tty: bool = True, stderr_tty: bool | None = None) -> None:
        self.stdout_isatty = tty
        self.stderr_isatty = tty if stderr_tty is None else stderr_tty
        self.out, self.err = io.StringIO(), io.StringIO()
        self.stdout_console = terminal_console(self.out)
        self.stderr_console = terminal_console(self.err)

    def color(self, stream: str = "stdout") -> bool:
        return False

    def interactive(self, stream: str = "stdout") -> bool:
        return self.stdout_isatty if stream == "stdout" else self.stderr_isatty
