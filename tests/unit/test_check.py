"""Param patterns (ddp_e2e.ddp.check): the one guard between client JSON and the store.

Every case that should pass is paired with the hostile values that must not: operator objects
where a string belongs, booleans posing as numbers, nulls posing as absent keys, extra keys.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from ddp_e2e.ddp import check as c
from ddp_e2e.ddp.errors import MatchError, MeteorError

OPERATORS = [{"$ne": None}, {"$regex": ".*"}, {"$gt": ""}, {"$where": "1"}, ["x"], {"$in": ["a"]}]


def fails(pattern: c.Pattern, value: object) -> MatchError:
    with pytest.raises(MatchError) as info:
        c.check(value, pattern)
    return info.value


def test_match_error_is_meteors_400_match_failed_on_the_wire() -> None:
    err = fails(c.String, {"$ne": None})
    assert isinstance(err, MeteorError)
    assert err.to_wire() == {
        "isClientSafe": True, "error": 400, "reason": "Match failed",
        "message": "Match failed [400]", "errorType": "Meteor.Error",
    }
    assert err.path.startswith("$")  # where it failed is for logs only, never on the wire
    assert "$ne" not in str(err.to_wire())


@pytest.mark.parametrize("value", ["", "x", "ünï", "a" * 10_000])
def test_string_accepts_any_str(value: str) -> None:
    assert c.check(value, c.String) == value


@pytest.mark.parametrize("value", [*OPERATORS, None, 1, 1.5, True, b"x", c.MISSING])
def test_string_refuses_everything_else(value: object) -> None:
    fails(c.String, value)


def test_non_empty_string() -> None:
    assert c.check("a", c.NonEmptyString) == "a"
    for bad in ("", None, {"$ne": ""}, 0):
        fails(c.NonEmptyString, bad)


def test_boolean_is_strict() -> None:
    assert c.check(True, c.Boolean) is True
    assert c.check(False, c.Boolean) is False
    for bad in (0, 1, "true", None, {"$exists": True}):
        fails(c.Boolean, bad)


@pytest.mark.parametrize("value", [0, -3, 2**40, 3.0, -0.0])
def test_integer_accepts_integral_numbers(value: float) -> None:
    assert c.check(value, c.Integer) == value


@pytest.mark.parametrize("value", [True, False, 1.5, math.nan, math.inf, "1", None, {"$gt": 0}])
def test_integer_refuses_bools_fractions_and_non_finite(value: object) -> None:
    fails(c.Integer, value)


def test_number_accepts_ints_and_floats_but_not_bools_or_strings() -> None:
    for good in (0, 1.5, -2, 1e300):
        assert c.check(good, c.Number) == good
    for bad in (True, "1", None, [1], {"$lt": 1}):
        fails(c.Number, bad)


def test_date_and_null() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    assert c.check(now, c.Date) is now
    for bad in ("2024-01-01", 1704067200000, {"$date": 1}, None):
        fails(c.Date, bad)
    assert c.check(None, c.Null) is None
    for bad in (0, "", c.MISSING, {}):
        fails(c.Null, bad)


def test_any_accepts_every_present_value_but_not_absence() -> None:
    for good in (None, 0, "", {"$ne": 1}, [], False):
        assert c.check(good, c.Any_) == good
    fails(c.Any_, c.MISSING)


def test_max_len_string_bounds_both_ends() -> None:
    p = c.MaxLenString(3, min_len=1)
    assert c.check("abc", p) == "abc"
    for bad in ("", "abcd", None, {"$regex": "a"}, 123):
        fails(p, bad)
    assert c.check("", c.MaxLenString(3)) == ""
    assert p.schema() == {"type": "string", "maxLength": 3, "minLength": 1}


def test_optional_allows_absence_but_not_null() -> None:
    p = c.Optional(c.String)
    assert c.check(c.MISSING, p) is c.MISSING
    assert c.check("x", p) == "x"
    fails(p, None)  # Meteor's Match.Optional: undefined yes, null no
    fails(p, {"$ne": None})
    assert p.allows_missing()


def test_maybe_allows_absence_and_null() -> None:
    p = c.Maybe(c.String)
    assert c.check(c.MISSING, p) is c.MISSING
    assert c.check(None, p) is None
    assert c.check("x", p) == "x"
    fails(p, 1)
    fails(p, {"$ne": None})
    assert p.schema() == {"anyOf": [{"type": "string"}, {"type": "null"}]}


def test_one_of_takes_the_first_match_and_fails_when_none_does() -> None:
    p = c.OneOf(c.String, c.Boolean)
    assert c.check("a", p) == "a"
    assert c.check(False, p) is False
    for bad in (1, None, {"$ne": 1}):
        fails(p, bad)
    assert not p.allows_missing()
    assert c.OneOf(c.String, c.Optional(c.Integer)).allows_missing()


def test_array_of_checks_every_item_and_the_bound() -> None:
    p = c.ArrayOf(c.String, max_items=2)
    assert c.check([], p) == []
    assert c.check(["a", "b"], p) == ["a", "b"]
    fails(p, ["a", "b", "c"])
    fails(p, ["a", {"$ne": 1}])
    fails(p, "ab")  # a string is not an array of its characters
    fails(p, {"0": "a"})
    err = fails(c.ArrayOf(c.String), ["a", 1])
    assert "[1]" in err.path


def test_object_requires_exact_keys() -> None:
    p = c.Object({"rid": c.String, "tmid": c.Optional(c.String)})
    assert c.check({"rid": "r"}, p) == {"rid": "r"}
    assert c.check({"rid": "r", "tmid": "t"}, p)
    fails(p, {})  # rid missing
    fails(p, {"rid": "r", "extra": 1})  # unknown key
    fails(p, {"rid": {"$ne": None}})
    fails(p, {"rid": "r", "tmid": None})  # Optional is not Maybe
    fails(p, [("rid", "r")])
    fails(p, "rid")
    err = fails(p, {"rid": "r", "$where": "1"})
    assert "$where" in err.path


def test_object_including_ignores_extra_keys_but_checks_named_ones() -> None:
    p = c.ObjectIncluding({"rid": c.String})
    assert c.check({"rid": "r", "anything": {"$ne": 1}}, p)
    fails(p, {"rid": 1})
    fails(p, {"other": "x"})
    assert p.schema()["additionalProperties"] is True


def test_any_object() -> None:
    p = c.AnyObject()
    assert c.check({"$ne": 1}, p) == {"$ne": 1}
    for bad in ([], "x", None, 1):
        fails(p, bad)


def test_where_predicate_and_a_predicate_that_crashes() -> None:
    p = c.Where(lambda v: v.startswith("r-"), "a room id")
    assert c.check("r-1", p) == "r-1"
    fails(p, "x")
    fails(p, 5)  # 5.startswith raises AttributeError: a mismatch, never a 500
    fails(p, c.MISSING)
    assert p.schema() == {"description": "a room id"}


def test_nested_shapes_fail_deep_inside() -> None:
    p = c.Object({"user": c.OneOf(c.Object({"username": c.NonEmptyString}), c.Object({"id": c.NonEmptyString}))})
    assert c.check({"user": {"username": "alice"}}, p)
    assert c.check({"user": {"id": "u1"}}, p)
    fails(p, {"user": {"username": {"$regex": ".*"}}})
    fails(p, {"user": {"username": "a", "id": "b"}})
    fails(p, {"user": {}})


# --------------------------------------------------------------------------- positional params


def test_params_fill_absent_trailing_optionals_with_missing() -> None:
    ps = c.Params(c.String, c.Optional(c.Integer), c.Maybe(c.Boolean))
    assert ps.check(["a"]) == ["a", c.MISSING, c.MISSING]
    assert ps.check(["a", 1]) == ["a", 1, c.MISSING]
    assert ps.check(["a", 1, None]) == ["a", 1, None]


def test_params_refuse_missing_required_extra_and_wrong_types() -> None:
    ps = c.Params(c.String, c.Optional(c.Integer))
    with pytest.raises(MatchError):
        ps.check([])
    with pytest.raises(MatchError):
        ps.check(["a", 1, "extra"])
    with pytest.raises(MatchError):
        ps.check([{"$ne": None}])
    with pytest.raises(MatchError):
        ps.check(["a", None])  # Optional: null is not absence
    assert c.Params().check([]) == []
    with pytest.raises(MatchError):
        c.Params().check([None])


def test_params_schema_counts_required_items() -> None:
    ps = c.Params(c.String, c.Optional(c.Integer))
    assert ps.schema() == {
        "type": "array",
        "prefixItems": [{"type": "string"}, {"type": "integer"}],
        "minItems": 1,
        "maxItems": 2,
    }


def test_object_schema_lists_required_keys() -> None:
    p = c.Object({"a": c.String, "b": c.Optional(c.String)})
    assert p.schema() == {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "required": ["a"],
        "additionalProperties": False,
    }
