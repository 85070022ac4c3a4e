"""Document renderers: answer text, the Rich view (syrupy snapshots), the streaming view, terminal facts."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from aimux_cli.render.console import TerminalEnv, make_console
from aimux_cli.render.rich_view import markdown, render_rich, render_value
from aimux_cli.render.stream_view import BlockSplitter, StreamRenderer, split_blocks
from aimux_cli.render.text import render_text
from test_sanitize import unsafe_chars

DOCS = Path(__file__).parent / "data" / "documents"
NAMES = sorted(p.stem for p in DOCS.glob("*.json"))
_SGR = re.compile(r"\x1b\[[0-9;]*m")


def load(name: str) -> Any:
    return json.loads((DOCS / f"{name}.json").read_text(encoding="utf-8"))


def plain_console(width: int = 100) -> Console:
    return Console(width=width, record=True, color_system=None, force_terminal=False, file=io.StringIO())


def live_console(width: int = 100) -> Console:
    """A console that behaves as an interactive colour terminal, writing into a StringIO."""
    return Console(width=width, record=True, color_system="truecolor", force_terminal=True, force_interactive=True,
                   file=io.StringIO(), markup=False, emoji=False, highlight=False)


def view(doc: Any) -> str:
    console = plain_console()
    render_rich(doc, console)
    return "\n".join(line.rstrip() for line in console.export_text().splitlines())


# --- render_text ---------------------------------------------------------------------------------------------------

EXPECTED_TEXT = {
    "text_usage": None,  # the Markdown source, checked below
    "thinking": "The capital of Australia is **Canberra**, chosen as a compromise between Sydney and Melbourne.\n",
    "tool_calls": "Let me check both cities.\n",
    "refusal": "",
    "choices": "Roses are red.\n\nViolets are\n",
    "error": "",
    "hostile": "TEXT_OF_BLOCK_1",  # an error document still gives the text that arrived before the error
    "generic": "",
    "incomplete": "Here are three facts about octopuses:\n\n- They have three hearts\n- Their blood is bl\n",
    "server_tools": "Claude Shannon was born on April 30, 1916.\n",
    "warnings": "Hello world\n",  # warnings are not answer text (prettify -f text prints them on stderr)
}


@pytest.mark.parametrize("name", NAMES)
def test_render_text(name: str) -> None:
    doc = load(name)
    expected = EXPECTED_TEXT[name]
    if expected is None:
        expected = doc["blocks"][0]["text"] + "\n"
    elif expected == "TEXT_OF_BLOCK_1":
        expected = doc["blocks"][1]["text"] + "\n"
    assert render_text(doc) == expected


def test_render_text_separates_text_runs_split_by_other_blocks() -> None:
    doc = load("tool_calls")
    doc["blocks"].append({"type": "text", "text": "Both are "})
    doc["blocks"].append({"type": "text", "text": "sunny."})
    assert render_text(doc) == "Let me check both cities.\n\nBoth are sunny.\n"


def test_render_text_is_exact_for_pipes_and_sanitized_for_terminals() -> None:
    doc = load("hostile")
    doc["status"] = "ok"
    source = doc["blocks"][1]["text"]
    assert render_text(doc) == source + "\n"
    shown = render_text(doc, terminal=True)
    assert unsafe_chars(shown) == [] and r"\x1b[31mRED" in shown


# --- the Rich view -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_rich_view_snapshot(name: str, snapshot) -> None:
    assert view(load(name)) == snapshot


def test_rich_view_of_hostile_document_is_inert_on_a_colour_terminal() -> None:
    console = live_console()
    render_rich(load("hostile"), console)
    raw = console.file.getvalue()
    # Rich's own colour codes (SGR) are the only escape sequences left; no OSC 8/52, no cursor moves, no clear.
    assert unsafe_chars(_SGR.sub("", raw)) == []
    text = console.export_text()
    for shown in (r"\x1b[31mRED", r"\x1b]8;;https://evil.example/", r"\x1b]52;c;", r"\x1b]0;pwned title\x07",
                  r"\x9b31m", r"access\u202e\u2066", r"zero\u200bwidth", r"carriage\rreturn", r"run_\x1b[31mshell",
                  "[link=https://evil.example]click[/link]", "[bold red]loud[/]", ":smile:", r"\u202eeno\u202c",
                  r"evil/model\x1b[2J"):
        assert shown in text, shown


def test_rich_view_shows_markdown_links_with_their_target() -> None:
    assert "See the docs (https://docs.python.org/3/howto/sorting.html)." in view(load("text_usage"))


def test_rich_view_without_blocks_keeps_header_and_error() -> None:
    console = plain_console()
    render_rich(load("hostile"), console, blocks=False)
    text = console.export_text()
    assert "openrouter" in text and "error" in text and "RED" not in text and "tool call" not in text


def test_rich_view_draws_the_warnings_under_the_answer() -> None:
    text = view(load("warnings"))
    assert text.index("Hello world") < text.index("⚠ anthropic.messages: event 4")
    assert text.splitlines()[-1] == "⚠ invalid UTF-8 at byte 812, replaced with U+FFFD"


@pytest.mark.parametrize("field", ["finish_raw", "model", "id", "stop_sequence", "cost"])
def test_a_metadata_value_draws_a_bounded_number_of_lines(field: str) -> None:
    # issue 9 defect 10: a finish_reason of 200,000 newlines took 42 s in -f rich; one value now draws <= 12 lines
    doc = {"api": "openai.chat", "status": "ok", "finish": None, "blocks": [{"type": "text", "text": "hi"}],
           field: "line\n" * 200_000}
    small = dict(doc, **{field: "line"})
    drawn = view(doc).splitlines()
    assert len(drawn) <= len(view(small).splitlines()) + 12
    assert any("more lines" in line for line in drawn)


@pytest.mark.parametrize("where", ["error", "other_block", "citation", "warnings", "usage_key"])
def test_every_metadata_place_is_bounded(where: str) -> None:
    huge = "x\n" * 50_000 + "y" * 100_000
    doc: dict[str, Any] = {"api": "openai.chat", "status": "ok", "finish": "stop"}
    if where == "error":
        doc.update(status="error", error={"message": huge, "type": huge})
    elif where == "other_block":
        doc["blocks"] = [{"type": huge, "field": huge}]
    elif where == "citation":
        doc["blocks"] = [{"type": "text", "text": "hi", "citations": [{"url": huge, "title": huge}]}]
    elif where == "warnings":
        doc["warnings"] = [huge, huge]
    else:
        doc["usage"] = {huge: 1}
    text = view(doc)
    assert len(text.splitlines()) < 80 and len(text) < 30_000


def test_bounded_cuts_by_lines_then_characters() -> None:
    from aimux_cli.render.rich_view import bounded
    assert bounded("short") == "short"
    assert bounded("a\n" * 20) == "a\n" * 11 + "a… 9 more lines"
    assert bounded("z" * 2500) == "z" * 2000 + "… 500 more characters"


MARKDOWN_PARAGRAPHS = ("Some **bold** text with `code` and a [link](http://x.y).\nA second line.\n\n"
                       "- item one\n- item two\n  continued\n\n```python\nprint(1)\n\nprint(2)\n```\n\n# Heading\n\n")


@pytest.mark.parametrize("kind", ["text", "thinking", "tool_call", "generic"])
def test_long_content_is_drawn_in_pieces_exactly_as_whole(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # fuzz finding F8/F10: Rich keeps ~1 KB of objects per drawn line until a print ends, so a long answer is
    # printed a few hundred lines at a time; what is drawn must not change
    import aimux_cli.render.long_content as long_content

    source = MARKDOWN_PARAGRAPHS * 200
    block: dict[str, Any] = {"type": kind, "text": source}
    if kind == "tool_call":
        block = {"type": "tool_call", "name": "f", "arguments": {"rows": [{"n": i} for i in range(2000)]}}
    doc: Any = {"api": "openai.chat", "status": "ok", "finish": "stop", "blocks": [block]}
    if kind == "generic":
        doc = [{"n": i, "s": "x" * (i % 7)} for i in range(3000)]

    def draw() -> str:
        console = plain_console()
        if kind == "generic":
            render_value(doc, console)
        else:
            render_rich(doc, console)
        return console.export_text()

    pieces = draw()
    monkeypatch.setattr(long_content, "CHUNK_LINES", 10 ** 9)
    monkeypatch.setattr(long_content, "CHUNK_CHARS", 10 ** 9)
    assert pieces == draw() and pieces.count("\n") > 2000


def test_the_generic_view_cuts_a_very_long_string() -> None:
    console = plain_console()
    render_value({"a": "y" * 200_000, "b": 1}, console)
    text = console.export_text()
    assert "134,474 more characters (-f json has them all)" in text.replace("\n", "") and '"b": 1' in text
    assert text.count("y") < 70_000


@pytest.mark.parametrize("kind", ["text", "thinking"])
def test_a_huge_paragraph_or_word_is_drawn_in_pieces(kind: str) -> None:
    # fuzz findings F19/F20: Rich wraps one huge paragraph superlinearly, and folds a huge word in much memory
    from aimux_cli.render.rich_view import Chunked, block_view, text_run

    source = "Biscuit is a golden retriever. " * 20_000 if kind == "text" else "y" * 1_000_000
    block = {"type": kind, "text": source}
    view_ = text_run([block]) if kind == "text" else block_view(block)
    assert isinstance(view_, Chunked) and len(view_.renderables) > 8
    drawn = view(dict(api="x", status="ok", finish="stop", blocks=[block]))
    assert drawn.replace("\n", "").replace(" ", "").count("y" if kind == "thinking" else "Biscuit") in (
        1_000_000, 20_000)


def test_trailing_blank_lines_of_a_long_answer_draw_nothing() -> None:
    # fuzz finding F22: 100,000 trailing newlines were parsed as one Markdown block (MBs for nothing)
    from aimux_cli.render.long_content import markdown_pieces

    pieces = markdown_pieces("The word has three e's." + "\n" * 100_000)
    assert len(pieces) == 1 and pieces[0].source == "The word has three e's."


def test_long_text_becomes_pieces() -> None:
    from aimux_cli.render.rich_view import Chunked, text_run

    assert not isinstance(text_run([{"type": "text", "text": MARKDOWN_PARAGRAPHS}]), Chunked)
    long_run = text_run([{"type": "text", "text": MARKDOWN_PARAGRAPHS * 200}])
    assert isinstance(long_run, Chunked) and len(long_run.renderables) > 10


def test_a_timing_beyond_a_float_is_drawn_as_sent() -> None:
    # fuzz finding F12: f"{value:.2f}" of a 400-digit integer raised OverflowError
    doc = {"api": "openai.chat", "status": "ok", "finish": "stop", "timing": {"queue_s": 9 ** 420, "total_s": 2.5}}
    text = view(doc)
    assert "2.50 s" in text and str(9 ** 420)[:50] in text.replace("\n", "")


def test_deep_and_huge_values_are_drawn() -> None:
    deep: Any = 1
    for _ in range(2000):
        deep = [deep]
    doc = {"api": "openai.chat", "status": "ok", "finish": None, "finish_raw": deep, "cost": 10 ** 5000,
           "blocks": [{"type": "tool_call", "name": "f", "arguments": deep}, {"type": "odd", "v": deep}]}
    assert "tool call" in view(doc)
    console = plain_console()
    render_value(deep, console)
    assert console.export_text().count("[") == 2000


def test_render_value_draws_other_json_sanitized() -> None:
    console = plain_console()
    render_value({"data": ["\u202eid", 1]}, console)
    assert console.export_text() == '{\n  "data": [\n    "\\u202eid",\n    1\n  ]\n}\n'


# --- the streaming view --------------------------------------------------------------------------------------------

STREAM_TEXT = (DOCS.parent / "stream" / "answer.md").read_text(encoding="utf-8")


def chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def test_stream_on_non_terminal_prints_the_final_markdown_once() -> None:
    out, err = plain_console(), plain_console()
    with StreamRenderer(out, err) as stream:
        stream.append("thinking", "Let me \x1b[31mthink")
        stream.append("thinking", " about it.")
        for piece in chunks(STREAM_TEXT, 7):
            stream.append("text", piece)
    reference = plain_console()
    reference.print(markdown(STREAM_TEXT))
    assert out.export_text() == reference.export_text()
    assert err.export_text() == "thinking\nLet me \\x1b[31mthink about it.\n"


def test_stream_on_terminal_prints_each_finished_block_once() -> None:
    out = live_console()
    blocks = STREAM_TEXT.strip("\n").split("\n\n")
    stream = StreamRenderer(out, plain_console())
    # Each append completes one block together with the blank line and the first letter of the next, so a complete
    # block is never the live tail: a second copy of it could only come from redrawing earlier blocks.
    stream.append("text", blocks[0][0])
    for n, block in enumerate(blocks):
        stream.append("text", block[1:] + ("\n\n" + blocks[n + 1][0] if n + 1 < len(blocks) else ""))
    stream.close()
    raw = _SGR.sub("", out.file.getvalue())
    for probe in ("First paragraph of the answer.", "print(total)", "two items"):
        assert raw.count(probe) == 1, probe
    assert "a closing paragraph." in raw  # the last block was the live tail, then printed for good


def test_stream_redraws_only_the_tail(monkeypatch: pytest.MonkeyPatch) -> None:
    out = live_console()
    drawn: list[str] = []
    monkeypatch.setattr("aimux_cli.render.stream_view.markdown", lambda src: drawn.append(src) or markdown(src))
    with StreamRenderer(out) as stream:
        for piece in chunks(STREAM_TEXT, 5):
            stream.append("text", piece)
    first = STREAM_TEXT.split("\n\n")[0]
    assert sum(first in source for source in drawn) <= 2  # at most: once as the tail, once printed for good
    assert max(len(source) for source in drawn) < len(STREAM_TEXT) / 2


@pytest.mark.parametrize(
    ("source", "blocks", "tail"),
    [
        ("a\n\nb", ["a"], "b"),
        ("a\n\n", [], "a\n\n"),  # nothing has begun after the blank line yet
        ("a\n\n\n\nb\nc\n\nd", ["a", "b\nc"], "d"),
        ("```py\nx\n\ny\n```\n\nafter", ["```py\nx\n\ny\n```"], "after"),
        ("```\nopen\n\nstill", [], "```\nopen\n\nstill"),
        ("- a\n\n  continued\n\n- b", ["- a\n\n  continued"], "- b"),
        ("~~~~\n```\n\n~~~~\n\nz", ["~~~~\n```\n\n~~~~"], "z"),
    ],
)
def test_split_blocks(source: str, blocks: list[str], tail: str) -> None:
    assert split_blocks(source) == (blocks, tail)


@given(st.text(alphabet="ab `~-\t\n", max_size=80), st.lists(st.integers(0, 80), max_size=6))
def test_block_splitter_fed_in_pieces_agrees_with_one_pass(source: str, cuts: list[int]) -> None:
    splitter, blocks = BlockSplitter(), []
    bounds = [0, *sorted(c for c in cuts if c <= len(source)), len(source)]
    for a, b in zip(bounds, bounds[1:]):
        blocks += splitter.feed(source[a:b])
    assert (blocks, splitter.tail) == split_blocks(source)


# --- terminal facts ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "environ", "isatty", "color"),
    [
        (None, {}, True, True),
        (None, {}, False, False),
        (None, {"TERM": "dumb"}, True, False),
        (None, {"NO_COLOR": "1"}, True, False),
        (None, {"NO_COLOR": ""}, True, True),  # empty means unset
        (None, {"FORCE_COLOR": "1"}, False, True),
        (None, {"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False),
        (True, {"NO_COLOR": "1"}, False, True),
        (False, {"FORCE_COLOR": "1"}, True, False),
    ],
)
def test_color_precedence(flag: bool | None, environ: dict[str, str], isatty: bool, color: bool) -> None:
    env = TerminalEnv.detect(flag, environ, stdout=_Tty(isatty), stderr=_Tty(False), stdin=_Tty(False))
    assert env.color("stdout") is color


def test_console_follows_the_environment() -> None:
    env = TerminalEnv.detect(None, {"NO_COLOR": "1", "COLUMNS": "72"}, stdout=_Tty(True))
    out = io.StringIO()
    console = make_console(env, "stdout", file=out)
    assert console.width == 72 and console.is_interactive
    from rich.text import Text

    console.print(Text("x", style="bold red"))
    assert out.getvalue() == "\x1b[1mx\x1b[0m\n"  # bold kept, colour dropped, as NO_COLOR says


def test_console_module_does_not_import_rich() -> None:
    code = "import sys, aimux_cli.render.console, aimux_cli.render; print('rich' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


class _Tty(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
_BLOCK = st.fixed_dictionaries(
    {"type": st.sampled_from(["text", "thinking", "tool_call", "refusal", "image", "server_tool_use"])},
    optional={"text": _JSON, "name": _JSON, "id": _JSON, "arguments": _JSON, "redacted": _JSON, "citations": _JSON},
)
_DOC = st.fixed_dictionaries(
    {"api": st.sampled_from(["openai.chat", "anthropic.messages", "json"]), "status": _JSON, "finish": _JSON},
    optional={"provider": _JSON, "model": _JSON, "finish_raw": _JSON, "stop_sequence": _JSON, "usage": _JSON,
              "timing": _JSON, "cost": _JSON, "error": _JSON, "request_id": _JSON,
              "blocks": st.lists(_BLOCK | _JSON, max_size=4),
              "choices": st.lists(st.fixed_dictionaries({}, optional={"index": _JSON, "blocks": st.lists(_BLOCK)}))},
)


@settings(max_examples=60, deadline=None)
@given(_DOC)
def test_renderers_never_fail_on_odd_documents(doc: dict[str, Any]) -> None:
    render_text(doc)
    render_text(doc, terminal=True)
    render_rich(doc, plain_console())
