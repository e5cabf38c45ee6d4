"""Room creation over DDP and REST: private groups, channels, direct messages, their events."""

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


def test_create_private_group_shape_and_subscriptions(server):
    async def main():
        owner, member = await new_user(server, "own"), await new_user(server, "mem")
        a, b = await client(server, owner), await client(server, member)
        try:
            await listen_user(b, member.id)
            name = unique("grp")
            res = await a.call("createPrivateGroup", name, [member.username])
            rid = res["rid"]
            assert res["inserted"] is True and res["_id"] == rid
            assert res["t"] == "p" and res["name"] == name and res["fname"] == name
            assert res["u"] == {"_id": owner.id, "username": owner.username, "name": owner.username.title()}
            assert res["usersCount"] == 2 and res["msgs"] == 0 and res["ro"] is False
            assert "encrypted" not in res  # defaults are off on this server

            mine = await subscription_of(a, rid)
            assert mine["roles"] == ["owner"] and mine["open"] is True and mine["t"] == "p"
            assert mine["name"] == name and mine["u"]["_id"] == owner.id and "ls" in mine
            theirs = await subscription_of(b, rid)
            assert "roles" not in theirs and theirs["open"] is True and theirs["unread"] == 0

            sub_ev = await wait_event(b, "notify-user", f"{member.id}/subscriptions-changed",
                                      lambda args: args[1]["rid"] == rid)
            assert sub_ev[0] == "inserted" and sub_ev[1]["u"]["_id"] == member.id
            room_ev = await wait_event(b, "notify-user", f"{member.id}/rooms-changed",
                                       lambda args: args[1]["_id"] == rid)
            assert room_ev[0] == "inserted" and room_ev[1]["t"] == "p" and room_ev[1]["usersCount"] == 2
        finally:
            await a.close()
            await b.close()

    asyncio.run(main())


def test_create_channel_ignores_encrypted_and_skips_unknown_members(server):
    async def main():
        owner = await new_user(server, "chan")
        a = await client(server, owner)
        try:
            name = unique("chan")
            res = await a.call("createChannel", name, ["no-such-user"], True, {}, {"encrypted": True, "topic": "t1"})
            assert res["t"] == "c" and res["ro"] is True and res["topic"] == "t1"
            assert "encrypted" not in res and res["usersCount"] == 1
            assert (await room_of(a, res["rid"]))["t"] == "c"
        finally:
            await a.close()

    asyncio.run(main())


def test_extra_data_cannot_set_server_fields(server):
    async def main():
        owner = await new_user(server, "xd")
        a = await client(server, owner)
        try:
            res = await a.call("createPrivateGroup", unique("xd"), [], False, {},
                               {"encrypted": True, "_id": "forged", "u": {"_id": "u-admin"}, "e2eKeyId": "k"})
            assert res["_id"] != "forged" and res["u"]["_id"] == owner.id
            assert res["encrypted"] is True and "e2eKeyId" not in res
            assert (await subscription_of(a, res["rid"]))["encrypted"] is True
        finally:
            await a.close()

    asyncio.run(main())


def test_create_room_errors(server):
    async def main():
        user = await new_user(server, "cre")
        anon, a = await client(server), await client(server, user)
        try:
            e = await call_error(anon, "createPrivateGroup", unique("x"), [])
            assert e.error == "error-invalid-user"
            e = await call_error(a, "createPrivateGroup", "   ", [])
            assert e.error == "error-invalid-name" and e.reason == "Invalid name"
            e = await call_error(a, "createChannel", "bad name!", [])
            assert e.error == "error-invalid-room-name"
            e = await call_error(a, "createPrivateGroup", "general", [])
            assert e.error == "error-duplicate-channel-name" and e.reason == "A channel with name 'general' exists"
            for bad in ({"$ne": None}, ["a"], 5, None):
                e = await call_error(a, "createPrivateGroup", bad, [])
                assert (e.error, e.reason) == (400, "Match failed")
            e = await call_error(a, "createPrivateGroup", unique("x"), [{"$ne": None}])
            assert e.error == 400
            e = await call_error(a, "createPrivateGroup", unique("x"), [], "yes")
            assert e.error == 400
            e = await call_error(a, "createPrivateGroup", unique("x"), [], False, {}, {"encrypted": "yes"})
            assert e.error == 400
            assert [s["rid"] for s in await a.call("subscriptions/get")] == ["GENERAL"]
        finally:
            await anon.close()
            await a.close()

    asyncio.run(main())


def test_direct_message_two_users_rid_and_reuse(server):
    async def main():
        u1, u2 = await new_user(server, "dma"), await new_user(server, "dmb")
        a, b = await client(server, u1), await client(server, u2)
        try:
            await listen_user(b, u2.id)
            res = await a.call("createDirectMessage", u2.username)
            rid = "".join(sorted([u1.id, u2.id]))
            assert res == {"t": "d", "rid": rid, "usernames": sorted([u1.username, u2.username])}
            room = await room_of(a, rid)
            assert room["uids"] == sorted([u1.id, u2.id]) and room["usersCount"] == 2 and room["t"] == "d"
            mine, theirs = await subscription_of(a, rid), await subscription_of(b, rid)
            assert mine["name"] == u2.username and mine["open"] is True
            assert theirs["name"] == u1.username and theirs["fname"] == u1.username.title()
            assert theirs["open"] is False and "roles" not in theirs
            ev = await wait_event(b, "notify-user", f"{u2.id}/subscriptions-changed", lambda x: x[1]["rid"] == rid)
            assert ev[0] == "inserted"
            ev = await wait_event(b, "notify-user", f"{u2.id}/rooms-changed", lambda x: x[1]["_id"] == rid)
            assert ev[0] == "inserted"

            again = await b.call("createDirectMessage", u1.username)
            assert again["rid"] == rid
            assert (await subscription_of(b, rid))["open"] is True  # the caller's copy is reopened
            ev = await wait_event(b, "notify-user", f"{u2.id}/subscriptions-changed", lambda x: x[1]["rid"] == rid)
            assert ev[0] == "updated" and ev[1]["open"] is True
            assert len([s for s in await a.call("subscriptions/get") if s["rid"] == rid]) == 1
        finally:
            await a.close()
            await b.close()

    asyncio.run(main())


def test_direct_message_multi_user_and_self(server):
    async def main():
        u1, u2, u3 = [await new_user(server, "mdm") for _ in range(3)]
        a = await client(server, u1)
        try:
            res = await a.call("createDirectMessage", u2.username, u3.username)
            rid = res["rid"]
            assert len(rid) == 17 and res["t"] == "d"
            room = await room_of(a, rid)
            assert room["uids"] == sorted([u1.id, u2.id, u3.id]) and room["usersCount"] == 3
            sub = await subscription_of(a, rid)
            assert sorted(sub["name"].split(", ")) == sorted([u2.username, u3.username])
            assert (await a.call("createDirectMessage", u3.username, u2.username))["rid"] == rid

            me = await a.call("createDirectMessage", u1.username)
            assert me["usernames"] == [u1.username] and me["rid"] not in (rid, u1.id)
            assert (await a.call("createDirectMessage", u1.username))["rid"] == me["rid"]
            assert (await room_of(a, me["rid"]))["uids"] == [u1.id]
        finally:
            await a.close()

    asyncio.run(main())


def test_direct_message_errors(server):
    async def main():
        user = await new_user(server, "dme")
        anon, a = await client(server), await client(server, user)
        try:
            e = await call_error(anon, "createDirectMessage", "bob")
            assert e.error == "error-invalid-user"
            e = await call_error(a, "createDirectMessage", "nobody-" + unique("n"))
            assert (e.error, e.details) == ("error-invalid-user", {"method": "createDirectMessage"})
            e = await call_error(a, "createDirectMessage", {"$ne": None})
            assert e.error == 400
            e = await call_error(a, "createDirectMessage", "bob", None)
            assert e.error == 400
            e = await call_error(a, "createDirectMessage", "alice", "bob", "carol", "dave", "admin",
                                 *[(await new_user(server, "many")).username for _ in range(3)])
            assert e.error == "error-direct-message-max-user-exceeded"
            assert [s["rid"] for s in await a.call("subscriptions/get")] == ["GENERAL"]
        finally:
            await anon.close()
            await a.close()

    asyncio.run(main())


def test_rest_create_routes(server):
    owner = demo("carol")
    h = rest_headers(server, owner)
    name = unique("rg")
    res = rest(server, "POST", "groups.create", h, json={"name": name, "members": ["dave"], "readOnly": False})
    assert res.status_code == 200, res.text
    group = res.json()["group"]
    assert res.json()["success"] is True and group["t"] == "p" and group["name"] == name
    assert group["usersCount"] == 2 and group["ts"].endswith("Z")  # REST dates are ISO strings

    res = rest(server, "POST", "channels.create", h, json={"name": unique("rc")})
    assert res.status_code == 200 and res.json()["channel"]["t"] == "c"

    res = rest(server, "POST", "im.create", h, json={"username": "dave"})
    room = res.json()["room"]
    assert res.status_code == 200 and room == {"t": "d", "rid": "u-carolu-dave", "_id": "u-carolu-dave",
                                               "usernames": ["carol", "dave"]}
    res = rest(server, "POST", "im.create", h, json={"usernames": "dave, alice"})
    assert res.status_code == 200 and sorted(res.json()["room"]["usernames"]) == ["alice", "carol", "dave"]

    res = rest(server, "POST", "groups.create", h, json={"name": name})
    assert res.status_code == 400 and res.json()["errorType"] == "error-duplicate-channel-name"
    res = rest(server, "POST", "groups.create", h, json={"members": ["dave"]})
    assert res.status_code == 400 and res.json()["errorType"] == "invalid-params"
    res = rest(server, "POST", "im.create", h, json={"username": {"$ne": None}})
    assert res.status_code == 400 and res.json()["errorType"] == "invalid-params"
    res = rest(server, "POST", "im.create", h, json={"username": "a", "usernames": "b"})
    assert res.status_code == 400 and res.json()["errorType"] == "invalid-params"
    res = rest(server, "POST", "groups.create", None, json={"name": unique("x")})
    assert res.status_code == 401 and res.json()["status"] == "error"
    res = rest(server, "POST", "groups.create", {**h, "X-Auth-Token": "wrong"}, json={"name": unique("x")})
    assert res.status_code == 401
