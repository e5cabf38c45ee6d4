"""The invariant: an e2e message's ciphertext is stored and relayed unchanged, and nothing else is.

For every encrypted message sent (content v1, content v2, the legacy ``msg`` string, with and
without ``e2eMentions``; over DDP, REST ``chat.sendMessage`` and ``method.call``; and an edit
through ``chat.update``), each place a client can see it is checked:

* the stored document, read back through ``loadHistory``, ``getSingleMessage``,
  ``chat.getMessage`` and ``push.get``;
* each stream delivery to a second member (``stream-room-messages`` by room and
  ``__my_messages__``, ``<uid>/notification``, ``rooms-changed``'s ``lastMessage``);
* each push gateway payload captured for that member.

In all of them ``msg``/``content``/``e2eMentions`` equal what was sent, byte for byte, and
decrypt to the plaintext; and the plaintext string appears nowhere: not in one raw websocket
frame either client received, not in one REST body, not in the server's log.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from ddp_e2e.client import crypto
from ddp_e2e.ddp import ejson
from tests.integration.test_messages_support import (
    body,
    connected,
    e2e_legacy,
    e2e_v1,
    e2e_v2,
    group,
    history,
    new_user,
    rest,
    rest_headers,
    room_of,
    server_fixture,
    wait_event,
)

server = server_fixture()

#: What the server may add to an e2e message; anything else would be a derived (leaked) field.
SERVER_KEYS = {"_id", "rid", "ts", "u", "_updatedAt", "mentions", "channels", "editedAt", "editedBy"}
CLIENT_KEYS = {"t", "e2e", "msg", "content", "e2eMentions"}


def same_ciphertext(doc: dict[str, Any], sent: dict[str, Any], where: str) -> None:
    for key in CLIENT_KEYS:
        assert doc.get(key) == sent.get(key), f"{where}: {key} changed"
    assert set(doc) <= SERVER_KEYS | CLIENT_KEYS, f"{where}: extra keys {set(doc) - SERVER_KEYS - CLIENT_KEYS}"


def test_every_e2e_message_keeps_its_ciphertext_everywhere(server):
    async def main():
        alice, bob = await new_user(server, "al"), await new_user(server, "bo")
        gcm, gcm_kid = crypto.generate_room_key("A256GCM"), crypto.key_id_uuid()
        cbc, cbc_kid = crypto.generate_room_key("A128CBC"), crypto.key_id_sha256("room")
        keys = {gcm_kid: gcm, cbc_kid: cbc}
        secret = f"PLAINTEXT{uuid.uuid4().hex}"
        plaintexts: list[str] = []
        rest_texts: list[str] = []

        def text(tag: str) -> str:
            plaintexts.append(f"{secret}-{tag}")
            return plaintexts[-1]

        async with connected(server, alice, bob) as (a, b):
            rid = await group(a, [bob], encrypted=True)
            for event in ("notification", "rooms-changed"):
                await b.stream("notify-user", f"{bob.id}/{event}")
            await b.stream("room-messages", rid)
            await b.stream("room-messages", "__my_messages__")
            await a.stream("room-messages", rid)
            ha, hb = rest_headers(server, alice), rest_headers(server, bob)
            mentions = {"e2eUserMentions": [f"@{bob.username}"], "e2eChannelMentions": ["#general"]}

            cases: list[tuple[str, dict[str, Any], str]] = [
                ("ddp", e2e_v2(gcm, gcm_kid, text("v2")), "v2"),
                ("ddp", e2e_v1(cbc, cbc_kid, text("v1")), "v1"),
                ("ddp", e2e_legacy(cbc, cbc_kid, text("legacy"), mid=uuid.uuid4().hex[:17], uid=alice.id), "legacy"),
                ("ddp", e2e_v2(gcm, gcm_kid, text("mentions"), e2eMentions=mentions), "v2+mentions"),
                ("rest", e2e_v2(gcm, gcm_kid, text("rest")), "v2 over chat.sendMessage"),
                ("call", e2e_v1(cbc, cbc_kid, text("call"), e2eMentions=mentions), "v1 over method.call"),
            ]
            sent_ids = []
            for path, message, label in cases:
                message = {"rid": rid, **message}
                if path == "ddp":
                    stored = await a.call("sendMessage", message)
                elif path == "rest":
                    res = rest(server, "POST", "chat.sendMessage", ha, json={"message": message})
                    rest_texts.append(res.text)
                    stored = ejson.loads(res.text)["message"]
                else:
                    call = ejson.dumps({"msg": "method", "id": "1", "method": "sendMessage", "params": [message]})
                    res = rest(server, "POST", "method.call/sendMessage", ha, json={"message": call})
                    rest_texts.append(res.text)
                    stored = ejson.loads(body(res)["message"])["result"]
                same_ciphertext(stored, message, f"{label}: send answer")
                mid = stored["_id"]
                sent_ids.append(mid)

                for event in (rid, "__my_messages__"):
                    (delivered,) = await wait_event(b, "room-messages", event, lambda args, m=mid: args[0]["_id"] == m)
                    same_ciphertext(delivered, message, f"{label}: stream {event}")
                (note,) = await wait_event(b, "notify-user", f"{bob.id}/notification",
                                           lambda args, m=mid: args[0]["payload"]["_id"] == m)
                assert note["payload"]["message"]["msg"] == message["msg"], label
                assert note["payload"]["message"].get("content") == message.get("content"), label
                assert note["payload"]["message"]["t"] == "e2e"

                reads = {
                    "loadHistory": next(m for m in await history(b, rid) if m["_id"] == mid),
                    "getSingleMessage": await b.call("getSingleMessage", mid),
                }
                res = rest(server, "GET", "chat.getMessage", hb, params={"msgId": mid})
                rest_texts.append(res.text)
                reads["chat.getMessage"] = body(res)["message"]
                res = rest(server, "GET", "push.get", hb, params={"id": mid})
                rest_texts.append(res.text)
                reads["push.get"] = body(res)["data"]["message"]
                for where, doc in reads.items():
                    same_ciphertext(doc, message, f"{label}: {where}")
                    assert crypto.decrypt_message(doc, keys)["msg"] == plaintexts[len(sent_ids) - 1], where

                res = rest(server, "GET", "push.sink", hb, params={"messageId": mid})
                rest_texts.append(res.text)
                (push,) = body(res)["pushes"]
                payload = push["notification"]["payload"]
                assert payload["messageType"] == "e2e" and payload["msg"] == message["msg"], label
                assert payload.get("content") == message.get("content"), label
                assert json.loads(push["fcm"]["data"]["ejson"]) == payload

            mentioned = await b.call("getSingleMessage", sent_ids[3])
            assert [m["_id"] for m in mentioned["mentions"]] == [bob.id]
            assert [c["_id"] for c in mentioned["channels"]] == ["GENERAL"]
            plain_mentions = await b.call("getSingleMessage", sent_ids[0])
            assert plain_mentions["mentions"] == [] and plain_mentions["channels"] == []

            # an edit replaces the ciphertext, again untouched
            edit = e2e_v2(gcm, gcm_kid, text("edited"), e2eMentions={"e2eUserMentions": []})
            res = rest(server, "POST", "chat.update", ha, json={"roomId": rid, "msgId": sent_ids[-1],
                                                                "content": edit["content"],
                                                                "e2eMentions": edit["e2eMentions"]})
            rest_texts.append(res.text)
            assert res.status_code == 200, res.text
            (delivered,) = await wait_event(b, "room-messages", rid,
                                            lambda args: args[0]["_id"] == sent_ids[-1] and "editedAt" in args[0])
            assert delivered["content"] == edit["content"] and delivered["e2eMentions"] == edit["e2eMentions"]
            assert crypto.decrypt_message(delivered, keys)["msg"] == plaintexts[-1]
            room = await room_of(b, rid)
            assert room["lastMessage"]["content"] == edit["content"]

            frames = a.raw_in + b.raw_in
            assert len(frames) > 20
            everything = "\n".join([*frames, *rest_texts])
            for plaintext in plaintexts:
                assert plaintext not in everything
                assert plaintext not in "".join(server.stderr_lines)
            assert secret not in everything
            # every ciphertext reached bob's socket verbatim
            for _, message, _ in cases:
                cipher = message.get("content", {}).get("ciphertext") or message["msg"]
                assert any(cipher in f for f in b.raw_in)

    asyncio.run(main())
