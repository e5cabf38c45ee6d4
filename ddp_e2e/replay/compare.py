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

What each server frame is lives in :mod:`frame_items`, how frames pair in :mod:`pairing`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import zip_longest
from typing import Any

from .difference import Difference, format_diff
from .frame_items import Item, SegmentLog, classify, label_of
from .match import Bindings, Mismatch, match_values
from .model import Frame
from .normalize import NormalizeOptions, Normalizer
from .pairing import Pairing, mismatch_paths
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


class Comparator(Pairing):
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
        self._keyed: dict[str, dict[tuple[str, str], list[Item]]] = {"e": {}, "a": {}}
        self._loose: dict[str, list[Item]] = {"e": [], "a": []}
        self._segments: dict[int, SegmentLog] = {}
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
                "client", expected, actual, "(frame)", f"{what}: #{shown.index} ({label_of(shown.frame.text)})"
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
                f"client frame #{expected.index} ({label_of(expected.frame.text)}) was sent as "
                f"#{actual.index} with a difference at {mismatch_paths(collected, self._norm['e'], self._norm['a'])}",
            )

    def _normalize(self, side: str, indexed: Indexed | None) -> dict[str, Any] | None:
        if indexed is None:
            return None
        return self._norm[side].normalize(indexed.frame.text, indexed.frame.dir, indexed.frame.t_ms)

    # -- classification ---------------------------------------------------------------------
    def _items(self, side: str, seg: int, indexed: Indexed) -> list[Item]:
        norm = self._normalize(side, indexed)
        if norm is None:
            return []
        return classify(side, seg, indexed, norm)


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
