"""The network side: mutated stream bytes fed chunk by chunk through `aimux ask`'s Pump and StreamFolder.

Contract: `run_case(data, rng)` -> a list of harness `Failure`s. The body is cut into random chunk sizes (as TCP
delivers it) and pumped as `ask` pumps a response (commands/ask.py: `Pump.feed` per chunk, `Pump.close(complete)`),
with the text view writing to an in-memory stdout; then the document is encoded as `ask -f toon|json` would. No
network, no client: what is exercised is everything after the bytes arrive. As in `ask`, the wire is known in
advance (the provider's): the seed's own wire most of the time, else any wire (a provider configured wrongly).
Errors that `ask` turns into one line (`streams.StreamError`, any `AimuxError`) are fine, but `ask -f text` owes
the first choice's text decoded before a corrupt point; any other exception is a failure with its crash site.
"""

from __future__ import annotations

import inspect
import random
import time

from .harness import Failure, captured, check, Run


def _chunks(data: bytes, rng: random.Random):
    at = 0
    while at < len(data):
        size = rng.choice((1, 2, 3, 7, 64, 1000, 65536))
        yield data[at:at + size]
        at += size


def pump(data: bytes, rng: random.Random, *, complete: bool, api: str) -> None:
    """Feed `data` as `ask` feeds a response body, then build and encode the document."""
    from aimux_cli import wire as wires
    from aimux_cli.commands.ask import Pump, View
    try:
        from aimux_cli.present import dumps_json
    except ImportError:  # before presenting moved out of commands/prettify.py
        from aimux_cli.commands.prettify import dumps_json
    from aimux_cli.render.console import TerminalEnv
    from aimux_cli.render.text import render_text
    from aimux_cli.toon import encode

    env = TerminalEnv.detect()
    view = View("text", env)
    folder = wires.StreamFolder(api=api, provider="fuzz")
    p = Pump(folder, view)
    for chunk in _chunks(data, rng):
        p.feed(chunk)
    p.close(complete=complete)
    doc = p.document()
    if len(inspect.signature(view.close).parameters):  # ask.run: view.close(doc) once the body is done
        view.close(doc)
    else:
        view.close()
    if doc is not None:
        data = doc.to_dict()
        encode(data)
        dumps_json(data)
        render_text(data)


def run_case(data: bytes, rng: random.Random, *, api: str | None = None, expect=(), time_limit: float = 5.0,
             clock=time.process_time) -> list[Failure]:
    """`expect`: the (choice, text) blocks before a corrupt point; `ask -f text` owes choice 0's, when the wire
    is the seed's own."""
    from aimux_cli import streams, wire as wires
    from aimux_cli.errors import AimuxError

    run = Run("ask -f text")
    start = clock()
    with captured(b"") as (out, err):
        try:
            if api is None or rng.random() < 0.2:
                api, expect = rng.choice(wires.WIRES), ()
            pump(data, rng, complete=rng.random() < 0.7, api=api)
        except (streams.StreamError, AimuxError) as exc:  # ask: one line and this exit code (a StreamError is 4)
            run.code = int(exc.exit_code)
        except Exception as exc:
            run.exc, run.code = exc, 1
    run.seconds = clock() - start
    run.stdout, run.stderr = out.getvalue(), err.getvalue()
    return check(run, len(data), expect, time_limit)
