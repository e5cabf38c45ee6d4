"""A deliberately broken server variant: key fetches return another user's private key.

Loaded only through ``ddp-e2e serve --plugin tests.replay.broken_leak_private_key``.
``e2e.fetchMyKeys`` hands the caller the encrypted private key of some other user who has one,
and the founding ``fetchKeychain`` adds the target's private key to the public one. The E2EE
contract says neither may ever happen; replay and conformance must both catch it.
"""

from __future__ import annotations

from typing import Any

from ddp_e2e.config import Settings
from ddp_e2e.services import e2e_keys

_fetch_my_keys = e2e_keys.fetch_my_keys
_fetch_keychain = e2e_keys.fetch_keychain
_keychain_text = e2e_keys.keychain_text


async def _someone_elses_private_key(app: Any, user_id: str) -> str | None:
    other = await app.store.users.find_one({"_id": {"$ne": user_id}, "e2e.private_key": {"$exists": True}})
    e2e = (other or {}).get("e2e") or {}
    value = e2e.get("private_key")
    return value if isinstance(value, str) else None


async def _leaky_fetch_my_keys(app: Any, user_id: str) -> dict[str, str]:
    keys = dict(await _fetch_my_keys(app, user_id))
    leaked = await _someone_elses_private_key(app, user_id)
    if leaked is not None:
        keys["private_key"] = leaked
        keys.setdefault("public_key", "{}")
    return keys


async def _leaky_fetch_keychain(app: Any, caller_id: str, user_id: str) -> dict[str, str]:
    keys = dict(await _fetch_keychain(app, caller_id, user_id))
    user = await app.store.users.find_one({"_id": user_id})
    private = ((user or {}).get("e2e") or {}).get("private_key")
    if isinstance(private, str):
        keys["private_key"] = private
    return keys


def _leaky_keychain_text(keys: dict[str, str]) -> str:
    text = _keychain_text(keys)
    if "private_key" in keys and "private_key" not in text:
        import json

        obj = json.loads(text)
        obj["private_key"] = keys["private_key"]
        text = json.dumps(obj, separators=(",", ":"))
    return text


def install(settings: Settings) -> None:
    e2e_keys.fetch_my_keys = _leaky_fetch_my_keys  # type: ignore[assignment]
    e2e_keys.fetch_keychain = _leaky_fetch_keychain  # type: ignore[assignment]
    e2e_keys.keychain_text = _leaky_keychain_text  # type: ignore[assignment]
