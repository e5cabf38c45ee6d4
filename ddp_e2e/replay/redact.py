"""Masking secrets in recorded frames.

Recordings get shared in bug reports, so they are redacted by default: passwords and digests,
login and resume tokens, ``X-Auth-Token`` and whole ``services`` objects. The frame stays valid
JSON with the same shape, so a redacted recording still replays: the runner logs in again with a
password the user supplies (``--credentials user=password``, see
:class:`ddp_e2e.replay.rewrite.IdRewriter`) and substitutes the token the new login returns.

Passwords are replaced by :data:`REDACTED`. Tokens are replaced by
``<redacted-token:FINGERPRINT>`` (10 hex digits of their SHA-256): tokens are 256-bit random, so
the fingerprint reveals nothing, and it lets the replay see that the ``resume`` of frame 40 is
the token returned in frame 3.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from .fields import OTP_PARENT_KEYS, PASSWORD_KEYS, SECRET_TREE_KEYS, TOKEN_KEYS

REDACTED = "<redacted>"
TOKEN_PREFIX = "<redacted-token:"

#: Methods whose positional params hold secrets: method name -> {position: "password"|"token"}.
POSITIONAL_SECRETS: dict[str, dict[int, str]] = {
    "resetPassword": {0: "token", 1: "password"},
    "verifyEmail": {0: "token"},
    "changePassword": {0: "password", 1: "password"},
}

#: Substrings that make an unparseable frame suspicious enough to drop its text.
_SUSPICIOUS = ("password", "digest", "token", "resume", "services", "secret", "Token")


def redact_token(value: str) -> str:
    """A token's stable, non-reversible stand-in (idempotent on an already redacted value)."""
    if value.startswith(TOKEN_PREFIX) or value == REDACTED:
        return value
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:10]
    return f"{TOKEN_PREFIX}{digest}>"


def is_redacted(value: Any) -> bool:
    """True for a value that :func:`redact_frame` produced in place of a secret."""
    return isinstance(value, str) and (value == REDACTED or value.startswith(TOKEN_PREFIX))


def redact_frame(direction: str, text: str) -> str:
    """Mask the secrets of one DDP frame; returns ``text`` unchanged when it holds none.

    ``direction`` is "in" (client -> server) or "out". A frame that is not JSON is kept unless it
    contains a secret-looking word, in which case only a placeholder is kept: we cannot tell
    what to mask in text we cannot parse, and leaking is worse than losing a broken frame.
    """
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError:
        if any(word in text for word in _SUSPICIOUS):
            return orjson.dumps(f"{REDACTED} unparseable frame of {len(text)} characters").decode()
        return text
    changed, new = _redact(obj, None)
    if isinstance(new, dict) and direction == "in" and new.get("msg") == "method":
        changed = _redact_positional(new) or changed
    if not changed:
        return text
    return orjson.dumps(new).decode()


def _redact(value: Any, parent_key: str | None) -> tuple[bool, Any]:
    if isinstance(value, dict):
        changed = False
        out: dict[str, Any] = {}
        for key, item in value.items():
            new: Any = item
            if key in SECRET_TREE_KEYS:
                new = _mask_tree(item)
            elif key in PASSWORD_KEYS and isinstance(item, str):
                new = REDACTED
            elif key == "code" and parent_key in OTP_PARENT_KEYS and isinstance(item, str):
                new = REDACTED
            elif key in TOKEN_KEYS and isinstance(item, str):
                new = redact_token(item)
            else:
                sub_changed, new = _redact(item, key)
                changed = changed or sub_changed
            changed = changed or new != item
            out[key] = new
        return changed, out
    if isinstance(value, list):
        changed = False
        items = []
        for item in value:
            sub_changed, new = _redact(item, parent_key)
            changed = changed or sub_changed
            items.append(new)
        return changed, items
    return False, value


def _mask_tree(value: Any) -> Any:
    """Keep the shape (keys, list lengths, numbers, dates), mask every string."""
    if isinstance(value, dict):
        return {k: _mask_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_tree(v) for v in value]
    if isinstance(value, str):
        return REDACTED
    return value


def _redact_positional(message: dict[str, Any]) -> bool:
    positions = POSITIONAL_SECRETS.get(message.get("method"))  # type: ignore[arg-type]
    params = message.get("params")
    if not positions or not isinstance(params, list):
        return False
    changed = False
    for index, kind in positions.items():
        if index < len(params) and isinstance(params[index], str):
            new = redact_token(params[index]) if kind == "token" else REDACTED
            changed = changed or new != params[index]
            params[index] = new
    return changed
