"""Shared pytest fixtures. Helpers may append fixtures here; keep each one documented."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from provider_server import ProviderServer


@pytest.fixture
def provider_server() -> Iterator[ProviderServer]:
    """A loopback HTTP server playing providers (tests/provider_server.py); fails the test on unmet expectations."""
    server = ProviderServer().start()
    try:
        yield server
    finally:
        server.close()
    assert not server.errors, f"provider_server saw unexpected requests: {server.errors}"


@pytest.fixture(autouse=True)
def _no_secrets_between_tests() -> Iterator[None]:
    """Each test starts with an empty secret registry (aimux_cli/redact.py) and unguarded stdout/stderr: a key one
    test registered must not hold back or scrub another test's output."""
    yield
    from aimux_cli import redact

    redact.unguard_streams()
    redact.clear()


@pytest.fixture(autouse=True)
def _log_db(tmp_path_factory, monkeypatch) -> Iterator[None]:
    """Every test logs (aimux ask writes aimux_cli/logdb.py's database) into a file of its own, never into the
    user's ~/.local/share; processes the test starts inherit the variable."""
    monkeypatch.setenv("AIMUX_LOG_DB", str(tmp_path_factory.mktemp("logdb") / "logs.db"))
    from aimux_cli import logdb

    logdb._warned = False
    yield


def pytest_collection_finish(session: pytest.Session) -> None:
    """No test module may import locust (or gevent) into the pytest process: locust monkey-patches the standard
    library with gevent for the whole process (subprocess pipes turned non-blocking, signals, exec), which made
    unrelated tests fail or hang. Locust runs in the subprocesses its tests start."""
    import sys

    loaded = [name for name in ("locust", "gevent") if name in sys.modules]
    if loaded:
        raise pytest.UsageError(f"{' and '.join(loaded)} imported while collecting the tests: import it only in "
                                "subprocesses (see tests/test_bench_locust.py)")


def pytest_configure(config: pytest.Config) -> None:
    """A test run started in the background of a non-interactive shell (`nohup … &`, some CI runners) inherits SIGINT
    ignored, and so does every process the tests start: the Ctrl-C tests need Python's default handler (and their
    children the default action), as an interactive run has them."""
    import signal

    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
