"""Creation with ``E2E_Enabled_Default_PrivateRooms`` and ``E2E_Enabled_Default_DirectRooms`` on:
new ``p`` and ``d`` rooms are encrypted unless the creator says otherwise; ``c`` never is."""

from __future__ import annotations

import asyncio

from tests.integration.test_rooms_support import (
    client,
    new_user,
    rest,
    rest_headers,
    room_of,
    server_fixture,
    subscription_of,
    unique,
)

server = server_fixture("E2E_Enabled_Default_PrivateRooms=true", "E2E_Enabled_Default_DirectRooms=true")


def test_new_private_and_direct_rooms_are_encrypted(server):
    async def main():
        u1, u2 = await new_user(server, "d1"), await new_user(server, "d2")
        a = await client(server, u1)
        try:
            group = await a.call("createPrivateGroup", unique("dp"), [u2.username])
            assert group["encrypted"] is True
            assert (await subscription_of(a, group["rid"]))["encrypted"] is True
            dm = await a.call("createDirectMessage", u2.username)
            assert (await room_of(a, dm["rid"]))["encrypted"] is True
            assert (await subscription_of(a, dm["rid"]))["encrypted"] is True
            channel = await a.call("createChannel", unique("dc"), [], False, {}, {"encrypted": True})
            assert "encrypted" not in channel
            opt_out = await a.call("createPrivateGroup", unique("dq"), [], False, {}, {"encrypted": False})
            assert opt_out["encrypted"] is False
            assert (await subscription_of(a, opt_out["rid"]))["encrypted"] is False
        finally:
            await a.close()

    asyncio.run(main())


def test_rest_creation_follows_the_same_defaults(server):
    user = new_user_sync(server)
    h = rest_headers(server, user)
    group = rest(server, "POST", "groups.create", h, json={"name": unique("rd")}).json()["group"]
    assert group["encrypted"] is True
    room = rest(server, "POST", "im.create", h, json={"username": "bob"}).json()["room"]
    rooms = rest(server, "GET", "rooms.get", h).json()["update"]
    assert next(r for r in rooms if r["_id"] == room["rid"])["encrypted"] is True
    assert "encrypted" not in next(r for r in rooms if r["_id"] == "GENERAL")


def new_user_sync(server):
    return asyncio.run(new_user(server, "rd"))
