"""A PreparedRequest as a runnable curl command (`aimux ask --curl`): the same URL, headers and body bytes, shell-quoted
for a POSIX shell, the key never in it.

    curl -sS -N 'https://api.openai.com/v1/chat/completions' \\
      -H 'content-type: application/json' \\
      -H "authorization: Bearer $OPENAI_API_KEY" \\
      --data-raw '{"model":"gpt-4.1-mini","messages":[...],"stream":true}'

The key is a reference the shell expands when the command runs: `"$VAR"` for the provider's key variable when the
key came from it, else `"$(CMD)"` for the config's `api_key_cmd`; a credential that has neither (a secret header
value written in the config file) is shown as [REDACTED], and `notes` says which ones to fill in. The body is the
exact bytes client.py sends (compact JSON), in `--data-raw` or, past 64 KiB (attachments), piped from the shell's
printf into `--data-binary @-` (a program's argument is limited to 128 KiB on Linux); `-N` turns curl's buffering off for a stream. Headers are client.py's
own (exchange_view.sent_headers) but for those curl writes itself (host, content-length, connection,
accept-encoding: curl would not decode a gzip reply it did not ask for with --compressed).
"""

from __future__ import annotations

import os
import shlex

_CURL_OWN = ("host", "content-length", "connection", "accept-encoding")
ARG_LIMIT = 64 * 1024  # bodies up to this size go in --data-raw; larger ones through stdin


def command(prepared, resolved=None) -> tuple[str, list[str]]:
    """-> (the curl command, notes for stderr: credentials that could not be given as a reference)."""
    from aimux_cli.exchange_view import body_bytes, sent_headers
    from aimux_cli.request import REDACTED, is_secret_header

    key = getattr(resolved, "api_key", None)
    ref = key_reference(resolved) if key else None
    notes: list[str] = []
    words = ["curl", "-sS"]
    if prepared.stream:
        words.append("-N")
    if prepared.method != ("GET" if prepared.json_body is None else "POST"):  # what curl does by itself
        words += ["-X", prepared.method]
    lines = [" ".join(words) + " " + _word(prepared.url, key, ref)]
    for name, value in sent_headers(prepared):
        if name in _CURL_OWN or (name == "accept" and value == "*/*"):  # curl sends these itself
            continue
        if key and key in value:
            lines.append("-H " + _word(f"{name}: {value}", key, ref))
        elif is_secret_header(name) and value:
            lines.append("-H " + shlex.quote(f"{name}: {REDACTED}"))
            notes.append(f"the value of header {name} is not shown: put it in place of {REDACTED}")
        else:
            lines.append("-H " + shlex.quote(f"{name}: {value}"))
    body = body_bytes(prepared)
    if body is None:
        return " \\\n  ".join(lines), notes
    data = _word(body.decode("utf-8"), key, ref)
    if len(body) <= ARG_LIMIT:
        return " \\\n  ".join(lines + ["--data-raw " + data]), notes
    # one argument of an exec'd program is at most 128 KiB on Linux: a larger body goes through the shell's own
    # printf (a builtin, not exec'd) into curl's stdin, byte for byte
    return f"printf '%s' {data} |\n" + " \\\n  ".join(lines + ["--data-binary @-"]), notes


def key_reference(resolved) -> str:
    """The shell text that gives the key: "$VAR" when the key variable holds it, else "$(api_key_cmd)"."""
    var = resolved.key_env
    if var and os.environ.get(var, "").strip() == resolved.api_key:
        return f'"${var}"'
    cmd = _key_cmd(resolved.name)
    if cmd:
        return '"$(' + shlex.join(cmd) + ')"'
    return f'"${var or "API_KEY"}"'


def _key_cmd(name: str) -> tuple[str, ...] | None:
    from aimux_cli import config

    try:
        settings = config.load().providers.get(name)
    except Exception:  # the config was read once already to resolve this provider; nothing more to say here
        return None
    return getattr(settings, "api_key_cmd", None) or None


def _word(text: str, key: str | None, ref: str | None) -> str:
    """`text` as one shell word, each occurrence of `key` replaced by the reference `ref` (kept outside quotes)."""
    if not key or ref is None or key not in text:
        return shlex.quote(text)
    pieces = text.split(key)
    return ref.join(shlex.quote(p) if p else "" for p in pieces)
