"""What `ask` may add to a request beyond a prompt (issue 11): command-line text and files -> `Extras`. Pure but
for reading the named files; no network, no heavy imports (no jsonschema: the answer is validated by the caller).

- `parse_option("a.b=text")` -> (("a", "b"), "text"); `parse_option("a.b:=JSON")` -> (("a", "b"), typed value),
  httpie's syntax; a dot inside a key is written `\\.`. `merge_options(body, options)` deep-merges them last.
- `load_tools(FILE|-)` -> Tools, from one neutral definition `{"name", "description", "parameters"}`, a list of
  them, or OpenAI's `{"type": "function", "function": {...}}` form (Responses' flat form and Anthropic's
  `input_schema` are read too).
- `load_schema(FILE|JSON|-)` -> a JSON Schema (an object); `load_body(FILE|-)` -> a request body (an object).
- `load_attachment(FILE)` -> Attachment: PNG, JPEG, GIF, WebP or PDF, told by the file's first bytes (not its
  name), at most MAX_ATTACHMENT_BYTES (20 MiB) per file.
- `structured_answer(document, extras)` -> the JSON text to validate against `extras.schema`.

Errors are one line naming the item or file: UsageError (exit 2) for command-line text, InputError (exit 4) for a
file that cannot be read or does not hold what it should. The per-wire translation is in request_wire.py (turns,
attachments) and request_tools.py (tools, tool choice, schema, reasoning); docs/providers.md has the mapping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aimux_cli.errors import InputError, UsageError

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024  # per file; providers have their own (often smaller) limits
DEFAULT_SCHEMA_NAME = "answer"
TOOL_CHOICES = ("auto", "none", "required")
REASONING_LEVELS = ("none", "low", "medium", "high")
# A tool name every wire accepts: OpenAI and Anthropic allow [A-Za-z0-9_-]{1,64}, Gemini wants a letter or "_" first.
_TOOL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
_MAGIC = (  # (prefix, offset, MIME type); WebP is RIFF....WEBP
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
)
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


@dataclass(frozen=True)
class Tool:
    """A function the model may call, in one neutral form; request_wire.py writes it in each wire's."""

    name: str
    description: str | None
    parameters: dict  # a JSON Schema of the arguments object


@dataclass(frozen=True)
class Attachment:
    """A file sent inline (base64) with the last user turn."""

    filename: str
    mime: str  # image/png, image/jpeg, image/gif, image/webp or application/pdf
    data: bytes

    def __repr__(self) -> str:  # never the bytes
        return f"Attachment({self.filename!r}, {self.mime!r}, {len(self.data)} bytes)"


@dataclass(frozen=True)
class Extras:
    """Everything `ask` adds to a request beyond the prompt, system text, temperature and max tokens."""

    tools: tuple[Tool, ...] = ()
    tool_choice: str | None = None  # "auto" | "none" | "required" | a tool NAME
    schema: dict | None = None  # a JSON Schema for structured output
    schema_name: str | None = None  # default "answer" (or the schema's "title")
    reasoning: str | None = None  # "none" | "low" | "medium" | "high"
    attachments: tuple[Attachment, ...] = ()  # attached to the LAST user turn
    options: tuple[tuple[tuple[str, ...], Any], ...] = ()  # parsed -o items: (dotted path parts, value), merged LAST
    body: dict | None = None  # --body: sent as given; aimux fills model and stream only when absent

    def answer_name(self) -> str:
        """The name structured output goes by: schema_name, else the schema's title made a valid name, else
        "answer"."""
        if self.schema_name:
            return self.schema_name
        title = self.schema.get("title") if isinstance(self.schema, dict) else None
        if isinstance(title, str):
            name = re.sub(r"[^A-Za-z0-9_-]+", "_", title.strip())[:64].strip("_-")
            if name and _TOOL_NAME.fullmatch(name):
                return name
        return DEFAULT_SCHEMA_NAME


# ---------------------------------------------------------------------------------------------------- -o options


def parse_option(text: str) -> tuple[tuple[str, ...], Any]:
    """`KEY=VALUE` (a string) or `KEY:=JSON` (a typed value); KEY is dotted for nesting (`\\.` for a literal dot)."""
    eq = text.find("=")
    if eq <= 0:
        raise UsageError(f"-o {text!r}: expected KEY=VALUE (a string) or KEY:=JSON (a typed value)")
    typed = text[eq - 1] == ":"
    key, raw = text[: eq - 1 if typed else eq], text[eq + 1:]
    parts = tuple(p.replace("\x00", ".") for p in key.replace("\\.", "\x00").split("."))
    if not key or any(not p for p in parts):
        raise UsageError(f"-o {text!r}: empty key or empty part in {key!r} (write a.b.c)")
    if not typed:
        return parts, raw
    import orjson

    try:
        return parts, orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        hint = " (for a string, write KEY=VALUE)" if raw and raw[0] not in '{["-0123456789tfn' else ""
        raise UsageError(f"-o {text!r}: the value after := is not JSON: {exc}{hint}") from None


def merge_options(body: dict, options: tuple[tuple[tuple[str, ...], Any], ...]) -> dict:
    """`body` with each option set at its path, in order, creating objects on the way; an object value is merged
    into an object already there (deep), anything else replaces. A path through a non-object is a UsageError."""
    for parts, value in options:
        node = body
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                where = ".".join(parts[: i + 1])
                raise UsageError(f"-o {'.'.join(parts)}: {where!r} is a {_json_type(child)} in the request body, "
                                 "not an object")
            node = child
        last = parts[-1]
        if isinstance(value, dict) and isinstance(node.get(last), dict):
            node[last] = _deep_merge(node[last], value)
        else:
            node[last] = value
    return body


def _deep_merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) \
            else value
    return out


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array"}.get(type(value), type(value).__name__)


# ------------------------------------------------------------------------------------------------------ loaders


def _load_json_file(source: str) -> Any:
    from aimux_cli.inputs import load_json, read_source

    return load_json(read_source(source))


def load_tools(source: str) -> tuple[Tool, ...]:
    """The tools in a file (or stdin for "-"): one definition or a list of them."""
    value = _load_json_file(source)
    label = "<stdin>" if source == "-" else source
    items = value if isinstance(value, list) else [value]
    if not items:
        raise InputError(f"{label}: the list of tools is empty")
    tools = tuple(_tool(item, label, i if isinstance(value, list) else None) for i, item in enumerate(items))
    return tools


def check_tools(tools: tuple[Tool, ...]) -> None:
    """UsageError when two tools (from several --tool files) share a name."""
    seen: set[str] = set()
    for tool in tools:
        if tool.name in seen:
            raise UsageError(f"--tool: two tools are named {tool.name!r}")
        seen.add(tool.name)


def _tool(item: Any, label: str, index: int | None) -> Tool:
    where = f"{label}: tool {index + 1}" if index is not None else label
    if isinstance(item, dict) and item.get("type") == "function" and isinstance(item.get("function"), dict):
        item = item["function"]  # OpenAI chat's form
    if not isinstance(item, dict):
        raise InputError(f"{where}: a tool must be an object with name, description and parameters, "
                         f"not a {_json_type(item)}")
    name = item.get("name")
    if not isinstance(name, str) or not _TOOL_NAME.fullmatch(name):
        raise InputError(f"{where}: the tool's name must be 1-64 letters, digits, _ or -, starting with a letter or _ "
                         f"(got {name!r})")
    description = item.get("description")
    if description is not None and not isinstance(description, str):
        raise InputError(f"{where}: tool {name!r}: description must be a string")
    params = item.get("parameters", item.get("input_schema", {"type": "object", "properties": {}}))
    if not isinstance(params, dict):
        raise InputError(f"{where}: tool {name!r}: parameters must be a JSON Schema object, "
                         f"not a {_json_type(params)}")
    if params.get("type", "object") != "object":
        raise InputError(f"{where}: tool {name!r}: parameters must describe an object (type \"object\"), "
                         f"got type {params.get('type')!r}")
    return Tool(name, description, params)


def load_schema(source: str) -> dict:
    """A JSON Schema from inline JSON text (starting with "{"), a file, or stdin ("-")."""
    if source.lstrip().startswith("{"):
        import orjson

        try:
            value = orjson.loads(source)
        except orjson.JSONDecodeError as exc:
            raise UsageError(f"--schema: the inline JSON Schema is not valid JSON: {exc}") from None
        label = "--schema"
    else:
        value = _load_json_file(source)
        label = "<stdin>" if source == "-" else source
    if not isinstance(value, dict):
        raise InputError(f"{label}: a JSON Schema must be an object, not a {_json_type(value)}")
    return value


def load_body(source: str) -> dict:
    """A request body from a file or stdin ("-"): one JSON object."""
    value = _load_json_file(source)
    if not isinstance(value, dict):
        label = "<stdin>" if source == "-" else source
        raise InputError(f"{label}: a request body must be a JSON object, not a {_json_type(value)}")
    return value


def sniff_mime(data: bytes) -> str | None:
    """The MIME type told by the first bytes: one of IMAGE_TYPES or application/pdf, else None."""
    for magic, offset, mime in _MAGIC:
        if data[offset: offset + len(magic)] == magic and (mime != "image/webp" or data[:4] == b"RIFF"):
            return mime
    if b"%PDF-" in data[:1024]:  # the PDF reference allows bytes before the header, within the first 1024
        return "application/pdf"
    return None


def load_attachment(path: str) -> Attachment:
    """An image (PNG, JPEG, GIF, WebP) or PDF file, at most MAX_ATTACHMENT_BYTES."""
    import os

    try:
        if os.path.isdir(path):
            raise InputError(f"{path}: is a directory, not a file to attach")
        with open(path, "rb") as fh:
            data = fh.read(MAX_ATTACHMENT_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise InputError(f"{path}: larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MiB, the limit for an "
                         "attachment")
    if not data:
        raise InputError(f"{path}: empty file")
    mime = sniff_mime(data)
    if mime is None:
        raise InputError(f"{path}: not a PNG, JPEG, GIF, WebP or PDF file (by its first bytes); only these can "
                         "be attached")
    return Attachment(os.path.basename(path), mime, data)


# ------------------------------------------------------------------------------------------------- the answer


def structured_answer(document: Any, extras: Extras | None) -> str | None:
    """The JSON text to validate against `extras.schema`: the arguments of the tool call named after the schema
    when there is one (Anthropic's forced tool), else the answer text; None without a schema."""
    if extras is None or extras.schema is None:
        return None
    name = extras.answer_name()
    for block in getattr(document, "blocks", ()):
        if block.get("type") == "tool_call" and block.get("name") == name:
            args = block.get("arguments")
            if extras.schema.get("type") != "object" and isinstance(args, dict) and args.keys() == {"value"}:
                args = args["value"]  # a schema that is not an object went as a tool under "value" (request_tools)
            elif isinstance(args, str):
                return args
            import orjson

            return orjson.dumps(args).decode()
    return document.text()
