"""Helpers shared by the E2EE tests, and the unit tests of the room-key-reset lock.

Everything goes through a real server with the real clients (DDPClient over a socket, httpx for
REST). Key texts are opaque to the server, so most tests use distinctive made-up strings (with
non-ASCII characters, to prove byte-for-byte storage); the flow and interop tests use real keys
from ``ddp_e2e.client.crypto``. Tests that must see the store itself (nothing changed, queue
limits) use the in-process server of ``tests/integration/inproc.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ddp_e2e.client.ddp import DDPClient
from ddp_e2e.config import Settings
from ddp_e2e.services.e2e_reset import ExpiringLocks
from tests.integration.inproc import DEMO, InProcServer, srv_fixture
from tests.integration.test_rooms_support import (
    User,
    call_error,
    client,
    demo,
    listen_user,
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
    "User", "call_error", "client", "demo", "e2e_group", "inproc_fixture", "key_texts", "listen_user",
    "method_call", "new_user", "on_server", "rc_settings", "rest", "rest_headers", "room_of", "run",
    "server_fixture", "set_keys", "subscription_of", "unique", "wait_event", "waiting", "wrapped",
]

T = TypeVar("T")


def run(main: Callable[[], Awaitable[T]]) -> T:
    """Run one async test body (pytest-asyncio is not used)."""
    return asyncio.run(main())  # type: ignore[arg-type]


def key_texts(tag: str) -> tuple[str, str]:
    """A distinctive public-key text and private-key text: opaque, non-ASCII, JSON-looking."""
    public = '{"alg":"RSA-OAEP-256","e":"AQAB","kty":"RSA","n":"pub-' + tag + '-ñ✓"}'
    private = '{"iv":"' + tag + '","ciphertext":"PRIVATE-' + tag + '-秘密","salt":"v2:' + tag + '","iterations":100000}'
    return public, private


def wrapped(key_id: str, tag: str) -> str:
    """A made-up E2EKey text: key id followed by 344 characters, like a real one."""
    body = (tag + "-") * (344 // (len(tag) + 1) + 1)
    return key_id + body[:344]


async def set_keys(c: DDPClient, tag: str) -> tuple[str, str]:
    """Upload a key pair for ``c``'s user with the current API; returns the two texts."""
    public, private = key_texts(tag)
    await c.call("e2e.setUserPublicAndPrivateKeys", {"public_key": public, "private_key": private})
    return public, private


async def e2e_group(owner: DDPClient, members: list[User], *, encrypted: bool = True) -> str:
    """A fresh private group owned by ``owner`` with ``members`` (encrypted by default)."""
    extra = {"encrypted": True} if encrypted else None
    res = await owner.call("createPrivateGroup", unique("e2e"), [m.username for m in members], False, None, extra)
    return res["rid"]


def waiting(room: dict[str, Any] | None) -> list[str]:
    """The ids in a room's ``usersWaitingForE2EKeys`` queue (none for a missing room)."""
    return [w["userId"] for w in (room or {}).get("usersWaitingForE2EKeys") or []]


def rc_settings(**rocketchat: Any) -> Settings:
    """Settings with the demo fixtures and the given Rocket.Chat settings (``E2E_Enable=False``...)."""
    settings = Settings(fixtures=str(DEMO), bcrypt_rounds=4)  # fast sign-ups; hashing is not under test
    for name, value in rocketchat.items():
        settings.set(name, value)
    return settings


def inproc_fixture(**rocketchat: Any) -> Any:
    """A module-scoped ``srv`` fixture: the in-process server with Rocket.Chat settings overridden."""
    return srv_fixture(rc_settings(**rocketchat))


def on_server(srv: InProcServer, fn: Callable[[], T]) -> T:
    """Run a plain function on the in-process server's loop thread (where its state lives)."""

    async def value() -> T:
        return fn()

    return srv.run(value)


# ------------------------------------------------------------------ the reset lock (no server)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_lock_refuses_a_second_holder_until_released() -> None:
    locks = ExpiringLocks(10.0, FakeClock())
    assert locks.try_acquire("r1")
    assert not locks.try_acquire("r1")
    assert locks.try_acquire("r2"), "locks are per room"
    locks.release("r1")
    assert locks.try_acquire("r1")


def test_lock_expires_after_ten_seconds_by_itself() -> None:
    clock = FakeClock()
    locks = ExpiringLocks(10.0, clock)
    assert locks.try_acquire("r1")
    clock.now += 9.999
    assert not locks.try_acquire("r1")
    clock.now += 0.001
    assert locks.try_acquire("r1"), "a holder that never finished blocks for 10 s at most"


def test_release_of_a_free_lock_is_harmless() -> None:
    locks = ExpiringLocks(10.0, FakeClock())
    locks.release("never-taken")
    assert not locks.held("never-taken")
