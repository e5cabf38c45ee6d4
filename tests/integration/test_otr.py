"""OTR relay: ``stream-notify-user`` ``<peer>/otr`` between the two members of a direct room only.

A refused write returns normally and is dropped. To prove a drop without waiting for a timeout,
each refused write is followed by a valid one from the same pair: the peer's next ``otr`` event
must be that valid one (events on one socket arrive in order).
"""

from __future__ import annotations

import asyncio
import json

from ddp_e2e.client.ddp import DDPClient
from ddp_e2e.ddp.errors import MeteorError
from tests.integration.test_messages_support import (
    connected,
    group,
    history,
    new_user,
    room_of,
    server_fixture,
)

server = server_fixture()

KEY = json.dumps({"kty": "EC", "crv": "P-256", "x": "abc", "y": "def", "ext": True})


async def write(c: DDPClient, peer: str, *args) -> None:
    """A stream write always answers an empty result, relayed or not."""
    reply = await c.call_full("stream-notify-user", f"{peer}/otr", *args)
    assert "error" not in reply and "result" not in reply


async def next_otr(c: DDPClient, uid: str) -> list:
    return await c.next_stream_event("notify-user", f"{uid}/otr")


def test_handshake_acknowledge_end_between_dm_members(server):
    async def main():
        alice, bob = await new_user(server, "al"), await new_user(server, "bo")
        async with connected(server, alice, bob) as (a, b):
            dm = (await a.call("createDirectMessage", bob.username))["rid"]
            await a.stream("notify-user", f"{alice.id}/otr")
            await b.stream("notify-user", f"{bob.id}/otr")
            before = await room_of(a, dm)

            await write(a, bob.id, "handshake", {"roomId": dm, "userId": alice.id, "publicKey": KEY, "refresh": False})
            assert await next_otr(b, bob.id) == [
                "handshake", {"roomId": dm, "userId": alice.id, "publicKey": KEY, "refresh": False}]
            await write(b, alice.id, "acknowledge", {"roomId": dm, "userId": bob.id, "publicKey": KEY})
            assert await next_otr(a, alice.id) == ["acknowledge", {"roomId": dm, "userId": bob.id, "publicKey": KEY}]
            await write(a, bob.id, "end", {"roomId": dm, "userId": alice.id})
            assert await next_otr(b, bob.id) == ["end", {"roomId": dm, "userId": alice.id}]
            await write(b, alice.id, "deny", {"roomId": dm, "userId": bob.id})
            assert await next_otr(a, alice.id) == ["deny", {"roomId": dm, "userId": bob.id}]

            # nothing is stored: no message, no room change
            assert await history(a, dm) == []
            assert await room_of(a, dm) == before

    asyncio.run(main())


def test_refused_writes_are_dropped(server):
    async def main():
        alice, bob, carol = [await new_user(server, n) for n in ("al", "bo", "ca")]
        async with connected(server, alice, bob, carol) as (a, b, c):
            dm = (await a.call("createDirectMessage", bob.username))["rid"]
            carol_dm = (await c.call("createDirectMessage", bob.username))["rid"]
            group_dm = (await a.call("createDirectMessage", bob.username, carol.username))["rid"]
            private = await group(a, [bob])
            await b.stream("notify-user", f"{bob.id}/otr")
            await a.stream("notify-user", f"{alice.id}/otr")
            ok = {"roomId": dm, "userId": alice.id, "publicKey": KEY}

            refused = [
                (c, bob.id, ["handshake", {**ok, "userId": carol.id}]),       # carol is not in alice's DM
                (c, bob.id, ["handshake", ok]),                                # and cannot speak as alice
                (a, bob.id, ["handshake", {**ok, "userId": bob.id}]),          # spoofed sender
                (a, bob.id, ["handshake", {**ok, "roomId": private}]),         # not a direct room
                (a, bob.id, ["handshake", {**ok, "roomId": group_dm}]),        # a multi-user DM
                (a, bob.id, ["handshake", {**ok, "roomId": carol_dm}]),        # a DM alice is not in
                (a, bob.id, ["handshake", {**ok, "roomId": "no-such-room"}]),
                (a, bob.id, ["handshake", {"roomId": dm, "userId": alice.id}]),  # no key
                (a, bob.id, ["end", ok]),                                      # a key where none belongs
                (a, bob.id, ["handshake", {**ok, "extra": "field"}]),
                (a, bob.id, ["handshake", {**ok, "publicKey": "k" * 9000}]),
                (a, bob.id, ["hello", ok]),
                (a, bob.id, ["handshake"]),
                (a, bob.id, ["handshake", ok, "third"]),
                (a, bob.id, ["handshake", "not an object"]),
                (a, bob.id, ["handshake", {**ok, "roomId": {"$ne": None}}]),
                (a, bob.id, ["handshake", {**ok, "userId": {"$regex": ".*"}}]),
                (a, alice.id, ["handshake", ok]),                              # to oneself
            ]
            for i, (writer, peer, args) in enumerate(refused):
                await write(writer, peer, *args)
                sentinel = {"roomId": dm, "userId": alice.id, "publicKey": f"sentinel-{i}"}
                await write(a, bob.id, "handshake", sentinel)
                assert await next_otr(b, bob.id) == ["handshake", sentinel], args
            assert await history(b, dm) == []

            try:
                await b.stream("notify-user", f"{alice.id}/otr")
            except MeteorError as exc:
                assert exc.error == "not-allowed"
            else:
                raise AssertionError("bob may not listen to alice's otr events")

    asyncio.run(main())


def test_anonymous_write_is_dropped(server):
    async def main():
        alice, bob = await new_user(server, "al"), await new_user(server, "bo")
        async with connected(server, alice, bob) as (a, b):
            dm = (await a.call("createDirectMessage", bob.username))["rid"]
            await b.stream("notify-user", f"{bob.id}/otr")
            anon = DDPClient(server.ws_url)
            await anon.connect()
            try:
                await write(anon, bob.id, "handshake", {"roomId": dm, "userId": alice.id, "publicKey": KEY})
            finally:
                await anon.close()
            sentinel = {"roomId": dm, "userId": alice.id, "publicKey": "after-anon"}
            await write(a, bob.id, "handshake", sentinel)
            assert await next_otr(b, bob.id) == ["handshake", sentinel]

    asyncio.run(main())
