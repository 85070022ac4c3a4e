"""Issue 9, memory of one block of many short lines in the Rich views: a refusal of ~200,000 newlines was drawn in
one print, and Rich holds every segment of a print until it ends (fuzz seed 5, case 111: 100.7 MiB for a 200 KB
input, -f rich; the same in --follow). Every kind of block, and every other value a view draws, with 200,000
newlines and with one 1 MB line, stays under the fuzz harness's 10x bar (its RSS probe)."""

from __future__ import annotations

import io
import json
import random

import pytest
from rich.console import Console, Group
from rich.padding import Padding
from rich.text import Text

from aimux_cli.render.long_content import Verbatim
from aimux_cli.render.rich_view import markdown, render_rich
from fuzz import harness

NEWLINES = "\n" * 200_000
ONE_LINE = "y" * 1_000_000


def chat(message: dict, finish: str = "stop") -> dict:
    return {"id": "c", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": None, **message},
                         "finish_reason": finish}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def message(content: list) -> dict:
    return {"id": "m", "type": "message", "role": "assistant", "model": "c", "content": content,
            "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": 1}}


def chat_stream(delta: dict) -> str:
    base = {"id": "c", "object": "chat.completion.chunk", "model": "m"}
    chunks = [dict(base, choices=[{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]),
              dict(base, choices=[{"index": 0, "delta": delta, "finish_reason": None}]),
              dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}])]
    return "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"


def tool_call(name: str, call_id: str, arguments: str) -> dict:
    return {"tool_calls": [{"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}]}


# each kind of block and each other value a Rich view draws, holding X
CASES = {
    "refusal": lambda x: chat({"refusal": x}),
    "text": lambda x: chat({"content": x}),
    "thinking": lambda x: message([{"type": "thinking", "thinking": x, "signature": "s"},
                                   {"type": "text", "text": "ok"}]),
    "tool-arguments": lambda x: chat(tool_call("f", "t", x), "tool_calls"),
    "tool-arguments-json": lambda x: chat(tool_call("f", "t", json.dumps({"a": x})), "tool_calls"),
    "tool-name-and-id": lambda x: chat(tool_call(x, x, "{}"), "tool_calls"),
    "error-message": lambda x: {"error": {"message": x, "type": x, "code": x}},
    "finish-reason": lambda x: chat({"content": "hi"}, x),
    "citation": lambda x: message([{"type": "text", "text": "hi", "citations": [
        {"type": "web_search_result_location", "url": x, "title": x, "cited_text": "c", "encrypted_index": "e"}]}]),
    "unknown-block": lambda x: message([{"type": "weird", "data": x, "more": {"k": x}}]),
    "safety": lambda x: {"candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]},
                                         "finishReason": "SAFETY",
                                         "safetyRatings": [{"category": x, "probability": "HIGH", "blocked": True}]}],
                         "modelVersion": "g"},
    "model-list": lambda x: {"object": "list", "data": [{"id": x, "object": "model", "owned_by": x, "created": 1}]},
    "embeddings": lambda x: {"object": "list", "model": x, "usage": {"prompt_tokens": 1, "total_tokens": 1},
                             "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}]},
    "stream-refusal": lambda x: chat_stream({"refusal": x}),
    "stream-text": lambda x: chat_stream({"content": x}),
    "stream-tool-arguments": lambda x: chat_stream(
        {"tool_calls": [{"index": 0, "id": "t", "type": "function", "function": {"name": "f", "arguments": x}}]}),
    "stream-reasoning": lambda x: chat_stream({"reasoning_content": x}),
}


def measured(data: bytes, fmt: str) -> harness.Run:
    harness.prettify(json.dumps(chat({"content": "hi"})).encode(), fmt)  # imports, outside the measure
    run = harness.prettify(data, fmt)
    assert run.exc is None and run.code == 0, (run.exc, run.stderr)
    return run


def test_a_refusal_of_200000_newlines_stays_small() -> None:
    """Fuzz seed 5, case 111 (an OpenRouter answer whose refusal is 200,000 newlines): 100.7 MiB, now 0.7 MiB."""
    for fmt in ("rich", "rich --follow"):
        data = json.dumps(chat({"refusal": NEWLINES})).encode()
        run = measured(data, fmt)
        if run.peak is not None:
            assert run.peak < 10 * len(data), f"{fmt}: peak {run.peak / 2**20:.1f} MiB for {len(data)} bytes"


@pytest.mark.parametrize("value", [NEWLINES, ONE_LINE], ids=["200000-newlines", "1mb-line"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_kind_of_block_stays_small(case: str, value: str) -> None:
    obj = CASES[case](value)
    data = (obj if isinstance(obj, str) else json.dumps(obj)).encode()
    fmt = "rich --follow" if case.startswith("stream-") else "rich"  # a body's --follow view is rich_view's
    run = measured(data, fmt)
    if run.peak is not None:  # the fuzz bar
        assert run.peak < 10 * len(data), f"{fmt}: peak {run.peak / 2**20:.1f} MiB for {len(data)} bytes"


def draw(doc: dict | None = None, renderable=None) -> str:
    out = io.StringIO()
    console = Console(width=60, file=out, color_system="truecolor", force_terminal=True)
    if doc is not None:
        render_rich(doc, console)
    else:
        console.print(renderable)
    return out.getvalue()


@pytest.mark.parametrize("text", ["no", "a\nb", "".join(f"line {n}, and a line long enough to wrap at sixty columns\n"
                                                          for n in range(1000)), "\n" * 5000],
                         ids=["short", "two-lines", "1000-wrapped-lines", "5000-newlines"])
def test_a_refusal_in_pieces_draws_what_it_drew_whole(text: str) -> None:
    """Colours included: the label, then the refusal in yellow, as one Text in one print drew it."""
    whole = Text.assemble(("refusal ", "bold reverse yellow"), " ", (text, "yellow"))
    assert draw({"api": "x", "blocks": [{"type": "refusal", "text": text}]}) == \
        draw({"api": "x"}) + "\n" + draw(renderable=whole)


def test_many_citations_draw_what_they_drew_whole() -> None:
    cites = [{"url": f"https://example.com/{n}", "title": f"page {n}"} for n in range(3000)]
    drawn = draw({"api": "x", "blocks": [{"type": "text", "text": "hi", "citations": cites}]})
    notes = "\n".join(f"[{n}] page {n - 1} — https://example.com/{n - 1}" for n in range(1, 3001))
    assert drawn == draw({"api": "x"}) + "\n" + draw(renderable=Group(markdown("hi"), Text(), Text(notes, style="dim")))
    assert drawn.count("https://example.com/") == 3000


@pytest.mark.parametrize(("style", "indent"), [("", 0), ("yellow", 0), ("dim", 2), ("", 2)])
def test_verbatim_draws_what_the_text_draws(style: str, indent: int) -> None:
    """long_content.Verbatim writes blank lines as one blank line's segments, made once (200,000 newlines: 2 s of
    Rich's line wrapping, 0.2 s now); every other line through Text, as before."""
    rnd = random.Random(9)
    alphabet = ["\n", "\n", "\n", "a", "bb", "word ", "x" * 70, "é", "漢字", "\t", " ", "  "]
    texts = ["", "\n", "\n\n", "a\n", "\na", "a\n\n\nb"]
    texts += ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 30))) for _ in range(300)]
    for text in texts:
        whole = Text(text, style=style)
        expected = draw(renderable=Padding(whole, (0, 0, 0, indent)) if indent else whole)
        assert draw(renderable=Verbatim(text, style, indent)) == expected, repr(text)
