"""The terminal sanitizer: every hostile class becomes visible inert text; clean text is untouched."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aimux_cli.render.sanitize import escape_markup, for_terminal

CASES = json.loads((Path(__file__).parent / "data" / "sanitize" / "cases.json").read_text(encoding="utf-8"))
HOSTILE = {case["name"]: case for case in CASES["hostile"]}
CLEAN = {case["name"]: case["input"] for case in CASES["clean"]}

# What may legitimately remain of the unsafe classes: a ZWJ between emoji, the three RGI subdivision flags.
_ALLOWED = re.compile(
    "(?<=[\u2190-\u2bff\U0001f000-\U0001faff\ufe0f])\u200d(?=[\u2190-\u2bff\U0001f000-\U0001faff])"
    "|\U0001f3f4\U000e0067\U000e0062(?:\U000e0065\U000e006e\U000e0067|\U000e0073\U000e0063\U000e0074"
    "|\U000e0077\U000e006c\U000e0073)\U000e007f"
)
_VS_RUN = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]{2,}")


def unsafe_chars(s: str) -> list[str]:
    """Characters a terminal would act on or that hide/reorder text (C0/C1 but newline and tab, Cf, Cs, Zl, Zp)."""
    s = _ALLOWED.sub("", s)
    bad = [ch for ch in s if ch not in "\n\t" and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp")]
    return bad + _VS_RUN.findall(s)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_becomes_visible_and_inert(name: str) -> None:
    case = HOSTILE[name]
    assert unsafe_chars(case["input"]), "the fixture must contain something hostile"
    out = for_terminal(case["input"])
    assert unsafe_chars(out) == []
    assert "\x1b" not in out and "\x9b" not in out
    for notation in case["visible"]:
        assert notation in out


@pytest.mark.parametrize("name", sorted(CLEAN))
def test_clean_text_is_unchanged(name: str) -> None:
    assert for_terminal(CLEAN[name]) == CLEAN[name]


def test_notation_is_python_ascii_style() -> None:
    assert for_terminal("\x1b\r\x9b\u202e\U000e0041\ud800") == r"\x1b\r\x9b\u202e\U000e0041\ud800"


def test_sanitized_text_survives_utf8_encoding() -> None:
    # A lone surrogate (possible from JSON "\ud800") would make the terminal's encoder raise.
    for_terminal(HOSTILE["lone_surrogate"]["input"]).encode("utf-8")


@given(st.text(alphabet=st.characters(codec=None), max_size=200))
def test_any_text_leaves_nothing_unsafe(s: str) -> None:
    assert unsafe_chars(for_terminal(s)) == []


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp")), max_size=200))
def test_text_without_controls_is_unchanged(s: str) -> None:
    s = _VS_RUN.sub("", s)
    s = "".join(c for c in s if not 0xE0000 <= ord(c) <= 0xE007F)  # tag characters (some unassigned, Cn) hide text
    assert for_terminal(s) == s


def test_rich_markup_is_shown_literally() -> None:
    from rich.text import Text

    from aimux_cli.render.console import TerminalEnv, make_console

    text = CLEAN["rich_markup_looking"]
    console = make_console(TerminalEnv(color_flag=True, columns=200), file=io.StringIO())  # colour on, the real path
    console.print(escape_markup(text), markup=True)  # the unavoidable-markup path
    console.print(text)  # a str printed by mistake: our consoles parse no markup
    console.print(Text(text))  # the preferred path: Text is never parsed as markup
    out = console.file.getvalue()
    assert out.count(text) == 3
    assert "\x1b]8;" not in out and "\x1b[1m" not in out  # no hyperlink, no bold


def test_sanitize_does_not_import_rich() -> None:
    code = "import sys, aimux_cli.render.sanitize, aimux_cli.render.text; print('rich' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
