"""Hypothesis fuzz of the sans-I/O Session with hostile frames (security-reliability-replay.md §2.8).

Frames: DDP skeletons with hostile leaves (operator objects, EJSON ``$date``/``$binary``/
``$regexp``/``$type``/``$escape`` objects, NaN/Infinity, huge strings and numbers, deep nesting),
arbitrary JSON that is not a DDP object, and arbitrary text. Property: ``receive``/``drain``/
``on_timer`` never raise, every output frame is one of the DDP server messages in a known shape,
errors never carry a traceback, and every well-formed method gets exactly one ``result`` and one
``updated``. The App is real (every registered method and publication), on the memory store.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ddp_e2e.app import App
from ddp_e2e.ddp.session import Session
from ddp_e2e.dispatch import ConnectionInfo
from tests.unit.ddp_harness import make_app

PROTOCOL_ERRORS = {"Bad request", "Parse error", "Must connect first", "Already connected",
                   "Malformed method invocation", "Malformed subscription"}
OPERATOR_KEYS = ["$ne", "$gt", "$regex", "$where", "$in", "$exists", "$set", "$expr"]

# --------------------------------------------------------------------------- strategies

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(["GENERAL", "u-alice", "r-secret", "", "__proto__", "constructor", "\u2028", "\ud800"]),
)
ejson_specials = st.one_of(
    st.fixed_dictionaries({"$date": st.one_of(st.integers(), st.floats(), st.text(max_size=5))}),
    st.fixed_dictionaries({"$binary": st.one_of(st.text(max_size=12), st.just("AQID"))}),
    st.fixed_dictionaries({"$InfNaN": st.one_of(st.integers(-2, 2), st.text(max_size=2))}),
    st.fixed_dictionaries({"$regexp": st.text(max_size=8), "$flags": st.text(max_size=4)}),
    st.fixed_dictionaries({"$type": st.sampled_from(["oid", "Decimal", "nope"]), "$value": scalars}),
    st.fixed_dictionaries({"$escape": st.dictionaries(st.sampled_from(["$date", "$binary", "a"]), scalars,
                                                       max_size=2)}),
)
operators = st.dictionaries(st.sampled_from(OPERATOR_KEYS), scalars, min_size=1, max_size=2)
leaves = st.one_of(scalars, ejson_specials, operators)
values = st.recursive(
    leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.one_of(st.text(max_size=6), st.sampled_from(OPERATOR_KEYS)), inner,
                                            max_size=4)),
    max_leaves=12,
)


def deep(depth: int, kind: str) -> str:
    return ("[" * depth + "]" * depth) if kind == "list" else ('{"a":' * depth + "1" + "}" * depth)


@st.composite
def ddp_frames(draw: st.DrawFn, methods: list[str], pubs: list[str]) -> str:
    msg_kind = draw(st.sampled_from(["connect", "method", "sub", "unsub", "ping", "pong", "disconnect",
                                     "nonsense", "result", "added"]))
    frame: dict[str, Any] = {}
    if draw(st.booleans()) or msg_kind != "nonsense":
        frame["msg"] = msg_kind if draw(st.integers(0, 9)) else draw(values)
    if msg_kind == "connect":
        frame["version"] = draw(st.one_of(st.sampled_from(["1", "pre2", "pre1", "2"]), values))
        frame["support"] = draw(st.one_of(st.lists(st.sampled_from(["1", "pre2", "pre1", "x"]), max_size=3), values))
    if msg_kind in ("method", "sub", "unsub", "ping", "pong") and draw(st.integers(0, 5)):
        frame["id"] = draw(st.one_of(st.text(max_size=4), values))
    if msg_kind == "method":
        frame["method"] = draw(st.one_of(st.sampled_from(methods), values))
        if draw(st.integers(0, 7)):
            frame["randomSeed"] = draw(st.one_of(st.text(max_size=4), values))
    if msg_kind == "sub":
        frame["name"] = draw(st.one_of(st.sampled_from(pubs), values))
    if msg_kind in ("method", "sub") and draw(st.integers(0, 7)):
        frame["params"] = draw(st.one_of(st.lists(values, max_size=4), values))
    text = json.dumps(frame, allow_nan=True)  # NaN/Infinity tokens included: not JSON, must be refused
    mutation = draw(st.integers(0, 19))
    if mutation == 0:  # a huge string where the params go
        return text.replace("{", '{"pad":"' + "x" * draw(st.integers(10_000, 600_000)) + '",', 1)
    if mutation == 1:  # nesting around and past every recursion limit
        nested = deep(draw(st.sampled_from([250, 300, 990, 1000, 1100, 2000])), draw(st.sampled_from(["list", "dict"])))
        return text.replace("{", '{"deep":' + nested + ",", 1)
    if mutation == 2:
        return text[: draw(st.integers(0, max(0, len(text) - 1)))]  # truncated
    return text


junk_frames = st.one_of(
    st.text(max_size=40),
    values.map(lambda v: json.dumps(v, allow_nan=True)),
    st.sampled_from(["", "null", "[]", "[{}]", '"msg"', "1e999", "-0", '{"msg":"ping"', "\x00", "{}" * 3]),
)


# --------------------------------------------------------------------------- shape of everything sent


def check_error_object(err: Any) -> None:
    assert isinstance(err, dict) and err["isClientSafe"] is True and err["errorType"] == "Meteor.Error", err
    assert isinstance(err["error"], str | int) and isinstance(err["message"], str), err
    assert "Traceback" not in json.dumps(err), err


def check_shape(msg: Any) -> None:
    assert isinstance(msg, dict), msg
    kind = msg.get("msg")
    if kind == "connected":
        assert isinstance(msg["session"], str) and len(msg["session"]) == 17
    elif kind == "failed":
        assert msg["version"] in ("1", "pre2", "pre1")
    elif kind == "error":
        assert msg["reason"] in PROTOCOL_ERRORS and set(msg) <= {"msg", "reason", "offendingMessage"}, msg
    elif kind in ("ping", "pong"):
        assert set(msg) <= {"msg", "id"} and isinstance(msg.get("id", ""), str), msg
        assert kind == "pong" or "id" not in msg
    elif kind == "result":
        assert isinstance(msg["id"], str) and not ("error" in msg and "result" in msg), msg
        if "error" in msg:
            check_error_object(msg["error"])
    elif kind == "updated":
        assert isinstance(msg["methods"], list) and all(isinstance(m, str) for m in msg["methods"])
    elif kind == "nosub":
        assert isinstance(msg.get("id", ""), str)
        if "error" in msg:
            check_error_object(msg["error"])
    elif kind == "ready":
        assert all(isinstance(s, str) for s in msg["subs"])
    elif kind in ("added", "changed", "removed"):
        assert isinstance(msg["collection"], str) and isinstance(msg["id"], str)
    else:
        raise AssertionError(f"unknown server message {msg!r:.200}")


def well_formed_method(text: str) -> str | None:
    """The method id a frame must get exactly one result and one updated for, if any."""
    try:
        frame = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    ok = (isinstance(frame, dict) and frame.get("msg") == "method" and isinstance(frame.get("id"), str)
          and isinstance(frame.get("method"), str) and isinstance(frame.get("params", []), list)
          and isinstance(frame.get("randomSeed", ""), str))
    return frame["id"] if ok else None


# --------------------------------------------------------------------------- the property


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[asyncio.AbstractEventLoop, App]]:
    loop = asyncio.new_event_loop()
    app = loop.run_until_complete(make_app(fixtures=True))
    yield loop, app
    loop.run_until_complete(app.store.close())
    loop.close()


def exercise(loop: asyncio.AbstractEventLoop, app: App, frames: list[str], connect_first: bool,
             ticks: list[float]) -> None:
    session = Session(app, ConnectionInfo(id=app.random.id()), now=0.0)
    if connect_first:
        session.receive('{"msg":"connect","version":"1","support":["1"]}', 0.0)
    expected: Counter[str] = Counter()
    now = 0.0
    for i, text in enumerate(frames):
        now += 1.0
        connected_before = session.version is not None
        session.receive(text, now)
        loop.run_until_complete(session.drain())
        mid = well_formed_method(text)
        if mid is not None and connected_before and not session.closed:
            if '"$' not in text and "\\u0024" not in text:  # EJSON that fails to convert: Parse error, no result
                expected[mid] += 1
        if i < len(ticks):
            session.on_timer(now + ticks[i])
    out = [orjson.loads(t) for t in session.take_output()]
    for msg in out:
        check_shape(msg)
    results = Counter(m["id"] for m in out if m.get("msg") == "result")
    updated = Counter(mid for m in out if m.get("msg") == "updated" for mid in m["methods"])
    assert results == updated, (results, updated)
    for mid, n in expected.items():
        assert results[mid] >= n, (mid, out)
    session.close()


@settings(max_examples=250, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(data=st.data())
def test_hostile_frames_never_raise_and_every_answer_has_a_known_shape(
        world: tuple[asyncio.AbstractEventLoop, App], data: st.DataObject) -> None:
    loop, app = world
    methods = sorted(m for m in app.registry.methods if m != "t.slow")  # t.slow waits for a gate forever
    pubs = sorted(app.registry.publications)
    frames = data.draw(st.lists(st.one_of(ddp_frames(methods, pubs), junk_frames), min_size=1, max_size=6))
    ticks = data.draw(st.lists(st.floats(0, 100), max_size=3))
    exercise(loop, app, frames, data.draw(st.booleans()), ticks)


def test_the_property_sees_broken_shapes() -> None:
    """The checker itself refuses what a broken server could send."""
    for bad in ({"msg": "error", "reason": "Traceback (most recent call last)"},
                {"msg": "result", "id": "1", "error": {"error": 500}},
                {"msg": "pong", "id": 5}, {"msg": "ping", "id": "x"}, {"msg": "whatever"}, [1]):
        with pytest.raises((AssertionError, KeyError)):
            check_shape(bad)
