"""Joining and leaving rooms: ``addUsersToRoom``, ``removeUserFromRoom``, ``leaveRoom`` and the
default rooms a new user joins.

Sources read: ``addUsersToRoom.ts``, ``addUserToRoom.ts``, ``removeUserFromRoom.ts`` (method and
function), ``leaveRoom.ts``, ``addUserToDefaultChannels.ts``. Where upstream adds users one by one
and may fail half-way, every username is resolved first, so a bad one changes nothing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..ddp.errors import MeteorError
from .access import can_access_room, get_room, get_subscription
from .accounts import find_user
from .rooms_common import (
    announce_room,
    delete_subscription,
    insert_subscription,
    load_user,
    run_hooks,
    subscription_doc,
)
from .rooms_permissions import count_room_role, has_permission
from .system_messages import save_system_message

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("ddp_e2e.rooms")


def _err(code: str, reason: str, method: str) -> MeteorError:
    return MeteorError(code, reason, {"method": method})


def _sanitize_username(username: str) -> str:
    """Mentions arrive as ``@bob``: Rocket.Chat strips one leading ``@``."""
    return username[1:] if username.startswith("@") else username


async def add_user_to_room(
    app: App,
    room: dict[str, Any],
    user: dict[str, Any],
    inviter: dict[str, Any] | None = None,
    *,
    silenced: bool = False,
) -> bool:
    """``addUserToRoom``: subscribe ``user``; False if already a member. Runs the join hooks."""
    if await get_subscription(app, room["_id"], user["_id"]) is not None:
        return False
    now = app.now()
    sub = subscription_doc(app, room, user, now, ts=now, open=True, alert=True, unread=1,
                           userMentions=1, groupMentions=0)
    if not await insert_subscription(app, sub):
        return False
    await app.store.rooms.update_one({"_id": room["_id"]}, {"$inc": {"usersCount": 1}, "$set": {"_updatedAt": now}})
    if silenced:
        await announce_room(app, "updated", room["_id"])
    elif inviter is not None:
        await save_system_message(app, "au", room["_id"], user["username"], user,
                                  {"ts": now, "u": {"_id": inviter["_id"], "username": inviter.get("username")}})
    else:
        await save_system_message(app, "uj", room["_id"], user["username"], user, {"ts": now})
    log.info("user joined room", extra={"rid": room["_id"], "uid": user["_id"]})
    fresh = await get_room(app, room["_id"]) or room
    await run_hooks(app, "after_join_room", fresh, user["_id"])
    return True


async def add_users_to_room(app: App, user_id: str | None, rid: str, usernames: list[str]) -> bool:
    """``addUsersToRoom({rid, users})``: members with the right permission invite others."""
    method = "addUsersToRoom"
    inviter = await load_user(app, user_id)
    if inviter is None:
        raise _err("error-invalid-user", "Invalid user", method)
    room = await get_room(app, rid)
    if room is None:
        raise _err("error-invalid-room", "Invalid room", method)
    if room.get("t") == "d":
        raise _err("error-cant-invite-for-direct-room", "Can't invite user to direct rooms", method)
    in_room = await get_subscription(app, rid, inviter["_id"]) is not None
    allowed = (
        (in_room and await has_permission(app, inviter["_id"], "add-user-to-joined-room", rid))
        or (room["t"] == "c" and await has_permission(app, inviter["_id"], "add-user-to-any-c-room"))
        or (room["t"] == "p" and await has_permission(app, inviter["_id"], "add-user-to-any-p-room"))
    )
    if not allowed:
        raise _err("error-not-allowed", "Not allowed", method)
    users: list[dict[str, Any]] = []
    for username in usernames:
        user = await find_user(app, {"username": _sanitize_username(username)})
        if user is None:
            raise _err("error-user-not-found", "User not found", method)
        if all(u["_id"] != user["_id"] for u in users):
            users.append(user)
    for user in users:
        await add_user_to_room(app, room, user, inviter)
    return True


async def _remove_member(app: App, room: dict[str, Any], user: dict[str, Any], sub: dict[str, Any],
                         message: tuple[str, dict[str, Any]]) -> None:
    """Delete the subscription, fix the room, post ``ru``/``ul``, announce, run leave hooks."""
    await delete_subscription(app, sub)
    rid = room["_id"]
    update: dict[str, Any] = {"$inc": {"usersCount": -1}, "$set": {"_updatedAt": app.now()}}
    if any(w.get("userId") == user["_id"] for w in room.get("usersWaitingForE2EKeys") or ()):
        update["$pull"] = {"usersWaitingForE2EKeys": {"userId": user["_id"]}}
    await app.store.rooms.update_one({"_id": rid}, update)
    await app.store.rooms.update_one({"_id": rid, "usersWaitingForE2EKeys": {"$size": 0}},
                                     {"$unset": {"usersWaitingForE2EKeys": 1}})
    kind, author = message
    await save_system_message(app, kind, rid, user.get("username") or "", author)
    log.info("user left room", extra={"rid": rid, "uid": user["_id"], "how": kind})
    await run_hooks(app, "after_leave_room", await get_room(app, rid) or room, user["_id"])


async def _refuse_last_owner(app: App, rid: str, sub: dict[str, Any], method: str) -> None:
    if "owner" in (sub.get("roles") or ()) and await count_room_role(app, rid, "owner") == 1:
        raise _err("error-you-are-last-owner",
                   "You are the last owner. Please set new owner before leaving the room.", method)


async def remove_user_from_room(app: App, user_id: str | None, rid: str, username: str) -> bool:
    """``removeUserFromRoom({rid, username})``: an owner/moderator (or admin) removes a member."""
    method = "removeUserFromRoom"
    remover = await load_user(app, user_id)
    if remover is None:
        raise _err("error-invalid-user", "Invalid user", method)
    if not await has_permission(app, remover["_id"], "remove-user", rid):
        raise _err("error-not-allowed", "Not allowed", method)
    room = await get_room(app, rid)
    if room is None or room.get("t") not in ("c", "p"):
        raise _err("error-not-allowed", "Not allowed", method)
    kick_any = await has_permission(app, remover["_id"], f"kick-user-from-any-{room['t']}-room")
    if not kick_any and not await can_access_room(app, remover["_id"], rid, room):
        raise MeteorError("error-room-not-found",
                          'The required "roomId" or "roomName" param provided does not match any group')
    removed = await find_user(app, {"username": _sanitize_username(username)})
    sub = await get_subscription(app, rid, removed["_id"]) if removed else None
    if removed is None or sub is None:
        raise _err("error-user-not-in-room", "User is not in this room", method)
    await _refuse_last_owner(app, rid, sub, method)
    await _remove_member(app, room, removed, sub, ("ru", remover))
    return True


async def leave_room(app: App, user_id: str | None, rid: str) -> None:
    """``leaveRoom(rid)``: a member leaves a ``c`` or ``p`` room (direct rooms cannot be left)."""
    method = "leaveRoom"
    user = await load_user(app, user_id)
    if user is None:
        raise _err("error-invalid-user", "Invalid user", method)
    room = await get_room(app, rid)
    if room is None:
        raise _err("error-invalid-room", "Invalid room", method)
    if room.get("t") not in ("c", "p") or not await has_permission(app, user["_id"], f"leave-{room['t']}"):
        raise _err("error-not-allowed", "Not allowed", method)
    sub = await get_subscription(app, rid, user["_id"])
    if sub is None:
        raise _err("error-user-not-in-room", "You are not in this room", method)
    await _refuse_last_owner(app, rid, sub, method)
    await _remove_member(app, room, user, sub, ("ul", user))


async def join_default_rooms(app: App, user_id: str) -> None:
    """``after_user_created`` hook: a new user joins every room marked ``default: true``."""
    user = await load_user(app, user_id)
    if user is None or not user.get("username"):
        return
    rooms = await app.store.rooms.find({"default": True, "t": {"$in": ["c", "p"]}}).to_list(None)
    for room in rooms:
        await add_user_to_room(app, room, user)
