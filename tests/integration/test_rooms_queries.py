"""``rooms/get``, ``subscriptions/get`` (list, and ``{update, remove}`` after a date),
``getRoomRoles`` and their REST twins."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.integration.test_rooms_support import (
    call_error,
    client,
    demo,
    new_user,
    rest,
    rest_headers,
    server_fixture,
    unique,
)

server = server_fixture()


def test_lists_for_demo_user(server):
    async def main():
        a = await client(server, demo("alice"))
        try:
            rooms = await a.call("rooms/get")
            assert sorted(r["_id"] for r in rooms) == ["GENERAL", "r-secret", "u-aliceu-bob"]
            secret = next(r for r in rooms if r["_id"] == "r-secret")
            assert secret["encrypted"] is True and secret["t"] == "p" and isinstance(secret["ts"], datetime)
            subs = await a.call("subscriptions/get")
            assert sorted(s["rid"] for s in subs) == ["GENERAL", "r-secret", "u-aliceu-bob"]
            assert all(s["u"]["_id"] == "u-alice" for s in subs)
        finally:
            await a.close()

    asyncio.run(main())


def test_anonymous_gets_empty_lists(server):
    async def main():
        anon = await client(server)
        try:
            assert await anon.call("rooms/get") == []
            assert await anon.call("subscriptions/get") == []
            assert await anon.call("subscriptions/get", datetime(2020, 1, 1, tzinfo=UTC)) == []
        finally:
            await anon.close()

    asyncio.run(main())


def test_updated_since_reports_updates_and_removals(server):
    async def main():
        owner, member = await new_user(server, "qo"), await new_user(server, "qm")
        a, m = await client(server, owner), await client(server, member)
        try:
            rid = (await a.call("createPrivateGroup", unique("q"), [member.username]))["rid"]
            # the server's own clock: the newest change either user has seen so far
            before_leave = max([s["_updatedAt"] for s in await m.call("subscriptions/get")]
                               + [r["_updatedAt"] for r in await a.call("rooms/get")])
            await m.call("leaveRoom", rid)
            delta = await m.call("subscriptions/get", before_leave)
            assert [r["_id"] for r in delta["update"]] == []
            assert len(delta["remove"]) == 1 and isinstance(delta["remove"][0]["_deletedAt"], datetime)
            assert set(delta["remove"][0]) == {"_id", "_deletedAt"}
            future = datetime.now(UTC) + timedelta(days=1)
            assert await m.call("subscriptions/get", future) == {"update": [], "remove": []}

            upd = await a.call("rooms/get", before_leave)
            assert [r["_id"] for r in upd["update"]] == [rid] and upd["remove"] == []
            assert (await a.call("rooms/get", future))["update"] == []
            assert (await a.call("subscriptions/get", datetime(2000, 1, 1, tzinfo=UTC)))["update"]

            for bad in ("2024-01-01", {"$gt": 0}, 5):
                e = await call_error(a, "rooms/get", bad)
                assert e.error == 400
                e = await call_error(a, "subscriptions/get", bad)
                assert e.error == 400
        finally:
            await a.close()
            await m.close()

    asyncio.run(main())


def test_get_room_roles(server):
    async def main():
        a, d, anon = await client(server, demo("alice")), await client(server, demo("dave")), await client(server)
        try:
            roles = await a.call("getRoomRoles", "r-secret")
            assert roles == [{"_id": "s-r-secret-alice", "rid": "r-secret",
                              "u": {"_id": "u-alice", "username": "alice", "name": "Alice"}, "roles": ["owner"]}]
            general = await d.call("getRoomRoles", "GENERAL")  # public: any logged-in user
            assert [r["u"]["username"] for r in general] == ["admin"]
            e = await call_error(d, "getRoomRoles", "r-secret")
            assert (e.error, e.reason) == ("error-invalid-user", "Invalid user")
            e = await call_error(a, "getRoomRoles", "missing-room")
            assert (e.error, e.reason) == ("error-invalid-room", "Invalid room")
            e = await call_error(anon, "getRoomRoles", "r-secret")
            assert e.error == "error-invalid-user"
            e = await call_error(a, "getRoomRoles", {"$regex": ".*"})
            assert e.error == 400
        finally:
            for c in (a, d, anon):
                await c.close()

    asyncio.run(main())


def test_rest_reads(server):
    h = rest_headers(server, demo("bob"))
    res = rest(server, "GET", "rooms.get", h)
    assert res.status_code == 200
    body = res.json()
    assert body["success"] is True and body["remove"] == []
    assert sorted(r["_id"] for r in body["update"]) == ["GENERAL", "r-secret", "u-aliceu-bob"]
    assert all(isinstance(r["_updatedAt"], str) for r in body["update"])

    res = rest(server, "GET", "rooms.get", h, params={"updatedSince": "2999-01-01T00:00:00.000Z"})
    assert res.status_code == 200 and res.json()["update"] == []
    res = rest(server, "GET", "rooms.get", h, params={"updatedSince": "yesterday"})
    assert res.status_code == 400 and res.json()["errorType"] == "error-updatedSince-param-invalid"
    res = rest(server, "GET", "subscriptions.get", h, params={"updatedSince": "nope"})
    assert res.status_code == 400 and res.json()["errorType"] == "error-roomId-param-invalid"
    res = rest(server, "GET", "subscriptions.get", h, params={"updatedSince": "2000-01-01T00:00:00Z"})
    assert res.status_code == 200 and len(res.json()["update"]) == 3
    res = rest(server, "GET", "subscriptions.get", h, params=[("updatedSince[]", "a"), ("updatedSince[]", "b")])
    assert res.status_code == 400 and res.json()["errorType"] == "invalid-params"

    res = rest(server, "GET", "subscriptions.getOne", h, params={"roomId": "r-secret"})
    assert res.status_code == 200 and res.json()["subscription"]["_id"] == "s-r-secret-bob"
    res = rest(server, "GET", "subscriptions.getOne", h, params={"roomId": "GENERAL-not"})
    assert res.status_code == 200 and res.json()["subscription"] is None
    res = rest(server, "GET", "subscriptions.getOne", h)
    assert res.status_code == 400 and res.json()["errorType"] == "invalid-params"
    res = rest(server, "GET", "groups.roles", h, params={"roomName": "secret"})
    assert res.status_code == 200 and [r["u"]["_id"] for r in res.json()["roles"]] == ["u-alice"]
    for route in ("rooms.get", "subscriptions.get", "subscriptions.getOne"):
        assert rest(server, "GET", route, None).status_code == 401
