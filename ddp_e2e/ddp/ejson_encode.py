"""EJSON encoding: Python values -> wire JSON (``to_ejson``, ``dumps``, ``encode_message``).

Every outgoing frame goes through :func:`encode_message`, so the fast path lets orjson do the
walk and converts the special types in its ``default=`` hook; the full Python walk
(:func:`to_ejson`) runs only when the output bytes show it is needed (see :func:`_dumps_fast`).
The public API is re-exported by :mod:`ddp_e2e.ddp.ejson`; import from there.
"""

from __future__ import annotations

import base64
import math
import re
from datetime import date, datetime, time
from typing import Any

import orjson

from .ejson_plain import json_safe
from .ejson_types import (
    EJSON_KEYS,
    CustomType,
    EJSONError,
    RegExp,
    _b64encode,
    _date_to_ms,
    _infnan,
    _matches_converter,
)

_OPTS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _special_to_ejson(value: Any) -> Any:
    """The EJSON form of a non-JSON Python value, or raise TypeError for an unsupported one."""
    if isinstance(value, datetime):
        return {"$date": _date_to_ms(value)}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$binary": _b64encode(value)}
    if isinstance(value, RegExp):
        return {"$regexp": value.source, "$flags": value.flags}
    if isinstance(value, CustomType):
        return {"$type": value.type, "$value": value.value}
    if isinstance(value, date | time):
        raise TypeError(f"{type(value).__name__} is not EJSON; use an aware datetime")
    raise TypeError(f"Type is not EJSON serializable: {type(value).__name__}")


def to_ejson(value: Any) -> Any:
    """Python value -> plain JSON value (Meteor's ``EJSON.toJSONValue``), with ``$escape``.

    Tuples become lists. Raises :class:`EJSONError` for a value EJSON cannot represent.
    """
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return value
    if t is float:
        return value if math.isfinite(value) else _infnan(value)
    if isinstance(value, dict):
        out = {k: to_ejson(v) for k, v in value.items()}
        if 0 < len(value) <= 2 and _matches_converter(value):
            return {"$escape": out}
        return out
    if isinstance(value, list | tuple):
        return [to_ejson(v) for v in value]
    if isinstance(value, float | int):  # subclasses (IntEnum, numpy-like floats)
        return to_ejson(float(value) if isinstance(value, float) else int(value))
    if isinstance(value, str):
        return str(value)
    try:
        return _special_to_ejson(value)
    except TypeError as exc:
        raise EJSONError(str(exc)) from exc


def _has_nonfinite(value: Any) -> bool:
    t = type(value)
    if t is float:
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_nonfinite(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_nonfinite(v) for v in value)
    return isinstance(value, float) and not math.isfinite(value)


# orjson escapes every control character inside strings, so a raw \x01 byte can only come from
# our own fragments: it stands for "$" until the output has been checked for user "$" keys.
_MARK = b"\x01"
_DATE_FRAG = b'{"\x01date":%d}'
_BINARY_FRAG = b'{"\x01binary":"%s"}'
_NULL_RE = re.compile(rb"null")


_DATE_CACHE: dict[datetime, bytes] = {}
_DATE_CACHE_MAX = 4096


def _date_fragment(obj: datetime) -> orjson.Fragment:
    """``{"$date":ms}`` (with the mark). Cached: one instant is often sent many times (a message's
    ``ts`` and ``_updatedAt``, a fan-out to every subscriber) and the ms arithmetic is the single
    most expensive step of an encode. Equal aware datetimes are the same instant, so sharing an
    entry is exact; naive and aware never compare equal, so they never share one.
    """
    frag = _DATE_CACHE.get(obj)
    if frag is None:
        if len(_DATE_CACHE) >= _DATE_CACHE_MAX:
            _DATE_CACHE.clear()
        frag = _DATE_CACHE[obj] = _DATE_FRAG % _date_to_ms(obj)
    return orjson.Fragment(frag)


def _default(obj: Any) -> Any:
    """orjson ``default=`` hook: the EJSON form of a special value, ``$`` written as the mark."""
    if isinstance(obj, datetime):
        return _date_fragment(obj)
    if isinstance(obj, bytes | bytearray | memoryview):
        return orjson.Fragment(_BINARY_FRAG % base64.b64encode(obj))
    if isinstance(obj, RegExp | CustomType):
        return orjson.Fragment(orjson.dumps(_special_to_ejson(obj)).replace(b"$", _MARK))
    return _special_to_ejson(obj)  # raises TypeError with a useful message


def _dumps_fast(value: Any) -> bytes | None:
    """orjson with the special types converted in ``default=``; None when a walk is needed.

    A walk is needed when a dict's first key starts with ``$`` (``{"$`` can only be a key:
    inside strings the quote is escaped), since it may need ``$escape``, or when a ``null``
    in the output might be a NaN/Infinity that orjson wrote as ``null``. Both are rare in
    Rocket.Chat data, and each is detected with one scan of the output.
    """
    try:
        out = orjson.dumps(value, default=_default, option=_OPTS)
    except orjson.JSONEncodeError as exc:
        raise EJSONError(str(exc)) from exc
    if out.find(b"$") != -1 and out.find(b'{"$') != -1:
        return None
    if _NULL_RE.search(out) is not None and _has_nonfinite(value):
        return None
    return out.replace(_MARK, b"$")


def _dumps_plain(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        raise EJSONError(str(exc)) from exc


def dumps_bytes(value: Any) -> bytes:
    """EJSON text of ``value`` as UTF-8 bytes (compact, key order kept, like ``EJSON.stringify``)."""
    out = _dumps_fast(value)
    if out is None:
        out = _dumps_plain(to_ejson(value))
    return out


def dumps(value: Any) -> str:
    """EJSON text of ``value`` (compact, key order kept, like ``EJSON.stringify``)."""
    return dumps_bytes(value).decode("utf-8")


def encode_message_bytes(msg: dict[str, Any]) -> bytes:
    """UTF-8 JSON text of a server DDP message; see :func:`encode_message`."""
    if "error" not in msg and "offendingMessage" not in msg:
        # _dumps_fast inlined: this runs for every outgoing frame.
        try:
            out = orjson.dumps(msg, default=_default, option=_OPTS)
        except orjson.JSONEncodeError as exc:
            raise EJSONError(str(exc)) from exc
        if (out.find(b"$") == -1 or out.find(b'{"$') == -1) and (
            _NULL_RE.search(out) is None or not _has_nonfinite(msg)
        ):
            return out.replace(_MARK, b"$")
    plain = {k: (to_ejson(v) if k in EJSON_KEYS else json_safe(v)) for k, v in msg.items()}
    return _dumps_plain(plain)


def encode_message(msg: dict[str, Any]) -> str:
    """JSON text of a server DDP message, EJSON applied to ``fields``/``result``/``params`` only.

    ``error`` and ``offendingMessage`` are plain JSON as Meteor sends them (a date in
    ``details`` becomes an ISO string). Other keys are expected to hold plain JSON already.
    Raises :class:`EJSONError` if a value cannot be represented.
    """
    return encode_message_bytes(msg).decode("utf-8")
