"""Secondary indexes for the in-memory store: candidate sets for equality filters.

Why this exists: mongomock answers every query by copying the whole collection into a list and
running its matcher on each document (perf-anchors.md §2.6: 1.1 ms per ``find_one`` by ``_id`` at
1k documents, 11.7 ms at 10k). A chat server looks up users by resume token and subscriptions by
``(u._id, rid)`` on every call, so that cost grows with the workspace. This module keeps, per
indexed path, a map from value to the store keys holding it, and turns the top-level equality
parts of a filter into a *superset* of the matching documents.

The one rule that keeps results exact: an index may over-include, never under-include. The
caller still runs mongomock's own ``filter_applies`` on every candidate, so any doubt (a value
type whose equality we do not model, ``None`` which also matches missing fields, arrays,
sub-documents, regexes) is resolved by either keeping the document as an "always candidate"
or by declining to plan the query at all (the caller then scans, as plain mongomock does).

Pure data structure: no mongomock import, so it can be tested and reasoned about on its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId

__all__ = ["NOT_PLAIN", "IndexSet", "extract_keys", "value_key"]


class _NotPlain:
    """Marker for a value whose equality the index does not model."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_PLAIN"


NOT_PLAIN: Any = _NotPlain()

# Exact types only: subclasses (bson.Int64, bson.Binary, str enums...) may carry their own
# equality rules in the matcher, so they are treated as NOT_PLAIN (always candidates).
_PLAIN_EXACT: frozenset[type] = frozenset({str, int, bool, bytes, ObjectId, uuid.UUID})


def value_key(value: Any) -> Hashable:
    """Hashable key under which ``value`` is indexed, or ``NOT_PLAIN``.

    Python equality of these keys is at least as loose as MongoDB's for the same types
    (``1 == 1.0`` and ``True == 1`` collide, which only over-includes). Datetimes are normalised
    the way mongomock stores them (naive UTC, millisecond precision) so an aware filter value
    finds a stored naive one.
    """
    t = type(value)
    if t in _PLAIN_EXACT:
        return value
    if t is float:
        return value if value == value else NOT_PLAIN  # NaN equals NaN in MongoDB only
    if t is datetime:
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.replace(microsecond=(value.microsecond // 1000) * 1000)
    return NOT_PLAIN


def _step(node: Any, part: str, out: list[Any]) -> None:
    """Follow one path component, fanning out over arrays (at any nesting depth)."""
    if isinstance(node, Mapping):
        if part in node:
            out.append(node[part])
    elif isinstance(node, list | tuple):
        if part.isdigit():
            i = int(part)
            if i < len(node):
                out.append(node[i])
        for element in node:
            if isinstance(element, Mapping | list | tuple):
                _step(element, part, out)


def _collect(value: Any, keys: set[Hashable]) -> bool:
    """Add the index keys of a leaf value; True if some part of it is NOT_PLAIN."""
    if isinstance(value, list | tuple):
        other = False
        for element in value:
            other = _collect(element, keys) or other
        return other
    key = value_key(value)
    if key is NOT_PLAIN:
        return True
    keys.add(key)
    return False


def extract_keys(doc: Mapping[str, Any], parts: tuple[str, ...]) -> tuple[frozenset[Hashable], bool]:
    """All index keys a document holds at a dotted path, plus whether it must always be a candidate.

    Values inside arrays of sub-documents are reached (``services.resume.loginTokens.hashedToken``
    indexes every token of the user). A missing path gives no keys: an equality on a non-null
    value can never match a missing field.
    """
    nodes: list[Any] = [doc]
    for part in parts:
        nxt: list[Any] = []
        for node in nodes:
            _step(node, part, nxt)
        nodes = nxt
        if not nodes:
            return frozenset(), False
    keys: set[Hashable] = set()
    other = False
    for leaf in nodes:
        other = _collect(leaf, keys) or other
    return frozenset(keys), other


def _equality_keys(cond: Any) -> list[Hashable] | None:
    """Keys a top-level condition pins the field to, or None when it pins nothing we model."""
    if isinstance(cond, Mapping):
        if not cond or not all(isinstance(k, str) and k.startswith("$") for k in cond):
            return None  # sub-document equality: not modelled
        if "$eq" in cond:
            key = value_key(cond["$eq"])
            return None if key is NOT_PLAIN else [key]
        values = cond.get("$in")
        if isinstance(values, list | tuple):
            keys = []
            for v in values:
                key = value_key(v)
                if key is NOT_PLAIN:
                    return None  # None, regex, array... in $in: let the caller scan
                keys.append(key)
            return keys
        return None
    key = value_key(cond)
    return None if key is NOT_PLAIN else [key]


class _PathIndex:
    __slots__ = ("buckets", "other", "parts", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self.parts = tuple(path.split("."))
        self.buckets: dict[Hashable, set[Hashable]] = {}
        self.other: set[Hashable] = set()

    def add(self, skey: Hashable, entry: tuple[frozenset[Hashable], bool]) -> None:
        keys, other = entry
        for k in keys:
            bucket = self.buckets.get(k)
            if bucket is None:
                self.buckets[k] = {skey}
            else:
                bucket.add(skey)
        if other:
            self.other.add(skey)

    def remove(self, skey: Hashable, entry: tuple[frozenset[Hashable], bool]) -> None:
        keys, other = entry
        for k in keys:
            bucket = self.buckets.get(k)
            if bucket is not None:
                bucket.discard(skey)
                if not bucket:
                    del self.buckets[k]
        if other:
            self.other.discard(skey)

    def lookup(self, keys: Iterable[Hashable]) -> set[Hashable]:
        """Store keys holding any of ``keys``, plus the always-candidates.

        The result may be one of the index's own buckets: callers must treat it as read-only
        (copying a large bucket per query would make a lookup cost O(bucket)).
        """
        buckets = [b for b in map(self.buckets.get, keys) if b]
        if not self.other:
            if not buckets:
                return set()
            if len(buckets) == 1:
                return buckets[0]
        found = set(self.other)
        for bucket in buckets:
            found |= bucket
        return found


_ID_UNSAFE = (datetime,)  # store keys keep the raw _id; a normalised datetime would not find it


class IndexSet:
    """All secondary indexes of one collection, keyed by the store's own document keys.

    ``seq`` records insertion order (re-assigning an existing key keeps its place, as the
    ``OrderedDict`` behind mongomock does) so a planned query yields documents in exactly the
    order an unindexed scan would.
    """

    def __init__(self, paths: Iterable[str] = ()) -> None:
        self._paths: dict[str, _PathIndex] = {}
        self._entries: dict[Hashable, tuple[tuple[frozenset[Hashable], bool], ...]] = {}
        self._seq: dict[Hashable, int] = {}
        self._next = 0
        for p in paths:
            self._paths[p] = _PathIndex(p)

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(self._paths)

    def __len__(self) -> int:
        return len(self._seq)

    def add_path(self, path: str, documents: Mapping[Hashable, Mapping[str, Any]]) -> bool:
        """Index a new path over the existing documents; False if it was already indexed."""
        if path in self._paths:
            return False
        if not isinstance(path, str) or not path or any(not p for p in path.split(".")):
            raise ValueError(f"bad index path {path!r}")
        self._paths[path] = _PathIndex(path)
        for skey, doc in documents.items():
            self._index(skey, doc)
        return True

    def clear(self) -> None:
        for ix in self._paths.values():
            ix.buckets.clear()
            ix.other.clear()
        self._entries.clear()
        self._seq.clear()

    def put(self, skey: Hashable, doc: Mapping[str, Any]) -> None:
        """Index ``doc`` under ``skey``, replacing what that key held (keeps its order)."""
        if skey in self._seq:
            self._unindex(skey)
        else:
            self._seq[skey] = self._next
            self._next += 1
        self._index(skey, doc)

    def discard(self, skey: Hashable) -> None:
        if skey in self._seq:
            self._unindex(skey)
            del self._seq[skey]

    def _index(self, skey: Hashable, doc: Mapping[str, Any]) -> None:
        entries = []
        for ix in self._paths.values():
            entry = extract_keys(doc, ix.parts)
            ix.add(skey, entry)
            entries.append(entry)
        self._entries[skey] = tuple(entries)

    def _unindex(self, skey: Hashable) -> None:
        entries = self._entries.pop(skey, None)
        if entries is None:
            return
        for ix, entry in zip(self._paths.values(), entries, strict=False):
            ix.remove(skey, entry)

    # --- planning -------------------------------------------------------------------------

    def plan(self, spec: Mapping[str, Any], documents: Mapping[Hashable, Any]) -> set[Hashable] | None:
        """Store keys that may match ``spec``, or None when the filter gives no usable equality.

        Top-level equalities and ``$in`` on ``_id`` or on an indexed path are intersected; a
        top-level ``$and`` contributes its clauses' plans, an ``$or`` contributes the union of
        its branches when every branch can be planned.
        """
        sets: list[set[Hashable]] = []
        for field, cond in spec.items():
            if field == "$and":
                if isinstance(cond, list | tuple):
                    for clause in cond:
                        if isinstance(clause, Mapping):
                            sub = self.plan(clause, documents)
                            if sub is not None:
                                sets.append(sub)
            elif field == "$or":
                sub = self._plan_or(cond, documents)
                if sub is not None:
                    sets.append(sub)
            elif field == "_id":
                keys = _equality_keys(cond)
                if keys is not None and not any(isinstance(k, _ID_UNSAFE) for k in keys):
                    sets.append({k for k in keys if k in documents})
            else:
                ix = self._paths.get(field)
                if ix is not None:
                    keys = _equality_keys(cond)
                    if keys is not None:
                        sets.append(ix.lookup(keys))
        if not sets:
            return None
        sets.sort(key=len)
        result = set(sets[0])  # a copy: the inputs may be the index's own buckets
        for other in sets[1:]:
            if not result:
                break
            result &= other
        return result

    def _plan_or(self, branches: Any, documents: Mapping[Hashable, Any]) -> set[Hashable] | None:
        if not isinstance(branches, list | tuple) or not branches:
            return None
        union: set[Hashable] = set()
        for branch in branches:
            if not isinstance(branch, Mapping):
                return None
            sub = self.plan(branch, documents)
            if sub is None:
                return None
            union |= sub  # plan() results are fresh sets: in-place union is safe
        return union

    def ordered(self, skeys: Iterable[Hashable]) -> list[Hashable]:
        """Store keys in insertion order (the order an unindexed scan visits them)."""
        seq = self._seq
        return sorted((k for k in skeys if k in seq), key=seq.__getitem__)
