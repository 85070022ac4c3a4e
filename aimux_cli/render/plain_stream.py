"""A stream shown as plain text: `-f text` of `aimux ask` and `prettify --follow`, and the stderr progress of their
toon/json formats (aimux_cli/live.py picks it; `rich` uses stream_view instead). No Rich.

- answer text: written as it arrives (flushed per delta) to stdout in `text`; for toon/json to stderr when it is a
  terminal (stdout is the document's). Into a pipe the bytes are exact; on a terminal they are sanitized.
- thinking: on stderr when it is a terminal (`show`), on stdout before the answer (`stdout`, `text` only), or not
  at all (`hide`); it starts on a line of its own with a `thinking: ` label, dimmed on a colour terminal, and always
  ends with a newline (with `stdout`, a blank line too), so the answer never runs into it.
- a refusal is not answer text: present.text_notes says it on stderr at the end.
- at `close(doc)`, after the text: in `text`, the text of choices after the first (a stream of several choices shows
  choice 0 as it comes), each after a blank line as `prettify -f text` writes them; then one
  `tool NAME ARGUMENTS-AS-JSON` line per tool call of the document (`plain_call`), so a pipeline sees the calls.
"""

from __future__ import annotations

import sys

from aimux_cli import output


class PlainStream:
    """Deltas written as they come, each kind on its own lines; see the module docstring."""

    def __init__(self, fmt: str, env, thinking: str) -> None:
        self.fmt, self.env = fmt, env
        # answer text: stdout in `text`; for toon/json, stderr when a person watches it (stdout is the document's)
        self.text_to = "stdout" if fmt == "text" else ("stderr" if env.stderr_isatty else None)
        if thinking == "stdout" and fmt == "text":
            self.thinking_to = "stdout"
        else:  # stderr when it is a terminal: `ask … > out 2> log` keeps the log for errors
            self.thinking_to = "stderr" if thinking != "hide" and env.stderr_isatty else None
        self.kind = ""
        self.open_line = {"stdout": False, "stderr": False}  # a line was begun and not ended
        self.wrote = {"stdout": False, "stderr": False}

    def append(self, kind: str, text: str) -> None:
        to = self.thinking_to if kind == "thinking" else self.text_to
        if kind == "refusal" and self.fmt == "text":
            return  # not answer text: present.text_notes says it on stderr at the end
        if to is None or not text:
            return
        if kind != self.kind:
            self._end_segment()
            self.kind = kind
            if kind == "thinking":
                self._label(to)
        self._write(to, text)

    def close(self, doc) -> None:
        self._end_segment()
        self.kind = ""
        for stream, used in self.wrote.items():
            if used and self.open_line[stream]:
                self._write(stream, "\n")
        if doc is None:
            return
        to = self.text_to
        if self.fmt == "text" and len(doc.choices) > 1:
            self._other_choices(doc.choices[1:])
        for block in doc.blocks:  # a refusal, an error, warnings: present.text_notes says them on stderr
            if block.get("type") == "tool_call" and to is not None:
                self._write(to, plain_call(block) + "\n")

    def _other_choices(self, choices) -> None:
        """A stream of several choices showed choice 0 as it came; the others follow it at the end, each after a
        blank line, as `prettify -f text` writes every choice of the same document (render/text.py)."""
        from aimux_cli.render.text import blocks_text

        for choice in choices:
            text = blocks_text(choice.get("blocks") or ()) if isinstance(choice, dict) else ""
            if text:
                self._write("stdout", ("\n" if self.wrote["stdout"] else "") + text
                            + ("" if text.endswith("\n") else "\n"))

    def _label(self, to: str) -> None:
        """Thinking starts on a line of its own, labelled, dimmed on a colour terminal until it ends."""
        if self.open_line[to]:
            self._write(to, "\n")
        self._write(to, "thinking: ", raw="\x1b[2m" if self._dim(to) else "")

    def _end_segment(self) -> None:
        to = self.thinking_to
        if self.kind == "thinking" and to is not None:
            self._write(to, "\n" if self.open_line[to] else "", raw="\x1b[22m" if self._dim(to) else "")
            if to == "stdout":
                self._write("stdout", "\n")  # a blank line between the thinking and the answer

    def _dim(self, to: str) -> bool:
        return (self.env.stdout_isatty if to == "stdout" else self.env.stderr_isatty) and self.env.color(to)

    def _write(self, to: str, text: str, raw: str = "") -> None:
        """Write `text` (sanitized on a terminal) after `raw` (aimux's own escape sequence, or nothing)."""
        if not text and not raw:
            return
        if to == "stdout" and self.env.stdout_isatty or to == "stderr":
            from aimux_cli.render.sanitize import for_terminal
            text = for_terminal(text)  # stderr is only written when it is a terminal
        if to == "stdout":
            output.write(raw + text, flush=True)
        else:
            sys.stderr.write(raw + text)
            sys.stderr.flush()
        self.wrote[to] = True
        if text:
            self.open_line[to] = not text.endswith("\n")


def plain_call(block) -> str:
    """A finished tool call as one stable plain line for pipelines: `tool NAME ARGUMENTS-AS-JSON`. A name that is not
    one plain word (spaces, controls: never a real tool name) is written as a JSON string, so the line stays one
    line of three fields. Arguments of any depth are written (as JSON without spaces when too deep for `json`)."""
    import json

    args = block.get("arguments")
    try:
        encoded = json.dumps(args, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):  # too deep, an integer past the digit limit: never str(args),
        from aimux_cli.jsondump import dumps  # which recurses too (issue 9, F17)

        encoded = dumps(args)
    name = str(block.get("name") or "?")
    if not name.isprintable() or any(c.isspace() for c in name) or name.startswith('"'):
        name = json.dumps(name, ensure_ascii=False)
    return f"tool {name} {encoded}"
