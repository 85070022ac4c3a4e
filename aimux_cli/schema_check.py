"""Does an answer validate against a JSON Schema? answer text (or a tool call's arguments) + schema -> SchemaCheck.

    check('{"name": "Ada"}', {"type": "object", "required": ["age"]})
    -> SchemaCheck(valid=False, errors=[{"path": "$", "message": "'age' is a required property"}])

Used by `aimux ask --schema` (the answer is printed first, then one line naming the first violation, exit 11) and
by anything else that wants the same verdict (test-providers). The validator is `jsonschema` (a runtime
dependency), imported inside `check` only: prettify and `--version` never load it. The schema's own `$schema`
picks the draft (2020-12 when it names none); a schema that is itself invalid is a usage error of the caller's
(`schema_problem` says what is wrong with it before anything is sent).

Paths are JSONPath-like, from the root `$`: `$.items[2].name`; a key that is not a plain name is quoted
(`$["a b"]`). Errors are ordered most relevant first, by jsonschema's own `relevance` (the first is what
`jsonschema.exceptions.best_match` picks); at most `MAX_ERRORS` are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MAX_ERRORS = 20  # kept in the document; the one-line report names the first
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class SchemaCheck:
    """The verdict: `valid`, and up to MAX_ERRORS `{"path", "message"}` (the answer not being JSON is one error
    at path `$`)."""

    valid: bool
    errors: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "errors": list(self.errors)}

    def first_line(self) -> str:
        """"PATH: MESSAGE" of the first violation ("" when valid)."""
        if not self.errors:
            return ""
        first = self.errors[0]
        return f"{first['path']}: {first['message']}"


def check(answer: str | Any, schema: dict) -> SchemaCheck:
    """Validate `answer` against `schema`. A str is parsed as JSON first (whitespace around it is allowed, a Markdown
    code fence is not: structured output is JSON alone); anything else is taken as the parsed value (a tool call's
    arguments)."""
    if isinstance(answer, str):
        try:
            value = parse_answer(answer)
        except ValueError as exc:
            return SchemaCheck(False, [{"path": "$", "message": f"the answer is not JSON: {exc}"}])
    else:
        value = answer
    validator = _validator(schema)
    from jsonschema.exceptions import relevance

    found = sorted(validator.iter_errors(value), key=relevance, reverse=True)
    errors = [{"path": json_path(err.absolute_path), "message": _message(err)} for err in found[:MAX_ERRORS]]
    return SchemaCheck(not found, errors)


def schema_problem(schema: Any) -> str | None:
    """Why `schema` is not a usable JSON Schema (one line), or None when it is."""
    if not isinstance(schema, (dict, bool)):
        return f"a JSON Schema is an object, not {type(schema).__name__}"
    from jsonschema.exceptions import SchemaError

    cls = _validator_class(schema)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        where = json_path(exc.absolute_path)
        return f"{where}: {_short(exc.message)}"
    return None


def parse_answer(text: str) -> Any:
    """The JSON value of an answer's text (whitespace around it allowed). ValueError with orjson's reason otherwise."""
    import orjson

    body = text.strip()
    if not body:
        raise ValueError("it is empty")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError(str(exc).split(": line", 1)[0] or "invalid JSON") from None


def json_path(parts) -> str:
    """`$`, then `.name` or `[index]` or `["odd key"]` per step."""
    import json

    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _NAME.match(str(part)):
            out += f".{part}"
        else:
            out += f"[{json.dumps(str(part), ensure_ascii=False)}]"
    return out


def _validator(schema: dict):
    cls = _validator_class(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _validator_class(schema):
    from jsonschema import Draft202012Validator
    from jsonschema.validators import validator_for

    return validator_for(schema, default=Draft202012Validator)


def _message(err) -> str:
    return _short(err.message)


def _short(message: str, limit: int = 300) -> str:
    """One line of at most `limit` characters (a violation message quotes the offending value, which may be long)."""
    line = " ".join(message.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
