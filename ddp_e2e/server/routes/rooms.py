"""REST routes of rooms (Rocket.Chat's ``groups.*``, ``channels.create``, ``im.create``,
``rooms.get``, ``rooms.saveRoomSettings``, ``subscriptions.get``/``getOne``).

Each route checks its body or query shape, then calls the same service function as its DDP
twin; envelopes and field names (``group``, ``channel``, ``room``, ``update``/``remove``) are
Rocket.Chat's, and dates leave as ISO strings (the REST layer converts them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...ddp.check import AnyObject, ArrayOf, Boolean, MaxLenString, Object, ObjectIncluding, OneOf, Optional
from ...ddp.errors import MatchError, MeteorError
from ...methods.rooms import MEMBERS, RID, ROOM_NAME, USERNAME
from ...services import rooms, rooms_membership, rooms_queries, rooms_settings
from ...services.accounts import find_user
from ...services.rooms_common import rest_room
from ..rest import RestRequest

if TYPE_CHECKING:
    from ...app import App

CREATE = ObjectIncluding({
    "name": ROOM_NAME, "members": Optional(MEMBERS), "readOnly": Optional(Boolean),
    "customFields": Optional(AnyObject()), "extraData": Optional(rooms.EXTRA_DATA),
    "excludeSelf": Optional(Boolean),
})
IM_CREATE = OneOf(
    Object({"username": USERNAME, "excludeSelf": Optional(Boolean)}),
    Object({"usernames": MaxLenString(8192), "excludeSelf": Optional(Boolean)}),
)
ROOM_REF = {"roomId": Optional(RID), "roomName": Optional(ROOM_NAME)}
USER_REF = {"userId": Optional(RID), "username": Optional(USERNAME)}
SET_ENCRYPTED = Object({**ROOM_REF, "encrypted": Boolean})
SAVE_SETTINGS = ObjectIncluding({"rid": RID, "encrypted": Optional(Boolean)})
INVITE = Object({**ROOM_REF, **USER_REF, "userIds": Optional(ArrayOf(RID, max_items=1000)),
                 "usernames": Optional(MEMBERS)})
KICK = Object({**ROOM_REF, **USER_REF})
ROOM_ONLY = Object(ROOM_REF)
SINCE = ObjectIncluding({"updatedSince": Optional(MaxLenString(64))})
GET_ONE = ObjectIncluding({"roomId": RID})

NO_USER = 'The required "userId" or "username" param provided does not match any users'


async def _group_answer(req: RestRequest, rid: str) -> dict[str, Any]:
    room = await req.app.store.rooms.find_one({"_id": rid})
    if room is None:
        raise MeteorError("error-room-not-found", rooms_queries.GROUP_NOT_FOUND)
    return rest_room(room)


async def _user_from(req: RestRequest, body: dict[str, Any]) -> dict[str, Any]:
    """``getUserFromParams``: by ``userId`` or ``username``."""
    if body.get("userId"):
        user = await req.app.store.users.find_one({"_id": body["userId"]}, {"username": 1})
    elif body.get("username"):
        user = await find_user(req.app, {"username": body["username"]})
    else:
        raise MeteorError("error-user-param-not-provided", 'The required "userId" or "username" param was not provided')
    if user is None:
        raise MeteorError("error-invalid-user", NO_USER)
    return user


async def _users_from(req: RestRequest, body: dict[str, Any]) -> list[str]:
    """``getUserListFromParams``: usernames of the users named by any of the four keys."""
    if body.get("userId") or body.get("username"):
        return [(await _user_from(req, body))["username"]]
    names: list[str] = []
    for uid in body.get("userIds") or ():
        user = await req.app.store.users.find_one({"_id": uid}, {"username": 1})
        if user is not None:
            names.append(user["username"])
    for username in body.get("usernames") or ():
        user = await find_user(req.app, {"username": username})
        if user is not None:
            names.append(user["username"])
    return names


def register(app: App) -> None:
    rest = app.rest  # type: ignore[attr-defined]

    def _creator(t: str, route: str, key: str) -> None:
        async def create(req: RestRequest) -> dict[str, Any]:
            b = req.body
            result = await rooms.create_room(
                req.app, req.user_id, t, b["name"], b.get("members") or [], read_only=b.get("readOnly") is True,
                custom_fields=b.get("customFields"), extra_data=b.get("extraData"),
                exclude_self=b.get("excludeSelf") is True,
                method="createPrivateGroup" if t == "p" else "createChannel",
            )
            return {key: await _group_answer(req, result["rid"])}

        create.__doc__ = f"Create a {'private group' if t == 'p' else 'public channel'}; returns ``{{{key}}}``."
        rest.route("POST", route, body=CREATE)(create)

    _creator("p", "groups.create", "group")
    _creator("c", "channels.create", "channel")

    async def im_create(req: RestRequest) -> dict[str, Any]:
        """Open a direct room with ``username`` or the comma-separated ``usernames``."""
        b = req.body
        names = [b["username"]] if "username" in b else [u.strip() for u in b["usernames"].split(",")]
        room = await rooms.create_direct_message(req.app, req.user_id, names, b.get("excludeSelf") is True)
        return {"room": {**room, "_id": room["rid"]}}

    rest.route("POST", "im.create", body=IM_CREATE)(im_create)
    rest.route("POST", "dm.create", body=IM_CREATE)(im_create)

    @rest.route("POST", "groups.setEncrypted", body=SET_ENCRYPTED)
    async def set_encrypted(req: RestRequest) -> dict[str, Any]:
        """Turn a private group's encryption on or off (through ``saveRoomSettings``)."""
        b = req.body
        room = await rooms_queries.find_private_group(req.app, req.user_id or "", b.get("roomId"), b.get("roomName"))
        await rooms_settings.save_room_settings(req.app, req.user_id, room["_id"], "encrypted", b["encrypted"])
        return {"group": await _group_answer(req, room["_id"])}

    @rest.route("POST", "rooms.saveRoomSettings", body=SAVE_SETTINGS)
    async def save_settings(req: RestRequest) -> dict[str, Any]:
        """``{rid, <setting>: value, ...}``; returns ``{rid}``."""
        settings = {k: v for k, v in req.body.items() if k != "rid"}
        if any(k.startswith("$") for k in settings):
            raise MatchError("body: operator key")
        result = await rooms_settings.save_room_settings(req.app, req.user_id, req.body["rid"], settings)
        return {"rid": result["rid"]}

    @rest.route("GET", "rooms.get", query=SINCE)
    async def rooms_get(req: RestRequest) -> dict[str, Any]:
        """The caller's rooms, ``{update, remove}`` (changes since ``updatedSince``)."""
        since = req.query.get("updatedSince")
        date = rooms_queries.parse_rest_date(
            since, "error-updatedSince-param-invalid", 'The "updatedSince" query parameter must be a valid date.'
        ) if since else None
        result = await rooms_queries.get_rooms(req.app, req.user_id, date)
        return {"update": result, "remove": []} if isinstance(result, list) else result

    @rest.route("GET", "subscriptions.get", query=SINCE)
    async def subscriptions_get(req: RestRequest) -> dict[str, Any]:
        """The caller's subscriptions, ``{update, remove}`` (changes since ``updatedSince``)."""
        since = req.query.get("updatedSince")
        date = rooms_queries.parse_rest_date(
            since, "error-roomId-param-invalid", 'The "lastUpdate" query parameter must be a valid date.'
        ) if since else None
        result = await rooms_queries.get_subscriptions(req.app, req.user_id, date)
        return {"update": result, "remove": []} if isinstance(result, list) else result

    @rest.route("GET", "subscriptions.getOne", query=GET_ONE)
    async def subscriptions_get_one(req: RestRequest) -> dict[str, Any]:
        """The caller's subscription to ``roomId`` (``null`` when not a member)."""
        sub = await req.app.store.subscriptions.find_one({"rid": req.query["roomId"], "u._id": req.user_id})
        return {"subscription": sub}

    @rest.route("POST", "groups.invite", body=INVITE)
    async def groups_invite(req: RestRequest) -> dict[str, Any]:
        """Add users to a private group (``addUsersToRoom``); returns ``{group}``."""
        b = req.body
        ref = b.get("roomId") or b.get("roomName") or ""
        if not ref.strip():
            raise MeteorError("error-room-param-not-provided", 'The parameter "roomId" or "roomName" is required')
        room = await req.app.store.rooms.find_one({"_id": ref}) or await req.app.store.rooms.find_one({"name": ref})
        if room is None or room.get("t") != "p":
            raise MeteorError("error-room-not-found", rooms_queries.GROUP_NOT_FOUND)
        names = await _users_from(req, b)
        if not names:
            raise MeteorError("error-empty-invite-list", "Cannot invite if no valid users are provided")
        await rooms_membership.add_users_to_room(req.app, req.user_id, room["_id"], names)
        return {"group": await _group_answer(req, room["_id"])}

    @rest.route("POST", "groups.kick", body=KICK)
    async def groups_kick(req: RestRequest) -> dict[str, Any]:
        """Remove a member from a private group (``removeUserFromRoom``)."""
        b = req.body
        room = await rooms_queries.find_private_group(req.app, req.user_id or "", b.get("roomId"), b.get("roomName"))
        user = await _user_from(req, b)
        await rooms_membership.remove_user_from_room(req.app, req.user_id, room["_id"], user["username"])
        return {}

    @rest.route("POST", "groups.leave", body=ROOM_ONLY)
    async def groups_leave(req: RestRequest) -> dict[str, Any]:
        """Leave a private group (``leaveRoom``)."""
        b = req.body
        room = await rooms_queries.find_private_group(req.app, req.user_id or "", b.get("roomId"), b.get("roomName"))
        await rooms_membership.leave_room(req.app, req.user_id, room["_id"])
        return {}

    @rest.route("GET", "groups.roles", query=ROOM_ONLY)
    async def groups_roles(req: RestRequest) -> dict[str, Any]:
        """Owners, moderators and leaders of a private group (``getRoomRoles``)."""
        q = req.query
        room = await rooms_queries.find_private_group(req.app, req.user_id or "", q.get("roomId"), q.get("roomName"))
        return {"roles": await rooms_queries.get_room_roles(req.app, req.user_id, room["_id"])}
