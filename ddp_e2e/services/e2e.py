"""Rocket.Chat's end-to-end encryption, server side: what every E2EE service module shares.

The server stores keys and wrapped keys as opaque strings and moves them between the right
people; it never parses or transforms them (rocketchat-e2e.md §1, §9.5). The work is split by
job: ``e2e_keys`` (a user's key pair), ``e2e_rooms`` (room key ids and wrapped room keys),
``e2e_queue`` (who waits for a room key, suggestions), ``e2e_reset`` (room key reset, user key
reset). This module holds the errors with Rocket.Chat's exact codes and reasons, the membership
gate every room-scoped call goes through, and the change notifications.

Two rules are stricter than upstream, on purpose (issue #4): a room's E2EE data (its members'
public keys, the waiting queue) is only for the room's *members* (upstream lets any logged-in
user read ``fetchUsersWaitingForGroupKey`` for any room, and public-channel readers through
``canAccessRoom``), and no key string is ever written to a log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..ddp.errors import MeteorError
from .access import get_subscription, member_ids
from .notify import notify_user, room_changed, subscription_changed
from .rooms_common import publish_room, publish_subscription

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("ddp_e2e.e2e")

#: Every Meteor.Error code the E2EE API can answer, with Rocket.Chat's reason text. The docs
#: (docs/E2EE-API.md) and protocol/e2e/*.json list them per method from this table.
ERRORS: dict[str, str] = {
    "error-invalid-user": "Invalid user",
    "error-invalid-room": "Invalid room",
    "error-invalid-keys": "Invalid keys",
    "error-keys-already-set": "Keys already set",
    "error-room-e2e-key-already-exists": "E2E Key ID already exists",
    "error-subscription-not-found": "Subscription not found",
    "error-no-suggested-key-available": "No suggested key available",
    "error-user-not-in-room": "User is not in this room",
    "error-not-allowed": "Not allowed",
    "error-action-not-allowed": "Not allowed",
}


def e2e_error(code: str, method: str | None = None, reason: str | None = None) -> MeteorError:
    """A Meteor.Error with the table's reason and ``details.method``, as Rocket.Chat throws it."""
    return MeteorError(code, reason or ERRORS[code], {"method": method} if method else None)


def require_user(user_id: str | None, method: str) -> str:
    """``error-invalid-user`` unless logged in (every E2EE method checks this first)."""
    if not user_id:
        raise e2e_error("error-invalid-user", method)
    return user_id


async def member_subscription(app: App, rid: str, user_id: str, method: str) -> dict[str, Any]:
    """The caller's subscription to ``rid``, or ``error-invalid-room``.

    An unknown room and a room the caller is not in give the same answer, so a non-member
    learns nothing, not even whether the room exists.
    """
    if not isinstance(rid, str) or not rid:
        raise e2e_error("error-invalid-room", method)
    sub = await get_subscription(app, rid, user_id)
    if sub is None:
        raise e2e_error("error-invalid-room", method)
    return sub


def e2e_enabled(app: App) -> bool:
    return app.settings.get("E2E_Enable") is True


def stamped(app: App, update: dict[str, Any]) -> dict[str, Any]:
    """``update`` plus ``$set: {_updatedAt: now}``.

    Rocket.Chat's models bump ``_updatedAt`` on every write, and clients resync with
    ``subscriptions/get`` / ``rooms/get`` after a date: a key change that left it alone would be
    missed by a client that was offline when the event went out.
    """
    return {**update, "$set": {**update.get("$set", {}), "_updatedAt": app.now()}}


def announce_subscription(app: App, sub: dict[str, Any]) -> None:
    """``<uid>/subscriptions-changed`` ("updated"), published fields, to the subscription's user only."""
    subscription_changed(app, "updated", publish_subscription(sub))


async def notify_subscription(app: App, sub_id: str) -> None:
    """:func:`announce_subscription` for the stored subscription."""
    sub = await app.store.subscriptions.find_one({"_id": sub_id})
    if sub is not None:
        announce_subscription(app, sub)


async def notify_rooms(app: App, rids: Iterable[str]) -> None:
    """``<uid>/rooms-changed`` ("updated") with the stored room's published fields, to its members."""
    for rid in dict.fromkeys(rids):
        room = await app.store.rooms.find_one({"_id": rid})
        if room is not None:
            room_changed(app, "updated", publish_room(room), await member_ids(app, rid))


def force_logout(app: App, user_id: str) -> None:
    """``<uid>/force_logout``: every client of the user drops its session (key resets)."""
    notify_user(app, user_id, "force_logout")


def register_hooks(app: App) -> None:
    """Hooks other services call: the after-join hook queues a member for the room key."""
    from .e2e_queue import after_join_room

    hooks = app.extensions.setdefault("after_join_room", [])
    if after_join_room not in hooks:
        hooks.append(after_join_room)
