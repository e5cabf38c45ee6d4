"""Room creation as Rocket.Chat does it: private groups, public channels and direct messages.

One implementation serves DDP ``createPrivateGroup`` / ``createChannel`` / ``createDirectMessage``
and REST ``groups.create`` / ``channels.create`` / ``im.create``. Sources read:
``createRoom.ts``, ``createDirectRoom.ts``, ``createDirectMessage.ts``, ``getValidRoomName.ts``
and the E2EE ``beforeCreateRoom`` callback (spec rocketchat-e2e.md §5): with ``E2E_Enable`` on,
``E2E_Enabled_Default_DirectRooms`` / ``_PrivateRooms`` make new ``d`` / ``p`` rooms encrypted
unless the creator said otherwise; ``extraData.encrypted`` is honoured for ``d`` and ``p`` only.
Membership changes are in ``rooms_membership.py``, settings in ``rooms_settings.py``.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from ..ddp.check import Boolean, ObjectIncluding, Optional, String
from ..ddp.errors import MeteorError
from .accounts import find_user
from .notify import room_changed, subscription_changed
from .rooms_common import (
    insert_subscription,
    load_user,
    publish_room,
    publish_subscription,
    run_hooks,
    subscription_doc,
    user_ref,
)
from .rooms_permissions import has_permission

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("ddp_e2e.rooms")

#: ``extraData`` keys we copy into a new room (everything else a client sends is dropped, so a
#: client can never set ``_id``, ``u``, ``usersCount`` or ``e2eKeyId`` through it).
EXTRA_DATA_KEYS: dict[str, Any] = {
    "encrypted": Boolean, "broadcast": Boolean, "reactWhenReadOnly": Boolean,
    "topic": String, "description": String, "announcement": String,
}
EXTRA_DATA = ObjectIncluding({k: Optional(p) for k, p in EXTRA_DATA_KEYS.items()})

#: ``UTF8_Channel_Names_Validation`` default.
ROOM_NAME = re.compile(r"^[0-9a-zA-Z\-_.]+$")
DEFAULT_DM_MAX_USERS = 8


def _method_error(code: str, reason: str, method: str) -> MeteorError:
    return MeteorError(code, reason, {"method": method})


def _apply_extra_data(app: App, t: str, extra: dict[str, Any] | None) -> dict[str, Any]:
    """The allowed ``extraData`` for a room of type ``t``, with the E2EE creation defaults."""
    out = {k: v for k, v in (extra or {}).items() if k in EXTRA_DATA_KEYS and v is not None}
    if t not in ("d", "p"):
        out.pop("encrypted", None)
    elif app.settings.get("E2E_Enable") and app.settings.get(
        "E2E_Enabled_Default_DirectRooms" if t == "d" else "E2E_Enabled_Default_PrivateRooms"
    ):
        out.setdefault("encrypted", True)
    return out


async def valid_room_name(app: App, name: str, rid: str = "") -> str:
    """``getValidRoomName``: the trimmed name, checked against the pattern and existing rooms."""
    clean = name.strip()
    if not ROOM_NAME.match(clean):
        raise MeteorError("error-invalid-room-name", f"{clean} is not a valid room name.",
                          {"function": "RocketChat.getValidRoomName", "channel_name": clean})
    other = await app.store.rooms.find_one({"name": clean}, {"archived": 1})
    if other is not None and other["_id"] != rid:
        if other.get("archived"):
            raise MeteorError("error-archived-duplicate-name", f"There's an archived channel with name {clean}",
                              {"function": "RocketChat.getValidRoomName", "channel_name": clean})
        raise _duplicate_name(clean)
    return clean


def _duplicate_name(name: str) -> MeteorError:
    return MeteorError("error-duplicate-channel-name", f"A channel with name '{name}' exists",
                       {"function": "RocketChat.getValidRoomName", "channel_name": name})


async def create_room(
    app: App,
    user_id: str | None,
    t: str,
    name: str,
    members: list[str] | None = None,
    *,
    read_only: bool = False,
    custom_fields: dict[str, Any] | None = None,
    extra_data: dict[str, Any] | None = None,
    exclude_self: bool = False,
    method: str = "createRoom",
) -> dict[str, Any]:
    """Create a ``p`` or ``c`` room owned by the caller; returns ``{rid, inserted, ...room}``."""
    if t not in ("p", "c"):
        raise ValueError(f"create_room handles p and c, not {t!r}")
    owner = await load_user(app, user_id)
    if owner is None or not owner.get("username"):
        raise _method_error("error-invalid-user", "Invalid user", method)
    if not await has_permission(app, owner["_id"], f"create-{t}"):
        raise _method_error("error-not-allowed", "Not allowed", method)
    if not name.strip():
        raise MeteorError("error-invalid-name", "Invalid name", {"function": "RocketChat.createRoom"})
    clean = await valid_room_name(app, name)
    usernames = list(dict.fromkeys(members or ()))
    if not exclude_self and owner["username"] not in usernames:
        usernames.append(owner["username"])
    extra = _apply_extra_data(app, t, extra_data)
    read_only = read_only is True
    if extra.get("broadcast"):
        read_only = True
        extra.pop("reactWhenReadOnly", None)
    now = app.now()
    room: dict[str, Any] = {
        "_id": app.random.id(), "fname": name, "_updatedAt": now, "customFields": custom_fields or {},
        **extra, "name": clean, "t": t, "msgs": 0, "usersCount": 0, "u": user_ref(owner), "ts": now,
        "ro": read_only,
    }
    try:
        await app.store.rooms.insert_one(dict(room))
    except DuplicateKeyError as e:
        raise _duplicate_name(clean) from e
    joined = await _subscribe_members(app, room, owner, usernames, now)
    room = await app.store.rooms.find_one_and_update(
        {"_id": room["_id"]}, {"$inc": {"usersCount": len(joined)}}, return_document=ReturnDocument.AFTER
    ) or room
    room_changed(app, "inserted", publish_room(room), [u["_id"] for u in joined])
    log.info("room created", extra={"rid": room["_id"], "room_type": t, "members": len(joined)})
    for member in joined:
        await run_hooks(app, "after_join_room", room, member["_id"])
    return {"rid": room["_id"], "inserted": True, **room}


async def _subscribe_members(app: App, room: dict[str, Any], owner: dict[str, Any], usernames: list[str],
                             now: Any) -> list[dict[str, Any]]:
    """Subscriptions for the members that exist (unknown usernames are skipped, as upstream)."""
    joined: list[dict[str, Any]] = []
    for username in usernames:
        user = await app.store.users.find_one({"username": username}, {"username": 1, "name": 1})
        if user is None or any(j["_id"] == user["_id"] for j in joined):
            continue
        extra: dict[str, Any] = {"open": True}
        if user["_id"] == owner["_id"]:
            extra.update(ls=now, roles=["owner"])
        if await insert_subscription(app, subscription_doc(app, room, user, now, **extra)):
            joined.append(user)
    return joined


async def create_direct_message(
    app: App, user_id: str | None, usernames: list[str], exclude_self: bool = False
) -> dict[str, Any]:
    """``createDirectMessage``: find or create the ``d`` room of the caller and ``usernames``.

    Two members: the room id is both user ids sorted and concatenated (Rocket.Chat's rule);
    more: a random id, found again by its exact ``uids`` set. Returns ``{t, rid, usernames}``.
    """
    method = "createDirectMessage"
    me = await load_user(app, user_id)
    if me is None or not me.get("username"):
        raise _method_error("error-invalid-user", "Invalid user", method)
    if (app.settings.get("Message_AllowDirectMessagesToYourself") is False and len(usernames) == 1
            and usernames[0] == me["username"]):
        raise _method_error("error-invalid-user", "Invalid user", method)
    others: list[dict[str, Any]] = []
    for username in usernames:
        if username == me["username"]:
            continue
        other = await find_user(app, {"username": username})
        if other is None or other.get("active") is False:
            raise _method_error("error-invalid-user", "Invalid user", method)
        if other["_id"] != me["_id"] and all(o["_id"] != other["_id"] for o in others):
            others.append(other)
    room_users = others if exclude_self else [me, *others]
    if not room_users or (len(room_users) == 1 and room_users[0]["_id"] != me["_id"]):
        raise _method_error("error-invalid-user", "Invalid user", method)
    if not await has_permission(app, me["_id"], "create-d"):
        raise _method_error("error-not-allowed", "Not allowed", method)
    max_users = app.settings.get("DirectMesssage_maxUsers") or DEFAULT_DM_MAX_USERS
    if len(room_users) > max_users:
        raise MeteorError(
            "error-direct-message-max-user-exceeded",
            f"You cannot add more than {max_users} users, including yourself to a direct message",
            {"method": "createDirectRoom"},
        )
    ordered = sorted(room_users, key=lambda u: (u.get("name") or u["username"]).casefold())
    names = [u["username"] for u in ordered]
    uids = sorted(u["_id"] for u in room_users)
    room, inserted = await _find_or_insert_dm(app, uids, names)
    joined = await _open_dm_subscriptions(app, room, ordered, me["_id"])
    if inserted:
        room_changed(app, "inserted", publish_room(room), uids)
    for uid in joined:
        await run_hooks(app, "after_join_room", room, uid)
    return {"t": "d", "rid": room["_id"], "usernames": names}


async def _find_or_insert_dm(app: App, uids: list[str], names: list[str]) -> tuple[dict[str, Any], bool]:
    query: dict[str, Any] = (
        {"_id": "".join(uids)} if len(uids) == 2 else {"t": "d", "uids": {"$size": len(uids), "$all": uids}}
    )
    existing = await app.store.rooms.find_one(query)
    if existing is not None:
        return existing, False
    now = app.now()
    room: dict[str, Any] = {
        "_id": "".join(uids) if len(uids) == 2 else app.random.id(), "t": "d", "usernames": names,
        "usersCount": len(uids), "msgs": 0, "ts": now, "uids": uids, **_apply_extra_data(app, "d", None),
        "_updatedAt": now,
    }
    try:
        await app.store.rooms.insert_one(dict(room))
    except DuplicateKeyError:
        again = await app.store.rooms.find_one(query)
        if again is None:
            raise
        return again, False
    log.info("direct room created", extra={"rid": room["_id"], "members": len(uids)})
    return room, True


async def _open_dm_subscriptions(app: App, room: dict[str, Any], ordered: list[dict[str, Any]],
                                 creator_id: str) -> list[str]:
    """Each member's subscription named after the *other* members; the creator's is opened."""
    now = app.now()
    joined: list[str] = []
    for member in ordered:
        sub = await app.store.subscriptions.find_one({"rid": room["_id"], "u._id": member["_id"]})
        if sub is not None:
            if member["_id"] == creator_id and not sub.get("open"):
                await app.store.subscriptions.update_one({"_id": sub["_id"]}, {"$set": {"open": True, "_updatedAt": now}})
                subscription_changed(app, "updated", publish_subscription({**sub, "open": True, "_updatedAt": now}))
            continue
        rest = [m for m in ordered if m["_id"] != member["_id"]] or [member]
        doc = subscription_doc(
            app, room, member, now,
            open=member["_id"] == creator_id or len(ordered) > 2,
            fname=", ".join(m.get("name") or m["username"] for m in rest),
            name=", ".join(m["username"] for m in rest),
        )
        doc["u"] = {"_id": member["_id"], "username": member["username"]}
        if await insert_subscription(app, doc):
            joined.append(member["_id"])
    return joined
