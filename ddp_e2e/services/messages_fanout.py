"""After a message is saved: room counters, members' subscriptions, streams, notifications, push.

This is Rocket.Chat's ``afterSaveMessage`` chain (``notifyUsersOnMessage``,
``sendNotificationsOnMessage``) reduced to what clients observe. The stored message goes out
unchanged on ``stream-room-messages``; every subscription or room it changes goes out as
``subscriptions-changed``/``rooms-changed``; the other members get ``<uid>/notification`` and a
push gateway payload. For ``t: 'e2e'`` none of these carries anything but the stored ciphertext.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from . import push
from .messages_common import setting
from .notify import notify_user, room_changed, room_message, subscription_changed
from .rooms_common import publish_room, publish_subscription

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("ddp_e2e.messages")

_BY_USER = frozenset({"all_messages", "user_mentions_only", "user_and_group_mentions_only"})
_BY_GROUP = frozenset({"all_messages", "group_mentions_only", "user_and_group_mentions_only"})


async def room_members(app: App, rid: str) -> list[dict[str, Any]]:
    """The room's subscriptions (one indexed query), in subscription order."""
    return await app.store.subscriptions.find({"rid": rid}).to_list(None)


def _unread_setting(app: App, room_type: str | None) -> str:
    name = "Unread_Count_DM" if room_type == "d" else "Unread_Count"
    return str(setting(app, name))


def mention_targets(message: dict[str, Any], sender_id: str) -> tuple[bool, bool, list[str]]:
    """(to all, to here, mentioned user ids other than the sender), as upstream's ``getMentions``."""
    mentions = message.get("mentions") or []
    to_all = any(m.get("_id") == "all" for m in mentions)
    to_here = any(m.get("_id") == "here" for m in mentions)
    ids = [
        m["_id"] for m in mentions
        if m.get("type", "user") == "user" and m.get("_id") not in (sender_id, "all", "here")
    ]
    return to_all, to_here, ids


async def _update_subscriptions(app: App, message: dict[str, Any], room: dict[str, Any], sender_id: str) -> None:
    """Unread, mention counters, ``alert`` and ``open`` of the other members (upstream's rules)."""
    rid, now = room["_id"], app.now()
    subs = app.store.subscriptions
    to_all, to_here, mentioned = mention_targets(message, sender_id)
    unread_count = _unread_setting(app, room.get("t"))
    direct = room.get("t") in ("d", "l")
    if mentioned:
        inc_unread = 1 if direct or unread_count in _BY_USER else 0
        await subs.update_many(
            {"rid": rid, "u._id": {"$in": mentioned}}, {"$inc": {"userMentions": 1, "unread": inc_unread}}
        )
    elif to_all or to_here:
        inc_unread = 1 if direct or unread_count in _BY_GROUP else 0
        await subs.update_many(
            {"rid": rid, "u._id": {"$ne": sender_id}}, {"$inc": {"groupMentions": 1, "unread": inc_unread}}
        )
    if not to_all and not to_here and unread_count == "all_messages":
        await subs.update_many({"rid": rid, "u._id": {"$nin": [*mentioned, sender_id]}}, {"$inc": {"unread": 1}})
    await subs.update_many(
        {"rid": rid, "u._id": {"$ne": sender_id}}, {"$set": {"alert": True, "open": True, "_updatedAt": now}}
    )


async def _update_thread_parent(app: App, message: dict[str, Any], sender_id: str) -> None:
    parent_id = message.get("tmid")
    if not parent_id:
        return
    parent = await app.store.messages.find_one({"_id": parent_id}, {"rid": 1})
    if parent is None or parent.get("rid") != message["rid"]:
        return  # a thread lives in one room: never touch a message of another room
    await app.store.messages.update_one(
        {"_id": parent_id},
        {"$inc": {"tcount": 1}, "$set": {"tlm": message["ts"], "_updatedAt": app.now()},
         "$addToSet": {"replies": sender_id}},
    )
    parent = await app.store.messages.find_one({"_id": parent_id})
    if parent is not None:
        room_message(app, parent, await _member_ids(app, parent["rid"]))


async def _member_ids(app: App, rid: str) -> list[str]:
    return [s["u"]["_id"] for s in await room_members(app, rid)]


async def after_save_new(app: App, message: dict[str, Any], room: dict[str, Any], sender: dict[str, Any]) -> None:
    """Everything that follows a new message, in the order a Rocket.Chat client sees it."""
    rid, sender_id = room["_id"], sender["_id"]
    members = await room_members(app, rid)
    member_ids = [s["u"]["_id"] for s in members]
    room_message(app, message, member_ids)
    await _update_thread_parent(app, message, sender_id)
    thread_only = bool(message.get("tmid")) and not message.get("tshow")
    room_set: dict[str, Any] = {"_updatedAt": app.now()}
    if not thread_only:
        room_set["lm"] = message["ts"]
        if setting(app, "Store_Last_Message"):
            room_set["lastMessage"] = message
    await app.store.rooms.update_one({"_id": rid}, {"$inc": {"msgs": 1}, "$set": room_set})
    if not thread_only:
        await _update_subscriptions(app, message, room, sender_id)
        for sub in await app.store.subscriptions.find({"rid": rid, "u._id": {"$ne": sender_id}}).to_list(None):
            subscription_changed(app, "updated", publish_subscription(sub))
    updated_room = await app.store.rooms.find_one({"_id": rid})
    if updated_room is not None:
        room_changed(app, "updated", publish_room(updated_room), member_ids)
        room = updated_room
    receivers = [uid for uid in member_ids if uid != sender_id]
    desktop = desktop_payload(app, message, room, sender)
    for uid in receivers:
        notify_user(app, uid, "notification", desktop)
    await push.on_message(app, message, room, sender, receivers)


async def after_save_edit(app: App, message: dict[str, Any], room: dict[str, Any]) -> None:
    """An edited message goes out again; the room's ``lastMessage`` follows it if it was the last."""
    member_ids = await _member_ids(app, room["_id"])
    room_message(app, message, member_ids)
    last = room.get("lastMessage") or {}
    if setting(app, "Store_Last_Message") and last.get("_id") == message["_id"]:
        await app.store.rooms.update_one(
            {"_id": room["_id"]}, {"$set": {"lastMessage": message, "_updatedAt": app.now()}}
        )
        updated = await app.store.rooms.find_one({"_id": room["_id"]})
        if updated is not None:
            room_changed(app, "updated", publish_room(updated), member_ids)


def notification_text(message: dict[str, Any]) -> str:
    """Upstream's ``parseMessageTextPerUser``: an e2e message with a ``msg`` is "Encrypted message".

    The server never has the plaintext, so for an e2e message this is either that fixed text or
    the (empty) ``msg`` a 6.10+ client stores beside its ``content``.
    """
    msg = message.get("msg") or ""
    if msg and message.get("t") == "e2e":
        return "Encrypted message"
    return msg


def sender_display(app: App, sender: dict[str, Any]) -> str:
    if setting(app, "UI_Use_Real_Name") and sender.get("name"):
        return str(sender["name"])
    return str(sender.get("username") or "")


def desktop_payload(app: App, message: dict[str, Any], room: dict[str, Any], sender: dict[str, Any]) -> dict[str, Any]:
    """``<uid>/notification``: ``{title, text, payload}`` as ``notifyDesktopUser`` builds it.

    For e2e, ``payload.message`` holds the stored ``msg`` (ciphertext or ``''``), ``t`` and the
    stored ``content``, so a client can decrypt the preview itself.
    """
    text = notification_text(message)
    who = sender_display(app, sender)
    room_type = room.get("t")
    group = room_type != "d" or len(room.get("uids") or []) > 2
    if group:
        title = f"#{room.get('fname') or room.get('name') or ''}"
        text = f"{who}: {text}"
    else:
        title = who
    inner: dict[str, Any] = {"msg": message.get("msg", "")}
    if "t" in message:
        inner["t"] = message["t"]
    if message.get("t") == "e2e" and message.get("content") is not None:
        inner["content"] = message["content"]
    payload: dict[str, Any] = {"_id": message["_id"], "rid": message["rid"]}
    if message.get("tmid"):
        payload["tmid"] = message["tmid"]
    payload["sender"] = {"_id": sender["_id"], "username": sender.get("username"), "name": sender.get("name")}
    payload["type"] = room_type
    payload["message"] = inner
    if group and room.get("name") is not None:
        payload["name"] = room["name"]
    return {"title": title, "text": text, "payload": payload}
