"""EJSON: Meteor's wire forms, escape rules, message-level conversion and the fast paths."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ddp_e2e.ddp import ejson
from ddp_e2e.ddp.ejson import CustomType, EJSONError, RegExp

D = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # 1700000000000 ms


# --------------------------------------------------------------------------- each type


def test_date_wire_form_and_round_trip() -> None:
    assert ejson.dumps(D) == '{"$date":1700000000000}'
    back = ejson.loads('{"$date":1700000000000}')
    assert back == D and back.tzinfo is not None and back.utcoffset() == timedelta(0)


def test_date_milliseconds_and_negative_and_offset_zones() -> None:
    d = datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
    assert ejson.to_ejson(d) == {"$date": -1}
    assert ejson.from_ejson({"$date": -1}) == d
    plus2 = D.astimezone(timezone(timedelta(hours=2)))
    assert ejson.to_ejson(plus2) == {"$date": 1700000000000}
    # sub-millisecond precision is dropped toward the earlier millisecond, like Date.getTime
    assert ejson.to_ejson(D + timedelta(microseconds=999)) == {"$date": 1700000000000}


def test_naive_datetime_is_utc_on_output() -> None:
    naive = datetime(2023, 11, 14, 22, 13, 20)
    assert ejson.dumps({"d": naive}) == '{"d":{"$date":1700000000000}}'
    assert ejson.to_ejson(naive) == {"$date": 1700000000000}


def test_float_date_truncates_and_bad_dates_raise() -> None:
    assert ejson.from_ejson({"$date": 1.9}) == datetime(1970, 1, 1, 0, 0, 0, 1000, tzinfo=UTC)
    for bad in ("2020-01-01", None, True, [1], math.inf, 10**20):
        with pytest.raises(EJSONError):
            ejson.from_ejson({"$date": bad})


def test_binary_wire_form_and_round_trip() -> None:
    assert ejson.dumps(b"\x01\x02\x03\xfa") == '{"$binary":"AQID+g=="}'
    assert ejson.loads('{"$binary":"AQID+g=="}') == b"\x01\x02\x03\xfa"
    assert ejson.dumps(bytearray(b"\xff\xfe")) == '{"$binary":"//4="}'
    assert ejson.dumps(memoryview(b"ab")) == '{"$binary":"YWI="}'
    assert ejson.loads('{"$binary":""}') == b""


def test_binary_without_padding_is_accepted_like_meteor() -> None:
    assert ejson.from_ejson({"$binary": "AQID+g"}) == b"\x01\x02\x03\xfa"


@pytest.mark.parametrize("bad", ["A", "AQ?D", "AQ==AQ==", "=AQI", "AQI\n", "AQ-_", 5, None])
def test_bad_base64_raises(bad: object) -> None:
    with pytest.raises(EJSONError):
        ejson.from_ejson({"$binary": bad})


def test_nan_and_infinities() -> None:
    assert ejson.loads('{"$InfNaN": 1}') == math.inf
    assert ejson.loads('{"$InfNaN": -1}') == -math.inf
    assert math.isnan(ejson.loads('{"$InfNaN": 0}'))
    assert ejson.dumps(math.inf) == '{"$InfNaN":1}'
    assert ejson.dumps(-math.inf) == '{"$InfNaN":-1}'
    assert ejson.dumps(math.nan) == '{"$InfNaN":0}'
    assert ejson.dumps([1.5, math.inf, None]) == '[1.5,{"$InfNaN":1},null]'
    assert ejson.loads(ejson.dumps(-math.inf)) == -math.inf
    assert math.isnan(ejson.loads(ejson.dumps(math.nan)))
    got = ejson.loads('{"a": {"$InfNaN": 0}}')
    assert ejson.equals(got, {"a": math.nan})
    with pytest.raises(EJSONError):
        ejson.from_ejson({"$InfNaN": "1"})


def test_regexp() -> None:
    assert ejson.dumps(RegExp("foo", "gi")) == '{"$regexp":"foo","$flags":"gi"}'
    assert ejson.loads('{"$regexp":"a.b","$flags":"gi"}') == RegExp("a.b", "gi")


def test_regexp_flags_filtered_deduplicated_and_cut_to_50() -> None:
    assert ejson.from_ejson({"$regexp": "x", "$flags": "igsgdvxy"}) == RegExp("x", "giy")
    assert ejson.from_ejson({"$regexp": "x", "$flags": "ig"}).flags == "gi"
    assert ejson.from_ejson({"$regexp": "x", "$flags": "z" * 50 + "g"}).flags == ""
    assert ejson.from_ejson({"$regexp": "x", "$flags": "z" * 49 + "m"}).flags == "m"
    with pytest.raises(EJSONError):
        ejson.from_ejson({"$regexp": "x", "$flags": 1})
    with pytest.raises(EJSONError):
        ejson.from_ejson({"$regexp": None, "$flags": ""})


def test_regexp_source_with_dollar_survives_the_fast_path() -> None:
    text = ejson.dumps({"r": RegExp("^a$", "m")})
    assert text == '{"r":{"$regexp":"^a$","$flags":"m"}}'
    assert ejson.loads(text) == {"r": RegExp("^a$", "m")}


def test_custom_types_oid_and_decimal() -> None:
    oid = '{"$type":"oid","$value":"0123456789ABCDEF01234567"}'
    assert ejson.loads(oid) == CustomType("oid", "0123456789abcdef01234567")
    assert ejson.dumps(CustomType("Decimal", "1.5")) == '{"$type":"Decimal","$value":"1.5"}'
    assert ejson.loads('{"$type":"Decimal","$value":"-1.5e3"}') == CustomType("Decimal", "-1.5e3")


@pytest.mark.parametrize(
    "bad",
    [
        {"$type": "oid", "$value": "xyz"},
        {"$type": "oid", "$value": 5},
        {"$type": "Decimal", "$value": "one"},
        {"$type": "Decimal", "$value": True},
    ],
)
def test_custom_type_bad_values_raise(bad: dict) -> None:
    with pytest.raises(EJSONError):
        ejson.from_ejson(bad)


def test_unknown_custom_type_raises_meteors_message() -> None:
    with pytest.raises(EJSONError, match=r"^Custom EJSON type Foo is not defined$"):
        ejson.loads('{"a":[{"$type":"Foo","$value":1}]}')


# --------------------------------------------------------------------------- escape rules


def test_escape_one_level_exactly_as_meteor() -> None:
    assert ejson.loads('{"$escape":{"$date":{"$date":32491}}}') == {
        "$date": datetime(1970, 1, 1, 0, 0, 32, 491000, tzinfo=UTC)
    }
    assert ejson.loads('{"$escape":{"$date":5}}') == {"$date": 5}


def test_nesting_and_literal_round_trip() -> None:
    """Meteor's 'ejson - nesting and literal': {$date: <Date>} survives a round trip."""
    obj = {"$date": D}
    wire = ejson.to_ejson(obj)
    assert wire == {"$escape": {"$date": {"$date": 1700000000000}}}
    assert ejson.from_ejson(wire) == obj


def test_regexp_shaped_plain_object_round_trips() -> None:
    """Meteor's 'ejson - regexp': a plain {$regexp, $flags} object stays a plain object."""
    obj = {"$regexp": "foo", "$flags": "gi"}
    assert ejson.to_ejson(obj) == {"$escape": {"$regexp": "foo", "$flags": "gi"}}
    assert ejson.from_ejson(ejson.to_ejson(obj)) == obj


@pytest.mark.parametrize(
    "plain",
    [
        {"$date": 1},
        {"$binary": "AA=="},
        {"$InfNaN": 1},
        {"$escape": 1},
        {"$type": "oid", "$value": "x"},
        {"$type": "nope", "$value": "x"},
        {"$escape": {"$escape": {"$date": 1}}},
    ],
)
def test_converter_shaped_plain_dicts_are_escaped_and_come_back(plain: dict) -> None:
    wire = ejson.dumps(plain)
    assert wire.startswith('{"$escape":')
    assert ejson.loads(wire) == plain


def test_escape_inside_escape() -> None:
    value = {"$escape": D}
    wire = ejson.to_ejson(value)
    assert wire == {"$escape": {"$escape": {"$date": 1700000000000}}}
    assert ejson.from_ejson(wire) == value


def test_escape_of_non_object_follows_object_keys() -> None:
    assert ejson.from_ejson({"$escape": 5}) == {}
    assert ejson.from_ejson({"$escape": "ab"}) == {"0": "a", "1": "b"}
    assert ejson.from_ejson({"$escape": [{"$date": 0}]}) == {"0": datetime(1970, 1, 1, tzinfo=UTC)}
    with pytest.raises(EJSONError):
        ejson.from_ejson({"$escape": None})


@pytest.mark.parametrize(
    "text",
    [
        '{"$date":1,"x":2}',
        '{"$foo":1}',
        '{"$date":1,"$foo":2}',
        '{"$regexp":"a"}',
        '{"$type":"oid"}',
        '{"$value":1,"$flags":"g"}',
        '{"a":1,"$date":1}',
        '{"$date":1,"$binary":"AA==","$InfNaN":1}',
        "{}",
    ],
)
def test_non_converter_dollar_objects_stay_plain(text: str) -> None:
    parsed = orjson.loads(text)
    assert ejson.loads(text) == parsed
    # and they are written back unescaped, exactly as they came
    assert ejson.dumps(parsed) == orjson.dumps(parsed).decode()


def test_dollar_strings_and_keys_inside_larger_objects_are_not_escaped() -> None:
    value = {"price": "$100", "nested": {"$set": {"a": 1}, "b": 2}, "list": ["$x"]}
    assert ejson.dumps(value) == orjson.dumps(value).decode()
    assert ejson.loads(ejson.dumps(value)) == value


# --------------------------------------------------------------------------- text level


def test_stringify_basics_like_meteor() -> None:
    assert ejson.dumps(None) == "null"
    assert ejson.dumps(True) == "true"
    assert ejson.dumps(False) == "false"
    assert ejson.dumps(123) == "123"
    assert ejson.dumps("abc") == '"abc"'
    assert ejson.dumps([1, 2, 3]) == "[1,2,3]"
    assert ejson.dumps((1, 2)) == "[1,2]"
    assert ejson.loads("[1,2,3]") == [1, 2, 3]


def test_key_order_is_preserved_both_ways() -> None:
    value = {"b": [2, {"d": 4, "c": 3}], "a": 1, "z": D}
    text = ejson.dumps(value)
    assert text == '{"b":[2,{"d":4,"c":3}],"a":1,"z":{"$date":1700000000000}}'
    assert list(ejson.loads(text)) == ["b", "a", "z"]
    assert list(ejson.loads(text)["b"][1]) == ["d", "c"]


def test_loads_accepts_bytes_and_rejects_bad_json() -> None:
    assert ejson.loads(b'{"a":{"$date":0}}') == {"a": datetime(1970, 1, 1, tzinfo=UTC)}
    for bad in ("{", "", "[1,]", "NaN", b"\xff"):
        with pytest.raises(EJSONError):
            ejson.loads(bad)


def test_unicode_escaped_dollar_is_still_converted() -> None:
    """``\\u0024date`` is ``$date``; the fast path must not skip it."""
    assert ejson.loads('{"\\u0024date":0}') == datetime(1970, 1, 1, tzinfo=UTC)
    assert ejson.needs_decoding('{"\\u0024date":0}')
    assert ejson.needs_decoding(b'{"$date":0}')
    assert not ejson.needs_decoding('{"a":"x$"}')


@pytest.mark.parametrize("bad", [{1, 2}, object(), date(2020, 1, 1), {"k": 2**70}, {1: "x"}])
def test_unserialisable_values_raise_ejson_error(bad: object) -> None:
    with pytest.raises(EJSONError):
        ejson.dumps(bad)
    with pytest.raises(EJSONError):
        ejson.encode_message({"msg": "result", "id": "1", "result": bad})


def test_to_ejson_rejects_unknown_objects() -> None:
    with pytest.raises(EJSONError):
        ejson.to_ejson({"a": object()})


def test_from_ejson_returns_new_containers() -> None:
    src = {"a": [{"$date": 0}], "b": {"c": 1}}
    out = ejson.from_ejson(src)
    assert src == {"a": [{"$date": 0}], "b": {"c": 1}}
    out["b"]["c"] = 2
    assert src["b"]["c"] == 1


# --------------------------------------------------------------------------- messages


def test_encode_message_converts_only_ejson_keys() -> None:
    msg = {"msg": "changed", "collection": "c", "id": "x", "fields": {"d": D, "b": b"\x00"}}
    assert ejson.encode_message(msg) == (
        '{"msg":"changed","collection":"c","id":"x",'
        '"fields":{"d":{"$date":1700000000000},"b":{"$binary":"AA=="}}}'
    )
    assert ejson.encode_message({"msg": "result", "id": "1", "result": None}) == (
        '{"msg":"result","id":"1","result":null}'
    )
    assert ejson.encode_message_bytes({"msg": "ready", "subs": ["a"]}) == b'{"msg":"ready","subs":["a"]}'


def test_encode_message_error_and_offending_message_are_plain_json() -> None:
    msg = {
        "msg": "result",
        "id": "1",
        "error": {"error": 400, "details": {"when": D, "$date": 1, "n": math.nan}},
    }
    assert ejson.encode_message(msg) == (
        '{"msg":"result","id":"1","error":{"error":400,'
        '"details":{"when":"2023-11-14T22:13:20.000Z","$date":1,"n":null}}}'
    )
    err = {"msg": "error", "reason": "Bad request", "offendingMessage": {"x": {"$date": 1}, "d": D}}
    assert ejson.encode_message(err) == (
        '{"msg":"error","reason":"Bad request","offendingMessage":'
        '{"x":{"$date":1},"d":"2023-11-14T22:13:20.000Z"}}'
    )


def test_encode_message_escapes_and_nan_in_fields() -> None:
    msg = {"msg": "added", "collection": "c", "id": "x", "fields": {"a": {"$date": 1}, "n": math.inf}}
    assert ejson.encode_message(msg) == (
        '{"msg":"added","collection":"c","id":"x","fields":{"a":{"$escape":{"$date":1}},"n":{"$InfNaN":1}}}'
    )


def test_encode_message_nulls_without_nan_stay_null() -> None:
    msg = {"msg": "added", "collection": "c", "id": "x", "fields": {"a": None, "b": [None, 1.5]}}
    assert ejson.encode_message(msg) == (
        '{"msg":"added","collection":"c","id":"x","fields":{"a":null,"b":[null,1.5]}}'
    )


def test_encode_message_non_ascii_is_raw_utf8() -> None:
    msg = {"msg": "result", "id": "1", "result": "héllo \u2028 😀"}
    assert ejson.encode_message(msg) == '{"msg":"result","id":"1","result":"héllo \u2028 😀"}'


def test_decode_message_converts_params_fields_result_only() -> None:
    raw = '{"msg":"method","id":"1","method":"m","params":[{"$date":0}],"extra":{"$date":0},"randomSeed":"s"}'
    msg = orjson.loads(raw)
    out = ejson.decode_message(msg, raw)
    assert out["params"] == [datetime(1970, 1, 1, tzinfo=UTC)]
    assert out["extra"] == {"$date": 0}
    assert msg["params"] == [{"$date": 0}]  # the input is left alone
    changed = ejson.decode_message({"msg": "changed", "fields": {"a": {"$binary": "AA=="}}})
    assert changed["fields"] == {"a": b"\x00"}
    result = ejson.decode_message({"msg": "result", "id": "1", "result": {"$InfNaN": -1}})
    assert result["result"] == -math.inf


def test_decode_message_fast_path_returns_same_object() -> None:
    raw = '{"msg":"method","id":"1","method":"m","params":[1,"a"]}'
    msg = orjson.loads(raw)
    assert ejson.decode_message(msg, raw) is msg
    assert ejson.decode_message({"msg": "ping"}) == {"msg": "ping"}


def test_decode_message_bad_conversion_raises() -> None:
    with pytest.raises(EJSONError):
        ejson.decode_message({"msg": "method", "params": [{"$type": "x", "$value": 1}]})
    with pytest.raises(EJSONError):
        ejson.decode_message({"msg": "sub", "params": [{"$binary": "%%%"}]}, '"$binary"')


# --------------------------------------------------------------------------- json_safe, equals


def test_json_safe_matches_json_stringify() -> None:
    value = {
        "d": D,
        "b": b"\x01\x02",
        "r": RegExp("a", "g"),
        "n": math.nan,
        "i": -math.inf,
        "t": (1, "x"),
        "o": CustomType("oid", "a" * 24),
        "m": CustomType("Decimal", "1.5"),
        1: "intkey",
        "x": object,
    }
    out = ejson.json_safe(value)
    assert out["d"] == "2023-11-14T22:13:20.000Z"
    assert out["b"] == {"0": 1, "1": 2}
    assert out["r"] == {}
    assert out["n"] is None and out["i"] is None
    assert out["t"] == [1, "x"]
    assert out["o"] == {"_str": "a" * 24}
    assert out["m"] == "1.5"
    assert out["1"] == "intkey"
    assert isinstance(out["x"], str)
    orjson.dumps(out)  # really plain JSON


def test_json_safe_iso_uses_utc_and_milliseconds() -> None:
    d = datetime(2020, 1, 2, 5, 4, 5, 678999, tzinfo=timezone(timedelta(hours=3)))
    assert ejson.json_safe(d) == "2020-01-02T02:04:05.678Z"


def test_equals_semantics() -> None:
    assert ejson.equals({"a": 1, "b": 2, "c": 3}, {"a": 1, "c": 3, "b": 2})
    assert not ejson.equals({"a": 1, "b": 2}, {"a": 1, "c": 3, "b": 2})
    assert not ejson.equals({"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 2})
    assert not ejson.equals({"a": {}}, {"a": {"b": 2}})
    assert ejson.equals([1, 2, 3], [1, 2, 3])
    assert not ejson.equals([1, 2, 3, 4], [1, 2, 3])
    assert not ejson.equals([1, 2], {"0": 1, "1": 2})
    assert not ejson.equals({}, [])
    assert ejson.equals(None, None)
    assert not ejson.equals({"foo": "foo"}, None)
    assert not ejson.equals(None, {"foo": "foo"})
    assert ejson.equals(math.nan, math.nan)
    assert not ejson.equals(math.inf, -math.inf)
    assert not ejson.equals(math.nan, 0)
    assert not ejson.equals(True, 1)
    assert not ejson.equals(0, False)
    assert ejson.equals(1, 1.0)
    assert not ejson.equals("1", 1)
    assert ejson.equals(D, D.astimezone(timezone(timedelta(hours=5))))
    assert ejson.equals(D.replace(tzinfo=None), D)
    assert not ejson.equals(D, D + timedelta(milliseconds=1))
    assert ejson.equals(b"ab", bytearray(b"ab"))
    assert not ejson.equals(b"ab", "ab")
    assert ejson.equals(RegExp("a", "ig"), RegExp("a", "gi"))
    assert not ejson.equals(CustomType("oid", "a"), CustomType("Decimal", "a"))


def test_regexp_construction_validates() -> None:
    with pytest.raises(TypeError):
        RegExp(1, "g")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- property


_keys = st.one_of(
    st.text(max_size=6),
    st.sampled_from(["$date", "$binary", "$InfNaN", "$escape", "$regexp", "$flags", "$type", "$value", "$x"]),
)
_dates = st.integers(min_value=-62135596800000, max_value=253402300799999).map(
    lambda ms: datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
)
_atoms = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.sampled_from(["$", "$100", '"$', "null", "\x01"]),
    _dates,
    st.binary(max_size=8),
    st.builds(RegExp, st.text(max_size=5), st.text(alphabet="gimuyx", max_size=6)),
    st.sampled_from([CustomType("oid", "0123456789abcdef01234567"), CustomType("Decimal", "2.5")]),
)
_values = st.recursive(
    _atoms,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=3)),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(_values)
def test_property_round_trip(value: object) -> None:
    text = ejson.dumps(value)
    back = ejson.loads(text)
    assert ejson.equals(back, value)
    assert ejson.dumps(back) == text
    # the fast path and the full walk agree byte for byte
    assert text == orjson.dumps(ejson.to_ejson(value)).decode()
    assert ejson.equals(ejson.from_ejson(ejson.to_ejson(value)), value)


@settings(max_examples=200, deadline=None)
@given(_values)
def test_property_message_round_trip(value: object) -> None:
    msg = {"msg": "result", "id": "1", "result": value}
    text = ejson.encode_message(msg)
    raw = orjson.loads(text)
    assert list(raw) == ["msg", "id", "result"]
    assert ejson.equals(ejson.decode_message(raw, text)["result"], value)
