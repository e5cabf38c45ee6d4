"""Operator objects where strings belong, on every message method and route; and missing auth.

Every case must be refused by the declared shape (DDP ``400 Match failed``, REST 400
``invalid-params``) before any query runs, and none may change what the members can read.
"""

from __future__ import annotations

import asyncio
import json

from ddp_e2e.ddp import ejson
from tests.integration.test_messages_support import (
    body,
    call_error,
    connected,
    group,
    history,
    new_user,
    rest,
    rest_headers,
    server_fixture,
    snapshot,
)

server = server_fixture()

OPERATORS = [{"$ne": None}, {"$regex": ".*"}, {"$in": ["x"]}]


def ddp_cases(rid: str, mid: str, op: dict) -> list[tuple[str, list]]:
    content = {"algorithm": "rc.v2.aes-sha2", "ciphertext": "c", "kid": "k", "iv": "i"}
    return [
        ("sendMessage", [op]),
        ("sendMessage", [{"rid": op, "msg": "x"}]),
        ("sendMessage", [{"rid": rid, "_id": op, "msg": "x"}]),
        ("sendMessage", [{"rid": rid, "msg": op}]),
        ("sendMessage", [{"rid": rid, "msg": "x", "tmid": op}]),
        ("sendMessage", [{"rid": rid, "msg": "x", "t": op}]),
        ("sendMessage", [{"rid": rid, "t": "e2e", "content": {**content, "algorithm": op}}]),
        ("sendMessage", [{"rid": rid, "t": "e2e", "content": {**content, "ciphertext": op}}]),
        ("sendMessage", [{"rid": rid, "t": "e2e", "content": {**content, "$set": {"msg": "x"}}}]),
        ("sendMessage", [{"rid": rid, "t": "e2e", "content": content, "e2eMentions": {"e2eUserMentions": [op]}}]),
        ("sendMessage", [{"rid": rid, "msg": "x"}, [op]]),
        ("sendMessage", [{"rid": rid, "msg": "x", "$set": {"u": "x"}}]),
        ("updateMessage", [op]),
        ("updateMessage", [{"_id": op, "msg": "x"}]),
        ("updateMessage", [{"_id": mid, "rid": op, "msg": "x"}]),
        ("updateMessage", [{"_id": mid, "msg": op}]),
        ("updateMessage", [{"_id": mid, "content": {**content, "kid": op}}]),
        ("deleteMessage", [op]),
        ("deleteMessage", [{"_id": op}]),
        ("loadHistory", [op]),
        ("loadHistory", [rid, op]),
        ("loadHistory", [rid, None, op]),
        ("loadHistory", [rid, None, 10, op]),
        ("getSingleMessage", [op]),
        ("messageSearch", [op]),
        ("messageSearch", ["x", op]),
        ("messageSearch", ["x", rid, op]),
    ]


def rest_cases(rid: str, mid: str, op: dict) -> list[tuple[str, str, dict]]:
    return [
        ("POST", "chat.sendMessage", {"json": {"message": op}}),
        ("POST", "chat.sendMessage", {"json": {"message": {"rid": op, "msg": "x"}}}),
        ("POST", "chat.sendMessage", {"json": {"message": {"rid": rid, "_id": op, "msg": "x"}}}),
        ("POST", "chat.sendMessage", {"json": {"message": {"rid": rid, "t": "e2e",
                                                           "content": {"algorithm": op, "ciphertext": "c"}}}}),
        ("POST", "chat.sendMessage", {"json": {"message": {"rid": rid, "msg": "x", "attachments": [op]}}}),
        ("POST", "chat.postMessage", {"json": {"roomId": op, "text": "x"}}),
        ("POST", "chat.postMessage", {"json": {"channel": op, "text": "x"}}),
        ("POST", "chat.postMessage", {"json": {"roomId": [op], "text": "x"}}),
        ("POST", "chat.postMessage", {"json": {"roomId": rid, "text": op}}),
        ("POST", "chat.postMessage", {"json": {"roomId": rid, "text": "x", "tmid": op}}),
        ("POST", "chat.update", {"json": {"roomId": op, "msgId": mid, "text": "x"}}),
        ("POST", "chat.update", {"json": {"roomId": rid, "msgId": op, "text": "x"}}),
        ("POST", "chat.update", {"json": {"roomId": rid, "msgId": mid, "text": op}}),
        ("POST", "chat.delete", {"json": {"roomId": rid, "msgId": op}}),
        ("POST", "chat.delete", {"json": {"roomId": op, "msgId": mid}}),
        ("GET", "chat.getMessage", {"params": {"msgId[$ne]": "x"}}),
        ("GET", "chat.getMessage", {"params": [("msgId", mid), ("msgId", "other")]}),
        ("GET", "push.get", {"params": {"id[$regex]": ".*"}}),
        ("GET", "push.sink", {"params": {"messageId[$ne]": "x"}}),
    ]


def test_operator_objects_are_match_failures_and_change_nothing(server):
    async def main():
        alice, bob = await new_user(server, "al"), await new_user(server, "bo")
        async with connected(server, alice, bob) as (a, b):
            rid = await group(a, [bob], encrypted=True)
            mine = await a.call("sendMessage", {"rid": rid, "t": "e2e", "msg": "",
                                                "content": {"algorithm": "rc.v1.aes-sha2", "ciphertext": "abc"}})
            ha, hb = rest_headers(server, alice), rest_headers(server, bob)
            before = await snapshot(b, rid), await history(b, "GENERAL", 50)
            sink_before = body(rest(server, "GET", "push.sink", hb))

            for op in OPERATORS:
                for method, params in ddp_cases(rid, mine["_id"], op):
                    err = await call_error(a, method, *params)
                    assert (err.error, err.reason) == (400, "Match failed"), (method, params)
                    msg = ejson.dumps({"msg": "method", "id": "1", "method": method, "params": params})
                    res = rest(server, "POST", f"method.call/{method}", ha, json={"message": msg})
                    answer = ejson.loads(body(res)["message"])
                    assert answer["error"]["reason"] == "Match failed", (method, params)
                for verb, route, kw in rest_cases(rid, mine["_id"], op):
                    res = rest(server, verb, route, ha, **kw)
                    assert res.status_code == 400, (route, kw, res.text)
                    assert body(res)["errorType"] == "invalid-params", (route, kw)

            assert (await snapshot(b, rid), await history(b, "GENERAL", 50)) == before
            assert body(rest(server, "GET", "push.sink", hb)) == sink_before

    asyncio.run(main())


def test_routes_require_valid_credentials_and_change_nothing(server):
    async def main():
        alice, bob = await new_user(server, "al"), await new_user(server, "bo")
        async with connected(server, alice, bob) as (a, b):
            rid = await group(a, [bob])
            mine = await a.call("sendMessage", {"rid": rid, "msg": "kept"})
            before = await snapshot(b, rid)
            calls = [
                ("POST", "chat.sendMessage", {"json": {"message": {"rid": rid, "msg": "x"}}}),
                ("POST", "chat.postMessage", {"json": {"roomId": rid, "text": "x"}}),
                ("POST", "chat.update", {"json": {"roomId": rid, "msgId": mine["_id"], "text": "x"}}),
                ("POST", "chat.delete", {"json": {"roomId": rid, "msgId": mine["_id"]}}),
                ("GET", "chat.getMessage", {"params": {"msgId": mine["_id"]}}),
                ("GET", "push.get", {"params": {"id": mine["_id"]}}),
                ("GET", "push.sink", {}),
            ]
            bad_headers = [None, {"X-User-Id": alice.id}, {"X-User-Id": alice.id, "X-Auth-Token": "forged"},
                           {"X-User-Id": bob.id, "X-Auth-Token": rest_headers(server, alice)["X-Auth-Token"]}]
            for verb, route, kw in calls:
                for headers in bad_headers:
                    res = rest(server, verb, route, headers, **kw)
                    assert res.status_code == 401, (route, headers)
                    assert body(res) == {"status": "error", "message": "You must be logged in to do this."}
                    assert "kept" not in res.text
            assert await snapshot(b, rid) == before
            res = rest(server, "POST", "chat.sendMessage", rest_headers(server, alice),
                       content=json.dumps([{"message": {"rid": rid, "msg": "x"}}]))
            assert res.status_code == 400 and body(res)["errorType"] == "invalid-params"
            assert await snapshot(b, rid) == before

    asyncio.run(main())
