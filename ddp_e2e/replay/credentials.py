"""The passwords a replay logs in again with when the recording's were redacted."""

from __future__ import annotations

from pathlib import Path

import orjson

from .errors import ReplayAborted

_DEMO_USERS = ("alice", "bob", "carol", "dave", "admin")


def default_credentials(fixtures: str | Path | None = None) -> dict[str, str]:
    """Passwords to log in again with when no ``--credentials`` are given.

    The demo workspace's users have the password ``<name>-pass``; a fixtures file (a users JSON
    with plaintext ``password`` fields, as in fixtures/demo/users.json) adds its own users, by
    username and by e-mail address.
    """
    creds = {name: f"{name}-pass" for name in _DEMO_USERS}
    creds.update({f"{name}@example.com": f"{name}-pass" for name in _DEMO_USERS})
    if fixtures is None:
        return creds
    path = Path(fixtures)
    if path.is_dir():
        path = path / "users.json"
    try:
        users = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ReplayAborted(f"cannot read credentials from {path}: {exc}") from None
    for user in users if isinstance(users, list) else []:
        password = user.get("password") if isinstance(user, dict) else None
        if not isinstance(password, str):
            continue
        if isinstance(user.get("username"), str):
            creds[user["username"]] = password
        for email in user.get("emails") or []:
            if isinstance(email, dict) and isinstance(email.get("address"), str):
                creds[email["address"]] = password
    return creds
