"""Reading rooms and subscriptions: ``rooms/get``, ``subscriptions/get``, ``getRoomRoles`` and
the ``roomId``/``roomName`` lookup of the REST ``groups.*`` routes.

Why a date changes the shape: clients keep a cache and ask "what changed since T". Without a
date Rocket.Chat answers the plain list; with one, ``{update, remove}`` where ``remove`` comes
from the trash of deleted documents (here: subscriptions of rooms the user left or was removed
from, and deleted rooms the user was in). Sources: ``server/publications/room/index.ts``,
``server/publications/subscription/index.ts``, ``getRoomRoles.ts``, REST ``groups.ts``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..ddp.errors import MeteorError
from .access import can_access_room, get_room
from .rooms_common import TRASH, publish_room, publish_subscription
from .rooms_permissions import ROOM_ROLES

if TYPE_CHECKING:
    from ..app import App

GROUP_NOT_FOUND = 'The required "roomId" or "roomName" param provided does not match any group'


async def get_subscriptions(app: App, user_id: str | None, updated_since: datetime | None = None) -> Any:
    """``subscriptions/get``: the caller's subscriptions; ``{update, remove}`` after a date."""
    if not user_id:
        return []
    subs = await app.store.subscriptions.find({"u._id": user_id}).to_list(None)
    records = [publish_subscription(s) for s in subs]
    if updated_since is None:
        return records
    removed = await app.store.collection(TRASH).find(
        {"__collection__": "rocketchat_subscription", "u._id": user_id, "_deletedAt": {"$gt": updated_since}},
        {"_id": 1, "_deletedAt": 1},
    ).to_list(None)
    return {
        "update": [r for r in records if r.get("_updatedAt") and r["_updatedAt"] > updated_since],
        "remove": [{"_id": r["_id"], "_deletedAt": r["_deletedAt"]} for r in removed],
    }


async def get_rooms(app: App, user_id: str | None, updated_since: datetime | None = None) -> Any:
    """``rooms/get``: the rooms the caller is subscribed to; ``{update, remove}`` after a date."""
    if not user_id:
        return []
    subs = await app.store.subscriptions.find({"u._id": user_id}, {"rid": 1}).to_list(None)
    rids = [s["rid"] for s in subs]
    rooms = await app.store.rooms.find({"_id": {"$in": rids}}).to_list(None) if rids else []
    records = [publish_room(r) for r in rooms]
    if updated_since is None:
        return records
    left = await app.store.collection(TRASH).find(
        {"__collection__": "rocketchat_subscription", "u._id": user_id}, {"rid": 1}
    ).to_list(None)
    known = sorted({*rids, *(t["rid"] for t in left)})
    removed = await app.store.collection(TRASH).find(
        {"__collection__": "rocketchat_room", "_id": {"$in": known}, "_deletedAt": {"$gt": updated_since}},
        {"_id": 1, "_deletedAt": 1},
    ).to_list(None) if known else []
    return {
        "update": [r for r in records if r.get("_updatedAt") and r["_updatedAt"] > updated_since],
        "remove": [{"_id": r["_id"], "_deletedAt": r["_deletedAt"]} for r in removed],
    }


async def get_room_roles(app: App, user_id: str | None, rid: str) -> list[dict[str, Any]]:
    """``getRoomRoles(rid)``: members holding owner/moderator/leader, sorted by username."""
    method = {"method": "getRoomRoles"}
    if not user_id:
        raise MeteorError("error-invalid-user", "Invalid user", method)
    room = await get_room(app, rid)
    if room is None:
        raise MeteorError("error-invalid-room", "Invalid room", method)
    if not await can_access_room(app, user_id, rid, room):
        raise MeteorError("error-invalid-user", "Invalid user", method)
    subs = await app.store.subscriptions.find(
        {"rid": rid, "roles": {"$in": list(ROOM_ROLES)}}, {"rid": 1, "u": 1, "roles": 1}
    ).to_list(None)
    subs.sort(key=lambda s: s["u"].get("username") or "")
    return [{"_id": s["_id"], "rid": s["rid"], "u": s["u"], "roles": s.get("roles", [])} for s in subs]


async def find_private_group(app: App, user_id: str, room_id: str | None, room_name: str | None) -> dict[str, Any]:
    """``findPrivateGroupByIdOrName``: a ``p`` room the caller can see, by id or by name."""
    if not room_id and not room_name:
        raise MeteorError("error-room-param-not-provided", 'The parameter "roomId" or "roomName" is required')
    query = {"_id": room_id} if room_id else {"name": room_name}
    room = await app.store.rooms.find_one(query)
    if room is None or room.get("t") != "p" or not await can_access_room(app, user_id, room["_id"], room):
        raise MeteorError("error-room-not-found", GROUP_NOT_FOUND)
    return room


def parse_rest_date(text: str, error: str, reason: str) -> datetime:
    """An ISO date from a query string (``Date.parse`` accepts it); a MeteorError otherwise."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise MeteorError(error, reason) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
