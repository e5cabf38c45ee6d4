"""The waiting queue, suggestions from the queue, and room key resets (spec §6.4-§6.8).

These run on the in-process server so they can read the store itself: the queue's 50-entry
limit, ``$unset`` when empty, ``oldRoomKeys`` order and limit are facts about stored documents.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from ddp_e2e.services.e2e_queue import QUEUE_LIMIT, add_user_to_queues, remove_users_from_queue
from ddp_e2e.services.e2e_reset import reset_locks
from tests.integration.inproc import InProcServer
from tests.integration.test_e2e_support import (
    client,
    demo,
    e2e_group,
    inproc_fixture,
    listen_user,
    new_user,
    on_server,
    rc_settings,
    rest,
    rest_headers,
    run,
    set_keys,
    wait_event,
    wrapped,
)

srv = inproc_fixture()


def stored_room(srv: InProcServer, rid: str) -> dict[str, Any]:
    return srv.run(lambda: srv.app.store.rooms.find_one({"_id": rid}))


def stored_sub(srv: InProcServer, rid: str, uid: str) -> dict[str, Any]:
    return srv.run(lambda: srv.app.store.subscriptions.find_one({"rid": rid, "u._id": uid}))


def queue(srv: InProcServer, rid: str) -> list[str]:
    return [e["userId"] for e in stored_room(srv, rid).get("usersWaitingForE2EKeys") or []]


def fresh_room(srv: InProcServer, members: int = 1, keys: bool = True) -> tuple[list[Any], str]:
    """Users (owner first) with key pairs, in a fresh encrypted group owned by the first."""

    async def main() -> tuple[list[Any], str]:
        users = [await new_user(srv) for _ in range(members + 1)]
        clients = [await client(srv, u) for u in users]
        try:
            if keys:
                for u, c in zip(users, clients, strict=True):
                    await set_keys(c, u.username)
            rid = await e2e_group(clients[0], users[1:])
        finally:
            for c in clients:
                await c.close()
        return users, rid

    return run(main)


def test_queue_keeps_the_newest_fifty_and_is_unset_when_empty(srv: InProcServer) -> None:
    _, rid = fresh_room(srv, members=1, keys=False)
    ids = [f"q-user-{i:02d}" for i in range(QUEUE_LIMIT + 5)]
    for uid in ids:
        assert srv.run(lambda uid=uid: add_user_to_queues(srv.app, [rid], uid)) == [rid]
    assert srv.run(lambda: add_user_to_queues(srv.app, [rid], ids[-1])) == [], "never queued twice"
    assert queue(srv, rid) == ids[5:], "at most 50, the oldest dropped"
    assert srv.run(lambda: add_user_to_queues(srv.app, ["GENERAL"], "q-user-x")) == [], "only encrypted rooms"
    assert srv.run(lambda: remove_users_from_queue(srv.app, rid, ids[5:-1]))
    assert queue(srv, rid) == [ids[-1]]
    assert srv.run(lambda: remove_users_from_queue(srv.app, rid, [ids[-1]]))
    assert "usersWaitingForE2EKeys" not in stored_room(srv, rid)
    assert not srv.run(lambda: remove_users_from_queue(srv.app, rid, [ids[-1]])), "nothing left to change"


def test_waiting_users_are_listed_to_members_only(srv: InProcServer) -> None:
    users, rid = fresh_room(srv, members=3)
    owner, keyed, suggested, waiting = users
    ho = rest_headers(srv, owner)
    rest(srv, "POST", "e2e.updateGroupKey", ho, json={"rid": rid, "uid": owner.id, "key": wrapped("k", "o")})
    rest(srv, "POST", "e2e.updateGroupKey", rest_headers(srv, keyed),
         json={"rid": rid, "uid": keyed.id, "key": wrapped("k", "k")})
    rest(srv, "POST", "e2e.updateGroupKey", ho, json={"rid": rid, "uid": suggested.id, "key": wrapped("k", "s")})
    public = stored_user_public(srv, waiting.id)
    _, not_mine = fresh_room(srv, members=1)
    res = rest(srv, "GET", "e2e.fetchUsersWaitingForGroupKey", ho, params={"roomIds[]": [rid, not_mine, "nope"]})
    assert res.status_code == 200
    assert res.json() == {"usersWaitingForE2EKeys": {rid: [{"_id": waiting.id, "public_key": public}]},
                          "success": True}
    single = rest(srv, "GET", "e2e.fetchUsersWaitingForGroupKey", ho, params={"roomIds": rid}).json()
    assert single["usersWaitingForE2EKeys"] == res.json()["usersWaitingForE2EKeys"]
    res = rest(srv, "GET", "e2e.fetchUsersWaitingForGroupKey", rest_headers(srv, demo("dave")),
               params={"roomIds[]": [rid]})
    assert res.json() == {"usersWaitingForE2EKeys": {}, "success": True}, "no access check upstream; here: members"
    res = rest(srv, "GET", "e2e.fetchUsersWaitingForGroupKey", rest_headers(srv, waiting), params={"roomIds[]": [rid]})
    assert res.json()["usersWaitingForE2EKeys"] == {}, "the caller is never listed"


def stored_user_public(srv: InProcServer, uid: str) -> str:
    return srv.run(lambda: srv.app.store.users.find_one({"_id": uid}))["e2e"]["public_key"]


def test_at_most_fifty_waiting_users_per_room(srv: InProcServer) -> None:
    users, rid = fresh_room(srv, members=1)

    async def seed() -> None:
        store = srv.app.store
        for i in range(60):
            uid = f"bulk-{rid}-{i:02d}"
            await store.users.insert_one({"_id": uid, "username": uid, "e2e": {"public_key": f"pk-{i}"}})
            await store.subscriptions.insert_one({"_id": f"s-{uid}", "rid": rid, "t": "p", "u": {"_id": uid}})

    srv.run(seed)
    res = rest(srv, "GET", "e2e.fetchUsersWaitingForGroupKey", rest_headers(srv, users[0]), params={"roomIds[]": [rid]})
    assert len(res.json()["usersWaitingForE2EKeys"][rid]) == 50


def test_provide_suggested_keys_serves_the_queue_with_old_keys(srv: InProcServer) -> None:
    users, rid = fresh_room(srv, members=2)
    owner, member, other = users
    strangers, elsewhere = fresh_room(srv, members=1)
    assert sorted(queue(srv, rid)) == sorted([owner.id, member.id, other.id])
    old = [{"e2eKeyId": f"old-{i}", "ts": (datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=i)).isoformat(),
            "E2EKey": wrapped(f"old-{i}", "m")} for i in range(12)]
    body = {"usersSuggestedGroupKeys": {
        rid: [{"_id": member.id, "key": wrapped("new", "m"), "oldKeys": old},
              {"_id": "not-a-member", "key": wrapped("new", "x")}],
        elsewhere: [{"_id": strangers[1].id, "key": wrapped("new", "evil")}],
    }}

    async def main() -> None:
        cm = await client(srv, member)
        try:
            await listen_user(cm, member.id, "subscriptions-changed", "rooms-changed")
            res = rest(srv, "POST", "e2e.provideUsersSuggestedGroupKeys", rest_headers(srv, owner), json=body)
            assert res.status_code == 200 and res.json() == {"success": True}
            args = await wait_event(cm, "notify-user", f"{member.id}/subscriptions-changed",
                                    lambda a: a[1]["rid"] == rid)
            assert args[1]["E2ESuggestedKey"] == wrapped("new", "m")
            await wait_event(cm, "notify-user", f"{member.id}/rooms-changed",
                             lambda a: a[1]["_id"] == rid and member.id not in str(a[1].get("usersWaitingForE2EKeys")))
        finally:
            await cm.close()

    run(main)
    sub = stored_sub(srv, rid, member.id)
    assert sub["E2ESuggestedKey"] == wrapped("new", "m") and "E2EKey" not in sub
    kept = sub["suggestedOldRoomKeys"]
    assert [k["e2eKeyId"] for k in kept] == [f"old-{i}" for i in range(11, 1, -1)], "newest first, at most 10"
    assert all(isinstance(k["ts"], datetime) for k in kept), "ts stored as a date"
    assert sorted(queue(srv, rid)) == sorted([owner.id, other.id]), "only the served member left the queue"
    assert "E2ESuggestedKey" not in stored_sub(srv, elsewhere, strangers[1].id), "the caller is not in that room"


def test_provide_and_fetch_are_no_ops_when_e2e_is_disabled() -> None:
    with InProcServer.running(rc_settings(E2E_Enable=False)) as off:
        users, rid = fresh_room(off, members=1)
        h = rest_headers(off, users[0])
        res = rest(off, "GET", "e2e.fetchUsersWaitingForGroupKey", h, params={"roomIds[]": [rid]})
        assert res.json() == {"usersWaitingForE2EKeys": {}, "success": True}
        body = {"usersSuggestedGroupKeys": {rid: [{"_id": users[1].id, "key": wrapped("k", "x")}]}}
        assert rest(off, "POST", "e2e.provideUsersSuggestedGroupKeys", h, json=body).json() == {"success": True}
        assert "E2ESuggestedKey" not in stored_sub(off, rid, users[1].id)
        assert "usersWaitingForE2EKeys" not in stored_room(off, rid), "nobody is queued with E2E off"


def keyed_room(srv: InProcServer, members: int = 2) -> tuple[list[Any], str]:
    """A fresh encrypted group whose members all hold the first key ``kid-0``."""
    users, rid = fresh_room(srv, members=members)
    rest(srv, "POST", "e2e.setRoomKeyID", rest_headers(srv, users[0]), json={"rid": rid, "keyID": "kid-0"})
    for u in users:
        rest(srv, "POST", "e2e.updateGroupKey", rest_headers(srv, u),
             json={"rid": rid, "uid": u.id, "key": wrapped("kid-0", u.username)})
    assert "usersWaitingForE2EKeys" not in stored_room(srv, rid)
    return users, rid


def test_room_key_reset_moves_keys_to_history_and_queues_the_others(srv: InProcServer) -> None:
    users, rid = keyed_room(srv, members=2)
    owner, member, other = users
    srv.run(lambda: srv.app.store.subscriptions.update_one(
        {"rid": rid, "u._id": other.id}, {"$set": {"E2ESuggestedKey": wrapped("kid-0", "pending")}}))

    async def main() -> None:
        cm = await client(srv, member)
        try:
            await listen_user(cm, member.id, "subscriptions-changed", "rooms-changed")
            res = rest(srv, "POST", "e2e.resetRoomKey", rest_headers(srv, owner),
                       json={"rid": rid, "e2eKeyId": "kid-1", "e2eKey": wrapped("kid-1", "owner")})
            assert res.status_code == 200 and res.json() == {"success": True}
            args = await wait_event(cm, "notify-user", f"{member.id}/subscriptions-changed",
                                    lambda a: a[1]["rid"] == rid)
            assert "E2EKey" not in args[1] and args[1]["oldRoomKeys"][0]["e2eKeyId"] == "kid-0"
            args = await wait_event(cm, "notify-user", f"{member.id}/rooms-changed", lambda a: a[1]["_id"] == rid)
            assert args[1]["e2eKeyId"] == "kid-1"
        finally:
            await cm.close()

    run(main)
    room = stored_room(srv, rid)
    assert room["e2eKeyId"] == "kid-1"
    assert queue(srv, rid) == [member.id, other.id], "every other member waits for the new key"
    mine = stored_sub(srv, rid, owner.id)
    assert mine["E2EKey"] == wrapped("kid-1", "owner")
    assert [(k["e2eKeyId"], k["E2EKey"]) for k in mine["oldRoomKeys"]] == [("kid-0", wrapped("kid-0", owner.username))]
    theirs = stored_sub(srv, rid, other.id)
    assert "E2EKey" not in theirs and "E2ESuggestedKey" not in theirs
    assert theirs["oldRoomKeys"][0]["E2EKey"] == wrapped("kid-0", other.username)


def test_old_room_keys_keep_the_newest_ten(srv: InProcServer) -> None:
    users, rid = keyed_room(srv, members=1)
    owner = users[0]
    h = rest_headers(srv, owner)
    for i in range(1, 13):
        res = rest(srv, "POST", "e2e.resetRoomKey", h,
                   json={"rid": rid, "e2eKeyId": f"kid-{i}", "e2eKey": wrapped(f"kid-{i}", "owner")})
        assert res.status_code == 200, res.text
    old = stored_sub(srv, rid, owner.id)["oldRoomKeys"]
    assert [k["e2eKeyId"] for k in old] == [f"kid-{i}" for i in range(11, 1, -1)]
    assert stored_sub(srv, rid, owner.id)["E2EKey"] == wrapped("kid-12", "owner")


def test_room_key_reset_permissions_and_failures(srv: InProcServer) -> None:
    users, rid = keyed_room(srv, members=1)
    member = users[1]
    body = {"rid": rid, "e2eKeyId": "kid-x", "e2eKey": wrapped("kid-x", "x")}
    res = rest(srv, "POST", "e2e.resetRoomKey", rest_headers(srv, member), json=body)
    assert (res.status_code, res.json()) == (403, {"success": False, "error": "error-not-allowed"})
    res = rest(srv, "POST", "e2e.resetRoomKey", rest_headers(srv, demo("dave")), json=body)
    assert res.status_code == 403, "not a member and not an admin"
    res = rest(srv, "POST", "e2e.resetRoomKey", rest_headers(srv, demo("admin")), json=body)
    assert (res.status_code, res.json()) == (400, {"success": False, "error": "error-not-allowed"})
    res = rest(srv, "POST", "e2e.resetRoomKey", rest_headers(srv, demo("admin")), json={**body, "rid": "nope"})
    assert (res.status_code, res.json()) == (400, {"success": False, "error": "error-not-allowed"})
    assert stored_room(srv, rid)["e2eKeyId"] == "kid-0"
    plain_users, plain_rid = fresh_room(srv, members=1)
    res = rest(srv, "POST", "e2e.resetRoomKey", rest_headers(srv, plain_users[0]), json={**body, "rid": plain_rid})
    assert res.status_code == 400
    assert res.json() == {"success": False, "error": "error-e2e-key-reset-failed",
                          "details": {"cause": "error-room-not-encrypted"}}
    keyless_users, keyless_rid = fresh_room(srv, members=1, keys=False)
    srv.run(lambda: srv.app.store.rooms.update_one({"_id": keyless_rid}, {"$set": {"e2eKeyId": "kid-0"}}))
    res = rest(srv, "POST", "e2e.resetRoomKey", rest_headers(srv, keyless_users[0]), json={**body, "rid": keyless_rid})
    assert res.json()["details"] == {"cause": "error-user-has-no-keys"}
    assert not on_server(srv, lambda: reset_locks(srv.app).held(keyless_rid)), "released after a failure"


def test_any_member_of_a_direct_room_may_reset_its_key(srv: InProcServer) -> None:
    async def main() -> tuple[Any, Any, str]:
        a, b = await new_user(srv), await new_user(srv)
        ca = await client(srv, a)
        try:
            await set_keys(ca, a.username)
            rid = (await ca.call("createDirectMessage", b.username))["rid"]
            await ca.call("e2e.setRoomKeyID", rid, "kid-d")
        finally:
            await ca.close()
        return a, b, rid

    a, _, rid = run(main)
    res = rest(srv, "POST", "e2e.resetRoomKey", rest_headers(srv, a),
               json={"rid": rid, "e2eKeyId": "kid-d2", "e2eKey": wrapped("kid-d2", "a")})
    assert res.status_code == 200, res.text
    assert stored_room(srv, rid)["e2eKeyId"] == "kid-d2"


def test_a_reset_in_progress_refuses_the_next_one_until_released(srv: InProcServer) -> None:
    users, rid = keyed_room(srv, members=1)
    h = rest_headers(srv, users[0])
    locks = reset_locks(srv.app)
    assert on_server(srv, lambda: locks.try_acquire(rid))
    try:
        res = rest(srv, "POST", "e2e.resetRoomKey", h,
                   json={"rid": rid, "e2eKeyId": "kid-l", "e2eKey": wrapped("kid-l", "o")})
        assert (res.status_code, res.json()) == (400, {"success": False, "error": "error-e2e-key-reset-in-progress"})
        assert stored_room(srv, rid)["e2eKeyId"] == "kid-0"
    finally:
        on_server(srv, lambda: locks.release(rid))
    res = rest(srv, "POST", "e2e.resetRoomKey", h, json={"rid": rid, "e2eKeyId": "kid-l", "e2eKey": wrapped("kid-l", "o")})
    assert res.status_code == 200


def test_concurrent_resets_leave_one_consistent_key(srv: InProcServer) -> None:
    users, rid = keyed_room(srv, members=1)
    h = rest_headers(srv, users[0])

    async def burst() -> list[Any]:
        import httpx

        async with httpx.AsyncClient(base_url=f"{srv.http_url}/api/v1", headers=h, timeout=10) as http:
            return list(await asyncio.gather(*(http.post("e2e.resetRoomKey", json={
                "rid": rid, "e2eKeyId": f"kid-c{i}", "e2eKey": wrapped(f"kid-c{i}", "o")}) for i in range(8))))

    answers = run(burst)
    ok = [i for i, r in enumerate(answers) if r.status_code == 200]
    refused = [r.json() for r in answers if r.status_code != 200]
    assert ok, "at least one reset ran"
    assert all(r == {"success": False, "error": "error-e2e-key-reset-in-progress"} for r in refused)
    room, mine = stored_room(srv, rid), stored_sub(srv, rid, users[0].id)
    assert room["e2eKeyId"] in {f"kid-c{i}" for i in ok}
    assert mine["E2EKey"] == wrapped(room["e2eKeyId"], "o"), "the caller's key matches the room's key id"
    assert len(mine["oldRoomKeys"]) == min(len(ok), 10)
