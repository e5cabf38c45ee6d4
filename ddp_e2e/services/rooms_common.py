"""Shared pieces of the room services: published fields, subscription documents, events, hooks.

Why here: creation, membership and settings all insert subscriptions with Rocket.Chat's field
names, announce every change on ``<uid>/subscriptions-changed`` / ``<uid>/rooms-changed`` and run
the join hooks other features register (the E2EE key queue). Keeping those steps in one place
means no path can forget one of them.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo.errors import DuplicateKeyError

from .access import member_ids
from .notify import room_changed, subscription_changed

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("ddp_e2e.rooms")

#: Rocket.Chat's ``subscriptionFields`` (apps/meteor/lib/publishFields.ts) plus the 7.x key fields.
SUBSCRIPTION_FIELDS = (
    "t", "ts", "ls", "lr", "name", "fname", "rid", "code", "f", "u", "open", "alert", "roles",
    "unread", "prid", "userMentions", "groupMentions", "archived", "audioNotificationValue",
    "desktopNotifications", "mobilePushNotifications", "emailNotifications", "desktopPrefOrigin",
    "mobilePrefOrigin", "emailPrefOrigin", "unreadAlert", "_updatedAt", "blocked", "blocker",
    "autoTranslate", "autoTranslateLanguage", "disableNotifications", "hideUnreadStatus",
    "hideMentionStatus", "muteGroupMentions", "ignored", "E2EKey", "E2ESuggestedKey", "oldRoomKeys",
    "suggestedOldRoomKeys", "encrypted", "tunread", "tunreadGroup", "tunreadUser",
)

#: Rocket.Chat's ``roomFields`` (what ``rooms/get`` and the room events carry).
ROOM_FIELDS = (
    "name", "fname", "t", "cl", "u", "lm", "teamId", "teamMain", "topic", "announcement",
    "announcementDetails", "muted", "unmuted", "_updatedAt", "archived", "description", "default",
    "customFields", "lastMessage", "retention", "prid", "avatarETag", "usersCount", "msgs", "tags",
    "code", "joinCodeRequired", "open", "ro", "reactWhenReadOnly", "sysMes", "streamingOptions",
    "broadcast", "encrypted", "e2eKeyId", "ts", "federated", "usernames", "uids",
    "usersWaitingForE2EKeys", "featured",
)

#: ``API.v1.defaultFieldsToExclude``: never in a REST room answer.
REST_EXCLUDED_ROOM_FIELDS = ("joinCode", "members", "importIds", "e2e")

#: Rocket.Chat keeps deleted documents here so ``*/get`` with a date can report removals.
TRASH = "rocketchat__trash"

USER_PROJECTION = {"username": 1, "name": 1, "roles": 1, "active": 1}


def _project(doc: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    out = {"_id": doc["_id"]}
    out.update((k, doc[k]) for k in fields if k in doc)
    return out


def publish_room(room: dict[str, Any]) -> dict[str, Any]:
    """The room as clients receive it (``roomFields``)."""
    return _project(room, ROOM_FIELDS)


def publish_subscription(sub: dict[str, Any]) -> dict[str, Any]:
    """The subscription as clients receive it (``subscriptionFields``)."""
    return _project(sub, SUBSCRIPTION_FIELDS)


def rest_room(room: dict[str, Any]) -> dict[str, Any]:
    """A room for a REST answer: the stored document minus the fields REST never shows."""
    return {k: v for k, v in room.items() if k not in REST_EXCLUDED_ROOM_FIELDS}


async def load_user(app: App, user_id: str | None) -> dict[str, Any] | None:
    if not user_id:
        return None
    return await app.store.users.find_one({"_id": user_id}, USER_PROJECTION)


def user_ref(user: dict[str, Any], *, with_name: bool = True) -> dict[str, Any]:
    """``{_id, username[, name]}`` as Rocket.Chat embeds a user in rooms and subscriptions."""
    out = {"_id": user["_id"], "username": user.get("username")}
    if with_name and user.get("name"):
        out["name"] = user["name"]
    return out


def subscription_doc(app: App, room: dict[str, Any], user: dict[str, Any], now: datetime,
                     **extra: Any) -> dict[str, Any]:
    """``Subscriptions.createWithRoomAndUser``: defaults, room mirror fields, then ``extra``."""
    doc: dict[str, Any] = {
        "_id": app.random.id(), "open": False, "alert": False, "unread": 0, "userMentions": 0,
        "groupMentions": 0, "ts": now, "rid": room["_id"], "name": room.get("name"),
        "fname": room.get("fname"), "t": room["t"], "u": user_ref(user),
    }
    if room.get("prid"):
        doc["prid"] = room["prid"]
    if "encrypted" in room:
        doc["encrypted"] = room["encrypted"]
    doc.update(extra)
    doc["_updatedAt"] = now
    return doc


async def insert_subscription(app: App, sub: dict[str, Any]) -> bool:
    """Insert and announce ``inserted``; False when the user was already subscribed (a race)."""
    try:
        await app.store.subscriptions.insert_one(dict(sub))
    except DuplicateKeyError:
        return False
    subscription_changed(app, "inserted", publish_subscription(sub))
    return True


async def delete_subscription(app: App, sub: dict[str, Any]) -> None:
    """Remove, keep a trash record for ``subscriptions/get`` and announce ``removed``."""
    result = await app.store.subscriptions.delete_one({"_id": sub["_id"]})
    if not result.deleted_count:
        return
    now = app.now()
    await app.store.collection(TRASH).replace_one(
        {"_id": sub["_id"]},
        {"_id": sub["_id"], "__collection__": "rocketchat_subscription", "_deletedAt": now,
         "rid": sub["rid"], "u": sub["u"]},
        upsert=True,
    )
    subscription_changed(app, "removed", publish_subscription({**sub, "_updatedAt": now}))


async def announce_room(app: App, action: str, rid: str) -> dict[str, Any] | None:
    """``rooms-changed`` with the current room to every member."""
    room = await app.store.rooms.find_one({"_id": rid})
    if room is None:
        return None
    room_changed(app, action, publish_room(room), await member_ids(app, rid))
    return room


async def run_hooks(app: App, name: str, room: dict[str, Any], user_id: str) -> None:
    """Run ``app.extensions[name]`` hooks (``after_join_room``, ``after_leave_room``).

    Rocket.Chat runs ``afterJoinRoom`` after the join has been committed and a failing callback
    does not undo it, so a hook's exception is logged and the next hook still runs.
    """
    for hook in list(app.extensions.get(name, ())):
        try:
            await hook(app, room, user_id)
        except Exception:
            log.exception("room hook failed", extra={"hook": name, "rid": room["_id"], "uid": user_id})
