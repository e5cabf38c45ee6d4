"""Operator objects where a room id (or any string) belongs, on every room method and route.

Each must be refused with ``400 Match failed`` (DDP, also through ``method.call``) or 400
``invalid-params`` (REST) before any query runs, and must leave the stored data unchanged. The
DDP side is checked twice: in-process against a full dump of every collection, and on the wire
against what the affected users can read back.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from ddp_e2e.app import build_app
from ddp_e2e.config import Settings
from ddp_e2e.ddp.errors import MatchError
from ddp_e2e.dispatch import MethodContext, call_method
from ddp_e2e.store import open_store
from ddp_e2e.store.fixtures import load_fixtures
from tests.conftest import FIXTURES
from tests.integration.test_rooms_support import client, demo, rest, rest_headers, server_fixture

server = server_fixture()

OPS: list[Any] = [{"$ne": None}, {"$regex": ".*"}]


def ddp_calls(op: Any) -> list[tuple[str, list[Any]]]:
    """Every room method, with ``op`` in each position a room id or another string belongs."""
    return [
        ("leaveRoom", [op]),
        ("getRoomRoles", [op]),
        ("saveRoomSettings", [op, "encrypted", True]),
        ("saveRoomSettings", [op, {"encrypted": False}]),
        ("saveRoomSettings", ["r-secret", op, False]),
        ("saveRoomSettings", ["r-secret", {"encrypted": op}]),
        ("addUsersToRoom", [{"rid": op, "users": ["dave"]}]),
        ("addUsersToRoom", [{"rid": "r-secret", "users": [op]}]),
        ("removeUserFromRoom", [{"rid": op, "username": "bob"}]),
        ("removeUserFromRoom", [{"rid": "r-secret", "username": op}]),
        ("createDirectMessage", [op]),
        ("createDirectMessage", ["bob", op]),
        ("createPrivateGroup", [op, []]),
        ("createPrivateGroup", ["inj-p", [op]]),
        ("createPrivateGroup", ["inj-p", [], False, {}, {"encrypted": op}]),
        ("createChannel", [op, []]),
        ("createChannel", ["inj-c", [op]]),
        ("rooms/get", [op]),
        ("subscriptions/get", [op]),
    ]


def rest_calls(op: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """Every room route, with ``op`` where a room id, name or username belongs."""
    return [
        ("POST", "groups.setEncrypted", {"json": {"roomId": op, "encrypted": False}}),
        ("POST", "groups.setEncrypted", {"json": {"roomName": op, "encrypted": False}}),
        ("POST", "rooms.saveRoomSettings", {"json": {"rid": op, "encrypted": False}}),
        ("POST", "rooms.saveRoomSettings", {"json": {"rid": "r-secret", **op}}),
        ("POST", "rooms.saveRoomSettings", {"json": {"rid": "r-secret", "encrypted": op}}),
        ("POST", "groups.invite", {"json": {"roomId": op, "username": "dave"}}),
        ("POST", "groups.invite", {"json": {"roomId": "r-secret", "usernames": [op]}}),
        ("POST", "groups.kick", {"json": {"roomId": op, "username": "bob"}}),
        ("POST", "groups.kick", {"json": {"roomId": "r-secret", "username": op}}),
        ("POST", "groups.leave", {"json": {"roomId": op}}),
        ("POST", "groups.create", {"json": {"name": op}}),
        ("POST", "groups.create", {"json": {"name": "inj-r", "members": [op]}}),
        ("POST", "channels.create", {"json": {"name": op}}),
        ("POST", "im.create", {"json": {"username": op}}),
        ("POST", "im.create", {"json": {"usernames": op}}),
        ("GET", "groups.roles", {"params": {f"roomId[{next(iter(op))}]": "x"}}),
        ("GET", "subscriptions.getOne", {"params": {f"roomId[{next(iter(op))}]": "x"}}),
        ("GET", "rooms.get", {"params": [("updatedSince[]", "x"), ("updatedSince[]", "y")]}),
        ("GET", "subscriptions.get", {"params": [("updatedSince[]", "x"), ("updatedSince[]", "y")]}),
    ]


async def _snapshot(app: Any) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for name in sorted(await app.store.db.list_collection_names()):
        out[name] = await app.store.collection(name).find({}).sort("_id", 1).to_list(None)
    return out


@pytest.mark.parametrize("op", OPS, ids=["ne", "regex"])
def test_every_method_refuses_operator_objects_in_process(op):
    async def main():
        store = await open_store("memory://")
        await load_fixtures(store, FIXTURES, bcrypt_rounds=4)
        app = build_app(Settings(), store)
        before = await _snapshot(app)
        for uid in ("u-alice", "u-admin"):
            for method, params in ddp_calls(op):
                with pytest.raises(MatchError):
                    await call_method(MethodContext(app, uid), method, params)
        assert await _snapshot(app) == before
        # the same check notices a real change (the snapshot is not blind)
        await call_method(MethodContext(app, "u-carol"), "leaveRoom", ["r-secret"])
        assert await _snapshot(app) != before
        await store.close()

    asyncio.run(main())


async def _visible_state(c: Any) -> Any:
    return await c.call("rooms/get"), await c.call("subscriptions/get")


@pytest.mark.parametrize("op", OPS, ids=["ne", "regex"])
def test_every_method_refuses_operator_objects_on_the_wire(server, op):
    async def main():
        users = [demo(n) for n in ("alice", "bob", "carol", "admin")]
        clients = [await client(server, u) for u in users]
        try:
            before = [await _visible_state(c) for c in clients]
            for c in clients[::3]:  # alice (owner of r-secret) and admin
                for method, params in ddp_calls(op):
                    msg = await c.call_full(method, *params)
                    assert msg["error"]["error"] == 400 and msg["error"]["reason"] == "Match failed", method
            assert [await _visible_state(c) for c in clients] == before
        finally:
            for c in clients:
                await c.close()

    asyncio.run(main())


@pytest.mark.parametrize("op", OPS, ids=["ne", "regex"])
def test_method_call_over_rest_refuses_operator_objects(server, op):
    h = rest_headers(server, demo("alice"))
    before = rest(server, "GET", "rooms.get", h).json()
    for method, params in ddp_calls(op):
        message = json.dumps({"msg": "method", "id": "1", "method": method, "params": params})
        res = rest(server, "POST", f"method.call/{method}", h, json={"message": message})
        assert res.status_code == 200, method
        answer = json.loads(res.json()["message"])
        assert answer["error"]["error"] == 400 and answer["error"]["reason"] == "Match failed", method
    assert rest(server, "GET", "rooms.get", h).json() == before


@pytest.mark.parametrize("op", OPS, ids=["ne", "regex"])
def test_every_route_refuses_operator_objects(server, op):
    headers = {n: rest_headers(server, demo(n)) for n in ("alice", "bob", "admin")}
    before = {n: (rest(server, "GET", "rooms.get", h).json(), rest(server, "GET", "subscriptions.get", h).json())
              for n, h in headers.items()}
    for h in (headers["alice"], headers["admin"]):
        for verb, route, kw in rest_calls(op):
            res = rest(server, verb, route, h, **kw)
            assert res.status_code == 400, (route, res.text)
            assert res.json()["errorType"] == "invalid-params" and res.json()["success"] is False, route
    after = {n: (rest(server, "GET", "rooms.get", h).json(), rest(server, "GET", "subscriptions.get", h).json())
             for n, h in headers.items()}
    assert after == before
