"""Semantic comparison of recorded and live server frames of one connection.

The comparison follows what DDP promises and nothing more (spec §4.3):

* ``result`` and ``updated`` are matched per method id, in either order and across segments;
  ``ready``/``nosub`` per sub id; ``connected`` once. Their absence is only certain at
  :meth:`Comparator.finish`.
* data messages (``added``/``changed``/``removed``) and stream events (``changed`` on a
  ``stream-*`` collection) are multisets: matched in any order within ``window`` segments of each
  other. A data message that came before a ``ready``/``updated`` in the recording must not come
  after all of them live ("added before ready").
* contents compare after :mod:`normalize` (ids aliased, dates tolerant, errors by code), keys in
  any order, aliases unified between the sides (:mod:`match`).

A *segment* is a client frame and the server frames that followed it until the next client
frame. The live runner feeds segments as the replay goes (:meth:`Comparator.feed`), so
differences appear early, and uses :meth:`Comparator.awaiting` to know what it still waits for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any

import orjson

from .difference import Difference, clip, format_diff, frame_label
from .match import Bindings, Mismatch, match_values
from .model import Frame
from .normalize import ALIAS_RE, NormalizeOptions, Normalizer
from .segments import Indexed, Segment, split_segments

__all__ = [
    "Comparator",
    "Difference",
    "Indexed",
    "Segment",
    "compare_connections",
    "format_diff",
    "split_segments",
]

_DATA_MSGS = frozenset({"added", "changed", "removed", "addedBefore", "movedBefore"})
_BARRIERS = frozenset({"ready", "updated"})


@dataclass(eq=False, slots=True)
class _Item:
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
class _Pair:
    e: _Item
    a: _Item


@dataclass(slots=True)
class _SegmentLog:
    data: list[_Pair] = field(default_factory=list)
    barriers: list[_Pair] = field(default_factory=list)


class Comparator:
    """Compares one connection, segment by segment; collects :class:`Difference` objects."""

    def __init__(
        self,
        options: NormalizeOptions | None = None,
        *,
        expected_start_ms: float | None = None,
        actual_start_ms: float | None = None,
        window: int = 1,
        on_pair: Callable[[str, str], None] | None = None,
    ) -> None:
        self.options = options or NormalizeOptions()
        self.window = window
        self.on_pair = on_pair
        self.bindings = Bindings()
        self.differences: list[Difference] = []
        self._norm = {
            "e": Normalizer(self.options, expected_start_ms),
            "a": Normalizer(self.options, actual_start_ms),
        }
        self._keyed: dict[str, dict[tuple[str, str], list[_Item]]] = {"e": {}, "a": {}}
        self._loose: dict[str, list[_Item]] = {"e": [], "a": []}
        self._segments: dict[int, _SegmentLog] = {}
        self._fed = 0
        self._flushed = 0
        self._finished = False

    # -- feeding ----------------------------------------------------------------------------
    def feed(self, expected: Segment, actual: Segment) -> list[Difference]:
        """Compare one more segment pair; returns the differences that became certain."""
        if self._finished:
            raise RuntimeError("comparator already finished")
        start = len(self.differences)
        seg = self._fed
        self._fed += 1
        self._clients(expected.client, actual.client)
        for side, segment in (("e", expected), ("a", actual)):
            for indexed in segment.server:
                for item in self._items(side, seg, indexed):
                    if item.cls == "keyed":
                        self._add_keyed(item)
                    else:
                        self._loose[side].append(item)
        self._match_loose()
        self._flush(upto=seg - self.window)
        return self.differences[start:]

    def finish(self) -> list[Difference]:
        """End of the connection: everything still unmatched is missing or extra."""
        start = len(self.differences)
        if not self._finished:
            self._finished = True
            self._match_loose()
            self._flush(upto=self._fed, final=True)
            for side, kind in (("e", "missing"), ("a", "extra")):
                leftovers = [i for items in self._keyed[side].values() for i in items]
                for item in sorted(leftovers, key=lambda i: i.index):
                    self._lonely(item, kind)
        return self.differences[start:]

    def awaiting(self) -> list[tuple[int, str]]:
        """Expected keyed messages (results, updated, ready...) not received yet: (index, label)."""
        items = [i for items in self._keyed["e"].values() for i in items]
        return sorted((i.index, i.label) for i in items)

    # -- client frames ----------------------------------------------------------------------
    def _clients(self, expected: Indexed | None, actual: Indexed | None) -> None:
        e_norm = self._normalize("e", expected)
        a_norm = self._normalize("a", actual)
        if e_norm is None and a_norm is None:
            return
        if e_norm is None or a_norm is None:
            if a_norm is None:
                assert expected is not None
                what, shown = "recorded client frame was not sent", expected
            else:
                assert actual is not None
                what, shown = "client frame was not recorded", actual
            self._add(
                "client", expected, actual, "(frame)", f"{what}: #{shown.index} ({_label(shown.frame.text)})"
            )
            return
        assert expected is not None and actual is not None
        collected: list[Mismatch] = []
        first, pairs = match_values(
            e_norm, a_norm, self.bindings, tolerance_ms=self.options.date_tolerance_ms, collect=collected
        )
        self.bindings.commit(pairs)
        if first is not None:
            self._add(
                "client",
                expected,
                actual,
                first.path,
                f"client frame #{expected.index} ({_label(expected.frame.text)}) was sent as "
                f"#{actual.index} with a difference at {_paths(collected, self._norm['e'], self._norm['a'])}",
            )

    def _normalize(self, side: str, indexed: Indexed | None) -> dict[str, Any] | None:
        if indexed is None:
            return None
        return self._norm[side].normalize(indexed.frame.text, indexed.frame.dir, indexed.frame.t_ms)

    # -- classification ---------------------------------------------------------------------
    def _items(self, side: str, seg: int, indexed: Indexed) -> list[_Item]:
        norm = self._normalize(side, indexed)
        if norm is None:
            return []
        text = indexed.frame.text
        raw = _loads(text)
        msg = norm.get("msg")

        def make(
            cls: str, key: tuple[str, str] | None, shape: tuple[Any, ...], n: dict[str, Any], label: str
        ) -> _Item:
            return _Item(side, indexed.index, seg, text, n, cls, key, shape, label)

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
                items.append(make("keyed", (msg, str(alias)), (msg,), one, f"{msg} for id={_dump(shown)}"))
            return items
        if msg in ("result", "nosub") and isinstance(norm.get("id"), str):
            return [make("keyed", (msg, norm["id"]), (msg,), norm, label)]
        if msg in ("connected", "failed"):
            return [make("keyed", (msg, ""), (msg,), norm, label)]
        if msg in _DATA_MSGS:
            collection = norm.get("collection")
            if msg == "changed" and isinstance(collection, str) and collection.startswith("stream-"):
                fields = norm.get("fields")
                event = fields.get("eventName") if isinstance(fields, dict) else None
                return [make("event", None, ("event", collection, _dump(event)), norm, label)]
            return [make("data", None, (msg, _dump(collection)), norm, label)]
        return [make("other", None, ("other", _dump(msg)), norm, label)]

    # -- keyed matching ---------------------------------------------------------------------
    def _add_keyed(self, item: _Item) -> None:
        assert item.key is not None
        kind, alias = item.key
        other = "a" if item.side == "e" else "e"
        if alias:
            translated = (
                self.bindings.translate_to_actual(alias)
                if item.side == "e"
                else self.bindings.translate_to_expected(alias)
            )
        else:
            translated = alias
        waiting = self._keyed[other].get((kind, translated)) if translated is not None else None
        if waiting:
            partner = waiting.pop(0)
            if not waiting:
                del self._keyed[other][(kind, translated)]  # type: ignore[arg-type]
            e, a = (item, partner) if item.side == "e" else (partner, item)
            self._compare_pair(e, a, commit_always=True)
            if kind in _BARRIERS:
                self._segment_log(e.segment).barriers.append(_Pair(e, a))
        else:
            self._keyed[item.side].setdefault(item.key, []).append(item)

    # -- loose (multiset) matching ----------------------------------------------------------
    def _match_loose(self) -> None:
        actual = self._loose["a"]
        for e in self._loose["e"]:
            if e.done:
                continue
            for a in actual:
                if a.done or a.shape != e.shape or abs(a.segment - e.segment) > self.window:
                    continue
                first, pairs = match_values(
                    e.norm, a.norm, self.bindings, tolerance_ms=self.options.date_tolerance_ms
                )
                if first is None:
                    self.bindings.commit(pairs)
                    self._paired(e, a)
                    break

    def _flush(self, upto: int, final: bool = False) -> None:
        """Settle every loose item of segments below ``upto`` (all of them when ``final``)."""
        if upto <= self._flushed and not final:
            return
        for e in self._loose["e"]:
            if e.done or (e.segment >= upto and not final):
                continue
            candidates = [
                a
                for a in self._loose["a"]
                if not a.done and a.shape == e.shape and abs(a.segment - e.segment) <= self.window
            ]
            if candidates:
                self._compare_pair(e, _best_candidate(e, candidates, self.bindings), commit_always=False)
            else:
                self._lonely(e, "missing")
        for a in self._loose["a"]:
            if not a.done and (final or a.segment < upto):
                self._lonely(a, "extra")
        for side in ("e", "a"):
            self._loose[side] = [i for i in self._loose[side] if not i.done]
        for seg in sorted(s for s in self._segments if final or s < upto):
            self._check_order(self._segments.pop(seg))
        self._flushed = max(self._flushed, upto)

    # -- pairs and differences --------------------------------------------------------------
    def _compare_pair(self, e: _Item, a: _Item, *, commit_always: bool) -> None:
        collected: list[Mismatch] = []
        first, pairs = match_values(
            e.norm, a.norm, self.bindings, tolerance_ms=self.options.date_tolerance_ms, collect=collected
        )
        if first is None or commit_always:
            self.bindings.commit(pairs)
        self._paired(e, a)
        if first is not None:
            self._add(
                "changed",
                e,
                a,
                first.path,
                f"expected frame #{e.index} ({e.label}) differs from actual #{a.index} at {_paths(collected, self._norm['e'], self._norm['a'])}",
            )

    def _paired(self, e: _Item, a: _Item) -> None:
        e.done = a.done = True
        if e.cls == "data":
            self._segment_log(e.segment).data.append(_Pair(e, a))
        if self.on_pair is not None:
            self.on_pair(e.text, a.text)

    def _lonely(self, item: _Item, kind: str) -> None:
        item.done = True
        if kind == "missing":
            self._add(
                kind, item, None, "(frame)", f"expected frame #{item.index} ({item.label}) was not received"
            )
        else:
            self._add(
                kind, None, item, "(frame)", f"actual frame #{item.index} ({item.label}) was not expected"
            )

    def _segment_log(self, seg: int) -> _SegmentLog:
        return self._segments.setdefault(seg, _SegmentLog())

    def _check_order(self, log: _SegmentLog) -> None:
        """Data expected before some ready/updated must arrive before the last of them."""
        for d in log.data:
            after = [b for b in log.barriers if b.e.index > d.e.index]
            if not after:
                continue
            last = max(after, key=lambda b: b.a.index)
            if d.a.index > last.a.index:
                self._add(
                    "order",
                    d.e,
                    d.a,
                    "(frame)",
                    f"actual frame #{d.a.index} ({d.a.label}) arrived after #{last.a.index} "
                    f"({last.a.label}); the recording has it before (#{d.e.index} < #{last.e.index})",
                )

    def _add(
        self, kind: str, e: _Item | Indexed | None, a: _Item | Indexed | None, path: str, message: str
    ) -> None:
        self.differences.append(
            Difference(
                kind=kind,  # type: ignore[arg-type]
                expected_index=e.index if e is not None else None,
                actual_index=a.index if a is not None else None,
                expected=_text(e),
                actual=_text(a),
                path=path,
                message=message,
            )
        )


def compare_connections(
    expected: Sequence[Frame],
    actual: Sequence[Frame],
    options: NormalizeOptions | None = None,
    *,
    expected_start_ms: float | None = None,
    actual_start_ms: float | None = None,
    window: int = 1,
) -> list[Difference]:
    """Compare two whole frame lists of one connection (offline use and tests)."""
    comparator = Comparator(
        options, expected_start_ms=expected_start_ms, actual_start_ms=actual_start_ms, window=window
    )
    e_segments = split_segments(expected, comparator.options)
    a_segments = split_segments(actual, comparator.options)
    for e_seg, a_seg in zip_longest(e_segments, a_segments, fillvalue=Segment(None)):
        comparator.feed(e_seg, a_seg)
    comparator.finish()
    return comparator.differences


def _best_candidate(e: _Item, candidates: list[_Item], bindings: Bindings) -> _Item:
    """For a "changed" report, prefer the actual message about the same document."""
    e_id = e.norm.get("id")
    if isinstance(e_id, str):
        bound = bindings.translate_to_actual(e_id)
        for a in candidates:
            if a.norm.get("id") == (bound if bound is not None else e_id):
                return a
    return candidates[0]


def _text(item: _Item | Indexed | None) -> str | None:
    if item is None:
        return None
    return item.text if isinstance(item, _Item) else item.frame.text


def _paths(mismatches: list[Mismatch], e_norm: Normalizer, a_norm: Normalizer) -> str:
    shown = [
        f"{m.path} (expected {clip(_original(m.expected, e_norm), 60)}, "
        f"got {clip(_original(m.actual, a_norm), 60)}: {m.reason})"
        for m in mismatches[:3]
    ]
    more = f" and {len(mismatches) - 3} more" if len(mismatches) > 3 else ""
    return "; ".join(shown) + more


def _original(value: Any, normalizer: Normalizer) -> Any:
    """Show recorded ids instead of aliases, and whole milliseconds as integers."""
    if isinstance(value, str):
        return ALIAS_RE.sub(lambda m: normalizer.original(m.group(0)) or m.group(0), value)
    if isinstance(value, dict) and isinstance(value.get("$date"), float) and value["$date"].is_integer():
        return {"$date": int(value["$date"])}
    return value


def _loads(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def _label(text: str) -> str:
    return frame_label(_loads(text))


def _dump(value: Any) -> str:
    return orjson.dumps(value).decode() if value is not None else "null"
