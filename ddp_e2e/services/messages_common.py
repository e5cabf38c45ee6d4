"""What every message path shares: settings with Rocket.Chat's defaults, permissions, send rights.

Rocket.Chat answers some failures with a ``Meteor.Error`` and others with a plain ``Error``: the
REST API turns the first into ``{"error": "<reason> [<code>]", "errorType": code}`` and the second
into ``{"error": "<text>"}``, and the DDP ``sendMessage`` wrapper treats them differently too.
:class:`PlainError` keeps that distinction so each edge can answer exactly as upstream does.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..ddp.errors import MeteorError
from .access import can_access_room, get_room, get_subscription
from .notify import notify_user

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("ddp_e2e.messages")

#: Rocket.Chat settings the message paths read, with a current server's defaults. Settings named
#: in ``config.ROCKETCHAT_DEFAULTS`` win; these fill in the rest (``--setting`` overrides both).
MESSAGE_SETTING_DEFAULTS: dict[str, Any] = {
    "Threads_enabled": True,
    "Message_AllowEditing": True,
    "Message_AllowEditing_BlockEditInMinutes": 0,
    "Message_AllowDeleting": True,
    "Message_AllowDeleting_BlockDeleteInMinutes": 0,
    "Message_KeepHistory": False,
    "Message_ShowDeletedStatus": False,
    "Message_CustomFields_Enabled": False,
    "Store_Last_Message": True,
    "Unread_Count": "user_and_group_mentions_only",
    "Unread_Count_DM": "all_messages",
    "Push_show_username_room": True,
    "Push_show_message": True,
    "UI_Use_Real_Name": False,
    "OTR_Enable": True,
    "Search.defaultProvider.GlobalSearchEnabled": False,
    "uniqueID": "ddp-e2e",
}

#: Rocket.Chat's default role grants for the permissions the message paths check
#: (``apps/meteor/app/authorization/server/constant/permissions.ts``).
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "edit-message": frozenset({"admin", "owner", "moderator"}),
    "delete-message": frozenset({"admin", "owner", "moderator"}),
    "delete-own-message": frozenset({"admin", "user"}),
    "force-delete-message": frozenset({"admin", "owner"}),
    "send-many-messages": frozenset({"admin", "bot", "app"}),
    "message-impersonate": frozenset({"bot", "app"}),
    "post-readonly": frozenset({"admin", "owner", "moderator"}),
    "bypass-time-limit-edit-and-delete": frozenset({"bot", "app"}),
}

#: Message types a client may send itself; every other ``t`` is a system message type.
CLIENT_MESSAGE_TYPES = frozenset({"e2e", "otr", "otr-ack"})


class PlainError(Exception):
    """Upstream's ``throw new Error(text)``: REST answers 400 ``{"success":false,"error":text}``."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def setting(app: App, name: str) -> Any:
    """A Rocket.Chat setting by name, falling back to :data:`MESSAGE_SETTING_DEFAULTS`."""
    value = app.settings.get(name)
    return MESSAGE_SETTING_DEFAULTS.get(name) if value is None else value


def site_url(app: App) -> str:
    """``Meteor.absoluteUrl()``: the site URL with exactly one trailing slash."""
    return str(setting(app, "Site_Url") or "http://127.0.0.1:3000").rstrip("/") + "/"


def utf16_len(text: str) -> int:
    """JavaScript's ``string.length`` (UTF-16 code units), which Message_MaxAllowedSize counts."""
    return len(text.encode("utf-16-le")) // 2


async def load_user(app: App, user_id: str | None) -> dict[str, Any] | None:
    if not user_id:
        return None
    return await app.store.users.find_one({"_id": user_id}, {"services": 0, "e2e": 0})


async def has_permission(
    app: App, user: dict[str, Any] | None, permission: str, rid: str | None = None
) -> bool:
    """Rocket.Chat's ``hasPermission``: the user's global roles plus its roles in ``rid``."""
    if not user:
        return False
    granted = ROLE_PERMISSIONS.get(permission, frozenset())
    roles = set(user.get("roles") or ())
    if rid:
        sub = await get_subscription(app, rid, user["_id"])
        if sub is not None:
            roles.update(sub.get("roles") or ())
    return bool(roles & granted)


async def can_send_message(app: App, rid: str, user: dict[str, Any]) -> dict[str, Any]:
    """Rocket.Chat's ``canSendMessageAsync``: the room, or the plain error upstream throws."""
    room = await get_room(app, rid)
    if room is None:
        raise PlainError("error-invalid-room")
    if user.get("type") != "app" and not await can_access_room(app, user["_id"], rid, room):
        raise PlainError("error-not-allowed")
    if room.get("t") == "d":
        sub = await get_subscription(app, rid, user["_id"])
        if sub is not None and (sub.get("blocked") or sub.get("blocker")):
            raise PlainError("room_is_blocked")
    username = user.get("username")
    if room.get("ro") is True and not await has_permission(app, user, "post-readonly", rid):
        if username and username not in (room.get("unmuted") or []):
            raise PlainError("You can't send messages because the room is readonly.")
    if username and username in (room.get("muted") or []):
        raise PlainError("You_have_been_muted")
    return room


def error_text(exc: BaseException) -> str:
    """What the ephemeral message shows: the i18n key upstream would translate."""
    if isinstance(exc, MeteorError):
        return exc.reason or str(exc.error)
    if isinstance(exc, PlainError):
        return exc.text
    return "error-internal"


def send_ephemeral(app: App, user_id: str, rid: Any, text: str) -> None:
    """``notify.ephemeralMessage``: a private, unsaved message from rocket.cat on ``<uid>/message``."""
    now = app.now()
    notify_user(app, user_id, "message", {
        "msg": text,
        "groupable": False,
        "_id": app.random.id(),
        "rid": rid if isinstance(rid, str) else None,
        "ts": now,
        "u": {"_id": "rocket.cat", "username": "rocket.cat"},
        "private": True,
        "_updatedAt": now,
    })
