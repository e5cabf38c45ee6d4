"""Comparing two normalised values, with alias unification and date tolerance.

Each side of a replay aliases ids by its own first appearance (``<id#3>``), so the same document
can be ``<id#3>`` on one side and ``<id#5>`` on the other when messages arrive in a different
but allowed order. :class:`Bindings` records which expected alias stands for which actual alias;
:func:`match_values` accepts two aliases when that pairing is new on both sides or already
known, and reports the pairs it would add so a caller can commit them only when the whole
message matched. Key order never matters; list order does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .normalize import ALIAS_RE, DATE_KEY

__all__ = ["Bindings", "Mismatch", "format_path", "match_values"]


@dataclass(frozen=True, slots=True)
class Mismatch:
    """Where two values differ: a JSON path (``result.private_key``), both values and why."""

    path: str
    expected: Any
    actual: Any
    reason: str


class Bindings:
    """A one-to-one map between expected aliases and actual aliases."""

    def __init__(self) -> None:
        self.e2a: dict[str, str] = {}
        self.a2e: dict[str, str] = {}

    def commit(self, pairs: dict[str, str]) -> None:
        for e, a in pairs.items():
            self.e2a[e] = a
            self.a2e[a] = e

    def to_actual(self, expected_alias: str) -> str | None:
        return self.e2a.get(expected_alias)

    def to_expected(self, actual_alias: str) -> str | None:
        return self.a2e.get(actual_alias)

    def translate_to_actual(self, value: str) -> str | None:
        """``value`` with each bound alias replaced, or None when an alias is not bound yet."""
        return _translate(value, self.e2a)

    def translate_to_expected(self, value: str) -> str | None:
        return _translate(value, self.a2e)


def _translate(value: str, table: dict[str, str]) -> str | None:
    """Replace every alias in ``value`` through ``table``; None if one is not bound yet."""
    missing = False

    def swap(m: Any) -> str:
        nonlocal missing
        found = table.get(m.group(0))
        if found is None:
            missing = True
            return m.group(0)
        return found

    out = ALIAS_RE.sub(swap, value)
    return None if missing else out


def match_values(
    expected: Any,
    actual: Any,
    bindings: Bindings,
    *,
    tolerance_ms: float = 60_000.0,
    collect: list[Mismatch] | None = None,
    limit: int = 20,
) -> tuple[Mismatch | None, dict[str, str]]:
    """Compare; return the first mismatch (or None) and the alias pairs the match needs.

    With ``collect`` every mismatch (up to ``limit``) is appended there, so a report can show
    all differing paths of one frame; without it the walk stops at the first.
    """
    state = _State(bindings, tolerance_ms, collect, limit)
    state.walk(expected, actual, ())
    first = state.found[0] if state.found else None
    return first, state.pairs


def format_path(parts: tuple[str | int, ...]) -> str:
    """``("result", "keys", 0, "kid")`` -> ``result.keys[0].kid``; the empty path is ``(frame)``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(frame)"


class _Stop(Exception):
    pass


class _State:
    def __init__(
        self, bindings: Bindings, tolerance_ms: float, collect: list[Mismatch] | None, limit: int
    ) -> None:
        self.bindings = bindings
        self.tolerance = tolerance_ms
        self.collect = collect
        self.limit = limit
        self.found: list[Mismatch] = []
        self.pairs: dict[str, str] = {}
        self.pairs_rev: dict[str, str] = {}

    def walk(self, e: Any, a: Any, path: tuple[str | int, ...]) -> None:
        try:
            self._walk(e, a, path)
        except _Stop:
            pass

    def _fail(self, path: tuple[str | int, ...], e: Any, a: Any, reason: str) -> None:
        mismatch = Mismatch(format_path(path), e, a, reason)
        self.found.append(mismatch)
        if self.collect is not None:
            self.collect.append(mismatch)
        if self.collect is None or len(self.found) >= self.limit:
            raise _Stop

    def _walk(self, e: Any, a: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(e, dict) and isinstance(a, dict):
            if DATE_KEY in e and DATE_KEY in a and len(e) == 1 and len(a) == 1:
                self._date(e[DATE_KEY], a[DATE_KEY], path)
                return
            for key, value in e.items():
                if key not in a:
                    self._fail((*path, key), value, None, "missing in actual")
                else:
                    self._walk(value, a[key], (*path, key))
            for key, value in a.items():
                if key not in e:
                    self._fail((*path, key), None, value, "not expected")
            return
        if isinstance(e, list) and isinstance(a, list):
            for i, (ev, av) in enumerate(zip(e, a, strict=False)):
                self._walk(ev, av, (*path, i))
            if len(e) != len(a):
                self._fail(path, len(e), len(a), f"expected {len(e)} items, got {len(a)}")
            return
        if isinstance(e, str) and isinstance(a, str):
            if ALIAS_RE.search(e) or ALIAS_RE.search(a):
                same = self._strings(e, a)
            else:
                same = e == a
            if not same:
                self._fail(path, e, a, "differs")
            return
        if type(e) is not type(a) and not (_is_number(e) and _is_number(a)):
            self._fail(path, e, a, f"expected {_kind(e)}, got {_kind(a)}")
            return
        if e != a:
            self._fail(path, e, a, "differs")

    def _strings(self, e: str, a: str) -> bool:
        e_parts = ALIAS_RE.split(e)
        a_parts = ALIAS_RE.split(a)
        if len(e_parts) != len(a_parts):
            return False
        # split() gives [text, kind, number, text, kind, number, ..., text]
        for i in range(0, len(e_parts), 3):
            if e_parts[i] != a_parts[i]:
                return False
        for i in range(1, len(e_parts), 3):
            if e_parts[i] != a_parts[i]:
                return False
            e_alias = f"<{e_parts[i]}#{e_parts[i + 1]}>"
            a_alias = f"<{a_parts[i]}#{a_parts[i + 1]}>"
            if not self._bind(e_alias, a_alias):
                return False
        return True

    def _bind(self, e_alias: str, a_alias: str) -> bool:
        known = self.bindings.e2a.get(e_alias) or self.pairs.get(e_alias)
        if known is not None:
            return known == a_alias
        if self.bindings.a2e.get(a_alias) or self.pairs_rev.get(a_alias):
            return False
        self.pairs[e_alias] = a_alias
        self.pairs_rev[a_alias] = e_alias
        return True

    def _date(self, e: Any, a: Any, path: tuple[str | int, ...]) -> None:
        try:
            abs_gap = abs(float(e["abs"]) - float(a["abs"]))
            rel_gap = abs(float(e["rel"]) - float(a["rel"]))
        except (KeyError, TypeError, ValueError):
            self._fail(path, e, a, "malformed date")
            return
        if min(abs_gap, rel_gap) > self.tolerance:
            self._fail(
                path,
                {"$date": e["abs"]},
                {"$date": a["abs"]},
                f"date off by {min(abs_gap, rel_gap):.0f} ms (tolerance {self.tolerance:.0f} ms)",
            )


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if _is_number(v):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"
