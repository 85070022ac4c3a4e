"""Document -> the answer text alone, for pipelines (`aimux prettify -f text | wc -w`).

`render_text(doc)` returns only what the model answered, exactly as it was sent:

- the `text` blocks of the answer, in order. Text blocks that follow each other are joined with nothing between them
  (they are pieces of one answer: Anthropic splits a sentence where a citation starts); runs of text separated by
  other blocks (a tool call, thinking) are joined with a blank line.
- thinking, tool calls, refusals and other blocks are left out: they are not answer text (`--format json` has them;
  `prettify -f text` adds one `tool NAME ARGS` line per call after this text: present.tool_lines).
- a document with several `choices`: every choice's text, in order, separated by a blank line.
- a document with no text: the empty string. An error document still gives the text that arrived before the error
  (what was received is never lost); the CLI reports the error itself on stderr.
- a non-empty result always ends with one newline, so that shell tools see a complete last line.

With `terminal=True` the result is passed through `sanitize.for_terminal`: use it when stdout is a terminal. Into a
pipe the text stays exact. `safety_notes(doc)` gives the notable content-filter results as lines for stderr. This module never imports Rich.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aimux_cli.render.sanitize import for_terminal


def blocks_text(blocks: Iterable[Any]) -> str:
    """The answer text of one list of blocks (see the module docstring for the joining rules)."""
    runs: list[str] = []
    current: list[str] = []
    for block in blocks:
        if isinstance(block, Mapping) and block.get("type") == "text" and isinstance(block.get("text"), str):
            current.append(block["text"])
        elif current:
            runs.append("".join(current))
            current = []
    if current:
        runs.append("".join(current))
    return "\n\n".join(run for run in runs if run)


def safety_notes(doc: Any) -> list[str]:
    """The notable content-filter results of `doc` (filtered, detected, rated above negligible / safe), one line
    each, for stderr next to the answer text (aimux_cli/safety.py); none for a normal answer."""
    from aimux_cli.safety import describe, notable

    entries = doc.get("safety") if isinstance(doc, Mapping) else None
    if not isinstance(entries, list):
        return []
    return [f"content filter: {describe(e)}" for e in entries if notable(e)]


def render_text(doc: Any, *, terminal: bool = False) -> str:
    """Only the answer text of `doc`, ending in a newline ("" when there is none); sanitized when `terminal`."""
    if not isinstance(doc, Mapping):
        return ""
    if "kind" in doc:  # embeddings, a model list, a batch: render/kinds_text.py
        from aimux_cli.render.kinds_text import kind_text

        return for_terminal(kind_text(doc)) if terminal else kind_text(doc)
    choices = doc.get("choices")
    if isinstance(choices, list) and choices:
        parts = [blocks_text(c.get("blocks") or ()) for c in choices if isinstance(c, Mapping)]
        text = "\n\n".join(part for part in parts if part)
    else:
        text = blocks_text(doc.get("blocks") or ())
    if text and not text.endswith("\n"):
        text += "\n"
    return for_terminal(text) if terminal else text
