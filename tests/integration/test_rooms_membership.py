"""Memberships: addUsersToRoom, removeUserFromRoom, leaveRoom, default rooms, and the REST
``groups.invite`` / ``groups.kick`` / ``groups.leave`` twins."""

from __future__ import annotations

import asyncio

from tests.integration.test_rooms_support import (
    call_error,
    client,
    demo,
    listen_user,
    new_user,
    rest,
    rest_headers,
    room_of,
    server_fixture,
    subscription_of,
    unique,
    wait_event,
)

server = server_fixture()


async def _group(c, *members):
    return (await c.call("createPrivateGroup", unique("m"), list(members)))["rid"]


def test_add_users_to_room_subscribes_announces_and_posts_au(server):
    async def main():
        owner, guest = await new_user(server, "ao"), await new_user(server, "ag")
        a, g = await client(server, owner), await client(server, guest)
        try:
            rid = await _group(a)
            await listen_user(g, guest.id)
            await g.stream("room-messages", "__my_messages__")
            await a.stream("room-messages", rid)
            assert await a.call("addUsersToRoom", {"rid": rid, "users": [f"@{guest.username}"]}) is True

            ev = await wait_event(g, "notify-user", f"{guest.id}/subscriptions-changed", lambda x: x[1]["rid"] == rid)
            assert ev[0] == "inserted" and ev[1]["alert"] is True and ev[1]["unread"] == 1
            msg = (await wait_event(a, "room-messages", rid, lambda x: x[0]["t"] == "au"))[0]
            assert msg["msg"] == guest.username and msg["u"] == {"_id": owner.id, "username": owner.username}
            assert msg["groupable"] is False and msg["rid"] == rid
            mine = await wait_event(g, "room-messages", "__my_messages__", lambda x: x[0]["t"] == "au")
            assert mine[0]["_id"] == msg["_id"]
            ev = await wait_event(g, "notify-user", f"{guest.id}/rooms-changed", lambda x: x[1]["_id"] == rid)
            assert ev[0] == "updated" and ev[1]["usersCount"] == 2 and ev[1]["lastMessage"]["_id"] == msg["_id"]

            assert (await subscription_of(g, rid))["open"] is True
            # adding a member again changes nothing
            assert await a.call("addUsersToRoom", {"rid": rid, "users": [guest.username]}) is True
            assert (await room_of(a, rid))["usersCount"] == 2
        finally:
            await a.close()
            await g.close()

    asyncio.run(main())


def test_add_users_errors_change_nothing(server):
    async def main():
        owner = await new_user(server, "aeo")
        member = await new_user(server, "aem")
        outsider = await new_user(server, "aex")
        a, m, x, anon = (await client(server, owner), await client(server, member),
                         await client(server, outsider), await client(server))
        try:
            rid = await _group(a, member.username)
            e = await call_error(anon, "addUsersToRoom", {"rid": rid, "users": [outsider.username]})
            assert e.error == "error-invalid-user"
            e = await call_error(m, "addUsersToRoom", {"rid": rid, "users": [outsider.username]})
            assert (e.error, e.reason) == ("error-not-allowed", "Not allowed")  # member, not owner/moderator
            e = await call_error(x, "addUsersToRoom", {"rid": rid, "users": [outsider.username]})
            assert e.error == "error-not-allowed"
            e = await call_error(a, "addUsersToRoom", {"rid": "no-such-room", "users": [outsider.username]})
            assert (e.error, e.reason) == ("error-invalid-room", "Invalid room")
            e = await call_error(a, "addUsersToRoom", {"rid": rid, "users": [outsider.username, "ghost-" + unique("g")]})
            assert e.error == "error-user-not-found"
            dm = (await a.call("createDirectMessage", member.username))["rid"]
            e = await call_error(a, "addUsersToRoom", {"rid": dm, "users": [outsider.username]})
            assert e.error == "error-cant-invite-for-direct-room"
            e = await call_error(a, "addUsersToRoom", {"rid": rid, "users": "x"})
            assert e.error == 400
            assert await subscription_of(x, rid) is None and await subscription_of(x, dm) is None
            assert (await room_of(a, rid))["usersCount"] == 2 and (await room_of(a, rid))["msgs"] == 0
        finally:
            for c in (a, m, x, anon):
                await c.close()

    asyncio.run(main())


def test_remove_user_from_room(server):
    async def main():
        owner, member, other = (await new_user(server, "ro"), await new_user(server, "rm"),
                                await new_user(server, "rx"))
        a, m, anon = await client(server, owner), await client(server, member), await client(server)
        try:
            rid = await _group(a, member.username, other.username)
            await listen_user(m, member.id)
            e = await call_error(anon, "removeUserFromRoom", {"rid": rid, "username": other.username})
            assert e.error == "error-invalid-user"
            e = await call_error(m, "removeUserFromRoom", {"rid": rid, "username": other.username})
            assert e.error == "error-not-allowed"
            e = await call_error(a, "removeUserFromRoom", {"rid": rid, "username": owner.username})
            assert e.error == "error-you-are-last-owner"
            e = await call_error(a, "removeUserFromRoom", {"rid": rid, "username": "dave"})
            assert e.error == "error-user-not-in-room"
            e = await call_error(a, "removeUserFromRoom", {"rid": "nope", "username": member.username})
            assert e.error == "error-not-allowed"
            assert (await room_of(a, rid))["usersCount"] == 3

            await a.stream("room-messages", rid)
            assert await a.call("removeUserFromRoom", {"rid": rid, "username": member.username}) is True
            ev = await wait_event(m, "notify-user", f"{member.id}/subscriptions-changed", lambda x: x[0] == "removed")
            assert ev[1]["rid"] == rid and ev[1]["u"]["_id"] == member.id
            msg = (await wait_event(a, "room-messages", rid, lambda x: x[0]["t"] == "ru"))[0]
            assert msg["msg"] == member.username and msg["u"]["_id"] == owner.id
            assert await subscription_of(m, rid) is None and await room_of(m, rid) is None
            assert (await room_of(a, rid))["usersCount"] == 2
            e = await call_error(m, "getRoomRoles", rid)
            assert e.error == "error-invalid-user"
        finally:
            for c in (a, m, anon):
                await c.close()

    asyncio.run(main())


def test_leave_room(server):
    async def main():
        owner, member = await new_user(server, "lo"), await new_user(server, "lm")
        a, m, anon = await client(server, owner), await client(server, member), await client(server)
        try:
            rid = await _group(a, member.username)
            dm = (await a.call("createDirectMessage", member.username))["rid"]
            e = await call_error(anon, "leaveRoom", rid)
            assert e.error == "error-invalid-user"
            e = await call_error(a, "leaveRoom", rid)
            assert e.error == "error-you-are-last-owner"
            e = await call_error(a, "leaveRoom", dm)
            assert e.error == "error-not-allowed"
            e = await call_error(a, "leaveRoom", "no-room")
            assert e.error == "error-invalid-room"
            e = await call_error(a, "leaveRoom", "r-secret")
            assert (e.error, e.reason) == ("error-user-not-in-room", "You are not in this room")
            e = await call_error(a, "leaveRoom", ["r-secret"])
            assert e.error == 400

            await listen_user(m, member.id)
            await a.stream("room-messages", rid)
            assert await m.call("leaveRoom", rid) is None
            ev = await wait_event(m, "notify-user", f"{member.id}/subscriptions-changed", lambda x: x[0] == "removed")
            assert ev[1]["rid"] == rid
            msg = (await wait_event(a, "room-messages", rid, lambda x: x[0]["t"] == "ul"))[0]
            assert msg["u"]["_id"] == member.id and msg["msg"] == member.username
            assert await subscription_of(m, rid) is None
            assert await subscription_of(m, dm) is not None
            e = await call_error(m, "leaveRoom", rid)
            assert e.error == "error-user-not-in-room"
        finally:
            for c in (a, m, anon):
                await c.close()

    asyncio.run(main())


def test_new_user_joins_default_rooms(server):
    async def main():
        watcher = await client(server, demo("dave"))
        try:
            await watcher.stream("room-messages", "GENERAL")
            user = await new_user(server, "def")
            msg = (await wait_event(watcher, "room-messages", "GENERAL",
                                    lambda x: x[0]["t"] == "uj" and x[0]["msg"] == user.username))[0]
            assert msg["u"] == {"_id": user.id, "username": user.username}
            c = await client(server, user)
            try:
                sub = await subscription_of(c, "GENERAL")
                assert sub["open"] is True and sub["t"] == "c" and "roles" not in sub
                assert [s["rid"] for s in await c.call("subscriptions/get")] == ["GENERAL"]
            finally:
                await c.close()
        finally:
            await watcher.close()

    asyncio.run(main())


def test_rest_invite_kick_leave(server):
    owner, member, extra = demo("alice"), demo("carol"), demo("dave")
    h_owner, h_member = rest_headers(server, owner), rest_headers(server, member)
    name = unique("rest")
    group = rest(server, "POST", "groups.create", h_owner, json={"name": name}).json()["group"]

    res = rest(server, "POST", "groups.invite", h_owner, json={"roomId": group["_id"], "usernames": ["carol", "dave"]})
    assert res.status_code == 200 and res.json()["group"]["usersCount"] == 3
    res = rest(server, "POST", "groups.invite", h_owner, json={"roomName": name, "userId": "u-missing"})
    assert res.status_code == 400 and res.json()["errorType"] == "error-invalid-user"
    res = rest(server, "POST", "groups.invite", h_owner, json={"roomName": "general", "username": "dave"})
    assert res.status_code == 400 and res.json()["errorType"] == "error-room-not-found"
    res = rest(server, "POST", "groups.invite", h_owner, json={"roomId": group["_id"], "usernames": ["ghost"]})
    assert res.status_code == 400 and res.json()["errorType"] == "error-empty-invite-list"
    res = rest(server, "POST", "groups.invite", h_member, json={"roomId": group["_id"], "username": "bob"})
    assert res.status_code == 400 and res.json()["errorType"] == "error-not-allowed"

    res = rest(server, "POST", "groups.kick", h_member, json={"roomId": group["_id"], "username": extra.username})
    assert res.status_code == 400 and res.json()["errorType"] == "error-not-allowed"
    res = rest(server, "POST", "groups.kick", h_owner, json={"roomId": group["_id"], "username": extra.username})
    assert res.status_code == 200 and res.json() == {"success": True}
    res = rest(server, "POST", "groups.leave", h_member, json={"roomName": name})
    assert res.status_code == 200
    res = rest(server, "POST", "groups.leave", h_member, json={"roomName": name})
    assert res.status_code == 400 and res.json()["errorType"] == "error-room-not-found"  # no longer visible
    res = rest(server, "POST", "groups.leave", h_owner, json={})
    assert res.status_code == 400 and res.json()["errorType"] == "error-room-param-not-provided"
    res = rest(server, "POST", "groups.kick", None, json={"roomId": group["_id"], "username": "carol"})
    assert res.status_code == 401
    roles = rest(server, "GET", "groups.roles", h_owner, params={"roomId": group["_id"]}).json()["roles"]
    assert [(r["u"]["username"], r["roles"]) for r in roles] == [("alice", ["owner"])]
    subs = rest(server, "GET", "subscriptions.get", h_owner).json()["update"]
    assert any(s["rid"] == group["_id"] for s in subs)
