"""`aimux bench provider`: run a measurement (aimux_cli.bench, .bench_workers), then show it (aimux_cli.bench_view);
`bench prettify` is in commands/bench_prettify.py.

Output: `rich` (default on a terminal) draws a summary table and, for providers, histograms of TTFT and latency on
stdout; `toon` (default when piped) and `json` write the report `{"meta", "summary", "requests"}`; with
several providers (`-p a -p b`, measured one after the other with the same plan and prompts) the report is
`{"meta", "runs": [one report per provider]}` and the Rich view ends with a table comparing them.
`--output FILE` saves the JSON report as well (atomically, through output.write_file). A progress bar goes to
stderr while requests run, only when stderr is a terminal. The report names the provider and
model, never a key or a URL; error messages are scrubbed of secrets. A failed request is a sample with its category;
the summary and every view show the first message of each category.

Prompts: one (--prompt, --prompt-file, or the default), a dataset (--dataset: JSONL or ShareGPT) or synthetic ones
of about N tokens (--input-tokens N[:STD]); see bench_inputs. `--ignore-eos` asks an openai.chat server (vLLM,
SGLang) for exactly --max-tokens tokens (`ignore_eos`, `min_tokens`); other wires have no such field: exit 2.

Exit codes: 0 when at least one request completed; when none did, the code of the most frequent failure (5 auth,
6 rate limit, 7 provider, 8 network, 9 incomplete). A failed warm-up request stops the run before anything is
measured, with its message and its category's code. Ctrl-C prints the report of the requests that finished, then
exits 130. Bad options exit 2 (so does a --concurrency that the open-file limit cannot hold, see
bench.fit_descriptors), configuration problems 3, unreadable inputs 4, an unwritable --output 1.

`--log` writes one row per measured request to the exchange log once the run is over (health_log; the raw response
bytes only with `--log-bodies`); a log that cannot be written is one warning, never a different exit code.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aimux_cli import __version__
from aimux_cli.bench_view import finish, progress_bar
from aimux_cli.errors import AimuxError, ExitCode, InputError, UsageError

DEFAULT_PROMPT = ("Write a story of about 300 words about a lighthouse keeper who finds a message in a bottle.")
DEFAULT_MAX_TOKENS = 256
MAX_PROMPTS = 10_000  # distinct prompts prepared for a run of unknown length (--duration); used in turn
DEFINITIONS = {
    "ttft": "from the request's start, before a connection is looked for or made (connect time included, as in "
            "vLLM and guidellm), to the first chunk that carries answer or reasoning text (a role-only or empty "
            "first chunk does not count)",
    "e2e": "from the request's start to the last body byte",
    "connect": "TCP (and TLS) set-up of a new connection, per request that opened one",
    "tpot": "(E2E - TTFT) / (output tokens - 1)",
    "itl": "gaps between consecutive text-carrying chunks, pooled over requests",
    "goodput": "completed requests meeting every objective given, per second (vLLM's definition)",
}


@dataclass
class ProviderOptions:
    provider: str | list[str] | None  # one name, or several measured in turn (-p a -p b)
    model: str | None = None
    requests: int | None = None
    duration: float | None = None
    concurrency: int | None = None
    rate: float | None = None
    prompt: str | None = None
    prompt_file: str | None = None
    max_tokens: int | None = None  # None: a ShareGPT entry's own length, else DEFAULT_MAX_TOKENS
    warmup: int = 1
    seed: int | None = None
    output: str | None = None
    fmt: str | None = None
    color: bool | None = None
    log: bool = False  # one log row per measured request, written after the run (health_log)
    log_bodies: bool = False  # with the raw response bytes
    processes: str | None = None  # N or "auto" (bench_workers)
    loop: str = "auto"  # auto | asyncio | uvloop
    goodput: list[str] = field(default_factory=list)  # "ttft:500 tpot:50", "e2e:10000"
    dataset: str | None = None
    input_tokens: str | None = None  # N or N:STD
    ignore_eos: bool = False
    html: str | None = None  # also write the report as an HTML page (bench_report.html)


# --- bench provider ---

def run_provider(opts: ProviderOptions) -> int:
    from aimux_cli import bench_workers
    from aimux_cli.bench_stats import parse_slos
    from aimux_cli.render.console import TerminalEnv

    names = _names(opts)
    if opts.log_bodies and not opts.log:
        raise UsageError("--log-bodies needs --log")
    plan = _fit(_plan(opts))
    try:
        slos = parse_slos(opts.goodput)
    except ValueError as exc:
        raise UsageError(f"--goodput {exc}") from None
    try:
        processes = bench_workers.processes_for(opts.processes, plan)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if opts.processes not in (None, "auto") and processes < int(opts.processes):
        from aimux_cli.present import warn

        warn(f"--processes {opts.processes}: {processes} used, as no more requests than that are in flight or asked")
    try:
        bench_workers.loop_factory(opts.loop)
    except ImportError:
        raise UsageError("--loop uvloop: uvloop is not installed (pip install 'aimux[fast]')") from None
    if opts.log and processes > 1:
        raise UsageError("--log works with one process: drop --processes or --log")
    prompts, source = _prompts(opts, plan)
    env = TerminalEnv.detect(color_flag=opts.color)
    reports: list[dict[str, Any]] = []
    for name in names:
        report, interrupted = _measure_one(name, opts, plan, prompts, source, slos, processes, env, len(names))
        reports.append(report)
        if interrupted:
            break
    if len(reports) == 1:
        from aimux_cli.bench_view import provider_view

        report, view = reports[0], provider_view
    else:
        from aimux_cli.bench_view import comparison_view

        report, view = _combined(reports, names), comparison_view
    try:
        finish(report, opts.output, opts.fmt, env, view)
    finally:
        if opts.html:
            _html(report, opts.html)
    return _exit(reports)


def _html(report: dict[str, Any], path: str) -> None:
    try:
        from aimux_cli.bench_report.html import save
    except ImportError:  # the HTML report's module is not there (yet)
        raise UsageError("--html: this aimux cannot write HTML reports") from None
    save(report, path)


def _names(opts: ProviderOptions) -> list[str | None]:
    given = opts.provider if isinstance(opts.provider, list) else [opts.provider]
    # -p a -p b, or -p a,b as ask takes it
    names: list[str | None] = [n.strip() for g in given if g for n in g.split(",") if n.strip()] or [None]
    if len(set(names)) < len(names):
        raise UsageError("a provider is named twice in -p")
    return names


def _measure_one(name: str | None, opts: ProviderOptions, plan, prompts: list, source: dict, slos: dict,
                 processes: int, env, of: int) -> tuple[dict[str, Any], bool]:
    """Measure one provider: its report, and whether Ctrl-C ended it."""
    from aimux_cli import bench_request, bench_workers
    from aimux_cli.bench_stats import summarize
    from aimux_cli.config import resolve

    resolved = resolve(name, {"model": opts.model} if opts.model else None)
    prepared = [_prepared(resolved, p, opts) for p in prompts]
    job = bench_workers.Job(tuple(prepared), resolved.wire, plan, resolved.timeout, opts.loop)
    log = (bench_request.LOG_BODIES if opts.log_bodies else bench_request.LOG_ROWS) if opts.log else 0
    label = "bench" if of == 1 else f"bench {resolved.name}"
    try:
        with _progress(env, plan, label) as on_sample:
            result, client = bench_workers.measure(job, processes, on_sample, log=log)
    except KeyboardInterrupt:  # a second Ctrl-C, or one during the warm-up: nothing measured to report
        raise AimuxError("interrupted before a report could be made", exit_code=ExitCode.INTERRUPTED) from None
    if log:  # after the measured phase, in one transaction: the log never sits between a request and its timing
        _log(result.samples, prepared, prompts, resolved)
    first_wave = plan.in_flight() if not plan.rate else plan.concurrency
    meta = {"provider": resolved.name, "model": resolved.model, "wire": resolved.wire,
            "concurrency": plan.in_flight(), "rate": plan.rate, "requests": plan.requests,
            "duration_s": plan.duration, "warmup": plan.warmup,
            "max_tokens": opts.max_tokens if opts.max_tokens or source["kind"] == "dataset" else DEFAULT_MAX_TOKENS,
            "prompt_chars": round(sum(len(p.text) for p in prompts) / len(prompts)),
            "started_at": result.started_at, "interrupted": result.interrupted, "aimux_version": __version__,
            "processes": client["processes"], "loop": client["loop"], "client": client, "prompts": source,
            "ignore_eos": opts.ignore_eos, "definitions": DEFINITIONS}
    summary = summarize(result.samples, result.wall_s, first_wave=first_wave, slos=slos or None)
    return {"meta": meta, "summary": summary, "requests": [s.to_dict() for s in result.samples]}, result.interrupted


def _prepared(resolved, prompt, opts: ProviderOptions):
    import dataclasses

    from aimux_cli.request import build

    max_tokens = opts.max_tokens or prompt.max_tokens or DEFAULT_MAX_TOKENS
    prepared = build(resolved, prompt=prompt.text, max_tokens=max_tokens, stream=True)
    if not opts.ignore_eos:
        return prepared
    if resolved.wire != "openai.chat":
        raise UsageError(f"--ignore-eos: the {resolved.wire} wire has no ignore_eos/min_tokens (openai.chat servers "
                         "such as vLLM and SGLang have)")
    body = {**prepared.json_body, "ignore_eos": True, "min_tokens": max_tokens}
    return dataclasses.replace(prepared, json_body=body)


def _log(samples, prepared: list, prompts: list, resolved) -> None:
    """One log row per request, each with the prompt it was sent (prompts are used in turn by index)."""
    from aimux_cli import health_log, logdb

    rows = []
    for i, req in enumerate(prepared):
        group = [s for s in samples if s.index % len(prepared) == i]
        if group:
            rows += health_log.bench_rows(group, req, resolved.wire, resolved.model, prompts[i].text)
    logdb.record_many(rows)


def _combined(reports: list[dict[str, Any]], names: list) -> dict[str, Any]:
    first = reports[0]["meta"]
    meta = {"providers": [r["meta"]["provider"] for r in reports], "started_at": first["started_at"],
            "aimux_version": __version__,
            "interrupted": any(r["meta"]["interrupted"] for r in reports) or len(reports) < len(names)}
    return {"meta": meta, "runs": reports}


def _exit(reports: list[dict[str, Any]]) -> int:
    last = reports[-1]
    if last["meta"]["interrupted"]:
        done = sum(len(r["requests"]) for r in reports)
        raise AimuxError(f"interrupted: the report covers the {done} requests that had finished",
                         exit_code=ExitCode.INTERRUPTED)
    if any(r["summary"]["completed"] for r in reports):
        return 0
    errors: Counter[str] = Counter()
    for r in reports:
        errors.update({k: v for k, v in r["summary"]["errors"].items() if v})
    if not errors:
        return 0
    from aimux_cli.bench import EXIT_CODES

    return int(EXIT_CODES.get(errors.most_common(1)[0][0], ExitCode.PROVIDER))


def _prompts(opts: ProviderOptions, plan) -> tuple[list, dict[str, Any]]:
    """The prompts used in turn, and what the report says of them: kind, count, approximate tokens."""
    from aimux_cli import bench_inputs as bi

    given = [n for n, v in (("--prompt", opts.prompt), ("--prompt-file", opts.prompt_file),
                            ("--dataset", opts.dataset), ("--input-tokens", opts.input_tokens)) if v is not None]
    if len(given) > 1:
        raise UsageError(f"give one of {' or '.join(given)}, not both")
    wanted = plan.requests + plan.warmup if plan.requests is not None and plan.duration is None else MAX_PROMPTS
    count = min(wanted, MAX_PROMPTS)
    if opts.dataset is not None:
        prompts, kind = bi.load_dataset(opts.dataset, count), "dataset"
    elif opts.input_tokens is not None:
        mean, std = bi.parse_length(opts.input_tokens)
        prompts, kind = bi.synthetic(count, mean, std, opts.seed), "synthetic"
    else:
        prompts, kind = [bi.Prompt(_prompt(opts))], "prompt"
    from aimux_cli.bench_stats import stats

    lengths = [bi.approx_tokens(p.text) for p in prompts]
    return prompts, {"kind": kind, "count": len(prompts), "input_tokens_approx": stats(lengths),
                     "token_method": f"characters / {bi.CHARS_PER_TOKEN}"}


def _fit(plan):
    """`plan`, its requests in flight checked against the open-file limit: an explicit --concurrency that cannot
    fit is refused; the open loop's default pool shrinks to what fits, with a warning."""
    import dataclasses

    from aimux_cli.bench import UNCAPPED_CONNECTIONS, fit_descriptors

    wanted = plan.in_flight() or UNCAPPED_CONNECTIONS
    fits, limit = fit_descriptors(wanted)
    if fits >= wanted:
        return plan
    if plan.concurrency is not None or fits < 1:
        raise UsageError(f"--concurrency {wanted} needs more file descriptors than the open-file limit ({limit}, "
                         f"ulimit -n) allows: use --concurrency {max(fits, 1)} or less, or raise the limit")
    from aimux_cli.present import warn

    warn(f"at most {fits} requests in flight: the open-file limit ({limit}, ulimit -n) allows no more")
    return dataclasses.replace(plan, concurrency=fits)


def _plan(opts: ProviderOptions):
    from aimux_cli.bench import Plan

    if opts.requests is not None and opts.duration is not None:
        raise UsageError("give --requests or --duration, not both")
    for name, value in (("--requests", opts.requests), ("--concurrency", opts.concurrency),
                        ("--duration", opts.duration), ("--rate", opts.rate), ("--max-tokens", opts.max_tokens)):
        if value is not None and value <= 0:
            raise UsageError(f"{name} must be positive")
    if opts.warmup < 0:
        raise UsageError("--warmup cannot be negative")
    requests = opts.requests if opts.requests is not None or opts.duration is not None else 10
    return Plan(requests=requests, duration=opts.duration, concurrency=opts.concurrency, rate=opts.rate,
                warmup=opts.warmup, seed=opts.seed)


def _prompt(opts: ProviderOptions) -> str:
    if opts.prompt_file is None:
        return opts.prompt if opts.prompt is not None else DEFAULT_PROMPT
    from aimux_cli.inputs import decode_utf8, read_source

    text = decode_utf8(read_source(opts.prompt_file))
    if not text.strip():
        raise InputError(f"{opts.prompt_file}: empty prompt")
    return text


@contextlib.contextmanager
def _progress(env, plan, label: str = "bench") -> Iterator[Any]:
    """A Rich progress bar on stderr when it is a terminal; yields the per-sample callback (None otherwise)."""
    total = None if plan.duration is not None else plan.requests
    with progress_bar(env, label, total, "failed {task.fields[failed]}", failed=0) as advance:
        if advance is None:
            yield None
            return
        failed = 0

        def on_sample(sample) -> None:
            nonlocal failed
            failed += not sample.ok
            advance(failed=failed)

        yield on_sample
