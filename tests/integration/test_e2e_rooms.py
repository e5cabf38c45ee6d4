"""Room keys: the key id, own keys, suggestions, accept/reject, key requests and their events."""

from __future__ import annotations

import asyncio
from typing import Any

from ddp_e2e.ddp import ejson
from tests.integration.test_e2e_support import (
    call_error,
    client,
    demo,
    e2e_group,
    key_texts,
    listen_user,
    new_user,
    rest,
    rest_headers,
    room_of,
    run,
    server_fixture,
    set_keys,
    subscription_of,
    wait_event,
    waiting,
    wrapped,
)

server = server_fixture()


def test_room_key_id_is_set_once_by_a_member_and_announced(server: Any) -> None:
    async def main() -> None:
        owner, member, outsider = await new_user(server), await new_user(server), await new_user(server)
        co, cm, cx = [await client(server, u) for u in (owner, member, outsider)]
        try:
            rid = await e2e_group(co, [member])
            await listen_user(cm, member.id, "rooms-changed")
            for bad in ("", "no-such-room", rid):
                c = cx if bad == rid else co
                err = await call_error(c, "e2e.setRoomKeyID", bad, "kid-x")
                assert (err.error, err.reason) == ("error-invalid-room", "Invalid room")
                assert err.details == {"method": "e2e.setRoomKeyID"}
            assert await cm.call("e2e.setRoomKeyID", rid, "kid-1") is None
            args = await wait_event(cm, "notify-user", f"{member.id}/rooms-changed", lambda a: a[1]["_id"] == rid)
            assert args[0] == "updated" and args[1]["e2eKeyId"] == "kid-1"
            err = await call_error(co, "e2e.setRoomKeyID", rid, "kid-2")
            assert (err.error, err.reason) == ("error-room-e2e-key-already-exists", "E2E Key ID already exists")
            assert (await room_of(co, rid))["e2eKeyId"] == "kid-1"
        finally:
            for c in (co, cm, cx):
                await c.close()
        res = rest(server, "POST", "e2e.setRoomKeyID", rest_headers(server, owner), json={"rid": rid, "keyID": "k3"})
        assert res.status_code == 400
        assert res.json() == {"success": False, "error": "E2E Key ID already exists [error-room-e2e-key-already-exists]",
                              "errorType": "error-room-e2e-key-already-exists",
                              "details": {"method": "e2e.setRoomKeyID"}}

    run(main)


def test_two_members_racing_for_the_first_key_id_exactly_one_wins(server: Any) -> None:
    async def main() -> None:
        users = [await new_user(server) for _ in range(4)]
        clients = [await client(server, u) for u in users]
        try:
            rid = await e2e_group(clients[0], users[1:])
            answers = await asyncio.gather(
                *(c.call_full("e2e.setRoomKeyID", rid, f"kid-{i}") for i, c in enumerate(clients)))
            winners = [i for i, a in enumerate(answers) if "error" not in a]
            losers = [a["error"]["error"] for a in answers if "error" in a]
            assert len(winners) == 1 and losers == ["error-room-e2e-key-already-exists"] * 3
            assert (await room_of(clients[0], rid))["e2eKeyId"] == f"kid-{winners[0]}"
        finally:
            for c in clients:
                await c.close()

    run(main)


def test_update_group_key_own_key_direct_others_only_suggested(server: Any) -> None:
    async def main() -> None:
        owner, member, outsider = await new_user(server), await new_user(server), await new_user(server)
        co, cm, cx = await client(server, owner), await client(server, member), await client(server, outsider)
        try:
            await set_keys(co, "ugk-o")
            rid = await e2e_group(co, [member])
            await set_keys(cm, "ugk-m")
            assert waiting(await room_of(co, rid)) == [owner.id, member.id]
            await listen_user(cm, member.id, "subscriptions-changed")
            await listen_user(co, owner.id, "rooms-changed")
            own = wrapped("kid-u", "own")
            assert await co.call("e2e.updateGroupKey", rid, owner.id, own) is None
            await wait_event(co, "notify-user", f"{owner.id}/rooms-changed", lambda a: waiting(a[1]) == [member.id])
            assert (await subscription_of(co, rid))["E2EKey"] == own
            mine = wrapped("kid-u", "mine")
            await cm.call("e2e.updateGroupKey", rid, member.id, mine)
            offer = wrapped("kid-u", "offer")
            await co.call("e2e.updateGroupKey", rid, member.id, offer)
            args = await wait_event(cm, "notify-user", f"{member.id}/subscriptions-changed",
                                    lambda a: a[1].get("E2ESuggestedKey") == offer)
            assert args[0] == "updated" and args[1]["E2EKey"] == mine, "another member's E2EKey never changes"
            sub = await subscription_of(cm, rid)
            assert (sub["E2EKey"], sub["E2ESuggestedKey"]) == (mine, offer)
            # a non-member caller and a non-member target are silent no-ops (upstream behaviour)
            assert await cx.call("e2e.updateGroupKey", rid, member.id, wrapped("kid-u", "evil")) is None
            assert await co.call("e2e.updateGroupKey", rid, outsider.id, wrapped("kid-u", "out")) is None
            assert (await subscription_of(cm, rid))["E2ESuggestedKey"] == offer
            res = rest(server, "POST", "e2e.updateGroupKey", rest_headers(server, outsider),
                       json={"rid": rid, "uid": member.id, "key": wrapped("kid-u", "evil")})
            assert res.status_code == 200 and res.json() == {"success": True}
            assert (await subscription_of(cm, rid))["E2ESuggestedKey"] == offer
        finally:
            for c in (co, cm, cx):
                await c.close()

    run(main)


def test_founding_update_and_fetch_group_key(server: Any) -> None:
    async def main() -> None:
        owner, member, outsider = await new_user(server), await new_user(server), await new_user(server)
        co, cm, cx = await client(server, owner), await client(server, member), await client(server, outsider)
        try:
            rid = await e2e_group(co, [member])
            assert await co.call("fetchGroupE2EKey", rid) is None
            own = wrapped("kid-f", "own")
            sub = await co.call("updateGroupE2EKey", rid, owner.id, own)
            assert sub["_id"] and sub["rid"] == rid and sub["u"]["_id"] == owner.id and sub["E2EKey"] == own
            member_key = wrapped("kid-f", "member-own")
            await cm.call("updateGroupE2EKey", rid, member.id, member_key)
            offer = wrapped("kid-f", "offer")
            view = await co.call("updateGroupE2EKey", rid, member.id, offer)
            assert set(view) == {"_id", "rid", "u", "E2ESuggestedKey"}, "never the member's own E2EKey"
            assert view["E2ESuggestedKey"] == offer and view["u"]["_id"] == member.id
            assert await cm.call("fetchGroupE2EKey", rid) == member_key, "E2EKey wins over a suggestion"
            assert await co.call("fetchGroupE2EKey", rid) == own
            err = await call_error(co, "updateGroupE2EKey", rid, outsider.id, wrapped("kid-f", "x"))
            assert (err.error, err.reason) == ("error-user-not-in-room", "User is not in this room")
            for method, params in (("updateGroupE2EKey", [rid, outsider.id, own]), ("fetchGroupE2EKey", [rid])):
                err = await call_error(cx, method, *params)
                assert (err.error, err.details) == ("error-invalid-room", {"method": method})
            h = rest_headers(server, owner)
            assert rest(server, "GET", "e2e.fetchGroupE2EKey", h, params={"rid": rid}).json() == {
                "E2EKey": own, "success": True}
            res = rest(server, "POST", "e2e.updateGroupE2EKey", h, json={"rid": rid, "uid": member.id, "key": offer})
            assert res.status_code == 200 and "E2EKey" not in res.json() and res.json()["E2ESuggestedKey"] == offer
            res = rest(server, "GET", "e2e.fetchGroupE2EKey", rest_headers(server, outsider), params={"rid": rid})
            assert res.status_code == 400 and res.json()["errorType"] == "error-invalid-room"
        finally:
            for c in (co, cm, cx):
                await c.close()

    run(main)


def test_founding_client_reads_its_suggestion_when_it_has_no_key(server: Any) -> None:
    async def main() -> None:
        owner, member = await new_user(server), await new_user(server)
        co, cm = await client(server, owner), await client(server, member)
        try:
            rid = await e2e_group(co, [member])
            offer = wrapped("kid-s", "offer")
            await co.call("e2e.updateGroupKey", rid, member.id, offer)
            assert await cm.call("fetchGroupE2EKey", rid) == offer
            await cm.call("updateGroupE2EKey", rid, member.id, offer)  # the owner stores it as its own
            sub = await subscription_of(cm, rid)
            assert sub["E2EKey"] == offer
        finally:
            await co.close()
            await cm.close()

    run(main)


def test_users_of_room_without_key_lists_public_keys_only(server: Any) -> None:
    async def main() -> None:
        owner, keyed, suggested, keyless, outsider = [await new_user(server) for _ in range(5)]
        co, ck, cs, cn, cx = [await client(server, u) for u in (owner, keyed, suggested, keyless, outsider)]
        try:
            texts = {u.id: await set_keys(c, u.username) for u, c in ((owner, co), (keyed, ck), (suggested, cs))}
            rid = await e2e_group(co, [keyed, suggested, keyless])
            await ck.call("e2e.updateGroupKey", rid, keyed.id, wrapped("kid-w", "k"))
            await co.call("e2e.updateGroupKey", rid, suggested.id, wrapped("kid-w", "s"))
            answer = await co.call("e2e.getUsersOfRoomWithoutKey", rid)
            assert set(answer) == {"users"}
            assert sorted(answer["users"], key=lambda u: u["_id"]) == sorted(
                [{"_id": owner.id, "e2e": {"public_key": texts[owner.id][0]}},
                 {"_id": suggested.id, "e2e": {"public_key": texts[suggested.id][0]}}], key=lambda u: u["_id"])
            body = rest(server, "GET", "e2e.getUsersOfRoomWithoutKey", rest_headers(server, keyless),
                        params={"rid": rid}).json()
            assert body == {**answer, "success": True}
            for private in (t[1] for t in texts.values()):
                assert private not in str(answer)
            for bad in (rid, "no-such-room", ""):
                err = await call_error(cx, "e2e.getUsersOfRoomWithoutKey", bad)
                assert (err.error, err.details) == ("error-invalid-room", {"method": "e2e.getUsersOfRoomWithoutKey"})
        finally:
            for c in (co, ck, cs, cn, cx):
                await c.close()

    run(main)


def test_accept_and_reject_a_suggested_key_over_ddp_and_rest(server: Any) -> None:
    async def main() -> None:
        owner, member = await new_user(server), await new_user(server)
        co, cm = await client(server, owner), await client(server, member)
        try:
            await set_keys(co, "acc-o")
            await set_keys(cm, "acc-m")
            rid = await e2e_group(co, [member])
            await co.call("e2e.setRoomKeyID", rid, "kid-a")
            await co.call("e2e.updateGroupKey", rid, owner.id, wrapped("kid-a", "o"))
            assert waiting(await room_of(co, rid)) == [member.id]
            for method in ("e2e.acceptSuggestedGroupKey", "e2e.rejectSuggestedGroupKey"):
                err = await call_error(cm, method, rid)
                assert (err.error, err.reason) == ("error-no-suggested-key-available", "No suggested key available")
                assert err.details == {"method": method}
            await co.call("e2e.updateGroupKey", rid, member.id, wrapped("kid-a", "bad"))
            assert waiting(await room_of(co, rid)) == [member.id]
            assert await cm.call("e2e.rejectSuggestedGroupKey", rid) == {"success": True}
            sub = await subscription_of(cm, rid)
            assert "E2ESuggestedKey" not in sub and "E2EKey" not in sub
            assert waiting(await room_of(co, rid)) == [member.id], "still (again) waiting"
            await listen_user(cm, member.id, "subscriptions-changed")
            good = wrapped("kid-a", "good")
            await co.call("e2e.updateGroupKey", rid, member.id, good)
            res = rest(server, "POST", "e2e.acceptSuggestedGroupKey", rest_headers(server, member), json={"rid": rid})
            assert res.status_code == 200 and res.json() == {"success": True}
            args = await wait_event(cm, "notify-user", f"{member.id}/subscriptions-changed",
                                    lambda a: a[1].get("E2EKey") == good)
            assert "E2ESuggestedKey" not in args[1]
            assert waiting(await room_of(co, rid)) == [], "out of the queue, which is unset"
            assert "usersWaitingForE2EKeys" not in await room_of(co, rid)
            res = rest(server, "POST", "e2e.rejectSuggestedGroupKey", rest_headers(server, member), json={"rid": rid})
            assert res.status_code == 400 and res.json()["errorType"] == "error-no-suggested-key-available"
            stranger = await new_user(server)
            res = rest(server, "POST", "e2e.acceptSuggestedGroupKey", rest_headers(server, stranger), json={"rid": rid})
            assert res.json() == {"success": False, "error": "Subscription not found [error-subscription-not-found]",
                                  "errorType": "error-subscription-not-found",
                                  "details": {"method": "e2e.acceptSuggestedGroupKey"}}
        finally:
            await co.close()
            await cm.close()

    run(main)


def test_accepting_takes_suggested_old_keys_only_without_own_old_keys(server: Any) -> None:
    async def main() -> None:
        owner, member = await new_user(server), await new_user(server)
        co, cm = await client(server, owner), await client(server, member)
        ho = rest_headers(server, owner)
        try:
            await set_keys(co, "old-o")
            await set_keys(cm, "old-m")
            rid = await e2e_group(co, [member])
            old = [{"e2eKeyId": "kid-0", "ts": "2024-05-01T10:00:00.000Z", "E2EKey": wrapped("kid-0", "m0")}]
            body = {"usersSuggestedGroupKeys": {rid: [{"_id": member.id, "key": wrapped("kid-1", "m1"), "oldKeys": old}]}}
            assert rest(server, "POST", "e2e.provideUsersSuggestedGroupKeys", ho, json=body).status_code == 200
            sub = await subscription_of(cm, rid)
            assert [k["e2eKeyId"] for k in sub["suggestedOldRoomKeys"]] == ["kid-0"]
            await cm.call("e2e.acceptSuggestedGroupKey", rid)
            sub = await subscription_of(cm, rid)
            assert sub["E2EKey"] == wrapped("kid-1", "m1")
            assert [(k["e2eKeyId"], k["E2EKey"]) for k in sub["oldRoomKeys"]] == [("kid-0", wrapped("kid-0", "m0"))]
            assert "suggestedOldRoomKeys" not in sub
            other = [{"e2eKeyId": "kid-9", "ts": "2024-06-01T10:00:00.000Z", "E2EKey": wrapped("kid-9", "m9")}]
            body = {"usersSuggestedGroupKeys": {rid: [{"_id": member.id, "key": wrapped("kid-2", "m2"),
                                                       "oldKeys": other}]}}
            rest(server, "POST", "e2e.provideUsersSuggestedGroupKeys", ho, json=body)
            await cm.call("e2e.acceptSuggestedGroupKey", rid)
            sub = await subscription_of(cm, rid)
            assert sub["E2EKey"] == wrapped("kid-2", "m2")
            assert [k["e2eKeyId"] for k in sub["oldRoomKeys"]] == ["kid-0"], "own old keys are kept, not merged"
        finally:
            await co.close()
            await cm.close()

    run(main)


def test_method_call_reaches_every_room_key_method(server: Any) -> None:
    owner, member = run(lambda: new_user(server)), run(lambda: new_user(server))
    ho, hm = rest_headers(server, owner), rest_headers(server, member)

    def call(h: dict[str, str], method: str, *params: Any) -> dict[str, Any]:
        msg = ejson.dumps({"msg": "method", "id": "7", "method": method, "params": list(params)})
        res = rest(server, "POST", f"method.call/{method}", h, json={"message": msg})
        assert res.status_code == 200, res.text
        return ejson.loads(res.json()["message"])

    async def make_room() -> str:
        co = await client(server, owner)
        try:
            return await e2e_group(co, [member])
        finally:
            await co.close()

    rid = run(make_room)
    for h, who in ((ho, "o"), (hm, "m")):
        public, private = key_texts(f"mc-{who}")
        assert "error" not in call(h, "e2e.setUserPublicAndPrivateKeys", {"public_key": public, "private_key": private})
    assert call(ho, "e2e.setRoomKeyID", rid, "kid-mc") == {"msg": "result", "id": "7"}
    users = call(ho, "e2e.getUsersOfRoomWithoutKey", rid)["result"]["users"]
    assert {u["_id"] for u in users} == {owner.id, member.id}
    assert call(ho, "e2e.updateGroupKey", rid, owner.id, wrapped("kid-mc", "o")) == {"msg": "result", "id": "7"}
    assert call(ho, "updateGroupE2EKey", rid, member.id, wrapped("kid-mc", "m"))["result"]["E2ESuggestedKey"]
    assert call(hm, "fetchGroupE2EKey", rid)["result"] == wrapped("kid-mc", "m")
    assert call(hm, "e2e.rejectSuggestedGroupKey", rid)["result"] == {"success": True}
    call(ho, "e2e.updateGroupKey", rid, member.id, wrapped("kid-mc", "m2"))
    assert call(hm, "e2e.acceptSuggestedGroupKey", rid)["result"] == {"success": True}
    assert call(hm, "fetchGroupE2EKey", rid)["result"] == wrapped("kid-mc", "m2")
    assert call(hm, "e2e.requestSubscriptionKeys")["result"] is True
    err = call(hm, "e2e.setRoomKeyID", rid, "again")["error"]
    assert err["error"] == "error-room-e2e-key-already-exists"
    err = call(hm, "e2e.getUsersOfRoomWithoutKey", {"$ne": None})["error"]
    assert (err["error"], err["reason"]) == (400, "Match failed")


def test_demo_users_and_rooms_are_reachable(server: Any) -> None:
    """The fixture room r-secret is encrypted and alice owns it: the demo depends on this."""

    async def main() -> None:
        c = await client(server, demo("alice"))
        try:
            room = await room_of(c, "r-secret")
            assert room is not None and room["encrypted"] is True and room["t"] == "p"
        finally:
            await c.close()

    run(main)
