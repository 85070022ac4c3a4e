"""`aimux logs`: the sub-app's options (list, show, prune, path); the bodies are in aimux_cli/commands/logs.py.

Registered on the app by cli.py; like every command declaration, only wires.
"""

from __future__ import annotations

from enum import Enum
from typing import Optional

import typer

from aimux_cli.debug import debug_option, set_debug

logs_app = typer.Typer(
    name="logs", invoke_without_command=True,
    help="The log of every exchange `aimux ask` made (an SQLite file; see `aimux logs path`). Without a "
    "sub-command, lists the newest entries: a table on a terminal, TOON (or JSON) when piped.")


class LogsFormat(str, Enum):
    rich = "rich"
    toon = "toon"
    json = "json"


class ShowFormat(str, Enum):
    rich = "rich"
    text = "text"
    toon = "toon"
    json = "json"
    raw = "raw"
    request = "request"


@logs_app.callback()
def _logs(
    ctx: typer.Context,
    limit: int = typer.Option(20, "-n", "--limit", metavar="N", help="Entries to list, newest first."),
    provider: Optional[str] = typer.Option(None, "--provider", "-p", metavar="NAME", help="Only this provider."),
    model: Optional[str] = typer.Option(None, "--model", "-m", metavar="NAME", help="Only this model."),
    since: Optional[str] = typer.Option(None, "--since", metavar="WHEN",
                                        help="Only entries since a duration ago (90s, 30m, 2h, 7d, 2w) or a date "
                                        "(2026-11-30, 2026-11-30T08:00; UTC unless an offset is given)."),
    query: Optional[str] = typer.Option(None, "--query", "-q", metavar="TEXT",
                                        help="Only entries whose prompt or answer has every word of TEXT."),
    conversation: Optional[str] = typer.Option(None, "--conversation", "-c", metavar="ID",
                                               help="Only this conversation of ask -c (or 'last')."),
    fmt: Optional[LogsFormat] = typer.Option(None, "--format", "-f",
                                             help="Output: rich (default on a terminal), toon (default when "
                                             "piped) or json."),
    color: Optional[bool] = typer.Option(None, "--color/--no-color", help="Force colours on or off."),
    debug: bool = debug_option(),
) -> None:
    set_debug(debug)
    if ctx.invoked_subcommand is not None:
        return
    from aimux_cli.commands.logs import ListOptions, run_list

    code = run_list(ListOptions(limit=limit, provider=provider, model=model, since=since, query=query,
                                conversation=conversation, fmt=fmt.value if fmt else None, color=color))
    if code:
        raise typer.Exit(code)


@logs_app.command("show", help="Show one log entry: its response document drawn as prettify draws it, the entry "
                  "as JSON, the response bytes exactly as received (-f raw | aimux prettify), or the request body.")
def logs_show(
    ident: str = typer.Argument(..., metavar="ID|last", help="The entry's id, or 'last'."),
    fmt: Optional[ShowFormat] = typer.Option(None, "--format", "-f",
                                             help="rich (default on a terminal), text, toon (default when piped), "
                                             "json (the entry and its document), raw (the response bytes), "
                                             "request (the request body)."),
    color: Optional[bool] = typer.Option(None, "--color/--no-color", help="Force colours on or off."),
    debug: bool = debug_option(),
) -> None:
    set_debug(debug)
    from aimux_cli.commands.logs import run_show

    code = run_show(ident, fmt.value if fmt else None, color)
    if code:
        raise typer.Exit(code)


@logs_app.command("prune", help="Delete old entries: keep the newest N, or delete those older than a duration; "
                  "then compact the file.")
def logs_prune(
    keep: Optional[int] = typer.Option(None, "--keep", min=0, metavar="N", help="Keep the newest N entries."),
    older_than: Optional[str] = typer.Option(None, "--older-than", metavar="DURATION",
                                             help="Delete entries older than this (30d, 12h, 2w)."),
    debug: bool = debug_option(),
) -> None:
    set_debug(debug)
    from aimux_cli.commands.logs import run_prune

    code = run_prune(keep, older_than)
    if code:
        raise typer.Exit(code)


@logs_app.command("path", help="Print where the log is ($AIMUX_LOG_DB, else $XDG_DATA_HOME/aimux/logs.db).")
def logs_path(debug: bool = debug_option()) -> None:
    set_debug(debug)
    from aimux_cli.commands.logs import run_path

    run_path()
