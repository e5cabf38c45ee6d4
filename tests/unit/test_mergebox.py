"""The merge box: Meteor's 19 session_view_tests cases, wire shapes, bad inputs, properties."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ddp_e2e.ddp.mergebox import MergeBox, ViewSnapshot

UNDEFINED = object()  # Meteor's `undefined` field value: "clear this field"


class View:
    """Meteor's test harness (``newView``) over our MergeBox, for one collection ``test``.

    ``changed`` takes Meteor's form (a dict where UNDEFINED means clear) and results come back
    as Meteor's ``{fun, id, fields|changed}`` records, so each case reads like the original.
    """

    def __init__(self) -> None:
        self.box = MergeBox()
        self.results: list[dict[str, Any]] = []

    def _record(self, messages: list[dict[str, Any]]) -> None:
        for m in messages:
            assert m["collection"] == "test"
            if m["msg"] == "added":
                self.results.append({"fun": "added", "id": m["id"], "fields": m.get("fields", {})})
            elif m["msg"] == "changed":
                assert "fields" in m or "cleared" in m, "changed must never be empty"
                changed = dict(m.get("fields", {}))
                changed.update({k: UNDEFINED for k in m.get("cleared", [])})
                self.results.append({"fun": "changed", "id": m["id"], "changed": changed})
            else:
                assert m["msg"] == "removed"
                self.results.append({"fun": "removed", "id": m["id"]})

    def added(self, sub: str, doc_id: str, fields: dict[str, Any]) -> None:
        self._record(self.box.added(sub, "test", doc_id, fields))

    def changed(self, sub: str, doc_id: str, changes: dict[str, Any], _unused: Any = None) -> None:
        fields = {k: v for k, v in changes.items() if v is not UNDEFINED}
        cleared = [k for k, v in changes.items() if v is UNDEFINED]
        self._record(self.box.changed(sub, "test", doc_id, fields, cleared))

    def removed(self, sub: str, doc_id: str) -> None:
        self._record(self.box.removed(sub, "test", doc_id))

    def expect_result(self, result: dict[str, Any]) -> None:
        assert self.results, f"expected {result}, got nothing"
        assert self.results.pop(0) == result

    def expect_no_result(self) -> None:
        assert self.results == []

    def drain(self) -> list[dict[str, Any]]:
        out, self.results = self.results, []
        return out


# --------------------------------------------------------------------------- Meteor's 19 cases


def test_exists_reveal() -> None:
    v = View()
    v.added("A", "A1", {})
    v.expect_result({"fun": "added", "id": "A1", "fields": {}})
    v.expect_no_result()
    v.added("B", "A1", {})
    v.expect_no_result()
    v.removed("A", "A1")
    v.expect_no_result()
    v.removed("B", "A1")
    v.expect_result({"fun": "removed", "id": "A1"})
    v.expect_no_result()


def test_added_a_second_field_in_another_sub() -> None:
    v = View()
    v.added("A", "A1", {"a": "foo"})
    v.expect_result({"fun": "added", "id": "A1", "fields": {"a": "foo"}})
    v.expect_no_result()
    v.added("B", "A1", {"a": "foo", "b": "bar"})
    v.expect_result({"fun": "changed", "id": "A1", "changed": {"b": "bar"}})
    v.removed("A", "A1")
    v.expect_no_result()
    v.removed("B", "A1")
    v.expect_result({"fun": "removed", "id": "A1"})
    v.expect_no_result()


def test_field_reveal() -> None:
    v = View()
    v.added("A", "A1", {"foo": "bar"})
    v.expect_result({"fun": "added", "id": "A1", "fields": {"foo": "bar"}})
    v.expect_no_result()
    v.added("B", "A1", {"foo": "baz"})
    v.removed("A", "A1")
    v.expect_result({"fun": "changed", "id": "A1", "changed": {"foo": "baz"}})
    v.expect_no_result()
    v.removed("B", "A1")
    v.expect_result({"fun": "removed", "id": "A1"})
    v.expect_no_result()


def test_field_change() -> None:
    v = View()
    v.added("A", "A1", {"foo": "bar"})
    v.expect_result({"fun": "added", "id": "A1", "fields": {"foo": "bar"}})
    v.expect_no_result()
    v.changed("A", "A1", {"foo": "baz"}, [])
    v.expect_result({"fun": "changed", "id": "A1", "changed": {"foo": "baz"}})
    v.expect_no_result()
    v.removed("A", "A1")
    v.expect_result({"fun": "removed", "id": "A1"})
    v.expect_no_result()


def test_field_clear() -> None:
    v = View()
    v.added("A", "A1", {"foo": "bar"})
    v.expect_result({"fun": "added", "id": "A1", "fields": {"foo": "bar"}})
    v.expect_no_result()
    v.changed("A", "A1", {"foo": UNDEFINED})
    v.expect_result({"fun": "changed", "id": "A1", "changed": {"foo": UNDEFINED}})
    v.expect_no_result()
    v.removed("A", "A1")
    v.expect_result({"fun": "removed", "id": "A1"})
    v.expect_no_result()


def test_change_makes_a_new_field() -> None:
    v = View()
    v.added("A", "A1", {"foo": "bar"})
    v.expect_result({"fun": "added", "id": "A1", "fields": {"foo": "bar"}})
    v.expect_no_result()
    v.changed("A", "A1", {"baz": "quux"})
    v.expect_result({"fun": "changed", "id": "A1", "changed": {"baz": "quux"}})
    v.expect_no_result()


def test_add_remove_add() -> None:
    v = View()
    v.added("A", "A1", {"foo": "bar"})
    v.expect_result({"fun": "added", "id": "A1", "fields": {"foo": "bar"}})
    v.expect_no_result()
    v.removed("A", "A1")
    v.expect_result({"fun": "removed", "id": "A1"})
    v.expect_no_result()
    v.added("A", "A1", {"foo": "bar"})
    v.expect_result({"fun": "added", "id": "A1", "fields": {"foo": "bar"}})
    v.expect_no_result()


def test_field_clear_reveal() -> None:
    v = View()
    v.added("A", "A1", {"foo": "bar"})
    v.expect_result({"fun": "added", "id": "A1", "fields": {"foo": "bar"}})
    v.expect_no_result()
    v.added("B", "A1", {"foo": "baz"})
    v.changed("A", "A1", {"foo": UNDEFINED})
    v.expect_result({"fun": "changed", "id": "A1", "changed": {"foo": "baz"}})
    v.expect_no_result()
    v.removed("A", "A1")
    v.expect_no_result()
    v.removed("B", "A1")
    v.expect_result({"fun": "removed", "id": "A1"})
    v.expect_no_result()


def test_change_to_canonical_value_produces_no_change() -> None:
    v = View()
    v.added("A", "A1", {"foo": "bar"})
    v.expect_result({"fun": "added", "id": "A1", "fields": {"foo": "bar"}})
    v.expect_no_result()
    v.added("B", "A1", {"foo": "baz"})
    canon = "bar"
    maybe = v.drain()
    if maybe:
        assert len(maybe) == 1
        assert maybe[0] == {"fun": "changed", "id": "A1", "changed": {"foo": "baz"}}
        canon = "baz"
    v.changed("B", "A1", {"foo": canon})
    v.expect_no_result()
    v.removed("A", "A1")
    v.expect_no_result()
    v.removed("B", "A1")
    v.expect_result({"fun": "removed", "id": "A1"})
    v.expect_no_result()


def test_new_field_of_canonical_value_produces_no_change() -> None:
    v = View()
    v.added("A", "A1", {"foo": "bar"})
    v.expect_result({"fun": "added", "id": "A1", "fields": {"foo": "bar"}})
    v.expect_no_result()
    v.added("B", "A1", {})
    v.changed("B", "A1", {"foo": "bar"})
    v.expect_no_result()
    v.removed("A", "A1")
    v.expect_no_result()
    v.removed("B", "A1")
    v.expect_result({"fun": "removed", "id": "A1"})
    v.expect_no_result()


def test_clear_all_clears_only_once() -> None:
    v = View()
    v.added("A", "A1", {"foo": "bar"})
    v.expect_result({"fun": "added", "id": "A1", "fields": {"foo": "bar"}})
    v.expect_no_result()
    v.added("B", "A1", {"foo": "bar"})
    v.added("C", "A1", {"foo": "bar"})
    v.changed("A", "A1", {"foo": UNDEFINED})
    v.changed("B", "A1", {"foo": UNDEFINED})
    v.changed("C", "A1", {"foo": UNDEFINED})
    v.expect_result({"fun": "changed", "id": "A1", "changed": {"foo": UNDEFINED}})
    v.expect_no_result()
    v.removed("A", "A1")
    v.expect_no_result()
    v.removed("B", "A1")
    v.expect_no_result()


def test_change_all_changes_only_once() -> None:
    v = View()
    v.added("A", "A1", {"foo": "bar"})
    v.expect_result({"fun": "added", "id": "A1", "fields": {"foo": "bar"}})
    v.expect_no_result()
    v.added("B", "A1", {"foo": "bar"})
    v.added("C", "A1", {"foo": "bar"})
    v.changed("B", "A1", {"foo": "baz"})
    v.changed("A", "A1", {"foo": "baz"})
    v.changed("C", "A1", {"foo": "baz"})
    v.expect_result({"fun": "changed", "id": "A1", "changed": {"foo": "baz"}})
    v.expect_no_result()
    v.removed("A", "A1")
    v.expect_no_result()
    v.removed("B", "A1")
    v.expect_no_result()


def test_multiple_operations_at_once_in_a_change() -> None:
    v = View()
    v.added("A", "A1", {"foo": "bar", "baz": "quux"})
    v.expect_result({"fun": "added", "id": "A1", "fields": {"foo": "bar", "baz": "quux"}})
    v.expect_no_result()
    v.added("B", "A1", {"foo": "baz"})
    v.changed("A", "A1", {"thing": "stuff", "foo": UNDEFINED, "baz": UNDEFINED})
    v.expect_result(
        {"fun": "changed", "id": "A1", "changed": {"foo": "baz", "thing": "stuff", "baz": UNDEFINED}}
    )
    v.expect_no_result()
    v.removed("A", "A1")
    v.expect_result({"fun": "changed", "id": "A1", "changed": {"thing": UNDEFINED}})
    v.expect_no_result()
    v.removed("B", "A1")
    v.expect_result({"fun": "removed", "id": "A1"})
    v.expect_no_result()


def test_more_than_one_document() -> None:
    v = View()
    v.added("A", "A1", {"foo": "bar", "baz": "quux"})
    v.expect_result({"fun": "added", "id": "A1", "fields": {"foo": "bar", "baz": "quux"}})
    v.expect_no_result()
    v.added("A", "A2", {"foo": "baz"})
    v.expect_result({"fun": "added", "id": "A2", "fields": {"foo": "baz"}})
    v.changed("A", "A1", {"thing": "stuff", "foo": UNDEFINED, "baz": UNDEFINED})
    v.expect_result(
        {"fun": "changed", "id": "A1", "changed": {"thing": "stuff", "foo": UNDEFINED, "baz": UNDEFINED}}
    )
    v.expect_no_result()
    v.removed("A", "A1")
    v.expect_result({"fun": "removed", "id": "A1"})
    v.expect_no_result()
    v.removed("A", "A2")
    v.expect_result({"fun": "removed", "id": "A2"})
    v.expect_no_result()


def test_multiple_docs_removed() -> None:
    v = View()
    v.added("A", "A1", {"foo": "bar", "baz": "quux"})
    v.expect_result({"fun": "added", "id": "A1", "fields": {"foo": "bar", "baz": "quux"}})
    v.expect_no_result()
    v.added("A", "A2", {"foo": "baz"})
    v.expect_result({"fun": "added", "id": "A2", "fields": {"foo": "baz"}})
    v.expect_no_result()
    v.removed("A", "A1")
    v.expect_result({"fun": "removed", "id": "A1"})
    v.removed("A", "A2")
    v.expect_result({"fun": "removed", "id": "A2"})
    v.expect_no_result()


def test_complicated_sequence() -> None:
    v = View()
    v.added("A", "A1", {"foo": "bar", "baz": "quux"})
    v.expect_result({"fun": "added", "id": "A1", "fields": {"foo": "bar", "baz": "quux"}})
    v.expect_no_result()
    v.added("A", "A2", {"foo": "eats"})
    v.expect_result({"fun": "added", "id": "A2", "fields": {"foo": "eats"}})
    v.added("B", "A1", {"foo": "baz"})
    v.changed("A", "A1", {"thing": "stuff", "foo": UNDEFINED, "baz": UNDEFINED})
    v.expect_result(
        {"fun": "changed", "id": "A1", "changed": {"foo": "baz", "thing": "stuff", "baz": UNDEFINED}}
    )
    v.expect_no_result()
    v.removed("A", "A1")
    v.removed("A", "A2")
    v.expect_result({"fun": "changed", "id": "A1", "changed": {"thing": UNDEFINED}})
    v.expect_result({"fun": "removed", "id": "A2"})
    v.expect_no_result()
    v.removed("B", "A1")
    v.expect_result({"fun": "removed", "id": "A1"})
    v.expect_no_result()


def test_added_becomes_changed() -> None:
    v = View()
    v.added("A", "A1", {"foo": "bar"})
    v.expect_result({"fun": "added", "id": "A1", "fields": {"foo": "bar"}})
    v.added("B", "A1", {"hi": "there"})
    v.expect_result({"fun": "changed", "id": "A1", "changed": {"hi": "there"}})
    v.removed("A", "A1")
    v.expect_result({"fun": "changed", "id": "A1", "changed": {"foo": UNDEFINED}})
    v.removed("B", "A1")
    v.expect_result({"fun": "removed", "id": "A1"})


def test_weird_key_names() -> None:
    v = View()
    v.added("A", "A1", {})
    v.expect_result({"fun": "added", "id": "A1", "fields": {}})
    v.changed("A", "A1", {"constructor": "bla"})
    v.expect_result({"fun": "changed", "id": "A1", "changed": {"constructor": "bla"}})
    v.changed("A", "A1", {"__proto__": 1, "__class__": 2, "__dict__": 3})
    v.expect_result(
        {"fun": "changed", "id": "A1", "changed": {"__proto__": 1, "__class__": 2, "__dict__": 3}}
    )


def test_clear_undefined_value() -> None:
    v = View()
    v.added("A", "A1", {"field": "value"})
    v.expect_result({"fun": "added", "id": "A1", "fields": {"field": "value"}})
    v.expect_no_result()
    v.changed("A", "A1", {"field": UNDEFINED})
    v.expect_result({"fun": "changed", "id": "A1", "changed": {"field": UNDEFINED}})
    v.expect_no_result()
    v.changed("A", "A1", {"field": UNDEFINED})
    v.expect_no_result()


# --------------------------------------------------------------------------- wire shapes


def test_message_shapes_and_key_order() -> None:
    box = MergeBox()
    added = box.added("s1", "users", "u1", {"_id": "u1", "username": "alice"})
    assert added == [{"msg": "added", "collection": "users", "id": "u1", "fields": {"username": "alice"}}]
    assert list(added[0]) == ["msg", "collection", "id", "fields"]
    empty = box.added("s1", "c", "x", {})
    assert empty == [{"msg": "added", "collection": "c", "id": "x"}]
    both = box.changed("s1", "users", "u1", {"a": 1}, ["username"])
    assert both == [
        {"msg": "changed", "collection": "users", "id": "u1", "fields": {"a": 1}, "cleared": ["username"]}
    ]
    assert list(both[0]) == ["msg", "collection", "id", "fields", "cleared"]
    only_cleared = box.changed("s1", "users", "u1", {}, ["a"])
    assert only_cleared == [{"msg": "changed", "collection": "users", "id": "u1", "cleared": ["a"]}]
    assert box.removed("s1", "users", "u1") == [{"msg": "removed", "collection": "users", "id": "u1"}]


def test_id_in_fields_is_ignored_everywhere() -> None:
    box = MergeBox()
    box.added("s", "c", "x", {"a": 1})
    assert box.changed("s", "c", "x", {"_id": "other"}) == []
    assert box.changed("s", "c", "x", {}, ["_id"]) == []
    assert box.added("t", "c", "x", {"_id": "x"}) == []
    assert box.get("c", "x") == {"a": 1}


def test_deep_equality_suppresses_equal_values() -> None:
    d = datetime(2024, 1, 1, tzinfo=UTC)
    box = MergeBox()
    box.added("s", "c", "x", {"d": d, "o": {"a": [1, {"b": 2}]}, "n": 1, "f": True})
    assert box.changed("s", "c", "x", {"d": d.astimezone(), "o": {"a": [1, {"b": 2}]}, "n": 1.0}) == []
    # True is not 1, a later millisecond is a change, a nested difference is a change
    assert box.changed("s", "c", "x", {"f": 1}) == [
        {"msg": "changed", "collection": "c", "id": "x", "fields": {"f": 1}}
    ]
    later = d + timedelta(milliseconds=1)
    assert box.changed("s", "c", "x", {"d": later})[0]["fields"] == {"d": later}
    assert box.changed("s", "c", "x", {"o": {"a": [1, {"b": 3}]}})[0]["fields"] == {"o": {"a": [1, {"b": 3}]}}


def test_values_are_copied_on_the_way_in() -> None:
    box = MergeBox()
    doc = {"tags": ["a"], "meta": {"n": 1}}
    box.added("s", "c", "x", doc)
    doc["tags"].append("b")
    doc["meta"]["n"] = 2
    assert box.get("c", "x") == {"tags": ["a"], "meta": {"n": 1}}
    # so publishing the mutated document is seen as a change
    assert box.changed("s", "c", "x", doc)[0]["fields"] == {"tags": ["a", "b"], "meta": {"n": 2}}


def test_never_a_second_added_for_one_document() -> None:
    box = MergeBox()
    msgs = box.added("a", "c", "x", {"f": 1})
    msgs += box.added("b", "c", "x", {"f": 2, "g": 3})
    msgs += box.added("a", "c", "x", {"f": 1})  # the same sub publishing it again
    assert [m["msg"] for m in msgs] == ["added", "changed"]
    assert box.get("c", "x") == {"f": 1, "g": 3}


def test_sub_readding_its_document_updates_its_own_entry() -> None:
    box = MergeBox()
    box.added("a", "c", "x", {"f": 1})
    assert box.added("a", "c", "x", {"f": 2}) == [
        {"msg": "changed", "collection": "c", "id": "x", "fields": {"f": 2}}
    ]
    assert box.removed("a", "c", "x") == [{"msg": "removed", "collection": "c", "id": "x"}]
    assert box.snapshot() == {}


def test_collections_are_independent() -> None:
    box = MergeBox()
    box.added("s", "users", "x", {"a": 1})
    assert box.added("s", "rooms", "x", {"a": 1}) == [
        {"msg": "added", "collection": "rooms", "id": "x", "fields": {"a": 1}}
    ]
    assert box.removed("s", "users", "x") == [{"msg": "removed", "collection": "users", "id": "x"}]
    assert box.snapshot() == {"rooms": {"x": {"a": 1}}}


# --------------------------------------------------------------------------- bad inputs


def test_removed_by_a_sub_that_never_added_is_ignored_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    box = MergeBox()
    with caplog.at_level(logging.WARNING, logger="ddp_e2e.ddp.mergebox"):
        assert box.removed("s", "c", "nope") == []
        box.added("a", "c", "x", {"f": 1})
        assert box.removed("b", "c", "x") == []
    assert len(caplog.records) == 2
    assert caplog.records[1].doc_id == "x" and caplog.records[1].sub_id == "b"
    assert box.get("c", "x") == {"f": 1}


def test_changed_of_unknown_document_or_foreign_sub_is_ignored(caplog: pytest.LogCaptureFixture) -> None:
    box = MergeBox()
    with caplog.at_level(logging.WARNING, logger="ddp_e2e.ddp.mergebox"):
        assert box.changed("s", "c", "nope", {"a": 1}) == []
        box.added("a", "c", "x", {"f": 1})
        assert box.changed("b", "c", "x", {"f": 2}) == []
    assert [r.op for r in caplog.records] == ["changed", "changed"]
    assert box.get("c", "x") == {"f": 1}
    assert box.remove_subscription("b") == []


def test_clearing_a_field_that_does_not_exist_sends_nothing() -> None:
    box = MergeBox()
    box.added("s", "c", "x", {"a": 1})
    assert box.changed("s", "c", "x", {}, ["zzz"]) == []
    assert box.changed("s", "c", "x", {}) == []


def test_double_remove_is_ignored() -> None:
    box = MergeBox()
    box.added("s", "c", "x", {})
    assert box.removed("s", "c", "x") != []
    assert box.removed("s", "c", "x") == []


def test_a_key_both_set_and_cleared_is_cleared() -> None:
    box = MergeBox()
    box.added("s", "c", "x", {"a": 1})
    assert box.changed("s", "c", "x", {"a": 2}, ["a"]) == [
        {"msg": "changed", "collection": "c", "id": "x", "cleared": ["a"]}
    ]
    assert box.changed("s", "c", "x", {"b": 2}, iter(["b"])) == []
    assert box.get("c", "x") == {}


# --------------------------------------------------------------------------- subscriptions, diff


def test_remove_subscription_in_added_order_and_reveals_others() -> None:
    box = MergeBox()
    box.added("a", "c", "x1", {"f": "a"})
    box.added("a", "d", "y", {})
    box.added("a", "c", "x2", {"f": "a"})
    box.added("b", "c", "x2", {"f": "b", "g": 1})
    out = box.remove_subscription("a")
    assert out == [
        {"msg": "removed", "collection": "c", "id": "x1"},
        {"msg": "changed", "collection": "c", "id": "x2", "fields": {"f": "b"}},
        {"msg": "removed", "collection": "d", "id": "y"},
    ]
    assert box.snapshot() == {"c": {"x2": {"f": "b", "g": 1}}}
    assert box.remove_subscription("a") == []
    assert box.remove_subscription("never") == []


def test_removed_then_remove_subscription_does_not_repeat() -> None:
    box = MergeBox()
    box.added("a", "c", "x", {})
    box.added("a", "c", "y", {})
    box.removed("a", "c", "x")
    assert box.remove_subscription("a") == [{"msg": "removed", "collection": "c", "id": "y"}]


def test_diff_order_and_shapes() -> None:
    old: ViewSnapshot = {
        "gone": {"g1": {"a": 1}},
        "c": {"x": {"a": 1, "b": 2, "c": 3}, "y": {}, "z": {"k": 1}},
    }
    new: ViewSnapshot = {
        "c": {"w": {"n": 1}, "x": {"d": 4, "c": 3, "a": 9}, "z": {"k": 1}},
        "fresh": {"f1": {}},
    }
    assert MergeBox.diff(old, new) == [
        {"msg": "removed", "collection": "gone", "id": "g1"},
        {"msg": "changed", "collection": "c", "id": "x", "fields": {"a": 9, "d": 4}, "cleared": ["b"]},
        {"msg": "removed", "collection": "c", "id": "y"},
        {"msg": "added", "collection": "c", "id": "w", "fields": {"n": 1}},
        {"msg": "added", "collection": "fresh", "id": "f1"},
    ]
    assert MergeBox.diff(new, new) == []
    assert MergeBox.diff({}, {}) == []


def test_login_rerun_sends_only_the_difference() -> None:
    """Spec §3.5: snapshot, reset, re-run the subs as the new user, diff."""
    box = MergeBox()
    box.added("meteor_autoupdate", "meteor_autoupdate_clientVersions", "v", {"version": "1"})
    box.added("sub-rooms", "rooms", "GENERAL", {"name": "general", "t": "c"})
    old = box.snapshot()
    box.reset()
    assert box.snapshot() == {} and len(box) == 0
    box.added("meteor_autoupdate", "meteor_autoupdate_clientVersions", "v", {"version": "1"})
    box.added("sub-rooms", "rooms", "GENERAL", {"name": "general", "t": "c"})
    box.added("sub-rooms", "rooms", "r-secret", {"name": "secret", "t": "p", "encrypted": True})
    box.added("user", "users", "u-alice", {"username": "alice"})
    assert MergeBox.diff(old, box.snapshot()) == [
        {
            "msg": "added",
            "collection": "rooms",
            "id": "r-secret",
            "fields": {"name": "secret", "t": "p", "encrypted": True},
        },
        {"msg": "added", "collection": "users", "id": "u-alice", "fields": {"username": "alice"}},
    ]
    # the box keeps working after the reset, with the new owners
    assert box.remove_subscription("sub-rooms") == [
        {"msg": "removed", "collection": "rooms", "id": "GENERAL"},
        {"msg": "removed", "collection": "rooms", "id": "r-secret"},
    ]


def test_snapshot_is_a_copy_of_the_structure() -> None:
    box = MergeBox()
    box.added("s", "c", "x", {"a": 1})
    snap = box.snapshot()
    snap["c"]["x"]["a"] = 2
    snap["c"]["y"] = {}
    assert box.snapshot() == {"c": {"x": {"a": 1}}}
    assert len(box) == 1


# --------------------------------------------------------------------------- properties


class StrictClient:
    """What Meteor's client store does with the messages: throws where the real one throws."""

    def __init__(self, view: ViewSnapshot | None = None) -> None:
        self.view: ViewSnapshot = {
            c: {i: dict(f) for i, f in docs.items()} for c, docs in (view or {}).items()
        }

    def apply(self, msgs: list[dict[str, Any]]) -> None:
        for m in msgs:
            docs = self.view.setdefault(m["collection"], {})
            if m["msg"] == "added":
                assert m["id"] not in docs, "Server sent add for existing id"
                assert m.get("fields", None) != {}, "empty fields must be omitted"
                docs[m["id"]] = dict(m.get("fields", {}))
            elif m["msg"] == "changed":
                assert m["id"] in docs, "changed for unknown id"
                assert m.get("fields") or m.get("cleared"), "empty changed"
                assert set(m.get("fields", {})).isdisjoint(m.get("cleared", []))
                docs[m["id"]].update(m.get("fields", {}))
                for k in m.get("cleared", []):
                    assert k in docs[m["id"]], "cleared a field the client does not have"
                    del docs[m["id"]][k]
            else:
                assert m["msg"] == "removed" and m["id"] in docs, "removed for unknown id"
                del docs[m["id"]]
            if not docs:
                del self.view[m["collection"]]


_subs = st.sampled_from(["A", "B", "C"])
_ids = st.sampled_from(["x", "y"])
_colls = st.sampled_from(["c1", "c2"])
_fields = st.dictionaries(
    st.sampled_from(["a", "b", "c", "_id"]), st.sampled_from([1, 2, "s", None, [1]]), max_size=3
)
_ops = st.lists(
    st.one_of(
        st.tuples(st.just("added"), _subs, _colls, _ids, _fields),
        st.tuples(
            st.just("changed"),
            _subs,
            _colls,
            _ids,
            _fields,
            st.lists(st.sampled_from(["a", "b", "c"]), max_size=2),
        ),
        st.tuples(st.just("removed"), _subs, _colls, _ids),
        st.tuples(st.just("stop"), _subs),
    ),
    max_size=40,
)


def _model(state: dict[tuple[str, str, str], dict[str, Any]]) -> dict[tuple[str, str], dict[str, set[Any]]]:
    """For each document the subs hold: every field and the values the subs give it."""
    out: dict[tuple[str, str], dict[str, set[Any]]] = {}
    for (_sub, coll, doc_id), fields in state.items():
        doc = out.setdefault((coll, doc_id), {})
        for k, v in fields.items():
            doc.setdefault(k, set()).add(repr(v))
    return out


@settings(max_examples=300, deadline=None)
@given(_ops)
def test_property_client_view_always_consistent(ops: list[tuple[Any, ...]]) -> None:
    box = MergeBox()
    client = StrictClient()
    state: dict[tuple[str, str, str], dict[str, Any]] = {}  # what each sub publishes
    for op in ops:
        if op[0] == "added":
            _, sub, coll, doc_id, fields = op
            client.apply(box.added(sub, coll, doc_id, fields))
            mine = state.setdefault((sub, coll, doc_id), {})
            mine.update({k: v for k, v in fields.items() if k != "_id"})
        elif op[0] == "changed":
            _, sub, coll, doc_id, fields, cleared = op
            client.apply(box.changed(sub, coll, doc_id, fields, cleared))
            if (sub, coll, doc_id) in state:
                mine = state[(sub, coll, doc_id)]
                mine.update({k: v for k, v in fields.items() if k != "_id"})
                for k in cleared:
                    mine.pop(k, None)
        elif op[0] == "removed":
            _, sub, coll, doc_id = op
            client.apply(box.removed(sub, coll, doc_id))
            state.pop((sub, coll, doc_id), None)
        else:
            before = box.snapshot()
            msgs = box.remove_subscription(op[1])
            client.apply(msgs)
            for key in [k for k in state if k[0] == op[1]]:
                del state[key]
            # what stop sends is exactly the diff between the views
            replay = StrictClient(before)
            replay.apply(MergeBox.diff(before, box.snapshot()))
            assert replay.view == box.snapshot()
        assert client.view == box.snapshot()
        model = _model(state)
        assert set(model) == {(c, i) for c, docs in client.view.items() for i in docs}
        for (coll, doc_id), fields in model.items():
            seen = client.view[coll][doc_id]
            assert set(seen) == set(fields)
            for k, v in seen.items():
                assert repr(v) in fields[k]


_snap_docs = st.dictionaries(
    _ids,
    st.dictionaries(st.sampled_from(["a", "b", "c"]), st.sampled_from([1, 2, "s", [1]]), max_size=3),
    min_size=1,
    max_size=2,
)
_snapshots = st.dictionaries(_colls, _snap_docs, max_size=2)


@given(_snapshots, _snapshots)
def test_property_diff_turns_old_into_new(old: ViewSnapshot, new: ViewSnapshot) -> None:
    client = StrictClient(old)
    client.apply(MergeBox.diff(old, new))
    assert client.view == new
