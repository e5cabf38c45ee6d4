"""The indexed memory store answers exactly like plain mongomock, for random queries and writes.

Two mongomock databases get the same seeded stream of operations: one plain, one whose
collection store is indexed (ddp_e2e.store.memory). After every operation the results (returned
documents in order, counts, raised error types) and the full contents must be identical. The
value pool is chosen to hit the index's edge cases: equal ints and floats, bools, None and
missing fields, nested arrays, arrays of sub-documents, aware datetimes, values that change.
"""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import mongomock
import pytest
from bson.int64 import Int64
from pymongo import ReturnDocument

from ddp_e2e.store import memory
from ddp_e2e.store.indexes import IndexSet

PATHS = ("a", "b.c", "arr.x", "tags", "u._id", "rid")
T = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
# Int64 is an int subclass the index does not model (kept as an "always candidate").
SCALARS: list[Any] = [
    "x",
    "y",
    "z",
    1,
    1.0,
    2,
    True,
    False,
    0,
    None,
    T,
    T + timedelta(seconds=1),
    "",
    "1",
    Int64(2),
]


def _value(rng: random.Random, depth: int = 0) -> Any:
    r = rng.random()
    if r < 0.7 or depth > 1:
        return rng.choice(SCALARS)
    if r < 0.85:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {"c": _value(rng, depth + 1)}


def _doc(rng: random.Random, _id: str) -> dict[str, Any]:
    d: dict[str, Any] = {"_id": _id, "n": rng.randint(0, 9)}
    if rng.random() < 0.85:
        d["a"] = _value(rng)
    shape = rng.random()
    if shape < 0.4:
        d["b"] = {"c": _value(rng)}
    elif shape < 0.6:
        d["b"] = [{"c": _value(rng)} for _ in range(rng.randint(0, 3))]
    elif shape < 0.7:
        d["b"] = rng.choice(SCALARS)
    if rng.random() < 0.7:
        d["arr"] = [{"x": _value(rng)} for _ in range(rng.randint(0, 3))]
    if rng.random() < 0.6:
        d["tags"] = [rng.choice(SCALARS[:6]) for _ in range(rng.randint(0, 3))]
    if rng.random() < 0.8:
        d["u"] = {"_id": rng.choice(["u1", "u2", "u3"]), "username": "n"}
    if rng.random() < 0.8:
        d["rid"] = rng.choice(["r1", "r2", "r3", "r4"])
    return d


def _cond(rng: random.Random, ids: list[str]) -> tuple[str, Any]:
    field = rng.choice([*PATHS, "_id", "_id", "n", "b", "arr"])
    if field == "_id":
        pool: list[Any] = [*ids[-20:], "missing", 1]
    elif field in ("u._id",):
        pool = ["u1", "u2", "u3", "u9"]
    elif field == "rid":
        pool = ["r1", "r2", "r3", "r9"]
    elif field == "n":
        pool = list(range(10))
    else:
        pool = SCALARS
    kind = rng.random()
    if kind < 0.45:
        return field, rng.choice(pool)
    if kind < 0.55:
        return field, {"$eq": rng.choice(pool)}
    if kind < 0.75:
        return field, {"$in": rng.sample(pool, k=min(len(pool), rng.randint(0, 3)))}
    if kind < 0.8:
        return field, {"$ne": rng.choice(pool)}
    if kind < 0.85:
        return field, {"$exists": rng.random() < 0.5}
    if kind < 0.9:
        return field, {"$gt": rng.choice([0, 1, "a"])}
    if kind < 0.95:
        return field, [rng.choice(pool)]  # array equality
    return field, {"$in": [rng.choice(pool)], "$nin": [rng.choice(pool)]}


def _filter(rng: random.Random, ids: list[str]) -> dict[str, Any]:
    r = rng.random()
    if r < 0.08:
        return {}
    if r < 0.16:
        return {"$and": [_filter(rng, ids), dict([_cond(rng, ids)])]}
    if r < 0.24:
        return {"$or": [dict([_cond(rng, ids)]) for _ in range(rng.randint(1, 3))], **dict([_cond(rng, ids)])}
    return dict(_cond(rng, ids) for _ in range(rng.randint(1, 3)))


def _update(rng: random.Random) -> dict[str, Any]:
    r = rng.random()
    if r < 0.25:
        return {"$set": {rng.choice(["a", "b.c", "rid", "u._id", "n"]): _value(rng)}}
    if r < 0.35:
        return {"$unset": {rng.choice(["a", "b", "arr", "tags", "rid"]): ""}}
    if r < 0.5:
        return {"$push": {"arr": {"x": _value(rng)}}}
    if r < 0.6:
        return {"$pull": {"arr": {"x": rng.choice(SCALARS)}}}
    if r < 0.7:
        return {"$addToSet": {"tags": rng.choice(SCALARS[:6])}}
    if r < 0.78:
        return {"$pull": {"tags": rng.choice(SCALARS[:6])}}
    if r < 0.86:
        return {"$inc": {"n": 1}}
    if r < 0.93:
        return {"$set": {"arr.0.x": _value(rng)}}
    return {"$set": {"a": _value(rng), "rid": rng.choice(["r1", "r2"])}, "$inc": {"n": 2}}


def _multi_update(rng: random.Random) -> dict[str, Any]:
    """Updates without pushed sub-documents: mongomock's $push gives every document an
    update_many matches the *same* object (documents then share state, unlike MongoDB); our
    store unshares them, so that case is checked separately below."""
    r = rng.random()
    if r < 0.3:
        return {"$set": {rng.choice(["a", "b.c", "rid", "u._id", "n", "arr.0.x"]): rng.choice(SCALARS)}}
    if r < 0.45:
        return {"$unset": {rng.choice(["a", "b", "arr", "tags", "rid"]): ""}}
    if r < 0.6:
        return {"$pull": {"arr": {"x": rng.choice(SCALARS)}}}
    if r < 0.75:
        return {"$addToSet": {"tags": rng.choice(SCALARS[:6])}}
    if r < 0.85:
        return {"$pull": {"tags": rng.choice(SCALARS[:6])}}
    return {"$inc": {"n": 1}}


def _outcome(fn: Any, *args: Any, **kwargs: Any) -> tuple[str, Any]:
    try:
        result = fn(*copy.deepcopy(args), **kwargs)
    except Exception as exc:  # compared by type: both sides must fail the same way
        return ("error", type(exc).__name__)
    if hasattr(result, "upserted_id"):
        return ("ok", (result.matched_count, result.modified_count, result.upserted_id))
    if hasattr(result, "deleted_count"):
        return ("ok", result.deleted_count)
    if hasattr(result, "inserted_id"):
        return ("ok", result.inserted_id)
    if hasattr(result, "inserted_ids"):
        return ("ok", result.inserted_ids)
    if hasattr(result, "__next__"):
        return ("ok", list(result))
    return ("ok", result)


def _both(plain: Any, ours: Any, method: str, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """Run one operation on both collections (each with its own copy of the arguments)."""
    return (
        _outcome(getattr(plain, method), *args, **kwargs),
        _outcome(getattr(ours, method), *args, **kwargs),
    )


def _pair(unique: bool) -> tuple[Any, Any, Any]:
    plain = mongomock.MongoClient().db.c
    client = mongomock.MongoClient()
    ours = client.db.c
    store = memory.make_indexed(client.db, "c", PATHS)
    if unique:
        for coll in (plain, ours):
            coll.create_index("rid", unique=True, sparse=True)
    return plain, ours, store


def _step(rng: random.Random, plain: Any, ours: Any, ids: list[str], step: int) -> tuple[Any, Any]:
    op = rng.random()
    if op < 0.25 or len(ids) < 5:
        ids.append(f"d{len(ids)}")
        return _both(plain, ours, "insert_one", _doc(rng, ids[-1]))
    if op < 0.3:
        docs = [_doc(rng, f"d{len(ids) + i}") for i in range(3)]
        ids.extend(d["_id"] for d in docs)
        return _both(plain, ours, "insert_many", docs)
    if op < 0.45:
        return _both(plain, ours, "update_one", _filter(rng, ids), _update(rng))
    if op < 0.55:
        return _both(plain, ours, "update_many", _filter(rng, ids), _multi_update(rng))
    if op < 0.6:
        f, u = _filter(rng, ids), _update(rng)
        return _both(plain, ours, "find_one_and_update", f, u, return_document=ReturnDocument.AFTER)
    if op < 0.64:
        repl = _doc(rng, "ignored")
        del repl["_id"]
        f = {"_id": rng.choice([*ids, "fresh"])}
        return _both(plain, ours, "replace_one", f, repl, upsert=rng.random() < 0.5)
    if op < 0.67:
        f = {"_id": f"up{step}", "rid": rng.choice(["r1", "r5"])}
        return _both(plain, ours, "update_one", f, {"$set": {"a": _value(rng)}}, upsert=True)
    if op < 0.72:
        return _both(plain, ours, "delete_one", _filter(rng, ids))
    if op < 0.74:
        return _both(plain, ours, "delete_many", _filter(rng, ids))
    f = _filter(rng, ids)
    a, b = _both(plain, ours, "count_documents", f)
    assert a == b, f
    a, b = _both(plain, ours, "find_one", f)
    assert a == b, f
    sort = rng.choice([None, [("n", -1)], [("a", 1), ("_id", 1)]])
    return _both(plain, ours, "find", f, sort=sort, limit=rng.choice([0, 1, 3]))


@pytest.mark.parametrize("seed", range(12))
def test_random_operations_match_plain_mongomock(seed: int) -> None:
    rng = random.Random(seed)
    plain, ours, store = _pair(unique=(seed % 4 == 3))
    ids: list[str] = []
    for step in range(260):
        a, b = _step(rng, plain, ours, ids, step)
        assert a == b, (seed, step)
        if step % 20 == 0:
            assert list(plain.find()) == list(ours.find()), (seed, step)
    assert list(plain.find()) == list(ours.find())
    # and the incremental index equals one rebuilt from scratch
    fresh = IndexSet(PATHS)
    for key, doc in store._documents.items():
        fresh.put(key, doc)
    assert fresh._entries == store._ix._entries


def test_index_follows_in_place_updates_of_array_subdocuments() -> None:
    client = mongomock.MongoClient()
    users = client.db.users
    memory.make_indexed(client.db, "users", ("services.resume.loginTokens.hashedToken",))
    users.insert_one({"_id": "u1", "services": {"resume": {"loginTokens": [{"hashedToken": "h1"}]}}})
    users.insert_one({"_id": "u2", "services": {"resume": {"loginTokens": []}}})
    q = "services.resume.loginTokens.hashedToken"
    users.update_one({"_id": "u2"}, {"$push": {"services.resume.loginTokens": {"hashedToken": "h2"}}})
    assert users.find_one({q: "h2"})["_id"] == "u2"
    users.update_one({"_id": "u1"}, {"$pull": {"services.resume.loginTokens": {"hashedToken": "h1"}}})
    assert users.find_one({q: "h1"}) is None
    users.update_many({}, {"$set": {"services.resume.loginTokens": [{"hashedToken": "same"}]}})
    assert [d["_id"] for d in users.find({q: "same"})] == ["u1", "u2"]
    users.delete_one({"_id": "u1"})
    assert [d["_id"] for d in users.find({q: {"$in": ["same", "h2"]}})] == ["u2"]
    users.drop()
    assert users.find_one({q: "same"}) is None
    users.insert_one({"_id": "u3", "services": {"resume": {"loginTokens": [{"hashedToken": "same"}]}}})
    assert users.find_one({q: "same"})["_id"] == "u3"


def test_results_keep_insertion_order_when_index_values_change() -> None:
    client = mongomock.MongoClient()
    coll = client.db.m
    memory.make_indexed(client.db, "m", ("rid",))
    coll.insert_many([{"_id": f"m{i}", "rid": "b" if i % 2 else "a"} for i in range(6)])
    coll.update_one({"_id": "m0"}, {"$set": {"rid": "b"}})  # m0 joins "b" last, but is oldest
    assert [d["_id"] for d in coll.find({"rid": "b"})] == ["m0", "m1", "m3", "m5"]
    coll.replace_one({"_id": "m1"}, {"rid": "a"})
    assert [d["_id"] for d in coll.find({"rid": "a"})] == ["m1", "m2", "m4"]


def test_update_many_with_container_values_leaves_documents_independent() -> None:
    """MongoDB semantics (and a correct index) where plain mongomock shares one object."""
    update_many = {"$push": {"arr": {"x": 1}}}
    then = {"$set": {"arr.0.x": 3}}
    plain = mongomock.MongoClient().db.c
    plain.insert_many([{"_id": "a"}, {"_id": "b"}])
    plain.update_many({}, update_many)
    plain.update_one({"_id": "a"}, then)
    assert plain.find_one({"_id": "b"})["arr"] == [{"x": 3}]  # the mongomock leak we avoid

    client = mongomock.MongoClient()
    coll = client.db.c
    memory.make_indexed(client.db, "c", ("arr.x",))
    coll.insert_many([{"_id": "a"}, {"_id": "b"}])
    coll.update_many({}, update_many)
    coll.update_one({"_id": "a"}, then)
    coll.update_one({"_id": "a"}, {"$push": {"arr": {"x": 2}}})
    assert coll.find_one({"_id": "b"}) == {"_id": "b", "arr": [{"x": 1}]}
    assert coll.find_one({"_id": "a"}) == {"_id": "a", "arr": [{"x": 3}, {"x": 2}]}
    assert [d["_id"] for d in coll.find({"arr.x": 1})] == ["b"]
    assert [d["_id"] for d in coll.find({"arr.x": 3})] == ["a"]
    assert [d["_id"] for d in coll.find({"arr.x": 2})] == ["a"]
