"""Sending messages: Rocket.Chat's ``executeSendMessage`` and ``sendMessage``, once for every path.

DDP ``sendMessage``, REST ``chat.sendMessage`` and ``chat.postMessage`` (and ``method.call``) all
land here. A ``t: 'e2e'`` message is stored exactly as received: ``msg``, ``content``, ``e2e``
and ``e2eMentions`` are copied, never parsed, never rewritten; the server only adds what
Rocket.Chat adds (``_id``, ``ts``, ``u``, ``_updatedAt``, ``mentions``, ``channels``).

One deliberate difference from upstream: the encrypted-room rule (``E2E_Allow_Unencrypted_Messages``
off) is enforced on ``chat.postMessage`` too, where Rocket.Chat 6.x/7.x skips it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ..ddp.errors import MeteorError
from .messages_common import (
    CLIENT_MESSAGE_TYPES,
    PlainError,
    can_send_message,
    error_text,
    has_permission,
    load_user,
    send_ephemeral,
    setting,
    utf16_len,
)
from .messages_fanout import after_save_new
from .messages_parse import message_urls, resolve_mentions

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("ddp_e2e.messages")

#: Keys of a client's message that are stored as given (everything else is set by the server).
_STORED_CLIENT_KEYS = (
    "msg", "t", "e2e", "content", "e2eMentions", "tmid", "tshow", "groupable",
    "alias", "emoji", "avatar", "attachments", "customFields",
)
UNENCRYPTED_REFUSED = "Not allowed to send un-encrypted messages in an encrypted room"


def is_system_message(message: dict[str, Any]) -> bool:
    """Any ``t`` other than the client message types is a system message a client may not send."""
    t = message.get("t")
    return t is not None and t not in CLIENT_MESSAGE_TYPES


def encryption_refusal(app: App, room: dict[str, Any], message: dict[str, Any]) -> MeteorError | None:
    """The encrypted-room rule: a non-e2e message to an encrypted room, unless allowed."""
    if (
        room.get("encrypted")
        and setting(app, "E2E_Enable")
        and not setting(app, "E2E_Allow_Unencrypted_Messages")
        and message.get("t") != "e2e"
    ):
        return MeteorError("error-not-allowed", UNENCRYPTED_REFUSED, {"method": "sendMessage"})
    return None


def check_size(app: App, text: Any, method: str = "sendMessage") -> None:
    """``Message_MaxAllowedSize`` applies to ``msg`` only (never to ``content``), in UTF-16 units."""
    limit = setting(app, "Message_MaxAllowedSize") or 0
    if isinstance(text, str) and text and utf16_len(text) > limit:
        raise MeteorError("error-message-size-exceeded", "Message size exceeds Message_MaxAllowedSize",
                          {"method": method})


def _client_ts(app: App, message: dict[str, Any]) -> Any:
    """A client ``ts`` is kept only within 10 s of now; beyond 60 s it is refused (upstream)."""
    now = app.now()
    ts = message.get("ts")
    if ts is None:
        return now
    drift = abs(ts - now)
    if drift > timedelta(seconds=60):
        raise MeteorError("error-message-ts-out-of-sync", "Message timestamp is out of sync", {
            "method": "sendMessage", "message_ts": ts, "server_ts": int(now.timestamp() * 1000),
        })
    return now if drift > timedelta(seconds=10) else ts


async def execute_send_message(
    app: App, user_id: str, message: dict[str, Any], *, preview_urls: list[str] | None = None
) -> dict[str, Any] | None:
    """``executeSendMessage``: checks, then store and fan out. Returns the stored message.

    ``None`` when the client's ``_id`` already exists (upstream silently ignores the resend).
    Errors after the room is known are also sent to the user as an ephemeral message.
    """
    message = {k: v for k, v in message.items() if v is not None}
    if message.get("tshow") and not message.get("tmid"):
        raise MeteorError("invalid-params", "tshow provided but missing tmid", {"method": "sendMessage"})
    if message.get("tmid") and not setting(app, "Threads_enabled"):
        raise MeteorError("error-not-allowed", "not-allowed", {"method": "sendMessage"})
    message["ts"] = _client_ts(app, message)
    check_size(app, message.get("msg"))
    user = await load_user(app, user_id)
    if not user or not user.get("username"):
        raise MeteorError("error-invalid-user", "Invalid user")
    rid = message.get("rid")
    if message.get("tmid"):
        parent = await app.store.messages.find_one({"_id": message["tmid"]}, {"rid": 1, "tmid": 1})
        if parent is not None:
            message["tmid"] = parent.get("tmid") or message["tmid"]
            rid = parent.get("rid") or rid
    if not isinstance(rid, str) or not rid:
        raise PlainError("The 'rid' property on the message object is missing.")
    try:
        room = await can_send_message(app, rid, user)
        refusal = encryption_refusal(app, room, message)
        if refusal is not None:
            raise refusal
        return await send_message(app, user, message, room, preview_urls=preview_urls)
    except (MeteorError, PlainError) as exc:
        log.info("message refused", extra={"user_id": user_id, "rid": rid, "error": error_text(exc)})
        send_ephemeral(app, user_id, message.get("rid"), error_text(exc))
        raise


async def validate_message(app: App, message: dict[str, Any], room: dict[str, Any], user: dict[str, Any]) -> None:
    """``validateMessage``: impersonation needs ``message-impersonate``; custom fields a setting."""
    if (message.get("alias") or message.get("avatar")) and not await has_permission(
        app, user, "message-impersonate", room["_id"]
    ):
        raise PlainError("Not enough permission")
    if message.get("customFields") is not None and not setting(app, "Message_CustomFields_Enabled"):
        raise PlainError("Custom fields not enabled")


async def send_message(
    app: App, user: dict[str, Any], message: dict[str, Any], room: dict[str, Any],
    *, preview_urls: list[str] | None = None,
) -> dict[str, Any] | None:
    """Upstream ``sendMessage``: build the stored document, insert it, run the after-save chain."""
    await validate_message(app, message, room, user)
    now = app.now()
    doc: dict[str, Any] = {"_id": message.get("_id") or app.random.id(), "rid": room["_id"]}
    for key in _STORED_CLIENT_KEYS:
        if key in message:
            doc[key] = message[key]
    if not isinstance(doc.get("msg"), str):
        doc["msg"] = ""
    if doc.get("tshow") is not True:
        doc.pop("tshow", None)
    doc["ts"] = message.get("ts") or now
    doc["u"] = {"_id": user["_id"], "username": user.get("username")}
    if user.get("name") is not None:
        doc["u"]["name"] = user["name"]
    urls = message_urls({**doc, "parseUrls": message.get("parseUrls")}, preview_urls)
    if urls is not None:
        doc["urls"] = urls
    doc["mentions"], doc["channels"] = await resolve_mentions(app, doc, user["_id"])
    doc["_updatedAt"] = now
    if "_id" in message and await app.store.messages.find_one({"_id": doc["_id"]}, {"_id": 1}) is not None:
        log.info("duplicate message id ignored", extra={"message_id": doc["_id"], "rid": room["_id"]})
        return None
    await app.store.messages.insert_one(doc)
    log.info("message saved", extra={"message_id": doc["_id"], "rid": room["_id"], "user_id": user["_id"],
                                     "e2e": doc.get("t") == "e2e"})
    await after_save_new(app, doc, room, user)
    return doc


async def _resolve_channel(app: App, user: dict[str, Any], target: str) -> dict[str, Any]:
    """``getRoomByNameOrIdWithOptionToJoin`` without joining: ``#name``, ``@username`` or id/name."""
    rooms = app.store.rooms
    if target.startswith("#"):
        key = target[1:]
        room = await rooms.find_one({"_id": key}) or await rooms.find_one({"name": key})
    elif target.startswith("@"):
        room = await _direct_room(app, user, {"username": target[1:]})
    else:
        room = await rooms.find_one({"_id": target}) or await rooms.find_one({"name": target})
        if room is None:
            room = await _direct_room(app, user, {"_id": target})
    if room is None:
        raise MeteorError("invalid-channel")
    return room


async def _direct_room(app: App, user: dict[str, Any], who: dict[str, str]) -> dict[str, Any] | None:
    other = await app.store.users.find_one(who, {"_id": 1})
    if other is None:
        return None
    for room in await app.store.rooms.find({"t": "d", "uids": user["_id"]}).to_list(None):
        if set(room.get("uids") or ()) == {user["_id"], other["_id"]}:
            return room
    return None


async def post_message(app: App, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """REST ``chat.postMessage`` (upstream ``processWebhookMessage``), encrypted-room rule included.

    Every target room is resolved and checked before anything is sent, so a refused room never
    leaves a partial send behind. Returns ``{channel, message}`` of the first target.
    """
    user = await load_user(app, user_id)
    if not user or not user.get("username"):
        raise MeteorError("error-invalid-user", "Invalid user")
    targets = body.get("channel", body.get("roomId"))
    channels = list(dict.fromkeys([targets] if isinstance(targets, str) else targets or []))
    if not channels:
        raise MeteorError("invalid-channel")
    text = body.get("text")
    if text is None:
        text = ""
    draft: dict[str, Any] = {"msg": text.strip(), "groupable": False}
    for key in ("alias", "emoji", "avatar", "attachments", "tmid", "customFields", "parseUrls"):
        if body.get(key) is not None:
            draft[key] = body[key]
    if draft.get("alias") == "":
        draft.pop("alias")
    draft.setdefault("parseUrls", not body.get("attachments"))
    planned = []
    for channel in channels:
        room = await _resolve_channel(app, user, channel)
        await can_send_message(app, room["_id"], user)
        refusal = encryption_refusal(app, room, draft)
        if refusal is not None:
            raise refusal
        planned.append((channel, room))
    sent: list[tuple[str, dict[str, Any] | None]] = []
    for channel, room in planned:
        msg = await send_message(app, user, {**draft, "ts": app.now()}, room)
        sent.append((channel, msg))
    return {"channel": sent[0][0], "message": sent[0][1]}
