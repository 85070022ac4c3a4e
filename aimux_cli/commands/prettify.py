"""`aimux prettify`: read inputs, normalize each (aimux_cli.prettify), present it (aimux_cli.present), pick the
exit code; `--follow` hands stdin to the live view (aimux_cli.live_follow).

Exit codes: 0; 4 for unreadable or invalid input (other inputs are still written); 9 when a stream ended without
its terminal event (after printing what arrived); with --fail, 5/6/7 for an error document by its HTTP status.
"""

from __future__ import annotations

from aimux_cli.errors import InputError, UsageError
from aimux_cli.present import PrettifyOptions, normalize_and_emit, warn


def _canonical_wire(name: str | None) -> str | None:
    if name is None or name == "none":
        return name
    from aimux_cli import wire
    api = wire.canonical(name)
    if api is None:
        raise UsageError(f"unknown wire format {name!r}; choose one of: {', '.join(wire.WIRES)}, none")
    return api


def run(opts: PrettifyOptions) -> int:
    from aimux_cli.render.console import TerminalEnv

    opts.wire = _canonical_wire(opts.wire)
    env = TerminalEnv.detect(color_flag=opts.color)
    fmt = opts.fmt or ("rich" if env.stdout_isatty else "toon")
    if not opts.files:
        if env.stdin_isatty:  # waiting for a paste nobody is going to make helps no one; '-' still reads it
            raise UsageError("no input: give a FILE, or pipe a response in (curl -N ... | aimux prettify)")
        opts.files = ["-"]
    if opts.follow:
        if opts.files != ["-"]:
            raise UsageError("--follow reads a stream from stdin; do not give files")
        if opts.wire == "none":
            raise UsageError("--follow needs a provider stream; it cannot be used with --wire none")
        from aimux_cli.live_follow import follow
        return follow(opts, fmt, env)
    multi = len(opts.files) > 1
    codes: list[int] = []
    for index, name in enumerate(opts.files):
        codes.append(_one(name, opts, fmt, env, header=multi, first=index == 0))
    return next((c for c in codes if c), 0)


def _one(name: str, opts: PrettifyOptions, fmt: str, env, *, header: bool, first: bool) -> int:
    from aimux_cli.inputs import read_source

    try:
        source = read_source(name, keep_head=True)
    except InputError as exc:
        warn(str(exc), error=True)
        return int(exc.exit_code)
    return normalize_and_emit(source, opts, fmt, env, label=source.label if header else None, first=first)


__all__ = ["PrettifyOptions", "run"]
