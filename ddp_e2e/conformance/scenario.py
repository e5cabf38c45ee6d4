"""Loading conformance scenarios: JSON documents in protocol/scenarios/, checked before running.

A file is one suite::

    {"suite": "ddp-core", "title": "...", "spec": "ddp-protocol.md §2.3",
     "scenarios": [{"name": "not-json", "title": "...", "spec": "...", "tags": [...],
                    "steps": [{"send": "{not json"}, {"expect": {"msg": "error", ...}}]}]}

Each step is an object with exactly one *kind* key (``send``, ``expect``, ``call``...) and the
options that kind allows; README.md ("Conformance") lists them. Every pattern is validated here, so a
typo in a scenario is reported with its file, scenario and step before anything connects.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .matchers import PatternError, validate_pattern

__all__ = ["STEP_KINDS", "Scenario", "ScenarioError", "Step", "load_scenarios", "select"]

_COMMON = frozenset({"on", "timeout", "note"})
#: kind -> the other keys a step of that kind may have.
STEP_KINDS: dict[str, frozenset[str]] = {
    "open": frozenset({"sockjs", "answer_pings"}),
    "connect": frozenset({"version", "support", "expect", "sockjs", "answer_pings"}),
    "login": frozenset({"resume", "capture"}),
    "send": frozenset(),
    "call": frozenset({"params", "result", "error", "id"}),
    "subscribe": frozenset({"params", "id", "error"}),
    "expect": frozenset({"next"}),
    "expect_all": frozenset(),
    "expect_close": frozenset(),
    "refute": frozenset(),
    "count": frozenset({"equals"}),
    "barrier": frozenset(),
    "http": frozenset({"status", "body"}),
    "set": frozenset(),
    "close": frozenset(),
}
#: Keys that hold patterns (validated), per kind.
_PATTERN_KEYS = {
    "connect": ("expect",),
    "call": ("result", "error"),
    "subscribe": ("error",),
    "expect": ("expect",),
    "expect_all": ("expect_all",),
    "expect_close": ("expect_close",),
    "refute": ("refute",),
    "count": ("count",),
    "http": ("body",),
}


class ScenarioError(ValueError):
    """A scenario file that cannot be used: ``file: scenario x, step 3: reason``."""


@dataclass(frozen=True, slots=True)
class Step:
    number: int
    kind: str
    spec: dict[str, Any]

    @property
    def connection(self) -> str:
        """The socket this step acts on: the value of open/connect/close/barrier, else ``on``."""
        value = self.spec[self.kind]
        if self.kind in ("open", "connect", "close", "barrier") and isinstance(value, str):
            return value
        return str(self.spec.get("on", "c1"))

    def describe(self) -> str:
        value = self.spec[self.kind]
        shown = value if isinstance(value, str) else orjson.dumps(value).decode()
        if len(shown) > 90:
            shown = shown[:87] + "..."
        return f"step {self.number} ({self.kind} {shown})"


@dataclass(frozen=True, slots=True)
class Scenario:
    suite: str
    name: str
    title: str
    spec_ref: str
    steps: tuple[Step, ...]
    tags: tuple[str, ...] = ()
    source: str = ""
    variables: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.suite}/{self.name}"


def load_scenarios(directory: str | os.PathLike[str]) -> list[Scenario]:
    """Every scenario of every ``*.json`` file in ``directory``, in file then document order."""
    root = Path(directory)
    files = sorted(root.glob("*.json")) if root.is_dir() else [root]
    if not files:
        raise ScenarioError(f"{root}: no scenario files (*.json)")
    scenarios: list[Scenario] = []
    seen: set[str] = set()
    for file in files:
        for scenario in _load_file(file):
            if scenario.id in seen:
                raise ScenarioError(f"{file}: scenario {scenario.id} is defined twice")
            seen.add(scenario.id)
            scenarios.append(scenario)
    return scenarios


def select(scenarios: list[Scenario], patterns: list[str], skip: list[str] | None = None) -> list[Scenario]:
    """Scenarios picked by one of ``patterns`` and by none of ``skip``.

    A pattern is a glob on the id (``e2e-*``, ``login/resume``), a suite name (``login``) or a
    tag (``heartbeat``).
    """

    def hit(scenario: Scenario, pattern: str) -> bool:
        return fnmatch.fnmatchcase(scenario.id, pattern) or pattern in (scenario.suite, *scenario.tags)

    chosen = [s for s in scenarios if not patterns or any(hit(s, p) for p in patterns)]
    return [s for s in chosen if not any(hit(s, p) for p in (skip or []))]


def _load_file(file: Path) -> list[Scenario]:
    try:
        doc = orjson.loads(file.read_bytes())
    except OSError as exc:
        raise ScenarioError(f"{file}: cannot read ({exc.strerror or exc})") from None
    except orjson.JSONDecodeError as exc:
        raise ScenarioError(f"{file}: not JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("suite"), str) or not isinstance(doc.get("scenarios"), list):
        raise ScenarioError(f'{file}: expected {{"suite": "...", "scenarios": [...]}}')
    suite = doc["suite"]
    out = []
    for index, raw in enumerate(doc["scenarios"], start=1):
        where = f"{file}: scenario {index}"
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not isinstance(raw.get("steps"), list):
            raise ScenarioError(f"{where}: needs a string 'name' and a 'steps' list")
        where = f"{file}: scenario {raw['name']}"
        steps = tuple(_step(where, n, s) for n, s in enumerate(raw["steps"], start=1))
        if not steps:
            raise ScenarioError(f"{where}: has no steps")
        tags = raw.get("tags", [])
        variables = raw.get("variables", {})
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags) or not isinstance(variables, dict):
            raise ScenarioError(f"{where}: 'tags' must be a list of strings and 'variables' an object")
        out.append(
            Scenario(
                suite=suite,
                name=raw["name"],
                title=str(raw.get("title", raw["name"])),
                spec_ref=str(raw.get("spec", doc.get("spec", ""))),
                steps=steps,
                tags=tuple(tags),
                source=str(file),
                variables=variables,
            )
        )
    return out


def _step(where: str, number: int, raw: Any) -> Step:
    at = f"{where}, step {number}"
    if not isinstance(raw, dict):
        raise ScenarioError(f"{at}: a step must be an object")
    kinds = [k for k in raw if k in STEP_KINDS]
    if len(kinds) != 1:
        raise ScenarioError(f"{at}: needs exactly one of {sorted(STEP_KINDS)}, found {kinds or 'none'}")
    kind = kinds[0]
    unknown = set(raw) - {kind} - STEP_KINDS[kind] - _COMMON
    if unknown:
        raise ScenarioError(f"{at}: '{kind}' does not take {sorted(unknown)}")
    timeout = raw.get("timeout")
    if timeout is not None and not (isinstance(timeout, int | float) and timeout > 0) and not (
        isinstance(timeout, str) and timeout.startswith("${")
    ):
        raise ScenarioError(f"{at}: 'timeout' must be positive seconds or a ${{variable}}")
    if kind == "call" and "result" in raw and "error" in raw:
        raise ScenarioError(f"{at}: 'call' takes 'result' or 'error', not both")
    if kind == "expect_all" and not isinstance(raw[kind], list):
        raise ScenarioError(f"{at}: 'expect_all' needs a list of patterns")
    if kind == "http" and not (isinstance(raw[kind], dict) and isinstance(raw[kind].get("path"), str)):
        raise ScenarioError(f"{at}: 'http' needs an object with a 'path'")
    if kind == "set" and not isinstance(raw[kind], dict):
        raise ScenarioError(f"{at}: 'set' needs an object of variables")
    try:
        for key in _PATTERN_KEYS.get(kind, ()):
            if key in raw:
                validate_pattern(raw[key], key)
    except PatternError as exc:
        raise ScenarioError(f"{at}: {exc}") from None
    return Step(number, kind, raw)
