"""Push emulation: the gateway payloads captured per receiver, push.sink and push.get."""

from __future__ import annotations

import asyncio
import json

from ddp_e2e.client import crypto
from tests.integration.test_messages_support import (
    body,
    connected,
    e2e_v2,
    group,
    new_user,
    rest,
    rest_headers,
    server_fixture,
)

server = server_fixture()


def sink(server, headers, message_id=None):
    params = {"messageId": message_id} if message_id else None
    res = rest(server, "GET", "push.sink", headers, params=params)
    assert res.status_code == 200, res.text
    data = body(res)
    assert data["count"] == len(data["pushes"])
    return data["pushes"]


def test_e2e_push_payload_carries_only_the_stored_ciphertext(server):
    async def main():
        alice, bob, carol = [await new_user(server, n) for n in ("al", "bo", "ca")]
        key, kid = crypto.generate_room_key(), crypto.key_id_uuid()
        async with connected(server, alice, bob, carol) as (a, _b, _c):
            rid = await group(a, [bob, carol], encrypted=True)
            message = e2e_v2(key, kid, "push me")
            sent = await a.call("sendMessage", {"rid": rid, **message})
            ha, hb, hc = (rest_headers(server, u) for u in (alice, bob, carol))
            assert sink(server, ha, sent["_id"]) == []  # never to the sender
            (entry,) = sink(server, hb, sent["_id"])
            assert [e["userId"] for e in sink(server, hc, sent["_id"])] == [carol.id]

            assert entry["userId"] == bob.id and entry["rid"] == rid and entry["messageId"] == sent["_id"]
            note = entry["notification"]
            assert note["from"] == "push" and note["createdBy"] == "<SERVER>" and note["userId"] == bob.id
            assert note["sound"] == "default" and note["sent"] is False and "priority" not in note
            assert note["title"].startswith("#") and note["text"] == f"{alice.username}: "
            assert isinstance(note["notId"], int) and note["gcm"]["style"] == "inbox"
            assert note["apn"] == {"category": "MESSAGE"} and note["badge"] >= 1
            payload = note["payload"]
            assert payload == {
                "host": payload["host"], "messageId": sent["_id"], "notificationType": "message", "rid": rid,
                "sender": sent["u"], "senderName": alice.username, "type": "p", "name": payload["name"],
                "messageType": "e2e", "msg": "", "content": message["content"],
            }
            assert payload["host"].endswith("/")
            fcm = entry["fcm"]
            assert json.loads(fcm["data"]["ejson"]) == payload
            assert fcm["data"]["msgcnt"] == note["badge"] and fcm["data"]["notId"] == note["notId"]
            assert fcm["notification"] == {"title": note["title"], "body": note["text"]}
            assert fcm["android"] == {"priority": "HIGH"}
            assert "push me" not in json.dumps(entry)

    asyncio.run(main())


def test_plain_push_payload_and_direct_room_titles(server):
    async def main():
        alice, bob = await new_user(server, "al"), await new_user(server, "bo")
        async with connected(server, alice, bob) as (a, _b):
            dm = (await a.call("createDirectMessage", bob.username))["rid"]
            sent = await a.call("sendMessage", {"rid": dm, "msg": "x" * 300})
            (entry,) = sink(server, rest_headers(server, bob), sent["_id"])
            note = entry["notification"]
            assert note["title"] == alice.username  # a direct room: the sender, no room name
            assert len(note["text"]) == 240 and note["text"].endswith("...")
            payload = note["payload"]
            assert "msg" not in payload and "content" not in payload and "messageType" not in payload
            assert "name" not in payload and payload["type"] == "d"
            # notification ids group a room's pushes: same room, same notId
            second = await a.call("sendMessage", {"rid": dm, "msg": "again"})
            (entry2,) = sink(server, rest_headers(server, bob), second["_id"])
            assert entry2["notification"]["notId"] == note["notId"]
            assert entry2["notification"]["badge"] == note["badge"] + 1

    asyncio.run(main())


def test_push_get_for_members_only(server):
    async def main():
        alice, bob, eve = [await new_user(server, n) for n in ("al", "bo", "ev")]
        key, kid = crypto.generate_room_key(), crypto.key_id_uuid()
        async with connected(server, alice, bob, eve) as (a, _b, _e):
            rid = await group(a, [bob], encrypted=True)
            message = e2e_v2(key, kid, "fetched")
            sent = await a.call("sendMessage", {"rid": rid, **message})
            res = rest(server, "GET", "push.get", rest_headers(server, bob), params={"id": sent["_id"]})
            assert res.status_code == 200, res.text
            data = body(res)["data"]
            assert data["message"]["content"] == message["content"] and data["message"]["_id"] == sent["_id"]
            note = data["notification"]
            assert note["payload"]["content"] == message["content"] and note["payload"]["messageType"] == "e2e"
            assert note["priority"] == 10 and note["userId"] == alice.id  # upstream's quirk: the sender
            assert "fetched" not in res.text

            he = rest_headers(server, eve)
            res = rest(server, "GET", "push.get", he, params={"id": sent["_id"]})
            assert res.status_code == 400 and body(res) == {"success": False, "error": "error-not-allowed"}
            assert message["content"]["ciphertext"] not in res.text
            res = rest(server, "GET", "push.get", he, params={"id": "no-such-id"})
            assert res.status_code == 400 and body(res) == {"success": False, "error": "error-message-not-found"}
            for params in ({}, {"id": ""}, {"id[$ne]": "x"}, {"id": "a", "other": "b"}):
                res = rest(server, "GET", "push.get", he, params=params)
                assert res.status_code == 400 and body(res)["errorType"] == "invalid-params", params
            assert rest(server, "GET", "push.get", None, params={"id": sent["_id"]}).status_code == 401
            assert rest(server, "GET", "push.sink", None).status_code == 401
            res = rest(server, "GET", "push.sink", he, params={"messageId[$ne]": "x"})
            assert res.status_code == 400 and body(res)["errorType"] == "invalid-params"
            assert sink(server, he) == []  # eve is in no room with a message: nothing captured for her

    asyncio.run(main())
