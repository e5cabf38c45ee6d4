"""Rocket.Chat's permission check for the room actions we emulate.

Why a table and not a permissions collection: the emulator ships Rocket.Chat's *default* role
grants (``apps/meteor/server/lib/authorization/...`` defaults) and nothing edits them at run
time. A user's roles are its global ``users.roles`` plus, for a room-scoped check, the
``roles`` of its subscription to that room (``owner``, ``moderator``, ``leader``), exactly the
two sources Rocket.Chat's ``hasPermission(uid, perm, rid)`` unions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .access import get_subscription

if TYPE_CHECKING:
    from ..app import App

_EVERYONE = frozenset({"admin", "user", "bot", "app"})

#: permission -> roles granted it by default (Rocket.Chat 6.x/7.x defaults).
DEFAULT_PERMISSIONS: dict[str, frozenset[str]] = {
    "create-c": _EVERYONE,
    "create-p": _EVERYONE,
    "create-d": _EVERYONE | {"livechat-agent"},
    "add-user-to-joined-room": frozenset({"admin", "owner", "moderator"}),
    "add-user-to-any-c-room": frozenset({"admin"}),
    "add-user-to-any-p-room": frozenset(),
    "remove-user": frozenset({"admin", "owner", "moderator"}),
    "kick-user-from-any-c-room": frozenset({"admin"}),
    "kick-user-from-any-p-room": frozenset(),
    "edit-room": frozenset({"admin", "owner", "moderator"}),
    "toggle-room-e2e-encryption": frozenset({"admin", "owner"}),
    "leave-c": _EVERYONE | {"anonymous"},
    "leave-p": _EVERYONE | {"anonymous"},
    "view-room-administration": frozenset({"admin"}),
}

#: Roles that live on a subscription (room scope), as Rocket.Chat's ``Subscriptions`` scope.
ROOM_ROLES = ("owner", "moderator", "leader")


async def user_roles(app: App, user_id: str, rid: str | None = None) -> set[str]:
    """Global roles of the user, plus its roles in room ``rid`` when one is given."""
    user = await app.store.users.find_one({"_id": user_id}, {"roles": 1})
    roles = set((user or {}).get("roles") or ())
    if rid is not None:
        sub = await get_subscription(app, rid, user_id)
        roles |= set((sub or {}).get("roles") or ())
    return roles


async def has_permission(app: App, user_id: str | None, permission: str, rid: str | None = None) -> bool:
    """Rocket.Chat's ``hasPermissionAsync``: any of the user's roles is granted ``permission``."""
    if not user_id:
        return False
    granted = DEFAULT_PERMISSIONS.get(permission, frozenset())
    return bool(await user_roles(app, user_id, rid) & granted)


async def has_room_role(app: App, user_id: str, role: str, rid: str) -> bool:
    """Rocket.Chat's ``hasRoleAsync(uid, role, rid)`` for a room-scoped role."""
    sub = await get_subscription(app, rid, user_id)
    return role in ((sub or {}).get("roles") or ())


async def count_room_role(app: App, rid: str, role: str) -> int:
    """How many members hold ``role`` in the room (the "last owner" rule)."""
    return await app.store.subscriptions.count_documents({"rid": rid, "roles": role})
