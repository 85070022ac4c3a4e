"""`aimux bench compare`: two bench provider runs metric by metric, with a bootstrap verdict on each change
(aimux_cli/bench_report/compare.py, aimux_cli/commands/bench_report.py).

Fixtures: tests/data/bench_report/ (see tests/test_bench_report.py). run-b.json was measured against a server
scheduled 40 % slower to its first token and 20 % slower between chunks than run-a.json's, so B is worse beyond
noise on TTFT and ITL; a run compared with itself changes by nothing. Synthetic runs check the verdicts where the
truth is known: the same distribution (noise), a 20 % shift (worse / better), and the sample counts below which the
comparison says it cannot tell.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from aimux_cli.bench_report import compare, runs

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "bench_report"
RUN_A, RUN_B, NO_SAMPLES, TWO = (str(DATA / n) for n in ("run-a.json", "run-b.json", "no-samples.json",
                                                         "two-providers.json"))


def aimux(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aimux_cli", *args], capture_output=True, cwd=ROOT,
                          env={**os.environ, "NO_COLOR": "", "COLUMNS": "120"}, timeout=120)


def loaded(*files: str) -> list[runs.RunData]:
    out = [run for name in files for run in runs.load(name)]
    runs.label_runs(out)
    return out


def rows_by_label(result: dict) -> dict[str, dict]:
    return {row["label"]: row for row in result["rows"]}


def synthetic(name: str, ttft: list[float], failed: int = 0) -> runs.RunData:
    requests = [{"status": "ok", "start_ms": i * 10.0, "ttft_ms": v, "e2e_ms": v * 4, "itl_ms": [v / 5] * 3,
                 "tpot_ms": v / 5, "output_tokens": 4} for i, v in enumerate(ttft)]
    requests += [{"status": "rate_limit", "start_ms": 0.0} for _ in range(failed)]

    def stats(values: list[float]) -> dict:
        ordered = sorted(values)
        return {"median": compare._percentile(ordered, 50), "p90": compare._percentile(ordered, 90),
                "p99": compare._percentile(ordered, 99)}

    summary = {"completed": len(ttft), "failed": failed, "requests_per_s": 1.0, "output_tokens_per_s": 4.0,
               "ttft_ms": stats(ttft), "e2e_ms": stats([v * 4 for v in ttft]),
               "itl_ms": stats([v / 5 for v in ttft]), "tpot_ms": stats([v / 5 for v in ttft])}
    run = runs.RunData(name, {"provider": name}, summary, requests)
    run.label = name
    return run


# --- verdicts ---

def test_a_slower_run_is_worse_beyond_noise():
    a, b = loaded(RUN_A, RUN_B)
    result = compare.compare(a, b)
    rows = rows_by_label(result)
    report_a, report_b = (json.loads(Path(p).read_text())["summary"] for p in (RUN_A, RUN_B))
    assert rows["TTFT p50"]["a"] == report_a["ttft_ms"]["median"]
    assert rows["TTFT p50"]["b"] == report_b["ttft_ms"]["median"]
    assert rows["TTFT p50"]["change"] == pytest.approx(
        100 * (report_b["ttft_ms"]["median"] - report_a["ttft_ms"]["median"]) / report_a["ttft_ms"]["median"], abs=0.01)
    for label in ("TTFT p50", "ITL p50", "TPOT p50", "E2E p50", "ITL p99"):
        assert rows[label]["verdict"] == "worse", rows[label]
        lo, hi = rows[label]["interval"]
        assert 0 < lo <= rows[label]["change"] <= hi
    # 35 and 38 completed requests: a p99 of one value per request needs 300
    assert rows["TTFT p99"]["verdict"] == "too few samples" and rows["TTFT p99"]["interval"] is None
    assert rows["requests/s"]["verdict"] == "not tested" and rows["requests/s"]["change"] < 0
    assert rows["error rate"]["change_unit"] == "pp" and rows["error rate"]["change"] == pytest.approx(-7.5)
    assert rows["error rate"]["verdict"] == "noise"  # 5 of 40 against 2 of 40: not beyond noise
    assert [r["label"] for r in result["rows"]][:3] == ["TTFT p50", "TTFT p90", "TTFT p99"]


def test_a_run_against_itself_changes_by_nothing():
    a, b = loaded(RUN_A, RUN_A)
    for row in compare.compare(a, b)["rows"]:
        assert row["change"] == 0, row
        assert row["verdict"] in ("noise", "too few samples", "not tested"), row


def test_the_same_distribution_is_noise_and_a_shift_is_not():
    rng = random.Random(7)
    base = [rng.lognormvariate(4, 0.3) for _ in range(400)]
    same = [rng.lognormvariate(4, 0.3) for _ in range(400)]
    slower = [v * 1.2 for v in (rng.lognormvariate(4, 0.3) for _ in range(400))]
    noise = rows_by_label(compare.compare(synthetic("a", base), synthetic("b", same)))
    assert {noise[f"TTFT {q}"]["verdict"] for q in ("p50", "p90")} == {"noise"}
    worse = rows_by_label(compare.compare(synthetic("a", base), synthetic("b", slower)))
    assert worse["TTFT p50"]["verdict"] == "worse" and worse["E2E p90"]["verdict"] == "worse"
    assert 10 < worse["TTFT p50"]["change"] < 30
    better = rows_by_label(compare.compare(synthetic("b", slower), synthetic("a", base)))
    assert better["TTFT p50"]["verdict"] == "better"
    assert worse["TTFT p99"]["verdict"] == "worse" or worse["TTFT p99"]["verdict"] == "noise"  # 400 >= 300: tested
    assert worse["TTFT p99"]["interval"] is not None


def test_too_few_samples_and_no_samples_say_they_cannot_tell():
    few = rows_by_label(compare.compare(synthetic("a", [10.0] * 9), synthetic("b", [20.0] * 9)))
    assert few["TTFT p50"]["verdict"] == "too few samples" and few["TTFT p50"]["change"] == 100
    a, b = loaded(NO_SAMPLES, RUN_B)
    rows = rows_by_label(compare.compare(a, b))
    assert rows["TTFT p50"]["verdict"] == "no samples" and rows["TTFT p50"]["a"] is not None
    assert rows["error rate"]["verdict"] == "no samples" and rows["error rate"]["change"] is not None


def test_error_rates_are_compared_in_percentage_points():
    rows = rows_by_label(compare.compare(synthetic("a", [10.0] * 200), synthetic("b", [10.0] * 150, failed=50)))
    assert rows["error rate"]["a"] == 0 and rows["error rate"]["b"] == 25
    assert rows["error rate"]["change"] == 25 and rows["error rate"]["verdict"] == "worse"


def test_the_comparison_is_deterministic_and_bounds_its_work(monkeypatch):
    a, b = loaded(RUN_A, RUN_B)
    assert compare.compare(a, b) == compare.compare(a, b)
    assert rows_by_label(compare.compare(a, b))["TTFT p50"]["resamples"] == compare.RESAMPLES  # 35 + 38 values
    monkeypatch.setattr(compare, "MAX_VALUES", 300)
    monkeypatch.setattr(compare, "WORK", 150_000)
    big = synthetic("big", [10.0 + i % 7 for i in range(400)])
    result = compare.compare(big, big)
    assert result["subsampled"] == ["big: TTFT resampled from 300 of its 400 requests",
                                    "big: TTFT resampled from 300 of its 400 requests",
                                    "big: ITL resampled from 100 of its 400 requests",
                                    "big: ITL resampled from 100 of its 400 requests",
                                    "big: TPOT resampled from 300 of its 400 requests",
                                    "big: TPOT resampled from 300 of its 400 requests",
                                    "big: E2E latency resampled from 300 of its 400 requests",
                                    "big: E2E latency resampled from 300 of its 400 requests"]
    rows = rows_by_label(result)
    assert rows["TTFT p50"]["resamples"] == 250 and rows["TTFT p50"]["verdict"] == "noise"  # 150,000 / 600 values


def test_fields_a_newer_bench_adds_are_compared_when_both_have_them():
    a, b = loaded(TWO)  # one file, two providers
    rows = rows_by_label(compare.compare(a, b))
    assert "connect p50" in rows and rows["connect p50"]["verdict"] in ("noise", "too few samples", "worse", "better")
    assert rows["goodput"]["unit"] == "requests/s" and rows["goodput"]["verdict"] == "not tested"
    assert rows["TTFT, first wave p50"]["verdict"] == "not tested"  # no per-request samples behind it


# --- the command ---

def test_compare_json_and_rich(snapshot):
    result = aimux("bench", "compare", RUN_A, RUN_B, "-f", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) == {"a", "b", "confidence", "resamples", "subsampled", "rows"}
    assert doc["a"]["file"] == RUN_A and doc["b"]["requests"] == 40 and doc["resamples"] == compare.RESAMPLES
    rich = aimux("bench", "compare", RUN_A, RUN_B, "-f", "rich")
    assert rich.returncode == 0 and rich.stderr == b""
    text = rich.stdout.decode().replace(str(DATA), "DATA")
    assert "yes: worse" in text and "too few samples" in text and "not tested" in text
    assert text == snapshot
    toon = aimux("bench", "compare", RUN_A, RUN_B)  # piped: TOON
    assert toon.returncode == 0 and toon.stdout.startswith(b"a:\n")


def test_compare_exit_codes(tmp_path):
    worse = aimux("bench", "compare", RUN_A, RUN_B, "-f", "json", "--fail-on-regression")
    assert worse.returncode == 10 and json.loads(worse.stdout)["rows"]  # the table first, then the verdict
    line = worse.stderr.decode().strip()
    assert len(line.splitlines()) == 1 and "B is worse than A beyond noise: TTFT p50" in line
    better = aimux("bench", "compare", RUN_B, RUN_A, "-f", "json", "--fail-on-regression")
    assert better.returncode == 0
    three = aimux("bench", "compare", RUN_A, RUN_B, RUN_A)
    assert three.returncode == 2 and "compare takes two runs: the files given hold 3" in three.stderr.decode()
    one = aimux("bench", "compare", RUN_A)
    assert one.returncode == 2
    two_in_one = aimux("bench", "compare", TWO, "-f", "json")
    assert two_in_one.returncode == 0 and json.loads(two_in_one.stdout)["b"]["label"] == "other · other-model"
    bad = tmp_path / "bad.json"
    bad.write_text('{"meta": {}}')
    refused = aimux("bench", "compare", RUN_A, str(bad))
    assert refused.returncode == 4 and "not a bench provider report" in refused.stderr.decode()
    saved = tmp_path / "cmp.json"
    wrote = aimux("bench", "compare", RUN_A, RUN_B, "-f", "rich", "-o", str(saved))
    assert wrote.returncode == 0 and json.loads(saved.read_text())["rows"]


@pytest.mark.parametrize("n, p", [(500, 0.1), (100_000, 0.2), (100_000, 0.0001), (100_000, 0.9999)])
def test_resampled_failure_counts_are_binomial(n, p):
    rng = random.Random(3)
    draws = [compare._binomial(rng, n, p) for _ in range(4000)]
    mean = sum(draws) / len(draws)
    variance = sum((d - mean) ** 2 for d in draws) / len(draws)
    assert mean == pytest.approx(n * p, rel=0.05)
    assert variance == pytest.approx(n * p * (1 - p), rel=0.15)
    assert all(0 <= d <= n for d in draws)
