"""A browser-side client and the Python client share encrypted rooms through our server.

Node plays one user with Rocket.Chat's own SDK (@rocket.chat/ddp-client, DDP and its REST
client) and WebCrypto (tests/clients/lib/rc-e2ee.mjs); the Python reference client
(ddp_e2e/client/flows.py, ``cryptography``) plays the other. Each decrypts what the other
encrypted, in both directions: room keys made on either side, private-key envelopes v1 and v2,
messages in content v1, content v2 and the legacy ``msg`` form.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ddp_e2e.client.flows import E2EEUser
from tests.integration.test_e2e_support import e2e_group, new_user, run

SCRIPT = "e2e_interop.mjs"


def node(run_driver: Any, server: Any, account: Any, profile: str, envelope: int,
         actions: list[dict[str, Any]], api: str = "current") -> list[Any]:
    """Run the Node user through ``actions``; returns one result per action."""
    cfg = {"url": server.ws_url, "http": server.http_url, "username": account.username,
           "password": account.password, "e2e_password": f"node {account.username} passphrase",
           "envelope": envelope, "profile": profile, "api": api, "actions": actions,
           "step_timeout_ms": 30000, "hard_timeout_ms": 90000}
    done = run_driver(SCRIPT, cfg, timeout=120)
    assert done.returncode == 0 and done.report["ok"], done.describe()
    return done.report["results"]


@pytest.mark.parametrize(("profile", "envelope", "fmt"), [("v2", 2, "v2"), ("v1", 1, "v1"), ("v1", 2, "legacy")])
def test_node_webcrypto_and_python_read_each_other_both_ways(
        server: Any, run_driver: Any, profile: str, envelope: int, fmt: str) -> None:
    async def main() -> None:
        py_account, node_account = await new_user(server, "py"), await new_user(server, "node")
        py = await E2EEUser(server.ws_url, py_account.username, py_account.password, envelope=envelope).start()
        try:
            await py.setup_keys()
            first = await asyncio.to_thread(node, run_driver, server, node_account, profile, envelope,
                                            [{"op": "setup_keys"}])
            assert first == [{"how": "created", "envelope": envelope}]

            # 1. the Python client makes the room key; the browser accepts it and answers
            rid = await e2e_group(py.ddp, [node_account])
            key_id = await py.create_room_key(rid, profile)  # type: ignore[arg-type]
            assert await py.distribute_room_key(rid) == [node_account.id]
            await py.send_encrypted(rid, f"python → node ({fmt}) ✓", fmt=fmt)  # type: ignore[arg-type]
            results = await asyncio.to_thread(node, run_driver, server, node_account, profile, envelope, [
                {"op": "setup_keys"}, {"op": "load_room_key", "rid": rid}, {"op": "read", "rid": rid},
                {"op": "send", "rid": rid, "text": f"node → python ({fmt}) ✓", "fmt": fmt}])
            assert results[0]["how"] == "loaded"
            assert results[1] == {"keyId": key_id, "source": "E2ESuggestedKey"}
            assert results[2] == [f"python → node ({fmt}) ✓"]
            assert await py.read(rid) == [f"python → node ({fmt}) ✓", f"node → python ({fmt}) ✓"]

            # 2. the browser makes the room key and offers it; the Python client accepts it
            rid2 = await e2e_group(py.ddp, [node_account])
            results = await asyncio.to_thread(node, run_driver, server, node_account, profile, envelope, [
                {"op": "setup_keys"}, {"op": "create_room_key", "rid": rid2},
                {"op": "send", "rid": rid2, "text": "made in the browser", "fmt": fmt}])
            made = results[1]
            assert made["offeredTo"] == [py.user_id]
            assert len(made["keyId"]) == (36 if profile == "v2" else 12)
            assert await py.load_room_key(rid2) == made["keyId"]
            assert await py.read(rid2) == ["made in the browser"]
            await py.send_encrypted(rid2, "read in the browser", fmt=fmt)  # type: ignore[arg-type]
            results = await asyncio.to_thread(node, run_driver, server, node_account, profile, envelope, [
                {"op": "setup_keys"}, {"op": "load_room_key", "rid": rid2}, {"op": "read", "rid": rid2}])
            assert results[1] == {"keyId": made["keyId"], "source": "E2EKey"}
            assert results[2] == ["made in the browser", "read in the browser"]
        finally:
            await py.close()

    run(main)


def test_the_browser_reads_history_across_a_room_key_reset(server: Any, run_driver: Any) -> None:
    """Old messages stay readable for the browser through its ``oldRoomKeys`` after a reset."""

    async def main() -> None:
        py_account, node_account = await new_user(server, "py"), await new_user(server, "node")
        py = await E2EEUser(server.ws_url, py_account.username, py_account.password).start()
        try:
            await py.setup_keys()
            await asyncio.to_thread(node, run_driver, server, node_account, "v2", 2, [{"op": "setup_keys"}])
            rid = await e2e_group(py.ddp, [node_account])
            old_id = await py.create_room_key(rid, "v2")
            await py.distribute_room_key(rid)
            await py.send_encrypted(rid, "before")
            await asyncio.to_thread(node, run_driver, server, node_account, "v2", 2, [
                {"op": "setup_keys"}, {"op": "load_room_key", "rid": rid}])
            new_id = await py.reset_room_key(rid, "v2")
            await py.distribute_room_key(rid)
            await py.send_encrypted(rid, "after")
            results = await asyncio.to_thread(node, run_driver, server, node_account, "v2", 2, [
                {"op": "setup_keys"}, {"op": "load_room_key", "rid": rid}, {"op": "read", "rid": rid}])
            assert results[1]["keyId"] == new_id != old_id
            assert results[2] == ["before", "after"]
        finally:
            await py.close()

    run(main)


def test_a_founding_api_browser_and_a_current_api_python_client_share_rooms(server: Any, run_driver: Any) -> None:
    """The Node user speaks only the founding API; the Python user only Rocket.Chat's current one."""

    async def main() -> None:
        py_account, node_account = await new_user(server, "py"), await new_user(server, "old")
        py = await E2EEUser(server.ws_url, py_account.username, py_account.password).start()

        def founding(actions: list[dict[str, Any]]) -> list[Any]:
            return node(run_driver, server, node_account, "v1", 1, actions, api="founding")

        try:
            await py.setup_keys()
            assert (await asyncio.to_thread(founding, [{"op": "setup_keys"}]))[0]["how"] == "created"
            assert (await py.call("e2e.fetchMyKeys")).keys() == {"public_key", "private_key"}
            # the current client makes the key; the founding client reads it as its suggestion
            rid = await e2e_group(py.ddp, [node_account])
            key_id = await py.create_room_key(rid, "v1")
            assert await py.distribute_room_key(rid) == [node_account.id]
            await py.send_encrypted(rid, "from the current API", fmt="v1")
            results = await asyncio.to_thread(founding, [
                {"op": "setup_keys"}, {"op": "load_room_key", "rid": rid}, {"op": "read", "rid": rid},
                {"op": "send", "rid": rid, "text": "from the founding API", "fmt": "legacy"}])
            assert results[1] == {"keyId": key_id, "source": "fetchGroupE2EKey"}
            assert results[2] == ["from the current API"]
            assert await py.read(rid) == ["from the current API", "from the founding API"]
            # the founding client makes a key and hands it over with fetchKeychain + updateGroupE2EKey
            rid2 = await e2e_group(py.ddp, [node_account])
            results = await asyncio.to_thread(founding, [
                {"op": "setup_keys"}, {"op": "create_room_key", "rid": rid2, "to": [py.user_id]},
                {"op": "send", "rid": rid2, "text": "a founding room key", "fmt": "legacy"}])
            assert results[1]["offeredTo"] == [py.user_id]
            assert (await py.own_subscription(rid2)).get("E2EKey") is None, "a suggestion, not the key"
            assert await py.load_room_key(rid2) == results[1]["keyId"]
            assert await py.read(rid2) == ["a founding room key"]
        finally:
            await py.close()

    run(main)
