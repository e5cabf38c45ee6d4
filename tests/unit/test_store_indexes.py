"""Index internals: key extraction, query planning, "no scan" on the hot lookups, the pin guard."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import mongomock
import pytest
from bson import ObjectId
from bson.int64 import Int64
from mongomock import filtering
from pymongo.errors import OperationFailure

from ddp_e2e.store import StoreInternalsError, memory, open_store
from ddp_e2e.store.indexes import NOT_PLAIN, IndexSet, extract_keys, value_key

# --------------------------------------------------------------------------- pure index


def test_value_key_models_only_plain_types() -> None:
    assert value_key("a") == "a" and value_key(1) == 1 and value_key(ObjectId("0" * 24)) == ObjectId("0" * 24)
    assert value_key(1.0) == value_key(1)  # same bucket: MongoDB matches 1 and 1.0
    for odd in (None, float("nan"), Int64(1), {"a": 1}, [1], re.compile("x")):
        assert value_key(odd) is NOT_PLAIN
    aware = datetime(2024, 1, 1, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert value_key(aware) == datetime(2024, 1, 1, 10, 0, 0, 123000)


def test_extract_keys_reaches_into_arrays_of_subdocuments() -> None:
    doc = {
        "services": {"resume": {"loginTokens": [{"hashedToken": "h1"}, {"hashedToken": "h2"}, {"when": 1}]}},
        "emails": [{"address": "a@x"}, {"address": ["b@x", None]}],
        "nested": [[{"k": "deep"}]],
        "n": {"0": "zero"},
        "l": ["first", "second"],
    }
    assert extract_keys(doc, ("services", "resume", "loginTokens", "hashedToken")) == (
        frozenset({"h1", "h2"}),
        False,
    )
    assert extract_keys(doc, ("emails", "address")) == (
        frozenset({"a@x", "b@x"}),
        True,
    )  # None: always candidate
    assert extract_keys(doc, ("nested", "k")) == (frozenset({"deep"}), False)
    assert extract_keys(doc, ("l", "0")) == (frozenset({"first"}), False)
    assert extract_keys(doc, ("missing", "x")) == (frozenset(), False)
    assert extract_keys(doc, ("n", "0")) == (frozenset({"zero"}), False)
    assert extract_keys({"a": {"b": 5}}, ("a",)) == (frozenset(), True)  # sub-document leaf


def test_plan_declines_what_it_cannot_model() -> None:
    ix = IndexSet(["rid"])
    docs = {"m1": {"_id": "m1", "rid": "r"}}
    ix.put("m1", docs["m1"])
    for spec in (
        {},
        {"msg": "x"},
        {"rid": None},
        {"rid": {"$ne": "r"}},
        {"rid": {"$in": ["r", None]}},
        {"rid": re.compile("r")},
        {"rid": ["r"]},
        {"rid": {"sub": 1}},
        {"$or": [{"rid": "r"}, {"msg": "x"}]},
        {"_id": {"a": 1}},
        {"_id": datetime(2024, 1, 1, tzinfo=UTC)},
    ):
        assert ix.plan(spec, docs) is None, spec
    assert ix.plan({"rid": "r"}, docs) == {"m1"}
    assert ix.plan({"rid": {"$in": []}}, docs) == set()
    assert ix.plan({"rid": "r", "_id": "nope"}, docs) == set()
    assert ix.plan({"$and": [{"msg": 1}, {"rid": {"$eq": "r"}}]}, docs) == {"m1"}
    assert ix.plan({"$or": [{"rid": "r"}, {"_id": "m1"}]}, docs) == {"m1"}


def test_index_paths_are_validated() -> None:
    ix = IndexSet()
    for bad in ("", "a..b", ".a", 5):
        with pytest.raises(ValueError):
            ix.add_path(bad, {})  # type: ignore[arg-type]
    assert ix.add_path("a.b", {}) is True
    assert ix.add_path("a.b", {}) is False


# --------------------------------------------------------------------------- no scans


class _CountingFilter:
    """Counts mongomock matcher calls: one per document a query looks at."""

    def __init__(self) -> None:
        self.calls = 0
        self._real = filtering.filter_applies

    def __call__(self, spec: Any, doc: Any) -> bool:
        self.calls += 1
        return self._real(spec, doc)


def test_hot_lookups_touch_only_their_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> None:
        store = await open_store()
        await store.users.insert_many(
            [
                {
                    "_id": f"u{i}",
                    "username": f"user{i}",
                    "emails": [{"address": f"user{i}@x", "verified": True}],
                    "services": {
                        "resume": {"loginTokens": [{"hashedToken": f"h{i}"}, {"hashedToken": f"g{i}"}]}
                    },
                }
                for i in range(3000)
            ]
        )
        await store.subscriptions.insert_many(
            [{"_id": f"s{i}", "rid": f"r{i % 100}", "u": {"_id": f"u{i // 10}"}} for i in range(3000)]
        )
        await store.messages.insert_many(
            [
                {
                    "_id": f"m{i}",
                    "rid": f"r{i % 100}",
                    "ts": datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=i),
                }
                for i in range(5000)
            ]
        )
        counter = _CountingFilter()
        monkeypatch.setattr(filtering, "filter_applies", counter)

        async def touched(coro: Any) -> tuple[Any, int]:
            counter.calls = 0
            result = await coro
            return result, counter.calls

        doc, n = await touched(store.users.find_one({"_id": "u1234"}))
        assert doc["username"] == "user1234" and n == 1
        doc, n = await touched(store.users.find_one({"services.resume.loginTokens.hashedToken": "g2999"}))
        assert doc["_id"] == "u2999" and n == 1
        doc, n = await touched(store.users.find_one({"emails.address": "user7@x"}))
        assert doc["_id"] == "u7" and n == 1
        doc, n = await touched(store.subscriptions.find_one({"u._id": "u5", "rid": "r55"}))
        assert doc["_id"] == "s55" and n == 1  # intersection of 10 and 30 candidates
        history, n = await touched(store.messages.find({"rid": "r42"}).sort("ts", -1).limit(50).to_list(None))
        assert [m["_id"] for m in history[:2]] == ["m4942", "m4842"] and len(history) == 50 and n == 50
        result, n = await touched(store.users.update_one({"_id": "u9"}, {"$set": {"status": "online"}}))
        assert result.modified_count == 1 and n == 2  # the match + the unique-username check
        count, n = await touched(store.subscriptions.count_documents({"rid": {"$in": ["r1", "r2"]}}))
        assert count == 60 and n == 60
        # a filter with no usable equality still works, by scanning
        count, n = await touched(store.users.count_documents({"username": {"$regex": "^user29"}}))
        assert count == 111 and n == 3000
        await store.close()

    asyncio.run(main())


def test_bad_filters_fail_like_mongomock_even_with_no_candidates() -> None:
    client = mongomock.MongoClient()
    memory.make_indexed(client.db, "c", ("rid",))
    ours = client.db.c
    ours.insert_one({"_id": "x", "rid": "r"})
    plain = mongomock.MongoClient().db.c
    plain.insert_one({"_id": "x", "rid": "r"})
    for coll in (plain, ours):
        for bad in (
            {"other": {"$bogus": 1}, "rid": "zzz"},
            {"$bogus": 1, "rid": "zzz"},
            {"a": {"$in": 5}, "rid": "q"},
        ):
            with pytest.raises(OperationFailure):
                coll.find_one(bad)
            with pytest.raises(OperationFailure):
                coll.count_documents(bad)


def test_make_indexed_is_idempotent_and_adds_paths_to_existing_data() -> None:
    client = mongomock.MongoClient()
    client.db.c.insert_many([{"_id": 1, "a": "x"}, {"_id": 2, "a": "y"}])
    first = memory.make_indexed(client.db, "c")
    assert first.index_paths == ()
    second = memory.make_indexed(client.db, "c", ("a",))
    assert second is first and first.index_paths == ("a",)
    assert first.candidates({"a": "y"}) == [{"_id": 2, "a": "y"}]
    assert first.candidates({"b": "y"}) is None


def test_plain_mongomock_collections_are_untouched_by_the_hooks() -> None:
    memory.install()
    plain = mongomock.MongoClient().db.c
    plain.insert_many([{"_id": i, "a": i % 3} for i in range(9)])
    assert type(plain._store).__name__ == "CollectionStore"
    assert [d["_id"] for d in plain.find({"a": 1})] == [1, 4, 7]
    plain.update_many({"a": 1}, {"$set": {"a": 5}})
    assert plain.count_documents({"a": 5}) == 3


# --------------------------------------------------------------------------- the pin guard


def test_guard_passes_on_the_pinned_mongomock() -> None:
    memory.check_internals()


def test_guard_refuses_another_mongomock_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mongomock, "__version__", "4.4.0")
    with pytest.raises(StoreInternalsError, match=r"pinned to mongomock 4\.3"):
        memory.check_internals()
    with pytest.raises(StoreInternalsError):
        asyncio.run(open_store())


def test_guard_notices_a_changed_internal(monkeypatch: pytest.MonkeyPatch) -> None:
    from mongomock.collection import Collection

    def _delete(self: Any, filter: Any, **kwargs: Any) -> Any:  # a "new release" of the method
        return {"n": 0}

    monkeypatch.setattr(Collection, "_delete", _delete)
    with pytest.raises(StoreInternalsError, match=r"Collection\._delete"):
        memory.check_internals()


def test_guard_notices_a_missing_internal(monkeypatch: pytest.MonkeyPatch) -> None:
    from mongomock.store import CollectionStore

    monkeypatch.delattr(CollectionStore, "is_empty")
    with pytest.raises(StoreInternalsError, match="missing"):
        memory.check_internals()
