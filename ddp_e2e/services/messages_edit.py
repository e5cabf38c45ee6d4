"""Editing and deleting messages: Rocket.Chat's ``executeUpdateMessage`` and ``deleteMessage``.

An edit of an encrypted message replaces ``content``/``e2eMentions`` (or the legacy ``msg``) with
the new ciphertext as received. As upstream, there is no encryption-policy check on edits.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ..ddp.errors import MeteorError
from .messages_common import PlainError, can_send_message, has_permission, load_user, setting
from .messages_fanout import after_save_edit, room_members
from .messages_parse import message_urls, resolve_mentions
from .notify import notify_room, room_changed, room_message
from .rooms_common import publish_room

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("ddp_e2e.messages")

#: Upstream's ``allowedEditedFields`` that we accept (alias/avatar/emoji/attachments/customFields
#: need features this server does not emulate, so for them the "must equal the stored value" rule
#: applies).
ALLOWED_EDITED_FIELDS = frozenset({"tshow", "msg", "content", "e2eMentions"})


def _same(new: Any, old: Any) -> bool:
    """JavaScript ``===`` for what a client can send: objects, arrays and Dates are never identical."""
    primitives = (str, int, float, bool, type(None))
    if not isinstance(new, primitives) or not isinstance(old, primitives):
        return False
    return type(new) is type(old) and new == old


def _minutes_since(app: App, ts: Any) -> float:
    return (app.now() - ts) / timedelta(minutes=1) if ts is not None else 0.0


async def execute_update_message(
    app: App, user_id: str, message: dict[str, Any], *, preview_urls: list[str] | None = None
) -> None:
    """Apply an edit; returns nothing, as upstream. An unknown ``_id`` or a no-op edit is ignored."""
    original = await app.store.messages.find_one({"_id": message["_id"]})
    if original is None:
        return
    for key, value in message.items():
        if key not in ALLOWED_EDITED_FIELDS and not _same(value, original.get(key)):
            raise MeteorError("error-invalid-update-key", f"Cannot update the message {key}",
                              {"method": "updateMessage"})
    changes_text = "msg" in message and message["msg"] != original.get("msg")
    changes_e2e = any(k in message and message[k] != original.get(k) for k in ("content", "e2eMentions"))
    changes_tshow = "tshow" in message and message["tshow"] != original.get("tshow")
    if not (changes_text or changes_e2e or changes_tshow or preview_urls):
        return
    rid = original["rid"]
    user = await load_user(app, user_id)
    if user is None:
        raise MeteorError("error-invalid-user", "Invalid user", {"method": "updateMessage"})
    own = (original.get("u") or {}).get("_id") == user_id
    if not await has_permission(app, user, "edit-message", rid) and not (setting(app, "Message_AllowEditing") and own):
        raise MeteorError("error-action-not-allowed", "Message editing not allowed",
                          {"method": "updateMessage", "action": "Message_editing"})
    block = setting(app, "Message_AllowEditing_BlockEditInMinutes")
    if (
        isinstance(block, int | float) and block
        and not await has_permission(app, user, "bypass-time-limit-edit-and-delete", rid)
        and _minutes_since(app, original.get("ts")) >= block
    ):
        raise MeteorError("error-message-editing-blocked", "Message editing is blocked", {"method": "updateMessage"})
    room = await can_send_message(app, rid, user)
    edited = {**original, **{k: message[k] for k in ALLOWED_EDITED_FIELDS if k in message}}
    now = app.now()
    edited["editedAt"] = now
    edited["editedBy"] = {"_id": user["_id"], "username": user.get("username")}
    edited["_updatedAt"] = now
    urls = message_urls(edited, preview_urls)
    if urls is not None:
        edited["urls"] = urls
    edited["mentions"], edited["channels"] = await resolve_mentions(app, edited, original["u"]["_id"])
    update: dict[str, Any] = {"$set": {k: v for k, v in edited.items() if k != "_id"}}
    if "md" in edited:
        update["$unset"] = {"md": 1}
        update["$set"].pop("md", None)
    await app.store.messages.update_one({"_id": original["_id"]}, update)
    stored = await app.store.messages.find_one({"_id": original["_id"]})
    log.info("message edited", extra={"message_id": original["_id"], "rid": rid, "user_id": user_id})
    if stored is not None:
        await after_save_edit(app, stored, room)


async def can_delete_message(app: App, user: dict[str, Any], message: dict[str, Any]) -> bool:
    """Upstream's ``canDeleteMessageAsync`` with the default role grants."""
    rid = message["rid"]
    if await has_permission(app, user, "force-delete-message", rid):
        return True
    if not message.get("ts") or not setting(app, "Message_AllowDeleting"):
        return False
    own = (message.get("u") or {}).get("_id") == user["_id"]
    allowed = await has_permission(app, user, "delete-message", rid) or (
        own and await has_permission(app, user, "delete-own-message", rid)
    )
    if not allowed:
        return False
    block = setting(app, "Message_AllowDeleting_BlockDeleteInMinutes")
    if (
        isinstance(block, int | float) and block
        and not await has_permission(app, user, "bypass-time-limit-edit-and-delete", rid)
    ):
        return _minutes_since(app, message.get("ts")) <= block
    room = await app.store.rooms.find_one({"_id": rid}, {"ro": 1, "unmuted": 1})
    if room is not None and room.get("ro") is True and not await has_permission(app, user, "post-readonly", rid):
        if user.get("username") not in (room.get("unmuted") or []):
            raise PlainError("You can't delete messages because the room is readonly.")
    return True


async def delete_message_validating(app: App, user_id: str, message_id: str) -> dict[str, Any]:
    """``deleteMessageValidatingPermission``: ``error-action-not-allowed`` hides whether it exists."""
    user = await load_user(app, user_id)
    original = await app.store.messages.find_one({"_id": message_id})
    if original is None or user is None or not await can_delete_message(app, user, original):
        raise MeteorError("error-action-not-allowed", "Not allowed")
    await delete_message(app, original, user)
    return original


async def _last_visible(app: App, rid: str) -> dict[str, Any] | None:
    cursor = app.store.messages.find(
        {"rid": rid, "_hidden": {"$ne": True}, "t": {"$ne": "rm"},
         "$or": [{"tmid": {"$exists": False}}, {"tshow": True}]},
    ).sort("ts", -1).limit(1)
    found = await cursor.to_list(1)
    return found[0] if found else None


async def delete_message(app: App, message: dict[str, Any], user: dict[str, Any]) -> None:
    """Remove (or hide, or mark deleted, per settings), tell the room, fix ``lastMessage``/``msgs``."""
    rid, mid, now = message["rid"], message["_id"], app.now()
    messages = app.store.messages
    keep_history = bool(setting(app, "Message_KeepHistory"))
    show_deleted = bool(setting(app, "Message_ShowDeletedStatus"))
    if message.get("tmid"):
        await messages.update_one({"_id": message["tmid"]}, {"$inc": {"tcount": -1}})
    if show_deleted:
        await messages.update_one({"_id": mid}, {
            "$set": {"msg": "", "t": "rm", "urls": [], "mentions": [], "attachments": [], "reactions": {},
                     "editedAt": now, "editedBy": {"_id": user["_id"], "username": user.get("username")},
                     "_updatedAt": now},
            "$unset": {"md": 1, "content": 1, "e2e": 1, "e2eMentions": 1},
        })
    elif keep_history:
        await messages.update_one({"_id": mid}, {"$set": {"_hidden": True, "_updatedAt": now}})
    else:
        await messages.delete_one({"_id": mid})
    members = [s["u"]["_id"] for s in await room_members(app, rid)]
    if show_deleted:
        marked = await messages.find_one({"_id": mid})
        if marked is not None:
            room_message(app, marked, members)
    else:
        notify_room(app, rid, "deleteMessage", {"_id": mid})
    room = await app.store.rooms.find_one({"_id": rid}, {"lastMessage": 1})
    update: dict[str, Any] = {"$inc": {"msgs": -1}, "$set": {"_updatedAt": now}}
    if setting(app, "Store_Last_Message") and room is not None:
        last = room.get("lastMessage")
        if not last or last.get("_id") == mid:
            replacement = await _last_visible(app, rid)
            if replacement is None:
                update["$unset"] = {"lastMessage": 1}
            else:
                update["$set"]["lastMessage"] = replacement
    await app.store.rooms.update_one({"_id": rid}, update)
    updated = await app.store.rooms.find_one({"_id": rid})
    if updated is not None:
        room_changed(app, "updated", publish_room(updated), members)
    log.info("message deleted", extra={"message_id": mid, "rid": rid, "user_id": user["_id"]})
