"""Who may see a room: the one check every room-scoped method, route and stream shares."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..app import App


async def get_room(app: App, rid: str) -> dict[str, Any] | None:
    return await app.store.rooms.find_one({"_id": rid})


async def get_subscription(app: App, rid: str, user_id: str) -> dict[str, Any] | None:
    """The user's subscription to the room (membership), found through the (rid, u._id) indexes."""
    return await app.store.subscriptions.find_one({"rid": rid, "u._id": user_id})


async def can_access_room(app: App, user_id: str | None, rid: str, room: dict[str, Any] | None = None) -> bool:
    """Rocket.Chat's ``canAccessRoom``: members always; any logged-in user for a public channel."""
    if not user_id or not isinstance(rid, str) or not rid:
        return False
    if await get_subscription(app, rid, user_id) is not None:
        return True
    room = room if room is not None else await get_room(app, rid)
    return room is not None and room.get("t") == "c"


async def member_ids(app: App, rid: str) -> list[str]:
    """User ids subscribed to a room, in subscription order."""
    subs = await app.store.subscriptions.find({"rid": rid}, {"u._id": 1}).to_list(None)
    return [s["u"]["_id"] for s in subs]
