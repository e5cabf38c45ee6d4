"""Push emulation: the payload Rocket.Chat would hand its push gateway, delivered to a local sink.

For every new message and every other member, this builds what ``PushNotification.send`` gives
``Push.send`` (``push-notifications/server/lib/PushNotification.ts``, ``push/server/push.ts``)
and what the gateway then sends to FCM/APNs: the notification payload EJSON-stringified under the
key ``ejson``. For ``t: 'e2e'`` the payload carries ``messageType: 'e2e'`` and only the stored
``msg``/``content``; with ``Push_request_content_from_server`` on it is the id-only form
``{host, messageId, notificationType: 'message-id-only'}`` and the app fetches the message with
``GET /api/v1/push.get?id=``.

Nothing leaves the process: each payload is appended to a bounded in-memory sink
(``app.extensions["push_sink"]``, readable through ``GET /api/v1/push.sink``) and logged with
ids only, never content.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from ..ddp import ejson
from .access import can_access_room, get_room
from .messages_common import PlainError, load_user, setting, site_url

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("ddp_e2e.push")

SINK_SIZE = 1000
PUSH_TITLE_LIMIT = 65
PUSH_MESSAGE_BODY_LIMIT = 240


def get_sink(app: App) -> deque[dict[str, Any]]:
    """The captured gateway payloads, oldest first; the oldest fall off past :data:`SINK_SIZE`."""
    sink = app.extensions.get("push_sink")
    if sink is None:
        sink = app.extensions["push_sink"] = deque(maxlen=SINK_SIZE)
    return sink


def captured_for(app: App, user_id: str, message_id: str | None = None) -> list[dict[str, Any]]:
    """The sink entries addressed to ``user_id`` (optionally for one message), oldest first."""
    return [
        e for e in get_sink(app)
        if e["userId"] == user_id and (message_id is None or e["messageId"] == message_id)
    ]


def _int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def js_string_hash(text: str) -> int:
    """``PushNotification``'s ``hash()``: Java's string hash over UTF-16 units, from the end."""
    units = text.encode("utf-16-le")
    h = 0
    for i in range(len(units) - 2, -1, -2):
        code = units[i] | (units[i + 1] << 8)
        h = _int32(_int32(h << 5) - h + code)
    return h


def notification_id(app: App, rid: str) -> int:
    """``notId``: one per room and server, so a device stacks a room's pushes together."""
    return js_string_hash(f"{setting(app, 'uniqueID')}|{rid}")


def truncate(text: str, limit: int) -> str:
    """``truncateString`` of @rocket.chat/tools."""
    return f"{text[: limit - 3]}..." if len(text) > limit else text


async def badge_counts(app: App, user_ids: list[str]) -> dict[str, int]:
    """``Subscriptions.getBadgeCount``: each user's total unread over its subscriptions."""
    out = dict.fromkeys(user_ids, 0)
    if not user_ids:
        return out
    cursor = app.store.subscriptions.find(
        {"u._id": {"$in": user_ids}, "archived": {"$ne": True}}, {"u._id": 1, "unread": 1}
    )
    for sub in await cursor.to_list(None):
        unread = sub.get("unread")
        if isinstance(unread, int) and not isinstance(unread, bool):
            out[sub["u"]["_id"]] = out.get(sub["u"]["_id"], 0) + unread
    return out


def _category(room: dict[str, Any], username: str | None) -> str:
    """``MESSAGE`` (the app offers a reply button) unless the receiver could not reply."""
    if not username or room.get("ro") is True:
        return "MESSAGE_NOREPLY"
    return "MESSAGE_NOREPLY" if username in (room.get("muted") or []) else "MESSAGE"


def push_data(
    app: App, message: dict[str, Any], room: dict[str, Any], sender: dict[str, Any],
    receiver: dict[str, Any] | None, *, omit_message: bool,
) -> dict[str, Any]:
    """Upstream's ``getPushData``: the payload and the texts of one receiver's push."""
    from .messages_fanout import notification_text

    show_names = bool(setting(app, "Push_show_username_room"))
    username = ""
    if show_names:
        username = (setting(app, "UI_Use_Real_Name") and sender.get("name")) or sender.get("username") or ""
    if (omit_message and setting(app, "Push_request_content_from_server")) or not setting(app, "Push_show_message"):
        text = "You have a new message"
    else:
        text = notification_text(message)
    payload: dict[str, Any] = {
        "sender": message.get("u"),
        "senderName": username or "",
        "type": room.get("t"),
    }
    if show_names and room.get("name") is not None:
        payload["name"] = room["name"]
    elif not show_names:
        payload["name"] = ""
    if "t" in message:
        payload["messageType"] = message["t"]
    if message.get("tmid"):
        payload["tmid"] = message["tmid"]
    if message.get("t") == "e2e":
        payload["msg"] = message.get("msg")
        if message.get("content") is not None:
            payload["content"] = message["content"]
    group = room.get("t") != "d" or len(room.get("uids") or []) > 2
    room_name = f"#{room.get('fname') or room.get('name') or ''}" if show_names and group else ""
    return {
        "payload": payload,
        "roomName": room_name,
        "username": username or "",
        "message": text,
        "category": _category(room, (receiver or {}).get("username")),
    }


def notification_config(
    app: App, *, rid: str, uid: str, mid: str, data: dict[str, Any], badge: int, id_only: bool
) -> dict[str, Any]:
    """``getNotificationConfig``: what ``Push.send`` receives (priority included)."""
    room_name, username, text = data["roomName"], data["username"], data["message"]
    payload: dict[str, Any] = {
        "host": site_url(app),
        "messageId": mid,
        "notificationType": "message-id-only" if id_only else "message",
    }
    if not id_only:
        payload["rid"] = rid
        payload.update(data["payload"])
    config: dict[str, Any] = {
        "from": "push",
        "badge": badge,
        "sound": "default",
        "priority": 10,
        "title": "" if id_only else (room_name or username),
        "text": f"{username}: {text}" if not id_only and room_name != "" else text,
        "payload": payload,
        "userId": uid,
        "notId": notification_id(app, rid),
        "gcm": {"style": "inbox", "image": f"{site_url(app)}assets/favicon_192.png"},
    }
    if data["category"] != "":
        config["apn"] = {"category": data["category"]}
    return config


def gateway_notification(app: App, config: dict[str, Any]) -> dict[str, Any]:
    """``Push.send`` then ``getGatewayNotificationData``: the body's ``options`` (no priority)."""
    out: dict[str, Any] = {
        "createdAt": app.now(),
        "createdBy": "<SERVER>",
        "sent": False,
        "sending": 0,
        "title": truncate(config["title"], PUSH_TITLE_LIMIT),
        "text": truncate(config["text"], PUSH_MESSAGE_BODY_LIMIT),
    }
    for key in ("from", "userId", "payload", "badge", "sound", "notId"):
        if key in config:
            out[key] = config[key]
    if "apn" in config:
        out["apn"] = {"category": config["apn"]["category"]}
    out["gcm"] = {k: config["gcm"][k] for k in ("image", "style") if k in config["gcm"]}
    return out


def fcm_message(notification: dict[str, Any]) -> dict[str, Any]:
    """What FCM receives (``fcm.ts``): the payload EJSON-stringified under ``data.ejson``."""
    data: dict[str, Any] = {"ejson": ejson.dumps(notification["payload"])} if "payload" in notification else {}
    gcm = notification.get("gcm") or {}
    if gcm.get("image") is not None:
        data["image"] = gcm["image"]
    if notification.get("badge") is not None:
        data["msgcnt"] = notification["badge"]
    if notification.get("sound") is not None:
        data["soundname"] = notification["sound"]
    if notification.get("notId") is not None:
        data["notId"] = notification["notId"]
    if gcm.get("style") is not None:
        data["style"] = gcm["style"]
    return {
        "notification": {"title": notification["title"], "body": notification["text"]},
        "data": data,
        "android": {"priority": "HIGH"},
    }


async def on_message(
    app: App, message: dict[str, Any], room: dict[str, Any], sender: dict[str, Any], receivers: list[str]
) -> int:
    """Build and capture one gateway payload per receiver; returns how many were captured."""
    if not receivers:
        return 0
    id_only = bool(setting(app, "Push_request_content_from_server"))
    users = {
        u["_id"]: u
        for u in await app.store.users.find({"_id": {"$in": receivers}}, {"username": 1, "language": 1}).to_list(None)
    }
    badges = await badge_counts(app, receivers)
    sink = get_sink(app)
    for uid in receivers:
        data = push_data(app, message, room, sender, users.get(uid), omit_message=True)
        config = notification_config(
            app, rid=room["_id"], uid=uid, mid=message["_id"], data=data, badge=badges.get(uid, 0), id_only=id_only
        )
        notification = gateway_notification(app, config)
        sink.append({
            "_id": app.random.id(),
            "userId": uid,
            "messageId": message["_id"],
            "rid": room["_id"],
            "ts": app.now(),
            "notification": notification,
            "fcm": fcm_message(notification),
        })
        log.info(
            "push gateway payload captured",
            extra={"push_user_id": uid, "message_id": message["_id"], "rid": room["_id"],
                   "notification_type": config["payload"]["notificationType"]},
        )
    return len(receivers)


async def notification_for_message_id(app: App, receiver_id: str, message_id: str) -> dict[str, Any]:
    """``push.get``: the message and its full notification, for a receiver who may read the room.

    Errors are upstream's plain ``Error``s (400 ``{"success": false, "error": "<code>"}``).
    """
    receiver = await load_user(app, receiver_id)
    if receiver is None:
        raise PlainError("error-user-not-found")
    message = await app.store.messages.find_one({"_id": message_id})
    if message is None:
        raise PlainError("error-message-not-found")
    room = await get_room(app, message["rid"])
    if room is None:
        raise PlainError("error-room-not-found")
    if not await can_access_room(app, receiver_id, room["_id"], room):
        raise PlainError("error-not-allowed")
    sender = await load_user(app, message["u"]["_id"]) or dict(message["u"])
    data = push_data(app, message, room, sender, receiver, omit_message=False)
    badge = (await badge_counts(app, [receiver_id]))[receiver_id]
    config = notification_config(
        app, rid=message["rid"], uid=message["u"]["_id"], mid=message["_id"], data=data, badge=badge, id_only=False
    )
    return {"message": message, "notification": config}
