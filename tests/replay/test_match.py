"""Alias unification: expected and actual aliases must pair one to one."""

from __future__ import annotations

from ddp_e2e.replay.match import Bindings, Mismatch, format_path, match_values
from ddp_e2e.replay.normalize import DATE_KEY


def test_new_aliases_pair_up_and_are_returned_not_committed() -> None:
    b = Bindings()
    first, pairs = match_values(
        {"x": "<id#1>", "y": "<id#2>/typing"}, {"y": "<id#7>/typing", "x": "<id#4>"}, b
    )
    assert first is None
    assert pairs == {"<id#1>": "<id#4>", "<id#2>": "<id#7>"}
    assert b.e2a == {}, "the caller decides whether to commit"
    b.commit(pairs)
    assert b.to_actual("<id#1>") == "<id#4>" and b.to_expected("<id#7>") == "<id#2>"
    assert b.translate_to_actual("<id#1>/<id#2>") == "<id#4>/<id#7>"
    assert b.translate_to_actual("<id#3>") is None
    assert b.translate_to_expected("<id#9>") is None


def test_bindings_are_one_to_one() -> None:
    two_docs_become_one = match_values(["<id#1>", "<id#2>"], ["<id#5>", "<id#5>"], Bindings())[0]
    assert two_docs_become_one is not None and two_docs_become_one.path == "[1]"
    one_doc_becomes_two = match_values(["<id#1>", "<id#1>"], ["<id#5>", "<id#6>"], Bindings())[0]
    assert one_doc_becomes_two is not None
    b = Bindings()
    b.commit({"<id#1>": "<id#2>"})
    assert match_values("<id#1>", "<id#1>", b)[0] is not None, "equal text, but #1 already means #2"
    assert match_values("<id#3>", "<id#2>", b)[0] is not None, "actual #2 is taken"
    assert match_values("<id#1>", "<token#2>", Bindings())[0] is not None, "kinds must agree"
    assert match_values("<id#1>/a", "<id#1>/b", Bindings())[0] is not None


def test_collect_reports_every_path_up_to_the_limit() -> None:
    found: list[Mismatch] = []
    first, _ = match_values(
        {"a": 1, "b": [1, 2], "c": "x"}, {"a": 2, "b": [1], "d": True}, Bindings(), collect=found
    )
    assert first == found[0]
    assert [m.path for m in found] == ["a", "b", "c", "d"]
    assert [m.reason for m in found] == [
        "differs",
        "expected 2 items, got 1",
        "missing in actual",
        "not expected",
    ]
    limited: list[Mismatch] = []
    match_values(list(range(10)), list(range(10, 20)), Bindings(), collect=limited, limit=3)
    assert len(limited) == 3


def test_numbers_types_and_dates() -> None:
    assert match_values(1, 1.0, Bindings())[0] is None
    assert match_values(1, True, Bindings())[0] is not None
    assert match_values(None, "x", Bindings())[0].reason == "expected null, got string"  # type: ignore[union-attr]
    e = {DATE_KEY: {"abs": 1000.0, "rel": 0.0}}
    assert (
        match_values(e, {DATE_KEY: {"abs": 9_000_000.0, "rel": 500.0}}, Bindings(), tolerance_ms=1000)[0]
        is None
    )
    assert match_values(e, {DATE_KEY: {"abs": 1500.0, "rel": 9e9}}, Bindings(), tolerance_ms=1000)[0] is None
    late = match_values(e, {DATE_KEY: {"abs": 5000.0, "rel": 4000.0}}, Bindings(), tolerance_ms=1000)[0]
    assert late is not None and "off by 4000 ms" in late.reason
    assert match_values(e, {DATE_KEY: {"abs": "x"}}, Bindings())[0].reason == "malformed date"  # type: ignore[union-attr]


def test_format_path() -> None:
    assert format_path(()) == "(frame)"
    assert format_path(("result", "keys", 0, "kid")) == "result.keys[0].kid"
    assert format_path((2, "a")) == "[2].a"
