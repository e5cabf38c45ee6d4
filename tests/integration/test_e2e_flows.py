"""Real clients with real keys: the Python reference client through every E2EE flow.

Each user is an :class:`E2EEUser` (ddp_e2e/client/flows.py) doing its own cryptography; the
server only stores what they send. The tests check what each client *reads* after the server
has carried the keys and messages between them, and that the server holds no plaintext.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from ddp_e2e.client import crypto as c
from ddp_e2e.client.flows import E2EEUser, Profile
from tests.conftest import ROOT
from tests.integration.test_e2e_support import User, e2e_group, new_user, run, server_fixture

server = server_fixture()


async def users(server: Any, n: int, **kw: Any) -> tuple[list[User], list[E2EEUser]]:
    accounts = [await new_user(server) for _ in range(n)]
    clients = [await E2EEUser(server.ws_url, u.username, u.password, **kw).start() for u in accounts]
    return accounts, clients


async def close(*clients: E2EEUser) -> None:
    for cl in clients:
        await cl.close()


@pytest.mark.parametrize(("profile", "envelope", "fmt"), [
    ("v2", 2, "v2"), ("v1", 1, "v1"), ("v1", 2, "legacy"), ("v1", 1, "v2"),
])
def test_two_current_clients_share_a_room(server: Any, profile: Profile, envelope: int, fmt: str) -> None:
    async def main() -> None:
        accounts, (a, b) = await users(server, 2, envelope=envelope)
        try:
            assert await a.setup_keys() == "created" and await b.setup_keys() == "created"
            stored = await a.fetch_my_keys()
            assert ('"$binary"' in stored["private_key"]) is (envelope == 1)
            rid = await e2e_group(a.ddp, [accounts[1]])
            key_id = await a.create_room_key(rid, profile)
            assert await a.distribute_room_key(rid) == [b.user_id]
            assert await b.load_room_key(rid) == key_id
            await a.send_encrypted(rid, "from a: ünïcødé ✓", fmt=fmt)  # type: ignore[arg-type]
            await b.send_encrypted(rid, "from b", fmt=fmt)  # type: ignore[arg-type]
            assert await a.read(rid) == await b.read(rid) == ["from a: ünïcødé ✓", "from b"]
            history = await a.history(rid)
            assert not any("from a" in str(m) or "from b" in str(m) for m in history), "only ciphertext stored"
        finally:
            await close(a, b)

    run(main)


def test_keys_survive_a_new_session_and_a_password_change(server: Any) -> None:
    async def main() -> None:
        (u,), (first,) = await users(server, 1)
        try:
            await first.setup_keys()
            public = first.keypair.public_jwk_json()  # type: ignore[union-attr]
            await first.change_password("a brand new passphrase")
        finally:
            await first.close()
        again = await E2EEUser(server.ws_url, u.username, u.password, e2e_password="a brand new passphrase").start()
        try:
            assert await again.setup_keys() == "loaded"
            assert again.keypair.public_jwk_json() == public  # type: ignore[union-attr]
        finally:
            await again.close()
        wrong = await E2EEUser(server.ws_url, u.username, u.password, e2e_password="the old one").start()
        try:
            with pytest.raises(c.DecryptionError):
                await wrong.setup_keys()
        finally:
            await wrong.close()

    run(main)


def test_a_founding_client_and_a_current_client_share_a_room_both_ways(server: Any) -> None:
    async def main() -> None:
        (ua, ub), (cur, fnd) = await users(server, 2)
        fnd.api = "founding"
        try:
            await cur.setup_keys()
            await fnd.setup_keys()  # addKeyToChain
            assert (await cur.call("e2e.fetchMyKeys"))["public_key"] == cur.keypair.public_jwk_json()  # type: ignore
            # 1. the current client makes the key; the founding client gets it as its suggestion
            rid = await e2e_group(cur.ddp, [ub])
            key_id = await cur.create_room_key(rid, "v2")
            assert await cur.distribute_room_key(rid) == [fnd.user_id]
            assert await fnd.load_room_key(rid) == key_id
            assert await fnd.call("fetchGroupE2EKey", rid) == (await fnd.own_subscription(rid))["E2EKey"]
            await fnd.send_encrypted(rid, "founding says hi", fmt="v2")
            await cur.send_encrypted(rid, "current answers", fmt="v2")
            assert await cur.read(rid) == await fnd.read(rid) == ["founding says hi", "current answers"]
            # 2. the founding client makes the key (legacy format) and hands it over with updateGroupE2EKey
            rid2 = await e2e_group(fnd.ddp, [ua])
            key2 = await fnd.create_room_key(rid2, "v1")
            assert await fnd.distribute_room_key(rid2, [cur.user_id]) == [cur.user_id]
            sub = await cur.own_subscription(rid2)
            assert "E2EKey" not in sub and sub["E2ESuggestedKey"].startswith(key2), "a suggestion, not a key"
            assert await cur.load_room_key(rid2) == key2  # accepted
            await fnd.send_encrypted(rid2, "old-style message", fmt="legacy")
            await cur.send_encrypted(rid2, "v1 reply", fmt="v1")
            assert await cur.read(rid2) == await fnd.read(rid2) == ["old-style message", "v1 reply"]
        finally:
            await close(cur, fnd)

    run(main)


def test_room_key_reset_keeps_history_readable_for_old_and_new_members(server: Any) -> None:
    async def main() -> None:
        (_, ub, uc), (a, b, late) = await users(server, 3)
        try:
            for cl in (a, b, late):
                await cl.setup_keys()
            rid = await e2e_group(a.ddp, [ub])
            old_id = await a.create_room_key(rid, "v2")
            await a.distribute_room_key(rid)
            await b.load_room_key(rid)
            await b.send_encrypted(rid, "before the reset")
            new_id = await a.reset_room_key(rid, "v2")
            assert new_id != old_id
            room = await a.room(rid)
            assert room["e2eKeyId"] == new_id and [w["userId"] for w in room["usersWaitingForE2EKeys"]] == [b.user_id]
            assert await b.load_room_key(rid) == old_id, "no new key yet; its old key moved to oldRoomKeys"
            assert old_id in b.rooms[rid].old
            await a.distribute_room_key(rid)
            assert await b.load_room_key(rid) == new_id
            await b.send_encrypted(rid, "after the reset")
            await a.call("addUsersToRoom", {"rid": rid, "users": [uc.username]})
            assert await a.distribute_room_key(rid) == [late.user_id]
            assert await late.load_room_key(rid) == new_id
            assert old_id in late.rooms[rid].old, "old keys came with the suggestion"
            for cl in (a, b, late):
                assert await cl.read(rid) == ["before the reset", "after the reset"], cl.username
        finally:
            await close(a, b, late)

    run(main)


def test_a_suggestion_that_does_not_open_is_rejected_and_queued_again(server: Any) -> None:
    async def main() -> None:
        (_, ub), (a, b) = await users(server, 2)
        try:
            await a.setup_keys()
            await b.setup_keys()
            rid = await e2e_group(a.ddp, [ub])
            await a.create_room_key(rid, "v2")
            stranger = c.generate_user_keypair()  # a key for someone else: b cannot open it
            bogus = c.wrap_room_key(a.rooms[rid].key.jwk_json(), stranger.public_jwk_json(),  # type: ignore[union-attr]
                                    a.rooms[rid].key_id)  # type: ignore[arg-type]
            await a.call("e2e.updateGroupKey", rid, b.user_id, bogus)
            assert await b.load_room_key(rid) is None
            sub = await b.own_subscription(rid)
            assert "E2ESuggestedKey" not in sub and "E2EKey" not in sub
            room = await a.room(rid)
            assert [w["userId"] for w in room["usersWaitingForE2EKeys"]] == [b.user_id]
        finally:
            await close(a, b)

    run(main)


def demo_command(server: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ddp_e2e.cli", "demo", "--url", server.ws_url, *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("profile", ["v2", "v1"])
def test_the_demo_command_runs_the_whole_flow(server: Any, profile: str) -> None:
    done = demo_command(server, "--profile", profile)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for step in ("1. key pairs", "3. the key goes to the other member", "5. room key reset", "6. the whole history"):
        assert step in out
    assert "OK: the server stored only ciphertext" in out
    assert "client: hello bob, only we can read this" in out
    assert "server: hello bob" not in out


def test_the_demo_command_fails_cleanly_when_the_server_refuses(server: Any) -> None:
    done = demo_command(server, "--user", "alice:wrong-password", "--user", "bob:bob-pass")
    assert done.returncode == 1
    assert "ddp-e2e demo: the server refused a step" in done.stderr and "Traceback" not in done.stderr
