"""The bounded fuzz run (issue 9, "Keep it held"), and tests that the harness itself catches what it claims to.

The bounded run: `CASES` cases of a fixed seed (mutated fixtures and corpus files, hypothesis-drawn provider-shaped
bodies and streams, some also pumped through `ask`'s stream folding), each through `aimux prettify` in every
format (streams also with --follow; some also with --wire forced). Cases over `MAX_SIZE` bytes are left to the
long run (`benchmarks/fuzz.py`, see the README). The 5 s limit is on CPU time, so that a busy machine cannot fail
the suite; memory is the run's resident high-water mark (tests/fuzz/memory.py).
A failure prints the summary: failures grouped by crash site, with case numbers that
`.venv/bin/python benchmarks/fuzz.py --seed SEED --case N` runs again with tracebacks.
"""

from __future__ import annotations

import random

import pytest

from fuzz import harness, memory, mutate, network, runner
from fuzz import seeds as seeds_module
from fuzz.seeds import CORPUS, load_seeds, seed_by_label

SEED = 20261130
CASES = 2500
MAX_SIZE = 128 * 1024


def test_bounded_fuzz_run():
    for seed in load_seeds()[:5]:  # imports happen here, not inside a measured case
        harness.run_case(seed.data)
    report = runner.run_many(SEED, range(CASES), max_size=MAX_SIZE)
    assert report.cases > CASES * 0.8
    assert not report.sites, f"seed {SEED}: " + report.summary()


# --- the cases are what they say ----------------------------------------------------------------------------


def test_cases_are_deterministic_for_a_seed():
    first = [runner.make_case(5, i) for i in range(40)]
    again = [runner.make_case(5, i) for i in range(40)]
    assert [c.data for c in first] == [c.data for c in again]
    assert [c.label for c in first] == [c.label for c in again]
    assert [c.data for c in first] != [runner.make_case(6, i).data for i in range(40)]


def test_every_family_of_mutation_is_drawn():
    names = {runner.make_case(SEED, i).mutation.split("+")[0] for i in range(CASES)}
    expected = {"flip", "truncate", "splice", "confuse", "nest", "bad-utf8", "bad-utf8-tail", "bom", "bom-inside",
                "crlf", "cr", "newlines-mixed", "nul", "huge-number", "repeat", "shape-body", "shape-sse",
                "shape-ndjson"}
    assert expected <= names, expected - names


def test_seeds_are_every_fixture_and_the_corpus_when_present():
    labels = {seed.label for seed in load_seeds()}
    assert "fixtures/openai/chat-text-stream.sse" in labels
    assert any(label.startswith("corpus/") for label in labels) == CORPUS.is_dir()


def test_type_confusion_aims_at_real_wire_keys():
    keys = mutate.wire_keys()
    assert {"choices", "candidates", "finish_reason", "content_block", "usageMetadata"} <= set(keys)
    value = mutate.confuse_value(random.Random(1), {"object": "chat.completion", "choices": [{"index": 0}]},
                                 force=mutate.Raw("1e400"))
    assert b"1e400" in mutate.dumps(value)


def test_deep_values_are_written_as_raw_json():
    rng = random.Random(3)
    for _ in range(20):
        raw = mutate.deep(rng)
        assert raw.count("[") + raw.count("{") >= 100


# --- the oracle of "nothing decoded is lost" ----------------------------------------------------------------


def test_text_before_a_cut_is_the_text_of_the_whole_events_before_it():
    seed = seed_by_label("fixtures/openai/chat-text-stream.sse")
    assert seed.text_before(0) == ()
    full = seed.full_text()
    assert full and all(choice == 0 and isinstance(t, str) and t for choice, t in full)
    start, end = seed.spans[3]
    within = seed.text_before(end - 1)  # the cut falls inside event 3: only events 0-2 count
    assert within == seed.text_before(start)
    assert full[0][1].startswith(within[0][1]) if within else True


def test_ndjson_events_are_lines():
    seed = seed_by_label("fixtures/ollama/chat-stream.ndjson")
    assert all(seed.data[end - 1:end] == b"\n" for _, end in seed.spans)
    assert len(seed.spans) == seed.data.count(b"\n")


# --- the checks fail when they should -----------------------------------------------------------------------


def test_an_escaping_exception_is_a_failure_named_by_its_crash_site(monkeypatch):
    import aimux_cli.render.text as text

    def broken(*args, **kwargs):
        raise KeyError(-1)

    monkeypatch.setattr(text, "render_text", broken)
    data = seed_by_label("fixtures/openai/chat-text.json").data
    failures = harness.run_case(data, formats=("text",))
    assert [f.kind for f in failures] == ["exception"]
    assert failures[0].site.startswith("KeyError at aimux_cli/")


def test_text_missing_from_the_output_is_a_failure():
    data = seed_by_label("fixtures/openai/chat-text.json").data
    assert harness.run_case(data, formats=("text",)) == []
    failures = harness.run_case(data, ((0, "words the model never said"),), formats=("text",))
    assert [f.kind for f in failures] == ["lost-text"]


def test_memory_and_time_over_the_limits_are_failures():
    run = harness.Run("toon")
    run.seconds = 6.0
    assert [f.kind for f in harness.check(run, 1000)] == ["slow"]
    run.timed = False  # measured under tracemalloc: its time is tracemalloc's as much as aimux's
    assert harness.check(run, 1000) == []
    run.peak = 50 * 2**20
    assert [f.kind for f in harness.check(run, 1000)] == ["memory"]
    run.peak, run.seconds = harness.MEMORY_FLOOR - 1, 0.1
    assert harness.check(run, 1000) == []
    run.peak = 11 * 10 * 2**20
    assert [f.kind for f in harness.check(run, 10 * 2**20)] == ["memory"]


def test_the_time_bar_of_a_very_large_input_follows_its_size():
    """Seed 4242, cases 57311/61337: `--follow` read 583 MB streams at ~100 MB/s (5.5-6.7 s), linear, but over the
    flat 5 s bar. A bar of 50 MB/s lets linear work through and still fails the same seconds on a small input."""
    run = harness.Run("text --follow")
    run.seconds = 6.7
    assert harness.check(run, 583_000_000) == []
    assert [f.kind for f in harness.check(run, 50_000_000)] == ["slow"]
    run.seconds = 12.0
    assert [f.kind for f in harness.check(run, 583_000_000)] == ["slow"]


def test_the_memory_probe_sees_what_a_run_allocates():
    with memory.Probe() as probe:
        block = bytearray(64 * 2**20)
        block[::4096] = b"x" * len(block[::4096])  # touched, so resident
    del block
    assert 60 * 2**20 < probe.peak < 80 * 2**20
    with memory.Probe() as probe:
        pass
    assert probe.peak < 2**20


def test_every_run_is_measured_unless_asked_not_to():
    data = seed_by_label("fixtures/openai/chat-text-stream.sse").data
    measured, plain = harness.prettify(data, "json"), harness.prettify(data, "json", trace=False)
    assert measured.peak is not None and 0 <= measured.peak < harness.MEMORY_FLOOR
    assert plain.peak is None and plain.timed


def test_exit_1_without_an_exception_is_a_failure():
    run = harness.Run("json")
    run.code, run.stderr = 1, "aimux: error: cannot write the output\n"
    assert [f.kind for f in harness.check(run, 10)] == ["exit-1"]


def test_the_harness_leaves_the_process_as_it_found_it():
    import os
    import sys

    streams, columns = (sys.stdin, sys.stdout, sys.stderr), os.environ.get("COLUMNS")
    harness.run_case(seed_by_label("fixtures/anthropic/thinking.json").data)
    assert (sys.stdin, sys.stdout, sys.stderr) == streams and os.environ.get("COLUMNS") == columns


def test_json_and_toon_that_disagree_are_a_failure():
    assert harness.same_document('{"a": [1, 2]}', "a[2]: 1,2\n") == []
    assert [f.kind for f in harness.same_document('{"a": [1, 2]}', "a[2]: 1,3\n")] == ["bad-output"]
    assert [f.site for f in harness.same_document('{"a": ', "a: 1\n")] == ["-f json is not JSON"]


def test_a_bom_or_crlf_must_not_change_the_document():
    seed = seed_by_label("fixtures/openai/chat-text-stream.sse")
    assert harness.run_case(b"\xef\xbb\xbf" + seed.data, formats=("json",), same_as=seed.data) == []
    other = seed_by_label("fixtures/ollama/chat-stream.ndjson").data
    failures = harness.run_case(other, formats=("json",), same_as=seed.data)
    assert [f.kind for f in failures] == ["changed"]


class _OneByteReads(random.Random):
    """An rng whose every chunk size is the first choice (1 byte): the body arrives a byte per read."""

    def choice(self, seq):
        return seq[0]


@pytest.mark.parametrize("rel", ["fixtures/openai/chat-text-stream.sse", "fixtures/anthropic/thinking-stream.sse",
                                 "fixtures/ollama/chat-stream.ndjson", "fixtures/gemini/text-stream.sse"])
def test_ask_keeps_every_text_block_when_the_body_arrives_a_byte_at_a_time(rel):
    """The network family's own path, read by read (an SSE head of "d", "da"... once passed for a JSON body)."""
    seed = seed_by_label(rel)
    with harness.captured(b"") as (out, _err):
        network.pump(seed.data, _OneByteReads(0), complete=True, api=seed.api)
    printed = out.getvalue()
    assert seed.full_text() and all(text in printed for _, text in seed.full_text())


def test_byte_level_mutations_of_an_empty_input():
    """A truncation to nothing may be flipped or cut again (the stacked second mutation)."""
    empty = seeds_module.Seed("empty", b"", "sse")
    for mutation in mutate._BYTE_LEVEL:
        for n in range(20):
            assert isinstance(mutation(random.Random(n), empty, load_seeds()).data, bytes)
