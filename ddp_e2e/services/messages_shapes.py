"""The declared shapes of message input, shared by the DDP methods and the REST routes.

Why exact objects: a key nobody declared never reaches the store, so a client cannot smuggle
``u``, ``mentions`` or an operator object into a message. Encrypted payloads (``content``,
``e2eMentions``) are checked for shape only; their strings are stored byte for byte.
"""

from __future__ import annotations

from typing import Any

from ..ddp.check import (
    AnyObject,
    ArrayOf,
    Boolean,
    Date,
    MaxLenString,
    Maybe,
    Object,
    ObjectIncluding,
    OneOf,
    Optional,
    String,
    Where,
)

#: A message id chosen by the client (Random.id() in every real client); bounded and non-empty.
MESSAGE_ID = MaxLenString(64, min_len=1)

#: ``content`` v1 ``{algorithm, ciphertext}`` or v2 ``{algorithm, ciphertext, kid, iv}``.
CONTENT = Object({
    "algorithm": String,
    "ciphertext": String,
    "kid": Optional(String),
    "iv": Optional(String),
})

#: ``e2eMentions``: the plaintext mention list an E2EE client discloses on purpose (6.13+).
E2E_MENTIONS = Object({
    "e2eUserMentions": Optional(ArrayOf(MaxLenString(256), max_items=500)),
    "e2eChannelMentions": Optional(ArrayOf(MaxLenString(256), max_items=500)),
})

_MAX_DEPTH = 8


def _safe_value(value: Any, depth: int) -> bool:
    if depth > _MAX_DEPTH:
        return False
    if isinstance(value, dict):
        return all(
            isinstance(k, str) and k and not k.startswith("$") and "." not in k and "\0" not in k
            and _safe_value(v, depth + 1)
            for k, v in value.items()
        )
    if isinstance(value, list):
        return all(_safe_value(v, depth + 1) for v in value)
    return True


#: A free-form object that is safe to store: no ``$``/``.`` keys (operators), bounded depth.
SAFE_OBJECT = Where(
    lambda v: isinstance(v, dict) and _safe_value(v, 0),
    "an object without '$' or '.' in its keys, at most 8 levels deep",
    {"type": "object"},
)

#: DDP ``sendMessage(message)``: exactly the keys upstream's ``check()`` lists.
SEND_MESSAGE = Object({
    "_id": Maybe(MESSAGE_ID),
    "rid": Maybe(String),
    "msg": Maybe(String),
    "tmid": Maybe(String),
    "tshow": Maybe(Boolean),
    "ts": Maybe(Date),
    "t": Maybe(String),
    "bot": Maybe(AnyObject()),
    "content": Maybe(CONTENT),
    "e2e": Maybe(String),
    "e2eMentions": Maybe(E2E_MENTIONS),
    "customFields": Maybe(AnyObject()),
    "federation": Maybe(AnyObject()),
    "groupable": Maybe(Boolean),
    "sentByEmail": Maybe(Boolean),
})

PREVIEW_URLS = Maybe(ArrayOf(String, max_items=100))

#: REST ``chat.sendMessage`` ``message``: upstream's schema plus the E2EE keys the mobile app sends.
REST_MESSAGE = Object({
    "_id": Maybe(MESSAGE_ID),
    "rid": String,
    "tmid": Maybe(String),
    "tshow": Maybe(Boolean),
    "msg": Maybe(String),
    "alias": Maybe(String),
    "emoji": Maybe(String),
    "avatar": Maybe(String),
    "attachments": Maybe(ArrayOf(SAFE_OBJECT, max_items=20)),
    "customFields": Maybe(AnyObject()),
    "t": Maybe(String),
    "e2e": Maybe(String),
    "content": Maybe(CONTENT),
    "e2eMentions": Maybe(E2E_MENTIONS),
})

#: DDP ``updateMessage(message)``: ``_id`` required and the keys an edit may change typed. Any other
#: key must equal the stored value (upstream's ``error-invalid-update-key`` rule); it is compared,
#: never stored and never used in a query.
UPDATE_MESSAGE = ObjectIncluding({
    "_id": String,
    "rid": Optional(String),
    "msg": Optional(String),
    "content": Optional(CONTENT),
    "e2eMentions": Optional(E2E_MENTIONS),
    "tshow": Optional(Boolean),
    "tmid": Optional(String),
    "t": Optional(String),
    "e2e": Optional(String),
})

DELETE_MESSAGE = Object({"_id": String})

def _int_range(lo: int, hi: int) -> Where:
    def ok(v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, int | float):
            return False
        return float(v).is_integer() and lo <= v <= hi

    return Where(ok, f"an integer from {lo} to {hi}", {"type": "integer", "minimum": lo, "maximum": hi})


#: Page sizes are bounded so one call cannot ask for the whole collection.
HISTORY_LIMIT = _int_range(1, 1000)
SEARCH_LIMIT = _int_range(1, 100)
SEARCH_OFFSET = _int_range(0, 100_000)
LAST_SEEN = OneOf(Date, String)

_ROOM_TARGET = OneOf(String, ArrayOf(String, max_items=20))
_POST_COMMON: dict[str, Any] = {
    "text": Maybe(String),
    "alias": Maybe(String),
    "emoji": Maybe(String),
    "avatar": Maybe(String),
    "attachments": Maybe(ArrayOf(SAFE_OBJECT, max_items=20)),
    "tmid": Optional(String),
    "customFields": Maybe(AnyObject()),
    "parseUrls": Optional(Boolean),
}

#: REST ``chat.postMessage``: ``roomId`` or ``channel`` (a string or a list), never both.
POST_MESSAGE = OneOf(
    Object({"roomId": _ROOM_TARGET, **_POST_COMMON}),
    Object({"channel": _ROOM_TARGET, **_POST_COMMON}),
)

#: REST ``chat.update``: ``text`` for plain edits, ``content`` (+ ``e2eMentions``) for encrypted ones.
CHAT_UPDATE = Object({
    "roomId": String,
    "msgId": String,
    "text": Optional(String),
    "content": Optional(CONTENT),
    "e2eMentions": Optional(E2E_MENTIONS),
    "previewUrls": PREVIEW_URLS,
    "customFields": Maybe(AnyObject()),
})

CHAT_DELETE = Object({"roomId": String, "msgId": String, "asUser": Maybe(Boolean)})
CHAT_SEND = Object({"message": REST_MESSAGE, "previewUrls": PREVIEW_URLS})
CHAT_GET_MESSAGE = Object({"msgId": MaxLenString(256, min_len=1)})
