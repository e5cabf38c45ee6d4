"""Room keys: the room's key id and the room key wrapped for each member.

``room.e2eKeyId`` names the room's current key; ``subscription.E2EKey`` is that key wrapped
(RSA-OAEP) for the subscription's user, ``E2ESuggestedKey`` one offered by another member that
waits for the user's accept or reject (rocketchat-e2e.md §1, §2.1, §6.2-§6.6). Nobody can write
another member's ``E2EKey``: a key for someone else always lands in ``E2ESuggestedKey``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pymongo import ReturnDocument

from .access import get_subscription
from .e2e import (
    announce_subscription,
    e2e_error,
    member_subscription,
    notify_rooms,
    notify_subscription,
    stamped,
)
from .e2e_queue import add_user_to_queues, remove_users_from_queue
from .notify import notify_room

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("ddp_e2e.e2e")

#: What another member may learn about a subscription it just wrote a suggestion to.
_OTHERS_VIEW = ("_id", "rid", "u", "E2ESuggestedKey")


async def get_users_of_room_without_key(app: App, user_id: str, rid: str, method: str) -> dict[str, Any]:
    """Members of ``rid`` with no ``E2EKey`` and a public key: ``{users: [{_id, e2e: {public_key}}]}``.

    The caller is listed too when it has no key, as upstream; members holding only a suggestion
    are listed. Only the public key is read (projection), so no private key can leak from here.
    """
    await member_subscription(app, rid, user_id, method)
    subs = await app.store.subscriptions.find({"rid": rid, "E2EKey": {"$exists": False}}, {"u._id": 1}).to_list(None)
    order = [s["u"]["_id"] for s in subs]
    users = await app.store.users.find(
        {"_id": {"$in": order}, "e2e.public_key": {"$exists": True}}, {"e2e.public_key": 1}
    ).to_list(None)
    keys = {u["_id"]: u["e2e"]["public_key"] for u in users if isinstance(u["e2e"].get("public_key"), str)}
    return {"users": [{"_id": uid, "e2e": {"public_key": keys[uid]}} for uid in order if uid in keys]}


async def set_room_key_id(app: App, user_id: str, rid: str, key_id: str, method: str) -> None:
    """Set ``room.e2eKeyId`` once: only a member, only while the room has none.

    The "has none" check and the write are one conditional update, so of two members racing to
    create the first key exactly one wins and the other gets ``error-room-e2e-key-already-exists``
    (spec §6.2).
    """
    await member_subscription(app, rid, user_id, method)
    if await app.store.rooms.find_one({"_id": rid}, {"_id": 1}) is None:
        raise e2e_error("error-invalid-room", method)
    res = await app.store.rooms.update_one(
        {"_id": rid, "e2eKeyId": {"$in": [None, ""]}}, stamped(app, {"$set": {"e2eKeyId": key_id}})
    )
    if not res.modified_count:
        raise e2e_error("error-room-e2e-key-already-exists", method)
    await notify_rooms(app, [rid])
    log.info("room key id set", extra={"user_id": user_id, "rid": rid})


async def _set_own_key(app: App, sub: dict[str, Any], user_id: str, key: str) -> None:
    res = await app.store.subscriptions.update_one({"_id": sub["_id"]}, stamped(app, {"$set": {"E2EKey": key}}))
    if res.modified_count:
        await notify_subscription(app, sub["_id"])
    if await remove_users_from_queue(app, sub["rid"], [user_id]):
        await notify_rooms(app, [sub["rid"]])


async def _suggest(app: App, rid: str, target_id: str, key: str) -> dict[str, Any] | None:
    sub = await app.store.subscriptions.find_one_and_update(
        {"rid": rid, "u._id": target_id}, stamped(app, {"$set": {"E2ESuggestedKey": key}}),
        return_document=ReturnDocument.AFTER,
    )
    if sub is not None:
        announce_subscription(app, sub)
    return sub


async def update_group_key(app: App, user_id: str, rid: str, uid: str, key: str) -> None:
    """``e2e.updateGroupKey``: own key -> ``E2EKey``; another member's -> ``E2ESuggestedKey``.

    As Rocket.Chat since 6.0: a caller without a subscription to ``rid``, or a target without
    one, is a silent no-op (no error, nothing stored).
    """
    mine = await get_subscription(app, rid, user_id) if rid else None
    if mine is None:
        return
    if uid == user_id:
        await _set_own_key(app, mine, user_id, key)
    else:
        await _suggest(app, rid, uid, key)
    log.info("group key updated", extra={"user_id": user_id, "rid": rid, "own": uid == user_id})


async def update_group_e2e_key(app: App, user_id: str, rid: str, uid: str, key: str, method: str) -> dict[str, Any]:
    """The founding ``updateGroupE2EKey``: the same storage rule, and it returns the subscription.

    For the caller's own key the caller's full subscription comes back. For another member only
    what the caller may see comes back (``_id``, ``rid``, ``u`` and the suggestion it just wrote),
    never that member's ``E2EKey`` or old keys. Errors instead of silence (a result is expected):
    ``error-invalid-room`` when the caller is not a member, ``error-user-not-in-room`` when the
    target is not.
    """
    mine = await member_subscription(app, rid, user_id, method)
    if uid == user_id:
        await _set_own_key(app, mine, user_id, key)
        return await app.store.subscriptions.find_one({"_id": mine["_id"]}) or mine
    sub = await _suggest(app, rid, uid, key)
    if sub is None:
        raise e2e_error("error-user-not-in-room", method)
    return {k: sub[k] for k in _OTHERS_VIEW if k in sub}


async def fetch_group_e2e_key(app: App, user_id: str, rid: str, method: str) -> str | None:
    """The founding ``fetchGroupE2EKey``: the caller's own ``E2EKey`` for ``rid``, else its suggestion.

    A founding client has no accept step: another member's key reaches it as the
    ``E2ESuggestedKey`` the current API writes, which it reads here (its own subscription, so
    nothing leaks) and, once it has checked the key opens, stores as its own with
    ``updateGroupE2EKey(rid, self, key)``. Its ``E2EKey`` is never written by anyone else.
    None when neither is set.
    """
    sub = await member_subscription(app, rid, user_id, method)
    for field in ("E2EKey", "E2ESuggestedKey"):
        key = sub.get(field)
        if isinstance(key, str) and key:
            return key
    return None


async def handle_suggested_group_key(app: App, user_id: str, rid: str, action: str, method: str) -> None:
    """Accept or reject the caller's ``E2ESuggestedKey`` (``handleSuggestedGroupKey``).

    Accept: ``E2EKey := E2ESuggestedKey`` (trimmed); ``oldRoomKeys := suggestedOldRoomKeys`` only
    if the subscription had no ``oldRoomKeys``; out of the room's queue. Reject: back into the
    queue. Both: the suggestion is unset and the subscription notified.
    """
    sub = await get_subscription(app, rid, user_id) if rid else None
    if sub is None:
        raise e2e_error("error-subscription-not-found", method)
    raw = sub.get("E2ESuggestedKey")
    suggested = raw.strip() if isinstance(raw, str) else ""
    if not suggested:
        raise e2e_error("error-no-suggested-key-available", method)
    if action == "accept":
        update: dict[str, Any] = {"E2EKey": suggested}
        if not sub.get("oldRoomKeys") and sub.get("suggestedOldRoomKeys"):
            update["oldRoomKeys"] = sub["suggestedOldRoomKeys"]
        await app.store.subscriptions.update_one({"_id": sub["_id"]}, stamped(app, {"$set": update}))
        if await remove_users_from_queue(app, rid, [user_id]):
            await notify_rooms(app, [rid])
    else:
        await notify_rooms(app, await add_user_to_queues(app, [rid], user_id))
    await app.store.subscriptions.update_one(
        {"_id": sub["_id"]}, stamped(app, {"$unset": {"E2ESuggestedKey": 1, "suggestedOldRoomKeys": 1}})
    )
    await notify_subscription(app, sub["_id"])
    log.info("suggested group key handled", extra={"user_id": user_id, "rid": rid, "action": action})


async def request_subscription_keys(app: App, user_id: str) -> bool:
    """``<rid>/e2e.keyRequest [e2eKeyId]`` for each keyed room where the caller has no ``E2EKey``."""
    subs = await app.store.subscriptions.find(
        {"u._id": user_id, "E2EKey": {"$exists": False}}, {"rid": 1}
    ).to_list(None)
    rids = [s["rid"] for s in subs]
    rooms = await app.store.rooms.find(
        {"_id": {"$in": rids}, "e2eKeyId": {"$exists": True}}, {"e2eKeyId": 1}
    ).to_list(None)
    for room in rooms:
        if isinstance(room.get("e2eKeyId"), str) and room["e2eKeyId"]:
            notify_room(app, room["_id"], "e2e.keyRequest", room["e2eKeyId"])
    return True
