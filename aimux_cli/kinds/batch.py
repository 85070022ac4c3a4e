"""Batch result files (JSONL) -> a document (kind `batch`): one result per line with its `custom_id`, a summary.

Shapes (api names in brackets):
- OpenAI batch output (openai.batch): `{"id", "custom_id", "response": {"status_code", "request_id", "body"},
  "error": null | {"code", "message"}}`; the body is whatever the endpoint answered (a chat completion, a
  Responses object, an embeddings list, an error body).
- Anthropic message-batch results (anthropic.batch): `{"custom_id", "result": {"type": "succeeded", "message"}
  | {"type": "errored", "error": {"type": "error", "error": {"type", "message"}}} | {"type": "canceled"}
  | {"type": "expired"}}`.

Each body is normalized as prettify normalizes a body: by the wire modules (wire.parse_body, the one accumulator),
or as another kind (an embeddings body of an embeddings batch). A result's `status` is succeeded, errored,
canceled or expired (OpenAI's `batch_expired` / `batch_cancelled` error codes are the last two); the summary counts
them and adds up the usage of every document. A line that is not a batch result is left out with a warning.
"""

from __future__ import annotations

from typing import Any

from aimux_cli.kinds import SHAPE_ERRORS, KindDocument

STATUSES = ("succeeded", "errored", "canceled", "expired")
_OPENAI_CODES = {"batch_expired": "expired", "batch_cancelled": "canceled", "batch_canceled": "canceled"}


def detect(value: Any) -> str | None:
    """The api of one line of a batch result file, or None."""
    if not isinstance(value, dict) or not isinstance(value.get("custom_id"), str):
        return None
    result = value.get("result")
    if isinstance(result, dict) and isinstance(result.get("type"), str):
        return "anthropic.batch"
    response, error = value.get("response"), value.get("error")
    if "response" in value and (response is None or isinstance(response, dict)) and \
            (error is None or isinstance(error, dict)):
        return "openai.batch"
    return None


def normalize(items: list, provider: str | None, warnings: list[str]) -> KindDocument:
    """The batch document of parsed lines; each line is dropped from `items` once read (memory: one copy)."""
    results: list[dict] = []
    counts = dict.fromkeys(STATUSES, 0)
    usage: dict[str, int] = {}
    models: set[str] = set()
    apis: list[str] = []
    vectors: dict[int, dict] = {}  # result number -> the json-only fields of its embeddings document
    for n in range(len(items)):
        line, items[n] = items[n], None
        api = detect(line)
        if api is None:
            warnings.append(f"line {n + 1}: not a batch result; left out")
            continue
        try:
            result = (_anthropic if api == "anthropic.batch" else _openai)(line, provider)
        except SHAPE_ERRORS as exc:
            warnings.append(f"line {n + 1}: a result of a shape aimux does not understand ({type(exc).__name__});"
                            " left out")
            continue
        if not apis:
            apis.append(api)
        counts[result["status"]] += 1
        doc = result.get("document")
        if doc is not None:
            _add_usage(usage, doc.usage if not isinstance(doc, KindDocument) else doc.fields.get("usage"))
            if doc.model:
                models.add(doc.model)
            if isinstance(doc, KindDocument) and doc.vectors:  # an embeddings body: -f json writes its vectors
                vectors[len(results)] = doc.vectors
            result["document"] = doc.to_dict()  # its dict now, once: not the document and a copy of it later
        results.append(result)
    api = apis[0] if apis else "openai.batch"
    summary: dict[str, Any] = {"results": len(results), **counts}
    if usage:
        summary["usage"] = usage
    failed = [r for r in results if r["status"] != "succeeded"]
    error = None
    if failed:
        first = failed[0]
        reason = (first.get("error") or {}).get("message") or first["status"]
        error = {k: v for k, v in (first.get("error") or {}).items() if k in ("status", "type", "code")}
        error["message"] = f"{len(failed)} of {len(results)} batch results did not succeed (the first, " \
                           f"{first['custom_id']}: {reason})"
    vendor = provider or ("anthropic" if api == "anthropic.batch" else "openai")
    return KindDocument("batch", api, vendor, {"summary": summary, "results": results},
                        model=next(iter(models)) if len(models) == 1 else None,
                        status="error" if failed else "ok", error=error, warnings=warnings, vectors=vectors)


def _openai(line: dict, provider: str | None) -> dict:
    result: dict[str, Any] = {"custom_id": line["custom_id"], "status": "succeeded"}
    if isinstance(line.get("id"), str):
        result["id"] = line["id"]
    response = line.get("response") or {}
    status_code = response.get("status_code")
    status_code = status_code if isinstance(status_code, int) and not isinstance(status_code, bool) else None
    if status_code is not None:
        result["http_status"] = status_code
    if isinstance(response.get("request_id"), str):
        result["request_id"] = response["request_id"]
    body = response.get("body")
    doc = _document(body, None, provider, status_code) if body is not None else None
    line_error = line.get("error") if isinstance(line.get("error"), dict) else None
    if line_error:
        result["status"] = _OPENAI_CODES.get(line_error.get("code"), "errored")
        result["error"] = _error(line_error, status_code)
    elif doc is None or doc.status == "error" or (status_code or 200) >= 400:
        result["status"] = "errored"
        result["error"] = dict(doc.error) if doc is not None and doc.error else \
            {"status": status_code, "message": "no response body" if body is None else "a body aimux cannot read"}
    if doc is not None:
        result["document"] = doc
    return result


def _anthropic(line: dict, provider: str | None) -> dict:
    out = line["result"]
    kind = out["type"]
    result: dict[str, Any] = {"custom_id": line["custom_id"],
                              "status": kind if kind in STATUSES else "errored"}
    if kind == "succeeded":
        doc = _document(out.get("message"), "anthropic.messages", provider, None)
        if doc is None:
            result["status"] = "errored"
            result["error"] = {"message": "a succeeded result without a message"}
        else:
            result["document"] = doc
    elif kind == "errored" or kind not in STATUSES:
        error = out.get("error") if isinstance(out.get("error"), dict) else {}
        inner = error.get("error") if isinstance(error.get("error"), dict) else error  # {"type": "error", ...}
        result["error"] = _error(inner, None) if inner else {"message": f"result type {kind}"}
    return result


def _document(body: Any, api: str | None, provider: str | None, status: int | None):
    """A Document (chat), a KindDocument (embeddings...) or None, for one line's body."""
    from aimux_cli import kinds, wire

    if api is None and isinstance(body, dict) and body.get("object") not in ("chat.completion", "response"):
        other = kinds.from_body(body, provider)
        if other is not None and other.kind != "batch":
            return other
    return wire.parse_body(body, api=api, provider=provider, http_status=status)


def _error(raw: dict, status: int | None) -> dict:
    """{status, type, code, message} of an error the line carries (strings only: a line may hold anything)."""
    error: dict[str, Any] = {"status": status} if status else {}
    for key in ("type", "code", "message"):
        value = raw.get(key)
        if isinstance(value, str) and value:
            error[key] = value
    return error


def _add_usage(total: dict[str, int], usage: Any) -> None:
    if not isinstance(usage, dict):
        return
    for key, value in usage.items():
        if isinstance(value, int) and not isinstance(value, bool):
            total[key] = total.get(key, 0) + value
