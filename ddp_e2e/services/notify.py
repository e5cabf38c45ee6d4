"""Rocket.Chat's notifications: typed helpers over the hub so event names live in one place.

Every change of a subscription or room goes out as ``<uid>/subscriptions-changed`` or
``<uid>/rooms-changed`` to the users concerned (rocketchat-e2e.md §2.3); messages go to
``stream-room-messages`` (by room id, and ``__my_messages__`` for the members).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..app import App


def notify_user(app: App, user_id: str, event: str, *args: Any, origin: object = None) -> int:
    return app.hub.emit("notify-user", f"{user_id}/{event}", list(args), origin=origin)


def notify_room(app: App, rid: str, event: str, *args: Any, origin: object = None) -> int:
    return app.hub.emit("notify-room", f"{rid}/{event}", list(args), origin=origin)


def notify_logged(app: App, event: str, *args: Any) -> int:
    return app.hub.emit("notify-logged", event, list(args))


def notify_all(app: App, event: str, *args: Any) -> int:
    return app.hub.emit("notify-all", event, list(args))


def subscription_changed(app: App, action: str, subscription: dict[str, Any]) -> int:
    """``<uid>/subscriptions-changed`` to the subscription's own user (it carries their E2EKey)."""
    return notify_user(app, subscription["u"]["_id"], "subscriptions-changed", action, subscription)


def room_changed(app: App, action: str, room: dict[str, Any], user_ids: Iterable[str]) -> int:
    """``<uid>/rooms-changed`` to each given member."""
    return sum(notify_user(app, uid, "rooms-changed", action, room) for uid in user_ids)


def room_message(app: App, message: dict[str, Any], member_ids: Iterable[str], *, origin: object = None) -> int:
    """A stored message, unchanged, to the room's subscribers and to members' ``__my_messages__``."""
    n = app.hub.emit("room-messages", message["rid"], [message], origin=origin)
    n += app.hub.emit("room-messages", "__my_messages__", [message], audience=list(member_ids), origin=origin)
    return n
