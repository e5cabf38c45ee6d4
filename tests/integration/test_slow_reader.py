"""A client that stops reading cannot pin server memory: past the outbound bound it is closed
with 1008, and the other connections keep working."""

from __future__ import annotations

import asyncio
import hashlib

import httpx
import orjson
import pytest
import websockets

from ddp_e2e.client.ddp import DDPClient
from tests.conftest import RunningServer, server_fixture

BOUND = 256 * 1024


server = server_fixture("--max-outbound-buffer", str(BOUND))


def _sessions(server: RunningServer) -> int:
    """Live DDP sessions, as the server's own metrics report them."""
    text = httpx.get(f"{server.http_url}/metrics", timeout=5).text
    return int(next(line.split()[1] for line in text.splitlines() if line.startswith("ddp_e2e_sessions ")))


async def _stalled_subscriber(url: str) -> websockets.ClientConnection:
    """Logs in as bob, subscribes to GENERAL's messages, then stops reading (max_queue=1)."""
    ws = await websockets.connect(url, max_queue=1, compression=None, max_size=None)
    digest = hashlib.sha256(b"bob-pass").hexdigest()
    for msg in (
        {"msg": "connect", "version": "1", "support": ["1"]},
        {"msg": "method", "id": "1", "method": "login",
         "params": [{"user": {"username": "bob"}, "password": {"digest": digest, "algorithm": "sha-256"}}]},
        {"msg": "sub", "id": "s1", "name": "stream-room-messages",
         "params": ["GENERAL", {"useCollection": False, "args": []}]},
    ):
        await ws.send(orjson.dumps(msg).decode())
    while True:  # read until the subscription is ready, then never read again until the end
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame.get("msg") == "ready":
            return ws


def test_a_stalled_reader_is_closed_with_1008_and_others_keep_working(server: RunningServer) -> None:
    async def main() -> None:
        stalled = await _stalled_subscriber(server.ws_url)
        big = "A" * 200_000  # opaque e2e content: the server relays it to every subscriber unchanged
        async with DDPClient(server.ws_url) as sender, DDPClient(server.ws_url) as watcher:
            await sender.login_password("admin", "admin-pass")  # admin may send many messages
            await watcher.login_password("carol", "carol-pass")
            await watcher.stream("room-messages", "GENERAL")
            assert _sessions(server) == 3
            sent = 0
            # Keep sending until the server has given up on the stalled reader; each message
            # is ~200 KB for the stalled socket, so kernel buffers fill after a few dozen.
            for i in range(400):
                await sender.call("sendMessage", {"_id": f"big{i:04d}", "rid": "GENERAL", "t": "e2e",
                                                  "e2e": "pending", "msg": "",
                                                  "content": {"algorithm": "rc.v1.aes-sha2", "ciphertext": big}})
                sent += 1
                args = await watcher.next_stream_event("room-messages", "GENERAL")
                assert args[0]["content"]["ciphertext"] == big  # the watcher keeps up, unchanged
                if _sessions(server) < 3:  # the server dropped the stalled session
                    break
            # Drain what the stalled socket has buffered: it must end with the server's 1008.
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(stalled.recv(), 20)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008, closed.value
            assert sent < 400, "the server never closed the stalled reader"
            # The server is healthy: the sender and the watcher still work.
            assert await sender.call("ddp-e2e.echo", "still here") == "still here"

    asyncio.run(main())
