"""EJSON's special types and their wire shapes, shared by the encoder and the decoder.

:class:`RegExp`, :class:`CustomType` and :class:`EJSONError`; the date, binary and NaN/Infinity
conversions both directions use; and the test for a plain dict that has exactly the shape of one
of Meteor's converters (which is what ``$escape`` exists for). The public API is re-exported by
:mod:`ddp_e2e.ddp.ejson`; import from there.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

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


# --------------------------------------------------------------------------- converter shapes

_ONE_KEY_SHAPES = frozenset({"$date", "$InfNaN", "$binary", "$escape"})


def _matches_converter(d: dict[str, Any]) -> bool:
    """True when a plain dict has exactly the shape of one of Meteor's converters."""
    n = len(d)
    if n == 1:
        return next(iter(d)) in _ONE_KEY_SHAPES
    if n == 2:
        return ("$regexp" in d and "$flags" in d) or ("$type" in d and "$value" in d)
    return False
