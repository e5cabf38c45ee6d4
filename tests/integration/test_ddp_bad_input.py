"""Hostile input over real sockets: every answer has the right shape, nothing crashes, nothing changes.

The server runs in this process (tests/integration/inproc.py) so the test can dump its whole store
before and after, and read its log records: a crashed connection task or an internal error would
leave a traceback there. A bystander connection, opened first, must keep working throughout.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest

from ddp_e2e.client.ddp import DDPClient

from .inproc import InProcServer, srv_fixture
from .wire import CONNECT, Raw, is_result, login_msg

DEEP = "[" * 1100 + "]" * 1100
DEEPISH = "[" * 400 + "]" * 400


srv = srv_fixture(max_message_size=1 << 20)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def method(mid: str, name: str, *params: Any) -> dict[str, Any]:
    return {"msg": "method", "id": mid, "method": name, "params": list(params)}


#: (frame, check of the replies it gets). Frames are text unless bytes; the check sees the list of
#: messages received up to the reply of the probe that follows each frame.
BEFORE_CONNECT: list[str | dict[str, Any]] = [
    "garbage", "1", "null", "[]", {"msg": "ping"}, method("0", "login", {"resume": {"$ne": None}}),
    {"msg": "sub", "id": "s", "name": "stream-notify-all", "params": ["x"]},
]
AFTER_CONNECT: list[str | bytes | dict[str, Any]] = [
    "not json", "1", '"x"', "null", "[1]", "{}", '{"msg":7}', {"msg": "nonsense"}, CONNECT,
    {"msg": "method", "id": 1, "method": "login"}, {"msg": "method", "id": "m", "method": "login", "params": {}},
    {"msg": "method", "id": "m", "method": "login", "params": [], "randomSeed": {"$ne": 1}},
    {"msg": "sub", "id": {"$ne": 1}, "name": "x"}, {"msg": "sub", "id": "s", "name": "x", "params": "p"},
    {"msg": "unsub"}, {"msg": "unsub", "id": {"$gt": ""}},
    method("a", "login", {"user": {"username": {"$ne": None}}, "password": "x"}),
    method("b", "login", {"user": {"username": {"$regex": ".*"}}, "password": {"$ne": ""}}),
    method("c", "login", {"user": {"email": {"$gt": ""}}, "password": "x"}),
    method("d", "login", {"user": {"id": {"$in": ["u-alice"]}}, "password": "x"}),
    method("e", "login", {"resume": {"$ne": None}}),
    method("f", "login", {"resume": {"$regexp": ".*", "$flags": ""}}),
    method("g", "login", {"resume": "not-a-token"}),
    method("h", "login", {"user": "u-alice", "password": "wrong"}),
    login_msg("i", "alice", "wrong"),
    login_msg("j", "nobody-at-all"),
    method("k", "login", {"services.resume.loginTokens": []}),
    method("l", "registerUser", {"email": {"$ne": None}, "pass": "p", "name": "n"}),
    method("m2", "registerUser", {"email": "x@y.io", "pass": "p", "name": "n", "$set": {"roles": ["admin"]}}),
    method("n", "logout"),
    method("o", "/users/update", {"_id": "u-alice"}, {"$set": {"roles": ["admin"]}}),
    method("p", "/users/insert", {"_id": "evil", "username": "evil"}),
    method("q", "ddp-e2e.echo", {"$type": "unknown", "$value": 1}),
    method("r", "ddp-e2e.echo", {"$binary": "%%%"}),
    '{"msg":"method","id":"s1","method":"ddp-e2e.echo","params":[' + DEEP + "]}",
    '{"msg":"method","id":"s2","method":"ddp-e2e.echo","params":[' + DEEPISH + "]}",
    '{"msg":"nonsense","x":' + DEEPISH + "}",
    '{"msg":"method","id":"t","method":"ddp-e2e.echo","params":[NaN]}',
    method("u", "ddp-e2e.echo", "z" * 900_000),
    {"msg": "sub", "id": "v", "name": "stream-notify-user", "params": [{"$ne": None}, False]},
    {"msg": "sub", "id": "w", "name": "stream-room-messages", "params": ["__my_messages__", {"$where": "1"}]},
    {"msg": "sub", "id": "x", "name": "nope"},
    b"\x00\xff binary",
]


def well_formed_method(frame: Any) -> bool:
    return (isinstance(frame, dict) and frame.get("msg") == "method" and isinstance(frame.get("id"), str)
            and isinstance(frame.get("params"), list) and isinstance(frame.get("randomSeed", ""), str))


def assert_known_shape(msg: dict[str, Any]) -> None:
    kind = msg["msg"]
    assert kind in ("connected", "error", "result", "updated", "nosub", "ready", "pong", "added", "changed",
                    "removed", "failed"), msg
    if kind == "result" and "error" in msg:
        err = msg["error"]
        assert err["errorType"] == "Meteor.Error" and err["isClientSafe"] is True
        assert "Traceback" not in str(err) and "services" not in str(err)
        assert err["error"] != 500 or msg["id"] in ("s2",), msg  # only the un-encodable echo is a 500


@pytest.mark.parametrize("sockjs_path", [False, True])
def test_bad_input_crashes_nothing_and_changes_no_stored_data(srv: InProcServer, sockjs_path: bool) -> None:
    before = srv.dump()

    async def main() -> None:
        bystander = DDPClient(srv.ws_url)
        await bystander.connect()
        raw = await Raw.open(srv.sockjs_url() if sockjs_path else srv.ws_url)
        probe = 0

        async def send_then_probe(frame: str | bytes | dict[str, Any]) -> list[dict[str, Any]]:
            nonlocal probe
            probe += 1
            if isinstance(frame, bytes):
                await raw.ws.send(frame)
            else:
                await raw.send(frame)
            await raw.send({"msg": "ping", "id": f"probe{probe}"})
            got = await raw.until(lambda m: m == {"msg": "pong", "id": f"probe{probe}"} or (
                m.get("msg") == "error" and m.get("reason") == "Must connect first"
                and m.get("offendingMessage") == {"msg": "ping", "id": f"probe{probe}"}), timeout=10)
            for m in got[:-1]:
                assert_known_shape(m)
            return got[:-1]

        for frame in BEFORE_CONNECT:
            got = await send_then_probe(frame)
            assert [m["reason"] for m in got] in (["Bad request"], ["Must connect first"]), (frame, got)
        await raw.send(CONNECT)
        assert (await raw.next())["msg"] == "connected"
        for frame in AFTER_CONNECT:
            got = await send_then_probe(frame)
            assert got, f"no answer to {frame!r:.80}"
            if well_formed_method(frame) and got != [{"msg": "error", "reason": "Parse error"}]:
                assert isinstance(frame, dict)
                mids = [m for m in got if is_result(frame["id"])(m)]
                assert len(mids) == 1, (frame, got)
                assert "result" not in mids[0] or frame["method"] == "ddp-e2e.echo", mids[0]
        # the bystander was never disturbed, and this connection still works
        assert await bystander.call("ddp-e2e.echo", "still fine") == "still fine"
        await raw.send(method("z", "ddp-e2e.echo", 1))
        assert {"msg": "result", "id": "z", "result": 1} in await raw.until(is_result("z"))
        # and last, a frame over the limit ends this connection only
        await raw.ws.send("y" * ((1 << 20) + 1))
        assert await raw.close_code() == 1009
        assert await bystander.call("ddp-e2e.echo", "after") == "after"
        await bystander.close()

    run(main())
    assert srv.logs.tracebacks() == []
    assert srv.dump() == before


def test_wrong_password_answers_do_not_tell_whether_the_user_exists(srv: InProcServer) -> None:
    async def main() -> None:
        raw = await Raw.open(srv.ws_url)
        await raw.send(CONNECT)
        await raw.next()
        answers = []
        for i, msg in enumerate([login_msg("1", "alice", "wrong"), login_msg("2", "ghost", "wrong"),
                                 method("3", "login", {"user": {"username": {"$ne": None}}, "password": "w"})]):
            await raw.send(msg)
            got = await raw.until(is_result(str(i + 1)))
            answers.append(orjson.dumps(got[-1]["error"]))
        assert answers[0] == answers[1]
        assert orjson.loads(answers[0])["reason"] == "Something went wrong. Please check your credentials."
        assert orjson.loads(answers[2])["reason"] == "Match failed"
        await raw.ws.close()

    run(main())


def test_rest_method_call_survives_hostile_messages(srv: InProcServer) -> None:
    before = srv.dump()

    def message(params: str) -> dict[str, str]:
        return {"message": '{"msg":"method","id":"1","method":"ddp-e2e.echo","params":[' + params + "]}"}

    with httpx.Client(base_url=srv.http_url + "/api/v1") as http:
        anon = "/method.callAnon/ddp-e2e.echo"
        for params in ("[" * 990 + '{"$date":1}' + "]" * 990, "[" * 1100 + "]" * 1100, "NaN", '{"$type":"x","$value":1}'):
            r = http.post(anon, json=message(params))
            assert r.status_code == 400 and r.json()["errorType"] == "invalid-params", (params[:20], r.text)
        r = http.post(anon, json=message("[" * 300 + "]" * 300))  # parses, but no EJSON text can carry it back
        assert r.status_code == 200 and orjson.loads(r.json()["message"]) == {
            "msg": "result", "id": "1", "error": {"isClientSafe": True, "error": 500, "reason": "Internal server error",
                                                  "message": "Internal server error [500]", "errorType": "Meteor.Error"}}
        r = http.post(anon, content=b'{"message": ' + b"[" * 2000 + b"]" * 2000 + b"}")
        assert r.status_code == 400 and r.json()["errorType"] == "invalid-params"
        r = http.post(anon, json={"message": "x" * ((1 << 20) + 1)})
        assert r.status_code == 413
    assert srv.logs.tracebacks() == []
    assert srv.dump() == before
