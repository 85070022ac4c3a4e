"""Configuration: the TOML config file + the environment -> one ResolvedProvider. Read once per process.

File: `$AIMUX_CONFIG` when set and non-empty, else `$XDG_CONFIG_HOME/aimux/config.toml` (~/.config when unset).
A missing file at the default place is an empty config; a missing `$AIMUX_CONFIG` file is an error.

    default_provider = "groq"
    [providers.groq]                 # a built-in name: overrides that row's fields
    model = "llama-3.1-8b-instant"
    [providers.local]                # a new name: adds a provider (wire and base_url required)
    wire = "openai.chat"
    base_url = "http://127.0.0.1:8080/v1"
    api_key_cmd = ["pass", "show", "local-llm"]   # stdout, stripped, is the key

Keys per table: wire, base_url, api_key_env ("" = no key), api_key_cmd (string split like a shell, or a list),
model, headers (table of strings), timeout (seconds), auth (bearer | x-api-key | x-goog-api-key | none).
The key comes from the api_key_env variable first, then api_key_cmd. Every problem is a ConfigError (exit 3) whose
one-line message names the file, the key and the problem; key values and command output never appear in it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aimux_cli.errors import ConfigError
from aimux_cli.providers import AUTH_STYLES, CATALOG, DEFAULT_AUTH, WIRES, ProviderRow, known_names

DEFAULT_TIMEOUT = 120.0  # seconds; also the longest silence allowed between two chunks of a stream
KEY_CMD_TIMEOUT = 30.0  # seconds; a password manager may wait for an unlock
_TOP_KEYS = ("default_provider", "providers")
_TABLE_KEYS = ("wire", "base_url", "api_key_env", "api_key_cmd", "model", "headers", "timeout", "auth")
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


@dataclass(frozen=True)
class Config:
    """A validated config file."""

    path: Path  # where the config is (or would be) read from
    exists: bool  # whether that file was read
    default_provider: str | None = None
    providers: dict[str, ProviderSettings] = field(default_factory=dict)


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
        raw = path.read_bytes()
    except FileNotFoundError:
        if env.get("AIMUX_CONFIG"):
            raise ConfigError(f"{path}: config file not found (AIMUX_CONFIG points here)") from None
        return Config(path, exists=False)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror or exc}") from None
    import tomllib  # only when there is a file to read

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: config file is not valid UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return parse(data, path)


def parse(data: Mapping[str, Any], path: Path) -> Config:
    """Validate a decoded TOML document; raise ConfigError naming the key and the problem."""
    for key in data:
        if key not in _TOP_KEYS:
            raise ConfigError(f"{path}: unknown key {key!r} (expected one of: {', '.join(_TOP_KEYS)})")
    default = data.get("default_provider")
    if default is not None and not (isinstance(default, str) and default):
        raise ConfigError(f"{path}: default_provider: expected a provider name, got {_kind(default)}")
    tables = data.get("providers", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"{path}: providers: expected a table of [providers.NAME] tables, got {_kind(tables)}")
    providers = {name: _settings(name, table, path) for name, table in tables.items()}
    if default is not None and default not in CATALOG and default not in providers:
        known = ", ".join(known_names(providers))
        raise ConfigError(f"{path}: default_provider: unknown provider {default!r} (known: {known})")
    return Config(path, exists=True, default_provider=default, providers=providers)


def _settings(name: str, table: Any, path: Path) -> ProviderSettings:
    where = f"{path}: providers.{name}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table, got {_kind(table)}")
    for key in table:
        if key not in _TABLE_KEYS:
            raise ConfigError(f"{where}: unknown key {key!r} (expected one of: {', '.join(_TABLE_KEYS)})")
    values = {key: _check(key, table[key], f"{where}.{key}") for key in table}
    settings = ProviderSettings(**values)
    if name not in CATALOG and (settings.wire is None or settings.base_url is None):
        raise ConfigError(f"{where}: a new provider needs both 'wire' and 'base_url'")
    return settings


def _check(key: str, value: Any, where: str) -> Any:
    """Validate one table value and return it in its stored form."""
    if key == "timeout":
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(f"{where}: expected a positive number of seconds, got {_show(value)}")
        return float(value)
    if key == "headers":
        return _check_headers(value, where)
    if key == "api_key_cmd":
        return _check_cmd(value, where)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {_kind(value)}")
    if key == "wire" and value not in WIRES:
        raise ConfigError(f"{where}: unknown wire format {value!r} (expected one of: {', '.join(WIRES)})")
    if key == "auth" and value not in AUTH_STYLES:
        raise ConfigError(f"{where}: unknown auth style {value!r} (expected one of: {', '.join(AUTH_STYLES)})")
    if key == "base_url":
        return _check_url(value, where)
    if key == "model" and not value:
        raise ConfigError(f"{where}: expected a model name, got an empty string")
    return value


def _check_url(value: str, where: str) -> str:
    scheme, _, rest = value.partition("://")
    if scheme not in ("http", "https") or not rest or rest.startswith("/") or any(c.isspace() for c in value):
        raise ConfigError(f"{where}: expected an http:// or https:// URL, got {value!r}")
    if "@" in rest.split("/", 1)[0]:
        # userinfo would be sent as Basic auth instead of the provider's key, and shown wherever the URL is
        raise ConfigError(f"{where}: the URL must not contain credentials (user:password@); "
                          "give the key with api_key_env or api_key_cmd")
    return value.rstrip("/")


def _check_headers(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table of header names to strings, got {_kind(value)}")
    headers = {}
    for name, val in value.items():
        if not name or any(c in name for c in " \t\r\n:") or not name.isascii():
            raise ConfigError(f"{where}: invalid header name {name!r}")
        if not isinstance(val, str) or "\r" in val or "\n" in val:
            raise ConfigError(f"{where}.{name}: expected a one-line string, got {_kind(val)}")
        headers[name.lower()] = val
    return headers


def _check_cmd(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        import shlex

        try:
            argv = shlex.split(value)
        except ValueError as exc:
            raise ConfigError(f"{where}: cannot split the command: {exc}") from None
    elif isinstance(value, list) and all(isinstance(a, str) for a in value):
        argv = list(value)
    else:
        raise ConfigError(f"{where}: expected a command string or a list of strings, got {_kind(value)}")
    if not argv or not argv[0]:
        raise ConfigError(f"{where}: the command is empty")
    return tuple(argv)


def _kind(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array"}
    return "a table" if isinstance(value, dict) else names.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, int | float) and not isinstance(value, bool) else _kind(value)


def rows(config: Config) -> dict[str, ProviderRow]:
    """The catalog with the config's tables applied: overrides for built-in names, additions for new ones."""
    merged = dict(CATALOG)
    for name, s in config.providers.items():
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
        if s.model is not None:
            changes["default_model"] = s.model
        if s.auth is not None:
            changes["auth"] = s.auth
        merged[name] = replace(base, **changes)
    return merged


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
    table = rows(config)
    name = name or config.default_provider
    if not name:
        raise ConfigError(
            f"no provider chosen: use --provider NAME or set default_provider in {config.path} "
            f"(known: {', '.join(sorted(table))})"
        )
    row = table.get(name)
    if row is None:
        raise ConfigError(f"unknown provider {name!r} (known: {', '.join(sorted(table))})")
    settings = config.providers.get(name, ProviderSettings())
    base_url = row.base_url
    if overrides.get("base_url"):
        base_url = _check_url(str(overrides["base_url"]), "--base-url")
    model = overrides.get("model") or row.default_model
    if not model:
        raise ConfigError(f"provider {name} has no default model: use --model or set model in {config.path}")
    timeout = overrides.get("timeout") or settings.timeout or DEFAULT_TIMEOUT
    key = _api_key(name, row, settings, env, config.path)
    return ResolvedProvider(
        name, row.wire, base_url, model, key, dict(row.headers), float(timeout), row.auth, row.key_env, str(config.path)
    )


def _api_key(name: str, row: ProviderRow, s: ProviderSettings, env: Mapping[str, str], path: Path) -> str | None:
    if row.key_env and env.get(row.key_env, "").strip():
        return env[row.key_env].strip()
    if s.api_key_cmd:
        return run_key_cmd(name, s.api_key_cmd)
    if row.key_env:
        raise ConfigError(f"provider {name} needs an API key: set {row.key_env} (or api_key_cmd in {path})")
    return None  # keyless: a local server, or a table with api_key_env = "" and no api_key_cmd


def run_key_cmd(name: str, argv: tuple[str, ...]) -> str:
    """Run a password-manager command and return its stripped stdout; its output never reaches a message."""
    import subprocess  # only for users of api_key_cmd

    where = f"provider {name}: api_key_cmd {argv[0]!r}"
    try:
        done = subprocess.run(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, timeout=KEY_CMD_TIMEOUT, check=False
        )
    except FileNotFoundError:
        raise ConfigError(f"{where}: command not found") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(f"{where}: no answer within {KEY_CMD_TIMEOUT:g} s") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot run: {exc.strerror or type(exc).__name__}") from None
    if done.returncode != 0:
        raise ConfigError(f"{where}: exited with status {done.returncode}")
    key = done.stdout.decode("utf-8", "replace").strip()
    if not key:
        raise ConfigError(f"{where}: printed no key")
    return key
