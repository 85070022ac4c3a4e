"""`aimux models`: the models each provider serves, from its list endpoint (aimux_cli/models.py), all at once.

Providers: the NAMEs of `-p` (repeatable), else every provider with a key (catalog rows whose key variable is set)
and every `[providers.NAME]` table of the config file, queried concurrently on one connection pool, each within
`--timeout` seconds (one retry on a connection failure or 429/5xx).

Output, by `-f`: `rich` (default on a terminal) a table: provider, model, context length, created, owned by, and
OpenRouter-style prices in dollars per million input/output tokens when reported; `text` one `provider/model` a
line (for scripts and shell completion); `json` / `toon` (default when piped) a list of entries, each the
provider's name then the fields of aimux_cli/models.py (id, name, created, owned_by, context_length,
max_output_tokens, pricing, size, ...). `-q FILTER` keeps models whose `provider/id` or display name contains FILTER
(case-insensitive). Models are in the provider's own order, providers in the order asked (else by name).

A provider that fails is one line on stderr (`aimux: error: NAME: HTTP 401: ...`, the key scrubbed); the others are
still printed, and the exit code is the first failure's (3 no key, 5 auth, 6 rate limit, 7 provider, 8 network).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aimux_cli import output
from aimux_cli.errors import AimuxError, ConfigError, ExitCode, NetworkError, UsageError


class ModelsOptions:
    def __init__(self, providers: list[str] | None = None, fmt: str | None = None, query: str | None = None,
                 timeout: float = 30.0, color: bool | None = None) -> None:
        self.providers, self.fmt, self.query = providers or [], fmt, query
        self.timeout, self.color = timeout, color


def run(opts: ModelsOptions) -> int:
    from aimux_cli import fastexit
    from aimux_cli.config_check import check_timeout
    from aimux_cli.render.console import TerminalEnv

    fastexit.clean()
    opts.timeout = check_timeout(opts.timeout, "--timeout", UsageError)
    env = TerminalEnv.detect(color_flag=opts.color)
    fmt = opts.fmt or ("rich" if env.stdout_isatty else "toon")
    targets = select(opts.providers)
    results = asyncio.run(fetch_all(targets, opts.timeout))
    entries = [{"provider": name, **model} for name, models, _ in results for model in models or ()
               if not opts.query or _matches(model, name, opts.query)]
    emit(entries, fmt, env)
    failures = [(name, error) for name, _, error in results if error is not None]
    for name, error in failures:
        _error_line(name, error)
    if failures:
        return int(failures[0][1].exit_code)
    return int(ExitCode.OK)


def select(names: list[str]) -> list[tuple[str, Any]]:
    """(name, ResolvedProvider or the ConfigError that stops it) per provider; ConfigError for an unknown name or
    when there is nothing to list."""
    import os

    from aimux_cli import config as cfg

    config = cfg.load()
    rows = cfg.rows(config)
    for name in names:
        if name not in rows:
            raise ConfigError(f"unknown provider {name!r} (known: {cfg.names_line(config.providers)})")
    keyed = {n for n, row in rows.items() if row.key_env and os.environ.get(row.key_env, "").strip()}
    chosen = list(dict.fromkeys(names)) or sorted(n for n in rows if n in config.providers or n in keyed)
    if not chosen:
        variables = ", ".join(sorted({row.key_env for row in rows.values() if row.key_env}))
        raise ConfigError(f"no provider to list: set a key variable ({variables}), add a [providers.NAME] table to "
                          f"{config.path}, or name one: aimux models -p NAME")
    targets = []
    for name in chosen:
        try:
            targets.append((name, cfg.resolve(name)))
        except ConfigError as exc:
            targets.append((name, exc))
    return targets


async def fetch_all(targets: list[tuple[str, Any]], timeout: float) -> list[tuple[str, list | None, Any]]:
    """(name, models or None, AimuxError or None) per target, in order; the providers are asked concurrently."""
    from aimux_cli.client_async import AsyncSession
    from aimux_cli.models import list_models

    async with AsyncSession(max_connections=max(4, len(targets))) as session:
        async def one(name: str, resolved: Any) -> tuple[str, list | None, Any]:
            if isinstance(resolved, AimuxError):
                return name, None, resolved
            try:
                return name, await asyncio.wait_for(list_models(session, resolved, timeout), timeout * 3), None
            except AimuxError as exc:
                return name, None, exc
            except asyncio.TimeoutError:
                return name, None, NetworkError(f"{name}: no complete model list within {timeout * 3:g} s")

        return list(await asyncio.gather(*(one(n, r) for n, r in targets)))


def _matches(model: dict, provider: str, query: str) -> bool:
    from aimux_cli.models import matches

    return matches(model, provider, query)


def _error_line(name: str, error: AimuxError) -> None:
    import sys

    from aimux_cli.render.sanitize import for_terminal
    from aimux_cli.request import redact

    text = " ".join(str(error).split()) or type(error).__name__
    if not text.startswith(f"{name}:") and not text.startswith(f"provider {name}"):
        text = f"{name}: {text}"
    sys.stderr.write(f"aimux: error: {for_terminal(redact(text))}\n")
    sys.stderr.flush()


def emit(entries: list[dict], fmt: str, env: Any) -> None:
    if fmt == "rich":
        if entries:
            env.stdout_console.print(table(entries))
        return
    if fmt != "text":
        from aimux_cli.present import write_data
        write_data(entries, fmt, env)
        return
    text = "".join(f"{e['provider']}/{e['id']}\n" for e in entries)
    if env.stdout_isatty:
        from aimux_cli.render.sanitize import for_terminal
        text = for_terminal(text)
    output.write(text)


def table(entries: list[dict]) -> Any:
    """The model table (render/kinds_view.py draws it for prettify's model lists too)."""
    from aimux_cli.render.kinds_view import models_table

    return models_table(entries)
