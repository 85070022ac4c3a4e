"""Base URLs, checked before any request: `check_url(value, where)` -> the URL without its trailing slash, or the
error class given (ConfigError by default) with a one-line message naming `where`.

What is refused is what an HTTP client or the resolver would fail on mid-request (an exit 1 instead of a config
error): a scheme other than http(s), credentials in the URL, spaces or control characters, a port outside 1..65535
or not a number, no host, a malformed IP literal (IPv4 with leading zeros or an octet over 255, an unclosed or
invalid IPv6 bracket), an invalid international (IDNA) name, an empty label or one over 63 characters. The common
case (an ASCII host name or a dotted quad, a port, a printable path) is checked with one regular expression, so a
config with thousands of providers loads quickly.
"""

from __future__ import annotations

import re

from aimux_cli.errors import ConfigError


def check_url(value: str, where: str, error: type[Exception] = ConfigError) -> str:
    """An http(s) base URL with a host and a valid port, no credentials, no spaces or control characters; returned
    without its trailing slash. Anything else raises `error` naming `where` (the URL is shown only without userinfo)."""
    fast = _PLAIN_URL.fullmatch(value)
    if fast and _plain_host(fast[1]) and (fast[2] is None or 0 < int(fast[2]) < 65536):
        return value.rstrip("/")  # the common case, checked without urllib (a config may hold thousands)
    from urllib.parse import urlsplit

    scheme, _, rest = value.partition("://")
    authority = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if "@" in authority:
        # userinfo would be sent as Basic auth instead of the provider's key, and shown wherever the URL is
        raise error(f"{where}: the URL must not contain credentials (user:password@); "
                    "give the key with api_key_env or api_key_cmd")
    shown = _shown(value)
    if scheme.lower() not in ("http", "https") or not rest or rest.startswith("/"):
        raise error(f"{where}: expected an http:// or https:// URL, got {shown}")
    if not value.isprintable() or any(c.isspace() for c in value):
        raise error(f"{where}: the URL contains a space or a control character: {shown}")
    if ("[" in authority or "]" in authority) and not _BRACKETED.fullmatch(authority):
        raise error(f"{where}: invalid URL {shown}: brackets must enclose the whole host (an IPv6 address)")
    try:
        parts = urlsplit(value)
        port = parts.port  # raises for a port that is not a number in 0..65535
        host = parts.hostname
    except ValueError as exc:
        raise error(f"{where}: invalid URL {shown}: {exc}") from None
    if not host:
        raise error(f"{where}: the URL has no host: {shown}")
    if port == 0:
        raise error(f"{where}: invalid URL {shown}: the port must be a number from 1 to 65535")
    problem = _host_problem(host, bracketed="[" in authority) or _httpx_problem(value)
    if problem:
        raise error(f"{where}: invalid URL {shown}: {problem}")
    return value.rstrip("/")


def _httpx_problem(value: str) -> str | None:
    """What httpx itself says of an unusual URL (only URLs off the fast path get here; httpx is imported by the
    commands that send anyway), so that no URL passes here and fails when the request is built."""
    try:
        import httpx
    except ImportError:  # pragma: no cover - a dependency
        return None
    try:
        url = httpx.URL(value)
        url.host, url.port, url.raw_host  # noqa: B018 - decoding the host may raise too
    except (httpx.InvalidURL, ValueError, UnicodeError) as exc:  # IDNAError is a UnicodeError
        return " ".join(str(exc).split())[:120] or type(exc).__name__
    return None


# http(s)://host[:port][/path...]: an ASCII host name of letters, digits and hyphens (not an IP literal), printable path
_PLAIN_URL = re.compile(r"https?://([A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.?)(?::([0-9]{1,5}))?(?:[/?#][!-~]*)?")


_BRACKETED = re.compile(r"\[[^\[\]]*\](?::[0-9]*)?")  # an authority with an IP literal: [host] and a port


def _plain_host(host: str) -> bool:
    """A host name of the fast path: a dotted quad of 0..255, or a name that is neither IP-like nor IDNA."""
    if host.rstrip(".").rpartition(".")[2].isdigit():
        parts = host.split(".")
        return len(parts) == 4 and all(p.isdigit() and p == str(int(p)) and int(p) <= 255 for p in parts)
    return len(host) <= 253 and "xn--" not in host.lower()


def _host_problem(host: str, bracketed: bool) -> str | None:
    """Why an HTTP client would refuse `host` (lower-case, without brackets), or None: what httpx and the resolver
    check (IP literals, IDNA labels, label lengths), so that a bad URL is a config error, not a crash mid-request."""
    import ipaddress
    import re

    if bracketed or ":" in host or re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+", host):
        try:
            (ipaddress.IPv6Address if bracketed else ipaddress.ip_address)(host)
        except ValueError:
            return "invalid IP address"
        return None
    labels = host.removesuffix(".").split(".")
    if not host.isascii() or any(label.startswith("xn--") for label in labels):
        try:
            import idna  # httpx's own IDNA codec (installed with it)

            ascii_host = idna.encode(host).decode("ascii")
            idna.decode(ascii_host)
        except ImportError:  # pragma: no cover - httpx brings idna
            ascii_host = host
        except (UnicodeError, ValueError) as exc:  # idna.IDNAError is a UnicodeError
            return f"invalid international host name ({type(exc).__name__})"
        labels = ascii_host.removesuffix(".").split(".")
    if len(host) > 253 or not all(0 < len(label) <= 63 for label in labels):
        return "a host name label is empty or longer than 63 characters"
    return None


def _shown(value: str) -> str:
    """A URL as it may be printed: at most 200 characters (repr keeps control characters inert)."""
    return repr(value if len(value) <= 200 else value[:200] + "…")
