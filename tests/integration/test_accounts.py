"""Accounts over real sockets (ddp-protocol.md §5, §8.1; rocketchat-e2e.md §3.1).

Login in every form Meteor and Rocket.Chat clients send, the ambiguous failure, resume tokens
(fresh, unknown, expired), hashed token storage, logout closing the token's other connections,
registerUser, the login rate limit, REST login/me/logout, DDP over REST, and the user's own
document as the only ``users`` data a client ever sees.

The server runs in-process on a copy of the demo fixtures with extra users and tokens written by
the test (tmp dir), so the test can read the stored documents.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import shutil
import string
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from ddp_e2e.client.ddp import DDPClient, ProtocolViolation
from ddp_e2e.ddp.errors import MeteorError
from tests.conftest import RunningServer, start_server

from .inproc import DEMO, InProcServer

AMBIGUOUS = "Something went wrong. Please check your credentials."
LOGGED_OUT = "You've been logged out by the server. Please log in again."
EXPIRED = "Your session has expired. Please log in again."
PRIVATE_KEY = "alice-encrypted-private-key-blob"
NOW = datetime.now(UTC).replace(microsecond=0)
TOKENS = {  # carol's resume tokens, by age
    "fresh": ("carol-fresh-token-0123456789abcdefghijklmnopq", NOW - timedelta(days=2)),
    "old": ("carol-old-token-0123456789abcdefghijklmnopqrst", NOW - timedelta(days=91)),
}


def hashed(token: str) -> str:
    """Meteor's ``Accounts._hashLoginToken``, written here independently of the server's code."""
    return base64.b64encode(hashlib.sha256(token.encode()).digest()).decode()


def digest(password: str) -> dict[str, str]:
    return {"digest": hashlib.sha256(password.encode()).hexdigest(), "algorithm": "sha-256"}


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def fixtures_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo workspace plus: carol's stored tokens, alice's E2E keys, a deactivated user."""
    out = tmp_path_factory.mktemp("fixtures")
    for f in DEMO.glob("*.json"):
        shutil.copy(f, out / f.name)
    users = orjson.loads((out / "users.json").read_bytes())
    for u in users:
        if u["_id"] == "u-carol":
            u["services"] = {"resume": {"loginTokens": [
                {"when": {"$date": int(when.timestamp() * 1000)}, "hashedToken": hashed(tok)}
                for tok, when in TOKENS.values()]}}
        if u["_id"] == "u-alice":
            u["e2e"] = {"public_key": '{"kty":"RSA"}', "private_key": PRIVATE_KEY}
    users.append({"_id": "u-eve", "username": "eve", "name": "Eve", "active": False, "type": "user",
                  "emails": [{"address": "eve@example.com", "verified": True}], "roles": ["user"],
                  "password": "eve-pass"})
    (out / "users.json").write_bytes(orjson.dumps(users))
    return out


@pytest.fixture(scope="module")
def srv(fixtures_dir: Path) -> Iterator[InProcServer]:
    from ddp_e2e.config import Settings

    with InProcServer.running(Settings(fixtures=str(fixtures_dir))) as s:
        yield s


@pytest.fixture(scope="module")
def strict(fixtures_dir: Path) -> Iterator[RunningServer]:
    """Started from the command line: tokens live 1 day, registration is off."""
    s = start_server("--setting", "Accounts_LoginExpiration=1", "--setting", "Accounts_RegistrationForm=Disabled",
                     fixtures=str(fixtures_dir))
    yield s
    s.stop()


async def login_raw(c: DDPClient, options: dict[str, Any]) -> dict[str, Any]:
    """The result message of a login, with its result still in wire (EJSON) form."""
    start = len(c.raw_in)
    msg = await c.call_full("login", options)
    texts = [t for t in c.raw_in[start:] if '"msg":"result"' in t]
    assert len(texts) == 1
    wire = orjson.loads(texts[0])
    assert wire["id"] == msg["id"]
    return wire


async def login_error(url: str, options: Any) -> dict[str, Any]:
    async with DDPClient(url) as c:
        wire = await login_raw(c, options)
    assert "result" not in wire
    return wire["error"]


# --------------------------------------------------------------------------- login forms


@pytest.mark.parametrize("user", [
    {"username": "alice"}, {"email": "alice@example.com"}, {"id": "u-alice"},
    "alice", "alice@example.com", {"username": "ALICE"}, {"email": "Alice@Example.COM"}, "Alice",
])
@pytest.mark.parametrize("form", ["digest", "plaintext"])
def test_password_login_forms(srv: InProcServer, user: Any, form: str) -> None:
    async def main() -> None:
        async with DDPClient(srv.ws_url) as c:
            password: Any = digest("alice-pass") if form == "digest" else "alice-pass"
            before = datetime.now(UTC)
            wire = await login_raw(c, {"user": user, "password": password})
            after = datetime.now(UTC)
            result = wire["result"]
            assert list(result) == ["id", "token", "tokenExpires", "type"]
            assert result["id"] == "u-alice" and result["type"] == "password"
            assert len(result["token"]) == 43
            assert set(result["token"]) <= set(string.ascii_letters + string.digits + "-_")
            assert list(result["tokenExpires"]) == ["$date"]
            expires = datetime.fromtimestamp(result["tokenExpires"]["$date"] / 1000, UTC)
            assert before + timedelta(days=90) - timedelta(seconds=1) <= expires <= after + timedelta(days=90)
            assert await c.call("ddp-e2e.echo", "logged in") == "logged in"

    run(main())


@pytest.mark.parametrize("options", [
    {"user": {"username": "alice"}, "password": digest("wrong")},
    {"user": {"username": "ghost"}, "password": digest("alice-pass")},
    {"user": {"email": "ghost@example.com"}, "password": "alice-pass"},
    {"user": {"id": "u-ghost"}, "password": "x"},
    {"user": {"username": "alice"}, "password": ""},
    {"user": {"id": "U-ALICE"}, "password": "alice-pass"},  # ids are exact
    {"user": "alice", "password": digest("ALICE-PASS")},
])
def test_wrong_credentials_get_one_ambiguous_403(srv: InProcServer, options: dict[str, Any]) -> None:
    error = run(login_error(srv.ws_url, options))
    assert error == {"isClientSafe": True, "error": 403, "reason": AMBIGUOUS,
                     "message": f"{AMBIGUOUS} [403]", "errorType": "Meteor.Error"}


@pytest.mark.parametrize("options", [
    {"user": {"username": "alice"}, "password": {"digest": hashlib.sha1(b"alice-pass").hexdigest(), "algorithm": "sha-1"}},
    {"user": {"username": "alice"}, "password": {"digest": "a" * 64, "algorithm": "sha-256", "extra": 1}},
    {"user": {"username": "alice"}, "password": {}},
    {"user": {"username": "alice", "id": "u-alice"}, "password": "alice-pass"},
    {"user": {"username": {"$ne": None}}, "password": "alice-pass"},
    {"user": {"username": "alice"}, "password": {"$ne": None}},
    {"resume": {"$ne": None}},
    {"resume": 123},
])
def test_malformed_login_options_are_match_failed(srv: InProcServer, options: dict[str, Any]) -> None:
    assert run(login_error(srv.ws_url, options))["reason"] == "Match failed"


def test_unrecognized_login_options(srv: InProcServer) -> None:
    error = run(login_error(srv.ws_url, {"ldap": True, "username": "alice", "ldapPass": "x"}))
    assert (error["error"], error["reason"]) == (400, "Unrecognized options for login request")


def test_deactivated_user_cannot_log_in(srv: InProcServer) -> None:
    assert run(login_error(srv.ws_url, {"user": {"username": "eve"}, "password": "eve-pass"}))["error"] == (
        "error-user-is-not-activated")


# --------------------------------------------------------------------------- resume tokens


def test_resume_with_a_live_token_keeps_its_original_expiry(srv: InProcServer) -> None:
    token, when = TOKENS["fresh"]

    async def main() -> None:
        async with DDPClient(srv.ws_url) as c:
            result = (await login_raw(c, {"resume": token}))["result"]
            assert result == {"id": "u-carol", "token": token,
                              "tokenExpires": {"$date": int((when + timedelta(days=90)).timestamp() * 1000)},
                              "type": "resume"}

    run(main())


@pytest.mark.parametrize(("token", "reason"), [
    ("no-such-token", LOGGED_OUT),
    (hashed(TOKENS["fresh"][0]), LOGGED_OUT),  # the stored hash is not a token
    (TOKENS["old"][0], EXPIRED),
])
def test_resume_refusals(srv: InProcServer, token: str, reason: str) -> None:
    error = run(login_error(srv.ws_url, {"resume": token}))
    assert (error["error"], error["reason"]) == (403, reason)


def test_the_expiry_setting_comes_from_the_command_line(strict: RunningServer) -> None:
    error = run(login_error(strict.ws_url, {"resume": TOKENS["fresh"][0]}))  # 2 days old, 1 day allowed
    assert (error["error"], error["reason"]) == (403, EXPIRED)

    async def main() -> None:
        async with DDPClient(strict.ws_url) as c:
            result = (await login_raw(c, {"user": {"username": "dave"}, "password": "dave-pass"}))["result"]
            expires = datetime.fromtimestamp(result["tokenExpires"]["$date"] / 1000, UTC)
            assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(days=1)

    run(main())


def test_tokens_are_stored_only_as_base64_sha256(srv: InProcServer) -> None:
    async def main() -> str:
        async with DDPClient(srv.ws_url) as c:
            return (await c.login_password("dave", "dave-pass"))["token"]

    token = run(main())
    dump = srv.dump()
    dave = next(u for u in dump["users"] if u["_id"] == "u-dave")
    entry = next(t for t in dave["services"]["resume"]["loginTokens"] if t["hashedToken"] == hashed(token))
    assert set(entry) == {"when", "hashedToken"} and len(entry["hashedToken"]) == 44
    assert token.encode() not in orjson.dumps(dump)
    assert dave["services"]["password"]["bcrypt"].startswith("$2b$10$")
    assert b"dave-pass" not in orjson.dumps(dump)


def test_logout_deletes_the_token_and_closes_its_other_connections(srv: InProcServer) -> None:
    async def main() -> None:
        first = DDPClient(srv.ws_url)
        await first.connect()
        token = (await first.login_password("bob", "bob-pass"))["token"]
        same = DDPClient(srv.ws_url)
        await same.connect()
        await same.login_resume(token)
        other = DDPClient(srv.ws_url)  # bob again, with a token of its own
        await other.connect()
        await other.login_password("bob", "bob-pass")
        assert "u-bob" in first.collections["users"]

        assert await first.call("logout") is None
        assert first.collections["users"] == {}  # the re-run as nobody removed bob's document
        closed = await same.wait_closed(5)
        assert closed.code is not None
        assert first.closed is None and await first.call("ddp-e2e.echo", 1) == 1
        assert other.closed is None and await other.call("ddp-e2e.echo", 2) == 2
        stored = next(u for u in srv.dump()["users"] if u["_id"] == "u-bob")
        assert hashed(token) not in [t["hashedToken"] for t in stored["services"]["resume"]["loginTokens"]]
        error = await login_error(srv.ws_url, {"resume": token})
        assert error["reason"] == LOGGED_OUT
        for c in (first, same, other):
            await c.close()

    run(main())


# --------------------------------------------------------------------------- registration and rate limit


def test_register_user_then_log_in(srv: InProcServer) -> None:
    async def main() -> None:
        async with DDPClient(srv.ws_url) as c:
            uid = await c.call("registerUser", {"email": "Newbie@Example.com", "pass": "s3cret!", "name": "New Bie",
                                                "username": "newbie"})
            assert isinstance(uid, str) and len(uid) == 17
            for data, code in [
                ({"email": "newbie@example.com", "pass": "x", "name": "N"}, "error-field-unavailable"),
                ({"email": "other@example.com", "pass": "x", "name": "N", "username": "NEWBIE"},
                 "error-field-unavailable"),
                ({"email": "not-an-email", "pass": "x", "name": "N"}, "error-invalid-email"),
                ({"email": "a@b.io", "pass": "x", "name": "N", "username": "bad name!"}, "error-invalid-username"),
                ({"email": {"$ne": None}, "pass": "x", "name": "N"}, 400),
                ({"email": "c@d.io", "pass": "x", "name": "N", "roles": ["admin"]}, 400),
            ]:
                with pytest.raises(MeteorError) as info:
                    await c.call("registerUser", data)
                assert info.value.error == code, data
        async with DDPClient(srv.ws_url) as c:
            result = await c.login_password("newbie", "s3cret!")
            assert result["id"] == uid
            assert c.collections["users"][uid]["emails"] == [{"address": "newbie@example.com", "verified": False}]

    run(main())
    stored = next(u for u in srv.dump()["users"] if u["username"] == "newbie")
    assert b"s3cret!" not in orjson.dumps(stored) and stored["roles"] == ["user"]


def test_registration_can_be_disabled(strict: RunningServer) -> None:
    async def main() -> None:
        async with DDPClient(strict.ws_url) as c:
            with pytest.raises(MeteorError) as info:
                await c.call("registerUser", {"email": "x@y.io", "pass": "p", "name": "X"})
            assert info.value.error == "error-user-registration-disabled"

    run(main())


def test_sixth_login_in_ten_seconds_on_one_connection_is_rate_limited(srv: InProcServer) -> None:
    async def main() -> None:
        async with DDPClient(srv.ws_url) as c:
            for _ in range(5):
                with pytest.raises(MeteorError) as info:
                    await c.call("login", {"resume": "nope"})
                assert info.value.error == 403
            msg = await c.call_full("login", {"user": {"username": "alice"}, "password": "alice-pass"})
            err = msg["error"]
            assert err["error"] == "too-many-requests"
            wait = err["details"]["timeToReset"]
            assert isinstance(wait, int) and 0 < wait <= 10_000
            secs = -(-wait // 1000)
            assert err["reason"] in {f"Error, too many requests. Please slow down. You must wait {n} seconds "
                                     "before trying again." for n in (secs, secs + 1)}
            assert "u-alice" not in c.collections["users"]
        async with DDPClient(srv.ws_url) as fresh:  # the limit is per connection
            assert (await fresh.login_password("alice", "alice-pass"))["id"] == "u-alice"

    run(main())


# --------------------------------------------------------------------------- the users publication


def test_only_the_own_user_document_is_published_without_secrets(srv: InProcServer) -> None:
    async def main() -> None:
        async with DDPClient(srv.ws_url) as alice, DDPClient(srv.ws_url) as bob:
            await alice.login_password("alice", "alice-pass")
            await bob.login_password("bob", "bob-pass")
            await alice.subscribe("meteor.loginServiceConfiguration")
            assert set(alice.collections["users"]) == {"u-alice"}
            assert set(bob.collections["users"]) == {"u-bob"}
            doc = alice.collections["users"]["u-alice"]
            assert doc["username"] == "alice" and set(doc) <= {"username", "emails", "profile", "name"}
            for c in (alice, bob):
                wire = "".join(c.raw_in)
                for secret in ("services", "bcrypt", "hashedToken", "loginTokens", '"e2e"', "private_key",
                               PRIVATE_KEY):
                    assert secret not in wire
                if c.violations:
                    raise ProtocolViolation(c.violations)

    run(main())


# --------------------------------------------------------------------------- REST


def test_rest_login_me_logout_and_the_401_envelopes(srv: InProcServer) -> None:
    with httpx.Client(base_url=srv.http_url + "/api/v1") as http:
        r = http.get("/me")
        assert (r.status_code, r.json()) == (401, {"status": "error", "message": "You must be logged in to do this."})
        for body in ({"user": "alice", "password": "wrong"}, {"user": "ghost", "password": "alice-pass"},
                     {"user": {"$ne": None}, "password": "alice-pass"}, {"username": "alice", "password": {"$gt": ""}},
                     {"resume": {"$ne": None}}, {"resume": "nope"}, {}):
            r = http.post("/login", json=body)
            assert (r.status_code, r.json()) == (401, {"status": "error", "error": "Unauthorized",
                                                       "message": "Unauthorized"}), body
        r = http.post("/login", json={"user": "alice", "password": "alice-pass"})
        body = r.json()
        assert r.status_code == 200 and body["status"] == "success" and body["success"] is True
        data = body["data"]
        assert data["userId"] == "u-alice" and data["me"]["username"] == "alice"
        assert "services" not in data["me"] and "e2e" not in data["me"]
        for other in ({"username": "alice", "password": hashlib.sha256(b"alice-pass").hexdigest()},
                      {"resume": data["authToken"]}):
            assert http.post("/login", json=other).json()["data"]["userId"] == "u-alice"
        auth = {"X-User-Id": "u-alice", "X-Auth-Token": data["authToken"]}
        r = http.get("/me", headers=auth)
        assert r.status_code == 200 and r.json()["_id"] == "u-alice" and r.json()["success"] is True
        assert "services" not in r.text and PRIVATE_KEY not in r.text
        assert http.get("/me", headers={**auth, "X-User-Id": "u-bob"}).status_code == 401
        assert http.get("/me", headers={**auth, "X-Auth-Token": "forged"}).status_code == 401
        r = http.post("/logout", headers=auth)
        assert r.status_code == 200 and r.json()["status"] == "success"
        assert http.get("/me", headers=auth).status_code == 401


def rest_call(http: httpx.Client, route: str, method: str, params: list[Any], **kw: Any) -> httpx.Response:
    message = orjson.dumps({"msg": "method", "id": "42", "method": method, "params": params}).decode()
    return http.post(f"/{route}/{method}", json={"message": message}, **kw)


def test_method_call_over_rest(srv: InProcServer) -> None:
    with httpx.Client(base_url=srv.http_url + "/api/v1") as http:
        r = rest_call(http, "method.call", "ddp-e2e.echo", [1])
        assert (r.status_code, r.json()) == (401, {"status": "error", "message": "You must be logged in to do this."})
        login = http.post("/login", json={"user": "bob", "password": "bob-pass"}).json()["data"]
        auth = {"X-User-Id": login["userId"], "X-Auth-Token": login["authToken"]}

        r = rest_call(http, "method.call", "ddp-e2e.echo", [{"when": {"$date": 1700000000000}}], headers=auth)
        assert r.status_code == 200 and r.json()["success"] is True
        assert orjson.loads(r.json()["message"]) == {"msg": "result", "id": "42",
                                                     "result": {"when": {"$date": 1700000000000}}}
        reply = orjson.loads(rest_call(http, "method.call", "ddp-e2e.echo", [1, 2], headers=auth).json()["message"])
        assert reply["error"]["reason"] == "Match failed" and reply["error"]["error"] == 400
        reply = orjson.loads(rest_call(http, "method.call", "nope", [], headers=auth).json()["message"])
        assert reply["error"]["error"] == 404 and reply["error"]["reason"] == "Method 'nope' not found"

        for bad in ({"message": 5}, {"message": "not json"}, {"nothing": 1},
                    {"message": orjson.dumps({"msg": "method", "id": "1", "method": "other", "params": []}).decode()},
                    {"message": orjson.dumps({"msg": "method", "id": "1", "method": "ddp-e2e.echo",
                                              "params": {"$ne": 1}}).decode()}):
            r = http.post("/method.call/ddp-e2e.echo", json=bad, headers=auth)
            assert r.status_code == 400 and r.json()["errorType"] == "invalid-params", bad

        r = rest_call(http, "method.callAnon", "ddp-e2e.echo", ["anon"])
        assert orjson.loads(r.json()["message"])["result"] == "anon"
        r = rest_call(http, "method.callAnon", "logout", [])
        assert r.status_code == 401
