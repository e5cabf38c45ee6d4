"""Room key reset (REST ``e2e.resetRoomKey``, Rocket.Chat 7.0+, rocketchat-e2e.md §6.8).

A member allowed to toggle the room's encryption replaces the room key: every member's current
``E2EKey`` moves to the front of its ``oldRoomKeys`` (newest first, at most 10) so old messages
stay readable, the room gets the new ``e2eKeyId``, the other members are queued for the new key,
and the caller's own subscription gets the new wrapped key.

Rocket.Chat answers this route with plain ``Error`` objects, so the client sees
``{"success": false, "error": "<code>"}`` without ``errorType``; :class:`PlainError` carries that
shape to the route. Upstream leaks its lock when the access check fails; here every path releases
it, and a lock is only ever held 10 seconds even if a reset never finishes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pymongo import ReturnDocument

from .access import get_room, get_subscription
from .e2e import announce_subscription, notify_rooms, stamped
from .e2e_queue import QUEUE_LIMIT

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("ddp_e2e.e2e")

#: Rocket.Chat's ``ExpiryMap(10000)``: a reset lock expires by itself after 10 seconds.
RESET_LOCK_SECONDS = 10.0
#: Old room keys kept per subscription.
OLD_ROOM_KEYS = 10


class PlainError(Exception):
    """A REST failure Rocket.Chat sends without ``errorType``: ``{"success": false, "error": code}``."""

    def __init__(self, status: int, error: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(error)
        self.status, self.error, self.details = status, error, details

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"success": False, "error": self.error}
        if self.details:
            out["details"] = self.details
        return out


class ExpiringLocks:
    """Per-key locks that expire after ``ttl`` seconds (a crashed holder cannot block forever)."""

    def __init__(self, ttl: float = RESET_LOCK_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.clock = ttl, clock
        self._until: dict[str, float] = {}

    def held(self, key: str) -> bool:
        until = self._until.get(key)
        if until is None:
            return False
        if until <= self.clock():
            del self._until[key]
            return False
        return True

    def try_acquire(self, key: str) -> bool:
        """Take the lock unless someone holds it; no waiting (a second reset is refused)."""
        if self.held(key):
            return False
        self._until[key] = self.clock() + self.ttl
        return True

    def release(self, key: str) -> None:
        self._until.pop(key, None)


def reset_locks(app: App) -> ExpiringLocks:
    """The App's room-key-reset locks (one set per server process, like upstream's map)."""
    locks = app.extensions.get("e2e_reset_locks")
    if locks is None:
        locks = app.extensions["e2e_reset_locks"] = ExpiringLocks()
    return locks


async def can_toggle_room_encryption(app: App, user_id: str, room: dict[str, Any] | None,
                                     sub: dict[str, Any] | None) -> bool:
    """Permission ``toggle-room-e2e-encryption`` on the room (spec §5).

    Any member of a direct room; the room's owners and global admins otherwise.
    """
    if room is not None and room.get("t") == "d":
        return sub is not None
    if sub is not None and "owner" in (sub.get("roles") or []):
        return True
    user = await app.store.users.find_one({"_id": user_id}, {"roles": 1})
    return "admin" in ((user or {}).get("roles") or [])


async def reset_room_key_checked(app: App, user_id: str, rid: str, e2e_key: str, e2e_key_id: str) -> None:
    """The whole route: permission (403), lock (400 in progress), access (400), then the reset.

    A failure inside the reset itself is ``error-e2e-key-reset-failed``, as upstream; its cause
    (``error-user-has-no-keys``, ``error-room-not-encrypted``, ...) is added as ``details.cause``.
    """
    room = await get_room(app, rid) if rid else None
    sub = await get_subscription(app, rid, user_id) if rid else None
    if not await can_toggle_room_encryption(app, user_id, room, sub):
        raise PlainError(403, "error-not-allowed")
    locks = reset_locks(app)
    if not locks.try_acquire(rid):
        raise PlainError(400, "error-e2e-key-reset-in-progress")
    try:
        if room is None or sub is None:
            raise PlainError(400, "error-not-allowed")
        try:
            await reset_room_key(app, rid, user_id, e2e_key, e2e_key_id)
        except _ResetFailed as exc:
            log.info("room key reset refused", extra={"user_id": user_id, "rid": rid, "cause": exc.cause})
            raise PlainError(400, "error-e2e-key-reset-failed", {"cause": exc.cause}) from exc
    finally:
        locks.release(rid)


class _ResetFailed(Exception):
    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def _shifted_old_keys(old_key_id: str, sub: dict[str, Any], now: Any) -> list[dict[str, Any]] | None:
    """The subscription's ``oldRoomKeys`` after the reset: its current key first, newest 10."""
    current = sub.get("E2EKey")
    if not isinstance(current, str) or not current:
        return None
    previous = [k for k in (sub.get("oldRoomKeys") or []) if isinstance(k, dict)]
    previous.sort(key=lambda k: k.get("ts") or now, reverse=True)
    return [{"e2eKeyId": old_key_id, "ts": now, "E2EKey": current}, *previous][:OLD_ROOM_KEYS]


async def reset_room_key(app: App, rid: str, user_id: str, e2e_key: str, e2e_key_id: str) -> None:
    """``resetRoomKey.ts``: move keys to history, set the new key id and queue, give the caller the key."""
    user = await app.store.users.find_one({"_id": user_id}, {"e2e.public_key": 1, "e2e.private_key": 1})
    if user is None:
        raise _ResetFailed("error-user-not-found")
    e2e = user.get("e2e") or {}
    if not e2e.get("public_key") or not e2e.get("private_key"):
        raise _ResetFailed("error-user-has-no-keys")
    room = await app.store.rooms.find_one({"_id": rid}, {"e2eKeyId": 1})
    if room is None:
        raise _ResetFailed("error-room-not-found")
    old_key_id = room.get("e2eKeyId")
    if not isinstance(old_key_id, str) or not old_key_id:
        raise _ResetFailed("error-room-not-encrypted")
    now = app.now()
    queue: list[dict[str, Any]] = []
    for sub in await app.store.subscriptions.find({"rid": rid}).to_list(None):
        update: dict[str, Any] = {"$unset": {"E2EKey": 1, "E2ESuggestedKey": 1, "suggestedOldRoomKeys": 1}}
        old = _shifted_old_keys(old_key_id, sub, now)
        if old is not None:
            update["$set"] = {"oldRoomKeys": old}
        changed = await app.store.subscriptions.find_one_and_update(
            {"_id": sub["_id"]}, stamped(app, update), return_document=ReturnDocument.AFTER
        )
        if sub["u"]["_id"] != user_id:
            if changed is not None:
                announce_subscription(app, changed)
            if len(queue) < QUEUE_LIMIT:
                queue.append({"userId": sub["u"]["_id"], "ts": now})
    room_update: dict[str, Any] = {"$set": {"e2eKeyId": e2e_key_id}}
    if queue:
        room_update["$set"]["usersWaitingForE2EKeys"] = queue
    else:
        room_update["$unset"] = {"usersWaitingForE2EKeys": 1}
    await app.store.rooms.update_one({"_id": rid}, stamped(app, room_update))
    mine = await app.store.subscriptions.find_one_and_update(
        {"rid": rid, "u._id": user_id}, stamped(app, {"$set": {"E2EKey": e2e_key}}),
        return_document=ReturnDocument.AFTER,
    )
    if mine is not None:
        announce_subscription(app, mine)
    await notify_rooms(app, [rid])
    log.info("room key reset", extra={"user_id": user_id, "rid": rid, "queued": len(queue)})
