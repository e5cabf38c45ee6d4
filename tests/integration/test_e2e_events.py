"""E2EE events: key requests after a join and on request, the member-to-member key request
relay, and resync by date after key changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.test_e2e_support import (
    client,
    e2e_group,
    listen_user,
    new_user,
    run,
    server_fixture,
    set_keys,
    wait_event,
    waiting,
    wrapped,
)

server = server_fixture()


def test_request_subscription_keys_and_joining_announce_key_requests(server: Any) -> None:
    async def main() -> None:
        owner, member, joiner = await new_user(server), await new_user(server), await new_user(server)
        co, cm, cj = await client(server, owner), await client(server, member), await client(server, joiner)
        try:
            rid = await e2e_group(co, [member])
            other = await e2e_group(co, [member])
            await co.call("e2e.setRoomKeyID", rid, "kid-r")
            await co.call("e2e.updateGroupKey", rid, owner.id, wrapped("kid-r", "o"))
            await co.stream("notify-room", f"{rid}/e2e.keyRequest")
            assert await cm.call("e2e.requestSubscriptionKeys") is True
            assert await co.next_stream_event("notify-room", f"{rid}/e2e.keyRequest") == ["kid-r"]
            await co.stream("notify-room", f"{other}/e2e.keyRequest")
            await set_keys(cj, "joiner")
            await listen_user(co, owner.id, "rooms-changed")
            assert await co.call("addUsersToRoom", {"rid": rid, "users": [joiner.username]}) is True
            assert await co.next_stream_event("notify-room", f"{rid}/e2e.keyRequest") == ["kid-r"]
            args = await wait_event(co, "notify-user", f"{owner.id}/rooms-changed",
                                    lambda a: a[1]["_id"] == rid and joiner.id in waiting(a[1]))
            assert waiting(args[1]) == [joiner.id], "the member without keys is not queued"
            # the room without a key id announced nothing: the next event on it is a later one
            await co.call("e2e.setRoomKeyID", other, "kid-other")
            await cm.call("e2e.requestSubscriptionKeys")
            assert await co.next_stream_event("notify-room", f"{other}/e2e.keyRequest") == ["kid-other"]
        finally:
            for c in (co, cm, cj):
                await c.close()

    run(main)


def test_member_key_request_is_relayed_to_the_other_members_only(server: Any) -> None:
    async def main() -> None:
        owner, member, outsider = await new_user(server), await new_user(server), await new_user(server)
        co, cm, cx = await client(server, owner), await client(server, member), await client(server, outsider)
        try:
            rid = await e2e_group(co, [member])
            await listen_user(co, owner.id, "e2ekeyRequest")
            await listen_user(cm, member.id, "e2ekeyRequest")
            assert await cx.call("stream-notify-room-users", f"{rid}/e2ekeyRequest", rid, "kid-evil") is None
            await cm.call("stream-notify-room-users", f"{rid}/e2ekeyRequest", rid, "kid-k")
            assert await co.next_stream_event("notify-user", f"{owner.id}/e2ekeyRequest") == [rid, "kid-k"], \
                "the outsider's write was dropped: the first event is the member's"
            await co.call("stream-notify-room-users", f"{rid}/e2ekeyRequest", rid, "kid-o")
            assert await cm.next_stream_event("notify-user", f"{member.id}/e2ekeyRequest") == [rid, "kid-o"]
            assert not [f for f in co.stream_events["stream-notify-user"]
                        if f.get("eventName") == f"{owner.id}/e2ekeyRequest"], "not echoed to the sender"
        finally:
            for c in (co, cm, cx):
                await c.close()

    run(main)


def test_a_client_resyncing_after_a_key_change_gets_it(server: Any) -> None:
    """Key writes bump ``_updatedAt``, so ``subscriptions/get`` and ``rooms/get`` since a date see them."""

    async def main() -> None:
        owner, member = await new_user(server), await new_user(server)
        co, cm = await client(server, owner), await client(server, member)
        try:
            await set_keys(cm, "resync")
            rid = await e2e_group(co, [member])
            since = datetime.now(UTC) - timedelta(milliseconds=1)
            await co.call("e2e.setRoomKeyID", rid, "kid-sync")
            await co.call("e2e.updateGroupKey", rid, member.id, wrapped("kid-sync", "m"))
            subs = await cm.call("subscriptions/get", since)
            mine = [s for s in subs["update"] if s["rid"] == rid]
            assert mine and mine[0]["E2ESuggestedKey"] == wrapped("kid-sync", "m")
            rooms = await cm.call("rooms/get", since)
            assert [r["e2eKeyId"] for r in rooms["update"] if r["_id"] == rid] == ["kid-sync"]
            later = datetime.now(UTC) + timedelta(seconds=1)
            assert [s for s in (await cm.call("subscriptions/get", later))["update"] if s["rid"] == rid] == []
        finally:
            await co.close()
            await cm.close()

    run(main)
