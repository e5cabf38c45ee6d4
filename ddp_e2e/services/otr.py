"""OTR relay: ``stream-notify-user`` ``<peerUid>/otr`` between the two members of a direct room.

Rocket.Chat's OTR is a client-to-client ECDH handshake that the server only forwards: the web
client writes ``["<peerUid>/otr", type, {roomId, userId, publicKey?, refresh?}]`` and the peer
receives ``[type, data]`` on its own user stream. Nothing is stored.

Upstream lets any logged-in user write to any user's ``/otr`` event. Here a write is relayed
only when the writer and the peer are exactly the two members of the ``d`` room named in
``data.roomId``, ``data.userId`` is the writer itself, and the payload has the declared shape;
anything else is dropped silently (a stream write never answers with an error).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..ddp.check import Boolean, MaxLenString, Maybe, Object, Optional
from ..ddp.errors import MatchError
from .access import get_room, member_ids
from .messages_common import setting
from .notify import notify_user

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("ddp_e2e.otr")

#: What the web client sends (``OTRRoom.ts``): a handshake, its acknowledgement, a refusal, an end.
OTR_TYPES = frozenset({"handshake", "acknowledge", "deny", "end"})
#: Types that carry the sender's ephemeral ECDH public key (EJSON text of a JWK).
KEYED_TYPES = frozenset({"handshake", "acknowledge"})

OTR_DATA = Object({
    "roomId": MaxLenString(256, min_len=1),
    "userId": MaxLenString(256, min_len=1),
    "publicKey": Optional(MaxLenString(8192, min_len=1)),
    "refresh": Optional(Maybe(Boolean)),
})


def _drop(reason: str, **ids: Any) -> bool:
    log.info("otr relay refused", extra={"reason": reason, **ids})
    return False


async def relay(
    app: App, sender_id: str | None, peer_id: str, otr_type: Any, data: Any, *, origin: object = None
) -> bool:
    """Forward one OTR event to ``peer_id``; returns whether it was relayed."""
    if not sender_id or not setting(app, "OTR_Enable"):
        return _drop("disabled or anonymous")
    if otr_type not in OTR_TYPES:
        return _drop("unknown type", sender_id=sender_id)
    try:
        OTR_DATA.check(data, "data")
    except MatchError:
        return _drop("bad payload shape", sender_id=sender_id)
    if (otr_type in KEYED_TYPES) != ("publicKey" in data):
        return _drop("public key missing or unexpected", sender_id=sender_id)
    if data["userId"] != sender_id or peer_id == sender_id:
        return _drop("sender mismatch", sender_id=sender_id)
    rid = data["roomId"]
    room = await get_room(app, rid)
    if room is None or room.get("t") != "d":
        return _drop("not a direct room", sender_id=sender_id, rid=rid)
    if set(await member_ids(app, rid)) != {sender_id, peer_id}:
        return _drop("not the two members of the room", sender_id=sender_id, rid=rid)
    payload: dict[str, Any] = {"roomId": rid, "userId": sender_id}
    if "publicKey" in data:
        payload["publicKey"] = data["publicKey"]
    if data.get("refresh") is not None:
        payload["refresh"] = data["refresh"]
    notify_user(app, peer_id, "otr", otr_type, payload, origin=origin)
    log.info("otr relayed", extra={"sender_id": sender_id, "peer_id": peer_id, "rid": rid, "otr_type": otr_type})
    return True
