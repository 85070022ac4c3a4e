"""Every project fixture, normalized: the document as TOON and JSON, and the Rich view, against reviewed snapshots.

The snapshots are the reviewed expected output: a change to any of them shows up in review as a diff of what
users see. Value-level assertions per wire format live in tests/test_wire_*.py.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import toon_format

from aimux_cli.present import dumps_json
from aimux_cli.inputs import Source
from aimux_cli.prettify import normalize
from aimux_cli.toon import encode

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
BROKEN = {"hostile/garbage.bin", "hostile/truncated.json"}  # covered by the input-error tests
FILES = sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*")
               if p.suffix in (".json", ".sse", ".ndjson", ".eventstream")
               and str(p.relative_to(FIXTURES)) not in BROKEN)


def _data(rel: str):
    outcome = normalize(Source(rel, (FIXTURES / rel).read_bytes()))
    return outcome.data


@pytest.mark.parametrize("rel", FILES)
def test_toon_document(rel, snapshot):
    data = _data(rel)
    text = encode(data)
    assert text == snapshot
    assert toon_format.decode(text) == data  # and it is real TOON


@pytest.mark.parametrize("rel", FILES)
def test_json_document(rel, snapshot):
    assert dumps_json(_data(rel)) == snapshot


@pytest.mark.parametrize("rel", FILES)
def test_rich_view(rel, snapshot):
    from rich.console import Console

    from aimux_cli.render.rich_view import render_rich, render_value

    console = Console(file=io.StringIO(), width=100, color_system=None, force_terminal=False, record=True,
                      legacy_windows=False)
    outcome = normalize(Source(rel, (FIXTURES / rel).read_bytes()))
    if outcome.document is None:  # the generic path, drawn as the CLI draws it
        render_value(outcome.value, console)
    else:
        render_rich(outcome.data, console)
    assert console.export_text() == snapshot


def _has_tool_calls(rel: str) -> bool:
    outcome = normalize(Source(rel, (FIXTURES / rel).read_bytes()))
    return outcome.document is not None and any(b.get("type") == "tool_call" for b in outcome.document.blocks)


TOOL_FILES = [rel for rel in FILES if _has_tool_calls(rel)]


@pytest.mark.parametrize("rel", TOOL_FILES)
def test_text_of_tool_call_answers(rel, snapshot):
    """`-f text` of a tool-call answer: the answer text, then one `tool NAME ARGUMENTS` line per call (as ask and
    --follow print them)."""
    from aimux_cli.present import PrettifyOptions, render

    assert render(normalize(Source(rel, (FIXTURES / rel).read_bytes())), "text", PrettifyOptions([])) == snapshot
