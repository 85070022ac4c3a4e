"""`aimux bench prettify`: time normalize + TOON encode per response file (aimux_cli.bench_prettify), then show it
(aimux_cli.bench_view.prettify_view) or write the report `{"meta", "summary", "results"}` as TOON or JSON.

Each file is timed `--repeats` times in windows of `--min-time / --repeats`, the files interleaved (round 1 of
every file, then round 2...), and a row reports the median and p90 over its repeats. A progress bar goes to stderr
only when it is a terminal. Ctrl-C prints the files that had at least one repeat, then exits 130; a named file that
does not normalize exits 4 (the default set skips those broken on purpose); an unwritable --output exits 1 after
the report is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aimux_cli import __version__
from aimux_cli.bench_view import finish, progress_bar, short_name
from aimux_cli.errors import AimuxError, ExitCode, InputError, UsageError

DEFAULT_REPEATS = 5


@dataclass
class PrettifyOptions:
    files: list[str]
    min_time: float = 0.1
    output: str | None = None
    fmt: str | None = None
    color: bool | None = None
    repeats: int = DEFAULT_REPEATS


def run_prettify(opts: PrettifyOptions) -> int:
    import datetime
    import platform

    from aimux_cli import bench_prettify as bp
    from aimux_cli.bench_view import prettify_view
    from aimux_cli.render.console import TerminalEnv

    if opts.min_time <= 0:
        raise UsageError("--min-time must be positive")
    if opts.repeats < 1:
        raise UsageError("--repeats must be positive")
    explicit = bool(opts.files)
    names = opts.files or [str(p) for p in bp.default_files(_fixtures_dir())]
    started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    env = TerminalEnv.detect(color_flag=opts.color)
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    interrupted = _measure_files(names, opts, explicit, env, rows, skipped)
    meta = {"started_at": started_at, "aimux_version": __version__, "python": platform.python_version(),
            "min_time_s": opts.min_time, "repeats": opts.repeats, "interrupted": interrupted}
    report = {"meta": meta, "summary": bp.summary(rows, skipped), "results": rows}
    finish(report, opts.output, opts.fmt, env, prettify_view)
    if interrupted:
        raise AimuxError(f"interrupted: the report covers the {len(rows)} files measured",
                         exit_code=ExitCode.INTERRUPTED)
    return 0


def _measure_files(names: list[str], opts: PrettifyOptions, explicit: bool, env, rows: list, skipped: list) -> bool:
    """Time every file `opts.repeats` times, interleaved, into `rows` (the broken ones of the default set into
    `skipped`), a progress bar on a terminal's stderr; True when Ctrl-C stopped it (files with a repeat stay)."""
    from aimux_cli import bench_prettify as bp
    from aimux_cli.inputs import read_source

    timers: list[bp.FileTimer] = []
    window = opts.min_time / opts.repeats
    with progress_bar(env, "bench prettify", len(names) * opts.repeats, "{task.fields[file]}", file="") as advance:
        try:
            for name in names:
                try:
                    timers.append(bp.FileTimer(read_source(name)))
                except InputError:
                    if explicit:
                        raise
                    skipped.append(name)  # broken on purpose (hostile/truncated.json, hostile/garbage.bin)
                    if advance is not None:
                        advance(advance=opts.repeats)
            for _ in range(opts.repeats):
                for timer in timers:
                    if advance is not None:  # the file being timed shows while it is
                        advance(advance=0, file=short_name(timer.source.label))
                    timer.repeat(window)
                    if advance is not None:
                        advance()
        except KeyboardInterrupt:
            return True
        finally:
            rows += [t.row() for t in timers if t.repeats]
    return False


def _fixtures_dir() -> Path:
    """fixtures/ in the current directory, else the one in aimux's source tree (an editable install)."""
    for candidate in (Path("fixtures"), Path(__file__).resolve().parents[2] / "fixtures"):
        if candidate.is_dir():
            return candidate
    raise UsageError("no fixtures/ directory here: give the files to measure")
