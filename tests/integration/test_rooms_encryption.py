"""``saveRoomSettings(rid, 'encrypted', bool)``, REST ``groups.setEncrypted`` and
``rooms.saveRoomSettings``: who may toggle, on which rooms, and what every member sees."""

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

ONLY_GROUPS = "Only groups or direct channels can enable encryption"


def test_owner_enables_then_disables_encryption(server):
    async def main():
        owner, member = await new_user(server, "eo"), await new_user(server, "em")
        a, m = await client(server, owner), await client(server, member)
        try:
            rid = (await a.call("createPrivateGroup", unique("enc"), [member.username]))["rid"]
            await listen_user(m, member.id)
            await m.stream("room-messages", rid)
            assert await a.call("saveRoomSettings", rid, "encrypted", True) == {"result": True, "rid": rid}

            ev = await wait_event(m, "notify-user", f"{member.id}/subscriptions-changed",
                                  lambda x: x[1]["rid"] == rid and x[1].get("encrypted") is True)
            assert ev[0] == "updated"
            msg = (await wait_event(m, "room-messages", rid, lambda x: x[0]["t"] == "room_e2e_enabled"))[0]
            assert msg["msg"] == owner.username and msg["u"] == {"_id": owner.id, "username": owner.username}
            assert msg["groupable"] is False and "ts" in msg and "_updatedAt" in msg
            ev = await wait_event(m, "notify-user", f"{member.id}/rooms-changed",
                                  lambda x: x[1]["_id"] == rid and x[1].get("encrypted") is True)
            assert ev[1]["lastMessage"]["t"] == "room_e2e_enabled" and ev[1]["msgs"] == 1
            for c in (a, m):
                assert (await subscription_of(c, rid))["encrypted"] is True
            assert (await room_of(m, rid))["encrypted"] is True

            # same value again: accepted, nothing posted
            assert (await a.call("saveRoomSettings", rid, {"encrypted": True}))["rid"] == rid
            assert (await room_of(a, rid))["msgs"] == 1

            assert (await a.call("saveRoomSettings", rid, {"encrypted": False}))["result"] is True
            msg = (await wait_event(m, "room-messages", rid, lambda x: x[0]["t"] == "room_e2e_disabled"))[0]
            assert msg["msg"] == owner.username
            room = await room_of(a, rid)
            assert room["encrypted"] is False and room["msgs"] == 2
            assert (await subscription_of(m, rid))["encrypted"] is False
        finally:
            await a.close()
            await m.close()

    asyncio.run(main())


def test_who_may_toggle(server):
    async def main():
        owner, member, outsider = (await new_user(server, "wo"), await new_user(server, "wm"),
                                   await new_user(server, "wx"))
        a, m, x, anon = (await client(server, owner), await client(server, member),
                         await client(server, outsider), await client(server))
        admin = await client(server, demo("admin"))
        try:
            rid = (await a.call("createPrivateGroup", unique("who"), [member.username]))["rid"]
            e = await call_error(m, "saveRoomSettings", rid, "encrypted", True)
            assert (e.error, e.reason) == ("error-action-not-allowed", "Editing room is not allowed")
            assert e.details == {"method": "saveRoomSettings", "action": "Editing_room"}
            e = await call_error(x, "saveRoomSettings", rid, "encrypted", True)
            assert e.error == "error-action-not-allowed"
            e = await call_error(anon, "saveRoomSettings", rid, "encrypted", True)
            assert e.error == "error-invalid-user"
            e = await call_error(a, "saveRoomSettings", "no-such-room", "encrypted", True)
            assert (e.error, e.reason) == ("error-invalid-room", "Invalid room")
            assert "encrypted" not in await room_of(a, rid)

            # admin (not a member) may toggle a private group
            assert (await admin.call("saveRoomSettings", rid, "encrypted", True))["result"] is True
            assert (await room_of(a, rid))["encrypted"] is True

            # a channel can never be encrypted, not even by an admin
            e = await call_error(admin, "saveRoomSettings", "GENERAL", "encrypted", True)
            assert (e.error, e.reason) == ("error-action-not-allowed", ONLY_GROUPS)
            assert e.details == {"method": "saveRoomSettings", "action": "Change_Room_Encrypted"}
            assert "encrypted" not in await room_of(admin, "GENERAL")

            # a direct room: any member, never an outsider
            dm = (await m.call("createDirectMessage", owner.username))["rid"]
            assert (await m.call("saveRoomSettings", dm, "encrypted", True))["rid"] == dm
            assert (await subscription_of(a, dm))["encrypted"] is True
            e = await call_error(x, "saveRoomSettings", dm, "encrypted", False)
            assert e.error == "error-action-not-allowed"
            e = await call_error(admin, "saveRoomSettings", dm, "encrypted", False)
            assert e.error == "error-action-not-allowed"
            assert (await room_of(a, dm))["encrypted"] is True
        finally:
            for c in (a, m, x, anon, admin):
                await c.close()

    asyncio.run(main())


def test_bad_settings_are_refused(server):
    async def main():
        owner = await new_user(server, "bs")
        a = await client(server, owner)
        try:
            rid = (await a.call("createPrivateGroup", unique("bs"), []))["rid"]
            e = await call_error(a, "saveRoomSettings", rid, "encrypted", "yes")
            assert (e.error, e.reason) == (400, "Match failed")
            e = await call_error(a, "saveRoomSettings", rid, "encrypted")
            assert e.error == 400
            e = await call_error(a, "saveRoomSettings", rid, {"encrypted": {"$ne": None}})
            assert e.error == 400
            e = await call_error(a, "saveRoomSettings", rid, "notASetting", True)
            assert (e.error, e.reason) == ("error-invalid-settings", "Invalid settings provided")
            e = await call_error(a, "saveRoomSettings", rid, {"encrypted": True, "roomTopic": "x"})
            assert e.error == "error-invalid-settings"
            e = await call_error(a, "saveRoomSettings", rid, 7, True)
            assert e.error == 400
            room = await room_of(a, rid)
            assert "encrypted" not in room and room["msgs"] == 0
        finally:
            await a.close()

    asyncio.run(main())


def test_rest_set_encrypted_and_save_room_settings(server):
    owner, member = demo("alice"), demo("bob")
    h_owner, h_member = rest_headers(server, owner), rest_headers(server, member)
    name = unique("rse")
    group = rest(server, "POST", "groups.create", h_owner, json={"name": name, "members": ["bob"]}).json()["group"]
    gid = group["_id"]

    res = rest(server, "POST", "groups.setEncrypted", h_owner, json={"roomName": name, "encrypted": True})
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["success"] is True and body["group"]["encrypted"] is True and body["group"]["_id"] == gid
    assert body["group"]["lastMessage"]["t"] == "room_e2e_enabled"

    res = rest(server, "POST", "groups.setEncrypted", h_member, json={"roomId": gid, "encrypted": False})
    assert res.status_code == 400
    assert res.json() == {"success": False, "error": "Editing room is not allowed [error-action-not-allowed]",
                          "errorType": "error-action-not-allowed",
                          "details": {"method": "saveRoomSettings", "action": "Editing_room"}}
    res = rest(server, "POST", "groups.setEncrypted", h_owner, json={"roomName": "general", "encrypted": True})
    assert res.status_code == 400 and res.json()["errorType"] == "error-room-not-found"
    res = rest(server, "POST", "groups.setEncrypted", h_owner, json={"encrypted": True})
    assert res.status_code == 400 and res.json()["errorType"] == "error-room-param-not-provided"
    res = rest(server, "POST", "groups.setEncrypted", h_owner, json={"roomId": gid})
    assert res.status_code == 400 and res.json()["errorType"] == "invalid-params"
    res = rest(server, "POST", "groups.setEncrypted", rest_headers(server, demo("dave")),
               json={"roomId": gid, "encrypted": False})
    assert res.status_code == 400 and res.json()["errorType"] == "error-room-not-found"  # not visible to dave

    res = rest(server, "POST", "rooms.saveRoomSettings", h_owner, json={"rid": gid, "encrypted": False})
    assert res.status_code == 200 and res.json() == {"rid": gid, "success": True}
    res = rest(server, "POST", "rooms.saveRoomSettings", h_owner, json={"rid": "GENERAL", "encrypted": True})
    assert res.status_code == 400 and res.json()["errorType"] == "error-action-not-allowed"
    res = rest(server, "POST", "rooms.saveRoomSettings", h_owner, json={"rid": gid, "encrypted": "no"})
    assert res.status_code == 400 and res.json()["errorType"] == "invalid-params"
    res = rest(server, "POST", "rooms.saveRoomSettings", None, json={"rid": gid, "encrypted": True})
    assert res.status_code == 401

    rooms = rest(server, "GET", "rooms.get", h_member).json()["update"]
    assert next(r for r in rooms if r["_id"] == gid)["encrypted"] is False
    assert rest(server, "GET", "subscriptions.getOne", h_member,
                params={"roomId": gid}).json()["subscription"]["encrypted"] is False
