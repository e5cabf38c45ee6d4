"""The per-connection merge box (Meteor's SessionCollectionView / SessionDocumentView).

Several subscriptions of one connection may publish the same document, each with its own
fields. The client keeps one copy per (collection, id) and throws on a second ``added``, so
the server keeps the union and sends only the difference (spec ddp-protocol.md §3.4, Meteor's
default ``SERVER_MERGE`` strategy):

* the first subscription to publish a field has precedence; when it stops caring (clears the
  field, removes the document, or stops), the next one's value is revealed with ``changed``;
* ``added`` for a document already in the view becomes ``changed`` with only the new or
  different fields, or nothing at all; ``changed`` is never sent empty;
* the last subscription to remove a document sends ``removed``;
* ``_id`` in fields is ignored; values compare with ``EJSON.equals`` semantics.

Sans-I/O: every method returns the DDP messages (plain dicts, Meteor's key order) to send,
and never raises for a publication's mistake: where Meteor throws server side (``changed`` or
``removed`` of a document the subscription never added) we log and return ``[]`` so the
connection survives.

Values are copied on the way in (dicts and lists only; scalars, dates and bytes are
immutable), so a publication may mutate its documents afterwards without corrupting the
view. Values in the returned messages and snapshots are shared with the box: treat them as
read-only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, TypeAlias

from .ejson import equals

__all__ = ["MergeBox", "ViewSnapshot"]

log = logging.getLogger(__name__)

ViewSnapshot: TypeAlias = dict[str, dict[str, dict[str, Any]]]
"""The client's view: ``{collection: {doc_id: {field: value}}}``."""

_CLEARED = object()  # in a change collector: the field disappears from the client's view
_NONE = object()


def _clone(value: Any) -> Any:
    t = type(value)
    if t is dict:
        return {k: _clone(v) for k, v in value.items()}
    if t is list:
        return [_clone(v) for v in value]
    return value


def _changed_message(collection: str, doc_id: str, collector: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``changed`` message for a collector (``fields`` and ``cleared`` only when non-empty)."""
    if not collector:
        return []
    fields: dict[str, Any] = {}
    cleared: list[str] = []
    for key, value in collector.items():
        if value is _CLEARED:
            cleared.append(key)
        else:
            fields[key] = value
    msg: dict[str, Any] = {"msg": "changed", "collection": collection, "id": doc_id}
    if fields:
        msg["fields"] = fields
    if cleared:
        msg["cleared"] = cleared
    return [msg]


def _added_message(collection: str, doc_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    msg: dict[str, Any] = {"msg": "added", "collection": collection, "id": doc_id}
    if fields:
        msg["fields"] = fields
    return msg


def _removed_message(collection: str, doc_id: str) -> dict[str, Any]:
    return {"msg": "removed", "collection": collection, "id": doc_id}


class _DocView:
    """One document of the view: which subs have it, and per field the values by precedence."""

    __slots__ = ("data", "exists_in")

    def __init__(self) -> None:
        self.exists_in: dict[str, None] = {}  # ordered set of sub ids
        # field -> [[sub_id, value], ...], first entry is the one the client sees
        self.data: dict[str, list[list[Any]]] = {}

    def fields(self) -> dict[str, Any]:
        return {key: plist[0][1] for key, plist in self.data.items()}

    def change_field(
        self, sub_id: str, key: str, value: Any, collector: dict[str, Any], is_add: bool
    ) -> None:
        if key == "_id":
            return
        value = _clone(value)
        plist = self.data.get(key)
        if plist is None:
            self.data[key] = [[sub_id, value]]
            collector[key] = value
            return
        if not is_add:
            for elt in plist:
                if elt[0] == sub_id:
                    if elt is plist[0] and not equals(value, elt[1]):
                        collector[key] = value  # this sub owns the visible value and changes it
                    elt[1] = value
                    return
        plist.append([sub_id, value])  # this sub newly cares about the field

    def clear_field(self, sub_id: str, key: str, collector: dict[str, Any]) -> None:
        if key == "_id":
            return
        plist = self.data.get(key)
        if plist is None:
            return  # clearing a field that does not exist is fine
        removed_value: Any = _NONE
        for i, elt in enumerate(plist):
            if elt[0] == sub_id:
                if i == 0:
                    removed_value = elt[1]  # only the visible value's owner can change the view
                del plist[i]
                break
        if not plist:
            del self.data[key]
            collector[key] = _CLEARED
        elif removed_value is not _NONE and not equals(removed_value, plist[0][1]):
            collector[key] = plist[0][1]


class MergeBox:
    """The union of every subscription's documents for one connection."""

    __slots__ = ("_by_sub", "_views")

    def __init__(self) -> None:
        self._views: dict[str, dict[str, _DocView]] = {}
        # sub_id -> collection -> ordered set of doc ids, what stop/unsub must remove (in order)
        self._by_sub: dict[str, dict[str, dict[str, None]]] = {}

    # ------------------------------------------------------------------ publication side

    def added(
        self, sub_id: str, collection: str, doc_id: str, fields: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """A subscription publishes a document: ``added`` if the client lacks it, else ``changed``."""
        docs = self._views.get(collection)
        if docs is None:
            docs = self._views[collection] = {}
        self._by_sub.setdefault(sub_id, {}).setdefault(collection, {})[doc_id] = None
        view = docs.get(doc_id)
        collector: dict[str, Any] = {}
        if view is None:
            # The common case, a document the client does not have: every field is new.
            view = docs[doc_id] = _DocView()
            view.exists_in[sub_id] = None
            data = view.data
            for key, value in fields.items():
                if key != "_id":
                    if type(value) is dict or type(value) is list:
                        value = _clone(value)
                    data[key] = [[sub_id, value]]
                    collector[key] = value
            return [_added_message(collection, doc_id, collector)]
        # Meteor appends a second precedence entry when a sub re-adds its own document (and then
        # leaks it on removal); treating the repeat as a change of its own entry is the sane form.
        is_add = sub_id not in view.exists_in
        view.exists_in[sub_id] = None
        for key, value in fields.items():
            view.change_field(sub_id, key, value, collector, is_add)
        return _changed_message(collection, doc_id, collector)

    def changed(
        self,
        sub_id: str,
        collection: str,
        doc_id: str,
        fields: dict[str, Any],
        cleared: Iterable[str] = (),
    ) -> list[dict[str, Any]]:
        """A subscription changes fields (``fields``) and drops others (``cleared``).

        A key in both is cleared (Meteor's single dict cannot say both; clearing wins).
        """
        view = self._own_view(sub_id, collection, doc_id, "changed")
        if view is None:
            return []
        collector: dict[str, Any] = {}
        if cleared:
            cleared = cleared if isinstance(cleared, list | tuple | set | frozenset) else list(cleared)
            for key, value in fields.items():
                if key not in cleared:
                    view.change_field(sub_id, key, value, collector, False)
            for key in cleared:
                view.clear_field(sub_id, key, collector)
        else:
            for key, value in fields.items():
                view.change_field(sub_id, key, value, collector, False)
        return _changed_message(collection, doc_id, collector)

    def removed(self, sub_id: str, collection: str, doc_id: str) -> list[dict[str, Any]]:
        """A subscription stops publishing a document: ``removed`` if it was the last one."""
        view = self._own_view(sub_id, collection, doc_id, "removed")
        if view is None:
            return []
        subs_docs = self._by_sub[sub_id]
        ids = subs_docs[collection]
        del ids[doc_id]
        if not ids:
            del subs_docs[collection]
            if not subs_docs:
                del self._by_sub[sub_id]
        return self._remove(view, sub_id, collection, doc_id)

    def remove_subscription(self, sub_id: str) -> list[dict[str, Any]]:
        """Everything a stopping subscription takes away (sent before its ``nosub``).

        Documents go in the order the subscription added them, as Meteor's
        ``_removeAllDocuments`` does. An unknown or empty subscription gives ``[]``.
        """
        owned = self._by_sub.pop(sub_id, None)
        if not owned:
            return []
        out: list[dict[str, Any]] = []
        for collection, ids in owned.items():
            docs = self._views[collection]
            for doc_id in ids:
                out.extend(self._remove(docs[doc_id], sub_id, collection, doc_id))
        return out

    def _own_view(self, sub_id: str, collection: str, doc_id: str, op: str) -> _DocView | None:
        view = self._views.get(collection, {}).get(doc_id)
        if view is None or sub_id not in view.exists_in:
            log.warning(
                "merge box: %s of a document the subscription never added; ignored",
                op,
                extra={"sub_id": sub_id, "collection": collection, "doc_id": doc_id, "op": op},
            )
            return None
        return view

    def _remove(self, view: _DocView, sub_id: str, collection: str, doc_id: str) -> list[dict[str, Any]]:
        del view.exists_in[sub_id]
        if not view.exists_in:
            docs = self._views[collection]
            del docs[doc_id]
            if not docs:
                del self._views[collection]
            return [_removed_message(collection, doc_id)]
        collector: dict[str, Any] = {}
        for key in list(view.data):
            view.clear_field(sub_id, key, collector)
        return _changed_message(collection, doc_id, collector)

    # ------------------------------------------------------------------ whole view

    def get(self, collection: str, doc_id: str) -> dict[str, Any] | None:
        """The fields the client currently has for one document, or None if it has none."""
        view = self._views.get(collection, {}).get(doc_id)
        return None if view is None else view.fields()

    def snapshot(self) -> ViewSnapshot:
        """The client's current view (new dicts; values shared, read-only)."""
        return {
            collection: {doc_id: view.fields() for doc_id, view in docs.items()}
            for collection, docs in self._views.items()
        }

    def reset(self) -> None:
        """Forget everything (the first step of a login re-run; the client is not told)."""
        self._views.clear()
        self._by_sub.clear()

    def __len__(self) -> int:
        """Number of documents in the view."""
        return sum(len(docs) for docs in self._views.values())

    @staticmethod
    def diff(old: ViewSnapshot, new: ViewSnapshot) -> list[dict[str, Any]]:
        """The messages that turn the client's ``old`` view into ``new`` (Meteor's
        ``_diffCollectionViews``, in its order: old collections and documents first, in their
        order, with removals; then what only ``new`` has).
        """
        out: list[dict[str, Any]] = []
        for collection, old_docs in old.items():
            new_docs = new.get(collection)
            if new_docs is None:
                out.extend(_removed_message(collection, doc_id) for doc_id in old_docs)
                continue
            for doc_id, old_fields in old_docs.items():
                new_fields = new_docs.get(doc_id)
                if new_fields is None:
                    out.append(_removed_message(collection, doc_id))
                else:
                    out.extend(_changed_message(collection, doc_id, _diff_fields(old_fields, new_fields)))
            for doc_id, new_fields in new_docs.items():
                if doc_id not in old_docs:
                    out.append(_added_message(collection, doc_id, dict(new_fields)))
        for collection, new_docs in new.items():
            if collection not in old:
                out.extend(
                    _added_message(collection, doc_id, dict(fields)) for doc_id, fields in new_docs.items()
                )
        return out


def _diff_fields(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Meteor's ``diffObjects`` order: old keys (changed or cleared), then keys only in ``new``."""
    collector: dict[str, Any] = {}
    for key, old_value in old.items():
        if key in new:
            if not equals(old_value, new[key]):
                collector[key] = new[key]
        else:
            collector[key] = _CLEARED
    for key, new_value in new.items():
        if key not in old:
            collector[key] = new_value
    return collector
