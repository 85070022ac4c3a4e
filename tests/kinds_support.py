"""`aimux prettify -f FMT` in process on some bytes, every format's stdout kept (Rich's too, at the fuzz harness's
fixed width, no colour): for the tests of the other kinds (tests/test_kinds_*.py)."""

from __future__ import annotations

from fuzz.harness import captured


class Result:
    __slots__ = ("code", "stdout", "stderr")

    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.code, self.stdout, self.stderr = code, stdout, stderr


def cli(data: bytes, fmt: str, *, fail: bool = False) -> Result:
    """Like `printf DATA | aimux prettify -f FMT [--follow] [--fail]`; an AimuxError is its exit code."""
    from aimux_cli import output
    from aimux_cli.commands.prettify import PrettifyOptions, run
    from aimux_cli.errors import AimuxError

    name, follow = fmt.split(" ")[0], "--follow" in fmt
    with captured(data, real_stdin=follow, keep=True) as (out, err):
        try:
            code = run(PrettifyOptions(files=["-"], fmt=name, follow=follow, fail=fail)) or 0
            output.flush()
        except AimuxError as exc:
            err.write(f"aimux: error: {exc}\n")
            code = int(exc.exit_code)
    return Result(code, out.getvalue(), err.getvalue())
