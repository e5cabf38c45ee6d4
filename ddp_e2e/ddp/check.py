"""Parameter shapes, in the spirit of Meteor's ``check()``.

Every DDP method, publication and REST body declares the shape of its input; the dispatcher
checks it before a handler runs. This is the single defence against NoSQL operator injection: a
dict where a string belongs never reaches a query, it fails here with ``400 Match failed``.
Patterns are small immutable objects so shapes can also be exported as JSON Schema (protocol/).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from .errors import MatchError

#: Marks an absent positional parameter or object key (JavaScript's ``undefined``).
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING", "__bool__": lambda self: False})()


class Pattern(abc.ABC):
    """A shape a value must have. ``check`` returns the value (unchanged) or raises."""

    @abc.abstractmethod
    def check(self, value: Any, path: str) -> Any:
        """Return ``value`` when it has this shape, else raise MatchError naming ``path``."""

    def allows_missing(self) -> bool:
        return False

    def schema(self) -> dict[str, Any]:
        """JSON Schema of the shape, for protocol/ and the README tables."""
        return {}


class _Type(Pattern):
    def __init__(self, name: str, pred: Callable[[Any], bool], schema: dict[str, Any]) -> None:
        self.name, self.pred, self._schema = name, pred, schema

    def check(self, value: Any, path: str) -> Any:
        if value is MISSING or not self.pred(value):
            raise MatchError(f"{path}: expected {self.name}")
        return value

    def schema(self) -> dict[str, Any]:
        return dict(self._schema)

    def __repr__(self) -> str:
        return self.name


def _is_int(v: Any) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or (
        isinstance(v, float) and v.is_integer() and math.isfinite(v)
    )


String = _Type("String", lambda v: isinstance(v, str), {"type": "string"})
NonEmptyString = _Type("NonEmptyString", lambda v: isinstance(v, str) and v != "", {"type": "string", "minLength": 1})
Boolean = _Type("Boolean", lambda v: isinstance(v, bool), {"type": "boolean"})
Integer = _Type("Integer", _is_int, {"type": "integer"})
Number = _Type(
    "Number",
    lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    {"type": "number"},
)
Date = _Type("Date", lambda v: isinstance(v, datetime), {"type": "object", "required": ["$date"]})
Null = _Type("Null", lambda v: v is None, {"type": "null"})


class _Any(Pattern):
    def check(self, value: Any, path: str) -> Any:
        if value is MISSING:
            raise MatchError(f"{path}: required")
        return value

    def __repr__(self) -> str:
        return "Any"


Any_ = _Any()


def MaxLenString(n: int, *, min_len: int = 0) -> Pattern:
    """A string no longer than ``n`` characters (bounded input is a security rule)."""
    return _Type(
        f"String(<={n})",
        lambda v: isinstance(v, str) and min_len <= len(v) <= n,
        {"type": "string", "maxLength": n, **({"minLength": min_len} if min_len else {})},
    )


class Optional(Pattern):
    """Absent, or matching ``inner`` (Meteor's ``Match.Optional``: null is *not* allowed)."""

    def __init__(self, inner: Pattern) -> None:
        self.inner = inner

    def check(self, value: Any, path: str) -> Any:
        return value if value is MISSING else self.inner.check(value, path)

    def allows_missing(self) -> bool:
        return True

    def schema(self) -> dict[str, Any]:
        return self.inner.schema()


class Maybe(Optional):
    """Absent, null, or matching ``inner`` (Meteor's ``Match.Maybe``)."""

    def check(self, value: Any, path: str) -> Any:
        return value if value is MISSING or value is None else self.inner.check(value, path)

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [self.inner.schema(), {"type": "null"}]}


class OneOf(Pattern):
    def __init__(self, *options: Pattern) -> None:
        self.options = options

    def check(self, value: Any, path: str) -> Any:
        for opt in self.options:
            try:
                return opt.check(value, path)
            except MatchError:
                continue
        raise MatchError(f"{path}: matched none of {self.options!r}")

    def allows_missing(self) -> bool:
        return any(o.allows_missing() for o in self.options)

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [o.schema() for o in self.options]}


class ArrayOf(Pattern):
    def __init__(self, inner: Pattern, *, max_items: int | None = None) -> None:
        self.inner, self.max_items = inner, max_items

    def check(self, value: Any, path: str) -> Any:
        if not isinstance(value, list):
            raise MatchError(f"{path}: expected array")
        if self.max_items is not None and len(value) > self.max_items:
            raise MatchError(f"{path}: more than {self.max_items} items")
        for i, item in enumerate(value):
            self.inner.check(item, f"{path}[{i}]")
        return value

    def schema(self) -> dict[str, Any]:
        s: dict[str, Any] = {"type": "array", "items": self.inner.schema()}
        if self.max_items is not None:
            s["maxItems"] = self.max_items
        return s


class Object(Pattern):
    """A dict with exactly these keys (absent ones allowed when their pattern allows it)."""

    extra_allowed = False

    def __init__(self, fields: Mapping[str, Pattern]) -> None:
        self.fields = dict(fields)

    def check(self, value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise MatchError(f"{path}: expected object")
        if not self.extra_allowed:
            for key in value:
                if key not in self.fields:
                    raise MatchError(f"{path}.{key}: unknown key")
        for key, pat in self.fields.items():
            pat.check(value.get(key, MISSING), f"{path}.{key}")
        return value

    def schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {k: p.schema() for k, p in self.fields.items()},
            "required": [k for k, p in self.fields.items() if not p.allows_missing()],
            "additionalProperties": self.extra_allowed,
        }


class ObjectIncluding(Object):
    """A dict with at least these keys checked; others pass through unchecked."""

    extra_allowed = True


class AnyObject(Pattern):
    """Any dict (Meteor's ``Object`` pattern); its values are not inspected."""

    def check(self, value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise MatchError(f"{path}: expected object")
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "object"}


class Where(Pattern):
    """A custom predicate; ``description`` documents it in the generated schema."""

    def __init__(self, pred: Callable[[Any], bool], description: str, schema: dict[str, Any] | None = None) -> None:
        self.pred, self.description, self._schema = pred, description, schema or {}

    def check(self, value: Any, path: str) -> Any:
        if value is MISSING:
            raise MatchError(f"{path}: required")
        try:
            ok = bool(self.pred(value))
        except Exception:  # a predicate that crashes on odd input is a mismatch, not a 500
            ok = False
        if not ok:
            raise MatchError(f"{path}: {self.description}")
        return value

    def schema(self) -> dict[str, Any]:
        return {**self._schema, "description": self.description}


def check(value: Any, pattern: Pattern, path: str = "$") -> Any:
    """Raise :class:`MatchError` unless ``value`` has the shape ``pattern``."""
    return pattern.check(value, path)


class Params:
    """The positional parameters of a DDP method or publication.

    Trailing parameters whose pattern allows absence may be left out; more parameters than
    declared is a mismatch (extra data never reaches a handler unchecked).
    """

    def __init__(self, *patterns: Pattern) -> None:
        self.patterns = patterns

    def check(self, params: Sequence[Any]) -> list[Any]:
        if len(params) > len(self.patterns):
            raise MatchError(f"too many params: {len(params)} > {len(self.patterns)}")
        out = list(params)
        for i, pat in enumerate(self.patterns):
            value = params[i] if i < len(params) else MISSING
            pat.check(value, f"params[{i}]")
            if i >= len(params):
                out.append(MISSING)
        return out

    def schema(self) -> dict[str, Any]:
        required = sum(1 for p in self.patterns if not p.allows_missing())
        return {
            "type": "array",
            "prefixItems": [p.schema() for p in self.patterns],
            "minItems": required,
            "maxItems": len(self.patterns),
        }
