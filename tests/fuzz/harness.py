"""One input through `aimux prettify`, in process, in every output format; and the checks that it held.

Contract: `run_case(data, expect=())` -> a list of `Failure` (empty when the input was handled well).

The path is the CLI's: `aimux_cli.commands.prettify.run` with the options `aimux prettify -f FMT` builds, stdin,
stdout and stderr replaced by in-memory files, and the exceptions mapped to exit codes as `aimux_cli.cli.main`
maps them. Only Typer's argument parsing is skipped (it costs milliseconds and cannot see the input). The Rich view
is drawn by the console `TerminalEnv` builds, writing to the in-memory stdout at a fixed width (COLUMNS=100, no
colour).

A run fails on:
- `exception`: an exception escaped (cli.main would print "internal error", exit 1), named by its crash site:
  the exception type and the innermost aimux_cli frame (file:line);
- `exit-1`: exit code 1 without an exception (an output failure on an in-memory stdout is a bug too);
- `traceback`: "Traceback" on stderr;
- `slow`: a run over `TIME_LIMIT` seconds, or for an input over 250 MB, over the time it takes at `MIN_THROUGHPUT`
  (`--follow` reads a stream of any length, at ~100 MB/s: a 583 MB stream is not slow at 6 s, while anything
  quadratic still fails on inputs of a few MB). CPU time of this process by default: other processes on a busy
  machine do not make a case fail; `benchmarks/fuzz.py` uses the wall clock. Runs measured by tracemalloc are not timed:
  it makes allocation-heavy code (Rich) several times slower;
- `memory`: peak memory of the run (tests/fuzz/memory.py: the resident set's high-water mark, else tracemalloc)
  over 10x the input, or over `MEMORY_FLOOR` for small inputs. What the harness itself keeps of stdout is left
  out;
- `bad-output`: `-f json` that is not JSON, `-f toon` that the reference decoder (toon_format) refuses, or the two
  not the same document;
- `changed`: an input that means the same as its seed (a BOM, CR or CRLF line ends) gives another `-f json`;
- `lost-text`: one of `expect` (the text blocks decoded before a corrupt point, as (choice, text)) missing from
  `-f text` output; or one of choice 0's missing from `--follow -f text` (streams go through `FOLLOW` too) or
  from `ask -f text` (tests/fuzz/network.py).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

from .memory import Probe, kind as memory_kind

FORMATS = ("toon", "json", "text", "rich")
FOLLOW = ("text --follow", "rich --follow", "json --follow")  # for streams: the live view of each kind
WIDTH = 100
TIME_LIMIT = 5.0
MIN_THROUGHPUT = 50 * 1000 * 1000  # bytes per second: the time bar of a very large input (see `slow` above)
MEMORY_FACTOR = 10
MEMORY_FLOOR = 6 * 1024 * 1024  # clean fixtures and corpus files peak at 2.6 MiB at most (RSS), in any format
PACKAGE = str(Path(__file__).resolve().parents[2] / "aimux_cli")
ROOT = str(Path(PACKAGE).parent)


class Failure:
    """One way a case failed: `kind`, the crash `site` it is grouped by, and a `detail` line."""

    __slots__ = ("kind", "site", "detail", "fmt")

    def __init__(self, kind: str, site: str, detail: str, fmt: str) -> None:
        self.kind, self.site, self.detail, self.fmt = kind, site, detail, fmt

    def __repr__(self) -> str:
        return f"{self.kind} [{self.fmt}] {self.site}: {self.detail}"


class Run:
    """The result of one format's run."""

    __slots__ = ("fmt", "code", "stdout", "stderr", "exc", "seconds", "peak", "timed")

    def __init__(self, fmt: str) -> None:
        self.fmt, self.code, self.stdout, self.stderr = fmt, 0, "", ""
        self.exc: BaseException | None = None
        self.seconds = 0.0
        self.peak: int | None = None
        self.timed = True  # False when tracemalloc slowed the run down


class _Stdin:
    """Just enough of sys.stdin for inputs.read_source ("-" reads stdin.buffer) and, with `real`, for --follow
    (which reads the file descriptor): then the bytes are in a temporary file."""

    def __init__(self, data: bytes, real: bool = False) -> None:
        if real:
            self.buffer = tempfile.TemporaryFile()
            self.buffer.write(data)
            self.buffer.seek(0)
        else:
            self.buffer = io.BytesIO(data)

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self.buffer.fileno()

    def close(self) -> None:
        self.buffer.close()


class Sink:
    """stdout as a pipe would take it: each write is encoded as UTF-8, strictly (a lone surrogate fails here as it
    would on a real pipe in a UTF-8 locale), and then dropped, unless `keep`: the text formats keep their output
    for the lost-text check, and `size` says how much memory that costs (the memory check leaves it out: a pipe
    would not hold it)."""

    encoding, errors = "utf-8", "strict"

    def __init__(self, keep: bool) -> None:
        self.keep, self.parts, self.size = keep, [], 0
        self.buffer = _SinkBuffer(self)

    def write(self, text: str) -> int:
        text.encode("utf-8")
        if self.keep:
            self.parts.append(text)
            self.size += sys.getsizeof(text)
        return len(text)

    def getvalue(self) -> str:
        return "".join(self.parts)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise io.UnsupportedOperation("fileno")

    def writable(self) -> bool:
        return True


class _SinkBuffer:
    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    def write(self, data: bytes) -> int:
        self.sink.write(bytes(data).decode("utf-8", "surrogateescape"))
        return len(data)

    def flush(self) -> None:
        pass


_ENV = {"COLUMNS": str(WIDTH), "NO_COLOR": "1", "TERM": "dumb"}
_UNSET = ("FORCE_COLOR", "AIMUX_DEBUG")


@contextmanager
def captured(data: bytes, real_stdin: bool = False, keep: bool = True):
    """stdin reads `data`; stdout and stderr are in-memory; the environment fixes width and colour."""
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    saved_env = {k: os.environ.get(k) for k in (*_ENV, *_UNSET)}
    out, err = Sink(keep), io.StringIO()
    os.environ.update(_ENV)
    for key in _UNSET:
        os.environ.pop(key, None)
    stdin = _Stdin(data, real_stdin)
    sys.stdin, sys.stdout, sys.stderr = stdin, out, err
    try:
        yield out, err
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        stdin.close()
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def prettify(data: bytes, fmt: str, *, clock=time.process_time, trace: bool = True) -> Run:
    """`printf DATA | aimux prettify -f FMT`, in process; the exit code as cli.main would give it. More options
    may follow the format: "text --follow" runs `aimux prettify -f text --follow`, "toon --wire gemini.generate"
    forces the wire format (or "none", the generic path)."""
    from aimux_cli import output
    from aimux_cli.commands.prettify import PrettifyOptions, run
    from aimux_cli.errors import AimuxError, ExitCode

    result = Run(fmt)
    probe = Probe() if trace else contextlib.nullcontext()
    start = clock()
    words = fmt.split(" ")
    name, follow = words[0], "--follow" in words
    wire = words[words.index("--wire") + 1] if "--wire" in words else None
    with probe, captured(data, real_stdin=follow, keep=name in ("text", "json", "toon")) as (out, err):
        try:
            result.code = run(PrettifyOptions(files=["-"], fmt=name, follow=follow, wire=wire)) or 0
            output.flush()
        except AimuxError as exc:  # cli.main: one line, the error's code
            err.write(f"aimux: error: {exc}\n")
            result.code = int(exc.exit_code)
        except (output.PipeClosed, BrokenPipeError):
            result.code = 0
        except RecursionError as exc:  # caught apart so that a huge traceback is not kept alive
            result.exc, result.code = exc, int(ExitCode.FAILURE)
        except Exception as exc:  # cli.main: "internal error", exit 1
            result.exc, result.code = exc, int(ExitCode.FAILURE)
    result.seconds = clock() - start
    if trace:
        result.peak = max(0, probe.peak - out.size)
        result.timed = probe.kind != "tracemalloc"
    result.stdout = out.getvalue()
    result.stderr = err.getvalue()
    return result


def crash_site(exc: BaseException) -> str:
    """`Type at aimux_cli/file.py:line` of the innermost aimux_cli frame of the exception's traceback."""
    where = None
    for frame, line in traceback.walk_tb(exc.__traceback__):
        name = frame.f_code.co_filename
        if name.startswith(PACKAGE):
            where = f"{os.path.relpath(name, ROOT)}:{line}"
    return f"{type(exc).__name__} at {where or '(outside aimux_cli)'}"


def check(run: Run, size: int, expect: tuple[tuple[int, str], ...] = (),
          time_limit: float = TIME_LIMIT) -> list[Failure]:
    failures = []
    if run.exc is not None:
        message = " ".join(str(run.exc).split())[:160]
        failures.append(Failure("exception", crash_site(run.exc), message, run.fmt))
    elif run.code == 1:
        failures.append(Failure("exit-1", "exit 1 without an exception", run.stderr.strip()[:160], run.fmt))
    if "Traceback" in run.stderr:
        failures.append(Failure("traceback", "Traceback on stderr", run.stderr[:160], run.fmt))
    if run.seconds > max(time_limit, size / MIN_THROUGHPUT) and run.timed:
        failures.append(Failure("slow", f"slow in -f {run.fmt}", f"{run.seconds:.1f} s for {size} bytes", run.fmt))
    limit = max(MEMORY_FACTOR * size, MEMORY_FLOOR)
    if run.peak is not None and run.peak > limit:
        failures.append(Failure("memory", f"memory in -f {run.fmt}",
                                f"peak {run.peak / 2**20:.1f} MiB for {size} bytes", run.fmt))
    # --follow and ask show one answer as it streams: they owe the text of the first choice at least
    live = run.fmt.endswith("--follow") or run.fmt.startswith("ask")
    wanted = [t for i, t in expect if i == 0 or not live] if run.fmt.startswith(("text", "ask -f text")) else []
    missing = [t for t in wanted if t not in run.stdout] if not run.exc else []
    if missing:
        failures.append(Failure("lost-text", f"lost text (exit {run.code})",
                                f"{len(missing)} of {len(wanted)} text blocks missing, {len(run.stdout)} chars "
                                f"printed: {run.stderr.strip()[:120]}", run.fmt))
    return failures


def run_case(data: bytes, expect: tuple[tuple[int, str], ...] = (), *, formats=FORMATS,
             time_limit: float = TIME_LIMIT, clock=time.process_time, trace=None,
             same_as: bytes | None = None) -> list[Failure]:
    """Every format's run of one input; the failures of all of them. `trace`: measure memory in these formats
    (default: all when the RSS probe works, else only the first, tracemalloc being slow). `same_as`: an input that
    means the same (the seed of a BOM or CRLF mutation), whose `-f json` document this one's must equal."""
    if trace is None:
        trace = formats if memory_kind() == "rss" else formats[:1]
    failures, documents = [], {}
    for fmt in formats:
        run = prettify(data, fmt, clock=clock, trace=fmt in trace)
        failures += check(run, len(data), expect, time_limit)
        if fmt in ("json", "toon") and run.code in (0, 9) and run.exc is None:
            documents[fmt] = run.stdout
        del run
    if len(documents) == 2:
        failures += same_document(documents["json"], documents["toon"])
    if same_as is not None and "json" in formats:
        reference = prettify(same_as, "json", trace=False).stdout
        if documents.get("json", "") != reference:
            failures.append(Failure("changed", "a BOM or CR/CRLF line ends changed the document",
                                    f"-f json: {len(documents.get('json', ''))} chars, {len(reference)} for the "
                                    "original", "json"))
    return failures


def json_only(value) -> None:
    """Drop what only `-f json` writes (docs/document.md): an embeddings document's `vectors` / `other_vectors`,
    also inside a batch's results."""
    docs = [value]
    while docs:
        doc = docs.pop()
        if not isinstance(doc, dict):
            continue
        if doc.get("kind") == "embeddings":
            doc.pop("vectors", None)
            doc.pop("other_vectors", None)
        elif doc.get("kind") == "batch" and isinstance(doc.get("results"), list):
            docs += [r.get("document") for r in doc["results"] if isinstance(r, dict)]


def same_document(as_json: str, as_toon: str) -> list[Failure]:
    """`-f json` and `-f toon` must be the same document (decoded by the reference TOON decoder). A value too deep
    for either decoder is not compared."""
    import json

    import toon_format

    try:
        value = json.loads(as_json)
    except RecursionError:
        return []
    except ValueError as exc:
        return [Failure("bad-output", "-f json is not JSON", str(exc)[:160], "json")]
    json_only(value)
    try:
        decoded = toon_format.decode(as_toon)
    except RecursionError:
        return []
    except Exception as exc:  # the reference decoder's own errors
        if "too deeply" in str(exc):
            return []
        return [Failure("bad-output", "-f toon is not valid TOON", f"{type(exc).__name__}: {exc}"[:160], "toon")]
    if decoded != value:
        return [Failure("bad-output", "-f toon and -f json differ", _first_difference(value, decoded), "toon")]
    return []


def _first_difference(a, b, path: str = "$") -> str:
    if type(a) is not type(b) or not isinstance(a, (dict, list)):
        return f"at {path}: json {a!r:.60} toon {b!r:.60}"
    if isinstance(a, dict):
        if list(a) != list(b):
            return f"at {path}: keys {list(a)[:6]!r:.80} vs {list(b)[:6]!r:.80}"
        pairs = [(f"{path}.{k}", a[k], b[k]) for k in a]
    else:
        if len(a) != len(b):
            return f"at {path}: {len(a)} items vs {len(b)}"
        pairs = [(f"{path}[{i}]", x, y) for i, (x, y) in enumerate(zip(a, b))]
    for where, x, y in pairs:
        if x != y:
            return _first_difference(x, y, where)
    return f"at {path}"
