"""Editing and deleting messages over DDP and REST (chat.update, chat.delete), with their errors."""

from __future__ import annotations

import asyncio

from ddp_e2e.client import crypto
from tests.integration.test_messages_support import (
    body,
    call_error,
    connected,
    e2e_v1,
    e2e_v2,
    group,
    history,
    new_user,
    rest,
    rest_headers,
    room_of,
    server_fixture,
    snapshot,
    wait_event,
)

server = server_fixture()


def test_update_plain_message_streams_and_moves_last_message(server):
    async def main():
        alice, bob = await new_user(server, "al"), await new_user(server, "bo")
        async with connected(server, alice, bob) as (a, b):
            rid = await group(a, [bob])
            sent = await a.call("sendMessage", {"rid": rid, "msg": "frist"})
            await b.stream("room-messages", rid)
            await b.stream("notify-user", f"{bob.id}/rooms-changed")
            assert await a.call_full("updateMessage", {"_id": sent["_id"], "rid": rid, "msg": f"first @{bob.username}"})
            edited = await wait_event(b, "room-messages", rid, lambda args: args[0]["_id"] == sent["_id"])
            msg = edited[0]
            assert msg["msg"] == f"first @{bob.username}" and msg["editedBy"] == {"_id": alice.id,
                                                                                  "username": alice.username}
            assert msg["editedAt"] >= sent["ts"] and msg["ts"] == sent["ts"]
            assert [m["_id"] for m in msg["mentions"]] == [bob.id]
            room_ev = await wait_event(b, "notify-user", f"{bob.id}/rooms-changed",
                                       lambda args: args[1]["_id"] == rid)
            assert room_ev[1]["lastMessage"]["msg"] == msg["msg"]
            assert await history(b, rid) == [msg]

    asyncio.run(main())


def test_update_encrypted_content_over_ddp_and_rest(server):
    async def main():
        alice, bob = await new_user(server, "al"), await new_user(server, "bo")
        key, kid = crypto.generate_room_key("A128CBC"), crypto.key_id_sha256("k")
        async with connected(server, alice, bob) as (a, b):
            rid = await group(a, [bob], encrypted=True)
            sent = await a.call("sendMessage", {"rid": rid, **e2e_v1(key, kid, "before")})
            new = e2e_v1(key, kid, "after DDP", e2eMentions={"e2eUserMentions": [f"@{bob.username}"]})
            await a.call("updateMessage", {"_id": sent["_id"], "rid": rid, "t": "e2e", "e2e": "pending",
                                           "msg": "", "content": new["content"],
                                           "e2eMentions": new["e2eMentions"]})
            got = await b.call("getSingleMessage", sent["_id"])
            assert got["content"] == new["content"] and got["e2eMentions"] == new["e2eMentions"]
            assert [m["_id"] for m in got["mentions"]] == [bob.id]
            assert crypto.decrypt_message(got, {kid: key})["msg"] == "after DDP"

            key2, kid2 = crypto.generate_room_key(), crypto.key_id_uuid()
            content = e2e_v2(key2, kid2, "after REST")["content"]
            res = rest(server, "POST", "chat.update", rest_headers(server, alice),
                       json={"roomId": rid, "msgId": sent["_id"], "content": content})
            assert res.status_code == 200, res.text
            assert body(res)["message"]["content"] == content and body(res)["message"]["t"] == "e2e"
            got = await b.call("getSingleMessage", sent["_id"])
            assert crypto.decrypt_message(got, {kid2: key2})["msg"] == "after REST"

    asyncio.run(main())


def test_chat_update_errors(server):
    async def main():
        alice, bob = await new_user(server, "al"), await new_user(server, "bo")
        async with connected(server, alice, bob) as (a, b):
            rid = await group(a, [bob])
            other = await group(a, [])
            plain = await a.call("sendMessage", {"rid": rid, "msg": "plain"})
            before = await snapshot(b, rid)
            h = rest_headers(server, alice)
            content = {"algorithm": "rc.v2.aes-sha2", "ciphertext": "c", "kid": "k", "iv": "i"}
            cases = [
                ({"roomId": rid, "msgId": plain["_id"], "content": content},
                 {"success": False, "error": "Only encrypted messages can have content updated."}),
                ({"roomId": other, "msgId": plain["_id"], "text": "x"},
                 {"success": False, "error": "The room id provided does not match where the message is from."}),
                ({"roomId": rid, "msgId": "nope", "text": "x"},
                 {"success": False, "error": 'No message found with the id of "nope".'}),
            ]
            for payload, expected in cases:
                res = rest(server, "POST", "chat.update", h, json=payload)
                assert res.status_code == 400 and body(res) == expected, payload
            res = rest(server, "POST", "chat.update", h, json={"roomId": rid, "msgId": plain["_id"]})
            assert res.status_code == 400 and body(res)["errorType"] == "invalid-params"
            res = rest(server, "POST", "chat.update", rest_headers(server, bob),
                       json={"roomId": rid, "msgId": plain["_id"], "text": "hijack"})
            assert res.status_code == 400 and body(res)["errorType"] == "error-action-not-allowed"
            assert await snapshot(b, rid) == before

    asyncio.run(main())


def test_update_message_rules(server):
    async def main():
        alice, bob = await new_user(server, "al"), await new_user(server, "bo")
        async with connected(server, alice, bob) as (a, b):
            rid = await group(a, [bob])
            other = await group(a, [bob])
            mine = await a.call("sendMessage", {"rid": rid, "msg": "alice's"})
            theirs = await b.call("sendMessage", {"rid": rid, "msg": "bob's"})
            before = await snapshot(b, rid)

            err = await call_error(b, "updateMessage", {"_id": mine["_id"], "rid": rid, "msg": "bob was here"})
            assert (err.error, err.reason) == ("error-action-not-allowed", "Message editing not allowed")
            assert err.details == {"method": "updateMessage", "action": "Message_editing"}
            for change in ({"rid": other}, {"t": "e2e"}, {"u": {"_id": bob.id}}, {"ts": mine["ts"]}):
                err = await call_error(a, "updateMessage", {"_id": mine["_id"], "msg": "x", **change})
                key = next(iter(change))
                assert (err.error, err.reason) == ("error-invalid-update-key", f"Cannot update the message {key}")
            # a no-op edit and an unknown id change nothing and return nothing
            reply = await a.call_full("updateMessage", {"_id": mine["_id"], "rid": rid, "msg": "alice's"})
            assert "result" not in reply and "error" not in reply
            reply = await a.call_full("updateMessage", {"_id": "no-such-id", "msg": "x"})
            assert "result" not in reply and "error" not in reply
            assert await snapshot(b, rid) == before

            # the room owner holds edit-message: it may edit a member's message
            await a.call("updateMessage", {"_id": theirs["_id"], "rid": rid, "msg": "moderated"})
            assert (await b.call("getSingleMessage", theirs["_id"]))["editedBy"]["_id"] == alice.id

    asyncio.run(main())


def test_delete_message_over_ddp(server):
    async def main():
        alice, bob = await new_user(server, "al"), await new_user(server, "bo")
        async with connected(server, alice, bob) as (a, b):
            rid = await group(a, [bob])
            first = await b.call("sendMessage", {"rid": rid, "msg": "first"})
            second = await b.call("sendMessage", {"rid": rid, "msg": "second"})
            await a.stream("notify-room", f"{rid}/deleteMessage")
            await a.stream("notify-user", f"{alice.id}/rooms-changed")
            assert (await room_of(a, rid))["msgs"] == 2

            await b.call("deleteMessage", {"_id": second["_id"]})
            assert await wait_event(a, "notify-room", f"{rid}/deleteMessage", lambda args: True) == [
                {"_id": second["_id"]}]
            room_ev = await wait_event(a, "notify-user", f"{alice.id}/rooms-changed",
                                       lambda args: args[1]["_id"] == rid and args[1]["msgs"] == 1)
            assert room_ev[1]["lastMessage"]["_id"] == first["_id"]
            assert [m["_id"] for m in await history(a, rid)] == [first["_id"]]
            assert await a.call("getSingleMessage", second["_id"]) is None

            # the owner holds delete-message; a member may only delete its own
            own = await a.call("sendMessage", {"rid": rid, "msg": "owner's"})
            err = await call_error(b, "deleteMessage", {"_id": own["_id"]})
            assert (err.error, err.reason) == ("error-action-not-allowed", "Not allowed")
            err = await call_error(b, "deleteMessage", {"_id": "no-such-id"})
            assert (err.error, err.reason) == ("error-action-not-allowed", "Not allowed")
            await a.call("deleteMessage", {"_id": first["_id"]})
            assert [m["_id"] for m in await history(b, rid)] == [own["_id"]]
            await a.call("deleteMessage", {"_id": own["_id"]})
            room = await room_of(b, rid)
            assert room["msgs"] == 0 and "lastMessage" not in room

    asyncio.run(main())


def test_chat_delete(server):
    async def main():
        alice, bob = await new_user(server, "al"), await new_user(server, "bo")
        async with connected(server, alice, bob) as (a, b):
            rid = await group(a, [bob])
            other = await group(a, [bob])
            mine = await b.call("sendMessage", {"rid": rid, "msg": "bob's"})
            owners = await a.call("sendMessage", {"rid": rid, "msg": "alice's"})
            hb = rest_headers(server, bob)
            before = await snapshot(b, rid)
            for payload, expected in (
                ({"roomId": other, "msgId": mine["_id"]},
                 {"success": False, "error": "The room id provided does not match where the message is from."}),
                ({"roomId": rid, "msgId": "nope"}, {"success": False, "error": 'No message found with the id of "nope".'}),
                ({"roomId": rid, "msgId": owners["_id"], "asUser": True},
                 {"success": False, "error": "Unauthorized. You must have the permission \"force-delete-message\" "
                                             "to delete other's message as them."}),
            ):
                res = rest(server, "POST", "chat.delete", hb, json=payload)
                assert res.status_code == 400 and body(res) == expected, payload
            res = rest(server, "POST", "chat.delete", hb, json={"roomId": rid, "msgId": owners["_id"]})
            assert res.status_code == 400 and body(res)["errorType"] == "error-action-not-allowed"
            assert await snapshot(b, rid) == before

            res = rest(server, "POST", "chat.delete", hb, json={"roomId": rid, "msgId": mine["_id"]})
            assert res.status_code == 200, res.text
            data = body(res)
            assert data["_id"] == mine["_id"] and data["ts"].isdigit() and data["success"] is True
            assert data["message"] == {"_id": mine["_id"], "rid": rid, "u": mine["u"]}
            assert [m["_id"] for m in await history(b, rid)] == [owners["_id"]]

    asyncio.run(main())
