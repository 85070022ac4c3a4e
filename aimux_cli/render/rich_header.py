"""The header of a Rich view (provider, model, finish, safety, usage, timing, cost, choice titles, warnings) and the
bounds every drawn metadata value goes through (`safe`, `bounded`): see rich_view.py's docstring. Split from
rich_view.py, which draws the blocks and re-exports these names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.text import Text

from aimux_cli.jsondump import dumps
from aimux_cli.render.sanitize import for_terminal

_USAGE_LABELS = (
    ("input_tokens", "in"),
    ("output_tokens", "out"),
    ("total_tokens", "total"),
    ("reasoning_tokens", "reasoning"),
    ("cache_read_tokens", "cache read"),
    ("cache_write_tokens", "cache write"),
)
_TIMING_LABELS = (("queue_s", "queue"), ("load_s", "load"), ("prompt_s", "prompt"), ("completion_s", "completion"),
                  ("total_s", "total"))

FIELD_LINES = 12  # most lines one metadata value may draw
FIELD_CHARS = 2000  # most characters one metadata value may draw
_SEP = " · "


def safe(value: Any) -> str:
    """Any document value (but the answer's content) as terminal-safe text, bounded: see the module docstring."""
    return for_terminal(bounded(value if isinstance(value, str) else _compact_json(value)))


def bounded(text: str, lines: int = FIELD_LINES, chars: int = FIELD_CHARS) -> str:
    """`text` cut to `lines` lines and `chars` characters, with a note of how much was left out."""
    if len(text) <= chars and text.count("\n", 0, chars) < lines:
        return text
    head = text[:chars]
    cut = head.find("\n")
    for _ in range(lines - 1):
        if cut < 0:
            break
        cut = head.find("\n", cut + 1)
    head = head[:cut] if cut >= 0 else head
    more = text.count("\n", len(head))
    rest = f"{more:,} more line{'s' if more != 1 else ''}" if more else f"{len(text) - len(head):,} more characters"
    return f"{head}… {rest}"


def warnings_view(warnings: list) -> Text:
    """What aimux could not read in the input, one line each."""
    text = Text(style="yellow")
    for n, warning in enumerate(warnings):
        text.append(f"{chr(10) if n else ''}⚠ {safe(warning)}")
    return text


def header(doc: Mapping[str, Any]) -> Text:
    """Provider, model, finish, usage, timing and cost, one topic a line."""
    text = Text()
    title = _SEP.join(safe(doc[k]) for k in ("provider", "model") if doc.get(k) not in (None, ""))
    text.append(title or "response", style="bold")
    details = _SEP.join(safe(doc[k]) for k in ("api", "id") if doc.get(k) not in (None, ""))
    if details:
        text.append(f"  {details}", style="dim")
    lines = [("finish", finish_line(doc)), ("safety", safety_line(doc.get("safety"))),
             ("tokens", usage_line(doc.get("usage"))), ("timing", timing_line(doc.get("timing")))]
    if doc.get("cost") not in (None, ""):
        lines.append(("cost", Text(cost_text(doc))))
    for label, value in lines:
        if value:
            text.append("\n")
            text.append(f"{label:<7}", style="dim")
            text.append_text(value)
    return text


# Providers that document `cost` in US dollars: OpenRouter's usage.cost (its credits are dollars), Perplexity's
# usage.cost breakdown. Any other cost is shown as reported, without a unit.
COST_IN_USD = frozenset({"openrouter", "perplexity"})


def cost_text(doc: Mapping[str, Any]) -> str:
    cost = doc["cost"]
    provider = doc.get("provider")
    if isinstance(provider, str) and provider in COST_IN_USD:
        if isinstance(cost, (int, float)) and not isinstance(cost, bool):
            return f"{safe(cost)} USD"
        if isinstance(cost, dict) and isinstance(cost.get("total_cost"), (int, float)):
            rest = bounded(", ".join(f"{safe(k)} {safe(v)}" for k, v in cost.items() if k != "total_cost"))
            return f"{safe(cost['total_cost'])} USD" + (f" ({rest})" if rest else "")
    units = cost.get("billed_units") if isinstance(cost, dict) and len(cost) == 1 else None
    if isinstance(units, dict) and units:  # Cohere: what was billed, in units (`billed 7 input tokens`)
        return "billed " + _SEP.join(f"{_count(v)} {safe(k).replace('_', ' ')}" for k, v in units.items())
    return safe(cost)


def finish_line(doc: Mapping[str, Any]) -> Text:
    """`stop (end_turn) · stop sequence "###" · status incomplete`."""
    text = Text(safe(doc.get("finish") or "none"), style="bold red" if doc.get("finish") == "error" else "")
    raw = doc.get("finish_raw")
    if raw not in (None, "") and raw != doc.get("finish"):
        text.append(f" ({safe(raw)})", style="dim")
    if doc.get("stop_sequence") not in (None, ""):
        text.append(f"{_SEP}stop sequence {dumps(safe(doc['stop_sequence']))}")
    status = doc.get("status")
    if status not in (None, "ok"):
        text.append(_SEP)
        text.append(f"status {safe(status)}", style="bold red" if status == "error" else "bold yellow")
    return text


def safety_line(entries: Any) -> Text:
    """The notable content-filter results only (filtered, detected, or rated above negligible / safe): a normal
    answer's all-clear ratings are in the document, not on the screen."""
    from aimux_cli.safety import describe, notable

    shown = [e for e in entries if notable(e)] if isinstance(entries, list) else []
    text = Text()
    for n, entry in enumerate(shown):
        text.append(_SEP if n else "")
        text.append(safe(describe(entry)), style="bold red" if entry.get("filtered") is True else "yellow")
    return text


def usage_line(usage: Any) -> Text:
    if not isinstance(usage, Mapping):
        return Text()
    parts = [f"{label} {_count(usage[key])}" for key, label in _USAGE_LABELS if key in usage]
    parts += [f"{safe(k)} {_count(v)}" for k, v in usage.items() if k not in dict(_USAGE_LABELS)]
    return Text(_SEP.join(parts))


def timing_line(timing: Any) -> Text:
    if not isinstance(timing, Mapping):
        return Text()
    parts = [f"{label} {_seconds(timing[key])}" for key, label in _TIMING_LABELS if key in timing]
    parts += [f"{safe(k)} {_seconds(v)}" for k, v in timing.items() if k not in dict(_TIMING_LABELS)]
    return Text(_SEP.join(parts))


def _count(value: Any) -> str:
    return bounded(f"{value:,}") if isinstance(value, int) and not isinstance(value, bool) else safe(value)


def _seconds(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return safe(value)
    try:
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    except OverflowError:  # an integer of 309+ digits has no float value: shown as sent
        return safe(value)


def choice_title(choice: Mapping[str, Any]) -> Text:
    title = f"choice {safe(choice.get('index', '?'))}{_SEP}{safe(choice.get('finish') or 'none')}"
    raw = choice.get("finish_raw")
    if raw not in (None, "") and raw != choice.get("finish"):
        title += f" ({safe(raw)})"
    return Text(title, style="dim")


def _compact_json(value: Any) -> str:
    return dumps(value)
