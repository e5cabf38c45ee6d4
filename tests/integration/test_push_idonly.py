"""Push emulation with ``Push_request_content_from_server`` on: id-only payloads, then push.get."""

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
from tests.integration.test_push import sink

server = server_fixture("Push_request_content_from_server=true")


def test_id_only_pushes(server):
    async def main():
        alice, bob = await new_user(server, "al"), await new_user(server, "bo")
        key, kid = crypto.generate_room_key(), crypto.key_id_uuid()
        async with connected(server, alice, bob) as (a, _b):
            rid = await group(a, [bob], encrypted=True)
            message = e2e_v2(key, kid, "id only")
            sent = await a.call("sendMessage", {"rid": rid, **message})
            hb = rest_headers(server, bob)
            (entry,) = sink(server, hb, sent["_id"])
            note = entry["notification"]
            assert note["payload"] == {"host": note["payload"]["host"], "messageId": sent["_id"],
                                       "notificationType": "message-id-only"}
            assert note["title"] == "" and note["text"] == "You have a new message"
            assert json.loads(entry["fcm"]["data"]["ejson"]) == note["payload"]
            assert message["content"]["ciphertext"] not in json.dumps(entry)
            # the app then fetches the content
            res = rest(server, "GET", "push.get", hb, params={"id": sent["_id"]})
            assert body(res)["data"]["message"]["content"] == message["content"]

    asyncio.run(main())
