"""`aimux bench locust`: `bench provider`'s measurement on Locust (aimux_cli/bench_locust.py is the locustfile),
headless on this machine, or across machines as `--master` and `--worker`s (Locust's own coordination).

Local or `--master`: runs `python -m locust -f bench_locust.py --headless ...` for --run-time, then shows the merged
report (every sample of every worker: percentiles over all of them) as `bench provider` does (`rich` on a
terminal, `toon` piped, `json`), saves it with -o, and as an HTML page with --html. `--worker`: runs a Locust worker
that connects to --master-host, measures what the master asks, sends its samples to the master at the end and says
on stderr how many requests it measured. Every process resolves the provider from its own config and key.
Locust's own output goes to stderr with --debug; otherwise its last line is shown only if it fails.

Exit codes: as bench provider: 0 when at least one request completed; when none did, the code of the most frequent
failure (5 auth, 6 rate limit, 7 provider, 8 network, 9 incomplete); 2 bad options or Locust not installed
(`pip install 'aimux[distributed]'`); 3 configuration (unknown provider, missing key); 1 Locust failed or wrote no
report; a worker exits with Locust's code.
"""

from __future__ import annotations

import math
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aimux_cli.errors import AimuxError, ExitCode, UsageError


@dataclass
class LocustOptions:
    provider: str | None
    model: str | None = None
    prompt: str | None = None
    max_tokens: int = 256
    users: int = 1
    spawn_rate: float | None = None
    run_time: str = "30s"
    requests_per_user: int | None = None
    stop_timeout: float = 60.0
    master: bool = False
    worker: bool = False
    expect_workers: int = 1
    master_host: str = "127.0.0.1"
    master_port: int = 5557
    output: str | None = None
    html: str | None = None
    fmt: str | None = None
    color: bool | None = None
    debug: bool = False


def locust_args(opts: LocustOptions, report_path: str | None) -> list[str]:
    """The `python -m locust` command line for `opts` (pure: tests read it)."""
    args = [sys.executable, "-m", "locust", "-f", _locustfile(), "--aimux-provider", opts.provider or "",
            "--aimux-max-tokens", str(opts.max_tokens), "--stop-timeout", str(math.ceil(opts.stop_timeout))]
    for flag, value in (("--aimux-model", opts.model), ("--aimux-prompt", opts.prompt),
                        ("--aimux-requests-per-user", opts.requests_per_user)):
        if value is not None:
            args += [flag, str(value)]
    if opts.worker:
        return args + ["--worker", "--master-host", opts.master_host, "--master-port", str(opts.master_port)]
    args += ["--headless", "--only-summary", "--exit-code-on-error", "0", "-u", str(opts.users),
             "-r", str(opts.spawn_rate or opts.users), "-t", opts.run_time, "--aimux-output", report_path or ""]
    if opts.master:
        args += ["--master", "--expect-workers", str(opts.expect_workers), "--master-bind-host", opts.master_host,
                 "--master-bind-port", str(opts.master_port)]
    return args


def _locustfile() -> str:
    """The path of aimux_cli/bench_locust.py, found without importing it (importing Locust patches the process)."""
    import importlib.util

    spec = importlib.util.find_spec("aimux_cli.bench_locust")
    assert spec is not None and spec.origin is not None
    return spec.origin


def run_locust(opts: LocustOptions) -> int:
    _check(opts)
    if opts.worker:
        return subprocess.run(locust_args(opts, None), stdin=subprocess.DEVNULL).returncode
    with tempfile.TemporaryDirectory(prefix="aimux-locust-") as tmp:
        report_path = str(Path(tmp) / "report.json")
        log = Path(tmp) / "locust.log"
        with open(log, "wb") as sink:
            done = subprocess.run(locust_args(opts, report_path), stdin=subprocess.DEVNULL,
                                  stdout=None if opts.debug else sink, stderr=None if opts.debug else sink)
        report = _read(report_path, done.returncode, log)
    return _show(report, opts)


def _check(opts: LocustOptions) -> None:
    import importlib.util

    if importlib.util.find_spec("locust") is None:
        raise UsageError("bench locust needs Locust: pip install 'aimux[distributed]'")
    if not opts.provider:
        raise UsageError("give the provider with -p NAME (every worker too: each resolves its own key)")
    if opts.master and opts.worker:
        raise UsageError("give --master or --worker, not both")
    for name, value in (("--users", opts.users), ("--max-tokens", opts.max_tokens),
                        ("--expect-workers", opts.expect_workers)):
        if value is not None and value <= 0:
            raise UsageError(f"{name} must be positive")
    if opts.requests_per_user is not None and opts.requests_per_user <= 0:
        raise UsageError("--requests-per-user must be positive")
    if not opts.worker:  # resolved here too, so a bad provider or a missing key is one line before Locust starts
        from aimux_cli.config import resolve

        resolve(opts.provider, {"model": opts.model} if opts.model else None)


def _read(path: str, code: int, log: Path) -> dict[str, Any]:
    import orjson

    try:
        return orjson.loads(Path(path).read_bytes())
    except (OSError, ValueError):
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()] if log.exists() else []
        last = f": {lines[-1].strip()[:300]}" if lines else ""
        raise AimuxError(f"locust exited with {code} and wrote no report{last} (run with --debug to see its output)",
                         exit_code=ExitCode.FAILURE) from None


def _show(report: dict[str, Any], opts: LocustOptions) -> int:
    from aimux_cli import bench
    from aimux_cli.bench_view import finish, provider_view
    from aimux_cli.render.console import TerminalEnv

    env = TerminalEnv.detect(color_flag=opts.color)
    try:
        finish(report, opts.output, opts.fmt, env, provider_view)
    finally:
        if opts.html:
            from aimux_cli.bench_report.html import save

            save(report, opts.html)
    summary = report["summary"]
    if summary["completed"] == 0 and summary["failed"]:
        worst = Counter({k: v for k, v in summary["errors"].items() if v}).most_common(1)[0][0]
        return int(bench.EXIT_CODES.get(worst, ExitCode.PROVIDER))
    return 0
