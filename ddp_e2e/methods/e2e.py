"""DDP methods of the E2EE server: Rocket.Chat's current API and the founding API.

Each method checks its param shape (ddp_e2e/services/e2e_shapes.py) before the handler runs,
checks the caller is logged in, and calls the same service function as its REST twin. The
``METHOD_DOCS`` table lists each method's param names and error codes; protocol/e2e/*.json and
docs/E2EE-API.md are generated from it and from the declared shapes.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ..services import e2e_keys, e2e_rooms
from ..services.e2e import register_hooks, require_user
from ..services.e2e_shapes import FOUNDING_KEY_PAIR, KEY_PAIR, TWO_FACTOR, Id, Rid, WrappedKey

if TYPE_CHECKING:
    from ..app import App
    from ..dispatch import MethodContext

_STR = {"type": "string"}
KEYS_RESULT = {
    "type": "object",
    "properties": {"public_key": _STR, "private_key": _STR},
    "additionalProperties": False,
    "description": "{} when the caller has no keys",
}
FOUNDING_KEYS_RESULT = {
    "type": "object",
    "properties": {"RSA-PubKey": _STR, "RSA-EPrivKey": _STR, "public_key": _STR, "private_key": _STR},
    "additionalProperties": False,
    "description": "{} when the caller has no keys; the same two texts under both names",
}
USERS_RESULT = {
    "type": "object",
    "properties": {"users": {"type": "array", "items": {
        "type": "object",
        "properties": {"_id": _STR, "e2e": {"type": "object", "properties": {"public_key": _STR},
                                            "required": ["public_key"], "additionalProperties": False}},
        "required": ["_id", "e2e"], "additionalProperties": False}}},
    "required": ["users"],
    "additionalProperties": False,
}
SUCCESS_RESULT = {"type": "object", "properties": {"success": {"const": True}}, "required": ["success"]}
SUBSCRIPTION_RESULT = {
    "type": "object",
    "properties": {"_id": _STR, "rid": _STR, "u": {"type": "object"}, "E2EKey": _STR, "E2ESuggestedKey": _STR},
    "required": ["_id", "rid", "u"],
    "description": "the caller's own subscription, or for another member only _id, rid, u, E2ESuggestedKey",
}
KEYCHAIN_RESULT = {
    "type": "string",
    "description": 'JSON text: {"RSA-PubKey": pk, "public_key": pk}, or "{}"',
}

#: Per method: the API it belongs to, its param names (in order) and the error codes it can answer
#: (Rocket.Chat's codes; reasons in services/e2e.py ERRORS). Every method can also answer
#: ``400 Match failed`` for params that do not fit the declared shape. protocol/e2e/*.json and
#: docs/E2EE-API.md are generated from this table and the registered shapes.
_KEY_ERRORS = ("error-invalid-user", "error-invalid-keys", "error-keys-already-set")
_SUGGESTION_ERRORS = ("error-invalid-user", "error-subscription-not-found", "error-no-suggested-key-available")
METHOD_DOCS: dict[str, dict[str, Any]] = {
    "e2e.fetchMyKeys": {"api": "current", "params": (), "errors": ("error-invalid-user",)},
    "e2e.setUserPublicAndPrivateKeys": {"api": "current", "params": ("keyPair",), "errors": _KEY_ERRORS},
    "e2e.setUserPublicAndPivateKeys": {"api": "current", "params": ("keyPair",), "errors": _KEY_ERRORS},
    "e2e.getUsersOfRoomWithoutKey": {"api": "current", "params": ("rid",),
                                     "errors": ("error-invalid-user", "error-invalid-room")},
    "e2e.setRoomKeyID": {"api": "current", "params": ("rid", "keyID"),
                         "errors": ("error-invalid-user", "error-invalid-room", "error-room-e2e-key-already-exists")},
    "e2e.updateGroupKey": {"api": "current", "params": ("rid", "uid", "key"), "errors": ("error-invalid-user",)},
    "e2e.requestSubscriptionKeys": {"api": "current", "params": (), "errors": ("error-invalid-user",)},
    "e2e.resetOwnE2EKey": {"api": "current", "params": ("twoFactor",), "errors": ("error-invalid-user",)},
    "e2e.acceptSuggestedGroupKey": {"api": "current", "params": ("rid",), "errors": _SUGGESTION_ERRORS},
    "e2e.rejectSuggestedGroupKey": {"api": "current", "params": ("rid",), "errors": _SUGGESTION_ERRORS},
    "addKeyToChain": {"api": "founding", "params": ("key",), "errors": _KEY_ERRORS},
    "fetchMyKeys": {"api": "founding", "params": (), "errors": ("error-invalid-user",)},
    "fetchGroupE2EKey": {"api": "founding", "params": ("rid",), "errors": ("error-invalid-user", "error-invalid-room")},
    "fetchKeychain": {"api": "founding", "params": ("userId",), "errors": ("error-invalid-user",)},
    "updateGroupE2EKey": {"api": "founding", "params": ("rid", "uid", "key"),
                          "errors": ("error-invalid-user", "error-invalid-room", "error-user-not-in-room")},
    "emptyKeychain": {"api": "founding", "params": (), "errors": ("error-invalid-user",)},
}


def register(app: App) -> None:
    register_hooks(app)
    _register_current(app)
    _register_founding(app)


def _register_current(app: App) -> None:
    r = app.registry

    @r.method("e2e.fetchMyKeys", result=KEYS_RESULT)
    async def fetch_my_keys(ctx: MethodContext) -> dict[str, str]:
        """The caller's own public key and encrypted private key, byte for byte."""
        return await e2e_keys.fetch_my_keys(ctx.app, require_user(ctx.user_id, "e2e.fetchMyKeys"))

    @r.method("e2e.setUserPublicAndPrivateKeys", KEY_PAIR, aliases=("e2e.setUserPublicAndPivateKeys",))
    async def set_keys(ctx: MethodContext, keys: dict[str, Any]) -> None:
        """Store the caller's key pair; refuses to overwrite one unless ``force`` is true."""
        method = "e2e.setUserPublicAndPrivateKeys"
        uid = require_user(ctx.user_id, method)
        await e2e_keys.set_user_keys(ctx.app, uid, keys["public_key"], keys["private_key"],
                                     force=keys.get("force") is True, method=method)

    @r.method("e2e.getUsersOfRoomWithoutKey", Rid, result=USERS_RESULT)
    async def users_without_key(ctx: MethodContext, rid: str) -> dict[str, Any]:
        """Members of the room without an E2EKey who have a public key (public keys only)."""
        method = "e2e.getUsersOfRoomWithoutKey"
        return await e2e_rooms.get_users_of_room_without_key(ctx.app, require_user(ctx.user_id, method), rid, method)

    @r.method("e2e.setRoomKeyID", Rid, Id)
    async def set_room_key_id(ctx: MethodContext, rid: str, key_id: str) -> None:
        """Set the room's first key id (members only, once per room)."""
        method = "e2e.setRoomKeyID"
        await e2e_rooms.set_room_key_id(ctx.app, require_user(ctx.user_id, method), rid, key_id, method)

    @r.method("e2e.updateGroupKey", Rid, Id, WrappedKey)
    async def update_group_key(ctx: MethodContext, rid: str, uid: str, key: str) -> None:
        """Own key -> E2EKey; another member's -> E2ESuggestedKey (deprecated upstream, kept)."""
        user_id = require_user(ctx.user_id, "e2e.acceptSuggestedGroupKey")  # upstream's details.method
        await e2e_rooms.update_group_key(ctx.app, user_id, rid, uid, key)

    @r.method("e2e.requestSubscriptionKeys", result={"const": True})
    async def request_keys(ctx: MethodContext) -> bool:
        """Announce ``<rid>/e2e.keyRequest`` for each keyed room where the caller has no key."""
        return await e2e_rooms.request_subscription_keys(ctx.app, require_user(ctx.user_id, "requestSubscriptionKeys"))

    @r.method("e2e.resetOwnE2EKey", TWO_FACTOR, result={"const": True})
    async def reset_own_key(ctx: MethodContext, _two_factor: Any = None) -> bool:
        """Forget the caller's keys and room keys, and log the caller out everywhere."""
        uid = require_user(ctx.user_id, "resetOwnE2EKey")
        return await reset_keeping_caller(ctx, uid)

    for action in ("accept", "reject"):
        _register_suggestion_method(app, action)


def _register_suggestion_method(app: App, action: str) -> None:
    name = f"e2e.{action}SuggestedGroupKey"

    @app.registry.method(name, Rid, result=SUCCESS_RESULT)
    async def handle(ctx: MethodContext, rid: str) -> dict[str, bool]:
        uid = require_user(ctx.user_id, name)
        await e2e_rooms.handle_suggested_group_key(ctx.app, uid, rid, action, name)
        return {"success": True}

    handle.__doc__ = f"{action.capitalize()} the caller's E2ESuggestedKey for the room (DDP twin of the REST route)."
    app.registry.methods[name].summary = handle.__doc__


async def reset_keeping_caller(ctx: MethodContext, uid: str) -> bool:
    """Reset the user's keys, closing the calling connection only after its result is written.

    ``reset_user_e2e_key`` removes every login token and closes the user's connections. The
    caller's own session is taken out of the directory meanwhile and closed on the next loop
    turn: the session writes this method's ``result`` before that, so the client sees ``true``
    and then the close (as Meteor does when a token observer logs a connection out).
    """
    session = ctx.session
    if session is None:
        return await e2e_keys.reset_user_e2e_key(ctx.app, uid)
    ctx.app.sessions.discard(session)
    try:
        return await e2e_keys.reset_user_e2e_key(ctx.app, uid)
    finally:
        asyncio.get_running_loop().call_soon(session.close, 1000, "logged out")


def _register_founding(app: App) -> None:
    r = app.registry

    @r.method("addKeyToChain", FOUNDING_KEY_PAIR)
    async def add_key_to_chain(ctx: MethodContext, key: dict[str, str]) -> None:
        """Founding API: store the caller's key pair; never overwrites existing keys."""
        uid = require_user(ctx.user_id, "addKeyToChain")
        public_key = key.get("RSA-PubKey", key.get("public_key", ""))
        private_key = key.get("RSA-EPrivKey", key.get("private_key", ""))
        await e2e_keys.set_user_keys(ctx.app, uid, public_key, private_key, force=False, method="addKeyToChain")

    @r.method("fetchMyKeys", result=FOUNDING_KEYS_RESULT)
    async def fetch_my_keys(ctx: MethodContext) -> dict[str, str]:
        """Founding API: the caller's own keys as ``RSA-PubKey``/``RSA-EPrivKey`` (and current names)."""
        keys = await e2e_keys.fetch_my_keys(ctx.app, require_user(ctx.user_id, "fetchMyKeys"))
        return {**e2e_keys.founding_keys(keys), **keys}

    @r.method("fetchGroupE2EKey", Rid, result={"type": "string", "description": "absent when unset"})
    async def fetch_group_key(ctx: MethodContext, rid: str) -> str | None:
        """Founding API: the caller's own wrapped room key for the room (E2EKey, else its suggestion)."""
        uid = require_user(ctx.user_id, "fetchGroupE2EKey")
        return await e2e_rooms.fetch_group_e2e_key(ctx.app, uid, rid, "fetchGroupE2EKey")

    @r.method("fetchKeychain", Id, result=KEYCHAIN_RESULT)
    async def fetch_keychain(ctx: MethodContext, user_id: str) -> str:
        """Founding API: a user's public key (never the private key), as JSON text."""
        uid = require_user(ctx.user_id, "fetchKeychain")
        return e2e_keys.keychain_text(await e2e_keys.fetch_keychain(ctx.app, uid, user_id))

    @r.method("updateGroupE2EKey", Rid, Id, WrappedKey, result=SUBSCRIPTION_RESULT)
    async def update_group_e2e_key(ctx: MethodContext, rid: str, uid: str, key: str) -> dict[str, Any]:
        """Founding API: own key -> E2EKey, another member's -> E2ESuggestedKey; returns the subscription."""
        caller = require_user(ctx.user_id, "updateGroupE2EKey")
        return await e2e_rooms.update_group_e2e_key(ctx.app, caller, rid, uid, key, "updateGroupE2EKey")

    @r.method("emptyKeychain")
    async def empty_keychain(ctx: MethodContext) -> None:
        """Founding API: forget the caller's keys and room keys (no logout, unlike resetOwnE2EKey)."""
        await e2e_keys.clear_user_keys(ctx.app, require_user(ctx.user_id, "emptyKeychain"))


__all__ = ["METHOD_DOCS", "register"]
