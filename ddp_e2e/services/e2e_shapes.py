"""Param shapes of the E2EE API, shared by the DDP methods and their REST twins.

Every value that reaches a query is checked here first: a dict where a string belongs
(``{"$ne": null}``) fails with ``400 Match failed`` on DDP and 400 ``invalid-params`` on REST,
before any handler runs. Keys are opaque strings, so the only checks are type and a length
bound (bounded input is a security rule); their content is never inspected.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..ddp.check import (
    ArrayOf,
    Boolean,
    MaxLenString,
    Maybe,
    Object,
    OneOf,
    Optional,
    Pattern,
    Where,
)
from ..ddp.errors import MatchError

#: Room and user ids, key ids (a 7.13 key id is a 36-character UUID).
ID_MAX = 256
#: A user's key texts: the public JWK (~420 characters) and the private-key envelope (~2.4k).
USER_KEY_MAX = 65536
#: A wrapped room key: key id + 344 base64 characters of RSA-OAEP ciphertext.
WRAPPED_KEY_MAX = 8192
#: Old room keys a subscription keeps (spec §1: at most 10, newest first).
OLD_KEYS_MAX = 10
#: Rooms per ``fetchUsersWaitingForGroupKey`` / ``provideUsersSuggestedGroupKeys`` call; the web
#: client samples at most 10 rooms per round (spec §6.5).
ROOMS_PER_CALL_MAX = 100
#: Users per room in one ``provideUsersSuggestedGroupKeys`` call (the server lists at most 50).
USERS_PER_ROOM_MAX = 500

#: A room id: may be empty (Rocket.Chat answers ``error-invalid-room`` for ``""``, not a Match error).
Rid = MaxLenString(ID_MAX)
#: A user id, key id: non-empty.
Id = MaxLenString(ID_MAX, min_len=1)
#: A user key text: may be empty here, so ``e2e.setUserPublicAndPrivateKeys`` answers Rocket.Chat's
#: own ``error-invalid-keys`` for ``""``.
UserKey = MaxLenString(USER_KEY_MAX)
#: A wrapped room key (``E2EKey`` / ``E2ESuggestedKey``): a non-empty opaque string.
WrappedKey = MaxLenString(WRAPPED_KEY_MAX, min_len=1)


def parse_iso_date(value: Any) -> datetime:
    """An ISO 8601 text (as ``JSON.stringify(date)`` writes it) as an aware UTC datetime."""
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        raise ValueError("not an ISO date text")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    parsed = parsed.astimezone(UTC)
    return parsed.replace(microsecond=(parsed.microsecond // 1000) * 1000)


def _is_iso_date(value: Any) -> bool:
    parse_iso_date(value)
    return True


IsoDate = Where(_is_iso_date, "an ISO 8601 date text", {"type": "string", "format": "date-time"})


class RecordOf(Pattern):
    """An object used as a map: any string keys (up to ``max_keys``), each value matching ``inner``.

    Keys are only ever used as values in queries (``{"rid": key}``), never as field names or
    operators, so a key such as ``"$ne"`` is harmless: it is just a room id that matches nothing.
    """

    def __init__(self, inner: Pattern, *, key: Pattern = Id, max_keys: int = ROOMS_PER_CALL_MAX) -> None:
        self.inner, self.key, self.max_keys = inner, key, max_keys

    def check(self, value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise MatchError(f"{path}: expected object")
        if len(value) > self.max_keys:
            raise MatchError(f"{path}: more than {self.max_keys} keys")
        for k, v in value.items():
            self.key.check(k, f"{path} key")
            self.inner.check(v, f"{path}.{k}")
        return value

    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "propertyNames": self.key.schema(),
            "additionalProperties": self.inner.schema(),
            "maxProperties": self.max_keys,
        }


# ------------------------------------------------------------------ user keys

#: ``e2e.setUserPublicAndPrivateKeys({public_key, private_key, force?})`` (REST body too).
KEY_PAIR = Object({"public_key": UserKey, "private_key": UserKey, "force": Maybe(Boolean)})
#: The founding ``addKeyToChain(key)``: ``{"RSA-PubKey", "RSA-EPrivKey"}``; the 0.70-dev clients
#: sent ``{public_key, private_key}`` under the same name, so both shapes are accepted.
FOUNDING_KEY_PAIR = OneOf(
    Object({"RSA-PubKey": UserKey, "RSA-EPrivKey": UserKey}),
    Object({"public_key": UserKey, "private_key": UserKey}),
)
#: REST ``e2e.addKeyToChain`` body.
FOUNDING_KEY_PAIR_BODY = Object({"RSAPubKey": UserKey, "RSAEPrivKey": UserKey})
#: ``e2e.resetOwnE2EKey``'s optional two-factor argument (accepted; see docs/E2EE-API.md).
TWO_FACTOR = Optional(Object({"twoFactorCode": MaxLenString(1024), "twoFactorMethod": MaxLenString(64)}))

# ------------------------------------------------------------------ room keys

OLD_KEY = Object({"e2eKeyId": Id, "ts": IsoDate, "E2EKey": WrappedKey})
SUGGESTED_KEY = Object({
    "_id": Id,
    "key": WrappedKey,
    "oldKeys": Maybe(ArrayOf(OLD_KEY, max_items=50)),
})
PROVIDE_BODY = Object({
    "usersSuggestedGroupKeys": RecordOf(ArrayOf(SUGGESTED_KEY, max_items=USERS_PER_ROOM_MAX)),
})
ROOM_IDS_QUERY = Object({
    "roomIds": OneOf(ArrayOf(Rid, max_items=ROOMS_PER_CALL_MAX), Rid),
})
RESET_ROOM_KEY_BODY = Object({"rid": Rid, "e2eKey": WrappedKey, "e2eKeyId": Id})
RID_BODY = Object({"rid": Rid})
SET_ROOM_KEY_ID_BODY = Object({"rid": Rid, "keyID": Id})
UPDATE_GROUP_KEY_BODY = Object({"uid": Id, "rid": Rid, "key": WrappedKey})
KEYCHAIN_QUERY = Object({"uid": Id})
RESET_E2E_KEY_BODY = OneOf(
    Object({}),
    Object({"userId": Id}),
    Object({"username": Id}),
    Object({"user": Id}),
)
NO_BODY = Object({})
NO_QUERY = Object({})

__all__ = [
    "FOUNDING_KEY_PAIR",
    "FOUNDING_KEY_PAIR_BODY",
    "KEYCHAIN_QUERY",
    "KEY_PAIR",
    "NO_BODY",
    "NO_QUERY",
    "OLD_KEYS_MAX",
    "PROVIDE_BODY",
    "RESET_E2E_KEY_BODY",
    "RESET_ROOM_KEY_BODY",
    "RID_BODY",
    "ROOM_IDS_QUERY",
    "SET_ROOM_KEY_ID_BODY",
    "TWO_FACTOR",
    "UPDATE_GROUP_KEY_BODY",
    "Id",
    "Rid",
    "UserKey",
    "WrappedKey",
    "parse_iso_date",
]
