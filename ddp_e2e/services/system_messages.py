"""Rocket.Chat's system messages (``Message.saveSystemMessage``): ``uj``, ``au``, ``ru``, ``ul``,
``room_e2e_enabled``, ``room_e2e_disabled``, ...

Why a service of its own: a system message is stored like any message, becomes the room's
``lastMessage``, counts in ``msgs`` and is streamed to the room, but it is written by the server
and never goes through the send checks (an encrypted room still gets ``room_e2e_disabled`` in
clear, and it carries no user text). Messages written by users live in ``services/messages.py``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pymongo import ReturnDocument

from .access import member_ids
from .notify import room_changed, room_message
from .rooms_common import publish_room

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("ddp_e2e.system_messages")

#: The types this server writes (Rocket.Chat's ``MessageTypesValues`` we use).
SYSTEM_TYPES = frozenset({
    "uj", "ul", "au", "ru", "ut", "ujt", "ult", "room_e2e_enabled", "room_e2e_disabled",
    "room_changed_topic", "room_changed_description", "room_changed_announcement",
})


async def save_system_message(
    app: App,
    t: str,
    rid: str,
    msg: str,
    user: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Store a system message of type ``t`` in room ``rid`` written as ``user``; stream it.

    Shape (``Messages.createWithTypeRoomIdMessageUserAndUnread``): ``{_id, t, rid, ts, msg,
    u: {_id, username}, groupable: false, _updatedAt}``, then ``extra`` (e.g. another ``u`` for
    ``au``/``ru``, written by the inviter). The room's ``lastMessage``, ``lm`` and ``msgs`` follow,
    and members get the message on ``stream-room-messages`` and the room on ``rooms-changed``.
    """
    if t not in SYSTEM_TYPES:
        raise ValueError(f"not a system message type: {t!r}")
    now = app.now()
    message: dict[str, Any] = {
        "_id": app.random.id(), "t": t, "rid": rid, "ts": now, "msg": msg,
        "u": {"_id": user["_id"], "username": user.get("username")}, "groupable": False,
    }
    if extra:
        message.update(extra)
    message["_updatedAt"] = now
    await app.store.messages.insert_one(dict(message))
    room = await app.store.rooms.find_one_and_update(
        {"_id": rid},
        {"$set": {"lastMessage": message, "lm": message["ts"], "_updatedAt": now}, "$inc": {"msgs": 1}},
        return_document=ReturnDocument.AFTER,
    )
    members = await member_ids(app, rid)
    room_message(app, message, members)
    if room is not None:
        room_changed(app, "updated", publish_room(room), members)
    log.info("system message", extra={"rid": rid, "type": t, "message_id": message["_id"]})
    return message
