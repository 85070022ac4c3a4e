"""The long fuzz run: many mutated and generated provider responses through `aimux prettify` in every format.

    .venv/bin/python benchmarks/fuzz.py --cases 100000 --seed 1 --jobs 2
    .venv/bin/python benchmarks/fuzz.py --seed 1 --case 4711          # one case again, with its tracebacks
    .venv/bin/python benchmarks/fuzz.py --file /tmp/aimux-fuzz/1/case-4711-….bin   # a saved input

Prints a summary: cases, time, failures grouped by crash site (exception type + innermost aimux_cli file:line, or
the check that failed), with the first cases of each group; each of those inputs is saved under --save (default
$TMPDIR/aimux-fuzz/SEED/) so that `aimux prettify -f toon < FILE` reproduces it; summary.txt there holds the
summary so far while the run goes. Exit 0 when no case failed, 1 otherwise.

The harness is tests/fuzz/ (the same code runs a bounded number of cases in the test suite). The time limit is on
the CPU time of each run, as in the suite (--wall for the wall clock, on an idle machine), and a case that runs
for --hang seconds of wall time is stopped and reported as a hang.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # before benchmarks/: `fuzz` is the package tests/fuzz, not this file
sys.path.insert(1, str(ROOT))

from fuzz import harness, runner  # noqa: E402
from fuzz.harness import Failure  # noqa: E402

CHUNK = 100


class Hang(BaseException):
    """Raised by the watchdog alarm inside a case that runs too long (a BaseException: no handler swallows it)."""


def _alarm(signum, frame):
    raise Hang()


def _worker_init() -> None:
    signal.signal(signal.SIGALRM, _alarm)
    for seed in runner.load_seeds()[:5]:  # import everything once, outside the measured cases
        harness.run_case(seed.data, formats=harness.FORMATS + harness.FOLLOW)


def _run_chunk(job: tuple) -> runner.Report:
    seed, indices, options, save_dir, hang = job
    report = runner.Report(save_dir)
    start = time.perf_counter()
    for index in indices:
        signal.alarm(hang)
        try:
            outcome, case = runner.run_index(seed, index, **options)
        except Hang:
            case = runner.make_case(seed, index)
            outcome = runner.Outcome(index, case.label, len(case.data),
                                     [Failure("hang", "hang", f"stopped after {hang} s", "all")], float(hang))
        except Exception as exc:  # a bug of the harness itself: reported, and the run goes on
            case = runner.Case(b"", "harness")
            outcome = runner.Outcome(index, "harness", 0, [Failure("harness", harness.crash_site(exc),
                                                                   f"{type(exc).__name__}: {exc}", "all")], 0.0)
        finally:
            signal.alarm(0)
        report.add(outcome, case.data)
    report.seconds = time.perf_counter() - start
    return report


def one_case(case, options: dict) -> int:
    """Run one case in every format, printing what happened (peak memory, time, any traceback)."""
    print(f"{case.label}, {len(case.data)} bytes; expected text blocks: {len(case.expected_text())}; "
          f"memory measured by {harness.memory_kind()}")
    failed = 0
    formats = harness.FORMATS + (harness.FOLLOW if case.is_stream else ())
    for fmt in formats:
        runs = [harness.prettify(case.data, fmt, clock=options["clock"])]
        if not runs[0].timed:  # tracemalloc slowed it down: time it again without
            runs.append(harness.prettify(case.data, fmt, clock=options["clock"], trace=False))
        run = runs[-1]
        print(f"-f {fmt}: exit {run.code}, {run.seconds:.2f} s, peak {runs[0].peak / 2**20:.1f} MiB, "
              f"stderr: {run.stderr.strip()[:200]!r}")
        for run in runs:
            for failure in harness.check(run, len(case.data), case.expected_text(), options["time_limit"]):
                print(f"   FAIL {failure}")
                failed += 1
        if run.exc is not None:
            traceback.print_exception(run.exc)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="how many cases (default 10,000)")
    parser.add_argument("--seed", type=int, default=0, help="the seed: the same seed gives the same cases")
    parser.add_argument("--start", type=int, default=0, help="first case number (default 0)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--case", type=int, help="run this one case number, showing tracebacks")
    parser.add_argument("--file", type=Path, help="run this one input file (a saved case), showing tracebacks")
    parser.add_argument("--save", type=Path, help="folder for failing inputs (default $TMPDIR/aimux-fuzz/SEED)")
    parser.add_argument("--wall", action="store_true", help="time limit on the wall clock instead of CPU time")
    parser.add_argument("--time-limit", type=float, default=harness.TIME_LIMIT, help="seconds per run (5)")
    parser.add_argument("--hang", type=int, default=120, help="stop a case after this many seconds (120)")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory check (faster)")
    parser.add_argument("--no-network", action="store_true", help="skip the ask Pump family")
    parser.add_argument("--max-size", type=int, help="skip cases larger than this many bytes")
    args = parser.parse_args(argv)
    options = {"clock": time.perf_counter if args.wall else time.process_time, "time_limit": args.time_limit,
               "network": not args.no_network, "memory": not args.no_memory}
    if args.case is not None or args.file is not None:
        _worker_init()
        if args.file is not None:
            from aimux_cli import streams

            data = args.file.read_bytes()
            kind = streams.sniff(data[:4096])  # a stream is also run with --follow
            return one_case(runner.Case(data, f"shape-{kind} {args.file}"), options)
        print(f"case {args.case} of seed {args.seed}: ", end="")
        return one_case(runner.make_case(args.seed, args.case), options)
    save_dir = args.save or Path(tempfile.gettempdir()) / "aimux-fuzz" / str(args.seed)
    indices = range(args.start, args.start + args.cases)
    chunks = [list(indices[i:i + CHUNK]) for i in range(0, len(indices), CHUNK)]
    jobs = [(args.seed, chunk, options, save_dir, args.hang) for chunk in chunks]
    if args.max_size:
        jobs = [(s, [i for i in c if len(runner.make_case(s, i).data) <= args.max_size], o, d, h)
                for s, c, o, d, h in jobs]
    total = runner.Report(save_dir)
    start = time.perf_counter()

    def done(report: runner.Report) -> None:
        total.merge(report)
        total.seconds = time.perf_counter() - start
        save_dir.mkdir(parents=True, exist_ok=True)
        (save_dir / "summary.txt").write_text(total.summary() + "\n")  # to look at while it runs
        rate = total.cases / (time.perf_counter() - start)
        print(f"\r{total.cases}/{args.cases} cases, {total.failed} failed, {len(total.sites)} sites, "
              f"{rate:.0f} cases/s", end="", file=sys.stderr, flush=True)

    if args.jobs > 1:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(args.jobs, _worker_init) as pool:
            for report in pool.imap_unordered(_run_chunk, jobs):
                done(report)
    else:
        _worker_init()
        for job in jobs:
            done(_run_chunk(job))
    total.seconds = time.perf_counter() - start
    print(file=sys.stderr)
    print(f"seed {args.seed}, cases {args.start}..{args.start + args.cases - 1}, jobs {args.jobs}, "
          f"python {sys.version.split()[0]}, pid {os.getpid()}")
    print(total.summary())
    if total.sites:
        print(f"\nreproduce one: .venv/bin/python benchmarks/fuzz.py --seed {args.seed} --case N "
              f"(or: .venv/bin/aimux prettify -f toon < SAVED_FILE)")
    return 1 if total.failed else 0


if __name__ == "__main__":
    sys.exit(main())
