"""A user's key pair through both APIs: upload, fetch, no overwrite, keychain, empty, reset.

The server stores ``users.e2e.public_key/private_key`` as opaque texts; every path must return
them byte for byte, and the founding calls must land on the same fields as the current ones.
"""

from __future__ import annotations

import json
from typing import Any

from ddp_e2e.ddp.errors import MeteorError
from tests.integration.test_e2e_support import (
    User,
    call_error,
    client,
    demo,
    e2e_group,
    key_texts,
    listen_user,
    method_call,
    new_user,
    rest,
    rest_headers,
    room_of,
    run,
    server_fixture,
    set_keys,
    wait_event,
)

server = server_fixture()


def test_keys_round_trip_byte_for_byte_through_every_read_path(server: Any) -> None:
    async def main() -> None:
        u = await new_user(server)
        c = await client(server, u)
        try:
            assert await c.call("e2e.fetchMyKeys") == {}
            assert await c.call("fetchMyKeys") == {}
            public, private = await set_keys(c, "rt")
            assert await c.call("e2e.fetchMyKeys") == {"public_key": public, "private_key": private}
            assert await c.call("fetchMyKeys") == {
                "RSA-PubKey": public, "RSA-EPrivKey": private, "public_key": public, "private_key": private}
        finally:
            await c.close()
        body = rest(server, "GET", "e2e.fetchMyKeys", rest_headers(server, u)).json()
        assert body == {"public_key": public, "private_key": private, "RSA-PubKey": public,
                        "RSA-EPrivKey": private, "success": True}

    run(main)


def test_second_upload_without_force_is_refused_and_force_overwrites(server: Any) -> None:
    async def main() -> None:
        u = await new_user(server)
        c = await client(server, u)
        try:
            first = await set_keys(c, "one")
            second = key_texts("two")
            for name in ("e2e.setUserPublicAndPrivateKeys", "e2e.setUserPublicAndPivateKeys"):
                err = await call_error(c, name, {"public_key": second[0], "private_key": second[1]})
                assert (err.error, err.reason) == ("error-keys-already-set", "Keys already set")
                assert err.details == {"method": "e2e.setUserPublicAndPrivateKeys"}
            err = await call_error(c, "e2e.setUserPublicAndPrivateKeys",
                                   {"public_key": second[0], "private_key": second[1], "force": False})
            assert err.error == "error-keys-already-set"
            assert await c.call("e2e.fetchMyKeys") == {"public_key": first[0], "private_key": first[1]}
            await c.call("e2e.setUserPublicAndPrivateKeys",
                         {"public_key": second[0], "private_key": second[1], "force": True})
            assert await c.call("e2e.fetchMyKeys") == {"public_key": second[0], "private_key": second[1]}
        finally:
            await c.close()

    run(main)


def test_rest_twins_of_the_key_upload(server: Any) -> None:
    u = run(lambda: new_user(server))
    h = rest_headers(server, u)
    public, private = key_texts("rest")
    res = rest(server, "POST", "e2e.setUserPublicAndPrivateKeys", h, json={"public_key": public, "private_key": private})
    assert res.status_code == 200 and res.json() == {"success": True}
    for route in ("e2e.setUserPublicAndPrivateKeys", "e2e.setUserPublicAndPivateKeys"):
        res = rest(server, "POST", route, h, json={"public_key": "x", "private_key": "y"})
        assert res.status_code == 400
        assert res.json() == {"success": False, "error": "Keys already set [error-keys-already-set]",
                              "errorType": "error-keys-already-set",
                              "details": {"method": "e2e.setUserPublicAndPrivateKeys"}}
    res = rest(server, "POST", "e2e.addKeyToChain", h, json={"RSAPubKey": "x", "RSAEPrivKey": "y"})
    assert res.status_code == 400 and res.json()["errorType"] == "error-keys-already-set"
    mine = rest(server, "GET", "e2e.fetchMyKeys", h).json()
    assert (mine["public_key"], mine["private_key"]) == (public, private)
    res = rest(server, "POST", "e2e.setUserPublicAndPrivateKeys", h,
               json={"public_key": "new-pk", "private_key": "new-sk", "force": True})
    assert res.status_code == 200
    assert rest(server, "GET", "e2e.fetchMyKeys", h).json()["RSA-EPrivKey"] == "new-sk"


def test_empty_key_texts_are_invalid_keys_on_every_upload_path(server: Any) -> None:
    u = run(lambda: new_user(server))
    h = rest_headers(server, u)

    async def main() -> None:
        c = await client(server, u)
        try:
            for keys in ({"public_key": "", "private_key": "sk"}, {"public_key": "pk", "private_key": ""}):
                err = await call_error(c, "e2e.setUserPublicAndPrivateKeys", keys)
                assert (err.error, err.reason) == ("error-invalid-keys", "Invalid keys")
                err = await call_error(c, "e2e.setUserPublicAndPrivateKeys", {**keys, "force": True})
                assert err.error == "error-invalid-keys"
            err = await call_error(c, "addKeyToChain", {"RSA-PubKey": "", "RSA-EPrivKey": "sk"})
            assert (err.error, err.details) == ("error-invalid-keys", {"method": "addKeyToChain"})
            assert await c.call("e2e.fetchMyKeys") == {}
        finally:
            await c.close()

    run(main)
    res = rest(server, "POST", "e2e.setUserPublicAndPrivateKeys", h, json={"public_key": "", "private_key": "x"})
    assert res.status_code == 400 and res.json()["errorType"] == "error-invalid-keys"
    res = rest(server, "POST", "e2e.addKeyToChain", h, json={"RSAPubKey": "pk", "RSAEPrivKey": ""})
    assert res.status_code == 400 and res.json()["errorType"] == "error-invalid-keys"
    assert rest(server, "GET", "e2e.fetchMyKeys", h).json() == {"success": True}


def test_add_key_to_chain_lands_on_the_current_fields_in_both_founding_shapes(server: Any) -> None:
    async def main() -> None:
        a, b = await new_user(server), await new_user(server)
        ca, cb = await client(server, a), await client(server, b)
        try:
            pa, sa = key_texts("founding-a")
            assert await ca.call("addKeyToChain", {"RSA-PubKey": pa, "RSA-EPrivKey": sa}) is None
            assert await ca.call("e2e.fetchMyKeys") == {"public_key": pa, "private_key": sa}
            err = await call_error(ca, "addKeyToChain", {"RSA-PubKey": "other", "RSA-EPrivKey": "other"})
            assert (err.error, err.details) == ("error-keys-already-set", {"method": "addKeyToChain"})
            pb, sb = key_texts("founding-b")
            await cb.call("addKeyToChain", {"public_key": pb, "private_key": sb})
            assert await cb.call("fetchMyKeys") == {
                "RSA-PubKey": pb, "RSA-EPrivKey": sb, "public_key": pb, "private_key": sb}
        finally:
            await ca.close()
            await cb.close()
        h = rest_headers(server, (u := await new_user(server)))
        pu, su = key_texts("founding-rest")
        assert rest(server, "POST", "e2e.addKeyToChain", h, json={"RSAPubKey": pu, "RSAEPrivKey": su}).status_code == 200
        cu = await client(server, u)
        try:
            assert await cu.call("e2e.fetchMyKeys") == {"public_key": pu, "private_key": su}
        finally:
            await cu.close()

    run(main)


def test_fetch_keychain_gives_a_public_key_only_to_people_sharing_a_room(server: Any) -> None:
    async def main() -> None:
        owner, peer, stranger = await new_user(server), await new_user(server), await new_user(server)
        co, cp, cs = await client(server, owner), await client(server, peer), await client(server, stranger)
        try:
            public, private = await set_keys(co, "keychain")
            text = await co.call("fetchKeychain", owner.id)
            assert json.loads(text) == {"RSA-PubKey": public, "public_key": public}
            assert private not in text
            assert await cp.call("fetchKeychain", owner.id) == "{}", "no shared room yet"
            assert await cs.call("fetchKeychain", "no-such-user") == "{}"
            await e2e_group(co, [peer])
            assert json.loads(await cp.call("fetchKeychain", owner.id)) == {"RSA-PubKey": public, "public_key": public}
            assert await cs.call("fetchKeychain", owner.id) == "{}"
            assert await cp.call("fetchKeychain", peer.id) == "{}", "a user without keys"
        finally:
            for c in (co, cp, cs):
                await c.close()
        body = rest(server, "GET", "e2e.fetchKeychain", rest_headers(server, peer), params={"uid": owner.id}).json()
        assert body == {"RSA-PubKey": public, "public_key": public, "success": True}
        body = rest(server, "GET", "e2e.fetchKeychain", rest_headers(server, stranger), params={"uid": owner.id}).json()
        assert body == {"success": True}

    run(main)


def test_empty_keychain_clears_keys_and_room_keys_but_keeps_the_session(server: Any) -> None:
    async def main() -> None:
        u, peer = await new_user(server), await new_user(server)
        c, cp = await client(server, u), await client(server, peer)
        try:
            await set_keys(c, "empty")
            await set_keys(cp, "empty-peer")
            rid = await e2e_group(c, [peer])
            await c.call("e2e.setRoomKeyID", rid, "kid-empty")
            await c.call("e2e.updateGroupKey", rid, u.id, "kid-empty" + "A" * 344)
            waiting = [w["userId"] for w in (await room_of(c, rid)).get("usersWaitingForE2EKeys", [])]
            assert waiting == [peer.id], "the peer joined with keys; the owner holds the key"
            await cp.call("e2e.updateGroupKey", rid, u.id, "kid-empty" + "B" * 344)  # a suggestion for u
            assert await c.call("fetchGroupE2EKey", rid) == "kid-empty" + "A" * 344
            assert await c.call("emptyKeychain") is None
            assert await c.call("e2e.fetchMyKeys") == {}
            assert await c.call("fetchGroupE2EKey", rid) is None, "E2EKey and E2ESuggestedKey are gone"
            assert c.closed is None and await c.call("ddp-e2e.echo", 1) == 1, "no logout"
            public, private = await set_keys(c, "empty-again")  # a new pair without force
            assert await c.call("e2e.fetchMyKeys") == {"public_key": public, "private_key": private}
            waiting = [w["userId"] for w in (await room_of(c, rid)).get("usersWaitingForE2EKeys", [])]
            assert waiting == [peer.id, u.id], "queued again for the room key once the new pair is up"
        finally:
            await c.close()
            await cp.close()

    run(main)


def test_reset_own_key_answers_true_then_logs_the_user_out_everywhere(server: Any) -> None:
    async def main() -> None:
        u = await new_user(server)
        first, second, watcher = await client(server, u), await client(server, u), await client(server, u)
        try:
            await set_keys(first, "reset")
            await listen_user(watcher, u.id, "force_logout")
            token = first.token
            assert await first.call("e2e.resetOwnE2EKey") is True
            assert await watcher.next_stream_event("notify-user", f"{u.id}/force_logout") == []
            for c in (first, second, watcher):
                await c.wait_closed()
            fresh = await client(server)
            try:
                err = await call_error(fresh, "login", {"resume": token})
                assert err.error == 403, "every login token is gone"
                await fresh.login_password(u.username, u.password)
                assert await fresh.call("e2e.fetchMyKeys") == {}
            finally:
                await fresh.close()
        finally:
            for c in (first, second, watcher):
                await c.close()

    run(main)


def test_users_reset_e2e_key_own_and_for_others(server: Any) -> None:
    victim, other = run(lambda: new_user(server)), run(lambda: new_user(server))
    hv = rest_headers(server, victim)
    public, private = key_texts("victim")
    assert rest(server, "POST", "e2e.setUserPublicAndPrivateKeys", hv,
                json={"public_key": public, "private_key": private}).status_code == 200
    ho = rest_headers(server, other)
    for body in ({"userId": victim.id}, {"username": victim.username}, {"user": victim.username},
                 {"userId": "no-such-user"}):
        res = rest(server, "POST", "users.resetE2EKey", ho, json=body)
        assert res.status_code == 400
        assert res.json() == {"success": False, "error": "Not allowed [error-not-allowed]",
                              "errorType": "error-not-allowed"}
    assert rest(server, "GET", "e2e.fetchMyKeys", hv).json()["private_key"] == private
    ha = rest_headers(server, demo("admin"))
    res = rest(server, "POST", "users.resetE2EKey", ha, json={"userId": "no-such-user"})
    assert res.status_code == 400 and res.json()["errorType"] == "error-invalid-user"
    assert res.json()["error"] == ('The required "userId" or "username" param provided does not match any users'
                                   " [error-invalid-user]")
    assert rest(server, "POST", "users.resetE2EKey", ha, json={"username": victim.username}).status_code == 200
    assert rest(server, "GET", "e2e.fetchMyKeys", hv).status_code == 401, "the victim's tokens are gone"
    hv = rest_headers(server, victim)
    assert rest(server, "GET", "e2e.fetchMyKeys", hv).json() == {"success": True}
    assert rest(server, "POST", "e2e.setUserPublicAndPrivateKeys", hv,
                json={"public_key": public, "private_key": private}).status_code == 200
    assert rest(server, "POST", "users.resetE2EKey", hv, json={}).status_code == 200, "own reset"
    assert rest(server, "GET", "e2e.fetchMyKeys", rest_headers(server, victim)).json() == {"success": True}


def test_upload_queues_the_user_in_encrypted_rooms_without_a_key(server: Any) -> None:
    async def main() -> None:
        owner, joiner = await new_user(server), await new_user(server)
        co, cj = await client(server, owner), await client(server, joiner)
        try:
            rid = await e2e_group(co, [joiner])
            plain = await e2e_group(co, [joiner], encrypted=False)
            await listen_user(co, owner.id, "rooms-changed")
            await set_keys(cj, "queue")
            args = await wait_event(co, "notify-user", f"{owner.id}/rooms-changed", lambda a: a[1]["_id"] == rid)
            entries = args[1]["usersWaitingForE2EKeys"]
            assert [e["userId"] for e in entries] == [joiner.id]
            assert (await room_of(co, plain)).get("usersWaitingForE2EKeys") is None, "unencrypted room untouched"
        finally:
            await co.close()
            await cj.close()

    run(main)


def test_every_key_method_needs_a_login(server: Any) -> None:
    expected = {
        "e2e.fetchMyKeys": [], "e2e.setUserPublicAndPrivateKeys": [{"public_key": "p", "private_key": "s"}],
        "e2e.getUsersOfRoomWithoutKey": ["r-secret"], "e2e.setRoomKeyID": ["r-secret", "k"],
        "e2e.updateGroupKey": ["r-secret", "u-alice", "key"], "e2e.requestSubscriptionKeys": [],
        "e2e.resetOwnE2EKey": [], "e2e.acceptSuggestedGroupKey": ["r-secret"],
        "e2e.rejectSuggestedGroupKey": ["r-secret"], "addKeyToChain": [{"RSA-PubKey": "p", "RSA-EPrivKey": "s"}],
        "fetchMyKeys": [], "fetchGroupE2EKey": ["r-secret"], "fetchKeychain": ["u-alice"],
        "updateGroupE2EKey": ["r-secret", "u-alice", "key"], "emptyKeychain": [],
    }
    details = {"e2e.updateGroupKey": "e2e.acceptSuggestedGroupKey", "e2e.requestSubscriptionKeys":
               "requestSubscriptionKeys", "e2e.resetOwnE2EKey": "resetOwnE2EKey"}

    async def main() -> None:
        c = await client(server)
        try:
            for method, params in expected.items():
                err = await call_error(c, method, *params)
                assert (err.error, err.reason) == ("error-invalid-user", "Invalid user"), method
                assert err.details == {"method": details.get(method, method)}, method
        finally:
            await c.close()

    run(main)
    for verb, route in (("GET", "e2e.fetchMyKeys"), ("POST", "e2e.resetRoomKey"), ("POST", "users.resetE2EKey")):
        res = rest(server, verb, route, None)
        assert res.status_code == 401
        assert res.json() == {"status": "error", "message": "You must be logged in to do this."}


def test_method_call_runs_the_key_methods_like_the_websocket(server: Any) -> None:
    u: User = run(lambda: new_user(server))
    h = rest_headers(server, u)
    public, private = key_texts("mcall")
    assert method_call(server, h, "e2e.fetchMyKeys", ) == {"msg": "result", "id": "1", "result": {}}
    answer = method_call(server, h, "e2e.setUserPublicAndPrivateKeys", {"public_key": public, "private_key": private})
    assert answer == {"msg": "result", "id": "1"}
    answer = method_call(server, h, "e2e.setUserPublicAndPrivateKeys", {"public_key": public, "private_key": private})
    assert answer["error"]["error"] == "error-keys-already-set"
    answer = method_call(server, h, "fetchMyKeys")
    assert answer["result"]["RSA-EPrivKey"] == private
    answer = method_call(server, h, "fetchKeychain", u.id)
    assert json.loads(answer["result"]) == {"RSA-PubKey": public, "public_key": public}
    answer = method_call(server, h, "e2e.setUserPublicAndPrivateKeys", {"public_key": {"$ne": None}, "private_key": "x"})
    assert answer["error"] == MeteorError(400, "Match failed").to_wire()
    assert method_call(server, h, "emptyKeychain") == {"msg": "result", "id": "1"}
    assert method_call(server, h, "e2e.fetchMyKeys")["result"] == {}
    assert method_call(server, h, "addKeyToChain", {"RSA-PubKey": public, "RSA-EPrivKey": private}) == {
        "msg": "result", "id": "1"}
    assert method_call(server, h, "e2e.resetOwnE2EKey") == {"msg": "result", "id": "1", "result": True}
    assert rest(server, "GET", "e2e.fetchMyKeys", h).status_code == 401, "logged out everywhere"
