"""Server frames as comparison items: what each one is and what it is paired by.

:func:`classify` turns one normalised server frame into :class:`Item` objects for the
:class:`~ddp_e2e.replay.compare.Comparator`: ``keyed`` (``result``/``updated``/``ready``/``nosub``
by id, ``connected`` once; an ``updated`` or ``ready`` for several ids gives one item per id),
``data`` (``added``/``changed``/``removed``...), ``event`` (``changed`` on a ``stream-*``
collection) and ``other``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from .difference import frame_label
from .segments import Indexed

DATA_MSGS = frozenset({"added", "changed", "removed", "addedBefore", "movedBefore"})
BARRIERS = frozenset({"ready", "updated"})


@dataclass(eq=False, slots=True)
class Item:
    side: str  # "e" or "a"
    index: int
    segment: int
    text: str
    norm: dict[str, Any]
    cls: str  # "keyed", "data", "event", "other"
    key: tuple[str, str] | None
    shape: tuple[Any, ...]
    label: str
    done: bool = False


@dataclass(slots=True)
class Pair:
    e: Item
    a: Item


@dataclass(slots=True)
class SegmentLog:
    data: list[Pair] = field(default_factory=list)
    barriers: list[Pair] = field(default_factory=list)


def classify(side: str, seg: int, indexed: Indexed, norm: dict[str, Any]) -> list[Item]:
    """The items of one server frame of ``side`` in segment ``seg``, ``norm`` being it normalised."""
    text = indexed.frame.text
    raw = loads(text)
    msg = norm.get("msg")

    def make(
        cls: str, key: tuple[str, str] | None, shape: tuple[Any, ...], n: dict[str, Any], label: str
    ) -> Item:
        return Item(side, indexed.index, seg, text, n, cls, key, shape, label)

    label = frame_label(raw)
    if msg in ("updated", "ready") and isinstance(
        norm.get("methods" if msg == "updated" else "subs"), list
    ):
        field_name = "methods" if msg == "updated" else "subs"
        raw_ids = raw.get(field_name) if isinstance(raw, dict) else None
        items = []
        for pos, alias in enumerate(norm[field_name]):
            shown = raw_ids[pos] if isinstance(raw_ids, list) and pos < len(raw_ids) else alias
            one = {**norm, field_name: [alias]}
            items.append(make("keyed", (msg, str(alias)), (msg,), one, f"{msg} for id={dump(shown)}"))
        return items
    if msg in ("result", "nosub") and isinstance(norm.get("id"), str):
        return [make("keyed", (msg, norm["id"]), (msg,), norm, label)]
    if msg in ("connected", "failed"):
        return [make("keyed", (msg, ""), (msg,), norm, label)]
    if msg in DATA_MSGS:
        collection = norm.get("collection")
        if msg == "changed" and isinstance(collection, str) and collection.startswith("stream-"):
            fields = norm.get("fields")
            event = fields.get("eventName") if isinstance(fields, dict) else None
            return [make("event", None, ("event", collection, dump(event)), norm, label)]
        return [make("data", None, (msg, dump(collection)), norm, label)]
    return [make("other", None, ("other", dump(msg)), norm, label)]


def loads(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def label_of(text: str) -> str:
    return frame_label(loads(text))


def dump(value: Any) -> str:
    return orjson.dumps(value).decode() if value is not None else "null"
