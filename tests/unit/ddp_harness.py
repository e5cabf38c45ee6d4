"""Drive a real sans-I/O Session on a real App (memory store), with the clock in the test's hand.

Shared by the session unit tests and the session fuzz test. Nothing here replaces our code: the
App is built by ``build_app`` exactly as the server builds it; tests that need methods with a
particular behaviour (slow, failing, returning odd values) register them through the public
registry, the way Meteor's own ``livedata_test_service.js`` does.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from ddp_e2e.app import App, build_app
from ddp_e2e.config import Settings
from ddp_e2e.ddp.errors import MeteorError
from ddp_e2e.ddp.session import Session
from ddp_e2e.ddp.subscription import Subscription
from ddp_e2e.dispatch import JSON_NULL, ConnectionInfo, MethodContext
from ddp_e2e.store import load_fixtures, open_store

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"
CONNECT = {"msg": "connect", "version": "1", "support": ["1", "pre2", "pre1"]}
MATCH_FAILED = {"isClientSafe": True, "error": 400, "reason": "Match failed",
                "message": "Match failed [400]", "errorType": "Meteor.Error"}
INTERNAL = {"isClientSafe": True, "error": 500, "reason": "Internal server error",
            "message": "Internal server error [500]", "errorType": "Meteor.Error"}


def run(coro: Any) -> Any:
    """pytest-asyncio is not installed: each test runs its own event loop."""
    return asyncio.run(coro)


def login_params(username: str, password: str | None = None) -> dict[str, Any]:
    """The digest form Meteor's client sends (fixture passwords are ``<name>-pass``)."""
    digest = hashlib.sha256((password or f"{username}-pass").encode()).hexdigest()
    return {"user": {"username": username}, "password": {"digest": digest, "algorithm": "sha-256"}}


async def make_app(*, fixtures: bool = False, clock: Callable[[], datetime] | None = None, **overrides: Any) -> App:
    """A real App on a fresh memory store (demo fixtures hashed with cheap bcrypt rounds)."""
    store = await open_store("memory://")
    await store.ensure_indexes()
    if fixtures:
        await load_fixtures(store, DEMO, bcrypt_rounds=4)
    settings = Settings(bcrypt_rounds=4, **overrides)
    app = build_app(settings, store, **({"clock": clock} if clock is not None else {}))
    register_test_service(app)
    return app


def register_test_service(app: App) -> None:
    """Methods and publications with known behaviour, registered through the real registry."""
    r = app.registry
    gate = app.extensions.setdefault("test_gate", {"started": asyncio.Event(), "release": asyncio.Event()})

    @r.method("t.none")
    async def none(ctx: MethodContext) -> None:
        return None

    @r.method("t.null")
    async def null(ctx: MethodContext) -> Any:
        return JSON_NULL

    @r.method("t.whoami")
    async def whoami(ctx: MethodContext) -> Any:
        return ctx.user_id if ctx.user_id is not None else JSON_NULL

    @r.method("t.date")
    async def date(ctx: MethodContext) -> datetime:
        return datetime.fromtimestamp(1_700_000_000, tz=UTC)

    @r.method("t.meteor_error")
    async def meteor_error(ctx: MethodContext) -> None:
        raise MeteorError("error-test", "A test failure", {"method": "t.meteor_error"})

    @r.method("t.crash")
    async def crash(ctx: MethodContext) -> None:
        raise RuntimeError("internal detail that must not reach the client")

    @r.method("t.unencodable")
    async def unencodable(ctx: MethodContext) -> Any:
        return {"value": object()}

    @r.method("t.slow")
    async def slow(ctx: MethodContext) -> str:
        gate["started"].set()
        await gate["release"].wait()
        return "done"

    @r.publication("t.docs")
    async def docs(sub: Subscription) -> None:
        """``shared`` for everyone (its owner field follows the user), ``mine-<uid>`` when logged in."""
        sub.added("things", "shared", {"owner": sub.user_id or "nobody", "v": 1})
        if sub.user_id:
            sub.added("things", f"mine-{sub.user_id}", {"x": 1})

    @r.publication("t.denied")
    async def denied(sub: Subscription) -> None:
        raise MeteorError("not-allowed")

    @r.publication("t.crash")
    async def pub_crash(sub: Subscription) -> None:
        raise RuntimeError("publication internals")


async def connected(**settings: Any) -> Conn:
    """A Session on a fresh App, past ``connect`` (version 1)."""
    conn = Conn(await make_app(**settings))
    await conn.connect()
    return conn


class Conn:
    """One Session plus the clock value the test hands it."""

    def __init__(self, app: App, *, now: float = 0.0) -> None:
        self.app = app
        self.now = now
        self.session = Session(app, ConnectionInfo(id=app.random.id()), now=now)

    def feed(self, msg: dict[str, Any] | str | bytes, now: float | None = None) -> bool:
        """``receive`` only (no ordered processing): what the reader does before a drain."""
        if now is not None:
            self.now = now
        text = msg if isinstance(msg, str | bytes) else orjson.dumps(msg).decode()
        return self.session.receive(text, self.now)

    async def send(self, msg: dict[str, Any] | str | bytes, now: float | None = None) -> list[dict[str, Any]]:
        """Receive one frame, run the ordered queue, and return everything sent back."""
        self.feed(msg, now)
        await self.session.drain()
        return self.out()

    def out(self) -> list[dict[str, Any]]:
        return [orjson.loads(t) for t in self.session.take_output()]

    async def connect(self, version: str = "1", support: list[str] | None = None) -> str:
        out = await self.send({"msg": "connect", "version": version, "support": support or [version]})
        assert out[0]["msg"] == "connected", out
        return str(out[0]["session"])

    async def call(self, mid: str, method: str, *params: Any) -> list[dict[str, Any]]:
        return await self.send({"msg": "method", "id": mid, "method": method, "params": list(params)})


def kinds(out: list[dict[str, Any]]) -> list[str]:
    return [m.get("msg", "?") for m in out]


def method_replies(out: list[dict[str, Any]], mid: str) -> Iterator[dict[str, Any]]:
    for m in out:
        if (m.get("msg") == "result" and m.get("id") == mid) or (m.get("msg") == "updated" and mid in m["methods"]):
            yield m


def one_result_one_updated(out: list[dict[str, Any]], mid: str) -> dict[str, Any]:
    """Exactly one ``result`` and one ``updated`` naming ``mid``; returns the result."""
    replies = list(method_replies(out, mid))
    results = [m for m in replies if m["msg"] == "result"]
    updated = [m for m in replies if m["msg"] == "updated"]
    assert len(results) == 1 and len(updated) == 1, out
    assert updated[0]["methods"] == [mid]
    return results[0]
