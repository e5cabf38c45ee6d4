"""open_store: the Motor-API surface both store kinds share, and the memory store's behaviour."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from ddp_e2e.store import COLLECTIONS, MEMORY_INDEX_PATHS, Store, open_store


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_open_memory_store_exposes_rocketchat_collections() -> None:
    async def main() -> None:
        store = await open_store()
        try:
            assert isinstance(store, Store)
            assert store.kind == "memory"
            assert store.db.name == "rocketchat"
            for attr, name in COLLECTIONS.items():
                assert getattr(store, attr).name == name
                assert store.collection(name) is getattr(store, attr)
            assert store.index_paths("users") == MEMORY_INDEX_PATHS["users"]
            assert store.index_paths("anything") == ()
        finally:
            await store.close()
            await store.close()  # idempotent

    run(main())


def test_memory_db_name_from_url_and_bad_urls() -> None:
    async def main() -> None:
        store = await open_store("memory://other")
        assert store.db.name == "other"
        await store.close()
        for bad in ("memory://a/b", "memory://a.b", "redis://x", "nonsense", ""):
            with pytest.raises(ValueError):
                await open_store(bad)
        with pytest.raises(TypeError):
            await open_store(None)  # type: ignore[arg-type]

    run(main())


def test_two_memory_stores_are_independent() -> None:
    async def main() -> None:
        a, b = await open_store(), await open_store()
        await a.users.insert_one({"_id": "x", "username": "x"})
        assert await b.users.find_one({"_id": "x"}) is None
        assert await a.users.find_one({"username": "x"}) == {"_id": "x", "username": "x"}
        await a.close()
        await b.close()

    run(main())


def test_motor_subset_round_trip() -> None:
    async def main() -> None:
        store = await open_store()
        coll = store.messages
        await coll.insert_many([{"_id": f"m{i}", "rid": "r1" if i % 2 else "r2", "n": i} for i in range(10)])
        await coll.insert_one({"_id": "m10", "rid": "r1", "n": 10})
        assert await coll.count_documents({"rid": "r1"}) == 6
        page = await coll.find({"rid": "r1"}).sort("n", -1).skip(1).limit(2).to_list(None)
        assert [d["n"] for d in page] == [9, 7]
        seen = [d["_id"] async for d in coll.find({"rid": "r2"}, {"_id": 1})]
        assert seen == ["m0", "m2", "m4", "m6", "m8"]
        res = await coll.update_many({"rid": "r2"}, {"$inc": {"n": 100}})
        assert res.matched_count == 5 and res.modified_count == 5
        doc = await coll.find_one_and_update(
            {"_id": "m0"}, {"$set": {"rid": "r3"}}, return_document=ReturnDocument.AFTER
        )
        assert doc == {"_id": "m0", "rid": "r3", "n": 100}
        assert await coll.count_documents({"rid": "r3"}) == 1
        await coll.replace_one({"_id": "m0"}, {"rid": "r4"})
        assert await coll.find_one({"rid": "r4"}) == {"_id": "m0", "rid": "r4"}
        assert (await coll.delete_one({"rid": "r4"})).deleted_count == 1
        assert (await coll.delete_many({"rid": "r1"})).deleted_count == 6
        assert await coll.count_documents({}) == 4
        await store.close()

    run(main())


def test_dates_come_back_as_aware_utc_millisecond_precision() -> None:
    async def main() -> None:
        store = await open_store()
        when = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
        await store.rooms.insert_one({"_id": "r", "ts": when})
        doc = await store.rooms.find_one({"_id": "r"})
        assert doc["ts"] == when.replace(microsecond=678000)
        assert doc["ts"].tzinfo is not None
        assert await store.rooms.find_one({"ts": when}) is not None
        await store.close()

    run(main())


def test_unique_indexes_hold_on_memory_like_mongodb() -> None:
    async def main() -> None:
        store = await open_store()
        await store.users.insert_one({"_id": "a", "username": "alice"})
        with pytest.raises(DuplicateKeyError):
            await store.users.insert_one({"_id": "b", "username": "alice"})
        await store.users.insert_one({"_id": "c", "username": "carol"})
        with pytest.raises(DuplicateKeyError):
            await store.users.update_one({"_id": "c"}, {"$set": {"username": "alice"}})
        # the failed update was rolled back, and the index followed it
        assert (await store.users.find_one({"username": "carol"}))["_id"] == "c"
        assert [d["_id"] async for d in store.users.find({"username": "alice"})] == ["a"]
        # sparse: many users without a username are fine
        await store.users.insert_many([{"_id": "n1"}, {"_id": "n2"}])
        await store.subscriptions.insert_one({"_id": "s1", "rid": "r", "u": {"_id": "a"}})
        with pytest.raises(DuplicateKeyError):
            await store.subscriptions.insert_one({"_id": "s2", "rid": "r", "u": {"_id": "a"}})
        await store.rooms.insert_one({"_id": "r1", "name": "general", "t": "c"})
        with pytest.raises(DuplicateKeyError):
            await store.rooms.insert_one({"_id": "r2", "name": "general", "t": "p"})
        await store.close()

    run(main())


def test_ensure_indexes_is_idempotent_and_creates_the_rocketchat_indexes() -> None:
    async def main() -> None:
        store = await open_store()
        await store.ensure_indexes()
        info = await store.users.index_information()
        assert info["username_1"]["unique"] is True and info["username_1"]["sparse"] is True
        assert "services.resume.loginTokens.hashedToken_1" in info
        subs = await store.subscriptions.index_information()
        assert subs["rid_1_u._id_1"]["unique"] is True
        await store.close()

    run(main())


def test_duplicate_id_is_rejected() -> None:
    async def main() -> None:
        store = await open_store()
        await store.settings.insert_one({"_id": "E2E_Enable", "value": True})
        with pytest.raises(DuplicateKeyError):
            await store.settings.insert_one({"_id": "E2E_Enable", "value": False})
        assert (await store.settings.find_one({"_id": "E2E_Enable"}))["value"] is True
        await store.close()

    run(main())


def test_bad_collection_names() -> None:
    async def main() -> None:
        store = await open_store(create_indexes=False)
        for bad in ("", "a$b", "a\0b"):
            with pytest.raises(ValueError):
                store.collection(bad)
        await store.close()

    run(main())


def test_mongodb_url_builds_a_motor_store_without_connecting() -> None:
    """No MongoDB runs here: check the Motor path is wired (class, db name, tz-aware client)."""
    from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorCollection

    async def main() -> None:
        store = await open_store(
            "mongodb://127.0.0.1:9/chat?serverSelectionTimeoutMS=50&connectTimeoutMS=50", create_indexes=False
        )
        try:
            assert store.kind == "mongodb"
            assert isinstance(store.client, AsyncIOMotorClient)
            assert store.db.name == "chat"
            assert isinstance(store.users, AsyncIOMotorCollection)
            assert store.subscriptions.name == "rocketchat_subscription"
            assert store.client.codec_options.tz_aware is True
            assert store.index_paths("users") == ()
        finally:
            await store.close()
        default = await open_store("mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=50", create_indexes=False)
        assert default.db.name == "rocketchat"
        await default.close()

    run(main())


def test_mongodb_unreachable_fails_fast_when_creating_indexes() -> None:
    from pymongo.errors import ServerSelectionTimeoutError

    async def main() -> None:
        with pytest.raises(ServerSelectionTimeoutError):
            await open_store("mongodb://127.0.0.1:9/chat?serverSelectionTimeoutMS=50&connectTimeoutMS=50")

    run(main())
