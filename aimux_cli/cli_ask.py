"""`aimux ask`: the command's options; the body is in aimux_cli/commands/ask.py (and ask_many.py for several
providers or --fallback).

Registered on the app by cli.py, between prettify and test-providers; like every command declaration, only wires.
"""

from __future__ import annotations

from enum import Enum
from typing import List, Optional

import typer

from aimux_cli.debug import State, debug_option, set_debug


class AskFormat(str, Enum):
    rich = "rich"
    text = "text"
    toon = "toon"
    json = "json"
    raw = "raw"


class ThinkingMode(str, Enum):
    show = "show"
    hide = "hide"
    stdout = "stdout"


class Reasoning(str, Enum):
    none = "none"
    low = "low"
    medium = "medium"
    high = "high"


ASK_HELP = ("Ask a model and stream its answer. Piped stdin is context: its text comes first, then the PROMPT, "
            "separated by a blank line (stdin alone is the prompt). Example: git diff | aimux ask -p groq 'review this'")


def ask(
    prompt: Optional[List[str]] = typer.Argument(None, metavar="[PROMPT]...",
                                                 help="The prompt; several words are joined with spaces."),
    provider: Optional[List[str]] = typer.Option(None, "--provider", "-p", metavar="NAME",
                                                 help="Provider from the catalog or the config file (NAME/MODEL "
                                                 "picks the model too). Default: default_provider of the config. "
                                                 "Several (-p a,b or -p a -p b): "
                                                 "the same request to each, concurrently."),
    fallback: Optional[List[str]] = typer.Option(None, "--fallback", metavar="NAME",
                                                 help="A provider to try next when the ones before it fail "
                                                 "(repeatable, in order). Example: -p groq --fallback cerebras"),
    model: Optional[str] = typer.Option(None, "--model", "-m", metavar="NAME",
                                        help="Model. Default: the provider's configured or built-in model."),
    system: Optional[str] = typer.Option(None, "--system", "-s", metavar="TEXT", help="System prompt."),
    temperature: Optional[float] = typer.Option(None, "--temperature", min=0.0, metavar="T",
                                                help="Sampling temperature."),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", min=1, metavar="N",
                                             help="Most tokens to generate."),
    base_url: Optional[str] = typer.Option(None, "--base-url", metavar="URL",
                                           help="Override the provider's base URL (e.g. a local proxy)."),
    timeout: Optional[float] = typer.Option(None, "--timeout", metavar="SECONDS",
                                            help="Connect/read timeout, also the longest silence allowed inside "
                                            "a stream. Default: the config's, else 120."),
    retries: int = typer.Option(2, "--retries", min=0, max=20, metavar="N",
                                help="Retries on connection failures and 408/409/429/5xx/529, before any answer "
                                "text was written."),
    no_stream: bool = typer.Option(False, "--no-stream", help="Ask for the whole answer in one response."),
    fmt: Optional[AskFormat] = typer.Option(None, "--format", "-f",
                                            help="Output: rich (default on a terminal), text (default when piped), "
                                            "toon/json (the response document), raw (the provider's bytes)."),
    thinking: ThinkingMode = typer.Option(ThinkingMode.show, "--thinking",
                                          help="The model's thinking: show (on stderr, labelled, when it is a "
                                          "terminal), hide, or stdout (before the answer, labelled)."),
    color: Optional[bool] = typer.Option(None, "--color/--no-color",
                                         help="Force colours on or off (NO_COLOR and FORCE_COLOR are honoured)."),
    no_log: bool = typer.Option(False, "--no-log", help="Do not write this exchange to the log (aimux logs). "
                                "`log = false` in the config turns the log off for good."),
    cont: bool = typer.Option(False, "--continue", "-c", help="Continue the newest logged conversation: its "
                              "earlier prompts and answers are sent first, in this provider's format."),
    cid: Optional[str] = typer.Option(None, "--cid", metavar="ID",
                                      help="Continue conversation ID (see aimux logs -f json, conversation_id)."),
    tool_result: Optional[List[str]] = typer.Option(
        None, "--tool-result", metavar="CALL=TEXT|CALL=@FILE",
        help="With -c/--cid: the result of a tool call of the conversation's last answer (CALL: its id or tool "
        "name; repeatable), sent back before the prompt, which may then be left out. "
        "Example: aimux ask -c --tool weather.json --tool-result get_weather='{\"temp\": 21}'"),
    option: Optional[List[str]] = typer.Option(
        None, "--option", "-o", metavar="KEY=VALUE|KEY:=JSON",
        help="Set a field of the request body, last (repeatable): KEY=VALUE a string, KEY:=JSON a typed value, "
        "dotted keys nest. Example: -o top_p:=0.9 -o thinking.budget_tokens:=2048"),
    body: Optional[str] = typer.Option(None, "--body", metavar="FILE|-",
                                       help="Send this JSON request body as it is (model and stream are filled "
                                       "only when absent; -o still applies). Example: --body req.json"),
    tool: Optional[List[str]] = typer.Option(None, "--tool", metavar="FILE",
                                             help="Function definitions the model may call (repeatable): "
                                             '{"name", "description", "parameters"} or a list, OpenAI\'s form too.'),
    tool_choice: Optional[str] = typer.Option(None, "--tool-choice", metavar="MODE",
                                              help="auto, none, required (must call one), or the NAME of the tool to call."),
    schema: Optional[str] = typer.Option(None, "--schema", metavar="FILE|JSON",
                                         help="Ask for structured output matching this JSON Schema, then validate "
                                         "the answer (exit 11 when it does not). Example: --schema '{\"type\": "
                                         '"object", "required": ["name"]}\''),
    reasoning: Optional[Reasoning] = typer.Option(None, "--reasoning",
                                                  help="Reasoning effort, mapped per provider (OpenAI effort, "
                                                  "Anthropic and Gemini thinking budget, Ollama think)."),
    attach: Optional[List[str]] = typer.Option(None, "--attach", "-a", metavar="FILE",
                                               help="Attach an image (png, jpeg, gif, webp) or a PDF to the prompt "
                                               "(repeatable; 20 MiB each). Example: -a chart.png"),
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="Show the request (headers, credentials redacted; body) and the response's "
                                 "status and headers on stderr, before the answer."),
    curl: bool = typer.Option(False, "--curl", help="Print the request as a runnable curl command (the key as "
                              "\"$VAR\") and send nothing."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the request body as JSON and send nothing."),
    debug: bool = debug_option(),
) -> None:
    set_debug(debug)
    from aimux_cli.commands.ask import AskOptions, run

    providers = names(provider)
    opts = AskOptions(prompt=prompt or [], provider=providers[0] if providers else None, providers=providers,
                      fallback=names(fallback), model=model, system=system, temperature=temperature,
                      max_tokens=max_tokens, base_url=base_url, timeout=timeout, retries=retries,
                      stream=not no_stream, fmt=fmt.value if fmt else None, color=color,
                      debug=State.debug, thinking=thinking.value, log=not no_log, cont=cont, cid=cid,
                      options=option or [], body=body, tools=tool or [], tool_choice=tool_choice, schema=schema,
                      reasoning=reasoning.value if reasoning else None, attach=attach or [], verbose=verbose,
                      curl=curl, dry_run=dry_run, tool_results=tool_result or [])
    code = run(opts)
    if code:
        raise typer.Exit(int(code))


def names(values: Optional[List[str]]) -> list[str]:
    """Provider names from repeated and comma-separated values (`-p a,b -p c`), blanks dropped, in order."""
    return [name.strip() for value in values or () for name in value.split(",") if name.strip()]
