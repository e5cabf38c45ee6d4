"""REST ``/api/v1/e2e.*`` and ``users.resetE2EKey``: Rocket.Chat's routes and the founding twins.

Thin: each route has a declared body/query shape (checked by the router: 400 ``invalid-params``)
and calls the same service function as its DDP twin. A Meteor.Error becomes Rocket.Chat's 400
envelope (``error``, ``errorType``, ``details``); ``e2e.resetRoomKey``'s plain errors keep their
``{"success": false, "error": code}`` shape and 403. ``ROUTE_DOCS`` holds each route's result
schema and error codes for protocol/e2e/*.json and docs/E2EE-API.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...ddp.check import Object
from ...services import e2e_keys, e2e_queue, e2e_rooms
from ...services.accounts import find_user
from ...services.e2e import ERRORS, e2e_error
from ...services.e2e_reset import PlainError, reset_room_key_checked
from ...services.e2e_shapes import (
    FOUNDING_KEY_PAIR_BODY,
    KEY_PAIR,
    KEYCHAIN_QUERY,
    NO_BODY,
    PROVIDE_BODY,
    RESET_E2E_KEY_BODY,
    RESET_ROOM_KEY_BODY,
    RID_BODY,
    ROOM_IDS_QUERY,
    SET_ROOM_KEY_ID_BODY,
    UPDATE_GROUP_KEY_BODY,
    Rid,
)
from ..rest import RestError, RestRequest

if TYPE_CHECKING:
    from ...app import App

_STR = {"type": "string"}
_OK: dict[str, Any] = {"type": "object", "properties": {"success": {"const": True}}, "required": ["success"]}


def _ok_with(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": {**properties, "success": {"const": True}},
            "required": [*required, "success"]}


_KEYS = {"public_key": _STR, "private_key": _STR, "RSA-PubKey": _STR, "RSA-EPrivKey": _STR}
_WAITING = {"type": "object", "additionalProperties": {"type": "array", "items": {
    "type": "object", "properties": {"_id": _STR, "public_key": _STR}, "required": ["_id", "public_key"],
    "additionalProperties": False}}}
_USERS = {"type": "array", "items": {"type": "object", "properties": {
    "_id": _STR, "e2e": {"type": "object", "properties": {"public_key": _STR}, "additionalProperties": False}},
    "required": ["_id", "e2e"], "additionalProperties": False}}

#: ``users.resetE2EKey`` for another user: Rocket.Chat's message when the user is not found.
USER_NOT_FOUND = 'The required "userId" or "username" param provided does not match any users'


def meteor(code: str) -> dict[str, Any]:
    """A Meteor.Error as REST answers it: 400 with ``errorType``."""
    return {"status": 400, "errorType": code, "error": f"{ERRORS[code]} [{code}]"}


def plain(status: int, code: str) -> dict[str, Any]:
    """A plain Error / forbidden() as REST answers it: no ``errorType``."""
    return {"status": status, "error": code}


_KEY_ERRORS = [meteor("error-invalid-keys"), meteor("error-keys-already-set")]
_SUGGESTION_ERRORS = [meteor("error-subscription-not-found"), meteor("error-no-suggested-key-available")]

#: (verb, route) -> API, result schema and errors (besides 401 without credentials and 400
#: ``invalid-params``, which every route can answer).
ROUTE_DOCS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "e2e.fetchMyKeys"): {"api": "both", "result": _ok_with(_KEYS), "errors": []},
    ("GET", "e2e.getUsersOfRoomWithoutKey"): {"api": "current", "result": _ok_with({"users": _USERS}, ("users",)),
                                              "errors": [meteor("error-invalid-room")]},
    ("POST", "e2e.setRoomKeyID"): {"api": "current", "result": _OK, "errors": [
        meteor("error-invalid-room"), meteor("error-room-e2e-key-already-exists")]},
    ("POST", "e2e.setUserPublicAndPrivateKeys"): {"api": "current", "result": _OK, "errors": _KEY_ERRORS},
    ("POST", "e2e.setUserPublicAndPivateKeys"): {"api": "current", "result": _OK, "errors": _KEY_ERRORS},
    ("POST", "e2e.updateGroupKey"): {"api": "current", "result": _OK, "errors": []},
    ("POST", "e2e.acceptSuggestedGroupKey"): {"api": "current", "result": _OK, "errors": _SUGGESTION_ERRORS},
    ("POST", "e2e.rejectSuggestedGroupKey"): {"api": "current", "result": _OK, "errors": _SUGGESTION_ERRORS},
    ("GET", "e2e.fetchUsersWaitingForGroupKey"): {
        "api": "current", "result": _ok_with({"usersWaitingForE2EKeys": _WAITING}, ("usersWaitingForE2EKeys",)),
        "errors": []},
    ("POST", "e2e.provideUsersSuggestedGroupKeys"): {"api": "current", "result": _OK, "errors": []},
    ("POST", "e2e.resetRoomKey"): {"api": "current", "result": _OK, "errors": [
        plain(403, "error-not-allowed"), plain(400, "error-e2e-key-reset-in-progress"),
        plain(400, "error-not-allowed"), plain(400, "error-e2e-key-reset-failed")]},
    ("POST", "users.resetE2EKey"): {"api": "current", "result": _OK, "errors": [
        meteor("error-not-allowed"),
        {"status": 400, "errorType": "error-invalid-user", "error": f"{USER_NOT_FOUND} [error-invalid-user]"}]},
    ("GET", "e2e.fetchGroupE2EKey"): {"api": "founding", "result": _ok_with({"E2EKey": _STR}),
                                      "errors": [meteor("error-invalid-room")]},
    ("GET", "e2e.fetchKeychain"): {"api": "founding", "result": _ok_with({"RSA-PubKey": _STR, "public_key": _STR}),
                                   "errors": []},
    ("POST", "e2e.addKeyToChain"): {"api": "founding", "result": _OK, "errors": _KEY_ERRORS},
    ("POST", "e2e.emptyKeychain"): {"api": "founding", "result": _OK, "errors": []},
    ("POST", "e2e.updateGroupE2EKey"): {
        "api": "founding",
        "result": {"type": "object", "description": "the subscription fields (see the DDP method) plus success",
                   "properties": {"_id": _STR, "rid": _STR, "success": {"const": True}},
                   "required": ["_id", "rid", "success"]},
        "errors": [meteor("error-invalid-room"), meteor("error-user-not-in-room")]},
}



def register(app: App) -> None:
    _register_current(app)
    _register_founding(app)


def _uid(req: RestRequest) -> str:
    assert req.user_id is not None  # auth=True routes only run for a logged-in caller
    return req.user_id


def _register_current(app: App) -> None:
    rest = app.rest  # type: ignore[attr-defined]

    @rest.route("GET", "e2e.fetchMyKeys")
    async def fetch_my_keys(req: RestRequest) -> dict[str, Any]:
        """The caller's keys: Rocket.Chat's {public_key, private_key} plus the founding names."""
        keys = await e2e_keys.fetch_my_keys(req.app, _uid(req))
        return {**keys, **e2e_keys.founding_keys(keys)}

    @rest.route("GET", "e2e.getUsersOfRoomWithoutKey", query=Object({"rid": Rid}))
    async def users_without_key(req: RestRequest) -> dict[str, Any]:
        """Members of the room without an E2EKey who have a public key (public keys only)."""
        method = "e2e.getUsersOfRoomWithoutKey"
        return await e2e_rooms.get_users_of_room_without_key(req.app, _uid(req), req.query["rid"], method)

    @rest.route("POST", "e2e.setRoomKeyID", body=SET_ROOM_KEY_ID_BODY)
    async def set_room_key_id(req: RestRequest) -> dict[str, Any]:
        """Set the room's first key id (members only, once per room)."""
        await e2e_rooms.set_room_key_id(req.app, _uid(req), req.body["rid"], req.body["keyID"], "e2e.setRoomKeyID")
        return {}

    async def set_keys(req: RestRequest) -> dict[str, Any]:
        await e2e_keys.set_user_keys(req.app, _uid(req), req.body["public_key"], req.body["private_key"],
                                     force=req.body.get("force") is True, method="e2e.setUserPublicAndPrivateKeys")
        return {}

    set_keys.__doc__ = "Store the caller's key pair; refuses to overwrite one unless force is true."
    rest.route("POST", "e2e.setUserPublicAndPrivateKeys", body=KEY_PAIR)(set_keys)
    rest.route("POST", "e2e.setUserPublicAndPivateKeys", body=KEY_PAIR)(set_keys)

    @rest.route("POST", "e2e.updateGroupKey", body=UPDATE_GROUP_KEY_BODY)
    async def update_group_key(req: RestRequest) -> dict[str, Any]:
        """Own key -> E2EKey; another member's -> E2ESuggestedKey (deprecated upstream, kept)."""
        b = req.body
        await e2e_rooms.update_group_key(req.app, _uid(req), b["rid"], b["uid"], b["key"])
        return {}

    for action in ("accept", "reject"):
        _register_suggestion_route(app, action)

    @rest.route("GET", "e2e.fetchUsersWaitingForGroupKey", query=ROOM_IDS_QUERY)
    async def users_waiting(req: RestRequest) -> dict[str, Any]:
        """Per room the caller is in: members still waiting for the room key, with public keys."""
        ids = req.query["roomIds"]
        ids = [ids] if isinstance(ids, str) else ids
        return {"usersWaitingForE2EKeys": await e2e_queue.fetch_users_waiting_for_group_key(req.app, _uid(req), ids)}

    @rest.route("POST", "e2e.provideUsersSuggestedGroupKeys", body=PROVIDE_BODY)
    async def provide(req: RestRequest) -> dict[str, Any]:
        """Offer room keys (and old keys) to waiting members as their E2ESuggestedKey."""
        await e2e_queue.provide_users_suggested_group_keys(req.app, _uid(req), req.body["usersSuggestedGroupKeys"])
        return {}

    @rest.route("POST", "e2e.resetRoomKey", body=RESET_ROOM_KEY_BODY)
    async def reset_room_key(req: RestRequest) -> dict[str, Any]:
        """Replace the room key: old keys to history, members queued, caller gets the new key."""
        b = req.body
        try:
            await reset_room_key_checked(req.app, _uid(req), b["rid"], b["e2eKey"], b["e2eKeyId"])
        except PlainError as exc:
            raise RestError(exc.status, exc.body()) from exc
        return {}

    @rest.route("POST", "users.resetE2EKey", body=RESET_E2E_KEY_BODY)
    async def reset_user_key(req: RestRequest) -> dict[str, Any]:
        """Reset the caller's E2EE keys (or, for an admin, another user's) and log them out everywhere."""
        caller = _uid(req)
        target = await _reset_target(req, caller)
        await e2e_keys.reset_user_e2e_key(req.app, target)
        return {}


async def _reset_target(req: RestRequest, caller: str) -> str:
    """Whose keys ``users.resetE2EKey`` resets: the caller, or a named user for an admin.

    The permission is checked before the lookup, so a non-admin cannot probe which users exist.
    """
    b = req.body
    if not b:
        return caller
    if b.get("userId") == caller:
        return caller
    me = await req.app.store.users.find_one({"_id": caller}, {"roles": 1, "username": 1})
    if (b.get("username") or b.get("user")) == (me or {}).get("username"):
        return caller
    if "admin" not in ((me or {}).get("roles") or []):
        raise e2e_error("error-not-allowed", reason="Not allowed")
    if "userId" in b:
        user = await req.app.store.users.find_one({"_id": b["userId"]}, {"_id": 1})
    else:
        user = await find_user(req.app, {"username": b.get("username") or b.get("user")})
    if user is None:
        raise e2e_error("error-invalid-user", reason=USER_NOT_FOUND)
    return user["_id"]


def _register_suggestion_route(app: App, action: str) -> None:
    name = f"e2e.{action}SuggestedGroupKey"

    async def handle(req: RestRequest) -> dict[str, Any]:
        await e2e_rooms.handle_suggested_group_key(req.app, _uid(req), req.body["rid"], action, name)
        return {}

    handle.__doc__ = f"{action.capitalize()} the caller's E2ESuggestedKey for the room."
    app.rest.route("POST", name, body=RID_BODY)(handle)  # type: ignore[attr-defined]


def _register_founding(app: App) -> None:
    rest = app.rest  # type: ignore[attr-defined]

    @rest.route("GET", "e2e.fetchGroupE2EKey", query=Object({"rid": Rid}))
    async def fetch_group_key(req: RestRequest) -> dict[str, Any]:
        """Founding API: the caller's own wrapped room key, else its suggestion ({} when neither)."""
        key = await e2e_rooms.fetch_group_e2e_key(req.app, _uid(req), req.query["rid"], "fetchGroupE2EKey")
        return {"E2EKey": key} if key is not None else {}

    @rest.route("GET", "e2e.fetchKeychain", query=KEYCHAIN_QUERY)
    async def fetch_keychain(req: RestRequest) -> dict[str, Any]:
        """Founding API: a user's public key, never the private key ({} when none to give)."""
        keys = await e2e_keys.fetch_keychain(req.app, _uid(req), req.query["uid"])
        return {"RSA-PubKey": keys["public_key"], "public_key": keys["public_key"]} if keys else {}

    @rest.route("POST", "e2e.addKeyToChain", body=FOUNDING_KEY_PAIR_BODY)
    async def add_key_to_chain(req: RestRequest) -> dict[str, Any]:
        """Founding API: store the caller's key pair; never overwrites existing keys."""
        await e2e_keys.set_user_keys(req.app, _uid(req), req.body["RSAPubKey"], req.body["RSAEPrivKey"],
                                     force=False, method="addKeyToChain")
        return {}

    @rest.route("POST", "e2e.emptyKeychain", body=NO_BODY)
    async def empty_keychain(req: RestRequest) -> dict[str, Any]:
        """Founding API: forget the caller's keys and room keys (no logout)."""
        await e2e_keys.clear_user_keys(req.app, _uid(req))
        return {}

    @rest.route("POST", "e2e.updateGroupE2EKey", body=UPDATE_GROUP_KEY_BODY)
    async def update_group_e2e_key(req: RestRequest) -> dict[str, Any]:
        """Founding API: own key -> E2EKey, another member's -> E2ESuggestedKey; the subscription back."""
        b = req.body
        return await e2e_rooms.update_group_e2e_key(req.app, _uid(req), b["rid"], b["uid"], b["key"],
                                                    "updateGroupE2EKey")
