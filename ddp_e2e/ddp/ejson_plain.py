"""Plain JSON and equality for parsed EJSON values: ``json_safe`` (no EJSON) and ``equals``.

The public API is re-exported by :mod:`ddp_e2e.ddp.ejson`; import from there.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from .ejson_types import _UTC, CustomType, RegExp, _date_to_ms


def _iso(d: datetime) -> str:
    if d.tzinfo is not None:
        d = d.astimezone(_UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def json_safe(value: Any) -> Any:
    """The plain JSON form ``JSON.stringify`` would give for a parsed EJSON value.

    Used where Meteor re-serialises without EJSON (``offendingMessage``, ``error``): dates
    become ISO strings, NaN/Infinity ``null``, binary an index-keyed object, a RegExp ``{}``.
    Never raises: an unknown object becomes its ``str()``.
    """
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return value
    if t is float:
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return {str(i): b for i, b in enumerate(bytes(value))}
    if isinstance(value, RegExp):
        return {}
    if isinstance(value, CustomType):
        return {"_str": value.value} if value.type == "oid" else json_safe(value.value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return json_safe(float(value))
    return str(value)


def _is_number(v: Any) -> bool:
    return type(v) is int or type(v) is float or (isinstance(v, int | float) and not isinstance(v, bool))


def equals(a: Any, b: Any) -> bool:
    """Deep equality with ``EJSON.equals`` semantics (key order ignored).

    Unlike Python's ``==``: ``True`` is not ``1``, NaN equals NaN, dates compare by millisecond
    (naive ones as UTC), and binary compares by content.
    """
    if a is b:
        return True
    ta = type(a)
    if ta is str:
        return type(b) is str and a == b
    if ta is bool or type(b) is bool:
        return ta is type(b) and a == b
    if _is_number(a):
        if not _is_number(b):
            return False
        if a != a and b != b:
            return True
        return bool(a == b)
    if isinstance(a, dict):
        if not isinstance(b, dict) or len(a) != len(b):
            return False
        for k, v in a.items():
            if k not in b or not equals(v, b[k]):
                return False
        return True
    if isinstance(a, list | tuple):
        if not isinstance(b, list | tuple) or len(a) != len(b):
            return False
        return all(equals(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, datetime):
        return isinstance(b, datetime) and _date_to_ms(a) == _date_to_ms(b)
    if isinstance(a, bytes | bytearray | memoryview):
        return isinstance(b, bytes | bytearray | memoryview) and bytes(a) == bytes(b)
    if a is None or b is None:
        return False
    return type(a) is type(b) and bool(a == b)
