"""Fixtures: loading the demo workspace, dumping with and without secrets, malformed files."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId

from ddp_e2e.services.passwords import check_password, sha256_hex
from ddp_e2e.store import FixtureError, dump_fixtures, load_fixtures, open_store, save_fixtures
from ddp_e2e.store.fixtures import REDACTED

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"
FAST = 4  # bcrypt rounds for tests
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _demo_store() -> Any:
    store = await open_store()
    await load_fixtures(store, DEMO, bcrypt_rounds=FAST)
    return store


def test_demo_workspace_loads_with_documented_users_and_rooms() -> None:
    async def main() -> None:
        store = await open_store()
        counts = await load_fixtures(store, DEMO, bcrypt_rounds=FAST)
        assert counts == {
            "rocketchat_message": 0,
            "rocketchat_room": 3,
            "rocketchat_subscription": 10,
            "users": 5,
        }
        for uid, name in [
            ("u-alice", "alice"),
            ("u-bob", "bob"),
            ("u-carol", "carol"),
            ("u-dave", "dave"),
            ("u-admin", "admin"),
        ]:
            user = await store.users.find_one({"username": name})
            assert user["_id"] == uid
            assert "password" not in user
            assert check_password(sha256_hex(f"{name}-pass"), user["services"]["password"]["bcrypt"])
            assert not check_password(sha256_hex("wrong"), user["services"]["password"]["bcrypt"])
            assert user["emails"] == [{"address": f"{name}@example.com", "verified": True}]
            assert user["type"] == "user" and user["active"] is True and user["status"] == "offline"
            assert user["createdAt"] == T0 and user["createdAt"].tzinfo is not None
        assert (await store.users.find_one({"_id": "u-admin"}))["roles"] == ["admin", "user"]
        assert (await store.users.find_one({"_id": "u-alice"}))["roles"] == ["user"]

        general = await store.rooms.find_one({"_id": "GENERAL"})
        assert (general["t"], general["name"], general["default"], general["usersCount"]) == (
            "c",
            "general",
            True,
            5,
        )
        dm = await store.rooms.find_one({"_id": "u-aliceu-bob"})
        assert dm["t"] == "d" and dm["uids"] == ["u-alice", "u-bob"] and dm["usernames"] == ["alice", "bob"]
        secret = await store.rooms.find_one({"name": "secret"})
        assert secret["_id"] == "r-secret" and secret["t"] == "p" and secret["encrypted"] is True
        assert "e2eKeyId" not in secret
        assert secret["u"] == {"_id": "u-alice", "username": "alice"}

        async def members(rid: str) -> set[str]:
            return {s["u"]["username"] async for s in store.subscriptions.find({"rid": rid})}

        assert await members("GENERAL") == {"alice", "bob", "carol", "dave", "admin"}
        assert await members("u-aliceu-bob") == {"alice", "bob"}
        assert await members("r-secret") == {"alice", "bob", "carol"}
        dave_rooms = [s["rid"] async for s in store.subscriptions.find({"u._id": "u-dave"})]
        assert dave_rooms == ["GENERAL"]
        owner = await store.subscriptions.find_one({"rid": "r-secret", "u._id": "u-alice"})
        assert owner["roles"] == ["owner"] and owner["encrypted"] is True and owner["t"] == "p"
        bob_secret = await store.subscriptions.find_one({"rid": "r-secret", "u._id": "u-bob"})
        assert "roles" not in bob_secret and bob_secret["encrypted"] is True
        alice_dm = await store.subscriptions.find_one({"rid": "u-aliceu-bob", "u._id": "u-alice"})
        assert (alice_dm["name"], alice_dm["fname"], alice_dm["t"]) == ("bob", "Bob", "d")
        assert alice_dm["u"] == {"_id": "u-alice", "username": "alice", "name": "Alice"}
        await store.close()

    run(main())


def test_loading_twice_is_idempotent() -> None:
    async def main() -> None:
        store = await _demo_store()
        await load_fixtures(store, DEMO, bcrypt_rounds=FAST)
        assert await store.users.count_documents({}) == 5
        assert await store.subscriptions.count_documents({}) == 10
        await store.close()

    run(main())


def test_single_file_form_and_objectid_round_trip(tmp_path: Path) -> None:
    oid = ObjectId()
    data = {
        "users": [{"_id": "u1", "username": "zed", "password": "zed-pass", "createdAt": {"$date": 0}}],
        "things": [{"_id": {"$type": "oid", "$value": str(oid)}, "blob": {"$binary": "AAE="}, "ref": "u1"}],
    }
    f = tmp_path / "ws.json"
    f.write_text(json.dumps(data))

    async def main() -> None:
        store = await open_store()
        assert await load_fixtures(store, str(f), bcrypt_rounds=FAST) == {"users": 1, "things": 1}
        thing = await store.collection("things").find_one({"_id": oid})
        assert thing == {"_id": oid, "blob": b"\x00\x01", "ref": "u1"}
        user = await store.users.find_one({"_id": "u1"})
        assert user["createdAt"] == datetime(1970, 1, 1, tzinfo=UTC)
        dumped = await dump_fixtures(store)
        assert dumped["things"] == [
            {"_id": {"$type": "oid", "$value": str(oid)}, "blob": {"$binary": "AAE="}, "ref": "u1"}
        ]
        await store.close()

    run(main())


def test_dump_redacts_secrets_and_private_key() -> None:
    async def main() -> None:
        store = await _demo_store()
        await store.users.update_one(
            {"_id": "u-alice"},
            {
                "$set": {
                    "e2e": {"public_key": "PUB", "private_key": "ENCRYPTED-PRIV"},
                    "services.resume.loginTokens": [{"when": T0, "hashedToken": "h"}],
                }
            },
        )
        dumped = await dump_fixtures(store)
        text = json.dumps(dumped)  # plain JSON, no custom encoder needed
        assert "ENCRYPTED-PRIV" not in text and "bcrypt" not in text and "hashedToken" not in text
        users = {u["_id"]: u for u in dumped["users"]}
        assert users["u-alice"]["e2e"] == {"public_key": "PUB", "private_key": REDACTED}
        assert all("services" not in u for u in users.values())
        assert "e2e" not in users["u-bob"]
        assert users["u-alice"]["createdAt"] == {"$date": 1704067200000}
        # redaction worked on copies: the store still holds the secrets
        alice = await store.users.find_one({"_id": "u-alice"})
        assert alice["e2e"]["private_key"] == "ENCRYPTED-PRIV" and "bcrypt" in alice["services"]["password"]

        full = await dump_fixtures(store, include_secrets=True)
        falice = next(u for u in full["users"] if u["_id"] == "u-alice")
        assert falice["e2e"]["private_key"] == "ENCRYPTED-PRIV"
        assert falice["services"]["password"]["bcrypt"].startswith("$2b$")
        assert falice["services"]["resume"]["loginTokens"] == [
            {"when": {"$date": 1704067200000}, "hashedToken": "h"}
        ]
        assert set(full) >= {"users", "rocketchat_room", "rocketchat_subscription", "rocketchat_message"}
        await store.close()

    run(main())


def test_save_then_load_round_trips(tmp_path: Path) -> None:
    async def main() -> None:
        store = await _demo_store()
        counts = await save_fixtures(store, tmp_path / "out", include_secrets=True)
        assert counts["users"] == 5 and counts["rocketchat_subscription"] == 10
        again = await open_store()
        await load_fixtures(again, tmp_path / "out", bcrypt_rounds=FAST)
        assert await dump_fixtures(again, include_secrets=True) == await dump_fixtures(
            store, include_secrets=True
        )
        alice = await again.users.find_one({"username": "alice"})
        assert check_password(sha256_hex("alice-pass"), alice["services"]["password"]["bcrypt"])
        await store.close()
        await again.close()

    run(main())


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "invalid JSON"),
        ('{"_id": "x"}', "expected a list"),
        ("[1]", "expected an object"),
        ('[{"username": "x"}]', "_id must be"),
        ('[{"_id": ""}]', "_id must be"),
        ('[{"_id": 5}]', "_id must be"),
        ('[{"_id": "a"}, {"_id": "a"}]', "duplicate _id"),
        ('[{"_id": "a", "password": 5}]', "password must be"),
        ('[{"_id": "a", "password": ""}]', "password must be"),
        ('[{"_id": "a", "password": "p", "services": {"password": {"bcrypt": "x"}}}]', "both password"),
        ('[{"_id": "a", "password": "p", "services": "x"}]', "services must be"),
        ('[{"_id": "a", "createdAt": {"$date": "yesterday"}}]', "invalid EJSON"),
        ('[{"_id": "a", "$set": 1}]', "top-level keys"),
    ],
)
def test_malformed_user_file_raises_naming_file_and_reason(tmp_path: Path, content: str, reason: str) -> None:
    (tmp_path / "users.json").write_text(content)
    (tmp_path / "rocketchat_room.json").write_text('[{"_id": "r1", "t": "c", "name": "x"}]')

    async def main() -> None:
        store = await open_store()
        with pytest.raises(FixtureError) as info:
            await load_fixtures(store, tmp_path, bcrypt_rounds=FAST)
        assert str(tmp_path / "users.json") in str(info.value)
        assert reason in info.value.reason
        # nothing was written: validation happens before any insert
        assert await store.rooms.count_documents({}) == 0
        await store.close()

    run(main())


def test_malformed_paths_and_single_files(tmp_path: Path) -> None:
    async def main() -> None:
        store = await open_store()
        with pytest.raises(FixtureError, match="no such file"):
            await load_fixtures(store, tmp_path / "missing.json")
        empty = tmp_path / "empty"
        empty.mkdir()
        with pytest.raises(FixtureError, match=r"no \.json fixture files"):
            await load_fixtures(store, empty)
        single = tmp_path / "one.json"
        single.write_text("[]")
        with pytest.raises(FixtureError, match="expected an object"):
            await load_fixtures(store, single)
        single.write_text('{"$bad": []}')
        with pytest.raises(FixtureError, match="bad collection name"):
            await load_fixtures(store, single)
        single.write_text('{"system.x": []}')
        with pytest.raises(FixtureError, match="bad collection name"):
            await load_fixtures(store, single)
        await store.close()

    run(main())


def test_unique_index_violation_is_a_fixture_error(tmp_path: Path) -> None:
    (tmp_path / "users.json").write_text(
        '[{"_id": "a", "username": "same"}, {"_id": "b", "username": "same"}]'
    )

    async def main() -> None:
        store = await open_store()
        with pytest.raises(FixtureError, match="DuplicateKeyError") as info:
            await load_fixtures(store, tmp_path)
        assert info.value.file == str(tmp_path / "users.json")
        await store.close()

    run(main())


def test_fixture_files_are_plain_ejson_with_rocketchat_shapes() -> None:
    """The committed files carry plaintext passwords only (no hashes) and EJSON dates."""
    users = json.loads((DEMO / "users.json").read_text())
    assert all("services" not in u and isinstance(u["password"], str) for u in users)
    rooms = json.loads((DEMO / "rocketchat_room.json").read_text())
    assert all(set(r["ts"]) == {"$date"} for r in rooms)
    assert json.loads((DEMO / "rocketchat_message.json").read_text()) == []
