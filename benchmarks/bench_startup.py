"""Whole-process start-up: `aimux prettify` on a 2 KB body against bare `python -c 'import typer'`.

Bars (issues 2 and 3): `aimux prettify --wire none` and `aimux prettify` (provider path, TOON out) each within
1.3x of bare `import typer` in the same virtual environment. Uses hyperfine when installed (Debian package
`hyperfine`) with --hyperfine; by default interleaved rounds, which a shared machine's slow and fast phases
bias less. Run from the repo root: `.venv/bin/python benchmarks/bench_startup.py`.
Exit status 1 when a bar is missed (unless --no-check).
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BODY = ROOT / "fixtures" / "openai" / "chat-2kb.json"
BAR = 1.3


def commands(py: str) -> dict[str, list[str]]:
    body = str(BODY)
    return {
        "python -c 'import typer'": [py, "-c", "import typer"],
        "aimux --version": [py, "-m", "aimux_cli", "--version"],
        "aimux prettify --wire none (2 KB)": [py, "-m", "aimux_cli", "prettify", "--wire", "none", body],
        "aimux prettify (2 KB, openai.chat -> TOON)": [py, "-m", "aimux_cli", "prettify", "-f", "toon", body],
    }


def with_hyperfine(cmds: dict[str, list[str]], runs: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        args = ["hyperfine", "-N", "--warmup", "5", "--runs", str(runs), "--export-json", out.name, "--style", "none"]
        for name, cmd in cmds.items():
            args += ["-n", name, shlex.join(cmd)]
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        results = json.loads(Path(out.name).read_text())["results"]
    return {r["command"]: r["median"] for r in results}


def interleaved(cmds: dict[str, list[str]], runs: int) -> dict[str, float]:
    """Each round runs every command once, in turn: a slow or fast phase of a shared machine then hits all of
    them alike, instead of biasing whichever command hyperfine happened to be timing."""
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for i in range(runs + 3):
        for name, cmd in cmds.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
            if i >= 3:  # warm-up rounds
                times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--hyperfine", action="store_true",
                        help="time with hyperfine (each command's runs back to back) instead of interleaved rounds")
    parser.add_argument("--no-check", action="store_true", help="report only; do not fail on a missed bar")
    args = parser.parse_args()
    if not BODY.exists():
        print(f"missing {BODY}", file=sys.stderr)
        return 2
    # An installed package has bytecode; an editable checkout may not (and PYTHONDONTWRITEBYTECODE=1 stops Python
    # from writing it), which would time the compiler instead of aimux.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "aimux_cli")], check=True)
    cmds = commands(sys.executable)
    if args.hyperfine and not shutil.which("hyperfine"):
        print("hyperfine is not installed (Debian package hyperfine)", file=sys.stderr)
        return 2
    tool = "hyperfine" if args.hyperfine else "interleaved rounds"
    medians = (with_hyperfine if args.hyperfine else interleaved)(cmds, args.runs)
    base = medians["python -c 'import typer'"]
    print(f"start-up, median of {args.runs} runs ({tool}), body {BODY.stat().st_size} bytes")
    print(f"{'command':46} {'median ms':>10} {'vs typer':>9}")
    failed = False
    for name in cmds:
        ratio = medians[name] / base
        checked = name.startswith("aimux prettify")
        mark = "" if not checked else ("  ok" if ratio <= BAR else f"  MISSED (bar {BAR}x)")
        failed |= checked and ratio > BAR
        print(f"{name:46} {medians[name] * 1000:10.1f} {ratio:8.2f}x{mark}")
    return 1 if failed and not args.no_check else 0


if __name__ == "__main__":
    sys.exit(main())
