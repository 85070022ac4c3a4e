"""The config file's values checked: a decoded TOML document -> plain validated values, or a one-line ConfigError.

    checked_document(data, path)  -> (default_provider, {name: {key: value}}, log)
    check_timeout(value, where)   -> float seconds (also --timeout, with error=UsageError)

config.py turns the values into its Config and ProviderSettings and resolves a provider from them; this module
imports nothing of config.py, and ask imports it only when there is a config file to read or a --timeout to check.
Each message names the file, the key and the problem, never a value that could be a secret: table keys are checked
against TABLE_KEYS, wire and auth against the catalog's names, base_url as an http(s) URL (urlcheck.py), headers as
RFC 9110 names with printable-ASCII one-line values, api_key_cmd as a command string (split like a shell) or a list,
timeouts as finite positive seconds up to MAX_TIMEOUT, the test-providers budgets by health_budget.check_limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aimux_cli.errors import ConfigError
from aimux_cli.providers import AUTH_STYLES, CATALOG, WIRES
from aimux_cli.urlcheck import check_url

MAX_TIMEOUT = 86400.0  # seconds: a day; larger values overflow some event loops' timers
_TOP_KEYS = ("default_provider", "providers", "log")
_TABLE_KEYS = ("wire", "base_url", "api_key_env", "api_key_cmd", "model", "headers", "timeout", "auth",
               "checks", "max_ttft_ms", "max_latency_ms", "min_tps")  # the last four: test-providers (health.py)


def checked_document(data: Mapping[str, Any], path: Path) -> tuple[str | None, dict[str, dict[str, Any]], bool]:
    """Validate a decoded TOML document: (default_provider, each [providers.NAME] table's checked values, log).
    Whether default_provider names a known provider is config.parse's check (it knows the merged names)."""
    for key in data:
        if key not in _TOP_KEYS:
            raise ConfigError(f"{path}: unknown key {key!r} (expected one of: {', '.join(_TOP_KEYS)})")
    default = data.get("default_provider")
    if default is not None and not (isinstance(default, str) and default):
        raise ConfigError(f"{path}: default_provider: expected a provider name, got {_kind(default)}")
    tables = data.get("providers", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"{path}: providers: expected a table of [providers.NAME] tables, got {_kind(tables)}")
    providers = {name: _table(name, table, path) for name, table in tables.items()}
    log = data.get("log", True)
    if not isinstance(log, bool):
        raise ConfigError(f"{path}: log: expected true or false, got {_kind(log)}")
    return default, providers, log


def _table(name: str, table: Any, path: Path) -> dict[str, Any]:
    where = f"{path}: providers.{name}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table, got {_kind(table)}")
    for key in table:
        if key not in _TABLE_KEYS:
            raise ConfigError(f"{where}: unknown key {key!r} (expected one of: {', '.join(_TABLE_KEYS)})")
    values = {key: _check(key, table[key], f"{where}.{key}") for key in table}
    if name not in CATALOG and (values.get("wire") is None or values.get("base_url") is None):
        raise ConfigError(f"{where}: a new provider needs both 'wire' and 'base_url'")
    return values


def _check(key: str, value: Any, where: str) -> Any:
    """Validate one table value and return it in its stored form."""
    if key == "timeout":
        return check_timeout(value, where, ConfigError)
    if key == "headers":
        return _check_headers(value, where)
    if key == "api_key_cmd":
        return _check_cmd(value, where)
    if key == "checks":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: expected a list of check names, got {_kind(value)}")
        return tuple(value)
    if key in ("max_ttft_ms", "max_latency_ms", "min_tps"):
        from aimux_cli.health_budget import check_limit

        return check_limit(value, where, ConfigError)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {_kind(value)}")
    if key == "wire" and value not in WIRES:
        raise ConfigError(f"{where}: unknown wire format {value!r} (expected one of: {', '.join(WIRES)})")
    if key == "auth" and value not in AUTH_STYLES:
        raise ConfigError(f"{where}: unknown auth style {value!r} (expected one of: {', '.join(AUTH_STYLES)})")
    if key == "base_url":
        return check_url(value, where)
    if key == "model" and not value:
        raise ConfigError(f"{where}: expected a model name, got an empty string")
    return value


def check_timeout(value: Any, where: str, error: type[Exception] = ConfigError) -> float:
    """A timeout in seconds: a finite number, above 0, at most MAX_TIMEOUT (nan, inf and negatives are refused)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:  # `not >`: nan fails too
        raise error(f"{where}: expected a positive number of seconds, got {_show(value)}")
    if not value <= MAX_TIMEOUT:
        raise error(f"{where}: expected at most {MAX_TIMEOUT:g} seconds (a day), got {_show(value)}")
    return float(value)


def _check_headers(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table of header names to strings, got {_kind(value)}")
    headers = {}
    for name, val in value.items():
        if not name or not all(c in _TOKEN for c in name):
            raise ConfigError(f"{where}: invalid header name {name!r}")
        if not isinstance(val, str) or "\r" in val or "\n" in val:
            raise ConfigError(f"{where}.{name}: expected a one-line string, got {_kind(val)}")
        if not _header_safe(val):  # httpx sends header values as ASCII: anything else fails mid-request
            raise ConfigError(f"{where}.{name}: the value must be printable ASCII (no control or non-ASCII "
                              "characters)")
        headers[name.lower()] = val
    return headers


# RFC 9110 token characters: what a header name may be made of
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def _header_safe(value: str) -> bool:
    """Printable ASCII (spaces and tabs allowed inside): what every HTTP client sends as a header value."""
    return value.isascii() and all(c == "\t" or " " <= c <= "~" for c in value)


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
