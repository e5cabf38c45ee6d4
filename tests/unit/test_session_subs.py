"""Subscriptions on the sans-I/O Session (ddp-protocol.md §3.4-§3.5, §5.1, §8.1).

sub/ready/nosub/unsub rules, the merge box seen through a connection, the login re-run that sends
only the difference between the old and the new user's view, and the per-connection login limit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ddp_e2e.ddp.session import Session
from ddp_e2e.dispatch import ConnectionInfo

from .ddp_harness import (
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

# --------------------------------------------------------------------------- subscriptions


def test_sub_ready_duplicate_id_ignored_and_unsub_answers_nosub() -> None:
    async def main() -> None:
        conn = await connected()
        out = await conn.send({"msg": "sub", "id": "d", "name": "t.docs"})
        assert out == [{"msg": "added", "collection": "things", "id": "shared", "fields": {"owner": "nobody", "v": 1}},
                       {"msg": "ready", "subs": ["d"]}]
        assert await conn.send({"msg": "sub", "id": "d", "name": "t.docs"}) == []
        assert await conn.send({"msg": "sub", "id": "d", "name": "nope"}) == []  # the id is taken
        assert await conn.send({"msg": "unsub", "id": "d"}) == [
            {"msg": "removed", "collection": "things", "id": "shared"}, {"msg": "nosub", "id": "d"}]
        assert await conn.send({"msg": "unsub", "id": "d"}) == [{"msg": "nosub", "id": "d"}]
        assert await conn.send({"msg": "unsub", "id": "never"}) == [{"msg": "nosub", "id": "never"}]

    run(main())


def test_two_subs_on_one_document_share_it_through_the_merge_box() -> None:
    async def main() -> None:
        conn = await connected()
        await conn.send({"msg": "sub", "id": "a", "name": "t.docs"})
        assert await conn.send({"msg": "sub", "id": "b", "name": "t.docs"}) == [{"msg": "ready", "subs": ["b"]}]
        assert await conn.send({"msg": "unsub", "id": "a"}) == [{"msg": "nosub", "id": "a"}]
        assert await conn.send({"msg": "unsub", "id": "b"}) == [
            {"msg": "removed", "collection": "things", "id": "shared"}, {"msg": "nosub", "id": "b"}]

    run(main())


def test_unknown_publication_is_nosub_404_and_the_id_stays_free() -> None:
    async def main() -> None:
        conn = await connected()
        assert await conn.send({"msg": "sub", "id": "x", "name": "nope", "params": [1]}) == [{
            "msg": "nosub", "id": "x", "error": {
                "isClientSafe": True, "error": 404, "reason": "Subscription 'nope' not found",
                "message": "Subscription 'nope' not found [404]", "errorType": "Meteor.Error"}}]
        assert conn.session.subs == {}
        out = await conn.send({"msg": "sub", "id": "x", "name": "t.docs"})
        assert out[-1] == {"msg": "ready", "subs": ["x"]}

    run(main())


@pytest.mark.parametrize(("name", "params", "error"), [
    ("t.docs", [1], MATCH_FAILED),
    ("t.docs", [{"$ne": None}], MATCH_FAILED),
    ("stream-notify-all", [{"$ne": None}, False], MATCH_FAILED),
    ("t.denied", [], {"isClientSafe": True, "error": "not-allowed", "message": "[not-allowed]",
                      "errorType": "Meteor.Error"}),
    ("t.crash", [], INTERNAL),
])
def test_a_refused_or_failing_publication_is_one_nosub_with_its_error(name: str, params: list[Any],
                                                                      error: dict[str, Any]) -> None:
    async def main() -> None:
        conn = await connected()
        out = await conn.send({"msg": "sub", "id": "s", "name": name, "params": params})
        assert out == [{"msg": "nosub", "id": "s", "error": error}]
        assert "s" not in conn.session.subs

    run(main())


def test_subscription_limit_per_connection() -> None:
    async def main() -> None:
        conn = await connected(max_subscriptions_per_connection=2)
        for sid in ("a", "b"):
            assert (await conn.send({"msg": "sub", "id": sid, "name": "meteor.loginServiceConfiguration"}))[-1][
                "msg"] == "ready"
        out = await conn.send({"msg": "sub", "id": "c", "name": "meteor.loginServiceConfiguration"})
        assert out[0]["msg"] == "nosub" and out[0]["error"]["error"] == "too-many-subscriptions"

    run(main())


# --------------------------------------------------------------------------- login re-run (§3.5)


def test_login_reruns_subscriptions_and_sends_only_the_diff() -> None:
    async def main() -> None:
        conn = Conn(await make_app(fixtures=True))
        await conn.connect()
        await conn.send({"msg": "sub", "id": "d", "name": "t.docs"})

        out = await conn.call("1", "login", login_params("alice"))
        result = one_result_one_updated(out, "1")["result"]
        assert result["id"] == "u-alice" and result["type"] == "password"
        data = [m for m in out if m["msg"] in ("added", "changed", "removed")]
        assert sorted(data, key=str) == sorted([
            {"msg": "changed", "collection": "things", "id": "shared", "fields": {"owner": "u-alice"}},
            {"msg": "added", "collection": "things", "id": "mine-u-alice", "fields": {"x": 1}},
            {"msg": "added", "collection": "users", "id": "u-alice", "fields": {
                "username": "alice", "emails": [{"address": "alice@example.com", "verified": True}],
                "name": "Alice"}},
        ], key=str)
        assert [m for m in out if m["msg"] == "ready"] == [{"msg": "ready", "subs": ["d"]}]
        # data and ready go out before the method's result (the client waits for the user doc)
        assert kinds(out).index("result") > max(i for i, m in enumerate(out) if m["msg"] in ("added", "ready"))

        out = await conn.call("2", "login", login_params("bob"))  # re-login as someone else
        assert one_result_one_updated(out, "2")["result"]["id"] == "u-bob"
        data = [m for m in out if m["msg"] in ("added", "changed", "removed")]
        assert {(m["msg"], m["collection"], m["id"]) for m in data} == {
            ("changed", "things", "shared"), ("removed", "things", "mine-u-alice"),
            ("added", "things", "mine-u-bob"), ("removed", "users", "u-alice"), ("added", "users", "u-bob")}

        out = await conn.call("3", "logout")
        assert one_result_one_updated(out, "3") == {"msg": "result", "id": "3"}
        data = [m for m in out if m["msg"] in ("added", "changed", "removed")]
        assert sorted(data, key=str) == sorted([
            {"msg": "changed", "collection": "things", "id": "shared", "fields": {"owner": "nobody"}},
            {"msg": "removed", "collection": "things", "id": "mine-u-bob"},
            {"msg": "removed", "collection": "users", "id": "u-bob"},
        ], key=str)
        assert conn.session.user_id is None

    run(main())


def test_resume_login_on_the_same_user_sends_no_data_but_ready_again() -> None:
    async def main() -> None:
        conn = Conn(await make_app(fixtures=True))
        await conn.connect()
        await conn.send({"msg": "sub", "id": "d", "name": "t.docs"})
        token = one_result_one_updated(await conn.call("1", "login", login_params("carol")), "1")["result"]["token"]
        out = await conn.call("2", "login", {"resume": token})
        assert one_result_one_updated(out, "2")["result"]["type"] == "resume"
        assert [m for m in out if m["msg"] in ("added", "changed", "removed")] == []
        assert {"msg": "ready", "subs": ["d"]} in out

    run(main())


def test_failed_login_changes_nothing_on_the_connection() -> None:
    async def main() -> None:
        conn = Conn(await make_app(fixtures=True))
        await conn.connect()
        await conn.send({"msg": "sub", "id": "d", "name": "t.docs"})
        bad = login_params("alice")
        bad["password"]["digest"] = "0" * 64
        out = await conn.call("1", "login", bad)
        assert one_result_one_updated(out, "1")["error"]["error"] == 403
        assert len(out) == 2 and conn.session.user_id is None

    run(main())


# --------------------------------------------------------------------------- login rate limit (§8.1)


class Clock:
    """The App's wall clock, moved by the test."""

    def __init__(self) -> None:
        self.now = datetime(2024, 6, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_sixth_login_in_ten_seconds_is_too_many_requests_then_the_window_resets() -> None:
    async def main() -> None:
        clock = Clock()
        conn = Conn(await make_app(fixtures=True, clock=clock))
        await conn.connect()
        wrong = login_params("alice", "not-her-password")
        for i in range(5):
            out = await conn.call(str(i), "login", wrong)
            assert one_result_one_updated(out, str(i))["error"]["error"] == 403
            clock.now += timedelta(seconds=1)
        out = await conn.call("6", "login", login_params("alice"))  # even the right password
        error = one_result_one_updated(out, "6")["error"]
        assert kinds(out) == ["updated", "result"]
        assert error["error"] == "too-many-requests"
        assert error["details"] == {"timeToReset": 5000}
        assert error["reason"] == ("Error, too many requests. Please slow down. "
                                   "You must wait 5 seconds before trying again.")
        assert conn.session.user_id is None
        clock.now += timedelta(seconds=5)  # the fixed window started at the first call
        out = await conn.call("7", "login", login_params("alice"))
        assert one_result_one_updated(out, "7")["result"]["id"] == "u-alice"

    run(main())


def test_the_login_limit_is_per_connection_and_per_server() -> None:
    async def main() -> None:
        app = await make_app(fixtures=True)
        first = Conn(app)
        await first.connect()
        for i in range(6):
            out = await first.call(str(i), "login", {"resume": "unknown"})
        assert one_result_one_updated(out, "5")["error"]["error"] == "too-many-requests"
        other = Conn(app)
        await other.connect()
        out = await other.call("1", "login", login_params("bob"))
        assert one_result_one_updated(out, "1")["result"]["id"] == "u-bob"
        # a second server in the same process, whose connection has the same id, keeps its own count
        twin = Conn(await make_app(fixtures=True))
        twin.session = Session(twin.app, ConnectionInfo(id=first.session.connection.id), now=0.0)
        await twin.connect()
        out = await twin.call("1", "login", login_params("bob"))
        assert one_result_one_updated(out, "1")["result"]["id"] == "u-bob"

    run(main())
