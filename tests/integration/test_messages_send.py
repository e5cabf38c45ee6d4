"""Sending messages over DDP, REST and method.call: shapes, fan-out, and every refusal."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from ddp_e2e.client import crypto
from tests.integration.test_messages_support import (
    body,
    call_error,
    client,
    connected,
    demo,
    e2e_v2,
    group,
    history,
    method_call,
    new_user,
    rest,
    rest_headers,
    room_of,
    server_fixture,
    snapshot,
    subscription_of,
    unique,
    wait_event,
)

server = server_fixture()

REFUSED = "Not allowed to send un-encrypted messages in an encrypted room"


def test_plain_message_shape_stream_notification_and_counters(server):
    async def main():
        alice, bob = await new_user(server, "al"), await new_user(server, "bo")
        async with connected(server, alice, bob) as (a, b):
            rid = await group(a, [bob])
            await b.stream("room-messages", rid)
            await b.stream("notify-user", f"{bob.id}/notification")
            await b.stream("notify-user", f"{bob.id}/subscriptions-changed")
            await b.stream("notify-user", f"{bob.id}/rooms-changed")
            sent = await a.call("sendMessage", {"rid": rid, "msg": f"hi @{bob.username} see https://example.org/x"})

            assert len(sent["_id"]) == 17 and sent["rid"] == rid
            assert sent["u"] == {"_id": alice.id, "username": alice.username, "name": alice.username.title()}
            assert isinstance(sent["ts"], datetime) and sent["_updatedAt"] >= sent["ts"]
            assert sent["mentions"] == [{"_id": bob.id, "username": bob.username, "name": bob.username.title(),
                                         "type": "user"}]
            assert sent["channels"] == [] and sent["urls"] == [{"url": "https://example.org/x"}]
            assert "t" not in sent and "md" not in sent

            streamed = await wait_event(b, "room-messages", rid, lambda args: args[0]["_id"] == sent["_id"])
            assert streamed == [sent]
            note = await wait_event(b, "notify-user", f"{bob.id}/notification", lambda a_: True)
            assert note[0]["title"].startswith("#") and note[0]["text"] == f"{alice.username}: {sent['msg']}"
            assert note[0]["payload"] == {
                "_id": sent["_id"], "rid": rid, "type": "p", "name": note[0]["payload"]["name"],
                "sender": {"_id": alice.id, "username": alice.username, "name": alice.username.title()},
                "message": {"msg": sent["msg"]},
            }
            sub = await wait_event(b, "notify-user", f"{bob.id}/subscriptions-changed",
                                   lambda args: args[1]["rid"] == rid and args[1]["unread"] == 1)
            assert sub[0] == "updated" and sub[1]["alert"] is True and sub[1]["userMentions"] == 1
            room_ev = await wait_event(b, "notify-user", f"{bob.id}/rooms-changed",
                                       lambda args: args[1]["_id"] == rid and args[1].get("lastMessage"))
            assert room_ev[1]["lastMessage"]["_id"] == sent["_id"] and room_ev[1]["msgs"] == 1
            assert room_ev[1]["lm"] == sent["ts"]

            own = await subscription_of(a, rid)
            assert own["unread"] == 0 and own["alert"] is False  # the sender is not alerted
            assert await history(b, rid) == [sent]

    asyncio.run(main())


def test_unread_counts_follow_rocketchat_defaults(server):
    async def main():
        alice, bob, carol = [await new_user(server, n) for n in ("al", "bo", "ca")]
        async with connected(server, alice, bob, carol) as (a, b, c):
            rid = await group(a, [bob, carol])
            await a.call("sendMessage", {"rid": rid, "msg": "no mention"})
            await a.call("sendMessage", {"rid": rid, "msg": f"@{carol.username} only"})
            await a.call("sendMessage", {"rid": rid, "msg": "@all everyone"})
            sb, sc = await subscription_of(b, rid), await subscription_of(c, rid)
            # Unread_Count 'user_and_group_mentions_only': a plain message alerts but does not count
            assert (sb["unread"], sb["userMentions"], sb["groupMentions"], sb["alert"]) == (1, 0, 1, True)
            assert (sc["unread"], sc["userMentions"], sc["groupMentions"]) == (2, 1, 1)

            dm = (await a.call("createDirectMessage", bob.username))["rid"]
            await a.call("sendMessage", {"rid": dm, "msg": "direct"})
            assert (await subscription_of(b, dm))["unread"] == 1  # Unread_Count_DM 'all_messages'

    asyncio.run(main())


def test_client_id_is_kept_and_a_resend_is_ignored(server):
    async def main():
        alice, bob = await new_user(server, "al"), await new_user(server, "bo")
        async with connected(server, alice, bob) as (a, b):
            rid = await group(a, [bob])
            mid = unique("m")
            first = await a.call("sendMessage", {"_id": mid, "rid": rid, "msg": "once"})
            assert first["_id"] == mid
            again = await a.call_full("sendMessage", {"_id": mid, "rid": rid, "msg": "twice"})
            assert "result" not in again and "error" not in again
            assert [m["msg"] for m in await history(b, rid)] == ["once"]
            assert (await room_of(b, rid))["msgs"] == 1

            res = rest(server, "POST", "chat.sendMessage", rest_headers(server, alice),
                       json={"message": {"_id": mid, "rid": rid, "msg": "thrice"}})
            assert res.status_code == 400 and body(res) == {"success": False, "error": "error-message-already-exists"}
            assert len(await history(b, rid)) == 1

    asyncio.run(main())


def test_e2e_message_to_encrypted_room_on_each_path(server):
    async def main():
        alice, bob = await new_user(server, "al"), await new_user(server, "bo")
        key, kid = crypto.generate_room_key(), crypto.key_id_uuid()
        async with connected(server, alice, bob) as (a, b):
            rid = await group(a, [bob], encrypted=True)
            h = rest_headers(server, alice)
            via_ddp = await a.call("sendMessage", {"rid": rid, **e2e_v2(key, kid, "one")})
            res = rest(server, "POST", "chat.sendMessage", h, json={"message": {"rid": rid, **e2e_v2(key, kid, "two")}})
            assert res.status_code == 200 and body(res)["success"] is True
            via_rest = body(res)["message"]
            via_call = method_call(server, h, "sendMessage", {"rid": rid, **e2e_v2(key, kid, "three")})["result"]
            stored = await history(b, rid)
            assert [m["_id"] for m in stored] == [via_call["_id"], via_rest["_id"], via_ddp["_id"]]
            texts = [crypto.decrypt_message(m, {kid: key})["msg"] for m in reversed(stored)]
            assert texts == ["one", "two", "three"]
            assert all(m["t"] == "e2e" and "urls" not in m for m in stored)

    asyncio.run(main())


def test_plaintext_to_encrypted_room_is_refused_on_every_send_path(server):
    async def main():
        alice, bob = await new_user(server, "al"), await new_user(server, "bo")
        async with connected(server, alice, bob) as (a, b):
            rid = await group(a, [bob], encrypted=True)
            await a.stream("notify-user", f"{alice.id}/message")
            before = await snapshot(b, rid)
            h = rest_headers(server, alice)

            err = await call_error(a, "sendMessage", {"rid": rid, "msg": "plain"})
            assert (err.error, err.reason, err.details) == ("error-not-allowed", REFUSED, {"method": "sendMessage"})
            ephemeral = await wait_event(a, "notify-user", f"{alice.id}/message", lambda args: True)
            assert ephemeral[0]["msg"] == REFUSED and ephemeral[0]["rid"] == rid and ephemeral[0]["private"] is True

            expected = {"success": False, "error": f"{REFUSED} [error-not-allowed]", "errorType": "error-not-allowed",
                        "details": {"method": "sendMessage"}}
            res = rest(server, "POST", "chat.sendMessage", h, json={"message": {"rid": rid, "msg": "plain"}})
            assert res.status_code == 400 and body(res) == expected
            res = rest(server, "POST", "chat.postMessage", h, json={"roomId": rid, "text": "plain"})
            assert res.status_code == 400 and body(res) == expected
            res = rest(server, "POST", "chat.postMessage", h, json={"roomId": ["GENERAL", rid], "text": "plain"})
            assert res.status_code == 400 and body(res) == expected  # nothing is sent to GENERAL either
            called = method_call(server, h, "sendMessage", {"rid": rid, "msg": "plain"})
            assert called["error"]["error"] == "error-not-allowed" and called["error"]["reason"] == REFUSED
            # a t:'otr' or a missing t is not 'e2e' either
            err = await call_error(a, "sendMessage", {"rid": rid, "msg": "x", "t": "otr"})
            assert err.error == "error-not-allowed"

            assert await snapshot(b, rid) == before
            general = await history(b, "GENERAL", 20)
            assert all(m["msg"] != "plain" for m in general)

    asyncio.run(main())


def test_non_member_cannot_send_or_read(server):
    async def main():
        alice, bob, eve = [await new_user(server, n) for n in ("al", "bo", "ev")]
        async with connected(server, alice, bob, eve) as (a, b, e):
            rid = await group(a, [bob])
            sent = await a.call("sendMessage", {"rid": rid, "msg": "members only"})
            before = await snapshot(b, rid)
            he = rest_headers(server, eve)

            err = await call_error(e, "sendMessage", {"rid": rid, "msg": "intrusion"})
            assert (err.error, err.reason, err.details) == ("error-not-allowed", None, {"method": "sendMessage"})
            res = rest(server, "POST", "chat.sendMessage", he, json={"message": {"rid": rid, "msg": "intrusion"}})
            assert res.status_code == 400 and body(res) == {"success": False, "error": "error-not-allowed"}
            res = rest(server, "POST", "chat.postMessage", he, json={"roomId": rid, "text": "intrusion"})
            assert res.status_code == 400 and body(res) == {"success": False, "error": "error-not-allowed"}

            assert await e.call("loadHistory", rid) is False
            assert await e.call("messageSearch", "members", rid) is False
            err = await call_error(e, "getSingleMessage", sent["_id"])
            assert (err.error, err.reason) == ("error-not-allowed", "Not allowed")
            res = rest(server, "GET", "chat.getMessage", he, params={"msgId": sent["_id"]})
            assert res.status_code == 400 and body(res)["errorType"] == "error-not-allowed"
            assert "members only" not in res.text
            assert await snapshot(b, rid) == before

    asyncio.run(main())


def test_oversized_message(server):
    async def main():
        alice, bob = await new_user(server, "al"), await new_user(server, "bo")
        async with connected(server, alice, bob) as (a, b):
            rid = await group(a, [bob])
            await a.stream("notify-user", f"{alice.id}/message")
            h = rest_headers(server, alice)
            big = "x" * 5001
            # DDP: upstream's wrapper swallows every error but error-not-allowed: no result, no error
            reply = await a.call_full("sendMessage", {"rid": rid, "msg": big})
            assert "result" not in reply and "error" not in reply
            res = rest(server, "POST", "chat.sendMessage", h, json={"message": {"rid": rid, "msg": big}})
            assert res.status_code == 400 and body(res) == {
                "success": False, "error": "Message size exceeds Message_MaxAllowedSize [error-message-size-exceeded]",
                "errorType": "error-message-size-exceeded", "details": {"method": "sendMessage"}}
            res = rest(server, "POST", "chat.postMessage", h, json={"roomId": rid, "text": big})
            assert res.status_code == 400 and body(res) == {"success": False, "error": "error-message-size-exceeded"}
            # 5000 UTF-16 units is the limit: an astral character counts twice, as in JavaScript
            reply = await a.call_full("sendMessage", {"rid": rid, "msg": "😀" * 2501})
            assert "result" not in reply
            assert await history(b, rid) == []

            at_limit = await a.call("sendMessage", {"rid": rid, "msg": "y" * 5000})
            assert len(at_limit["msg"]) == 5000
            # the size rule is about msg only: a long ciphertext in content is fine
            content = {"algorithm": "rc.v2.aes-sha2", "ciphertext": "A" * 20000, "kid": "k", "iv": "i"}
            e2e = await a.call("sendMessage", {"rid": rid, "t": "e2e", "msg": "", "content": content})
            assert e2e["content"] == content
            assert len(await history(b, rid)) == 2

    asyncio.run(main())


def test_unknown_room_and_missing_rid(server):
    async def main():
        alice = await new_user(server, "al")
        async with connected(server, alice) as (a,):
            await a.stream("notify-user", f"{alice.id}/message")
            reply = await a.call_full("sendMessage", {"rid": "no-such-room", "msg": "hello"})
            assert "result" not in reply and "error" not in reply
            ephemeral = await wait_event(a, "notify-user", f"{alice.id}/message", lambda args: True)
            assert ephemeral[0]["msg"] == "error-invalid-room" and ephemeral[0]["u"]["username"] == "rocket.cat"
            h = rest_headers(server, alice)
            res = rest(server, "POST", "chat.sendMessage", h, json={"message": {"rid": "no-such-room", "msg": "x"}})
            assert res.status_code == 400 and body(res) == {"success": False, "error": "error-invalid-room"}
            res = rest(server, "POST", "chat.postMessage", h, json={"channel": "#no-such-room", "text": "x"})
            assert res.status_code == 400 and body(res)["errorType"] == "invalid-channel"
            reply = await a.call_full("sendMessage", {"msg": "no rid"})
            assert "result" not in reply and "error" not in reply

    asyncio.run(main())


def test_system_types_tshow_and_logged_out_callers(server):
    async def main():
        alice, bob = await new_user(server, "al"), await new_user(server, "bo")
        async with connected(server, alice, bob) as (a, b):
            rid = await group(a, [bob])
            h = rest_headers(server, alice)
            err = await call_error(a, "sendMessage", {"rid": rid, "msg": "x", "t": "uj"})
            assert (err.error, err.reason) == (500, "Internal server error")
            res = rest(server, "POST", "chat.sendMessage", h, json={"message": {"rid": rid, "msg": "x", "t": "au"}})
            assert res.status_code == 400
            assert body(res) == {"success": False, "error": "Cannot send system messages using 'chat.sendMessage'"}
            res = rest(server, "POST", "chat.sendMessage", h, json={"message": {"rid": rid, "msg": "x", "tshow": True}})
            assert res.status_code == 400 and body(res)["errorType"] == "invalid-params"
            res = rest(server, "POST", "chat.sendMessage", h,
                       json={"message": {"rid": rid, "msg": "x", "alias": "The Boss"}})
            assert res.status_code == 400 and body(res) == {"success": False, "error": "Not enough permission"}
            res = rest(server, "POST", "chat.sendMessage", h,
                       json={"message": {"rid": rid, "msg": "x", "customFields": {"a": 1}}})
            assert res.status_code == 400 and body(res) == {"success": False, "error": "Custom fields not enabled"}
            res = rest(server, "POST", "chat.sendMessage", h, json={"message": {"rid": rid, "msg": "x", "u": {}}})
            assert res.status_code == 400 and body(res)["errorType"] == "invalid-params"

            anon = await client(server)
            try:
                err = await call_error(anon, "sendMessage", {"rid": rid, "msg": "x"})
                assert (err.error, err.details) == ("error-invalid-user", {"method": "sendMessage"})
                for method, params in (("updateMessage", [{"_id": "x"}]), ("deleteMessage", [{"_id": "x"}]),
                                       ("getSingleMessage", ["x"]), ("messageSearch", ["x"]),
                                       ("loadHistory", [rid])):
                    err = await call_error(anon, method, *params)
                    assert err.error == "error-invalid-user", method
            finally:
                await anon.close()
            for route, payload in (("chat.sendMessage", {"message": {"rid": rid, "msg": "x"}}),
                                   ("chat.postMessage", {"roomId": rid, "text": "x"})):
                for headers in (None, {"X-User-Id": alice.id, "X-Auth-Token": "wrong"}):
                    res = rest(server, "POST", route, headers, json=payload)
                    assert res.status_code == 401 and body(res)["status"] == "error"
            assert await history(b, rid) == []

    asyncio.run(main())


def test_client_timestamp_window(server):
    async def main():
        alice, bob = await new_user(server, "al"), await new_user(server, "bo")
        async with connected(server, alice, bob) as (a, b):
            rid = await group(a, [bob])
            now = datetime.now(UTC).replace(microsecond=0)
            recent = await a.call("sendMessage", {"rid": rid, "msg": "recent", "ts": now - timedelta(seconds=5)})
            assert recent["ts"] == now - timedelta(seconds=5)
            late = await a.call("sendMessage", {"rid": rid, "msg": "late", "ts": now - timedelta(seconds=30)})
            assert late["ts"] > now - timedelta(seconds=15)  # replaced by the server's clock
            reply = await a.call_full("sendMessage", {"rid": rid, "msg": "stale", "ts": now - timedelta(hours=1)})
            assert "result" not in reply
            assert [m["msg"] for m in await history(b, rid)] == ["late", "recent"]

    asyncio.run(main())


def test_threads_update_the_parent_and_not_the_room(server):
    async def main():
        alice, bob = await new_user(server, "al"), await new_user(server, "bo")
        async with connected(server, alice, bob) as (a, b):
            rid = await group(a, [bob])
            parent = await a.call("sendMessage", {"rid": rid, "msg": "parent"})
            reply = await b.call("sendMessage", {"rid": rid, "msg": "reply", "tmid": parent["_id"]})
            assert reply["tmid"] == parent["_id"] and reply["rid"] == rid
            nested = await a.call("sendMessage", {"rid": rid, "msg": "nested", "tmid": reply["_id"]})
            assert nested["tmid"] == parent["_id"]  # no nested threads
            stored_parent = await a.call("getSingleMessage", parent["_id"])
            assert stored_parent["tcount"] == 2 and set(stored_parent["replies"]) == {alice.id, bob.id}
            room = await room_of(a, rid)
            assert room["lastMessage"]["_id"] == parent["_id"] and room["msgs"] == 3
            top = await a.call("loadHistory", rid, None, 20, None, False)
            assert [m["msg"] for m in top["messages"]] == ["parent"]

    asyncio.run(main())


def test_thread_parent_in_a_foreign_room_is_never_touched(server):
    async def main():
        alice, bob, carol = [await new_user(server, n) for n in ("al", "bo", "ca")]
        async with connected(server, alice, bob, carol) as (a, _b, c):
            rid = await group(a, [bob])
            hidden = await group(c, [])
            foreign = await c.call("sendMessage", {"rid": hidden, "msg": "carol's"})
            # DDP: the parent's room wins, and alice may not write there
            err = await call_error(a, "sendMessage", {"rid": rid, "msg": "x", "tmid": foreign["_id"]})
            assert err.error == "error-not-allowed"
            # REST postMessage: the reply lands in alice's room, the foreign parent stays as it was
            res = rest(server, "POST", "chat.postMessage", rest_headers(server, alice),
                       json={"roomId": rid, "text": "reply", "tmid": foreign["_id"]})
            assert res.status_code == 200, res.text
            assert await c.call("getSingleMessage", foreign["_id"]) == foreign
            assert [m["_id"] for m in await history(c, hidden)] == [foreign["_id"]]

    asyncio.run(main())


def test_send_rate_limit_and_exemption(server):
    async def main():
        alice = await new_user(server, "al")
        admin = demo("admin")
        async with connected(server, alice, admin) as (a, adm):
            rid = await group(a, [admin])
            results = [await a.call_full("sendMessage", {"rid": rid, "msg": f"m{i}"}) for i in range(6)]
            assert all("result" in r for r in results[:5])
            err = results[5]["error"]
            assert err["error"] == "too-many-requests" and err["details"]["timeToReset"] <= 1000
            assert err["reason"].startswith("Error, too many requests. Please slow down.")
            admin_results = [await adm.call_full("sendMessage", {"rid": rid, "msg": f"a{i}"}) for i in range(7)]
            assert all("result" in r for r in admin_results)  # send-many-messages

    asyncio.run(main())


def test_post_message_targets(server):
    async def main():
        alice, bob = await new_user(server, "al"), await new_user(server, "bo")
        async with connected(server, alice, bob) as (a, b):
            rid = await group(a, [bob])
            room = await room_of(a, rid)
            dm = (await a.call("createDirectMessage", bob.username))["rid"]
            h = rest_headers(server, alice)
            for target, expected_rid in ((f"#{room['name']}", rid), (f"@{bob.username}", dm), (rid, rid),
                                         (bob.id, dm)):
                res = rest(server, "POST", "chat.postMessage", h, json={"channel": target, "text": f" to {target} "})
                data = body(res)
                assert res.status_code == 200, res.text
                assert data["channel"] == target and data["message"]["rid"] == expected_rid
                assert data["message"]["msg"] == f"to {target}" and isinstance(data["ts"], int)
                assert data["message"]["groupable"] is False
            res = rest(server, "POST", "chat.postMessage", h, json={"channel": "@nobody-here", "text": "x"})
            assert res.status_code == 400 and body(res)["errorType"] == "invalid-channel"
            res = rest(server, "POST", "chat.postMessage", h, json={"roomId": rid, "channel": rid, "text": "x"})
            assert res.status_code == 400 and body(res)["errorType"] == "invalid-params"
            assert len(await history(b, rid)) == 2 and len(await history(b, dm)) == 2
            assert json.loads(json.dumps(data))  # plain JSON (dates as strings)

    asyncio.run(main())
