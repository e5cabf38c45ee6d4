"""A user's E2EE key pair: ``users.e2e.public_key`` and ``users.e2e.private_key``.

Both are opaque texts (the public JWK, the password-protected private-key envelope) stored and
returned byte for byte. The encrypted private key is read by exactly one path, the owner's own
``fetchMyKeys``; every other read of a user projects ``e2e.public_key`` only.

The founding API maps onto the same fields (docs/E2EE-API.md, "Founding API"): ``addKeyToChain``
is ``setUserPublicAndPrivateKeys`` without ``force`` (it never overwrites existing keys),
``fetchMyKeys`` returns the same two texts under ``RSA-PubKey``/``RSA-EPrivKey``, ``fetchKeychain``
returns a public key only, and ``emptyKeychain`` is ``resetOwnE2EKey`` without the logout.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from .accounts import remove_all_tokens
from .e2e import e2e_error, force_logout, notify_rooms, notify_subscription, stamped
from .e2e_queue import add_user_to_queues, remove_user_from_all_queues, room_ids_without_key

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("ddp_e2e.e2e")


async def fetch_my_keys(app: App, user_id: str) -> dict[str, str]:
    """``{public_key, private_key}`` of the caller, or ``{}`` without a public key (``fetchKeysByUserId``)."""
    user = await app.store.users.find_one({"_id": user_id}, {"e2e": 1})
    e2e = (user or {}).get("e2e")
    if not isinstance(e2e, dict) or not isinstance(e2e.get("public_key"), str):
        return {}
    out = {"public_key": e2e["public_key"]}
    if isinstance(e2e.get("private_key"), str):
        out["private_key"] = e2e["private_key"]
    return out


def founding_keys(keys: dict[str, str]) -> dict[str, str]:
    """The founding document's names for the same two texts."""
    out = {}
    if "public_key" in keys:
        out["RSA-PubKey"] = keys["public_key"]
    if "private_key" in keys:
        out["RSA-EPrivKey"] = keys["private_key"]
    return out


async def set_user_keys(
    app: App, user_id: str, public_key: str, private_key: str, *, force: bool, method: str
) -> None:
    """Store the caller's key pair, then queue them in their encrypted rooms without a room key.

    Without ``force`` an existing pair (both texts set) is never overwritten:
    ``error-keys-already-set``. The check and the write are one conditional update, so two
    concurrent first uploads cannot both win. Empty texts are ``error-invalid-keys``.
    """
    if not public_key or not private_key:
        raise e2e_error("error-invalid-keys", method)
    query: dict[str, Any] = {"_id": user_id}
    if not force:
        query["$or"] = [{"e2e.public_key": {"$exists": False}}, {"e2e.private_key": {"$exists": False}}]
    res = await app.store.users.update_one(
        query, stamped(app, {"$set": {"e2e.public_key": public_key, "e2e.private_key": private_key}})
    )
    if res.matched_count == 0:
        if await app.store.users.find_one({"_id": user_id}, {"_id": 1}) is None:
            raise e2e_error("error-invalid-user", method)
        raise e2e_error("error-keys-already-set", method)
    queued = await add_user_to_queues(app, await room_ids_without_key(app, user_id), user_id)
    await notify_rooms(app, queued)
    log.info("e2e keys set", extra={"user_id": user_id, "force": force, "queued_rooms": len(queued)})


async def fetch_keychain(app: App, caller_id: str, user_id: str) -> dict[str, str]:
    """``{public_key}`` of ``user_id``, never the private key; ``{}`` when there is none to give.

    A public key is only given to the user themself and to people who share a room with them
    that can be encrypted (a direct room or a private group: the founding client fetched the
    keys of an encrypted room's members; public channels cannot be encrypted and everyone is in
    GENERAL). Anyone else, an unknown user and a user without keys all get ``{}``, so the answer
    does not tell whether the user exists.
    """
    if user_id != caller_id and not await _share_a_room(app, caller_id, user_id):
        return {}
    user = await app.store.users.find_one({"_id": user_id}, {"e2e.public_key": 1})
    pk = ((user or {}).get("e2e") or {}).get("public_key")
    return {"public_key": pk} if isinstance(pk, str) else {}


def keychain_text(keys: dict[str, str]) -> str:
    """The founding ``fetchKeychain`` result: ``JSON.stringify`` of the keychain object.

    Both generations of founding clients parse it: the GSoC prototype reads ``RSA-PubKey``, the
    0.70 development client reads ``public_key``; both carry the same public key text.
    """
    out = {"RSA-PubKey": keys["public_key"], "public_key": keys["public_key"]} if keys else {}
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


async def _share_a_room(app: App, a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are both members of some direct room or private group."""
    mine = await app.store.subscriptions.find({"u._id": a, "t": {"$in": ["d", "p"]}}, {"rid": 1}).to_list(None)
    rids = [s["rid"] for s in mine]
    if not rids:
        return False
    return await app.store.subscriptions.find_one({"u._id": b, "rid": {"$in": rids}}, {"_id": 1}) is not None


async def clear_user_keys(app: App, user_id: str) -> None:
    """Forget a user's key pair and every room key wrapped for it (the wrapped keys are useless
    without the private key): ``$unset users.e2e``; ``$unset E2EKey, E2ESuggestedKey,
    suggestedOldRoomKeys`` on their subscriptions; out of every queue. Each change is notified.
    """
    await app.store.users.update_one({"_id": user_id}, stamped(app, {"$unset": {"e2e": 1}}))
    subs = await app.store.subscriptions.find(
        {"u._id": user_id, "$or": [{"E2EKey": {"$exists": True}}, {"E2ESuggestedKey": {"$exists": True}},
                                  {"suggestedOldRoomKeys": {"$exists": True}}]},
        {"_id": 1},
    ).to_list(None)
    for sub in subs:
        await app.store.subscriptions.update_one(
            {"_id": sub["_id"]},
            stamped(app, {"$unset": {"E2EKey": 1, "E2ESuggestedKey": 1, "suggestedOldRoomKeys": 1}}),
        )
        await notify_subscription(app, sub["_id"])
    await notify_rooms(app, await remove_user_from_all_queues(app, user_id))
    log.info("e2e keys cleared", extra={"user_id": user_id, "subscriptions": len(subs)})


async def reset_user_e2e_key(app: App, user_id: str) -> bool:
    """``resetUserE2EEncriptionKey``: ``force_logout``, keys cleared, every login token removed.

    The caller of ``e2e.resetOwnE2EKey`` keeps its connection until its result is written (see
    methods/e2e.py); every other connection of the user is closed here.
    """
    force_logout(app, user_id)
    await clear_user_keys(app, user_id)
    await remove_all_tokens(app, user_id)
    log.info("e2e key reset", extra={"user_id": user_id})
    return True
