"""The fuzz harness of issue 9: hostile and broken provider responses through `aimux prettify`, in process.

- `seeds.py`    the inputs mutated: every file of fixtures/ and, when beside the clone, ../shared/provider-corpus
                (read in place, never copied), split into events so a mutation can aim at one event.
- `mutate.py`   deterministic mutations (byte flips, truncation, splices, type confusion of well-known keys, deep
                nesting, bad UTF-8, BOM, CR/CRLF, NULs, huge numbers, repeated events, newline floods).
                Some cases are also run with --follow (streams) and with --wire forced (runner.py).
- `shapes.py`   hypothesis strategies for provider-shaped JSON: real key names (read from aimux_cli/wire/*.py)
                holding random types, as bodies and as SSE / NDJSON streams.
- `harness.py`  one input -> `aimux prettify` (commands.prettify.run, as cli.main calls it) in every format, and
                the checks: no exception, no exit 1, CPU time, peak memory, text kept before a corrupt point,
                -f json and -f toon the same document, a BOM or CRLF changing nothing.
- `memory.py`   the peak memory of one run: the resident set's high-water mark (else tracemalloc).
- `network.py`  the same mutated bytes, chunked, through `ask`'s Pump and StreamFolder (no network).
- `runner.py`   case number -> case (deterministic for a seed), running many, grouping failures by crash site.

`tests/fuzz/test_fuzz.py` runs a bounded number of cases with a fixed seed; `benchmarks/fuzz.py` is the long run.
"""
