"""Helpers shared by the room tests (this module holds no tests itself).

Every helper talks to the real server through the real clients: DDPClient over a socket and
httpx for REST. Tests that change state make their own users with :func:`new_user`, so each
test stays independent of the others sharing the module's server.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from ddp_e2e.client.ddp import DDPClient
from ddp_e2e.ddp import ejson
from ddp_e2e.ddp.errors import MeteorError
from tests.conftest import server_fixture as serve_fixture

#: Demo fixture users: username -> user id.
DEMO = {"alice": "u-alice", "bob": "u-bob", "carol": "u-carol", "dave": "u-dave", "admin": "u-admin"}


@dataclass
class User:
    username: str
    password: str
    id: str


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def demo(username: str) -> User:
    return User(username, f"{username}-pass", DEMO[username])


async def client(server: Any, user: User | None = None) -> DDPClient:
    """A connected DDP client, logged in as ``user`` when given."""
    c = DDPClient(server.ws_url)
    await c.connect()
    if user is not None:
        await c.login_password(user.username, user.password)
    return c


async def new_user(server: Any, prefix: str = "u") -> User:
    """Register a fresh user through ``registerUser`` (as the web client's sign-up form does)."""
    name = unique(prefix)
    c = await client(server)
    try:
        uid = await c.call("registerUser", {"email": f"{name}@example.com", "pass": "pw-" + name,
                                            "name": name.title(), "username": name})
    finally:
        await c.close()
    return User(name, "pw-" + name, uid)


def rest_headers(server: Any, user: User) -> dict[str, str]:
    """``X-User-Id`` / ``X-Auth-Token`` from a REST login with the password digest."""
    digest = hashlib.sha256(user.password.encode()).hexdigest()
    res = httpx.post(f"{server.http_url}/api/v1/login", json={"user": user.username, "password": digest}, timeout=10)
    assert res.status_code == 200, res.text
    data = res.json()["data"]
    return {"X-User-Id": data["userId"], "X-Auth-Token": data["authToken"]}


def rest(server: Any, method: str, route: str, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
    return httpx.request(method, f"{server.http_url}/api/v1/{route}", headers=headers, timeout=10, **kw)


def method_call(server: Any, headers: dict[str, str], method: str, *params: Any) -> dict[str, Any]:
    """``POST /api/v1/method.call/<method>``: the decoded DDP result message."""
    msg = ejson.dumps({"msg": "method", "id": "1", "method": method, "params": list(params)})
    res = rest(server, "POST", f"method.call/{method}", headers, json={"message": msg})
    assert res.status_code == 200, res.text
    data = res.json()
    assert isinstance(data, dict), res.text
    return ejson.loads(data["message"])


async def call_error(c: DDPClient, method: str, *params: Any) -> MeteorError:
    """Call and return the MeteorError the server answered (fails the test on success)."""
    try:
        result = await c.call(method, *params)
    except MeteorError as e:
        return e
    raise AssertionError(f"{method} succeeded with {result!r}; an error was expected")


async def wait_event(c: DDPClient, stream: str, event: str, pred: Callable[[list[Any]], bool],
                     timeout: float = 5.0) -> list[Any]:
    """The next ``stream-<stream>`` event named ``event`` whose args satisfy ``pred``."""
    async def _loop() -> list[Any]:
        while True:
            args = await c.next_stream_event(stream, event, timeout=timeout)
            if pred(args):
                return args

    return await asyncio.wait_for(_loop(), timeout)


async def listen_user(c: DDPClient, uid: str, *events: str) -> None:
    """Subscribe to the user's own ``stream-notify-user`` events (default: subs and rooms)."""
    for event in events or ("subscriptions-changed", "rooms-changed"):
        await c.stream("notify-user", f"{uid}/{event}")


async def subscription_of(c: DDPClient, rid: str) -> dict[str, Any] | None:
    subs = await c.call("subscriptions/get")
    return next((s for s in subs if s["rid"] == rid), None)


async def room_of(c: DDPClient, rid: str) -> dict[str, Any] | None:
    rooms = await c.call("rooms/get")
    return next((r for r in rooms if r["_id"] == rid), None)


def server_fixture(*settings: str) -> Any:
    """A module-scoped ``server`` fixture: ``ddp-e2e serve`` with ``--setting`` NAME=VALUE items."""
    args: list[str] = []
    for item in settings:
        args += ["--setting", item]
    return serve_fixture(*args)
