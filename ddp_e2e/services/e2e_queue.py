"""Who waits for a room key, and the suggestions that answer them (rocketchat-e2e.md §6.4-§6.6).

``room.usersWaitingForE2EKeys`` is a queue of ``{userId, ts}``: at most 50 entries (the newest
are kept), unset when it becomes empty, only ever on encrypted rooms. Members holding the room
key read it with ``e2e.fetchUsersWaitingForGroupKey`` and answer with
``e2e.provideUsersSuggestedGroupKeys``; a suggestion becomes the member's ``E2EKey`` only when the
member accepts it (``e2e_rooms.handle_suggested_group_key``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pymongo import ReturnDocument

from .access import get_subscription
from .e2e import announce_subscription, e2e_enabled, notify_rooms, stamped
from .e2e_shapes import OLD_KEYS_MAX, parse_iso_date
from .notify import notify_room

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("ddp_e2e.e2e")

#: ``$push ... $slice: -50``: the queue holds at most 50 members (spec §1).
QUEUE_LIMIT = 50
#: ``findUsersWithPublicE2EKeyByRids`` lists at most 50 users per room.
USERS_PER_ROOM = 50


async def add_user_to_queues(app: App, rids: Iterable[str], user_id: str) -> list[str]:
    """Queue ``user_id`` in each *encrypted* room of ``rids`` that does not queue it yet.

    Rocket.Chat's ``addUserIdToE2EEQueueByRoomIds``; returns the rooms that changed (the caller
    notifies them). The conditional update makes "not queued yet" and the push one step.
    """
    changed: list[str] = []
    for rid in dict.fromkeys(rids):
        entry = {"userId": user_id, "ts": app.now()}
        res = await app.store.rooms.update_one(
            {"_id": rid, "encrypted": True, "usersWaitingForE2EKeys.userId": {"$ne": user_id}},
            stamped(app, {"$push": {"usersWaitingForE2EKeys": {"$each": [entry], "$slice": -QUEUE_LIMIT}}}),
        )
        if res.modified_count:
            changed.append(rid)
    return changed


async def remove_users_from_queue(app: App, rid: str, user_ids: Iterable[str]) -> bool:
    """``$pull`` the users from one room's queue, then ``$unset`` it if empty; True if it changed."""
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return False
    res = await app.store.rooms.update_one(
        {"_id": rid, "usersWaitingForE2EKeys.userId": {"$in": ids}},
        stamped(app, {"$pull": {"usersWaitingForE2EKeys": {"userId": {"$in": ids}}}}),
    )
    if not res.modified_count:
        return False
    await app.store.rooms.update_one(
        {"_id": rid, "usersWaitingForE2EKeys": {"$size": 0}}, stamped(app, {"$unset": {"usersWaitingForE2EKeys": 1}})
    )
    return True


async def remove_user_from_all_queues(app: App, user_id: str) -> list[str]:
    """Take a user out of every queue (their key was reset); returns the rooms that changed."""
    rooms = await app.store.rooms.find({"usersWaitingForE2EKeys.userId": user_id}, {"_id": 1}).to_list(None)
    return [r["_id"] for r in rooms if await remove_users_from_queue(app, r["_id"], [user_id])]


async def room_ids_without_key(app: App, user_id: str) -> list[str]:
    """Rooms where the user's subscription has no ``E2EKey`` (``getSubscribedRoomIdsWithoutE2EKeys``)."""
    subs = await app.store.subscriptions.find(
        {"u._id": user_id, "E2EKey": {"$exists": False}}, {"rid": 1}
    ).to_list(None)
    return [s["rid"] for s in subs]


async def has_public_key(app: App, user_id: str) -> bool:
    user = await app.store.users.find_one({"_id": user_id, "e2e.public_key": {"$exists": True}}, {"_id": 1})
    return user is not None


async def after_join_room(app: App, room: dict[str, Any], user_id: str) -> None:
    """Rocket.Chat's ``addUserToRoom`` queueing plus its ``afterJoinRoom`` E2EE callback.

    A new member of an encrypted room who already has a public key is queued for the room key
    (when ``E2E_Enable`` is on), and ``<rid>/e2e.keyRequest`` ``[e2eKeyId]`` goes out on
    stream-notify-room when the room has a key id (upstream broadcasts an undefined key id too;
    nothing can be requested for a room without one, so we stay silent there).
    """
    rid = room.get("_id")
    if not isinstance(rid, str):
        return
    current = await app.store.rooms.find_one({"_id": rid}) or room
    if current.get("encrypted") is True and e2e_enabled(app) and await has_public_key(app, user_id):
        sub = await get_subscription(app, rid, user_id)
        if sub is not None and not sub.get("E2EKey"):
            await notify_rooms(app, await add_user_to_queues(app, [rid], user_id))
    key_id = current.get("e2eKeyId")
    if isinstance(key_id, str) and key_id:
        notify_room(app, rid, "e2e.keyRequest", key_id)


async def fetch_users_waiting_for_group_key(
    app: App, user_id: str, room_ids: Iterable[str]
) -> dict[str, list[dict[str, str]]]:
    """``e2e.fetchUsersWaitingForGroupKey``: per room, members that still need the room key.

    As ``findUsersWithPublicE2EKeyByRids``: subscriptions with neither ``E2EKey`` nor
    ``E2ESuggestedKey``, not the caller's, whose user has a public key; at most 50 per room;
    rooms with nobody are left out. Unlike upstream, only rooms the caller is a member of are
    answered (others are skipped silently, as ``provideUsersSuggestedGroupKeys`` skips them).
    """
    if not e2e_enabled(app):
        return {}
    out: dict[str, list[dict[str, str]]] = {}
    for rid in dict.fromkeys(room_ids):
        if not rid or await get_subscription(app, rid, user_id) is None:
            continue
        subs = await app.store.subscriptions.find(
            {"rid": rid, "E2EKey": {"$exists": False}, "E2ESuggestedKey": {"$exists": False},
             "u._id": {"$ne": user_id}},
            {"u._id": 1},
        ).to_list(None)
        order = [s["u"]["_id"] for s in subs]
        users = await app.store.users.find(
            {"_id": {"$in": order}, "e2e.public_key": {"$exists": True}}, {"e2e.public_key": 1}
        ).to_list(None)
        keys = {u["_id"]: u["e2e"]["public_key"] for u in users if isinstance(u["e2e"].get("public_key"), str)}
        entries = [{"_id": uid, "public_key": keys[uid]} for uid in order if uid in keys][:USERS_PER_ROOM]
        if entries:
            out[rid] = entries
    return out


def _old_keys(raw: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """``oldKeys`` as stored: ``ts`` parsed to a date, newest first, at most 10."""
    if not raw:
        return None
    keys = [{"e2eKeyId": k["e2eKeyId"], "ts": parse_iso_date(k["ts"]), "E2EKey": k["E2EKey"]} for k in raw]
    keys.sort(key=lambda k: k["ts"], reverse=True)
    return keys[:OLD_KEYS_MAX]


async def provide_users_suggested_group_keys(
    app: App, user_id: str, suggestions: Mapping[str, list[dict[str, Any]]]
) -> None:
    """``e2e.provideUsersSuggestedGroupKeys``: store each key as the target's ``E2ESuggestedKey``.

    Per room the caller is a member of (others are skipped silently, as upstream): set
    ``E2ESuggestedKey`` (and ``suggestedOldRoomKeys`` when ``oldKeys`` is given) on the target's
    subscription if it exists, notify that subscription, then take the served users out of the
    room's queue and notify the room. Another member's ``E2EKey`` is never written here.
    """
    if not e2e_enabled(app):
        return
    for rid, entries in suggestions.items():
        if not rid or await get_subscription(app, rid, user_id) is None:
            continue
        served: list[str] = []
        for entry in entries:
            update: dict[str, Any] = {"E2ESuggestedKey": entry["key"]}
            old = _old_keys(entry.get("oldKeys"))
            if old:
                update["suggestedOldRoomKeys"] = old
            sub = await app.store.subscriptions.find_one_and_update(
                {"rid": rid, "u._id": entry["_id"]}, stamped(app, {"$set": update}),
                return_document=ReturnDocument.AFTER,
            )
            if sub is None:
                continue
            announce_subscription(app, sub)
            served.append(entry["_id"])
        if await remove_users_from_queue(app, rid, served):
            await notify_rooms(app, [rid])
        log.info("suggested group keys provided",
                 extra={"user_id": user_id, "rid": rid, "targets": len(served), "offered": len(entries)})
