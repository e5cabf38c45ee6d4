"""The matcher language of conformance scenarios: JSON patterns that read as documentation.

A pattern is plain JSON compared with a message as it was on the wire (raw JSON, no EJSON
decoding, so ``{"$date": 1700000000000}`` is an object with a ``$date`` key):

* an object matches a *subset*: every key of the pattern must match, other keys may be there;
* a list matches a list of the same length, element by element, in order;
* strings, numbers, booleans and null match equal values (``1`` equals ``1.0``);
* a string in angle brackets is a matcher: ``<any>``, ``<absent>`` (the key must not be there),
  ``<string>``/``<any-string>``, ``<non-empty-string>``, ``<number>``, ``<integer>``,
  ``<boolean>``, ``<object>``, ``<array>``, ``<null>``, ``<meteor-id>`` (17 characters of
  Meteor's alphabet), ``<date>`` (an EJSON ``{"$date": integer}``), ``<capture:NAME>`` (any value,
  remembered as ``${NAME}``);
* an object whose keys all start with ``$`` is an operator: ``{"$regex": "^a"}``,
  ``{"$exact": {...}}`` (no other keys allowed), ``{"$unordered": [...]}`` (same items, any
  order), ``{"$contains": [...]}`` (these items among others, any order), ``{"$not": p}``,
  ``{"$one_of": [p, ...]}``, ``{"$eq": value}`` (literal, for values that look like matchers),
  ``{"$length": n}``, ``{"$json": p}`` (a string holding JSON that matches ``p``),
  ``{"$capture": "NAME", "$match": p}``.

``${NAME}`` anywhere in a pattern or a message to send is a variable: a whole-string reference
keeps the value's type, a reference inside a longer string is interpolated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import permutations
from typing import Any

import orjson

from ..ids import is_meteor_id

__all__ = ["ABSENT", "Mismatch", "PatternError", "match", "substitute", "validate_pattern"]

_VAR = re.compile(r"\$\{([A-Za-z0-9_.\-]+)\}")
_TOKEN = re.compile(r"^<([a-z\-]+)(?::([A-Za-z0-9_.\-]+))?>$")


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


#: The "value" of a key that is not there.
ABSENT: Any = _Absent()


class PatternError(ValueError):
    """A pattern that is not valid (unknown matcher or operator, wrong operand)."""


@dataclass(frozen=True, slots=True)
class Mismatch:
    """Where a value differs from its pattern: ``result.users[0].e2e`` and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path or '(message)'}: {self.reason}"


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


_TYPE_TOKENS: dict[str, Callable[[Any], bool]] = {
    "any": lambda v: v is not ABSENT,
    "string": lambda v: isinstance(v, str),
    "any-string": lambda v: isinstance(v, str),
    "non-empty-string": lambda v: isinstance(v, str) and v != "",
    "number": _is_num,
    "integer": _is_int,
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
    "meteor-id": is_meteor_id,
    "date": lambda v: isinstance(v, dict) and len(v) == 1 and _is_int(v.get("$date")),
}
_OPERATORS = frozenset(
    {"$regex", "$exact", "$unordered", "$contains", "$not", "$one_of", "$eq", "$length", "$json", "$capture", "$match"}
)


def substitute(value: Any, variables: Mapping[str, Any]) -> Any:
    """Replace ``${NAME}`` references; an unknown name raises KeyError naming it."""
    if isinstance(value, str):
        whole = _VAR.fullmatch(value)
        if whole:
            return _lookup(variables, whole.group(1))
        if "${" not in value:
            return value
        return _VAR.sub(lambda m: _as_text(_lookup(variables, m.group(1))), value)
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    if isinstance(value, dict):
        return {substitute(k, variables) if "${" in k else k: substitute(v, variables) for k, v in value.items()}
    return value


def _lookup(variables: Mapping[str, Any], name: str) -> Any:
    if name not in variables:
        raise KeyError(f"unknown variable ${{{name}}}")
    return variables[name]


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def validate_pattern(pattern: Any, where: str = "") -> None:
    """Raise :class:`PatternError` for unknown tokens or operators, before anything runs."""
    if isinstance(pattern, str):
        token = _TOKEN.match(pattern)
        if token and token.group(1) not in _TYPE_TOKENS and token.group(1) not in ("absent", "capture"):
            raise PatternError(f"{where or 'pattern'}: unknown matcher {pattern!r}")
        if token and token.group(1) == "capture" and not token.group(2):
            raise PatternError(f"{where or 'pattern'}: <capture:NAME> needs a name")
    elif isinstance(pattern, list):
        for i, item in enumerate(pattern):
            validate_pattern(item, f"{where}[{i}]")
    elif isinstance(pattern, dict):
        if _is_operator(pattern):
            unknown = set(pattern) - _OPERATORS
            if unknown:
                raise PatternError(f"{where or 'pattern'}: unknown operator(s) {sorted(unknown)}")
            for key, operand in pattern.items():
                if key in ("$regex", "$capture") and not isinstance(operand, str):
                    raise PatternError(f"{where}: {key} needs a string")
                if key == "$regex":
                    try:
                        re.compile(operand)
                    except re.error as exc:
                        raise PatternError(f"{where}: bad $regex {operand!r}: {exc}") from None
                if key in ("$unordered", "$contains", "$one_of") and not isinstance(operand, list):
                    raise PatternError(f"{where}: {key} needs a list")
                if key == "$length" and not _is_int(operand):
                    raise PatternError(f"{where}: $length needs an integer")
                if key in ("$exact", "$not", "$json", "$match", "$unordered", "$contains", "$one_of"):
                    validate_pattern(operand, where)
        else:
            for key, item in pattern.items():
                validate_pattern(item, f"{where}.{key}" if where else key)


def _is_operator(pattern: dict[str, Any]) -> bool:
    return bool(pattern) and all(k.startswith("$") for k in pattern) and any(k in _OPERATORS for k in pattern)


def match(pattern: Any, value: Any, captures: dict[str, Any] | None = None, path: str = "") -> list[Mismatch]:
    """Every way ``value`` fails ``pattern`` (empty when it matches); fills ``captures``."""
    out: list[Mismatch] = []
    _match(pattern, value, path, out, captures if captures is not None else {})
    return out


def _show(value: Any) -> str:
    if value is ABSENT:
        return "nothing"
    text = orjson.dumps(value).decode()
    return text if len(text) <= 120 else text[:117] + "..."


def _match(p: Any, v: Any, path: str, out: list[Mismatch], caps: dict[str, Any]) -> None:
    if isinstance(p, str):
        token = _TOKEN.match(p)
        if token:
            name, arg = token.groups()
            if name == "absent":
                if v is not ABSENT:
                    out.append(Mismatch(path, f"expected no value, got {_show(v)}"))
            elif name == "capture":
                if v is ABSENT:
                    out.append(Mismatch(path, f"expected a value to capture as ${{{arg}}}, got nothing"))
                else:
                    caps[arg] = v
            elif not _TYPE_TOKENS[name](v):
                out.append(Mismatch(path, f"expected {p}, got {_show(v)}"))
            return
        if v != p:
            out.append(Mismatch(path, f"expected {_show(p)}, got {_show(v)}"))
        return
    if isinstance(p, dict) and _is_operator(p):
        _operator(p, v, path, out, caps)
        return
    if v is ABSENT:
        out.append(Mismatch(path, f"expected {_show(p)}, got nothing"))
        return
    if isinstance(p, dict):
        if not isinstance(v, dict):
            out.append(Mismatch(path, f"expected an object, got {_show(v)}"))
            return
        for key, sub in p.items():
            _match(sub, v.get(key, ABSENT), f"{path}.{key}" if path else key, out, caps)
        return
    if isinstance(p, list):
        if not isinstance(v, list):
            out.append(Mismatch(path, f"expected an array, got {_show(v)}"))
            return
        if len(p) != len(v):
            out.append(Mismatch(path, f"expected {len(p)} items, got {len(v)}: {_show(v)}"))
            return
        for i, (sub, item) in enumerate(zip(p, v, strict=True)):
            _match(sub, item, f"{path}[{i}]", out, caps)
        return
    same = (_is_num(p) and _is_num(v) and p == v) or (type(p) is type(v) and p == v)
    if not same:
        out.append(Mismatch(path, f"expected {_show(p)}, got {_show(v)}"))


def _operator(p: dict[str, Any], v: Any, path: str, out: list[Mismatch], caps: dict[str, Any]) -> None:
    if "$capture" in p:
        inner = p.get("$match", "<any>")
        before = len(out)
        _match(inner, v, path, out, caps)
        if len(out) == before:
            caps[p["$capture"]] = v
        return
    if "$eq" in p:
        if v != p["$eq"] or (type(v) is not type(p["$eq"]) and not (_is_num(v) and _is_num(p["$eq"]))):
            out.append(Mismatch(path, f"expected exactly {_show(p['$eq'])}, got {_show(v)}"))
        return
    if "$regex" in p:
        if not isinstance(v, str) or re.search(p["$regex"], v) is None:
            out.append(Mismatch(path, f"expected a string matching /{p['$regex']}/, got {_show(v)}"))
        return
    if "$not" in p:
        if not match(p["$not"], v, {}, path):
            out.append(Mismatch(path, f"expected anything but {_show(p['$not'])}, got {_show(v)}"))
        return
    if "$one_of" in p:
        for option in p["$one_of"]:
            trial: dict[str, Any] = {}
            if not match(option, v, trial, path):
                caps.update(trial)
                return
        out.append(Mismatch(path, f"expected one of {_show(p['$one_of'])}, got {_show(v)}"))
        return
    if "$length" in p:
        if not isinstance(v, str | list) or len(v) != p["$length"]:
            out.append(Mismatch(path, f"expected length {p['$length']}, got {_show(v)}"))
        return
    if "$json" in p:
        try:
            parsed = orjson.loads(v) if isinstance(v, str) else ABSENT
        except orjson.JSONDecodeError:
            parsed = ABSENT
        if parsed is ABSENT:
            out.append(Mismatch(path, f"expected a JSON text, got {_show(v)}"))
        else:
            _match(p["$json"], parsed, f"{path}(json)", out, caps)
        return
    if "$exact" in p:
        inner = p["$exact"]
        if isinstance(inner, dict) and isinstance(v, dict):
            extra = sorted(set(v) - set(inner))
            if extra:
                out.append(Mismatch(path, f"unexpected key(s) {extra} in {_show(v)}"))
        _match(inner, v, path, out, caps)
        return
    items = p.get("$unordered", p.get("$contains"))
    if not isinstance(v, list):
        out.append(Mismatch(path, f"expected an array, got {_show(v)}"))
        return
    exact = "$unordered" in p
    if exact and len(items) != len(v):
        out.append(Mismatch(path, f"expected {len(items)} items in any order, got {len(v)}: {_show(v)}"))
        return
    if not _assign(items, v, caps):
        word = "in any order" if exact else "among the items"
        out.append(Mismatch(path, f"expected {_show(items)} {word}, got {_show(v)}"))


def _assign(patterns: list[Any], values: list[Any], caps: dict[str, Any]) -> bool:
    """Each pattern matched by a distinct value (small lists: try assignments in order)."""
    fits = [[j for j, v in enumerate(values) if not match(p, v, {})] for p in patterns]
    if len(patterns) <= 6:
        for choice in permutations(range(len(values)), len(patterns)):
            if all(choice[i] in fits[i] for i in range(len(patterns))):
                for p, j in zip(patterns, choice, strict=True):
                    match(p, values[j], caps)
                return True
        return False
    taken: set[int] = set()
    for i, options in enumerate(fits):
        free = next((j for j in options if j not in taken), None)
        if free is None:
            return False
        taken.add(free)
        match(patterns[i], values[free], caps)
    return True
