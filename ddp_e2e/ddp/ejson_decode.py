"""EJSON decoding: wire JSON -> Python values (``from_ejson``, ``loads``, ``decode_message``).

A walk runs only when the raw text can contain a ``$`` key at all (:func:`needs_decoding`), so the
common frame costs nothing beyond orjson's parse. The public API is re-exported by
:mod:`ddp_e2e.ddp.ejson`; import from there.
"""

from __future__ import annotations

import math
import re
from typing import Any

import orjson

from .ejson_types import (
    EJSON_KEYS,
    CustomType,
    EJSONError,
    RegExp,
    _b64decode,
    _matches_converter,
    _ms_to_date,
)

_OID_RE = re.compile(r"[0-9a-f]{24}")
_DECIMAL_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Infinity|NaN")


def _escape_source_items(inner: Any) -> list[tuple[str, Any]]:
    """What JavaScript's ``Object.keys(x).forEach`` would visit for ``$escape``'s value."""
    if type(inner) is dict:
        return list(inner.items())
    if type(inner) is list or type(inner) is str:
        return [(str(i), v) for i, v in enumerate(inner)]
    if inner is None:
        raise EJSONError("$escape value must be an object")
    return []  # numbers and booleans have no own keys


def _convert(d: dict[str, Any]) -> Any:
    """Convert a dict that :func:`_matches_converter` accepted."""
    if len(d) == 1:
        key, val = next(iter(d.items()))
        if key == "$date":
            return _ms_to_date(val)
        if key == "$binary":
            return _b64decode(val)
        if key == "$InfNaN":
            if type(val) not in (int, float):
                raise EJSONError(f"Invalid $InfNaN value {val!r}")
            if val > 0:
                return math.inf
            if val < 0:
                return -math.inf
            return math.nan
        return {k: from_ejson(v) for k, v in _escape_source_items(val)}  # $escape
    if "$regexp" in d:
        source, flags = d["$regexp"], d["$flags"]
        if type(source) is not str or type(flags) is not str:
            raise EJSONError("$regexp and $flags must be strings")
        return RegExp(source, flags)
    type_name, value = d["$type"], d["$value"]
    if type_name == "oid":
        if type(value) is not str or not _OID_RE.fullmatch(value.lower()):
            raise EJSONError("Invalid hexadecimal string for creating an ObjectID")
        return CustomType("oid", value.lower())
    if type_name == "Decimal":
        if type(value) not in (str, int, float) or type(value) is bool:
            raise EJSONError(f"Invalid Decimal value {value!r}")
        text = value if type(value) is str else repr(value)
        if not _DECIMAL_RE.fullmatch(text.strip()):
            raise EJSONError(f"Invalid Decimal value {value!r}")
        return CustomType("Decimal", text.strip())
    raise EJSONError(f"Custom EJSON type {type_name} is not defined")


def from_ejson(value: Any) -> Any:
    """Plain JSON value -> Python value (Meteor's ``EJSON.fromJSONValue``). Returns new containers.

    Raises :class:`EJSONError` for an unknown ``$type`` or a malformed special value.
    """
    t = type(value)
    if t is dict:
        if 0 < len(value) <= 2 and _matches_converter(value):
            return _convert(value)
        return {k: from_ejson(v) for k, v in value.items()}
    if t is list:
        return [from_ejson(v) for v in value]
    return value


def needs_decoding(raw: str | bytes) -> bool:
    """Whether raw JSON text can contain a ``$`` key, i.e. whether a walk could change anything.

    ``\\u0024`` is ``$`` spelled as an escape; missing it would let a client smuggle an
    unconverted ``{"$date": ...}`` past us.
    """
    if isinstance(raw, str):
        return '"$' in raw or "\\u0024" in raw
    return b'"$' in raw or b"\\u0024" in raw


def loads(text: str | bytes) -> Any:
    """Parse EJSON text. Raises :class:`EJSONError` for bad JSON as well as bad EJSON."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise EJSONError(f"Invalid JSON: {exc}") from exc
    if needs_decoding(text):
        return from_ejson(value)
    return value


def decode_message(msg: dict[str, Any], raw: str | bytes | None = None) -> dict[str, Any]:
    """Convert the EJSON keys (``params``, ``fields``, ``result``) of a parsed DDP message.

    Pass the frame's ``raw`` text when you have it: without a ``"$`` in it nothing can need
    converting and the message is returned untouched (the common case, at no cost). Otherwise
    a new dict is returned; the input is not modified. Raises :class:`EJSONError`.
    """
    if raw is not None and not needs_decoding(raw):
        return msg
    out: dict[str, Any] | None = None
    for key in EJSON_KEYS:
        if key in msg:
            if out is None:
                out = dict(msg)
            out[key] = from_ejson(msg[key])
    return msg if out is None else out
