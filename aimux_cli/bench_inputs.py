"""The request sets of `aimux bench provider`: a dataset file, or synthetic prompts of a given length.

Contract: `load_dataset(name, limit) -> [Prompt]` reads `--dataset FILE` (`-` for stdin): JSONL with one prompt per
line (a JSON string, or an object with `prompt`, `text` or `input`, and optionally `max_tokens` or `output_tokens`),
or the ShareGPT format (a JSON array, or JSONL, of `{"conversations": [{"from": "human", "value": ...},
{"from": "gpt", "value": ...}]}`): the first human turn is the prompt and, as vLLM's benchmark does, the length of
the first reply after it (approximate tokens) is that request's max_tokens unless --max-tokens is given. Entries
without a prompt are skipped; a file with none is an InputError (exit 4), as is a line that is not JSON (its number
said) or a broken array. The file is read in 1 MiB pieces (an array parsed element by element) and only until
`limit` prompts are found, so that ShareGPT's 670 MB file costs what a run uses.

`synthetic(count, mean, std, seed) -> [Prompt]`: prompts of about `mean` tokens (normally distributed with `std`,
at least 1), each different (a numbered opening, then common English words drawn at random: no two prompts share a
prefix long enough for a server's prefix cache to skip their prefill). Length is approximate: `approx_tokens` counts
one token per 4 characters, OpenAI's rule of thumb for English; a real tokenizer gives within about 20 % of it on
such text, which is why the report says "approximate tokens".
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from aimux_cli.errors import InputError, UsageError

CHARS_PER_TOKEN = 4
PIECE = 1 << 20  # bytes read at a time from a dataset
_WORDS = ("the of and to in is you that it he was for on are as with his they at be this have from or one had by "
          "word but not what all were we when your can said there use an each which she do how their if will up "
          "other about out many then them these so some her would make like him into time has look two more write "
          "go see number no way could people my than first water been call who oil its now find long down day did "
          "get come made may part over new sound take only little work know place year live me back give most very "
          "after thing our just name good sentence man think say great where help through much before line right "
          "too mean old any same tell boy follow came want show also around form three small set put end does "
          "another well large must big even such because turn here why ask went men read need land different home "
          "us move try kind hand picture again change off play spell air away animal house point page letter "
          "mother answer found study still learn should America world").split()


@dataclass(frozen=True)
class Prompt:
    text: str
    max_tokens: int | None = None  # this request's own output length (ShareGPT's reply), else the run's


def approx_tokens(text: str) -> int:
    """Approximate tokens of English text: one per CHARS_PER_TOKEN characters, at least 1."""
    return max(1, round(len(text) / CHARS_PER_TOKEN))


def parse_length(spec: str) -> tuple[int, int]:
    """`--input-tokens N[:STD]` -> (N, STD); UsageError when it is not that."""
    mean, _, std = spec.partition(":")
    try:
        n, s = int(mean), int(std or 0)
    except ValueError:
        raise UsageError(f"--input-tokens {spec!r}: give N or N:STD (whole numbers of tokens)") from None
    if n < 1 or s < 0:
        raise UsageError(f"--input-tokens {spec!r}: N must be positive and STD not negative")
    return n, s


def synthetic(count: int, mean: int, std: int = 0, seed: int | None = None) -> list[Prompt]:
    """`count` distinct prompts of about `mean` tokens (std `std`), reproducible with `seed`."""
    rng = random.Random(seed if seed is not None else 0)
    out = []
    for i in range(count):
        tokens = max(1, round(rng.gauss(mean, std))) if std else mean
        target = tokens * CHARS_PER_TOKEN
        parts, size = [f"{i}:"], len(str(i)) + 1
        while size < target:
            word = rng.choice(_WORDS)
            parts.append(word)
            size += len(word) + 1
        out.append(Prompt(" ".join(parts)[:target]))
    return out


def load_dataset(name: str, limit: int | None = None) -> list[Prompt]:
    """The prompts of a JSONL or ShareGPT file (see the module docstring); InputError when it holds none. The file
    is read in pieces and only until `limit` prompts are found: ShareGPT's 670 MB array costs what a run uses."""
    prompts: list[Prompt] = []
    with _opened(name) as fh:
        for entry in _entries(name, fh):
            prompt = _prompt_of(entry)
            if prompt is not None:
                prompts.append(prompt)
                if limit is not None and len(prompts) >= limit:
                    break
    if not prompts:
        raise InputError(f"{name}: no prompts found (JSONL of strings or {{\"prompt\": ...}} objects, or ShareGPT "
                         "conversations)")
    return prompts


@contextlib.contextmanager
def _opened(name: str) -> Iterator[BinaryIO]:
    import os
    import sys

    if name == "-":
        if sys.stdin is None:
            raise InputError("<stdin>: standard input is closed")
        yield sys.stdin.buffer
        return
    if os.path.isdir(name):
        raise InputError(f"{name}: is a directory")
    try:
        fh = open(name, "rb")
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    with fh:
        yield fh


def _entries(name: str, fh: BinaryIO) -> Iterator[Any]:
    """The entries of a JSON array (parsed element by element as the file is read) or of JSONL lines."""
    import orjson

    from aimux_cli.stream_array import JSONArrayParser
    from aimux_cli.stream_decode import StreamSyntaxError

    head = fh.read(PIECE)
    if head.lstrip()[:1] == b"[":
        parser = JSONArrayParser()
        piece = head
        try:
            while piece:
                yield from parser.feed(piece)
                piece = fh.read(PIECE)
            yield from parser.close()
        except StreamSyntaxError as exc:
            raise InputError(f"{name}: not a JSON array of entries ({exc})") from None
        return
    number, rest = 0, b""
    piece = head
    while piece or rest:
        lines = (rest + piece).split(b"\n")
        rest = lines.pop() if piece else b""
        for line in lines:
            number += 1
            if not line.strip():
                continue
            try:
                yield orjson.loads(line)
            except orjson.JSONDecodeError:
                raise InputError(f"{name}: line {number} is not JSON") from None
        piece = fh.read(PIECE) if piece else b""


def _prompt_of(entry: Any) -> Prompt | None:
    if isinstance(entry, str):
        return Prompt(entry) if entry.strip() else None
    if not isinstance(entry, dict):
        return None
    turns = entry.get("conversations") or entry.get("conversation")
    if isinstance(turns, list):
        return _sharegpt(turns)
    for key in ("prompt", "text", "input"):
        value = entry.get(key)
        if isinstance(value, str) and value.strip():
            limit = entry.get("max_tokens", entry.get("output_tokens"))
            ok = isinstance(limit, int) and not isinstance(limit, bool) and limit > 0
            return Prompt(value, limit if ok else None)
    return None


def _sharegpt(turns: list[Any]) -> Prompt | None:
    """The first human turn, and the approximate length of the reply after it (vLLM's output length)."""
    human = reply = None
    for turn in turns:
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
            continue
        who = str(turn.get("from", turn.get("role", ""))).lower()
        if human is None and who in ("human", "user") and turn["value"].strip():
            human = turn["value"]
        elif human is not None and who in ("gpt", "assistant", "chatgpt", "bard", "model"):
            reply = turn["value"]
            break
    if human is None:
        return None
    return Prompt(human, approx_tokens(reply) if reply else None)
