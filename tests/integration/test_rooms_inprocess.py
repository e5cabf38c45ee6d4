"""Room services on a real App over the embedded store, driven through the real dispatcher.

These cover what the wire cannot reach yet: states only other features create (a moderator, a
room key and members' keys) and the ``after_join_room`` / ``after_leave_room`` hook contract
other features build on. Nothing is mocked: the App, store, dispatcher and hub are the server's.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ddp_e2e.app import build_app
from ddp_e2e.config import Settings
from ddp_e2e.ddp.errors import MeteorError
from ddp_e2e.dispatch import MethodContext, call_method
from ddp_e2e.store import open_store
from ddp_e2e.store.fixtures import load_fixtures
from tests.conftest import FIXTURES


async def _app(**settings: Any) -> Any:
    store = await open_store("memory://")
    await load_fixtures(store, FIXTURES, bcrypt_rounds=4)
    s = Settings()
    for k, v in settings.items():
        s.set(k, v)
    app = build_app(s, store)
    events: list[tuple[str, str, list[Any]]] = []
    app.hub.add_hook(lambda stream, event, args: events.append((stream, event, args)))
    app.test_events = events  # type: ignore[attr-defined]
    return app


async def call(app: Any, uid: str | None, method: str, *params: Any) -> Any:
    return await call_method(MethodContext(app, uid), method, list(params))


async def error(app: Any, uid: str | None, method: str, *params: Any) -> MeteorError:
    try:
        result = await call(app, uid, method, *params)
    except MeteorError as e:
        return e
    raise AssertionError(f"{method} returned {result!r}")


def test_moderator_may_edit_but_not_toggle_encryption():
    async def main():
        app = await _app()
        rid = (await call(app, "u-alice", "createPrivateGroup", "modroom", ["bob"]))["rid"]
        await app.store.subscriptions.update_one({"rid": rid, "u._id": "u-bob"}, {"$set": {"roles": ["moderator"]}})
        e = await error(app, "u-bob", "saveRoomSettings", rid, "encrypted", True)
        assert (e.error, e.reason) == ("error-action-not-allowed", "You do not have permission to toggle E2E encryption")
        assert e.details == {"method": "saveRoomSettings", "action": "Change_Room_Encrypted"}
        assert "encrypted" not in await app.store.rooms.find_one({"_id": rid})
        # a moderator may add members (add-user-to-joined-room) and remove them (remove-user)
        assert await call(app, "u-bob", "addUsersToRoom", {"rid": rid, "users": ["carol"]}) is True
        assert await call(app, "u-bob", "removeUserFromRoom", {"rid": rid, "username": "carol"}) is True
        await app.store.close()

    asyncio.run(main())


def test_disabling_keeps_room_key_and_member_keys():
    async def main():
        app = await _app()
        await app.store.rooms.update_one({"_id": "r-secret"}, {"$set": {"e2eKeyId": "abc123def456"}})
        await app.store.subscriptions.update_one({"_id": "s-r-secret-bob"}, {"$set": {
            "E2EKey": "abc123def456" + "K" * 344,
            "oldRoomKeys": [{"e2eKeyId": "old", "E2EKey": "oldK", "ts": app.now()}]}})
        before = await app.store.subscriptions.find_one({"_id": "s-r-secret-bob"})
        assert await call(app, "u-alice", "saveRoomSettings", "r-secret", "encrypted", False) == {
            "result": True, "rid": "r-secret"}
        room = await app.store.rooms.find_one({"_id": "r-secret"})
        assert room["encrypted"] is False and room["e2eKeyId"] == "abc123def456"
        after = await app.store.subscriptions.find_one({"_id": "s-r-secret-bob"})
        assert after["encrypted"] is False
        assert {k: after[k] for k in ("E2EKey", "oldRoomKeys")} == {k: before[k] for k in ("E2EKey", "oldRoomKeys")}
        msgs = await app.store.messages.find({"rid": "r-secret"}).to_list(None)
        assert [(m["t"], m["msg"], m["u"]["_id"]) for m in msgs] == [("room_e2e_disabled", "alice", "u-alice")]
        assert set(msgs[0]) == {"_id", "t", "rid", "ts", "msg", "u", "groupable", "_updatedAt"}
        assert room["lastMessage"]["_id"] == msgs[0]["_id"] and room["msgs"] == 1 and room["lm"] == msgs[0]["ts"]
        notified = {e[1] for e in app.test_events if e[0] == "notify-user"}
        assert {"u-alice/subscriptions-changed", "u-bob/subscriptions-changed", "u-carol/subscriptions-changed",
                "u-alice/rooms-changed", "u-bob/rooms-changed", "u-carol/rooms-changed"} <= notified
        assert not any(e[1].startswith("u-dave/") for e in app.test_events)
        await app.store.close()

    asyncio.run(main())


def test_join_and_leave_hooks_run_once_per_join():
    async def main():
        app = await _app()
        joins: list[tuple[str, str, bool]] = []
        leaves: list[tuple[str, str]] = []

        async def on_join(app_: Any, room: dict[str, Any], uid: str) -> None:
            sub = await app_.store.subscriptions.find_one({"rid": room["_id"], "u._id": uid})
            joins.append((room["_id"], uid, sub is not None))  # the membership exists already

        async def on_leave(app_: Any, room: dict[str, Any], uid: str) -> None:
            leaves.append((room["_id"], uid))

        async def broken(app_: Any, room: dict[str, Any], uid: str) -> None:
            raise RuntimeError("a failing hook must not undo the join")

        app.extensions.setdefault("after_join_room", []).extend([broken, on_join])
        app.extensions.setdefault("after_leave_room", []).append(on_leave)

        rid = (await call(app, "u-alice", "createPrivateGroup", "hooks", ["bob"]))["rid"]
        assert sorted(joins) == sorted([(rid, "u-alice", True), (rid, "u-bob", True)])
        joins.clear()
        await call(app, "u-alice", "addUsersToRoom", {"rid": rid, "users": ["carol", "carol"]})
        await call(app, "u-alice", "addUsersToRoom", {"rid": rid, "users": ["carol"]})
        assert joins == [(rid, "u-carol", True)]
        joins.clear()
        dm = (await call(app, "u-dave", "createDirectMessage", "carol"))["rid"]
        assert sorted(joins) == [(dm, "u-carol", True), (dm, "u-dave", True)]
        joins.clear()
        await call(app, "u-dave", "createDirectMessage", "carol")
        assert joins == []

        uid = await call(app, None, "registerUser", {"email": "h@example.com", "pass": "p", "name": "H", "username": "h"})
        assert joins == [("GENERAL", uid, True)]
        await call(app, "u-carol", "leaveRoom", rid)
        await call(app, "u-alice", "removeUserFromRoom", {"rid": rid, "username": "bob"})
        assert leaves == [(rid, "u-carol"), (rid, "u-bob")]
        room = await app.store.rooms.find_one({"_id": rid})
        assert room["usersCount"] == 1
        await app.store.close()

    asyncio.run(main())


def test_leaving_drops_the_user_from_the_e2e_queue():
    async def main():
        app = await _app()
        await app.store.rooms.update_one({"_id": "r-secret"}, {"$set": {"usersWaitingForE2EKeys": [
            {"userId": "u-carol", "ts": app.now()}]}})
        await call(app, "u-carol", "leaveRoom", "r-secret")
        room = await app.store.rooms.find_one({"_id": "r-secret"})
        assert "usersWaitingForE2EKeys" not in room and room["usersCount"] == 2
        trash = await app.store.collection("rocketchat__trash").find_one({"_id": "s-r-secret-carol"})
        assert trash["__collection__"] == "rocketchat_subscription" and trash["u"]["_id"] == "u-carol"
        await app.store.close()

    asyncio.run(main())
