"""NoSQL operator objects where strings belong, on every registered method and publication.

security-reliability-replay.md §2.1 (CVE-2021-22911, CVE-2026-30833, Meteor #896): a dict where a
string belongs must be refused by the declared shape with ``400 Match failed`` (or the entry's own
client-safe error), never a 500, never a different answer per operator (no oracle), and must leave
the store byte-identical. The lists are built from the registry of the full app, so methods and
publications added by later features are covered without editing this file. Logged out and
logged in, over the websocket and over REST ``method.call``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest

from ddp_e2e.app import App
from ddp_e2e.client.ddp import DDPClient
from tests.integration.inproc import InProcServer, srv_fixture
from tests.unit.test_dispatch import accepts, opaque_ok

OPERATORS: list[Any] = [
    {"$ne": None}, {"$regex": ".*"}, {"$gt": ""}, {"$where": "sleep(1000) || true"}, {"$in": ["GENERAL", "u-alice"]},
    {"$exists": True}, {"$regexp": "^a", "$flags": "i"},  # EJSON: decoded to a RegExp, must not match a String
]
#: Tried in order to fill the params before the one under attack (the first the pattern accepts).
SAMPLES: list[Any] = ["GENERAL", "x", True, 1, [], {}, None]
SECRETS = ("services", "bcrypt", "hashedToken", "loginTokens", "private_key")


def attacks(entries: dict[str, Any], prefix: str = "") -> list[tuple[str, int, list[Any]]]:
    """(name, index, params before it) for every string param that is not knowingly opaque."""
    out = []
    for name, spec in sorted(entries.items()):
        before: list[Any] = []
        repeats = 0
        for i, pattern in enumerate(spec.params.patterns):
            # a run of identical params (varargs such as createDirectMessage's usernames): two suffice
            repeats = repeats + 1 if i and pattern.schema() == spec.params.patterns[i - 1].schema() else 0
            if accepts(pattern, "x") and not opaque_ok(prefix + name, i) and repeats < 2:
                out.append((name, i, list(before)))
            sample = next((s for s in SAMPLES if accepts(pattern, s)), KeyError)
            if sample is KeyError:
                break  # nothing valid to put here: later params cannot be reached
            before.append(sample)
    return out


srv = srv_fixture()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_the_attack_lists_cover_the_registry(srv: InProcServer) -> None:
    app: App = srv.app
    methods = {name for name, _, _ in attacks(app.registry.methods)}
    pubs = {name for name, _, _ in attacks(app.registry.publications, "sub:")}
    assert {"getRoomRoles", "leaveRoom", "createChannel", "stream-notify-room"} & set(app.registry.methods) <= methods
    assert {p for p in app.registry.publications if p.startswith("stream-")} <= pubs
    string_first = {n for n, s in app.registry.methods.items()
                    if s.params.patterns and accepts(s.params.patterns[0], "x") and not opaque_ok(n, 0)}
    assert string_first <= methods


def check_answers(what: str, answers: list[dict[str, Any]]) -> None:
    """Every operator got the same client-safe refusal; ``Match failed`` unless the entry says otherwise."""
    texts = {orjson.dumps(a) for a in answers}
    assert len(texts) == 1, f"{what}: different answers per operator (an oracle): {answers}"
    err = answers[0]
    assert err["errorType"] == "Meteor.Error" and err["isClientSafe"] is True, (what, err)
    assert err["error"] != 500, f"{what}: 500 for an operator object"
    assert err["reason"] == "Match failed" or err["error"] not in (400,), (what, err)


@pytest.mark.parametrize("as_user", [None, "alice"])
def test_operator_objects_in_method_params(srv: InProcServer, as_user: str | None) -> None:
    app = srv.app
    plan = attacks(app.registry.methods)

    async def main() -> None:
        async with DDPClient(srv.ws_url) as c:
            if as_user:
                await c.login_password(as_user, f"{as_user}-pass")
            before = srv.dump()
            for name, index, prefix in plan:
                answers = []
                for op in OPERATORS:
                    msg = await c.call_full(name, *prefix, op, timeout=10)
                    assert "error" in msg, f"{name}{[*prefix, op]} succeeded"
                    answers.append(msg["error"])
                check_answers(f"{name} params[{index}]", answers)
            assert srv.dump() == before, "an operator object changed stored data"
            wire = "".join(c.raw_in)
            assert not [s for s in SECRETS if s in wire]

    run(main())
    assert srv.logs.tracebacks() == []


@pytest.mark.parametrize("as_user", [None, "bob"])
def test_operator_objects_in_sub_params(srv: InProcServer, as_user: str | None) -> None:
    plan = attacks(srv.app.registry.publications, "sub:")

    async def main() -> None:
        async with DDPClient(srv.ws_url) as c:
            if as_user:
                await c.login_password(as_user, f"{as_user}-pass")
            before = srv.dump()
            for n, (name, index, prefix) in enumerate(plan):
                answers = []
                for k, op in enumerate(OPERATORS):
                    sid = f"inj-{n}-{k}"
                    start = len(c.inbox)
                    await c.send({"msg": "sub", "id": sid, "name": name, "params": [*prefix, op]})
                    msg = await c.wait_for(lambda m, sid=sid: m.get("id") == sid and m.get("msg") in ("nosub", "ready"),
                                           start=start)
                    assert msg["msg"] == "nosub", f"{name}{[*prefix, op]} became ready"
                    answers.append(msg["error"])
                check_answers(f"sub {name} params[{index}]", answers)
            assert srv.dump() == before
            assert c.collections.get("users", {}) == ({} if as_user is None else {"u-bob": c.collections["users"]["u-bob"]})

    run(main())
    assert srv.logs.tracebacks() == []


@pytest.mark.parametrize("credentials", [
    {"user": {"username": "OP"}, "password": "alice-pass"},
    {"user": {"email": "OP"}, "password": "alice-pass"},
    {"user": {"id": "OP"}, "password": "alice-pass"},
    {"user": "OP", "password": "alice-pass"},
    {"user": {"username": "alice"}, "password": "OP"},
    {"user": {"username": "alice"}, "password": {"digest": "OP", "algorithm": "sha-256"}},
    {"resume": "OP"},
])
def test_operator_objects_in_login_params_are_match_failed(srv: InProcServer, credentials: dict[str, Any]) -> None:
    template = orjson.dumps(credentials).decode()

    async def main() -> None:
        async with DDPClient(srv.ws_url) as c:
            before = srv.dump()
            answers = []
            for op in OPERATORS:
                options = orjson.loads(template.replace('"OP"', orjson.dumps(op).decode()))
                msg = await c.call_full("login", options)
                answers.append(msg["error"])
                if len(answers) == 5:  # the per-connection login limit: go on on a fresh connection
                    break
            check_answers("login", answers)
            assert answers[0]["reason"] == "Match failed"
            assert srv.dump() == before and c.user_id is None
        async with DDPClient(srv.ws_url) as c:
            for op in OPERATORS[5:]:
                options = orjson.loads(template.replace('"OP"', orjson.dumps(op).decode()))
                assert (await c.call_full("login", options))["error"] == answers[0]

    run(main())


def test_operator_objects_through_rest_method_call(srv: InProcServer) -> None:
    plan = attacks(srv.app.registry.methods)
    with httpx.Client(base_url=srv.http_url + "/api/v1", timeout=10) as http:
        login = http.post("/login", json={"user": "carol", "password": "carol-pass"}).json()["data"]
        auth = {"X-User-Id": login["userId"], "X-Auth-Token": login["authToken"]}
        before = srv.dump()
        for name, index, prefix in plan:
            answers = []
            for op in OPERATORS:
                message = orjson.dumps({"msg": "method", "id": "1", "method": name, "params": [*prefix, op]}).decode()
                r = http.post(f"/method.call/{name}", json={"message": message}, headers=auth)
                assert r.status_code == 200, (name, r.text)
                reply = orjson.loads(r.json()["message"])
                assert "error" in reply, (name, reply)
                answers.append(reply["error"])
            check_answers(f"method.call {name} params[{index}]", answers)
        assert srv.dump() == before
    assert srv.logs.tracebacks() == []
