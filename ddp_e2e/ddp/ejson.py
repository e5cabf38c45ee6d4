"""EJSON, Meteor's JSON extension, over orjson.

DDP carries dates, binary data, NaN/Infinity, regular expressions and a couple of custom types
inside ``params``, ``fields`` and ``result``; every other key is plain JSON (spec
ddp-protocol.md §4, §2.3). This module converts between those wire forms and Python values:

==============================  =============================================================
wire                            Python
==============================  =============================================================
``{"$date": ms}``               aware UTC :class:`datetime.datetime` (naive ones are UTC)
``{"$binary": base64}``         :class:`bytes` (``bytearray``/``memoryview`` accepted out)
``{"$InfNaN": 0 | 1 | -1}``     ``float("nan")``, ``float("inf")``, ``float("-inf")``
``{"$regexp": s, "$flags": f}`` :class:`RegExp`
``{"$type": t, "$value": v}``   :class:`CustomType` (only ``oid`` and ``Decimal`` are known)
``{"$escape": {...}}``          a plain dict whose own shape looks like one of the above
==============================  =============================================================

Why the odd structure: every outgoing frame goes through :func:`encode_message`, and a Python
tree walk costs more than orjson itself (perf-anchors.md §2.5, target T10). So the fast path
lets orjson do the walk and converts the special types in its ``default=`` hook. The one thing
a hook cannot see is a *plain* dict that needs ``$escape`` (or a NaN, which orjson writes as
``null``); both leave traces in the output bytes (an unexpected ``"$``, or ``null``), and only
then do we fall back to the full Python walk. Decoding is symmetric: a walk runs only when the
raw text can contain a ``$`` key at all.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import orjson

__all__ = [
    "CustomType",
    "EJSONError",
    "RegExp",
    "decode_message",
    "dumps",
    "dumps_bytes",
    "encode_message",
    "encode_message_bytes",
    "equals",
    "from_ejson",
    "json_safe",
    "loads",
    "needs_decoding",
    "to_ejson",
]

EJSON_KEYS = ("params", "fields", "result")
"""The only top-level DDP message keys that carry EJSON; everything else is plain JSON."""

KNOWN_CUSTOM_TYPES = frozenset({"oid", "Decimal"})

_UTC = UTC
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
_EPOCH_NAIVE = datetime(1970, 1, 1)
_MS = timedelta(milliseconds=1)
# The ms range a Python datetime can hold (years 1..9999); JavaScript's is wider.
_MIN_MS = (datetime(1, 1, 1, tzinfo=_UTC) - _EPOCH) // _MS
_MAX_MS = (datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=_UTC) - _EPOCH) // _MS

_JS_FLAG_ORDER = "gimuy"  # the flags Meteor keeps, in the order RegExp.prototype.flags lists them
_MAX_FLAGS = 50
_OID_RE = re.compile(r"[0-9a-f]{24}")
_DECIMAL_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Infinity|NaN")

_OPTS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class EJSONError(ValueError):
    """A value cannot be converted to or from EJSON (DDP answers ``Parse error``)."""


def _sanitize_flags(flags: str) -> str:
    """Meteor's flag filter: first 50 characters, only ``gimuy``, each once (canonical order)."""
    kept = set(flags[:_MAX_FLAGS])
    return "".join(f for f in _JS_FLAG_ORDER if f in kept)


@dataclass(frozen=True, slots=True)
class RegExp:
    """A JavaScript regular expression carried as data (Python's ``re`` dialect differs, so we
    never compile it). Flags are sanitised as Meteor does on parse, so equal regexps compare equal.
    """

    source: str
    flags: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not isinstance(self.flags, str):
            raise TypeError("RegExp source and flags must be strings")
        object.__setattr__(self, "flags", _sanitize_flags(self.flags))


@dataclass(frozen=True, slots=True)
class CustomType:
    """An EJSON custom type (``$type``/``$value``): Mongo ``oid`` or ``Decimal``.

    ``value`` is the plain JSON value the type serialises to (a 24-hex string for ``oid``, a
    decimal string for ``Decimal``).
    """

    type: str
    value: Any


# --------------------------------------------------------------------------- dates and binary


def _date_to_ms(d: datetime) -> int:
    if d.tzinfo is None:
        return (d - _EPOCH_NAIVE) // _MS
    return (d - _EPOCH) // _MS


def _ms_to_date(ms: Any) -> datetime:
    if type(ms) is int:
        pass
    elif type(ms) is float and math.isfinite(ms):
        ms = int(ms)  # JavaScript's TimeClip truncates toward zero
    else:
        raise EJSONError(f"Invalid $date value {ms!r}")
    if not _MIN_MS <= ms <= _MAX_MS:
        raise EJSONError(f"$date {ms} is out of range")
    return _EPOCH + timedelta(milliseconds=ms)


def _b64encode(data: bytes | bytearray | memoryview) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: Any) -> bytes:
    if type(text) is not str:
        raise EJSONError("$binary must be a base64 string")
    missing = -len(text) % 4
    if missing == 3:
        raise EJSONError("invalid base64 string")
    try:
        return binascii.a2b_base64(text + "=" * missing, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise EJSONError("invalid base64 string") from exc


def _infnan(value: float) -> dict[str, int]:
    if value != value:
        return {"$InfNaN": 0}
    return {"$InfNaN": 1 if value > 0 else -1}


# --------------------------------------------------------------------------- parsing (from)

_ONE_KEY_SHAPES = frozenset({"$date", "$InfNaN", "$binary", "$escape"})


def _matches_converter(d: dict[str, Any]) -> bool:
    """True when a plain dict has exactly the shape of one of Meteor's converters."""
    n = len(d)
    if n == 1:
        return next(iter(d)) in _ONE_KEY_SHAPES
    if n == 2:
        return ("$regexp" in d and "$flags" in d) or ("$type" in d and "$value" in d)
    return False


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


# --------------------------------------------------------------------------- serialising (to)


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


# --------------------------------------------------------------------------- plain JSON, equality


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
