"""`aimux ask`'s input: the options (AskOptions), the turns to send (prompt, stdin context, a continued conversation),
the request extras (-o, --body, --tool, --tool-choice, --schema, --reasoning, -a; aimux_cli/request_extras.py)
and, per provider, the prepared request. Shared by commands/ask.py (one provider) and commands/ask_many.py (several,
or --fallback), which both import this module and not each other.

    messages, system = gather(opts, stdin_isatty, state)        # once: reads stdin, the files, the log
    resolved, prepared = prepare(opts, name, messages, system)  # per provider

Stdin is read once, by one consumer: `--body -`, `--tool -` or `--schema -` when one of them names it (then it is
not the prompt's context), else the prompt's context when it is not a terminal. A bad flag value is a UsageError
naming the flag (exit 2); a file that cannot be read or does not hold what it should, an InputError (exit 4).
"""

from __future__ import annotations

import sys
from typing import Any

from aimux_cli.commands import ask_log
from aimux_cli.errors import InputError, UsageError


class AskOptions:
    """ask's options, one attribute each, given as keywords (`AskOptions(prompt=[...], provider="groq")`).

    A plain class, not a dataclass: generating a dataclass of this many fields cost ~1.2 ms of every ask's start-up.
    Each attribute's default is below; a list default is a fresh list per instance."""

    prompt: list[str] = []
    provider: str | None = None  # the first of `providers`
    providers: list[str] = []  # -p a,b,c or -p repeated: fanned out (commands/ask_many.py)
    fallback: list[str] = []  # --fallback NAME, repeatable: tried in order (ask_many.py)
    model: str | None = None
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    base_url: str | None = None
    timeout: float | None = None
    retries: int = 2
    stream: bool = True
    fmt: str | None = None
    color: bool | None = None
    debug: bool = False
    thinking: str = "show"  # show (stderr), hide, stdout
    log: bool = True  # write the exchange to the log (aimux_cli/logdb.py) unless the config says `log = false`
    cont: bool = False  # -c/--continue: the newest logged conversation's turns come first (commands/ask_log.py)
    cid: str | None = None  # --cid: this conversation's turns come first
    tool_results: list[str] = []  # --tool-result CALL=TEXT|CALL=@FILE (with -c/--cid)
    # the request extras (issue 11), as given on the command line; `extras` is what gather() made of them
    options: list[str] = []  # -o KEY=VALUE / KEY:=JSON, merged last into the body
    body: str | None = None  # --body FILE|-: the request body as given (model and stream filled when absent)
    tools: list[str] = []  # --tool FILE, repeatable
    tool_choice: str | None = None  # --tool-choice auto|none|required|NAME
    schema: str | None = None  # --schema FILE|JSON: structured output, and the answer validated against it
    reasoning: str | None = None  # --reasoning none|low|medium|high
    attach: list[str] = []  # -a FILE, repeatable: images and PDF
    verbose: bool = False  # -v: the request and the response's head on stderr (aimux_cli/exchange_view.py)
    curl: bool = False  # --curl: print the request as a curl command, send nothing
    dry_run: bool = False  # --dry-run: print the request body, send nothing
    extras: Any = None  # request_extras.Extras, set by gather(); None when no extras flag was given

    def __init__(self, **values: Any) -> None:
        unknown = set(values) - set(_DEFAULTS)
        if unknown:
            raise TypeError(f"AskOptions: unknown option(s) {', '.join(sorted(unknown))}")
        for name, default in _DEFAULTS.items():
            setattr(self, name, values[name] if name in values else (list(default) if isinstance(default, list)
                                                                        else default))

    def __repr__(self) -> str:
        return "AskOptions(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in _DEFAULTS) + ")"


_DEFAULTS = {name: value for name, value in vars(AskOptions).items()
             if not name.startswith("_") and not callable(value)}


def check_options(opts: AskOptions) -> None:
    """The flag combinations every ask refuses before reading anything (UsageError, exit 2)."""
    if opts.timeout is not None and opts.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    if opts.thinking not in ("show", "hide", "stdout"):
        raise UsageError("--thinking must be show, hide or stdout")
    if opts.curl and opts.dry_run:
        raise UsageError("--curl and --dry-run: give one (both print the request and send nothing)")


def gather(opts: AskOptions, stdin_isatty: bool, state: dict) -> tuple[list[dict], str | None]:
    """The turns to send, once for every provider: the earlier turns of a continued conversation, then the prompt
    (stdin context + PROMPT); and the system prompt. Loads the extras into opts.extras first (a file named "-"
    takes stdin). Fills state's prompt, conversation and system for the log."""
    opts.extras = load_extras(opts) if wants_extras(opts) else None
    stdin_taken = "-" in (opts.body, opts.schema, *opts.tools) or any(
        spec.partition("=")[2] == "@-" for spec in opts.tool_results)
    context = None if stdin_isatty or stdin_taken else read_stdin()
    if opts.tool_results and not (opts.cont or opts.cid):
        raise UsageError("--tool-result answers a tool call of a logged conversation: give -c/--continue or --cid")
    allow_empty = opts.body is not None or bool(opts.tool_results)
    prompt = state["prompt"] = build_prompt(opts.prompt, context, allow_empty=allow_empty)
    messages, system = ([{"role": "user", "content": prompt}] if prompt else []), opts.system
    if opts.cont or opts.cid:
        state["conversation"], earlier, kept = ask_log.history(opts.cid)
        results = state["tool_results"] = ask_log.tool_results(opts.tool_results, earlier)
        sent = [{"role": "tool", **result} for result in results]
        messages, system = ask_log.settle(earlier + sent + messages), system or kept
    else:
        state["conversation"] = ask_log.new_conversation()
    state["system"] = system
    return messages, system


def prepare(opts: AskOptions, provider: str | None, messages: list[dict], system: str | None):
    """-> (ResolvedProvider, PreparedRequest) of `provider` (None: the config's default; PROVIDER/MODEL picks the
    model too) for these turns, with opts' request options (--model, --base-url, --timeout, the request extras). ConfigError (3) for an unknown
    provider or a missing key."""
    from aimux_cli import config, request

    provider, model = split_model(provider)
    overrides = {k: v for k, v in (("model", model or opts.model), ("base_url", opts.base_url),
                                   ("timeout", opts.timeout)) if v is not None}
    resolved = config.resolve(provider, overrides)
    if opts.extras is None and wants_extras(opts):
        opts.extras = load_extras(opts)
    kw = {"extras": opts.extras} if opts.extras is not None else {}
    if opts.body is not None and not messages:
        messages = None  # --body carries its own turns (a prompt with it is request.build's usage error)
    prepared = request.build(resolved, messages=messages, system=system, temperature=opts.temperature,
                             max_tokens=opts.max_tokens, stream=opts.stream, **kw)
    return resolved, prepared


def split_model(name: str | None) -> tuple[str | None, str | None]:
    """`-p PROVIDER/MODEL` (as `aimux models -f text` prints them) -> (provider, model), so one fan-out can compare
    two models of one provider (`-p openai/gpt-4.1,openai/gpt-4o`); the model given so wins over -m. A name that is
    a provider itself, or whose part before the first "/" is not one, is left whole (resolve names it)."""
    if not name or "/" not in name:
        return name, None
    from aimux_cli import config

    cfg = config.load()
    head, _, model = name.partition("/")
    if config.row(cfg, name) is not None or config.row(cfg, head) is None or not model:
        return name, None
    return head, model


def load_extras(opts: AskOptions):
    """The request extras of opts' flags (request_extras.Extras); each error names its flag or file."""
    from aimux_cli import request_extras as rx

    readers = [name for name, value in (("--body", opts.body), ("--schema", opts.schema)) if value == "-"]
    readers += ["--tool"] * sum(1 for t in opts.tools if t == "-")
    if len(readers) > 1:
        raise UsageError(f"{' and '.join(readers)} both read stdin ('-'): give one of them a file")
    options = tuple(rx.parse_option(item) for item in opts.options)
    tools = tuple(tool for source in opts.tools for tool in rx.load_tools(source))
    rx.check_tools(tools)
    choice = opts.tool_choice
    if choice is not None and choice not in rx.TOOL_CHOICES:
        if not tools:
            raise UsageError(f"--tool-choice {choice!r}: name a tool given with --tool, or auto, none or required")
        if choice not in {t.name for t in tools}:
            names = ", ".join(t.name for t in tools)
            raise UsageError(f"--tool-choice {choice!r}: no such tool (the tools given: {names})")
    if opts.reasoning is not None and opts.reasoning not in rx.REASONING_LEVELS:
        raise UsageError(f"--reasoning {opts.reasoning!r}: give none, low, medium or high")
    schema = rx.load_schema(opts.schema) if opts.schema is not None else None
    if schema is not None:
        from aimux_cli.schema_check import schema_problem

        problem = schema_problem(schema)
        if problem and opts.schema.lstrip().startswith("{"):
            raise UsageError(f"--schema: not a valid JSON Schema: {problem}")
        if problem:
            where = "<stdin>" if opts.schema == "-" else opts.schema
            raise InputError(f"{where}: not a valid JSON Schema: {problem}")
    attachments = tuple(rx.load_attachment(path) for path in opts.attach)
    body = rx.load_body(opts.body) if opts.body is not None else None
    return rx.Extras(tools=tools, tool_choice=choice, schema=schema, reasoning=opts.reasoning,
                     attachments=attachments, options=options, body=body)


def wants_extras(opts: AskOptions) -> bool:
    """Whether any request-extras flag was given (a plain ask never imports request_extras: start-up)."""
    return bool(opts.options or opts.body is not None or opts.tools or opts.tool_choice is not None
                or opts.schema is not None or opts.reasoning is not None or opts.attach)


def build_prompt(words: list[str], stdin_text: str | None, *, allow_empty: bool = False) -> str:
    """The prompt: stdin context, a blank line, then the PROMPT words; either alone; neither is a usage error
    (unless `allow_empty`: --body carries its own turns)."""
    prompt = " ".join(words).strip()
    context = (stdin_text or "").rstrip("\n")
    if not context.strip():
        context = ""
    if not prompt and not context and not allow_empty:
        raise UsageError("no prompt: give the prompt as arguments (aimux ask \"...\") or pipe it on stdin")
    if context and prompt:
        return f"{context}\n\n{prompt}"
    return prompt or context


def read_stdin() -> str:
    """All of piped stdin as text (InputError, exit 4, for invalid UTF-8)."""
    from aimux_cli.inputs import read_source

    if sys.stdin is None:  # fd 0 closed: no context, like a terminal
        return ""
    data = read_source("-").data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"<stdin>: invalid UTF-8 at byte {exc.start}") from None
