"""`test-providers --log` and `bench provider --log`: their exchanges as rows of the log (aimux_cli/logdb.py).

Both write once the run is over, in one transaction (logdb.record_many): nothing is written while requests are in
flight, so logging neither delays a check nor disturbs bench's timings. A log that cannot be written is one warning
on stderr (logdb); the command's output and exit code stay what they would be without --log.

test-providers: one row per step that sent a request (`models`, `complete`, `stream`), command `test-providers`,
with the step's last request and response (a model list followed over pages logs its last page), the document of
`complete` and `stream`, `total_s` the step's latency, and the exit code of the step's failure (0 when it passed;
a step cut off by the deadline is 8, network). bench: one row per measured request (warm-up requests are not
logged), command `bench`, with the status, response headers, document, TTFT and end-to-end time and the exit code
of its error category; the raw response bytes only with `--log-bodies`, so a long run does not fill the disk.
Rows are built by logdb.entry: credential headers removed, URL without credentials, every field scrubbed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def record(targets: Sequence[Any], results: Sequence[Any]) -> int:
    """Write the steps of test-providers' `results` (health.ProviderResult, in `targets`' order); rows written."""
    from aimux_cli import logdb

    rows = [row for target, result in zip(targets, results) if target.resolved is not None
            for check in result.checks if (row := check_row(target.resolved, check)) is not None]
    return logdb.record_many(rows)


def check_row(resolved: Any, check: Any) -> dict[str, Any] | None:
    """The row of one step, or None when it sent nothing."""
    from aimux_cli import logdb
    from aimux_cli.errors import AimuxError, ExitCode

    seen = check.exchange
    prepared = seen.get("prepared")
    if prepared is None:
        return None
    error = seen.get("error")
    response = seen.get("response")
    source = response if response is not None else error
    raw = _raw(source)
    if raw is None and isinstance(error, AimuxError):
        raw = error.received if error.received is not None else error.body
    if check.status == "pass":
        code = ExitCode.OK
    elif isinstance(error, AimuxError):
        code = error.exit_code
    elif check.category == "timeout":
        code = ExitCode.NETWORK
    else:
        code = ExitCode.FAILURE
    return logdb.entry(command="test-providers", prepared=prepared, wire=resolved.wire, model=resolved.model,
                       prompt=None if check.name == "models" else _prompt(check.name), status=check.http_status,
                       response_headers=getattr(source, "headers", None), raw=raw, doc=seen.get("doc"),
                       ttft_s=None, total_s=_seconds(check.latency_ms), exit_code=int(code))


def bench_rows(samples: Sequence[Any], prepared: Any, wire: str, model: str | None,
               prompt: str | None) -> list[dict[str, Any]]:
    """One row per measured bench request that kept its exchange (bench.run(..., log=...))."""
    from aimux_cli import logdb
    from aimux_cli.bench import EXIT_CODES

    rows = []
    for sample in samples:
        kept = sample.exchange
        if kept is None:
            continue
        code = 0 if sample.ok else int(EXIT_CODES.get(sample.status, 7))
        rows.append(logdb.entry(command="bench", prepared=prepared, wire=wire, model=model, prompt=prompt,
                                status=kept["status"], response_headers=kept["headers"], raw=kept["raw"],
                                doc=kept["doc"], ttft_s=_seconds(sample.ttft_ms), total_s=_seconds(sample.e2e_ms),
                                exit_code=code))
    return rows


def record_bench(samples: Sequence[Any], prepared: Any, wire: str, model: str | None, prompt: str | None) -> int:
    from aimux_cli import logdb

    return logdb.record_many(bench_rows(samples, prepared, wire, model, prompt))


def _raw(source: Any) -> bytes | None:
    if source is None:
        return None
    body = getattr(source, "body", None)  # client.Response
    if isinstance(body, bytes):
        return body
    received = getattr(source, "received", None)  # a stream, or an error that cut one short
    return received if isinstance(received, bytes) else None


def _prompt(check: str) -> str:
    """The prompt a check sent: the capability checks (tools, schema, reasoning) ask their own questions."""
    from aimux_cli.health import PROMPT
    from aimux_cli.health_capabilities import PROMPTS

    return PROMPTS.get(check, PROMPT)


def _seconds(ms: float | int | None) -> float | None:
    return None if ms is None else round(ms / 1000, 6)
