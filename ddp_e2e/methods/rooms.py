"""DDP methods of rooms and memberships, each a thin shell over a ``services.rooms*`` function.

Every method declares its params; a dict where a room id or username belongs fails here with
``400 Match failed`` and never reaches a query. Also registers the ``after_user_created`` hook
that puts a newly registered user in the default rooms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..ddp.check import (
    Any_,
    AnyObject,
    ArrayOf,
    Boolean,
    Date,
    MaxLenString,
    Maybe,
    ObjectIncluding,
    OneOf,
    Optional,
    Where,
)
from ..services import rooms, rooms_membership, rooms_queries, rooms_settings

if TYPE_CHECKING:
    from ..app import App
    from ..dispatch import MethodContext

#: A room id, a username or a room name: a bounded string, never an object.
RID = MaxLenString(512)
USERNAME = MaxLenString(256)
ROOM_NAME = MaxLenString(1024)
MEMBERS = ArrayOf(USERNAME, max_items=1000)
#: ``createDirectMessage(...usernames)``: up to this many positional usernames are accepted;
#: more than ``DirectMesssage_maxUsers`` get Rocket.Chat's own error before that.
MAX_DM_PARAMS = 32

ADD_USERS = ObjectIncluding({"rid": RID, "users": MEMBERS})
REMOVE_USER = ObjectIncluding({"rid": RID, "username": USERNAME})
#: A setting name, or ``{name: value}``; a ``$``-key is an operator object, never a setting name.
SETTINGS = OneOf(MaxLenString(64), Where(
    lambda v: isinstance(v, dict) and all(isinstance(k, str) and not k.startswith("$") for k in v),
    "an object of room settings", {"type": "object"},
))
ROOM_RESULT = {"type": "object", "required": ["rid"], "properties": {"rid": {"type": "string"}}}


def register(app: App) -> None:
    r = app.registry

    @r.method("createDirectMessage", *(Optional(USERNAME) for _ in range(MAX_DM_PARAMS)), result=ROOM_RESULT)
    async def create_direct_message(ctx: MethodContext, *usernames: str | None) -> dict[str, Any]:
        """Open (or find) the direct room of the caller and the given users."""
        names = [u for u in usernames if u is not None]
        return await rooms.create_direct_message(ctx.app, ctx.user_id, names)

    def _creator(t: str, name: str) -> Any:
        async def create(ctx: MethodContext, room_name: str, members: list[str] | None = None,
                         read_only: bool | None = None, custom_fields: dict[str, Any] | None = None,
                         extra_data: dict[str, Any] | None = None) -> dict[str, Any]:
            return await rooms.create_room(
                ctx.app, ctx.user_id, t, room_name, members or [], read_only=bool(read_only),
                custom_fields=custom_fields, extra_data=extra_data, method=name,
            )

        create.__doc__ = f"Create a {'private group' if t == 'p' else 'public channel'} owned by the caller."
        r.method(name, ROOM_NAME, Maybe(MEMBERS), Maybe(Boolean), Maybe(AnyObject()), Maybe(rooms.EXTRA_DATA),
                 result=ROOM_RESULT)(create)
        return create

    _creator("p", "createPrivateGroup")
    _creator("c", "createChannel")

    @r.method("addUsersToRoom", ADD_USERS, result={"type": "boolean"})
    async def add_users_to_room(ctx: MethodContext, data: dict[str, Any]) -> bool:
        """Add users (by username) to a room the caller may invite to."""
        return await rooms_membership.add_users_to_room(ctx.app, ctx.user_id, data["rid"], data["users"])

    @r.method("removeUserFromRoom", REMOVE_USER, result={"type": "boolean"})
    async def remove_user_from_room(ctx: MethodContext, data: dict[str, Any]) -> bool:
        """Remove a member (owner, moderator or admin only)."""
        return await rooms_membership.remove_user_from_room(ctx.app, ctx.user_id, data["rid"], data["username"])

    @r.method("leaveRoom", RID)
    async def leave_room(ctx: MethodContext, rid: str) -> None:
        """Leave a channel or private group."""
        await rooms_membership.leave_room(ctx.app, ctx.user_id, rid)

    @r.method("saveRoomSettings", RID, SETTINGS, Optional(Any_), result=ROOM_RESULT)
    async def save_room_settings(ctx: MethodContext, rid: str, settings: Any, value: Any = None) -> dict[str, Any]:
        """``(rid, 'encrypted', bool)`` or ``(rid, {encrypted})``; only d and p rooms encrypt."""
        return await rooms_settings.save_room_settings(ctx.app, ctx.user_id, rid, settings, value)

    @r.method("rooms/get", Maybe(Date))
    async def rooms_get(ctx: MethodContext, updated_since: Any = None) -> Any:
        """The caller's rooms; with a date, ``{update, remove}`` since then."""
        return await rooms_queries.get_rooms(ctx.app, ctx.user_id, updated_since)

    @r.method("subscriptions/get", Maybe(Date))
    async def subscriptions_get(ctx: MethodContext, updated_since: Any = None) -> Any:
        """The caller's subscriptions; with a date, ``{update, remove}`` since then."""
        return await rooms_queries.get_subscriptions(ctx.app, ctx.user_id, updated_since)

    @r.method("getRoomRoles", RID)
    async def get_room_roles(ctx: MethodContext, rid: str) -> Any:
        """Owners, moderators and leaders of a room the caller can access."""
        return await rooms_queries.get_room_roles(ctx.app, ctx.user_id, rid)

    hooks = app.extensions.setdefault("after_user_created", [])
    if rooms_membership.join_default_rooms not in hooks:
        hooks.append(rooms_membership.join_default_rooms)
