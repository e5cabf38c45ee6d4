"""``saveRoomSettings``: the room settings the emulator supports, starting with ``encrypted``.

Sources read: ``saveRoomSettings.ts`` (validators, ``edit-room`` rule and its DM exception),
``saveRoomEncrypted.ts`` and the room types' ``allowRoomSettingChange(E2E)`` (spec
rocketchat-e2e.md §5, §6.9, §7). Encryption can change only on ``d`` and ``p`` rooms while
``E2E_Enable`` is on; ``p`` needs ``toggle-room-e2e-encryption`` (owner or admin), a ``d`` room
any of its members. Turning it off keeps ``e2eKeyId`` and every key (#18101), so old messages
stay readable. DDP ``saveRoomSettings``, REST ``rooms.saveRoomSettings`` and
``groups.setEncrypted`` all end here.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..ddp.check import MISSING
from ..ddp.errors import MatchError, MeteorError
from .access import get_room, get_subscription
from .notify import subscription_changed
from .rooms_common import announce_room, load_user, publish_subscription
from .rooms_permissions import has_permission
from .system_messages import save_system_message

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("ddp_e2e.rooms")

#: Every setting name Rocket.Chat's ``saveRoomSettings`` knows (others: ``error-invalid-settings``).
KNOWN_SETTINGS = frozenset({
    "roomAvatar", "featured", "roomName", "roomTopic", "roomAnnouncement", "roomCustomFields",
    "roomDescription", "roomType", "readOnly", "reactWhenReadOnly", "systemMessages", "default",
    "joinCode", "streamingOptions", "retentionEnabled", "retentionMaxAge", "retentionExcludePinned",
    "retentionFilesOnly", "retentionIgnoreThreads", "retentionOverrideGlobal", "encrypted", "favorite",
})
#: The ones this server implements.
SUPPORTED_SETTINGS = frozenset({"encrypted"})

METHOD = "saveRoomSettings"


def _not_allowed(reason: str, action: str) -> MeteorError:
    return MeteorError("error-action-not-allowed", reason, {"method": METHOD, "action": action})


def _normalise(settings: str | dict[str, Any], value: Any) -> dict[str, Any]:
    """``(rid, 'encrypted', true)`` and ``(rid, {encrypted: true})`` are the same call."""
    if isinstance(settings, str):
        return {settings: None if value is MISSING else value}
    return dict(settings)


async def save_room_settings(
    app: App, user_id: str | None, rid: str, settings: str | dict[str, Any], value: Any = MISSING
) -> dict[str, Any]:
    """Validate every setting first, then save them; returns ``{result: true, rid}``."""
    if not user_id:
        raise MeteorError("error-invalid-user", "Invalid user", {"function": "RocketChat.saveRoomName"})
    changes = _normalise(settings, value)
    if not all(k in KNOWN_SETTINGS for k in changes):
        raise MeteorError("error-invalid-settings", "Invalid settings provided", {"method": METHOD})
    if not all(k in SUPPORTED_SETTINGS for k in changes):
        raise MeteorError("error-invalid-settings", "Invalid settings provided",
                          {"method": METHOD, "supported": sorted(SUPPORTED_SETTINGS)})
    if "encrypted" in changes and not isinstance(changes["encrypted"], bool):
        raise MatchError("encrypted: expected Boolean")
    room = await get_room(app, rid)
    if room is None:
        raise MeteorError("error-invalid-room", "Invalid room", {"method": METHOD})
    user = await load_user(app, user_id)
    if user is None:
        raise MeteorError("error-invalid-user", "Invalid user", {"method": METHOD})
    member = await get_subscription(app, rid, user_id) is not None
    if room["t"] == "d":
        if not member:  # upstream lets anyone through for a DM; only its members may toggle
            raise _not_allowed("Editing room is not allowed", "Editing_room")
    elif not await has_permission(app, user_id, "edit-room", rid):
        raise _not_allowed("Editing room is not allowed", "Editing_room")
    if "encrypted" in changes:
        await _validate_encrypted(app, user_id, room, changes["encrypted"])
        await save_room_encrypted(app, room, changes["encrypted"], user)
    return {"result": True, "rid": room["_id"]}


async def _validate_encrypted(app: App, user_id: str, room: dict[str, Any], value: bool) -> None:
    if room.get("encrypted") is value:
        return
    if not app.settings.get("E2E_Enable") or room["t"] not in ("d", "p"):
        raise _not_allowed("Only groups or direct channels can enable encryption", "Change_Room_Encrypted")
    if room["t"] != "d" and not await has_permission(app, user_id, "toggle-room-e2e-encryption", room["_id"]):
        raise _not_allowed("You do not have permission to toggle E2E encryption", "Change_Room_Encrypted")


async def save_room_encrypted(app: App, room: dict[str, Any], encrypted: bool, user: dict[str, Any]) -> bool:
    """Set ``encrypted`` on the room and every subscription; post ``room_e2e_enabled/disabled``.

    Nothing else is touched: ``e2eKeyId``, ``E2EKey`` and the old keys stay. Returns False (and
    emits nothing) when the flag already had that value.
    """
    rid = room["_id"]
    if bool(room.get("encrypted")) is encrypted and "encrypted" in room:
        return False
    now = app.now()
    await app.store.rooms.update_one({"_id": rid}, {"$set": {"encrypted": encrypted, "_updatedAt": now}})
    await app.store.subscriptions.update_many({"rid": rid}, {"$set": {"encrypted": encrypted, "_updatedAt": now}})
    for sub in await app.store.subscriptions.find({"rid": rid}).to_list(None):
        subscription_changed(app, "updated", publish_subscription(sub))
    changed = bool(room.get("encrypted")) is not encrypted
    if changed:
        kind = "room_e2e_enabled" if encrypted else "room_e2e_disabled"
        await save_system_message(app, kind, rid, user["username"], user)
    else:  # only the explicit false was written: no message, but the room did change
        await announce_room(app, "updated", rid)
    log.info("room encryption saved", extra={"rid": rid, "encrypted": encrypted})
    return True
