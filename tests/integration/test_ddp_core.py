"""The DDP core over real sockets: raw and SockJS framing, HTTP edges, ordering, heartbeats, limits.

Two servers started as users start them (``ddp-e2e serve --port 0``): the default one, and one
with fast heartbeats and a small frame limit. Hostile-input isolation (other connections keep
working, no traceback in the log, no stored byte changed) is in test_ddp_bad_input.py, on an
in-process server whose store and log the test can read.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest

from ddp_e2e.client.ddp import DDPClient
from tests.conftest import RunningServer, server_fixture

from .wire import CONNECT, Raw, is_result, login_msg


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# Heartbeat every 0.3 s, close after 0.3 s more; frames above 4096 bytes refused.
fast = server_fixture("--heartbeat-interval", "0.3", "--heartbeat-timeout", "0.3", "--max-message-size", "4096",
                      name="fast")


# --------------------------------------------------------------------------- framing


@pytest.mark.parametrize("path", ["/websocket", "/websocket/", "/sockjs/websocket"])
def test_raw_websocket_one_ddp_object_per_frame(server: RunningServer, path: str) -> None:
    async def main() -> None:
        raw = await Raw.open(f"ws://{server.host}:{server.port}{path}")
        await raw.send(CONNECT)
        assert (await raw.next())["msg"] == "connected"
        await raw.send({"msg": "method", "id": "1", "method": "ddp-e2e.echo", "params": [{"$date": 5}]})
        got = await raw.until(is_result("1"))
        assert {"msg": "result", "id": "1", "result": {"$date": 5}} in got
        assert {"msg": "updated", "methods": ["1"]} in got or (await raw.next()) == {"msg": "updated", "methods": ["1"]}
        for frame in raw.frames:  # each text frame is exactly one JSON object
            assert isinstance(orjson.loads(frame), dict)
        await raw.aclose()

    run(main())


def test_sockjs_framing_open_array_batches_and_string_payloads(server: RunningServer) -> None:
    async def main() -> None:
        raw = await Raw.open(server.sockjs_url("042", "a1b2c3d4"))
        # a batched client array: connect, a method and a ping in one frame
        await raw.send(CONNECT, {"msg": "method", "id": "1", "method": "ddp-e2e.echo", "params": ["hi"]},
                       {"msg": "ping", "id": "p"})
        got = await raw.until(lambda m: m.get("msg") == "pong")
        while {"msg": "updated", "methods": ["1"]} not in got or not any(map(is_result("1"), got)):
            got.append(await raw.next())
        assert got[0]["msg"] == "connected"
        assert {"msg": "result", "id": "1", "result": "hi"} in got and {"msg": "pong", "id": "p"} in got
        assert all(f[0] in "a" for f in raw.frames)
        # a single JSON string is a payload too; an empty payload is ignored
        await raw.ws.send("")
        await raw.ws.send(orjson.dumps(orjson.dumps({"msg": "ping", "id": "q"}).decode()).decode())
        assert await raw.next() == {"msg": "pong", "id": "q"}
        await raw.aclose()

    run(main())


@pytest.mark.parametrize("payload", ["not json", '{"msg":"ping"}', "[1,2]", '["ok", 3]', "[", "123"])
def test_sockjs_broken_framing_closes_with_c3000(server: RunningServer, payload: str) -> None:
    async def main() -> None:
        raw = await Raw.open(server.sockjs_url())
        await raw.send(CONNECT)
        assert (await raw.next())["msg"] == "connected"
        await raw.ws.send(payload)
        assert await raw.until(lambda m: m["msg"] == "__close__") == [
            {"msg": "__close__", "payload": [3000, "Broken framing."]}]
        await raw.close_code()
        # the server is fine: a new connection works
        async with DDPClient(server.ws_url) as c:
            assert await c.call("ddp-e2e.echo", 1) == 1

    run(main())


@pytest.mark.parametrize("sockjs_path", [False, True])
def test_binary_frame_is_an_error_and_the_connection_stays(server: RunningServer, sockjs_path: bool) -> None:
    async def main() -> None:
        raw = await Raw.open(server.sockjs_url() if sockjs_path else server.ws_url)
        await raw.send(CONNECT)
        assert (await raw.next())["msg"] == "connected"
        await raw.ws.send(orjson.dumps(CONNECT))  # bytes: a binary frame
        assert await raw.next() == {"msg": "error", "reason": "Bad request"}
        await raw.send({"msg": "method", "id": "1", "method": "ddp-e2e.echo", "params": [2]})
        assert {"msg": "result", "id": "1", "result": 2} in await raw.until(is_result("1"))
        await raw.aclose()

    run(main())


# --------------------------------------------------------------------------- HTTP edges


def test_sockjs_info_shape_headers_and_fresh_entropy(server: RunningServer) -> None:
    entropies = set()
    with httpx.Client(base_url=server.http_url) as http:
        for _ in range(5):
            r = http.get("/sockjs/info", params={"t": "123"})
            assert r.status_code == 200
            assert r.headers["content-type"] == "application/json; charset=UTF-8"
            assert r.headers["cache-control"] == "no-store, no-cache, no-transform, must-revalidate, max-age=0"
            assert r.headers["access-control-allow-origin"] == "*"
            body = orjson.loads(r.content)
            assert list(body) == ["websocket", "origins", "cookie_needed", "entropy"]
            assert body["websocket"] is True and body["origins"] == ["*:*"] and body["cookie_needed"] is False
            assert isinstance(body["entropy"], int) and 0 <= body["entropy"] < 2**32
            entropies.add(body["entropy"])
        assert len(entropies) == 5
        r = http.get("/sockjs/info", headers={"Origin": "https://chat.example"})
        assert r.headers["access-control-allow-origin"] == "https://chat.example"
        assert r.headers["access-control-allow-credentials"] == "true"
        assert r.headers["vary"] == "Origin"
        r = http.options("/sockjs/info", headers={"Origin": "https://chat.example"})
        assert r.status_code == 204 and r.content == b""
        assert r.headers["access-control-allow-methods"] == "OPTIONS, GET"
        assert r.headers["access-control-max-age"] == "31536000"
        assert r.headers["access-control-allow-origin"] == "https://chat.example"


def test_plain_get_on_websocket_paths_and_the_sockjs_welcome(server: RunningServer) -> None:
    with httpx.Client(base_url=server.http_url) as http:
        for path in ("/websocket", "/websocket/"):
            r = http.get(path)
            assert (r.status_code, r.text) == (400, "Not a valid websocket request")
        for path in ("/sockjs", "/sockjs/"):
            r = http.get(path)
            assert (r.status_code, r.text) == (200, "Welcome to SockJS!\n")
            assert r.headers["content-type"].startswith("text/plain")


# --------------------------------------------------------------------------- ordering


@pytest.mark.parametrize("sockjs_path", [False, True])
def test_frames_sent_before_connected_are_processed_in_order(server: RunningServer, sockjs_path: bool) -> None:
    async def main() -> None:
        raw = await Raw.open(server.sockjs_url() if sockjs_path else server.ws_url)
        await raw.send(  # all at once, before the server has said anything
            CONNECT, login_msg("1", "alice"),
            {"msg": "sub", "id": "s", "name": "stream-notify-user", "params": ["u-alice/message", False]},
            {"msg": "method", "id": "2", "method": "ddp-e2e.echo", "params": ["after"]},
        )
        got = await raw.until(is_result("2"))
        kinds = [(m["msg"], m.get("id") or m.get("subs")) for m in got]
        assert kinds[0] == ("connected", None)
        login = kinds.index(("result", "1"))
        ready = kinds.index(("ready", ["s"]))  # the sub ran as alice: its read rule needs her
        assert login < ready < kinds.index(("result", "2"))
        assert ("added", "u-alice") in kinds[:login]  # her own document before the login result
        await raw.aclose()

    run(main())


def test_ping_is_answered_while_a_bcrypt_login_runs(server: RunningServer) -> None:
    async def main() -> None:
        raw = await Raw.open(server.ws_url)
        await raw.send(CONNECT)
        await raw.next()
        await raw.send(login_msg("1", "bob"), {"msg": "ping", "id": "p"})
        got = await raw.until(is_result("1"))
        order = [(m["msg"], m.get("id")) for m in got]
        assert order.index(("pong", "p")) < order.index(("result", "1"))
        await raw.aclose()

    run(main())


# --------------------------------------------------------------------------- heartbeats


def test_heartbeat_ping_arrives_and_an_answering_client_stays(fast: RunningServer) -> None:
    async def main() -> None:
        async with DDPClient(fast.ws_url) as c:
            start = 0
            for _ in range(3):
                ping = await c.wait_for(lambda m: m.get("msg") == "ping", start=start)
                assert ping == {"msg": "ping"}
                start = c.inbox.index(ping) + 1
            assert await c.call("ddp-e2e.echo", "alive") == "alive"
            assert c.closed is None

    run(main())


@pytest.mark.parametrize("sockjs_path", [False, True])
def test_a_silent_client_is_closed_after_the_timeout(fast: RunningServer, sockjs_path: bool) -> None:
    async def main() -> None:
        c = DDPClient(fast.sockjs_url() if sockjs_path else fast.ws_url, answer_pings=False)
        await c.connect()
        closed = await c.wait_closed(5)
        assert {"msg": "ping"} in c.inbox
        assert closed.code == 4000
        if sockjs_path:
            assert c.inbox[-1] == {"msg": "__sockjs_close__", "payload": [3000, "heartbeat timeout"]}
        await c.close()

    run(main())


def test_a_pre1_client_that_never_answers_stays_connected(fast: RunningServer) -> None:
    async def main() -> None:
        old = DDPClient(fast.ws_url, version="pre1", support=["pre1"], answer_pings=False)
        witness = DDPClient(fast.ws_url, answer_pings=False)
        await old.connect()
        await witness.connect()
        await witness.wait_closed(5)  # a v1 session opened after it has had its ping and its timeout
        assert [m for m in old.inbox if m.get("msg") == "ping"] == []
        assert old.closed is None
        res = await old.call_full("ddp-e2e.echo", "still here")
        assert res["result"] == "still here"
        await old.close()
        await witness.close()

    run(main())


# --------------------------------------------------------------------------- size limits


@pytest.mark.parametrize(("limit", "sockjs_path"), [(4096, False), (4096, True), (1 << 20, False)])
def test_a_frame_over_the_size_limit_closes_1009_and_others_keep_working(
        server: RunningServer, fast: RunningServer, limit: int, sockjs_path: bool) -> None:
    srv = fast if limit == 4096 else server

    async def main() -> None:
        bystander = DDPClient(srv.ws_url)
        await bystander.connect()
        raw = await Raw.open(srv.sockjs_url() if sockjs_path else srv.ws_url)
        await raw.send(CONNECT)
        await raw.next()
        filler = "x" * (limit - 200)
        await raw.send({"msg": "method", "id": "1", "method": "ddp-e2e.echo", "params": [filler]})
        assert {"msg": "result", "id": "1", "result": filler} in await raw.until(is_result("1"))
        await raw.ws.send("y" * (limit + 1))
        assert await raw.close_code() == 1009
        assert await bystander.call("ddp-e2e.echo", "ok") == "ok"
        await bystander.close()

    run(main())
