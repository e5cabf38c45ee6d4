"""With ``E2E_Enable`` off, the creation defaults do nothing and encryption cannot be toggled."""

from __future__ import annotations

import asyncio

from tests.integration.test_rooms_support import (
    call_error,
    client,
    new_user,
    rest,
    rest_headers,
    room_of,
    server_fixture,
    unique,
)

server = server_fixture("E2E_Enable=false", "E2E_Enabled_Default_PrivateRooms=true",
                        "E2E_Enabled_Default_DirectRooms=true")


def test_defaults_ignored_and_toggle_refused(server):
    async def main():
        u1, u2 = await new_user(server, "x1"), await new_user(server, "x2")
        a = await client(server, u1)
        try:
            group = await a.call("createPrivateGroup", unique("xp"), [u2.username])
            assert "encrypted" not in group
            dm = await a.call("createDirectMessage", u2.username)
            assert "encrypted" not in await room_of(a, dm["rid"])
            for rid in (group["rid"], dm["rid"]):
                e = await call_error(a, "saveRoomSettings", rid, "encrypted", True)
                assert (e.error, e.reason) == ("error-action-not-allowed",
                                               "Only groups or direct channels can enable encryption")
                assert "encrypted" not in await room_of(a, rid)
        finally:
            await a.close()

    asyncio.run(main())


def test_rest_toggle_refused(server):
    user = asyncio.run(new_user(server, "xr"))
    h = rest_headers(server, user)
    name = unique("xr")
    gid = rest(server, "POST", "groups.create", h, json={"name": name}).json()["group"]["_id"]
    res = rest(server, "POST", "groups.setEncrypted", h, json={"roomId": gid, "encrypted": True})
    assert res.status_code == 400 and res.json()["errorType"] == "error-action-not-allowed"
    group = rest(server, "POST", "groups.setEncrypted", h, json={"roomId": gid, "encrypted": False})
    assert group.status_code == 400  # false differs from "absent" too, and the switch is off
