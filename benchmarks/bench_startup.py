"""Whole-process start-up: `aimux prettify` on a 2 KB body against bare `python -c 'import typer'`.

Bars (issues 2 and 3): `aimux prettify --wire none` and `aimux prettify` (provider path, TOON out) each within
1.3x of bare `import typer` in the same virtual environment. Uses hyperfine when installed (Debian package
`hyperfine`), else a perf_counter loop. Run from the repo root: `.venv/bin/python benchmarks/bench_startup.py`.
Exit status 1 when a bar is missed (unless --no-check).
"""

from __future__ import annotations

import argparse
import json
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


def commands(py: str) -> dict[str, str]:
    body = str(BODY)
    return {
        "python -c 'import typer'": f"{py} -c 'import typer'",
        "aimux --version": f"{py} -m aimux_cli --version",
        "aimux prettify --wire none (2 KB)": f"{py} -m aimux_cli prettify --wire none {body}",
        "aimux prettify (2 KB, openai.chat -> TOON)": f"{py} -m aimux_cli prettify -f toon {body}",
    }


def with_hyperfine(cmds: dict[str, str], runs: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        args = ["hyperfine", "-N", "--warmup", "5", "--runs", str(runs), "--export-json", out.name, "--style", "none"]
        for name, cmd in cmds.items():
            args += ["-n", name, cmd]
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        results = json.loads(Path(out.name).read_text())["results"]
    return {r["command"]: r["median"] for r in results}


def with_loop(cmds: dict[str, str], runs: int) -> dict[str, float]:
    medians = {}
    for name, cmd in cmds.items():
        times = []
        for i in range(runs + 5):
            t0 = time.perf_counter()
            subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
            if i >= 5:
                times.append(time.perf_counter() - t0)
        medians[name] = statistics.median(times)
    return medians


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--no-check", action="store_true", help="report only; do not fail on a missed bar")
    args = parser.parse_args()
    if not BODY.exists():
        print(f"missing {BODY}", file=sys.stderr)
        return 2
    # An installed package has bytecode; an editable checkout may not (and PYTHONDONTWRITEBYTECODE=1 stops Python
    # from writing it), which would time the compiler instead of aimux.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "aimux_cli")], check=True)
    cmds = commands(sys.executable)
    tool = "hyperfine" if shutil.which("hyperfine") else "perf_counter loop"
    medians = (with_hyperfine if tool == "hyperfine" else with_loop)(cmds, args.runs)
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
