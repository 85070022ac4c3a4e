"""Issue 9, memory of ~1 MB deltas in the Rich views: the text of one long line was held as several whole copies
(the stream view's joined segment, the block splitter's `line + "\\n"`, the document built beside the view), and one
wide character in it makes each copy 2-4 bytes a character. Measured with the fuzz harness's RSS probe."""

from __future__ import annotations

import json
import random

import pytest

from aimux_cli.render import long_content
from aimux_cli.render.stream_view import BlockSplitter
from fuzz import harness


def anthropic_text_stream(*deltas: str) -> bytes:
    def ev(name: str, obj: dict) -> str:
        return f"event: {name}\ndata: {json.dumps(obj, ensure_ascii=False)}\n\n"

    out = [ev("message_start", {"type": "message_start", "message": {
              "id": "m", "type": "message", "role": "assistant", "model": "c", "content": [],
              "usage": {"input_tokens": 1, "output_tokens": 1}}}),
           ev("content_block_start", {"type": "content_block_start", "index": 0,
                                      "content_block": {"type": "text", "text": ""}})]
    out += [ev("content_block_delta", {"type": "content_block_delta", "index": 0,
                                       "delta": {"type": "text_delta", "text": d}}) for d in deltas]
    out += [ev("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ev("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                                 "usage": {"output_tokens": 9}}),
            ev("message_stop", {"type": "message_stop"})]
    return "".join(out).encode()


LIST = ("1. Look around—don’t assume they see you.\n2. Wait ", "y" * 1_000_000,
        " for the signal.\n3. Cross.\n\nStay safe!")


ONE_LINE = ("Wait—", "y" * 1_000_000, " then go")


@pytest.mark.parametrize(("fmt", "deltas"), [("rich", LIST), ("rich --follow", LIST), ("rich --follow", ONE_LINE)],
                         ids=["rich-list", "follow-list", "follow-one-line"])
def test_a_1mb_delta_with_a_wide_character_stays_small(fmt: str, deltas: tuple[str, ...]) -> None:
    data = anthropic_text_stream(*deltas)
    harness.prettify(anthropic_text_stream("hi"), fmt)  # imports, outside the measure
    run = harness.prettify(data, fmt)
    assert run.exc is None and run.code == 0, (run.exc, run.stderr)
    if run.peak is not None:  # the fuzz bar is 10x: 9.5x, 12.3x and 10.5x before; 5.8x, 7.6x and 5.4x now
        assert run.peak < 8.5 * len(data), f"peak {run.peak / 2**20:.1f} MiB for {len(data)} bytes"


CODE = ("Here:\n\n```markdown\nTo cross:\n1. Look—then\n2", "y" * 1_000_000, " use a crosswalk.\n```\n\nDone.")


@pytest.mark.parametrize("fmt", ["rich", "rich --follow"])
def test_a_1mb_code_block_stays_small(fmt: str) -> None:
    """Final fuzz run, case 24261: a 1 MB line inside a fenced code block. Rich draws a code block whole: 27 MB of
    Rich objects (28.2 MiB peak, -f rich; 19.9 MiB with --follow) for a 1 MB input."""
    data = anthropic_text_stream(*CODE)
    harness.prettify(anthropic_text_stream("hi"), fmt)  # imports, outside the measure
    run = harness.prettify(data, fmt)
    assert run.exc is None and run.code == 0, (run.exc, run.stderr)
    if run.peak is not None:
        assert run.peak < 8.5 * len(data), f"peak {run.peak / 2**20:.1f} MiB for {len(data)} bytes"


def test_a_long_code_block_is_drawn_as_code_blocks_of_bounded_size() -> None:
    block = "".join(CODE).split("\n\n")[1]  # the fenced block, as the block splitter hands it over
    assert block.startswith("```markdown\n") and block.endswith("\n```")
    pieces = list(long_content._long_paragraph(block))
    assert len(pieces) > 10
    for piece in pieces:  # every piece is a whole fenced block of the same language, of bounded size
        assert piece.startswith("```markdown\n") and piece.endswith("\n```")
        assert len(piece) <= long_content.CHUNK_CHARS + 64
    bodies = [piece[len("```markdown\n"):-len("\n```")] for piece in pieces]
    assert "".join(bodies).replace("\n", "") == block[len("```markdown\n"):-len("\n```")].replace("\n", "")
    assert bodies[0] == "To cross:\n1. Look—then" and bodies[-1].endswith("y use a crosswalk.")


def test_a_tool_call_of_100000_lines_is_printed_a_piece_at_a_time() -> None:
    """Final fuzz run, case 80962: a Responses function call whose arguments grew by 100,000 newlines. The live view
    printed its final block (not valid JSON: drawn as text) in one print, and Rich holds every segment of a print
    until it ends: 46.9 MiB for a 200 KB stream with --follow (0.6 MiB without)."""
    from pathlib import Path

    fixture = Path(__file__).parents[1] / "fixtures" / "openai-responses" / "reasoning-summary-function-call-stream.sse"
    events = fixture.read_bytes().split(b"\n\n")
    at = next(i for i, e in enumerate(events) if b"response.function_call_arguments.delta" in e)
    item = json.loads(events[at].split(b"data: ", 1)[1])
    item["delta"] = "\n" * 100_000
    events.insert(at + 1, b"event: response.function_call_arguments.delta\ndata: " + json.dumps(item).encode())
    data = b"\n\n".join(events)
    harness.prettify(anthropic_text_stream("hi"), "rich --follow")  # imports, outside the measure
    run = harness.prettify(data, "rich --follow")
    assert run.exc is None and run.code == 0, (run.exc, run.stderr)
    if run.peak is not None:  # the fuzz harness's floor for small inputs is 6 MiB
        assert run.peak < 6 * 2**20, f"peak {run.peak / 2**20:.1f} MiB for {len(data)} bytes"


def test_the_block_splitter_keeps_a_line_as_it_came() -> None:
    line = "a—" + "y" * 10_000
    splitter = BlockSplitter()
    splitter.feed(line)
    splitter.feed("\n")
    assert any(kept is line for kept in splitter._lines)  # not a copy with its "\n"
    assert splitter.tail == line + "\n"


def test_line_pieces_draw_what_markdown_pieces_draws() -> None:
    size = long_content.CHUNK_CHARS
    rng = random.Random(9)

    def sources(pieces: list) -> list:
        return [getattr(p, "source", None) or getattr(p, "markup", None) or type(p).__name__ for p in pieces]

    for _ in range(60):
        parts = []
        for _ in range(rng.choice([1, 3, 40])):
            length = rng.choice([0, 1, 50, size // 3, size + 5, 3 * size + 7])
            parts.append("".join(rng.choice(rng.choice(["y", "ab c", "é y", "  "])) for _ in range(200))
                         * (length // 200 + 1))
        if rng.random() < 0.2:
            parts[0] = "```" + parts[0]
        whole = "".join(parts)
        if whole.strip():
            assert sources(long_content.line_pieces(parts)) == sources(long_content.markdown_pieces(whole))
