"""Reading messages: loadHistory, getSingleMessage, messageSearch and REST chat.getMessage."""

from __future__ import annotations

import asyncio

from ddp_e2e.client import crypto
from tests.integration.test_messages_support import (
    body,
    call_error,
    connected,
    e2e_legacy,
    e2e_v1,
    e2e_v2,
    group,
    new_user,
    rest,
    rest_headers,
    server_fixture,
    unique,
)

server = server_fixture()


def test_load_history_pages_and_unread_markers(server):
    async def main():
        alice, bob = await new_user(server, "al"), await new_user(server, "bo")
        async with connected(server, alice, bob) as (a, b):
            rid = await group(a, [bob])
            sent = [await a.call("sendMessage", {"rid": rid, "msg": f"m{i}"}) for i in range(5)]
            res = await b.call("loadHistory", rid)
            assert [m["msg"] for m in res["messages"]] == ["m4", "m3", "m2", "m1", "m0"]
            assert res["unreadNotLoaded"] == 0 and "firstUnread" not in res

            page = await b.call("loadHistory", rid, sent[3]["ts"], 2)
            assert [m["msg"] for m in page["messages"]] == ["m2", "m1"]
            marked = await b.call("loadHistory", rid, None, 2, sent[0]["ts"])
            assert [m["msg"] for m in marked["messages"]] == ["m4", "m3"]
            assert marked["unreadNotLoaded"] == 2 and marked["firstUnread"]["_id"] == sent[1]["_id"]
            as_text = await b.call("loadHistory", rid, None, 2, sent[0]["ts"].isoformat())
            assert as_text["unreadNotLoaded"] == 2

            for bad in (0, -1, 1001, 2.5, "10"):
                err = await call_error(b, "loadHistory", rid, None, bad)
                assert (err.error, err.reason) == (400, "Match failed"), bad
            assert await b.call("loadHistory", "no-such-room") is False

    asyncio.run(main())


def test_get_single_message_and_chat_get_message(server):
    async def main():
        alice, bob = await new_user(server, "al"), await new_user(server, "bo")
        async with connected(server, alice, bob) as (a, b):
            rid = await group(a, [bob])
            sent = await a.call("sendMessage", {"rid": rid, "msg": "hello"})
            assert await b.call("getSingleMessage", sent["_id"]) == sent
            reply = await b.call_full("getSingleMessage", "no-such-id")
            assert "result" in reply and reply["result"] is None  # an explicit null, as upstream

            hb = rest_headers(server, bob)
            res = rest(server, "GET", "chat.getMessage", hb, params={"msgId": sent["_id"]})
            assert res.status_code == 200
            data = body(res)
            assert data["success"] is True and data["message"]["_id"] == sent["_id"]
            assert data["message"]["ts"] == sent["ts"].isoformat(timespec="milliseconds").replace("+00:00", "Z")
            res = rest(server, "GET", "chat.getMessage", hb, params={"msgId": "no-such-id"})
            assert res.status_code == 400 and body(res) == {"success": False}
            for params in ({}, {"msgId": ""}, {"msgId": "a", "extra": "b"}):
                res = rest(server, "GET", "chat.getMessage", hb, params=params)
                assert res.status_code == 400 and body(res)["errorType"] == "invalid-params", params
            res = rest(server, "GET", "chat.getMessage", None, params={"msgId": sent["_id"]})
            assert res.status_code == 401

    asyncio.run(main())


def test_search_finds_plain_text_and_never_encrypted_messages(server):
    async def main():
        alice, bob = await new_user(server, "al"), await new_user(server, "bo")
        key, kid = crypto.generate_room_key("A128CBC"), crypto.key_id_sha256("x")
        async with connected(server, alice, bob) as (a, b):
            rid = await group(a, [bob])
            plain = await a.call("sendMessage", {"rid": rid, "msg": "The Quick brown fox"})
            legacy = await a.call("sendMessage", {"rid": rid, **e2e_legacy(key, kid, "quick secret", mid=unique("m"),
                                                                         uid=alice.id)})
            v1 = await a.call("sendMessage", {"rid": rid, **e2e_v1(key, kid, "quick one")})
            v2 = await a.call("sendMessage", {"rid": rid, **e2e_v2(crypto.generate_room_key(), kid, "quick two")})
            assert {v1["t"], v2["t"], legacy["t"]} == {"e2e"}

            found = await b.call("messageSearch", "quick", rid)
            assert [m["_id"] for m in found["message"]["docs"]] == [plain["_id"]]
            # even a query that matches the stored ciphertext finds nothing
            piece = legacy["msg"][12:40]
            assert (await b.call("messageSearch", piece, rid)) == {"message": {"docs": []}}
            assert (await b.call("messageSearch", kid, rid)) == {"message": {"docs": []}}
            # regex metacharacters are literal text
            assert (await b.call("messageSearch", ".*", rid)) == {"message": {"docs": []}}
            assert (await b.call("messageSearch", "   ", rid)) == {"message": {"docs": []}}
            # no rid: global search is off by default
            assert (await b.call("messageSearch", "quick")) == {"message": {"docs": []}}
            limited = await b.call("messageSearch", "o", rid, 1)
            assert len(limited["message"]["docs"]) == 1
            for bad in ((rid, 0), (rid, 101), (rid, 10, -1)):
                err = await call_error(b, "messageSearch", "quick", *bad)
                assert err.reason == "Match failed", bad

    asyncio.run(main())


def test_history_readable_in_public_channel_by_non_member(server):
    async def main():
        alice, eve = await new_user(server, "al"), await new_user(server, "ev")
        async with connected(server, alice, eve) as (a, e):
            res = await a.call("createChannel", unique("pub"), [])
            sent = await a.call("sendMessage", {"rid": res["rid"], "msg": "public"})
            assert [m["_id"] for m in (await e.call("loadHistory", res["rid"]))["messages"]] == [sent["_id"]]
            assert (await e.call("getSingleMessage", sent["_id"]))["msg"] == "public"

    asyncio.run(main())
