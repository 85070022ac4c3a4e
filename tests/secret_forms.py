"""The forms a secret takes in printed text, for tests that grep outputs for a key: `leaks(output, *keys)` lists
the forms found (plain, JSON / Python escaped, escaped twice, percent-encoded, base64 at every alignment).

    from secret_forms import leaks
    assert not leaks(result.stdout + result.stderr, KEY)
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus


def forms(secret: str) -> dict[str, str]:
    """The ways a secret can appear in printed text."""
    data = secret.encode()
    found = {
        "plain": secret,
        "json": json.dumps(secret)[1:-1],
        "json-ascii": json.dumps(secret, ensure_ascii=True)[1:-1],
        "json-slash": json.dumps(secret)[1:-1].replace("/", "\\/"),
        "json-u": "".join(c if c.isalnum() or c in "-_.~" else json.dumps(c)[1:-1] if ord(c) > 0xFFFF
                          else f"\\u{ord(c):04X}" for c in secret),
        "json-twice": json.dumps(json.dumps(secret))[1:-1],
        "repr": repr(secret)[1:-1],
        "bytes-repr": repr(data)[2:-1],
        "url": quote(secret, safe=""),
        "url-path": quote(secret),
        "url-plus": quote_plus(secret),
        "url-lower": "".join(c if len(c) == 1 else c.lower() for c in _percent_pieces(secret)),
    }
    for user in (b"", b"u:", b"us:"):  # base64 of user:key, at every alignment: the characters made of key bits only
        encoded = base64.b64encode(user + data).decode()
        found[f"base64-{len(user)}"] = encoded[-(-len(user) * 8 // 6):(len(user) + len(data)) * 8 // 6]
    return found


def _percent_pieces(secret: str) -> list[str]:
    return [c if c.isalnum() or c in "-_.~" else "".join(f"%{b:02X}" for b in c.encode()) for c in secret]


def leaks(text: str | bytes, *secrets: str) -> list[str]:
    """Which forms of which secrets appear in `text`."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return [f"{name} of {secret!r}" for secret in secrets for name, form in forms(secret).items()
            if len(form) >= 8 and form in text]
