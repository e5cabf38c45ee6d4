"""Hostile and wrong input on every E2EE method and route: the right error, nothing stored changes.

Runs on the in-process server so the whole store can be dumped before and after (every
collection, secrets included) and compared. All logins happen before the first dump; every bad
call after it must be refused with ``400 Match failed`` (DDP, also through ``method.call``),
400 ``invalid-params`` (REST), or the spec's own error, and the dump must be identical.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from ddp_e2e.client.ddp import DDPClient
from ddp_e2e.ddp.errors import MeteorError
from ddp_e2e.services.e2e_reset import reset_locks
from tests.integration.inproc import InProcServer
from tests.integration.test_e2e_support import (
    call_error,
    client,
    demo,
    method_call,
    on_server,
    rc_settings,
    rest,
    rest_headers,
    run,
    wrapped,
)

OPS: list[Any] = [{"$ne": None}, {"$gt": ""}]
RID = "r-secret"
KEY = wrapped("kid-s", "alice")


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    """r-secret keyed by alice, bob holding a suggestion, carol waiting; REST tokens made up front."""
    with InProcServer.running(rc_settings()) as srv:
        async def setup() -> None:
            alice, bob, carol = [await client(srv, demo(n)) for n in ("alice", "bob", "carol")]
            try:
                for c, n in ((alice, "alice"), (bob, "bob"), (carol, "carol")):
                    await c.call("e2e.setUserPublicAndPrivateKeys", {"public_key": f"pk-{n}", "private_key": f"sk-{n}"})
                await alice.call("e2e.setRoomKeyID", RID, "kid-s")
                await alice.call("e2e.updateGroupKey", RID, "u-alice", KEY)
                await alice.call("e2e.updateGroupKey", RID, "u-bob", wrapped("kid-s", "bob"))
            finally:
                for c in (alice, bob, carol):
                    await c.close()

        run(setup)
        headers = {n: rest_headers(srv, demo(n)) for n in ("alice", "dave", "admin")}
        yield {"srv": srv, "headers": headers}
        assert srv.logs.tracebacks() == []


def ddp_bad_params() -> list[tuple[str, list[Any]]]:
    """Every E2EE method with a missing, wrong-type, extra or operator-object param."""
    out: list[tuple[str, list[Any]]] = []
    for op in OPS:
        out += [
            ("e2e.fetchMyKeys", [op]),
            ("e2e.setUserPublicAndPrivateKeys", [op]),
            ("e2e.setUserPublicAndPrivateKeys", [{"public_key": op, "private_key": "x", "force": True}]),
            ("e2e.setUserPublicAndPrivateKeys", [{"public_key": "x", "private_key": op, "force": True}]),
            ("e2e.setUserPublicAndPrivateKeys", [{"public_key": "x", "private_key": "y", "force": op}]),
            ("e2e.setUserPublicAndPivateKeys", [{"public_key": op, "private_key": "y", "force": True}]),
            ("e2e.getUsersOfRoomWithoutKey", [op]),
            ("e2e.setRoomKeyID", [op, "kid"]),
            ("e2e.setRoomKeyID", [RID, op]),
            ("e2e.updateGroupKey", [op, "u-alice", "k"]),
            ("e2e.updateGroupKey", [RID, op, "k"]),
            ("e2e.updateGroupKey", [RID, "u-alice", op]),
            ("e2e.requestSubscriptionKeys", [op]),
            ("e2e.resetOwnE2EKey", [op]),
            ("e2e.resetOwnE2EKey", [{"twoFactorCode": op, "twoFactorMethod": "totp"}]),
            ("e2e.acceptSuggestedGroupKey", [op]),
            ("e2e.rejectSuggestedGroupKey", [op]),
            ("addKeyToChain", [op]),
            ("addKeyToChain", [{"RSA-PubKey": op, "RSA-EPrivKey": "y"}]),
            ("addKeyToChain", [{"RSA-PubKey": "x", "RSA-EPrivKey": op}]),
            ("fetchMyKeys", [op]),
            ("fetchGroupE2EKey", [op]),
            ("fetchKeychain", [op]),
            ("updateGroupE2EKey", [op, "u-alice", "k"]),
            ("updateGroupE2EKey", [RID, op, "k"]),
            ("updateGroupE2EKey", [RID, "u-alice", op]),
            ("emptyKeychain", [op]),
        ]
    for wrong in (None, 1, True, ["r-secret"], {"rid": RID}):
        out += [("e2e.getUsersOfRoomWithoutKey", [wrong]), ("e2e.setRoomKeyID", [RID, wrong]),
                ("e2e.acceptSuggestedGroupKey", [wrong]), ("fetchGroupE2EKey", [wrong]),
                ("fetchKeychain", [wrong]), ("e2e.updateGroupKey", [RID, "u-alice", wrong])]
    out += [
        ("e2e.getUsersOfRoomWithoutKey", []), ("e2e.setRoomKeyID", [RID]), ("e2e.updateGroupKey", [RID, "u-bob"]),
        ("e2e.setUserPublicAndPrivateKeys", []), ("e2e.setUserPublicAndPrivateKeys", [{"public_key": "x"}]),
        ("e2e.setUserPublicAndPrivateKeys", [{"public_key": "x", "private_key": "y", "force": True, "$where": "1"}]),
        ("e2e.setUserPublicAndPrivateKeys", [{"public_key": 5, "private_key": "y", "force": True}]),
        ("e2e.setUserPublicAndPrivateKeys", [{"public_key": "x" * 70000, "private_key": "y", "force": True}]),
        ("addKeyToChain", [{"RSA-PubKey": "x"}]), ("addKeyToChain", [["x", "y"]]),
        ("e2e.setRoomKeyID", [RID, ""]), ("e2e.updateGroupKey", [RID, "u-bob", ""]),
        ("e2e.updateGroupKey", [RID, "", "k"]), ("updateGroupE2EKey", [RID, "u-bob", ""]),
        ("fetchKeychain", [""]), ("e2e.setRoomKeyID", ["r" * 300, "kid"]),
        ("e2e.fetchMyKeys", ["extra"]), ("e2e.requestSubscriptionKeys", [1]),
    ]
    return out


def rest_bad_calls() -> list[tuple[str, str, dict[str, Any]]]:
    """Every E2EE route with a missing, wrong-type, extra or operator-object field."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    for op in OPS:
        out += [
            ("POST", "e2e.setRoomKeyID", {"json": {"rid": op, "keyID": "k"}}),
            ("POST", "e2e.setRoomKeyID", {"json": {"rid": RID, "keyID": op}}),
            ("POST", "e2e.setUserPublicAndPrivateKeys", {"json": {"public_key": op, "private_key": "y", "force": True}}),
            ("POST", "e2e.setUserPublicAndPivateKeys", {"json": {"public_key": "x", "private_key": op, "force": True}}),
            ("POST", "e2e.updateGroupKey", {"json": {"rid": op, "uid": "u-bob", "key": "k"}}),
            ("POST", "e2e.updateGroupKey", {"json": {"rid": RID, "uid": op, "key": "k"}}),
            ("POST", "e2e.updateGroupKey", {"json": {"rid": RID, "uid": "u-bob", "key": op}}),
            ("POST", "e2e.acceptSuggestedGroupKey", {"json": {"rid": op}}),
            ("POST", "e2e.rejectSuggestedGroupKey", {"json": {"rid": op}}),
            ("POST", "e2e.provideUsersSuggestedGroupKeys", {"json": {"usersSuggestedGroupKeys": op}}),
            ("POST", "e2e.provideUsersSuggestedGroupKeys",
             {"json": {"usersSuggestedGroupKeys": {RID: [{"_id": op, "key": "k"}]}}}),
            ("POST", "e2e.provideUsersSuggestedGroupKeys",
             {"json": {"usersSuggestedGroupKeys": {RID: [{"_id": "u-bob", "key": op}]}}}),
            ("POST", "e2e.provideUsersSuggestedGroupKeys", {"json": {"usersSuggestedGroupKeys": {RID: [
                {"_id": "u-bob", "key": "k", "oldKeys": [{"e2eKeyId": op, "ts": "2024-01-01T00:00:00Z", "E2EKey": "k"}]}]}}}),
            ("POST", "e2e.resetRoomKey", {"json": {"rid": op, "e2eKey": "k", "e2eKeyId": "i"}}),
            ("POST", "e2e.resetRoomKey", {"json": {"rid": RID, "e2eKey": op, "e2eKeyId": "i"}}),
            ("POST", "e2e.resetRoomKey", {"json": {"rid": RID, "e2eKey": "k", "e2eKeyId": op}}),
            ("POST", "users.resetE2EKey", {"json": {"userId": op}}),
            ("POST", "users.resetE2EKey", {"json": {"username": op}}),
            ("POST", "e2e.addKeyToChain", {"json": {"RSAPubKey": op, "RSAEPrivKey": "y"}}),
            ("POST", "e2e.updateGroupE2EKey", {"json": {"rid": RID, "uid": op, "key": "k"}}),
        ]
    out += [
        ("GET", "e2e.getUsersOfRoomWithoutKey", {}),
        ("GET", "e2e.getUsersOfRoomWithoutKey", {"params": {"rid[$ne]": "x"}}),
        ("GET", "e2e.getUsersOfRoomWithoutKey", {"params": {"rid[]": [RID, "x"]}}),
        ("GET", "e2e.fetchUsersWaitingForGroupKey", {}),
        ("GET", "e2e.fetchUsersWaitingForGroupKey", {"params": {"roomIds[$ne]": "x"}}),
        ("GET", "e2e.fetchGroupE2EKey", {"params": {"rid": RID, "extra": "1"}}),
        ("GET", "e2e.fetchKeychain", {"params": {"uid": ""}}),
        ("POST", "e2e.setRoomKeyID", {"json": {"rid": RID}}),
        ("POST", "e2e.setRoomKeyID", {"json": {"rid": RID, "keyID": "k", "force": True}}),
        ("POST", "e2e.setRoomKeyID", {"json": [RID, "k"]}),
        ("POST", "e2e.setRoomKeyID", {"content": b"{not json"}),
        ("POST", "e2e.setUserPublicAndPrivateKeys", {"json": {"public_key": 1, "private_key": "y", "force": True}}),
        ("POST", "e2e.setUserPublicAndPrivateKeys", {"json": {"public_key": "x", "private_key": "y", "force": "yes"}}),
        ("POST", "e2e.updateGroupKey", {"json": {"rid": RID, "uid": "u-bob", "key": ""}}),
        ("POST", "e2e.acceptSuggestedGroupKey", {"json": {}}),
        ("POST", "e2e.provideUsersSuggestedGroupKeys", {"json": {"usersSuggestedGroupKeys": {RID: [
            {"_id": "u-bob", "key": "k", "oldKeys": [{"e2eKeyId": "o", "ts": "yesterday", "E2EKey": "k"}]}]}}}),
        ("POST", "e2e.provideUsersSuggestedGroupKeys", {"json": {"usersSuggestedGroupKeys": {RID: "u-bob"}}}),
        ("POST", "e2e.provideUsersSuggestedGroupKeys", {"json": {}}),
        ("POST", "e2e.resetRoomKey", {"json": {"rid": RID, "e2eKey": "k"}}),
        ("POST", "e2e.resetRoomKey", {"json": {"rid": RID, "e2eKey": "", "e2eKeyId": "i"}}),
        ("POST", "users.resetE2EKey", {"json": {"userId": "u-bob", "username": "bob"}}),
        ("POST", "e2e.addKeyToChain", {"json": {"RSA-PubKey": "x", "RSA-EPrivKey": "y"}}),
        ("POST", "e2e.emptyKeychain", {"json": {"all": True}}),
        ("POST", "e2e.updateGroupE2EKey", {"json": {"rid": RID, "uid": "u-bob"}}),
    ]
    return out


def test_malformed_params_are_match_failed_on_ddp_and_method_call(world: dict[str, Any]) -> None:
    srv: InProcServer = world["srv"]
    calls = ddp_bad_params()
    before: dict[str, Any] = {}

    async def main() -> None:
        c = await client(srv, demo("alice"))
        before.update(srv.dump())  # after the login, which stores a token
        try:
            for method, params in calls:
                err = await call_error(c, method, *params)
                assert (err.error, err.reason) == (400, "Match failed"), (method, params, err)
        finally:
            await c.close()

    run(main)
    for method, params in calls:
        answer = method_call(srv, world["headers"]["alice"], method, *params)
        assert answer["error"] == MeteorError(400, "Match failed").to_wire(), (method, params)
    assert srv.dump() == before


def test_malformed_rest_input_is_invalid_params(world: dict[str, Any]) -> None:
    srv: InProcServer = world["srv"]
    before = srv.dump()
    for verb, route, kw in rest_bad_calls():
        res = rest(srv, verb, route, world["headers"]["alice"], **kw)
        assert res.status_code == 400, (route, kw, res.text)
        assert res.json()["errorType"] == "invalid-params" and res.json()["success"] is False, (route, kw)
    assert srv.dump() == before


def test_wrong_rooms_users_and_repeats_get_the_spec_errors(world: dict[str, Any]) -> None:
    """Unknown room, a room the caller is not in, a user that does not exist, a second upload."""
    srv: InProcServer = world["srv"]
    before: dict[str, Any] = {}

    async def main() -> None:
        alice, dave = await client(srv, demo("alice")), await client(srv, demo("dave"))
        before.update(srv.dump())  # after the logins, which store tokens
        try:
            for c, rid in ((alice, "no-such-room"), (dave, RID), (alice, "")):
                for method, params in (("e2e.getUsersOfRoomWithoutKey", [rid]), ("e2e.setRoomKeyID", [rid, "kid-x"]),
                                       ("fetchGroupE2EKey", [rid]), ("updateGroupE2EKey", [rid, "u-bob", "k"])):
                    err = await call_error(c, method, *params)
                    assert (err.error, err.reason, err.details) == ("error-invalid-room", "Invalid room",
                                                                    {"method": method}), (method, rid)
                for method in ("e2e.acceptSuggestedGroupKey", "e2e.rejectSuggestedGroupKey"):
                    err = await call_error(c, method, rid)
                    assert (err.error, err.reason) == ("error-subscription-not-found", "Subscription not found")
                assert await c.call("e2e.updateGroupKey", rid, "u-bob", "k") is None, "silent no-op upstream"
            err = await call_error(alice, "e2e.setRoomKeyID", RID, "kid-again")
            assert err.error == "error-room-e2e-key-already-exists"
            err = await call_error(alice, "e2e.setUserPublicAndPrivateKeys", {"public_key": "a", "private_key": "b"})
            assert err.error == "error-keys-already-set"
            err = await call_error(alice, "addKeyToChain", {"RSA-PubKey": "a", "RSA-EPrivKey": "b"})
            assert err.error == "error-keys-already-set"
            err = await call_error(alice, "e2e.setUserPublicAndPrivateKeys",
                                   {"public_key": "", "private_key": "", "force": True})
            assert err.error == "error-invalid-keys"
            err = await call_error(alice, "updateGroupE2EKey", RID, "no-such-user", "k")
            assert err.error == "error-user-not-in-room"
            assert await alice.call("e2e.updateGroupKey", RID, "no-such-user", "k") is None
            assert await alice.call("fetchKeychain", "no-such-user") == "{}"
            err = await call_error(alice, "e2e.acceptSuggestedGroupKey", RID)
            assert err.error == "error-no-suggested-key-available", "alice has a key, not a suggestion"
            err = await call_error(dave, "e2e.getUsersOfRoomWithoutKey", {"$ne": None})
            assert err.error == 400
        finally:
            await alice.close()
            await dave.close()

    run(main)
    h = world["headers"]
    body = {"usersSuggestedGroupKeys": {"no-such-room": [{"_id": "u-bob", "key": "k"}],
                                        RID: [{"_id": "no-such-user", "key": "k"}]}}
    assert rest(srv, "POST", "e2e.provideUsersSuggestedGroupKeys", h["alice"], json=body).json() == {"success": True}
    body = {"usersSuggestedGroupKeys": {RID: [{"_id": "u-bob", "key": "k"}]}}
    assert rest(srv, "POST", "e2e.provideUsersSuggestedGroupKeys", h["dave"], json=body).json() == {"success": True}
    assert rest(srv, "GET", "e2e.fetchUsersWaitingForGroupKey", h["dave"],
                params={"roomIds[]": [RID]}).json() == {"usersWaitingForE2EKeys": {}, "success": True}
    reset = {"rid": RID, "e2eKey": "k", "e2eKeyId": "kid-x"}
    res = rest(srv, "POST", "e2e.resetRoomKey", h["dave"], json=reset)
    assert (res.status_code, res.json()) == (403, {"success": False, "error": "error-not-allowed"})
    res = rest(srv, "POST", "e2e.resetRoomKey", h["alice"], json={**reset, "rid": "no-such-room"})
    assert (res.status_code, res.json()) == (403, {"success": False, "error": "error-not-allowed"})
    res = rest(srv, "POST", "users.resetE2EKey", h["admin"], json={"userId": "no-such-user"})
    assert res.status_code == 400 and res.json()["errorType"] == "error-invalid-user"
    res = rest(srv, "POST", "users.resetE2EKey", h["dave"], json={"userId": "u-alice"})
    assert res.status_code == 400 and res.json()["errorType"] == "error-not-allowed"
    assert srv.dump() == before


def test_a_concurrent_room_key_reset_is_refused_and_changes_nothing(world: dict[str, Any]) -> None:
    srv: InProcServer = world["srv"]
    locks = reset_locks(srv.app)
    assert on_server(srv, lambda: locks.try_acquire(RID)), "a reset holds the room"
    try:
        before = srv.dump()
        res = rest(srv, "POST", "e2e.resetRoomKey", world["headers"]["alice"],
                   json={"rid": RID, "e2eKey": wrapped("kid-z", "a"), "e2eKeyId": "kid-z"})
        assert (res.status_code, res.json()) == (400, {"success": False, "error": "error-e2e-key-reset-in-progress"})
        assert srv.dump() == before
    finally:
        on_server(srv, lambda: locks.release(RID))


def test_an_unauthenticated_caller_changes_nothing(world: dict[str, Any]) -> None:
    srv: InProcServer = world["srv"]
    before = srv.dump()

    async def main() -> None:
        c = DDPClient(srv.ws_url)
        await c.connect()
        try:
            for method, params in (("e2e.setRoomKeyID", [RID, "k"]), ("e2e.updateGroupKey", [RID, "u-alice", "k"]),
                                   ("emptyKeychain", []), ("e2e.resetOwnE2EKey", []),
                                   ("e2e.acceptSuggestedGroupKey", [RID])):
                err = await call_error(c, method, *params)
                assert err.error == "error-invalid-user"
        finally:
            await c.close()

    run(main)
    forged = {"X-User-Id": "u-alice", "X-Auth-Token": "not-a-token"}
    for verb, route, body in (("POST", "e2e.resetRoomKey", {"rid": RID, "e2eKey": "k", "e2eKeyId": "i"}),
                              ("POST", "users.resetE2EKey", {}), ("POST", "e2e.emptyKeychain", {})):
        res = rest(srv, verb, route, forged, content=json.dumps(body))
        assert res.status_code == 401
    assert srv.dump() == before
