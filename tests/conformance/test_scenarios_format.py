"""The scenario format: the matcher language and the loader's errors (bad files never run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ddp_e2e.conformance import (
    DEFAULT_SCENARIOS,
    PatternError,
    ScenarioError,
    load_scenarios,
    match,
    select,
    substitute,
)
from ddp_e2e.conformance.matchers import validate_pattern
from tests.conftest import ROOT

ID = "m7bW3yZqKcaE9XvPf"


@pytest.mark.parametrize(("pattern", "value"), [
    ({"msg": "connected"}, {"msg": "connected", "session": ID}),
    ({"session": "<meteor-id>"}, {"session": ID}),
    ({"x": "<absent>"}, {"y": 1}),
    ({"n": 1}, {"n": 1.0}),
    ({"d": "<date>"}, {"d": {"$date": 1700000000000}}),
    ({"s": {"$regex": "^ab"}}, {"s": "abc"}),
    ({"$exact": {"a": 1}}, {"a": 1}),
    ({"l": {"$unordered": [2, 1]}}, {"l": [1, 2]}),
    ({"l": {"$contains": [{"k": 2}]}}, {"l": [{"k": 1}, {"k": 2, "z": 0}]}),
    ({"v": {"$not": "x"}}, {"v": "y"}),
    ({"v": {"$one_of": [1, "<string>"]}}, {"v": "s"}),
    ({"v": {"$eq": "<absent>"}}, {"v": "<absent>"}),
    ({"v": {"$length": 3}}, {"v": [1, 2, 3]}),
    ({"v": {"$json": {"public_key": "pk", "private_key": "<absent>"}}}, {"v": '{"public_key":"pk"}'}),
    ([1, {"a": "<any>"}], [1, {"a": None}]),
])
def test_patterns_that_match(pattern: Any, value: Any) -> None:
    assert match(pattern, value) == []


@pytest.mark.parametrize(("pattern", "value", "where"), [
    ({"msg": "connected"}, {"msg": "failed"}, "msg"),
    ({"session": "<meteor-id>"}, {"session": "short"}, "session"),
    ({"x": "<absent>"}, {"x": None}, "x"),
    ({"b": True}, {"b": 1}, "b"),
    ({"d": "<date>"}, {"d": {"$date": "soon"}}, "d"),
    ({"$exact": {"a": 1}}, {"a": 1, "b": 2}, "unexpected key"),
    ({"l": {"$unordered": [1, 1]}}, {"l": [1, 2]}, "l"),
    ({"l": [1]}, {"l": [1, 2]}, "expected 1 items"),
    ({"v": {"$not": "x"}}, {"v": "x"}, "anything but"),
    ({"v": {"$json": {"private_key": "<absent>"}}}, {"v": '{"private_key":"sk"}'}, "v(json).private_key"),
    ({"v": {"$json": {}}}, {"v": "{broken"}, "JSON text"),
    ({"a": {"b": "<string>"}}, {"a": "flat"}, "expected an object"),
])
def test_patterns_that_do_not_match(pattern: Any, value: Any, where: str) -> None:
    problems = match(pattern, value)
    assert problems and where in "; ".join(map(str, problems))


def test_captures_and_variables() -> None:
    caps: dict[str, Any] = {}
    assert match({"result": {"rid": "<capture:rid>", "x": {"$capture": "x", "$match": "<integer>"}}},
                 {"result": {"rid": "R1", "x": 5}}, caps) == []
    assert caps == {"rid": "R1", "x": 5}
    assert substitute({"p": ["${rid}", "room ${rid}/${x}"], "n": "${x}"}, caps) == {"p": ["R1", "room R1/5"], "n": 5}
    with pytest.raises(KeyError, match="missing"):
        substitute("${missing}", caps)


@pytest.mark.parametrize("pattern", ["<no-such-matcher>", {"$regex": "("}, {"$nope": 1, "$regex": "a"},
                                     {"$length": "3"}, {"$unordered": "x"}, "<capture>"])
def test_invalid_patterns_are_refused(pattern: Any) -> None:
    with pytest.raises(PatternError):
        validate_pattern(pattern)


def _write(tmp_path: Path, doc: Any) -> Path:
    path = tmp_path / "bad.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


@pytest.mark.parametrize(("doc", "message"), [
    ("{not json", "not JSON"),
    ({"scenarios": []}, '"suite"'),
    ({"suite": "s", "scenarios": [{"name": "a", "steps": []}]}, "has no steps"),
    ({"suite": "s", "scenarios": [{"name": "a", "steps": [{"send": "x", "expect": {}}]}]}, "step 1: needs exactly one"),
    ({"suite": "s", "scenarios": [{"name": "a", "steps": [{"frobnicate": 1}]}]}, "step 1: needs exactly one"),
    ({"suite": "s", "scenarios": [{"name": "a", "steps": [{"send": "x", "bogus": 1}]}]}, "does not take ['bogus']"),
    ({"suite": "s", "scenarios": [{"name": "a", "steps": [{"expect": {"msg": "<nope>"}}]}]}, "unknown matcher"),
    ({"suite": "s", "scenarios": [{"name": "a", "steps": [{"call": "m", "result": 1, "error": 1}]}]}, "not both"),
    ({"suite": "s", "scenarios": [{"name": "a", "steps": [{"send": "x", "timeout": -1}]}]}, "timeout"),
    ({"suite": "s", "scenarios": [{"name": "a", "steps": [{"send": "x"}]}, {"name": "a", "steps": [{"send": "y"}]}]},
     "defined twice"),
])
def test_loader_names_the_file_and_step(tmp_path: Path, doc: Any, message: str) -> None:
    path = _write(tmp_path, doc)
    with pytest.raises(ScenarioError) as err:
        load_scenarios(path)
    assert str(path) in str(err.value) and message in str(err.value)
    proc = subprocess.run([sys.executable, "-m", "ddp_e2e.cli", "conformance", "--url", "ws://x/websocket",
                           "--scenarios", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def test_shipped_scenarios_load_and_select() -> None:
    scenarios = load_scenarios(DEFAULT_SCENARIOS)
    assert len(scenarios) >= 45 and all(s.title and s.spec_ref for s in scenarios)
    assert {s.id for s in select(scenarios, ["heartbeat"])} == {"ddp-core/server-heartbeat", "ddp-core/heartbeat-timeout"}
    assert all(not s.id.startswith("e2e") for s in select(scenarios, [], ["e2e-*"]))
