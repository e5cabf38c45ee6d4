"""With ``E2E_Allow_Unencrypted_Messages=true`` plaintext reaches an encrypted room on every path."""

from __future__ import annotations

import asyncio

from ddp_e2e.ddp import ejson
from tests.integration.test_messages_support import (
    body,
    connected,
    group,
    history,
    new_user,
    rest,
    rest_headers,
    server_fixture,
)

server = server_fixture("E2E_Allow_Unencrypted_Messages=true")


def test_plaintext_is_allowed_on_every_send_path(server):
    async def main():
        alice, bob = await new_user(server, "al"), await new_user(server, "bo")
        async with connected(server, alice, bob) as (a, b):
            rid = await group(a, [bob], encrypted=True)
            h = rest_headers(server, alice)
            await a.call("sendMessage", {"rid": rid, "msg": "over ddp"})
            res = rest(server, "POST", "chat.sendMessage", h, json={"message": {"rid": rid, "msg": "over rest"}})
            assert res.status_code == 200, res.text
            res = rest(server, "POST", "chat.postMessage", h, json={"roomId": rid, "text": "over post"})
            assert res.status_code == 200, res.text
            call = ejson.dumps({"msg": "method", "id": "1", "method": "sendMessage",
                                "params": [{"rid": rid, "msg": "over method.call"}]})
            res = rest(server, "POST", "method.call/sendMessage", h, json={"message": call})
            assert "error" not in ejson.loads(body(res)["message"])
            assert [m["msg"] for m in await history(b, rid)] == [
                "over method.call", "over post", "over rest", "over ddp"]
            # plaintext in an encrypted room is still plaintext: searchable, with URLs and mentions parsed
            found = await b.call("messageSearch", "over", rid)
            assert len(found["message"]["docs"]) == 4

    asyncio.run(main())
