"""OpenAI Chat Completions, and every OpenAI-compatible server (Cerebras, Groq, OpenRouter, DeepSeek, Mistral,
Together, Azure, vLLM, Ollama's /v1, ...).

Input: a `chat.completion` body, the `chat.completion.chunk` events of a stream (ended by `data: [DONE]`), or an
OpenAI-shaped error body `{"error": {...}}` (also vLLM's `{"object": "error", ...}`). Output: Accumulator calls.

A body's `message` and a chunk's `delta` carry the same fields, so both go through `_fold_message`:
- `reasoning_content` (DeepSeek, vLLM) or `reasoning` (Cerebras gpt-oss, OpenRouter, Groq) -> thinking;
  OpenRouter `reasoning_details` entries of type `reasoning.encrypted` -> a redacted thinking block (the blob is
  never copied);
- `content` as a string, or as a list of parts (Mistral magistral: `{"type": "text", "text"}` parts -> text,
  `{"type": "thinking", "thinking": [{"type": "text", "text"}]}` parts -> thinking, in a body and in a stream's
  deltas alike; such a `thinking` list marks the vendor `mistral`);
- `refusal`; `annotations` (`url_citation`) -> citations of the text block;
- `tool_calls`, keyed by their `index` (a stream names id and function only in the first delta), and the legacy
  `function_call`.
Per choice: `finish_reason` (never OpenRouter's `native_finish_reason`); a choice-level `error` (OpenRouter);
Azure's `content_filter_results` (and per body or chunk its `prompt_filter_results`) -> the document's `safety`.
Per body or chunk: `usage` (also Groq's `x_groq.usage` in streams, with its timings; Together's top-level
`usage.cached_tokens`), Cerebras `time_info`, OpenRouter `usage.cost`, Perplexity's top-level `citations` and
`search_results` (citations of the answer text), a top-level `error` (an error event inside a stream keeps the
blocks before it).
The vendor is inferred from markers, in the contract's order (see `_infer_vendor`).
"""

from __future__ import annotations

from typing import Any

from aimux_cli.document import Accumulator, first_reported

API = "openai.chat"
VENDOR = "openai"
DONE_MARKERS = ("[DONE]",)

Delta = tuple[str, str]

_OBJECTS = ("chat.completion", "chat.completion.chunk")
# Keys whose values are opaque blobs: never copied into a document (see `salient`).
OPAQUE_KEYS = frozenset({"signature", "encrypted_content", "data", "b64_json", "result", "partial_image_b64",
                         "obfuscation", "logprobs", "image_data"})
# Cache write counts under the names OpenAI-compatible servers use for them.
_CACHE_WRITE_KEYS = ("cache_write_tokens", "cache_creation_tokens", "cache_creation_input_tokens",
                     "cached_write_tokens")
# Groq's usage timings and Cerebras `time_info` share these names.
_TIMINGS = (("queue_time", "queue_s"), ("prompt_time", "prompt_s"), ("completion_time", "completion_s"),
            ("total_time", "total_s"))


def detect(obj: Any) -> bool:
    """A chat completion, a chunk, or an OpenAI-shaped error body."""
    if not isinstance(obj, dict):
        return False
    kind = obj.get("object")
    if kind in _OBJECTS:
        return True
    if kind == "error":  # vLLM and other OpenAI-compatible servers
        return "message" in obj
    choices = obj.get("choices")
    if isinstance(choices, list):
        if not choices:  # Azure's first stream chunk: prompt filter results, no choices, object ""
            return "prompt_filter_results" in obj
        first = choices[0]
        return isinstance(first, dict) and ("message" in first or "delta" in first)
    return is_error_body(obj)


def is_error_body(obj: dict) -> bool:
    """`{"error": {"message": ...}}` of OpenAI, Azure, Groq, OpenRouter; not Anthropic's (`type: error`) nor
    Gemini's (a string `status` such as NOT_FOUND), which have their own wires."""
    err = obj.get("error")
    return (isinstance(err, dict) and "message" in err and obj.get("type") != "error"
            and not isinstance(err.get("status"), str))


def parse(obj: dict, acc: Accumulator) -> None:
    """Fold a whole body (a completion or an error body); a complete body is terminal."""
    if obj.get("object") == "error":
        _error(acc, obj)
        return
    fold(acc, obj, None, body=True)
    acc.mark_terminal()


def fold(acc: Accumulator, obj: Any, event: str | None, body: bool = False) -> list[Delta]:
    """Fold one chunk (or a whole body) and return the visible deltas it carried."""
    if not isinstance(obj, dict):
        return []
    deltas: list[Delta] = []
    if acc.id is None or acc.model is None:
        acc.meta(model=obj.get("model"), id=obj.get("id"))
    choices = obj.get("choices")
    if choices:
        if choices.__class__ is list:
            for position, choice in enumerate(choices):
                if isinstance(choice, dict):
                    _fold_choice(acc, choice, position, deltas, body)
        else:
            acc.warn(f"{API}: `choices` is not a list; ignored")
    usage = obj.get("usage")
    if usage:
        _usage(acc, usage)
    # `in` before reading: these keys are absent from almost every chunk, and the test is cheaper than a .get
    if "x_groq" in obj:
        groq = obj["x_groq"]
        if isinstance(groq, dict) and groq.get("usage"):
            _usage(acc, groq["usage"])
    if "time_info" in obj and isinstance(obj["time_info"], dict):
        _timing(acc, obj["time_info"])
    if "citations" in obj or "search_results" in obj:
        _sources(acc, obj)
    if "prompt_filter_results" in obj or "prompt_annotations" in obj:  # Azure (the second is the older name)
        for item in _list(obj.get("prompt_filter_results")) + _list(obj.get("prompt_annotations")):
            if isinstance(item, dict):
                _filter_results(acc, "prompt", item.get("content_filter_results"), 0)
    if acc.inferred_provider is None and (acc.state or usage or "x_groq" in obj or "time_info" in obj
                                          or "prompt_filter_results" in obj):
        _infer_vendor(acc, obj)  # only a chunk that may carry a marker: plain OpenAI streams never infer
    if "error" in obj and obj["error"]:
        _error(acc, obj["error"])
    return deltas


def _fold_choice(acc: Accumulator, choice: dict, position: int, deltas: list[Delta], body: bool) -> None:
    index = choice.get("index", position)
    if not isinstance(index, int):
        index = position
    msg = choice.get("message") if body else choice.get("delta")
    if msg is None:
        msg = choice.get("delta") or choice.get("message")  # servers that mix the two up
    if msg and msg.__class__ is not dict:
        acc.warn(f"{API}: a choice's message is not an object; ignored")
        msg = None
    content = msg.get("content") if msg else None
    if content and type(content) is str and len(msg) == 1:
        # the bulk of every stream: {"content": "..."}; kept short because folding must stay fast
        acc.text(content, index)
        deltas.append(("text", content))
    else:
        acc.ensure_choice(index)
        if msg:
            _fold_message(acc, msg, index, deltas)
    finish = choice.get("finish_reason")
    if finish is not None:
        stop = choice.get("stop_reason")  # vLLM: the matched stop string (an int is a token id)
        acc.set_finish(finish, index, stop_sequence=stop if isinstance(stop, str) and index == 0 else None)
    if "content_filter_results" in choice:
        _filter_results(acc, "output", choice["content_filter_results"], index)
    if acc.inferred_provider is None:
        if "content_filter_results" in choice:
            acc.state["azure"] = True
        if "native_finish_reason" in choice:
            acc.state["openrouter"] = True
    if "error" in choice and choice["error"]:
        _error(acc, choice["error"])


def _fold_message(acc: Accumulator, msg: dict, index: int, deltas: list[Delta]) -> None:
    """A body's message or a chunk's delta: reasoning, content, refusal, then tool calls."""
    thought = msg.get("reasoning_content")
    if "reasoning_content" in msg:
        acc.state["reasoning_content"] = True  # a DeepSeek marker, with prompt_cache_hit_tokens in usage
    thought = thought or msg.get("reasoning")
    if thought and isinstance(thought, str):
        acc.thinking(thought, index)
        deltas.append(("thinking", thought))
    details = msg.get("reasoning_details")
    if details:
        _reasoning_details(acc, details, index)
    content = msg.get("content")
    if content:
        if isinstance(content, str):
            acc.text(content, index)
            deltas.append(("text", content))
        elif isinstance(content, list):
            _fold_parts(acc, content, index, deltas)
    refusal = msg.get("refusal")
    if refusal and isinstance(refusal, str):
        acc.refusal(refusal, index)
        deltas.append(("refusal", refusal))
    annotations = msg.get("annotations")
    if annotations:
        acc.citations(url_citations(annotations), index)
    calls = msg.get("tool_calls")
    if calls:
        _tool_calls(acc, calls, index)
    legacy = msg.get("function_call")
    if isinstance(legacy, dict):
        acc.tool_call("function_call", name=legacy.get("name"), arguments=legacy.get("arguments"), choice=index)


def _reasoning_details(acc: Accumulator, details: Any, index: int) -> None:
    """OpenRouter: encrypted reasoning is a redacted thinking block (its text, if any, came in `reasoning`)."""
    if not isinstance(details, list):
        return
    for position, detail in enumerate(details):
        if isinstance(detail, dict) and detail.get("type") == "reasoning.encrypted":
            key = ("reasoning.encrypted", detail.get("index", position))
            if acc.block_for(key, index) is None:
                acc.redacted_thinking(index, key)


def _fold_parts(acc: Accumulator, parts: list, index: int, deltas: list[Delta]) -> None:
    """Content as a list of parts (Mistral magistral, some vLLM builds)."""
    for part in parts:
        if isinstance(part, str):
            acc.text(part, index)
            deltas.append(("text", part))
            continue
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind in ("text", "output_text"):
            text = part.get("text")
            if text and isinstance(text, str):
                acc.text(text, index)
                deltas.append(("text", text))
        elif kind in ("thinking", "reasoning", "reasoning_text"):
            if kind == "thinking" and isinstance(part.get("thinking"), list):
                acc.state["mistral"] = True  # a list of chunks under `thinking`: Mistral's shape alone
            for text in _thinking_texts(part):
                acc.thinking(text, index)
                deltas.append(("thinking", text))
        elif kind == "refusal":
            text = part.get("refusal")
            if text and isinstance(text, str):
                acc.refusal(text, index)
                deltas.append(("refusal", text))
        else:
            acc.other(salient(part), index)


def _thinking_texts(part: dict) -> list[str]:
    """Mistral: `{"type": "thinking", "thinking": [{"type": "text", "text": ...}]}`; others: a string."""
    inner = part.get("thinking", part.get("text", part.get("reasoning")))
    if isinstance(inner, str):
        return [inner] if inner else []
    if isinstance(inner, list):
        return [p["text"] for p in inner if isinstance(p, dict) and isinstance(p.get("text"), str) and p["text"]]
    return []


def _tool_calls(acc: Accumulator, calls: list, index: int) -> None:
    if not isinstance(calls, list):
        acc.warn(f"{API}: `tool_calls` is not a list; ignored")
        return
    for position, call in enumerate(calls):
        if not isinstance(call, dict):
            continue
        fn = call.get("function")
        if not isinstance(fn, dict):
            fn = {}
        key = call.get("index")
        if key is None:  # a body, or a server that sends whole calls without an index
            key = call.get("id") or position
        acc.tool_call(key, id=call.get("id"), name=fn.get("name"), arguments=fn.get("arguments"), choice=index)


def _sources(acc: Accumulator, obj: dict) -> None:
    """Perplexity: the top-level `citations` (URLs) and `search_results` ({title, url, date, ...}) are the sources
    of the answer: citations of choice 0's text, in `citations` order, then any other search result. A stream
    repeats them in its chunks: each URL is cited once."""
    results = [r for r in _list(obj.get("search_results")) if isinstance(r, dict) and isinstance(r.get("url"), str)]
    titles = {r["url"]: r.get("title") for r in results}
    urls = [u for u in _list(obj.get("citations")) if isinstance(u, str)] + [r["url"] for r in results]
    seen = acc.state.setdefault("sources", set())
    cites = []
    for url in urls:
        if url and url not in seen:
            seen.add(url)
            title = titles.get(url)
            cites.append({"url": url, "title": title} if isinstance(title, str) and title else {"url": url})
    if cites:
        acc.citations(cites, 0)


def _filter_results(acc: Accumulator, scope: str, results: Any, index: int) -> None:
    """Azure `content_filter_results`: {category: {filtered, severity | detected, ...}} -> the document's `safety`;
    other fields of a category (a protected-material `citation`, blocklist `details`, a filter `error`'s code and
    message) are kept as sent."""
    if not isinstance(results, dict):
        return
    for category, result in results.items():
        if isinstance(result, dict):
            extra = {k: v for k, v in salient(result).items()
                     if k not in ("filtered", "severity", "detected", "scope", "category", "choice") and v != []}
            acc.safety(scope, category, index, severity=result.get("severity"), detected=result.get("detected"),
                       filtered=result.get("filtered"), **extra)


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def url_citations(annotations: Any) -> list[dict]:
    """`url_citation` annotations -> [{url, title}] (Chat nests them under `url_citation`; Responses does not)."""
    out = []
    if not isinstance(annotations, list):
        return out
    for note in annotations:
        if isinstance(note, dict) and note.get("type") == "url_citation":
            cite = note.get("url_citation") if isinstance(note.get("url_citation"), dict) else note
            if cite.get("url"):
                out.append({"url": cite.get("url"), "title": cite.get("title")})
    return out


def salient(part: dict, depth: int = 0) -> dict:
    """A provider block kept as an `other` block: its scalar fields (and small nested ones), no opaque blobs."""
    out: dict[str, Any] = {}
    for key, value in part.items():
        if key in OPAQUE_KEYS or value is None:
            continue
        if isinstance(value, str):
            if not value.startswith("data:"):  # inline base64 media is a blob too
                out[key] = value
        elif isinstance(value, (int, float, bool)):
            out[key] = value
        elif isinstance(value, dict) and depth < 2:
            nested = salient(value, depth + 1)
            if nested:
                out[key] = nested
        elif isinstance(value, list) and depth < 2:
            items = [salient(v, depth + 1) if isinstance(v, dict) else v for v in value
                     if isinstance(v, (str, int, float, bool, dict))]
            if items:
                out[key] = items
    return out


def _usage(acc: Accumulator, usage: Any) -> None:
    if not isinstance(usage, dict):
        return
    completion = usage.get("completion_tokens_details")
    prompt = usage.get("prompt_tokens_details")
    reasoning = usage.get("reasoning_tokens")
    if isinstance(completion, dict) and completion.get("reasoning_tokens") is not None:
        reasoning = completion["reasoning_tokens"]
    cache_read = prompt.get("cached_tokens") if isinstance(prompt, dict) else None
    if usage.get("prompt_cache_hit_tokens") is not None:  # DeepSeek
        cache_read = usage["prompt_cache_hit_tokens"]
    elif cache_read is None:
        cache_read = usage.get("cached_tokens")  # Together: at the top of usage
    cache_write = first_reported(prompt, *_CACHE_WRITE_KEYS)  # the details first, then usage itself
    if cache_write is None:
        cache_write = first_reported(usage, *_CACHE_WRITE_KEYS)
    acc.set_usage(input_tokens=usage.get("prompt_tokens"), output_tokens=usage.get("completion_tokens"),
                  total_tokens=usage.get("total_tokens"), reasoning_tokens=reasoning,
                  cache_read_tokens=cache_read, cache_write_tokens=cache_write)
    if "queue_time" in usage or "total_time" in usage:  # Groq puts its timings in usage
        _timing(acc, usage)
    acc.set_cost(usage.get("cost"))


def _timing(acc: Accumulator, source: dict) -> None:
    acc.set_timing(**{name: source[key] for key, name in _TIMINGS if isinstance(source.get(key), (int, float))})


def _infer_vendor(acc: Accumulator, obj: dict) -> None:
    """The contract's vendor markers, in its order; the first marker seen in a stream wins. Choice-level markers
    were noted by `_fold_choice`."""
    state = acc.state
    if "x_groq" in obj:
        acc.infer_provider("groq")
    elif "time_info" in obj:
        acc.infer_provider("cerebras")
    elif "prompt_filter_results" in obj or "azure" in state:
        acc.infer_provider("azure")
    elif "openrouter" in state:
        acc.infer_provider("openrouter")
    elif "search_results" in obj or isinstance(obj.get("citations"), list):
        acc.infer_provider("perplexity")
    elif "mistral" in state:
        acc.infer_provider("mistral")
    elif "reasoning_content" in state and isinstance(obj.get("usage"), dict) \
            and "prompt_cache_hit_tokens" in obj["usage"]:
        acc.infer_provider("deepseek")


def _error(acc: Accumulator, err: Any) -> None:
    """An error body or event: HTTP status from a numeric `code`, Groq's `status_code` or a digit string."""
    if isinstance(err, str):
        acc.set_error(message=err)
        return
    if not isinstance(err, dict):
        acc.set_error(message=err)
        return
    status = err.get("status_code", err.get("status"))
    acc.set_error(status=status if isinstance(status, (int, str)) else None, type=err.get("type"),
                  code=err.get("code"), message=err.get("message"))


# The legacy Completions wire (openai_completions.py) reads usage and errors exactly as chat does.
fold_usage = _usage
fold_error = _error
