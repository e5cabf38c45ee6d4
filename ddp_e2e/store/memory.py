"""Index fast paths for mongomock 4.3: hooks into its store and its query entry point.

Why hook mongomock instead of writing our own in-memory database: mongomock's matcher and update
operators are what make the memory store behave like MongoDB for the services; re-implementing
them would be a second, less tested database. The only thing wrong with it for a server is the
full scan on every query (perf-anchors.md §2.6). So this module leaves matching and updating to
mongomock and only narrows *which* documents it looks at:

* every write to a document set goes through ``CollectionStore.__setitem__``/``__delitem__``
  (insert, upsert, rollback, delete, TTL expiry) or mutates a stored document *in place* inside
  ``Collection._update`` (``$set``, ``$push``...). The store of each collection we open is
  switched to :class:`IndexedCollectionStore`, which maintains an :class:`IndexSet` on the first
  two; ``_update`` is wrapped to re-index the documents it yielded (and so may have mutated).
* ``Collection._iter_documents`` (the single place every read, count, update and delete asks
  for matching documents) is wrapped to take the candidates from the index and then still run
  mongomock's ``filter_applies`` on each one, in insertion order, exactly like the original.

The wrappers are installed on mongomock's classes once, and only act on stores that are
:class:`IndexedCollectionStore`; any other mongomock collection in the process behaves exactly as
before. They depend on mongomock 4.3 internals, so :func:`check_internals` fingerprints the
source of every function they rely on and refuses to start if any of it changed.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import logging
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from typing import Any

from .indexes import IndexSet

log = logging.getLogger(__name__)

__all__ = [
    "IndexedCollectionStore",
    "StoreInternalsError",
    "check_internals",
    "install",
    "make_indexed",
]

#: mongomock version whose internals the hooks were written against.
PINNED_MONGOMOCK = "4.3."

#: sha256[:16] of the source of every mongomock internal the hooks rely on (mongomock 4.3.0).
#: If one differs, re-read that function in mongomock, re-check the hook, then update the value.
_FINGERPRINTS: dict[str, str] = {
    "Collection._iter_documents": "aed52162ed03559f",
    "Collection._update": "3db2c47fedfaf5ad",
    "Collection._insert": "dde5bac79a59d984",
    "Collection._delete": "8e0b60ea000e028e",
    "Collection._ensure_uniques": "a64dbece5952afa3",
    "Collection._store": "8a6644b404304a12",
    "CollectionStore.__init__": "43c6b74ce0f0bc44",
    "CollectionStore.__setitem__": "ddb9262cba4bc96f",
    "CollectionStore.__delitem__": "07d16e75a0ad68e3",
    "CollectionStore.drop": "91d28731601a4095",
    "CollectionStore.documents": "3a4711ec60255861",
    "CollectionStore.is_empty": "034ff3520a916b66",
    "DatabaseStore.__getitem__": "91391e0065016ba6",
}


#: Attribute on our wrappers pointing at the mongomock function they wrap (fingerprinted).
_ORIGINAL = "_ddp_e2e_original"


class StoreInternalsError(RuntimeError):
    """mongomock's internals are not the ones the index hooks were written for."""


def _targets() -> dict[str, Any]:
    """The mongomock functions the hooks rely on (the originals, even once wrapped)."""
    from mongomock import collection as mcollection
    from mongomock import store as mstore

    coll, cstore = mcollection.Collection, mstore.CollectionStore
    found = {
        "Collection._iter_documents": coll._iter_documents,
        "Collection._update": coll._update,
        "Collection._insert": coll._insert,
        "Collection._delete": coll._delete,
        "Collection._ensure_uniques": coll._ensure_uniques,
        "Collection._store": coll._store.fget,
        "CollectionStore.__init__": cstore.__init__,
        "CollectionStore.__setitem__": cstore.__setitem__,
        "CollectionStore.__delitem__": cstore.__delitem__,
        "CollectionStore.drop": cstore.drop,
        "CollectionStore.documents": cstore.documents.fget,
        "CollectionStore.is_empty": cstore.is_empty.fget,
        "DatabaseStore.__getitem__": mstore.DatabaseStore.__getitem__,
    }
    return {name: getattr(fn, _ORIGINAL, fn) for name, fn in found.items()}


def _fingerprint(obj: Any) -> str:
    return hashlib.sha256(inspect.getsource(obj).encode("utf-8")).hexdigest()[:16]


def check_internals() -> None:
    """Fail loudly unless mongomock is the 4.3 code the hooks were written against."""
    try:
        import mongomock
        from mongomock import filtering  # noqa: F401  (filter_applies is used below)

        version = getattr(mongomock, "__version__", "?")
        if not str(version).startswith(PINNED_MONGOMOCK):
            raise StoreInternalsError(
                f"ddp_e2e.store.memory is pinned to mongomock {PINNED_MONGOMOCK}x internals, found {version}; "
                "re-check the hooks in ddp_e2e/store/memory.py before changing the pin"
            )
        targets = _targets()
    except (ImportError, AttributeError) as exc:
        raise StoreInternalsError(f"mongomock internals used by the memory store are missing: {exc}") from exc
    changed = []
    for name, obj in targets.items():
        try:
            fp = _fingerprint(obj)
        except (OSError, TypeError) as exc:
            raise StoreInternalsError(f"cannot read the source of mongomock {name}: {exc}") from exc
        if fp != _FINGERPRINTS[name]:
            changed.append(f"{name} (expected {_FINGERPRINTS[name]}, found {fp})")
    if changed:
        raise StoreInternalsError(
            "mongomock internals changed under the memory store's index hooks: "
            + "; ".join(changed)
            + ". Re-check ddp_e2e/store/memory.py against the new code, then update _FINGERPRINTS."
        )


class _Pending:
    """Documents an ``_update`` call yielded (and so may have mutated in place)."""

    __slots__ = ("docs", "flushed")

    def __init__(self) -> None:
        self.docs: list[dict[str, Any]] = []
        self.flushed = 0


def _base_store_class() -> type:
    from mongomock.store import CollectionStore

    return CollectionStore


def _store_key(doc: Mapping[str, Any]) -> Hashable:
    from mongomock import helpers

    _id = doc.get("_id")
    if isinstance(_id, dict):
        return helpers.hashdict(_id)
    return _id


class IndexedCollectionStore(_base_store_class()):  # type: ignore[misc]
    """A mongomock ``CollectionStore`` that keeps secondary indexes in step with every write.

    Instances are made by :func:`make_indexed` (class switch of an existing store, so the
    database keeps the very object other mongomock collections already refer to).
    """

    _ix: IndexSet
    _ix_pending: list[_Pending]
    _ix_lock: threading.RLock

    def _ix_setup(self, paths: Iterable[str]) -> None:
        self._ix = IndexSet()
        self._ix_pending = []
        self._ix_lock = threading.RLock()
        with self._rwlock.reader():
            for skey, doc in self._documents.items():
                self._ix.put(skey, doc)
        for path in paths:
            self.add_index_path(path)

    # --- writes ---------------------------------------------------------------------------

    def __setitem__(self, key: Hashable, val: dict[str, Any]) -> None:
        with self._rwlock.writer(), self._ix_lock:
            self._documents[key] = val
            self._ix.put(key, val)

    def __delitem__(self, key: Hashable) -> None:
        with self._rwlock.writer(), self._ix_lock:
            del self._documents[key]
            self._ix.discard(key)

    def drop(self) -> None:
        with self._ix_lock:
            super().drop()
            self._ix.clear()

    def add_index_path(self, path: str) -> bool:
        """Start indexing ``path`` (built over the current documents); False if already indexed."""
        with self._rwlock.reader(), self._ix_lock:
            return self._ix.add_path(path, self._documents)

    @property
    def index_paths(self) -> tuple[str, ...]:
        return self._ix.paths

    def reindex(self, docs: Iterable[dict[str, Any]]) -> None:
        """Re-read the indexed values of stored documents that may have been mutated in place."""
        with self._ix_lock:
            for doc in docs:
                try:
                    skey = _store_key(doc)
                    current = self._documents.get(skey)
                except TypeError:  # unhashable _id: mongomock could not have stored it
                    continue
                if current is doc:  # else: replaced (rollback) or deleted; already indexed
                    self._ix.put(skey, doc)

    def _flush_pending(self) -> None:
        for pending in self._ix_pending:
            if pending.flushed < len(pending.docs):
                self.reindex(pending.docs[pending.flushed :])
                pending.flushed = len(pending.docs)

    # --- reads ----------------------------------------------------------------------------

    def candidates(self, spec: Any) -> list[dict[str, Any]] | None:
        """Stored documents that may match ``spec``, in insertion order; None = must scan."""
        if not isinstance(spec, Mapping):
            return None
        with self._rwlock.reader(), self._ix_lock:
            skeys = self._ix.plan(spec, self._documents)
            if skeys is None:
                return None
            docs = self._documents
            return [docs[k] for k in self._ix.ordered(skeys)]

    def iter_matching(self, spec: Any) -> Iterator[dict[str, Any]]:
        """Replacement for ``Collection._iter_documents`` over this store (same contract)."""
        from mongomock.filtering import filter_applies

        self._flush_pending()
        if self.is_empty:  # also expires TTL documents, like the original
            filter_applies(spec, {})  # validates the filter even if nothing can match
        docs = self.candidates(spec)
        if docs is None:
            docs = list(self.documents)
        elif not docs:
            filter_applies(spec, {})
        recorder = self._ix_pending[-1].docs if self._ix_pending else None
        return _matching(spec, docs, recorder, filter_applies)


def _matching(
    spec: Any,
    docs: list[dict[str, Any]],
    recorder: list[dict[str, Any]] | None,
    applies: Callable[[Any, Any], bool],
) -> Iterator[dict[str, Any]]:
    for doc in docs:
        if applies(spec, doc):
            if recorder is not None:
                recorder.append(doc)
            yield doc


def _unshare(docs: list[dict[str, Any]]) -> None:
    """Give each document updated by one multi-document ``_update`` its own containers.

    mongomock's ``$push`` (and ``$addToSet``) appends the *same* sub-document object to every
    matched document, so a later in-place update of one document silently changed the others
    (and left their index entries stale). MongoDB documents never share state; copying
    the touched documents' containers restores that.
    """
    seen: set[int] = set()
    for doc in docs:
        if id(doc) in seen:
            continue
        seen.add(id(doc))
        for key, value in doc.items():
            if isinstance(value, dict | list):
                doc[key] = copy.deepcopy(value)


_installed = False
_install_lock = threading.Lock()


def install() -> None:
    """Wrap ``Collection._iter_documents`` and ``Collection._update`` once (idempotent).

    The wrappers dispatch on the store's type, so plain mongomock collections keep the original
    behaviour bit for bit.
    """
    global _installed
    with _install_lock:
        if _installed:
            return
        check_internals()
        from mongomock.collection import Collection

        original_iter = Collection._iter_documents
        original_update = Collection._update

        def _iter_documents(self: Any, filter: Any) -> Iterator[dict[str, Any]]:
            store = self._store
            if type(store) is IndexedCollectionStore:
                return store.iter_matching(filter)
            return original_iter(self, filter)

        def _update(self: Any, *args: Any, **kwargs: Any) -> Any:
            store = self._store
            if type(store) is not IndexedCollectionStore:
                return original_update(self, *args, **kwargs)
            pending = _Pending()
            store._ix_pending.append(pending)
            try:
                return original_update(self, *args, **kwargs)
            finally:
                store._ix_pending.remove(pending)
                if len(pending.docs) > 1:
                    _unshare(pending.docs)
                store.reindex(pending.docs)

        setattr(_iter_documents, _ORIGINAL, original_iter)
        setattr(_update, _ORIGINAL, original_update)
        Collection._iter_documents = _iter_documents
        Collection._update = _update
        _installed = True
        log.debug("mongomock index hooks installed", extra={"mongomock_pin": PINNED_MONGOMOCK})


def make_indexed(sync_database: Any, name: str, paths: Iterable[str] = ()) -> IndexedCollectionStore:
    """Switch the store of collection ``name`` of a mongomock ``Database`` to an indexed one.

    Idempotent: an already indexed store just gains any new paths.
    """
    install()
    db_store = getattr(sync_database, "_store", None)
    if db_store is None or not hasattr(db_store, "_collections"):
        raise StoreInternalsError("mongomock Database has no _store._collections")
    store = db_store[name]
    if type(store) is IndexedCollectionStore:
        for p in paths:
            store.add_index_path(p)
        return store
    if type(store) is not _base_store_class():
        raise StoreInternalsError(f"unexpected mongomock store type {type(store).__name__} for {name!r}")
    store.__class__ = IndexedCollectionStore
    store._ix_setup(paths)
    return store
