"""The sans-I/O DDP Session against the spec (ddp-protocol.md §2.3, §3.1-§3.6, §5).

A real App on the memory store, the clock handed in by the test, no sockets. Every row of the
validation table 2.3, version negotiation (with Meteor's own unit cases), ping/pong, heartbeats,
the method reply rule (exactly one ``result`` and one ``updated``), sub/ready/nosub and the login
re-run diff.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
import pytest

from ddp_e2e.ddp.session import CLOSE_HEARTBEAT, negotiate_version
from ddp_e2e.ids import is_meteor_id

from .ddp_harness import (
    CONNECT,
    INTERNAL,
    MATCH_FAILED,
    Conn,
    connected,
    kinds,
    login_params,
    make_app,
    one_result_one_updated,
    run,
)

# --------------------------------------------------------------------------- table 2.3


@pytest.mark.parametrize("text", ["not json", "{", "1", '"x"', "null", "true", "", "NaN", '{"msg":"ping"} x'])
@pytest.mark.parametrize("is_connected", [False, True])
def test_non_json_or_non_object_is_bad_request_without_offending_message(text: str, is_connected: bool) -> None:
    async def main() -> None:
        conn = await connected() if is_connected else Conn(await make_app())
        assert await conn.send(text) == [{"msg": "error", "reason": "Bad request"}]
        assert not conn.session.closed

    run(main())


@pytest.mark.parametrize("frame", [[], [1, 2], {}, {"msg": 1}, {"msg": None}, {"id": "1"}, {"msg": ["connect"]}])
def test_object_without_string_msg_is_bad_request_with_offending_message(frame: Any) -> None:
    async def main() -> None:
        conn = await connected()
        assert await conn.send(orjson.dumps(frame).decode()) == [
            {"msg": "error", "reason": "Bad request", "offendingMessage": frame}
        ]

    run(main())


@pytest.mark.parametrize("params", [
    [{"$type": "nope", "$value": 1}],
    [{"$binary": "!!not base64"}],
    [{"$date": "yesterday"}],
])
def test_ejson_that_does_not_convert_is_parse_error_and_nothing_runs(params: list[Any]) -> None:
    async def main() -> None:
        conn = await connected()
        out = await conn.call("1", "t.none", *params)
        assert out == [{"msg": "error", "reason": "Parse error"}]  # no result, no updated

    run(main())


def test_second_connect_is_already_connected() -> None:
    async def main() -> None:
        conn = await connected()
        first = conn.session.id
        assert await conn.send(CONNECT) == [{"msg": "error", "reason": "Already connected", "offendingMessage": CONNECT}]
        assert conn.session.id == first and not conn.session.closed

    run(main())


@pytest.mark.parametrize("frame", [
    {"msg": "ping"}, {"msg": "ping", "id": "1"}, {"msg": "pong"}, {"msg": "method", "id": "1", "method": "t.none"},
    {"msg": "sub", "id": "s", "name": "t.docs"}, {"msg": "unsub", "id": "s"}, {"msg": "nonsense"},
])
def test_anything_before_connect_is_must_connect_first(frame: dict[str, Any]) -> None:
    async def main() -> None:
        conn = Conn(await make_app())
        assert await conn.send(frame) == [{"msg": "error", "reason": "Must connect first", "offendingMessage": frame}]
        assert conn.session.version is None and not conn.session.closed
        await conn.connect()  # still connectable afterwards

    run(main())


@pytest.mark.parametrize("frame", [{"msg": "nonsense"}, {"msg": "added", "collection": "c", "id": "x"},
                                   {"msg": "result", "id": "1"}, {"msg": "METHOD", "id": "1", "method": "t.none"}])
def test_unknown_msg_after_connect_is_bad_request(frame: dict[str, Any]) -> None:
    async def main() -> None:
        conn = await connected()
        assert await conn.send(frame) == [{"msg": "error", "reason": "Bad request", "offendingMessage": frame}]

    run(main())


@pytest.mark.parametrize("frame", [
    {"msg": "sub", "id": 1, "name": "t.docs"},
    {"msg": "sub", "name": "t.docs"},
    {"msg": "sub", "id": "s", "name": {"$ne": None}},
    {"msg": "sub", "id": "s"},
    {"msg": "sub", "id": "s", "name": "t.docs", "params": {"a": 1}},
    {"msg": "sub", "id": "s", "name": "t.docs", "params": None},
    {"msg": "sub", "id": ["s"], "name": "t.docs", "params": []},
])
def test_malformed_sub(frame: dict[str, Any]) -> None:
    async def main() -> None:
        conn = await connected()
        assert await conn.send(frame) == [{"msg": "error", "reason": "Malformed subscription", "offendingMessage": frame}]
        assert conn.session.subs == {}

    run(main())


@pytest.mark.parametrize("frame", [
    {"msg": "method", "id": 1, "method": "t.none"},
    {"msg": "method", "method": "t.none"},
    {"msg": "method", "id": "1"},
    {"msg": "method", "id": "1", "method": {"$ne": None}},
    {"msg": "method", "id": "1", "method": "t.none", "params": {"0": 1}},
    {"msg": "method", "id": "1", "method": "t.none", "params": None},
    {"msg": "method", "id": "1", "method": "t.none", "params": "x"},
    {"msg": "method", "id": "1", "method": "t.none", "randomSeed": 5},
    {"msg": "method", "id": "1", "method": "t.none", "randomSeed": None},
])
def test_malformed_method_gets_an_error_and_no_result_nor_updated(frame: dict[str, Any]) -> None:
    async def main() -> None:
        conn = await connected()
        assert await conn.send(frame) == [
            {"msg": "error", "reason": "Malformed method invocation", "offendingMessage": frame}
        ]

    run(main())


def test_random_seed_string_is_accepted() -> None:
    async def main() -> None:
        conn = await connected()
        out = await conn.send({"msg": "method", "id": "1", "method": "t.none", "params": [], "randomSeed": "abc"})
        assert one_result_one_updated(out, "1") == {"msg": "result", "id": "1"}

    run(main())


@pytest.mark.parametrize("frame", [{"msg": "unsub"}, {"msg": "unsub", "id": 5}, {"msg": "unsub", "id": None}])
def test_unsub_without_a_string_id_is_a_bare_nosub(frame: dict[str, Any]) -> None:
    async def main() -> None:
        conn = await connected()
        assert await conn.send(frame) == [{"msg": "nosub"}]

    run(main())


def test_offending_message_is_plain_json_of_the_parsed_message() -> None:
    async def main() -> None:
        conn = await connected()
        frame = {"msg": "nonsense", "when": {"$date": 0}, "nested": {"$ne": None}}
        out = await conn.send(frame)
        assert out == [{"msg": "error", "reason": "Bad request", "offendingMessage": frame}]

    run(main())


@pytest.mark.parametrize("depth", [300, 990, 1100])
def test_deep_nesting_is_answered_never_raised(depth: int) -> None:
    async def main() -> None:
        conn = await connected()
        nested = "[" * depth + "]" * depth
        out = await conn.send('{"msg":"nonsense","x":' + nested + "}")
        assert len(out) == 1 and out[0]["msg"] == "error" and out[0]["reason"] == "Bad request"
        out = await conn.send('{"msg":"method","id":"1","method":"ddp-e2e.echo","params":[' + nested + "]}")
        if kinds(out) == ["error"]:
            assert out[0]["reason"] in ("Bad request", "Parse error")
        else:  # converted and run: a result too deep to encode is a 500, still one result + one updated
            assert one_result_one_updated(out, "1")["error"] == INTERNAL
        out = await conn.send('{"msg":"sub","id":7,"x":' + nested + "}")
        assert [m["reason"] for m in out] in (["Malformed subscription"], ["Bad request"], ["Parse error"])
        assert not conn.session.closed
        assert one_result_one_updated(await conn.call("2", "t.none"), "2") == {"msg": "result", "id": "2"}

    run(main())


def test_disconnect_message_of_meteor_3_5_is_ignored_silently() -> None:
    async def main() -> None:
        conn = await connected()
        assert await conn.send({"msg": "disconnect"}) == []
        assert not conn.session.closed

    run(main())


# --------------------------------------------------------------------------- version negotiation


@pytest.mark.parametrize(("version", "support", "expected"), [
    ("1", ["1", "pre2", "pre1"], "1"),
    ("pre2", ["pre2", "pre1"], "pre2"),
    ("pre1", ["pre1"], "pre1"),
    ("pre1", ["3", "pre1"], "pre1"),  # first client entry the server knows
    ("1", ["1", "2"], "1"),
])
def test_connect_succeeds_when_version_is_the_best_common_one(version: str, support: list[str], expected: str) -> None:
    async def main() -> None:
        conn = Conn(await make_app())
        out = await conn.send({"msg": "connect", "version": version, "support": support})
        assert kinds(out) == ["connected"] and is_meteor_id(out[0]["session"])
        assert list(out[0]) == ["msg", "session"]
        assert conn.session.version == expected

    run(main())


@pytest.mark.parametrize(("frame", "proposed"), [
    ({"version": "pre2", "support": ["1", "pre2"]}, "1"),
    ({"version": "1", "support": ["pre2", "1"]}, "pre2"),
    ({"version": "pre1", "support": ["pre2", "pre1"]}, "pre2"),
    ({"version": "2", "support": ["2"]}, "1"),  # nothing in common: the server's first
    ({"version": "1", "support": ["pre1"]}, "1"),  # version not in its own support list
    ({"version": 1, "support": ["1"]}, "1"),
    ({"version": "1", "support": "1"}, "1"),
    ({"version": "1", "support": [1, "1"]}, "1"),
    ({"version": "1"}, "1"),
    ({"support": ["1"]}, "1"),
    ({"version": None, "support": None}, "1"),
    ({"version": {"$ne": None}, "support": ["1"]}, "1"),
])
def test_failed_negotiation_proposes_a_version_then_closes(frame: dict[str, Any], proposed: str) -> None:
    async def main() -> None:
        conn = Conn(await make_app())
        conn.feed({"msg": "connect", **frame})
        conn.feed({"msg": "method", "id": "1", "method": "t.none"})  # pipelined: must be dropped
        await conn.session.drain()
        assert conn.out() == [{"msg": "failed", "version": proposed}]
        assert conn.session.closed and conn.session.next_deadline() is None
        assert conn.session.id == "" and conn.session.id not in conn.app.sessions.by_id
        assert conn.feed(CONNECT) is False and conn.out() == []

    run(main())


@pytest.mark.parametrize(("support", "expected"), [
    # Meteor's livedata_tests "version negotiation", with A, B, C = the server's 1, pre2, pre1
    (["1", "pre2", "pre1"], "1"),
    (["pre2", "pre1"], "pre2"),
    (["foo", "pre2", "pre1"], "pre2"),  # the client's first entry the server supports
    (["foo", "bar", "baz"], "1"),  # none: the server's first
])
def test_meteor_calculate_version_cases(support: list[str], expected: str) -> None:
    # a client proposes the first of its list; the server answers None (agreed) or its choice
    agreed = negotiate_version(support[0], support)
    assert (agreed or support[0]) == expected
    assert negotiate_version(expected, support if expected in support else [*support, expected]) in (None, expected)


def test_session_field_and_received_count_do_not_resume() -> None:
    async def main() -> None:
        app = await make_app()
        a, b = Conn(app), Conn(app)
        first = await a.connect()
        out = await b.send({**CONNECT, "session": first, "receivedCount": 3})
        assert out[0]["msg"] == "connected" and out[0]["session"] != first
        assert set(app.sessions.by_id) == {first, out[0]["session"]}

    run(main())


# --------------------------------------------------------------------------- ping / pong


def test_ping_with_and_without_id_and_pong_is_silent() -> None:
    async def main() -> None:
        conn = await connected()
        assert await conn.send({"msg": "ping"}) == [{"msg": "pong"}]
        assert await conn.send({"msg": "ping", "id": "abc"}) == [{"msg": "pong", "id": "abc"}]
        assert await conn.send({"msg": "ping", "id": ""}) == [{"msg": "pong", "id": ""}]
        assert await conn.send({"msg": "ping", "id": 5}) == []  # Meteor's stringifyDDP refuses a numeric id
        assert await conn.send({"msg": "pong"}) == []
        assert await conn.send({"msg": "pong", "id": "x"}) == []

    run(main())


def test_pre1_has_no_heartbeat_and_ping_is_bad_request() -> None:
    async def main() -> None:
        conn = Conn(await make_app())
        await conn.connect("pre1", ["pre1"])
        assert conn.session.next_deadline() is None
        conn.session.on_timer(10_000.0)
        assert conn.out() == [] and not conn.session.closed
        for frame in ({"msg": "ping"}, {"msg": "ping", "id": "1"}, {"msg": "pong"}):
            assert await conn.send(frame, now=10_001.0) == [
                {"msg": "error", "reason": "Bad request", "offendingMessage": frame}
            ]
        out = await conn.call("1", "t.none")
        assert one_result_one_updated(out, "1") == {"msg": "result", "id": "1"}

    run(main())


def test_ping_is_answered_while_a_slow_method_blocks_the_queue() -> None:
    async def main() -> None:
        conn = await connected()
        gate = conn.app.extensions["test_gate"]
        assert conn.feed({"msg": "method", "id": "1", "method": "t.slow"}) is True
        drain = asyncio.create_task(conn.session.drain())
        await gate["started"].wait()
        conn.feed({"msg": "method", "id": "2", "method": "t.none"})  # queued behind the slow one
        conn.feed({"msg": "ping", "id": "p"})
        assert conn.out() == [{"msg": "pong", "id": "p"}]  # at once, outside the queue
        gate["release"].set()
        await drain
        assert conn.out() == [
            {"msg": "updated", "methods": ["1"]}, {"msg": "result", "id": "1", "result": "done"},
            {"msg": "updated", "methods": ["2"]}, {"msg": "result", "id": "2"},
        ]

    run(main())


# --------------------------------------------------------------------------- heartbeats


def test_heartbeat_ping_after_interval_and_close_4000_after_timeout() -> None:
    async def main() -> None:
        conn = Conn(await make_app(heartbeat_interval=15.0, heartbeat_timeout=15.0))
        await conn.connect()
        s = conn.session
        assert s.next_deadline() == 15.0
        s.on_timer(14.9)
        assert conn.out() == []
        s.on_timer(15.0)
        assert conn.out() == [{"msg": "ping"}]  # Meteor's server ping never has an id
        assert s.next_deadline() == 30.0
        s.on_timer(29.9)
        assert conn.out() == [] and not s.closed
        s.on_timer(30.0)
        assert s.closed and s.close_code == CLOSE_HEARTBEAT == 4000
        assert s.next_deadline() is None and conn.app.sessions.by_id == {}

    run(main())


@pytest.mark.parametrize("proof", [{"msg": "pong"}, {"msg": "method", "id": "9", "method": "t.none"},
                                   {"msg": "nonsense"}, "garbage"])
def test_any_inbound_frame_proves_life(proof: Any) -> None:
    async def main() -> None:
        conn = Conn(await make_app(heartbeat_interval=15.0, heartbeat_timeout=15.0))
        await conn.connect()
        conn.session.on_timer(15.0)
        assert conn.out() == [{"msg": "ping"}]
        await conn.send(proof, now=20.0)
        assert conn.session.next_deadline() == 35.0
        conn.session.on_timer(30.0)  # the old close deadline has passed: nothing happens
        assert not conn.session.closed and conn.out() == []
        conn.session.on_timer(35.0)
        assert conn.out() == [{"msg": "ping"}]

    run(main())


def test_pre2_gets_heartbeats_and_zero_interval_disables_them() -> None:
    async def main() -> None:
        conn = Conn(await make_app(heartbeat_interval=5.0, heartbeat_timeout=5.0))
        await conn.connect("pre2", ["pre2"])
        conn.session.on_timer(5.0)
        assert conn.out() == [{"msg": "ping"}]
        off = Conn(await make_app(heartbeat_interval=0.0))
        await off.connect()
        assert off.session.next_deadline() is None
        off.session.on_timer(1e9)
        assert off.out() == [] and not off.session.closed

    run(main())


def test_a_socket_that_never_connects_is_closed_after_the_connect_timeout() -> None:
    async def main() -> None:
        conn = Conn(await make_app(connect_timeout=45.0), now=100.0)
        assert conn.session.next_deadline() == 145.0
        conn.session.on_timer(144.0)
        assert not conn.session.closed
        await conn.send("nonsense", now=144.5)  # chatter is not a connect: the deadline stays
        conn.session.on_timer(145.0)
        assert conn.session.closed

    run(main())


# --------------------------------------------------------------------------- methods


@pytest.mark.parametrize(("method", "params", "expected"), [
    ("t.none", [], {"msg": "result", "id": "m"}),
    ("t.null", [], {"msg": "result", "id": "m", "result": None}),
    ("t.date", [], {"msg": "result", "id": "m", "result": {"$date": 1_700_000_000_000}}),
    ("ddp-e2e.echo", [{"$date": 5}], {"msg": "result", "id": "m", "result": {"$date": 5}}),
    ("ddp-e2e.echo", [{"$escape": {"$date": 5}}], {"msg": "result", "id": "m", "result": {"$escape": {"$date": 5}}}),
    ("ddp-e2e.echo", [{"$binary": "AQID"}], {"msg": "result", "id": "m", "result": {"$binary": "AQID"}}),
    ("ddp-e2e.echo", [{"$InfNaN": -1}], {"msg": "result", "id": "m", "result": {"$InfNaN": -1}}),
    ("ddp-e2e.echo", [[1, "x", None]], {"msg": "result", "id": "m", "result": [1, "x", None]}),
    ("t.whoami", [], {"msg": "result", "id": "m", "result": None}),
    ("t.meteor_error", [], {"msg": "result", "id": "m", "error": {
        "isClientSafe": True, "error": "error-test", "reason": "A test failure",
        "details": {"method": "t.meteor_error"}, "message": "A test failure [error-test]",
        "errorType": "Meteor.Error"}}),
    ("t.crash", [], {"msg": "result", "id": "m", "error": INTERNAL}),
    ("t.unencodable", [], {"msg": "result", "id": "m", "error": INTERNAL}),
    ("t.none", [1], {"msg": "result", "id": "m", "error": MATCH_FAILED}),
    ("ddp-e2e.echo", [1, 2], {"msg": "result", "id": "m", "error": MATCH_FAILED}),
    ("login", [], {"msg": "result", "id": "m", "error": MATCH_FAILED}),
    ("nope", [], {"msg": "result", "id": "m", "error": {
        "isClientSafe": True, "error": 404, "reason": "Method 'nope' not found",
        "message": "Method 'nope' not found [404]", "errorType": "Meteor.Error"}}),
])
def test_every_method_gets_exactly_one_result_and_one_updated(method: str, params: list[Any],
                                                               expected: dict[str, Any]) -> None:
    async def main() -> None:
        conn = await connected()
        out = await conn.call("m", method, *params)
        assert len(out) == 2, out
        assert one_result_one_updated(out, "m") == expected
        # Meteor's order: result first only for "method not found"
        assert kinds(out) == (["result", "updated"] if method == "nope" else ["updated", "result"])

    run(main())


def test_an_internal_error_is_logged_server_side_only(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> list[dict[str, Any]]:
        conn = await connected()
        return await conn.call("m", "t.crash")

    with caplog.at_level(logging.ERROR):
        out = run(main())
    assert "internal detail" not in str(out)
    assert any(r.exc_info and "internal detail" in str(r.exc_info[1]) for r in caplog.records)


def test_methods_run_in_arrival_order_and_login_applies_to_what_follows() -> None:
    async def main() -> None:
        conn = Conn(await make_app(fixtures=True))
        conn.feed(CONNECT)
        conn.feed({"msg": "method", "id": "1", "method": "t.whoami"})
        conn.feed({"msg": "method", "id": "2", "method": "login", "params": [login_params("alice")]})
        conn.feed({"msg": "method", "id": "3", "method": "t.whoami"})
        await conn.session.drain()
        out = conn.out()
        assert out[0]["msg"] == "connected"
        assert one_result_one_updated(out, "1")["result"] is None
        assert one_result_one_updated(out, "2")["result"]["id"] == "u-alice"
        assert one_result_one_updated(out, "3")["result"] == "u-alice"
        ids = [m.get("id") for m in out if m["msg"] == "result"]
        assert ids == ["1", "2", "3"]

    run(main())


def test_slow_reader_overflow_closes_1008() -> None:
    async def main() -> None:
        conn = await connected(max_outbound_buffer=10_000)
        await conn.call("1", "ddp-e2e.echo", "x" * 20_000)
        assert conn.session.closed and conn.session.close_code == 1008

    run(main())


def test_a_closed_session_takes_no_more_input_and_sends_nothing() -> None:
    async def main() -> None:
        conn = await connected()
        await conn.send({"msg": "sub", "id": "d", "name": "t.docs"})
        conn.session.close(1000, "bye")
        assert conn.out() == []  # subscriptions stop without nosub/removed
        assert conn.feed({"msg": "method", "id": "1", "method": "t.none"}) is False
        await conn.session.drain()
        assert conn.out() == [] and conn.session.subs == {}

    run(main())
