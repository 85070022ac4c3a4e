"""Case numbers -> cases -> runs, with failures grouped by crash site. Shared by the test and benchmarks/fuzz.py.

Contract: `make_case(seed, index)` is a pure function of its arguments (and the seed files): case 17 of seed 5 is
the same input on every run, in any worker. `Report` collects outcomes and groups failures by site.
"""

from __future__ import annotations

import hashlib
import random
import time
from pathlib import Path

from . import harness
from .mutate import Case, mutate
from .seeds import load_seeds

SHAPES_SHARE = 0.2  # the rest are mutations of the seeds
FORCED_WIRE_SHARE = 0.15  # also run with --wire forced to some wire (or none), as a user may
NETWORK_SHARE = 0.1  # of the mutated stream cases, also fed chunk by chunk through ask's Pump


def make_case(seed: int, index: int) -> Case:
    rng = random.Random(f"{seed}:{index}")
    seeds = load_seeds()
    if rng.random() < SHAPES_SHARE:
        from . import shapes
        kind, data = shapes.draw(rng)
        return Case(data, f"shape-{kind}")
    return mutate(rng, seeds[rng.randrange(len(seeds))], seeds)


class Outcome:
    __slots__ = ("index", "label", "size", "failures", "seconds")

    def __init__(self, index: int, label: str, size: int, failures: list, seconds: float) -> None:
        self.index, self.label, self.size, self.failures, self.seconds = index, label, size, failures, seconds


def run_index(seed: int, index: int, *, formats=harness.FORMATS, time_limit: float = harness.TIME_LIMIT,
              clock=time.process_time, network: bool = True, memory: bool = True,
              case: Case | None = None) -> tuple[Outcome, Case]:
    """Run case `index`; with `memory`, its runs are measured (every run with the RSS probe; with tracemalloc, one
    run per case, the format by turns)."""
    case = case or make_case(seed, index)
    start = time.perf_counter()
    if formats == harness.FORMATS:
        extra = random.Random(f"wire:{seed}:{index}")
        if case.is_stream:
            formats = formats + harness.FOLLOW
        if extra.random() < FORCED_WIRE_SHARE:
            from aimux_cli.wire import WIRES
            wire = extra.choice(WIRES + ("none",))
            formats = formats + tuple(f"{fmt} --wire {wire}" for fmt in ("toon", "rich"))
    if not memory:
        trace = ()
    elif harness.memory_kind() == "rss":
        trace = formats
    else:
        trace = (formats[index % len(formats)],)
    failures = harness.run_case(case.data, case.expected_text(), formats=formats, time_limit=time_limit,
                                clock=clock, trace=trace, same_as=case.seed.data if case.equivalent else None)
    if network and case.is_stream and random.Random(index).random() < NETWORK_SHARE:
        from . import network as net
        failures += net.run_case(case.data, random.Random(f"net:{seed}:{index}"), time_limit=time_limit,
                                 clock=clock, api=case.seed.api if case.seed is not None else None,
                                 expect=case.expected_text())
    return Outcome(index, case.label, len(case.data), failures, time.perf_counter() - start), case


class Report:
    """Outcomes of many cases; failures grouped by site, each group with its first cases."""

    def __init__(self, save_dir: Path | None = None, keep: int = 5) -> None:
        self.cases = 0
        self.skipped = 0
        self.failed = 0
        self.seconds = 0.0
        self.sites: dict[str, dict] = {}
        self.save_dir, self.keep = save_dir, keep
        self.slowest: list[tuple[float, int, str]] = []

    def add(self, outcome: Outcome, data: bytes | None = None) -> None:
        self.cases += 1
        self.slowest = sorted(self.slowest + [(outcome.seconds, outcome.index, outcome.label)], reverse=True)[:5]
        if not outcome.failures:
            return
        self.failed += 1
        for failure in outcome.failures:
            group = self.sites.setdefault(failure.site, {"count": 0, "kinds": set(), "formats": set(),
                                                         "examples": []})
            group["count"] += 1
            group["kinds"].add(failure.kind)
            group["formats"].add(failure.fmt)
            if len(group["examples"]) < self.keep and all(e[0] != outcome.index for e in group["examples"]):
                path = self._save(outcome, data) if data is not None else None
                group["examples"].append((outcome.index, outcome.label, failure.detail, path))

    def _save(self, outcome: Outcome, data: bytes) -> str | None:
        if self.save_dir is None:
            return None
        self.save_dir.mkdir(parents=True, exist_ok=True)
        path = self.save_dir / f"case-{outcome.index}-{hashlib.sha1(data).hexdigest()[:10]}.bin"
        path.write_bytes(data)
        return str(path)

    def merge(self, other: Report) -> None:
        self.cases += other.cases
        self.skipped += other.skipped
        self.failed += other.failed
        self.slowest = sorted(self.slowest + other.slowest, reverse=True)[:5]
        for site, group in other.sites.items():
            mine = self.sites.setdefault(site, {"count": 0, "kinds": set(), "formats": set(), "examples": []})
            mine["count"] += group["count"]
            mine["kinds"] |= group["kinds"]
            mine["formats"] |= group["formats"]
            mine["examples"] = (mine["examples"] + group["examples"])[: self.keep]

    def summary(self) -> str:
        skipped = f" ({self.skipped} over the size limit skipped)" if self.skipped else ""
        lines = [f"{self.cases} cases{skipped} in {self.seconds:.1f} s; {self.failed} failed; "
                 f"{len(self.sites)} distinct failure sites"]
        for site, group in sorted(self.sites.items(), key=lambda kv: -kv[1]["count"]):
            lines.append(f"\n{group['count']:6d}  {site}  [{', '.join(sorted(group['kinds']))}; "
                         f"-f {','.join(sorted(group['formats']))}]")
            for index, label, detail, path in group["examples"]:
                lines.append(f"        case {index}: {label}: {detail}")
                if path:
                    lines.append(f"          saved: {path}")
        if self.slowest:
            lines.append("\nslowest cases: " + "; ".join(f"{i} ({s:.2f} s, {label})" for s, i, label in self.slowest))
        return "\n".join(lines)


def run_many(seed: int, indices, *, report: Report | None = None, progress=None, max_size: int | None = None,
             **options) -> Report:
    """Run the cases `indices` of `seed`; with `max_size`, cases of more bytes are skipped (counted in `skipped`)."""
    report = report or Report()
    start = time.perf_counter()
    for index in indices:
        case = make_case(seed, index)
        if max_size is not None and len(case.data) > max_size:
            report.skipped += 1
            continue
        outcome, case = run_index(seed, index, case=case, **options)
        report.add(outcome, case.data)
        if progress is not None:
            progress(report)
    report.seconds += time.perf_counter() - start
    return report
