"""Configuration: the TOML config file + the environment -> one ResolvedProvider. Read once per process.

File: `$AIMUX_CONFIG` when set and non-empty, else `$XDG_CONFIG_HOME/aimux/config.toml` (~/.config when unset).
A missing file at the default place is an empty config; a missing `$AIMUX_CONFIG` file is an error.

    default_provider = "groq"
    log = false                      # ask does not log its exchanges (default true; aimux_cli/logdb.py)
    [providers.groq]                 # a built-in name: overrides that row's fields
    model = "llama-3.1-8b-instant"
    [providers.local]                # a new name: adds a provider (wire and base_url required)
    wire = "openai.chat"
    base_url = "http://127.0.0.1:8080/v1"
    api_key_cmd = ["pass", "show", "local-llm"]   # stdout, stripped, is the key

Keys per table: wire, base_url, api_key_env ("" = no key), api_key_cmd (string split like a shell, or a list),
model, headers (table of strings), timeout (seconds), auth (bearer | x-api-key | x-goog-api-key | none).
test-providers reads checks (a list of check names) and max_ttft_ms, max_latency_ms, min_tps (budgets).
The key comes from the api_key_env variable first, then api_key_cmd (read until the command exits, within
KEY_CMD_TIMEOUT; a background child left holding its stdout is not waited for). A key is registered with
aimux_cli.redact before it is checked, and must be printable ASCII: a line break (a multi-line `pass show`), another
control character or a non-ASCII character is a ConfigError naming the variable or the command. Every problem is a
ConfigError (exit 3) whose one-line message names the file, the key and the problem; key values and command output
never appear in it. URLs (config and --base-url) must be http(s) with a host and a valid port; timeouts finite,
positive, at most a day (config_check.MAX_TIMEOUT). The file's values are checked by config_check.py (imported only
when there is a file to read or a --timeout to check); this module reads the file and resolves a provider.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aimux_cli import redact
from aimux_cli.errors import ConfigError, UsageError
from aimux_cli.providers import CATALOG, DEFAULT_AUTH, ProviderRow, expand_base_url, known_names
from aimux_cli.urlcheck import check_url

DEFAULT_TIMEOUT = 120.0  # seconds; also the longest silence allowed between two chunks of a stream
KEY_CMD_TIMEOUT = 30.0  # seconds; a password manager may wait for an unlock
KEY_CMD_LIMIT = 8192  # bytes of api_key_cmd output, and characters of a key, at most (servers cap a header at 8 KiB)
MAX_CONFIG_BYTES = 64 * 2**20  # a config file this large is a mistake (50,000 providers take 2.2 MB)
# names listed in an "unknown provider" message before "and N more": every built-in provider (14) and a few more
NAMES_SHOWN = 20
_OVERRIDES = ("model", "base_url", "timeout")


@dataclass(frozen=True)
class ProviderSettings:
    """One validated `[providers.NAME]` table; None means "not set here"."""

    wire: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    api_key_cmd: tuple[str, ...] | None = None
    model: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None
    auth: str | None = None
    checks: tuple[str, ...] | None = None  # test-providers: the checks to run (names checked by health.plan)
    max_ttft_ms: float | None = None  # test-providers: latency budgets (aimux_cli/health_budget.py)
    max_latency_ms: float | None = None
    min_tps: float | None = None


@dataclass(frozen=True)
class Config:
    """A validated config file."""

    path: Path  # where the config is (or would be) read from
    exists: bool  # whether that file was read
    default_provider: str | None = None
    providers: dict[str, ProviderSettings] = field(default_factory=dict)
    log: bool = True  # `log = false`: ask does not write the exchange log (aimux_cli/logdb.py)


@dataclass(frozen=True)
class ResolvedProvider:
    """Everything needed to talk to one provider; the key is kept out of repr."""

    name: str
    wire: str
    base_url: str
    model: str
    api_key: str | None = field(repr=False)
    headers: dict[str, str]  # row + config headers, without the auth header
    timeout: float
    auth: str
    key_env: str | None
    config_path: str  # the config file consulted (for messages)


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """Where the config file is: $AIMUX_CONFIG, else aimux/config.toml under the user's config directory."""
    env = os.environ if env is None else env
    if env.get("AIMUX_CONFIG"):
        return Path(env["AIMUX_CONFIG"]).expanduser()
    base = env.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path(env.get("HOME") or Path.home()) / ".config"
    return root / "aimux" / "config.toml"


def load(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate the config file; a missing file at the default place is an empty config."""
    env = os.environ if env is None else env
    path = config_path(env) if path is None else path
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)  # bounded: AIMUX_CONFIG=/dev/zero must not eat the memory
    except FileNotFoundError:
        if env.get("AIMUX_CONFIG"):
            raise ConfigError(f"{path}: config file not found (AIMUX_CONFIG points here)") from None
        return Config(path, exists=False)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: config file larger than {MAX_CONFIG_BYTES // 2**20} MiB")
    import tomllib  # only when there is a file to read

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: config file is not valid UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise ConfigError(f"{path}: invalid TOML: values nested too deeply") from None
    except ValueError:  # an integer beyond Python's digit limit for str -> int
        raise ConfigError(f"{path}: invalid TOML: a number with too many digits") from None
    return parse(data, path)


def parse(data: Mapping[str, Any], path: Path) -> Config:
    """Validate a decoded TOML document (config_check.py); raise ConfigError naming the key and the problem."""
    from aimux_cli.config_check import checked_document  # only when there is a config file

    default, tables, log = checked_document(data, path)
    providers = {name: ProviderSettings(**values) for name, values in tables.items()}
    if default is not None and default not in CATALOG and default not in providers:
        raise ConfigError(f"{path}: default_provider: unknown provider {default!r} (known: {names_line(providers)})")
    return Config(path, exists=True, default_provider=default, providers=providers, log=log)


def rows(config: Config) -> dict[str, ProviderRow]:
    """The catalog with the config's tables applied: overrides for built-in names, additions for new ones."""
    merged = dict(CATALOG)
    for name, s in config.providers.items():
        merged[name] = _apply(name, s)
    return merged


def row(config: Config, name: str) -> ProviderRow | None:
    """The one row `name` of rows(config), without building the others (a config may hold thousands)."""
    settings = config.providers.get(name)
    return CATALOG.get(name) if settings is None else _apply(name, settings)


def names_line(extra: Any = (), shown: int = NAMES_SHOWN) -> str:
    """Known provider names (catalog + `extra`) for a message: the first few, sorted, then "and N more"."""
    names = known_names(extra)
    if len(names) <= shown + 1:
        return ", ".join(names)
    return f"{', '.join(names[:shown])} and {len(names) - shown} more"


def _apply(name: str, s: ProviderSettings) -> ProviderRow:
    base = CATALOG.get(name)
    if base is None:
        wire = s.wire or ""
        base = ProviderRow(name, wire, s.base_url or "", None, "", {}, DEFAULT_AUTH.get(wire, "bearer"))
    changes: dict[str, Any] = {"headers": {**base.headers, **s.headers}}
    if s.wire is not None:
        changes["wire"] = s.wire
        changes["auth"] = DEFAULT_AUTH[s.wire] if name not in CATALOG or base.wire != s.wire else base.auth
    if s.base_url is not None:
        changes["base_url"] = s.base_url
    if s.api_key_env is not None:
        changes["key_env"] = s.api_key_env or None
        changes["key_env_also"] = ()  # the table names its one variable
    if s.model is not None:
        changes["default_model"] = s.model
    if s.auth is not None:
        changes["auth"] = s.auth
    return replace(base, **changes)


_CACHE: dict[tuple, ResolvedProvider] = {}


def clear_cache() -> None:
    """Forget resolved providers (tests; a long-lived process after the config changed)."""
    _CACHE.clear()


def resolve(
    name: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    config: Config | None = None,
) -> ResolvedProvider:
    """The provider `name` (else the config's default_provider) with its model, key, timeout and headers.

    `overrides` may set model, base_url and timeout (the --model, --base-url and --timeout options). With the
    process environment and no explicit config, the result is cached: the config is read and the key command run
    once per process.
    """
    overrides = dict(overrides or {})
    for key in overrides:
        if key not in _OVERRIDES:
            raise ValueError(f"unknown override {key!r}")
    cache_key = (name, tuple(sorted(overrides.items())))
    cacheable = env is None and config is None
    if cacheable and cache_key in _CACHE:
        return _CACHE[cache_key]
    env = os.environ if env is None else env
    config = load(env=env) if config is None else config
    resolved = _resolve(name, overrides, env, config)
    if cacheable:
        _CACHE[cache_key] = resolved
    return resolved


def _resolve(name: str | None, overrides: dict[str, Any], env: Mapping[str, str], config: Config) -> ResolvedProvider:
    name = name or config.default_provider
    if not name:
        raise ConfigError(f"no provider chosen: use --provider NAME or set default_provider in {config.path} "
                          f"(known: {names_line(config.providers)})")
    found = row(config, name)
    if found is None:
        raise ConfigError(f"unknown provider {name!r} (known: {names_line(config.providers)})")
    settings = config.providers.get(name, ProviderSettings())
    base_url = found.base_url
    if overrides.get("base_url") is not None:
        base_url = check_url(str(overrides["base_url"]), "--base-url")
    if "{region}" in base_url:  # AWS Bedrock: the region from AWS_REGION
        from aimux_cli.providers import expand_region

        try:
            base_url = expand_region(base_url, env)
        except ValueError as exc:
            raise ConfigError(f"provider {name}: {exc}") from None
    if "{" in base_url:  # Vertex AI: {project} and {location} from the environment
        try:
            base_url = expand_base_url(base_url, env)
        except ValueError as exc:
            raise ConfigError(f"provider {name}: its base URL needs a project: {exc}") from None
    model = overrides.get("model") or found.default_model
    if not model:
        raise ConfigError(f"provider {name} has no default model: use --model or set model in {config.path}")
    timeout = overrides.get("timeout")
    if timeout is not None:
        from aimux_cli.config_check import check_timeout  # only for a --timeout given

        timeout = check_timeout(timeout, "--timeout", UsageError)
    timeout = timeout or settings.timeout or DEFAULT_TIMEOUT
    key = _api_key(name, found, settings, env, config.path)
    return ResolvedProvider(name, found.wire, base_url, model, key, dict(found.headers), float(timeout), found.auth,
                            found.key_env, str(config.path))


def _api_key(name: str, row: ProviderRow, s: ProviderSettings, env: Mapping[str, str], path: Path) -> str | None:
    for variable in (row.key_env, *row.key_env_also) if row.key_env else ():
        if env.get(variable, "").strip():
            return checked_key(env[variable], f"provider {name}: the API key in {variable}")
    if s.api_key_cmd or row.key_cmd:  # the config's command, else the row's own (Vertex: gcloud)
        return run_key_cmd(name, s.api_key_cmd or row.key_cmd)
    if row.key_env:
        variables = " or ".join((row.key_env, *row.key_env_also))
        raise ConfigError(f"provider {name} needs an API key: set {variables} (or api_key_cmd in {path})")
    return None  # keyless: a local server, or a table with api_key_env = "" and no api_key_cmd


def checked_key(raw: str, where: str, hint: str = "") -> str:
    """`raw` stripped, once registered as a secret and checked to be one line of printable ASCII (what an HTTP
    header can carry); otherwise a ConfigError naming `where` and the problem, never the value."""
    key = raw.strip()
    if len(key) > KEY_CMD_LIMIT:  # never sent, never printed: not worth a place among the secrets
        raise ConfigError(f"{where} is longer than {KEY_CMD_LIMIT} characters: not a key")
    redact.register(key)  # first: whatever happens next, the value is scrubbed from every output
    if key.isascii() and key.isprintable():
        return key
    if "\n" in key or "\r" in key:
        problem = "contains a line break"
    else:
        hint = ""  # the hint is about multi-line output
        if not key.isascii() and all(c.isprintable() for c in key):
            problem = "contains a non-ASCII character"
        else:
            problem = "contains a control character" if key.isascii() else "contains a non-ASCII or control character"
    raise ConfigError(f"{where} {problem}: a key must be one line of printable ASCII{hint}")


def run_key_cmd(name: str, argv: tuple[str, ...]) -> str:
    """Run a password-manager command and return its stripped stdout; its output never reaches a message.

    The output is read until the command itself exits (at most KEY_CMD_TIMEOUT), not until end of file: a
    background child that inherited stdout (`sh -c 'echo key; sleep 60 &'`) is not waited for."""
    where = f"provider {name}: api_key_cmd {argv[0]!r}"
    status, data = _run_for_output(argv, where)
    if len(data) > KEY_CMD_LIMIT:
        raise ConfigError(f"{where}: printed more than {KEY_CMD_LIMIT} bytes, not a key")
    if status != 0:  # what it printed is dropped unread
        raise ConfigError(f"{where}: exited with status {status}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: printed output that is not UTF-8 text") from None
    if not text.strip():
        raise ConfigError(f"{where}: printed no key")
    return checked_key(text, f"{where}: the key it printed",
                       " (a multi-line password entry? print its first line only, e.g. with | head -n 1)")


def _run_for_output(argv: tuple[str, ...], where: str) -> tuple[int, bytes]:
    """(exit status, stdout) of `argv`: stdout is read while it runs and drained once it exited."""
    import subprocess  # only for users of api_key_cmd
    import time

    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    except FileNotFoundError:
        raise ConfigError(f"{where}: command not found") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot run: {exc.strerror or type(exc).__name__}") from None
    except ValueError as exc:  # "embedded null byte": a NUL character in the command
        raise ConfigError(f"{where}: cannot run: {exc}") from None
    chunks: list[bytes] = []
    deadline = time.monotonic() + KEY_CMD_TIMEOUT
    try:
        with proc.stdout:  # type: ignore[union-attr]
            fd = proc.stdout.fileno()  # type: ignore[union-attr]
            os.set_blocking(fd, False)
            while True:
                exited = proc.poll() is not None
                if not _read_available(fd, chunks) or exited:  # end of file, or the command is done
                    break
                if sum(map(len, chunks)) > KEY_CMD_LIMIT:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ConfigError(f"{where}: no answer within {KEY_CMD_TIMEOUT:g} s")
                _wait_readable(fd, min(left, 0.05))
        status = proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        raise ConfigError(f"{where}: no answer within {KEY_CMD_TIMEOUT:g} s") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return status, b"".join(chunks)


def _read_available(fd: int, chunks: list[bytes]) -> bool:
    """Read what the pipe holds now into `chunks`; False at end of file."""
    while True:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return True
        if not data:
            return False
        chunks.append(data)
        if len(data) < 65536:
            return True


def _wait_readable(fd: int, seconds: float) -> None:
    import select

    select.select([fd], [], [], seconds)
