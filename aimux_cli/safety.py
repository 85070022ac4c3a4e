"""Content-filter results (the document's `safety` list): one neutral entry shape for every provider.

Contract: wire modules call `Accumulator.safety(scope, category, choice, **fields)` with what the provider
reported; `entries(results, several_choices)` gives the document's list; `notable(entry)` says whether an entry is
worth showing to a person (`render/rich_view.py`, `render/text.py`).

An entry (docs/document.md, "Safety"):

- `scope`: `prompt` (the request: Gemini `promptFeedback.safetyRatings`, Azure `prompt_filter_results`) or
  `output` (a candidate or choice: Gemini `safetyRatings`, Azure `content_filter_results`);
- `choice`: the choice an `output` entry belongs to, only when the response has several choices;
- `category`: the provider's category, verbatim (`HARM_CATEGORY_HATE_SPEECH`, `violence`, `jailbreak`);
- `probability` (Gemini), `severity` (Azure; Vertex also reports one for Gemini), with `probability_score` and
  `severity_score` when given; `detected` (Azure's detection filters: jailbreak, protected material, profanity);
- `filtered`: true when the provider blocked or filtered content for this category (Gemini `blocked`, Azure
  `filtered`), else false;
- anything else the provider attached to the category (Azure's `citation` of protected code, the `details` of
  custom blocklists, the `code` and `message` of a filter that could not run) is kept as sent.

A stream repeats the results in its chunks (Azure rates each segment of the answer): results for the same scope,
choice and category merge, so the stream and the body of one answer agree: a flag once true stays true, a level
and a score keep the highest seen.
"""

from __future__ import annotations

from typing import Any

_ORDER = ("scope", "choice", "category", "probability", "probability_score", "severity", "severity_score",
          "detected", "filtered")
_FLAGS = ("detected", "filtered")
_LEVELS = ("probability", "severity")
_SCORES = ("probability_score", "severity_score")
# Gemini HARM_PROBABILITY_* / HARM_SEVERITY_* and Azure's severities, by the word after the prefix
_RANK = {"negligible": 0, "safe": 0, "low": 1, "medium": 2, "high": 3}


def rank(level: Any) -> int:
    """0 for NEGLIGIBLE / safe, 1 low, 2 medium, 3 high; -1 when unknown (UNSPECIFIED, not a string)."""
    if not isinstance(level, str):
        return -1
    word = level.rsplit("_", 1)[-1] if level.startswith("HARM_") else level
    return _RANK.get(word.lower(), -1)


def record(results: dict, scope: str, category: Any, choice: int, fields: dict[str, Any]) -> None:
    """Merge one reported result into `results` (keyed by scope, choice and category)."""
    if not isinstance(category, str) or not category:
        return
    key = (scope, choice if scope == "output" else 0, category)
    entry = results.get(key)
    if entry is None:
        entry = results[key] = {"scope": scope, "choice": choice, "category": category, "filtered": False}
    for name, value in fields.items():
        if value is None:
            continue
        if name in _FLAGS:
            entry[name] = entry.get(name) is True or value is True
        elif name in _LEVELS and name in entry and rank(value) < rank(entry[name]):
            continue
        elif name in _SCORES:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                entry[name] = max(value, entry.get(name, value))
        else:
            entry[name] = value


def entries(results: dict, several_choices: bool) -> tuple[dict, ...]:
    """The document's `safety` list: prompt entries first, then output entries by choice, each in key order."""
    out = []
    for entry in sorted(results.values(), key=lambda e: (e["scope"] != "prompt", e["choice"])):
        shown = {k: entry[k] for k in _ORDER if k in entry}
        if entry["scope"] == "prompt" or not several_choices:
            del shown["choice"]
        shown.update((k, v) for k, v in entry.items() if k not in _ORDER)
        out.append(shown)
    return tuple(out)


def notable(entry: Any) -> bool:
    """Worth showing: filtered or detected, a probability or severity above negligible / safe, or a filter error."""
    if not isinstance(entry, dict):
        return False
    if entry.get("filtered") is True or entry.get("detected") is True or entry.get("message"):
        return True
    return any(rank(entry.get(level)) > 0 for level in _LEVELS)


def describe(entry: dict) -> str:
    """One short phrase: `output HARM_CATEGORY_HARASSMENT MEDIUM, blocked`, `prompt jailbreak detected`."""
    words = [str(entry.get("scope", "?"))]
    if "choice" in entry:
        words.append(f"choice {entry['choice']}")
    words.append(str(entry.get("category", "?")))
    for level in _LEVELS:
        if rank(entry.get(level)) > 0:
            words.append(str(entry[level]))
    if entry.get("detected") is True:
        words.append("detected")
    text = " ".join(words)
    if entry.get("filtered") is True:
        text += ", filtered"
    if entry.get("message"):
        text += f": {entry['message']}"
    return text
