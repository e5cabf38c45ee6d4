"""The Store: Motor-API collections over mongomock (memory://) or a real MongoDB (mongodb://).

Why one interface for both: services are written once against the Motor subset both share
(find_one, find + sort/skip/limit/to_list/async for, insert_one/many, update_one/many,
find_one_and_update, delete_one/many, count_documents, replace_one). The memory store is what
tests, demos and replays run on; the MongoDB store is what a deployment keeps. Collection names
are Rocket.Chat's, so a database written by one can be read by the other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from . import memory

log = logging.getLogger(__name__)

__all__ = [
    "COLLECTIONS",
    "DEFAULT_DB",
    "INDEX_SPECS",
    "MEMORY_INDEX_PATHS",
    "IndexSpec",
    "Store",
    "open_store",
]

DEFAULT_DB = "rocketchat"

#: Attribute name on Store -> Rocket.Chat collection name.
COLLECTIONS: dict[str, str] = {
    "users": "users",
    "rooms": "rocketchat_room",
    "subscriptions": "rocketchat_subscription",
    "messages": "rocketchat_message",
    "uploads": "rocketchat_uploads",
    "settings": "rocketchat_settings",
}


@dataclass(frozen=True)
class IndexSpec:
    """One MongoDB index, as Meteor accounts and Rocket.Chat's models create it."""

    keys: tuple[tuple[str, int], ...]
    unique: bool = False
    sparse: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    def kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.options)
        if self.unique:
            out["unique"] = True
        if self.sparse:
            out["sparse"] = True
        return out


#: The indexes created on MongoDB (and, for their uniqueness, on the memory store too).
#: Sources: Meteor accounts-base setupUsersCollection; Rocket.Chat packages/models (RoomsRaw,
#: SubscriptionsRaw, MessagesRaw modelIndexes). Only those our services query by are kept.
INDEX_SPECS: dict[str, tuple[IndexSpec, ...]] = {
    "users": (
        IndexSpec((("username", 1),), unique=True, sparse=True),
        IndexSpec((("emails.address", 1),), unique=True, sparse=True),
        IndexSpec((("services.resume.loginTokens.hashedToken", 1),), unique=True, sparse=True),
    ),
    "rocketchat_room": (
        IndexSpec((("name", 1),), unique=True, sparse=True),
        IndexSpec((("t", 1), ("ts", 1))),
        IndexSpec((("uids", 1),), sparse=True),
    ),
    "rocketchat_subscription": (
        IndexSpec((("rid", 1), ("u._id", 1)), unique=True),
        IndexSpec((("u._id", 1), ("name", 1), ("t", 1))),
    ),
    "rocketchat_message": (IndexSpec((("rid", 1), ("ts", 1), ("_updatedAt", 1))),),
    "rocketchat_uploads": (IndexSpec((("rid", 1),)),),
}

#: Paths the memory store keeps value -> documents maps for (``_id`` always has one). A filter
#: with an equality on several of them intersects their candidate sets, which is how the
#: compound ``{"u._id": uid, "rid": rid}`` lookup stays fast.
MEMORY_INDEX_PATHS: dict[str, tuple[str, ...]] = {
    "users": ("username", "emails.address", "services.resume.loginTokens.hashedToken"),
    "rocketchat_room": ("name", "t"),
    "rocketchat_subscription": ("rid", "u._id"),
    "rocketchat_message": ("rid",),
    "rocketchat_uploads": ("rid",),
}


class Store:
    """Motor-API collections of one database, plus the lifecycle around them."""

    def __init__(self, kind: str, client: Any, db: Any) -> None:
        if kind not in ("memory", "mongodb"):
            raise ValueError(f"unknown store kind {kind!r}")
        self.kind = kind
        self.client = client
        self.db = db
        self._collections: dict[str, Any] = {}
        self._closed = False

    def collection(self, name: str) -> Any:
        """The Motor(-compatible) collection ``name``; on memory, with its index fast paths."""
        coll = self._collections.get(name)
        if coll is None:
            if not isinstance(name, str) or not name or "$" in name or "\0" in name:
                raise ValueError(f"bad collection name {name!r}")
            if self.kind == "memory":
                memory.make_indexed(self.db.delegate, name, MEMORY_INDEX_PATHS.get(name, ()))
            coll = self.db[name]
            self._collections[name] = coll
        return coll

    @property
    def users(self) -> Any:
        return self.collection("users")

    @property
    def rooms(self) -> Any:
        return self.collection("rocketchat_room")

    @property
    def subscriptions(self) -> Any:
        return self.collection("rocketchat_subscription")

    @property
    def messages(self) -> Any:
        return self.collection("rocketchat_message")

    @property
    def uploads(self) -> Any:
        return self.collection("rocketchat_uploads")

    @property
    def settings(self) -> Any:
        return self.collection("rocketchat_settings")

    def index_paths(self, name: str) -> tuple[str, ...]:
        """Paths the memory store answers without a scan (besides ``_id``); () on MongoDB."""
        if self.kind != "memory":
            return ()
        self.collection(name)
        return memory.make_indexed(self.db.delegate, name).index_paths

    async def ensure_indexes(self) -> None:
        """Create :data:`INDEX_SPECS` (idempotent) and, on memory, the fast-path indexes.

        On memory the same unique indexes are created in mongomock so a duplicate username or
        room name fails there exactly as it would on MongoDB.
        """
        for name in COLLECTIONS.values():
            coll = self.collection(name)
            for spec in INDEX_SPECS.get(name, ()):
                await coll.create_index(list(spec.keys), **spec.kwargs())
        log.info("store indexes ensured", extra={"store_kind": self.kind, "db": self.db.name})

    async def close(self) -> None:
        """Release the client. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._collections.clear()
        close = getattr(self.client, "close", None)
        if close is not None:
            result = close()
            if hasattr(result, "__await__"):
                await result

    def __repr__(self) -> str:
        return f"<Store kind={self.kind} db={getattr(self.db, 'name', '?')}>"


def _memory_db_name(url: str) -> str:
    rest = url[len("memory:") :]
    if rest.startswith("//"):
        rest = rest[2:]
    rest = rest.strip("/")
    if not rest:
        return DEFAULT_DB
    if "/" in rest or "." in rest or "$" in rest or " " in rest:
        raise ValueError(f"bad memory store url {url!r}: use memory:// or memory://<dbname>")
    return rest


async def open_store(url: str = "memory://", *, create_indexes: bool = True) -> Store:
    """Open the store behind ``url``: ``memory://[db]`` (mongomock-motor) or ``mongodb://...``.

    The memory path fails loudly (StoreInternalsError) if mongomock's internals differ from the
    ones its fast paths hook. The MongoDB path uses Motor with ``tz_aware=True`` (dates come back
    as aware UTC datetimes on both) and the database named in the URL (default ``rocketchat``).
    With ``create_indexes`` (the default) the indexes are ensured before returning, which on
    MongoDB also proves the server is reachable.
    """
    if not isinstance(url, str):
        raise TypeError("store url must be a str")
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "memory":
        from mongomock_motor import AsyncMongoMockClient

        memory.check_internals()
        memory.install()
        client = AsyncMongoMockClient(tz_aware=True)
        store = Store("memory", client, client[_memory_db_name(url)])
    elif scheme in ("mongodb", "mongodb+srv"):
        from motor.motor_asyncio import AsyncIOMotorClient

        client = AsyncIOMotorClient(url, tz_aware=True)
        db = client.get_default_database(default=DEFAULT_DB)
        store = Store("mongodb", client, db)
    else:
        raise ValueError(f"unsupported store url scheme {scheme or url!r}: use memory:// or mongodb://")
    # Force the well-known collections (and their fast paths) into existence now.
    for name in COLLECTIONS.values():
        store.collection(name)
    if create_indexes:
        try:
            await store.ensure_indexes()
        except BaseException:
            await store.close()
            raise
    host = urlsplit(url).hostname if store.kind == "mongodb" else None
    log.info("store opened", extra={"store_kind": store.kind, "db": store.db.name, "host": host})
    return store
