"""Helpers shared by the message, push, OTR and invariant tests (this module holds no tests).

Everything goes through the real server with the real clients: DDPClient over a socket and
httpx for REST. Tests make their own users and rooms, so they stay independent of each other on
the module's server. Encrypted bodies are real ciphertext from ``ddp_e2e.client.crypto``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from ddp_e2e.client import crypto
from ddp_e2e.client.ddp import DDPClient
from tests.integration.test_rooms_support import (
    User,
    call_error,
    client,
    demo,
    method_call,
    new_user,
    rest,
    rest_headers,
    room_of,
    server_fixture,
    subscription_of,
    unique,
    wait_event,
)

__all__ = [
    "User", "call_error", "client", "connected", "demo", "e2e_legacy", "e2e_v1", "e2e_v2", "group", "history",
    "method_call", "new_user", "rest", "rest_headers", "room_of", "server_fixture", "snapshot", "subscription_of", "unique",
    "wait_event",
]


@asynccontextmanager
async def connected(server: Any, *users: User) -> AsyncIterator[list[DDPClient]]:
    """Logged-in DDP clients for ``users``, closed on exit."""
    clients: list[DDPClient] = []
    try:
        for u in users:
            clients.append(await client(server, u))
        yield clients
    finally:
        for c in clients:
            await c.close()


async def group(c: DDPClient, members: list[User], *, encrypted: bool = False) -> str:
    """A fresh private group owned by ``c``'s user, with ``members``; returns its id."""
    extra = {"encrypted": True} if encrypted else None
    res = await c.call("createPrivateGroup", unique("g"), [m.username for m in members], False, None, extra)
    assert res["t"] == "p" and bool(res.get("encrypted")) is encrypted
    return res["rid"]


async def history(c: DDPClient, rid: str, limit: int = 100) -> list[dict[str, Any]]:
    res = await c.call("loadHistory", rid, None, limit)
    assert res is not False, f"no access to {rid}"
    return res["messages"]


async def snapshot(c: DDPClient, rid: str) -> dict[str, Any]:
    """What a member can read of a room: its messages, the room and the own subscription."""
    return {
        "history": await history(c, rid),
        "room": await room_of(c, rid),
        "subscription": await subscription_of(c, rid),
    }


def e2e_v2(key: crypto.RoomKey, kid: str, text: str, **extra: Any) -> dict[str, Any]:
    """A 7.13+ encrypted message: ``content`` v2, empty ``msg``."""
    content = crypto.encrypt_message_content(key, kid, {"msg": text}, version=2)
    return {"t": "e2e", "e2e": "pending", "msg": "", "content": content, **extra}


def e2e_v1(key: crypto.RoomKey, kid: str, text: str, **extra: Any) -> dict[str, Any]:
    """A 6.10-7.12 encrypted message: ``content`` v1, empty ``msg``."""
    content = crypto.encrypt_message_content(key, kid, {"msg": text}, version=1)
    return {"t": "e2e", "e2e": "pending", "msg": "", "content": content, **extra}


def e2e_legacy(key: crypto.RoomKey, kid: str, text: str, *, mid: str, uid: str, **extra: Any) -> dict[str, Any]:
    """A pre-6.10 encrypted message: the ciphertext is the ``msg`` string itself."""
    from datetime import UTC, datetime

    msg = crypto.encrypt_legacy_msg(key, kid, message_id=mid, text=text, user_id=uid, ts=datetime.now(UTC))
    return {"_id": mid, "t": "e2e", "e2e": "pending", "msg": msg, **extra}


def body(res: httpx.Response) -> dict[str, Any]:
    out = json.loads(res.text)
    assert isinstance(out, dict)
    return out
