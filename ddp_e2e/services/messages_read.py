"""Reading messages: ``loadHistory``, ``getSingleMessage`` and ``messageSearch``.

Reads return stored documents unchanged, so an encrypted message reads back byte for byte as it
was sent. Search never returns ``t: 'e2e'`` messages: upstream relies on ciphertext not matching,
we exclude them explicitly, so not even a query that happens to match base64 can find one.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..ddp.errors import MeteorError
from .access import can_access_room, get_room
from .messages_common import setting

if TYPE_CHECKING:
    from ..app import App

#: Types a search never returns: removed messages (upstream) and encrypted ones (ours, explicit).
UNSEARCHABLE_TYPES = ("rm", "e2e")


def _visible(rid: str, show_thread_messages: bool) -> dict[str, Any]:
    query: dict[str, Any] = {"rid": rid, "_hidden": {"$ne": True}}
    if not show_thread_messages:
        query["$or"] = [{"tmid": {"$exists": False}}, {"tshow": True}]
    return query


def _as_date(value: Any) -> datetime | None:
    """``ls`` may be a Date or a date string (the web client sends either)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else None
    return None


async def load_history(
    app: App, user_id: str | None, rid: str, *, end: datetime | None = None, limit: int = 20,
    ls: Any = None, show_thread_messages: bool = True,
) -> dict[str, Any] | bool:
    """``{messages, unreadNotLoaded, firstUnread?}`` newest first, or ``False`` without access."""
    if not user_id:
        raise MeteorError("error-invalid-user", "Invalid user", {"method": "loadHistory"})
    room = await get_room(app, rid)
    if room is None or not await can_access_room(app, user_id, rid, room):
        return False
    query = _visible(rid, show_thread_messages)
    if end is not None:
        query["ts"] = {"$lt": end}
    records = await app.store.messages.find(query).sort("ts", -1).limit(int(limit)).to_list(None)
    out: dict[str, Any] = {"messages": records}
    unread_not_loaded = 0
    since = _as_date(ls)
    if since is not None and records and records[-1]["ts"] > since:
        between = {**_visible(rid, show_thread_messages), "ts": {"$gt": since, "$lt": records[-1]["ts"]}}
        first = await app.store.messages.find(between).sort("ts", 1).limit(1).to_list(1)
        if first:
            out["firstUnread"] = first[0]
        unread_not_loaded = await app.store.messages.count_documents(between)
    out["unreadNotLoaded"] = unread_not_loaded
    return out


async def get_single_message(app: App, user_id: str, message_id: str) -> dict[str, Any] | None:
    """The message, ``None`` if unknown, ``error-not-allowed`` if its room is not readable."""
    message = await app.store.messages.find_one({"_id": message_id})
    if message is None or not message.get("rid"):
        return None
    if not await can_access_room(app, user_id, message["rid"]):
        raise MeteorError("error-not-allowed", "Not allowed", {"method": "getSingleMessage"})
    return message


async def message_search(
    app: App, user_id: str, text: str, rid: str | None = None, limit: int | None = None, offset: int | None = None
) -> dict[str, Any] | bool:
    """``{message: {docs}}`` as upstream returns it; ``False`` when the room is not readable.

    Plain text only (case-insensitive substring of ``msg``); upstream's ``from:``/``has:`` search
    operators are not emulated. Without ``rid`` the answer is empty unless global search is on.
    """
    if rid:
        if not await can_access_room(app, user_id, rid):
            return False
        rids: Any = rid
    elif setting(app, "Search.defaultProvider.GlobalSearchEnabled") is not True:
        return {"message": {"docs": []}}
    else:
        subs = await app.store.subscriptions.find({"u._id": user_id}, {"rid": 1}).to_list(None)
        rids = {"$in": [s["rid"] for s in subs]}
    if not text.strip():
        return {"message": {"docs": []}}
    query = {
        "rid": rids,
        "msg": {"$regex": re.escape(text.strip()), "$options": "i"},
        "t": {"$nin": list(UNSEARCHABLE_TYPES)},
        "_hidden": {"$ne": True},
    }
    cursor = app.store.messages.find(query).sort("ts", -1).skip(int(offset or 0)).limit(int(limit or 20))
    return {"message": {"docs": await cursor.to_list(None)}}
