"""Pairing expected and actual server frames of one connection, and the differences that follow.

The matching half of :class:`~ddp_e2e.replay.compare.Comparator` (spec §4.3): keyed messages pair
by (msg, id) in either order and across segments (:meth:`Pairing._add_keyed`); data messages and
stream events pair as multisets within ``window`` segments (:meth:`Pairing._match_loose`,
settled by :meth:`Pairing._flush`), and data recorded before a ``ready``/``updated`` must not
arrive after all of them (:meth:`Pairing._check_order`). Every mismatch becomes a
:class:`Difference`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .difference import Difference, clip
from .frame_items import BARRIERS, Item, Pair, SegmentLog
from .match import Bindings, Mismatch, match_values
from .normalize import ALIAS_RE, NormalizeOptions, Normalizer
from .segments import Indexed


class Pairing:
    """Keyed and loose matching for :class:`~ddp_e2e.replay.compare.Comparator`, which sets the state."""

    options: NormalizeOptions
    window: int
    on_pair: Callable[[str, str], None] | None
    bindings: Bindings
    differences: list[Difference]
    _norm: dict[str, Normalizer]
    _keyed: dict[str, dict[tuple[str, str], list[Item]]]
    _loose: dict[str, list[Item]]
    _segments: dict[int, SegmentLog]
    _flushed: int

    # -- keyed matching ---------------------------------------------------------------------
    def _add_keyed(self, item: Item) -> None:
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
            if kind in BARRIERS:
                self._segment_log(e.segment).barriers.append(Pair(e, a))
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
    def _compare_pair(self, e: Item, a: Item, *, commit_always: bool) -> None:
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
                f"expected frame #{e.index} ({e.label}) differs from actual #{a.index} at {mismatch_paths(collected, self._norm['e'], self._norm['a'])}",
            )

    def _paired(self, e: Item, a: Item) -> None:
        e.done = a.done = True
        if e.cls == "data":
            self._segment_log(e.segment).data.append(Pair(e, a))
        if self.on_pair is not None:
            self.on_pair(e.text, a.text)

    def _lonely(self, item: Item, kind: str) -> None:
        item.done = True
        if kind == "missing":
            self._add(
                kind, item, None, "(frame)", f"expected frame #{item.index} ({item.label}) was not received"
            )
        else:
            self._add(
                kind, None, item, "(frame)", f"actual frame #{item.index} ({item.label}) was not expected"
            )

    def _segment_log(self, seg: int) -> SegmentLog:
        return self._segments.setdefault(seg, SegmentLog())

    def _check_order(self, log: SegmentLog) -> None:
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
        self, kind: str, e: Item | Indexed | None, a: Item | Indexed | None, path: str, message: str
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


def _best_candidate(e: Item, candidates: list[Item], bindings: Bindings) -> Item:
    """For a "changed" report, prefer the actual message about the same document."""
    e_id = e.norm.get("id")
    if isinstance(e_id, str):
        bound = bindings.translate_to_actual(e_id)
        for a in candidates:
            if a.norm.get("id") == (bound if bound is not None else e_id):
                return a
    return candidates[0]


def _text(item: Item | Indexed | None) -> str | None:
    if item is None:
        return None
    return item.text if isinstance(item, Item) else item.frame.text


def mismatch_paths(mismatches: list[Mismatch], e_norm: Normalizer, a_norm: Normalizer) -> str:
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
