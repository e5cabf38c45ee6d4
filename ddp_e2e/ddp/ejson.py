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

The implementation is split by job: :mod:`.ejson_types` (the special types and their wire
shapes), :mod:`.ejson_decode`, :mod:`.ejson_encode` (with the fast path) and
:mod:`.ejson_plain` (plain JSON and equality). This module is the public API: the functions
are imported as they are, so calling them through here adds no indirection.
"""

from .ejson_decode import decode_message, from_ejson, loads, needs_decoding
from .ejson_encode import dumps, dumps_bytes, encode_message, encode_message_bytes, to_ejson
from .ejson_plain import equals, json_safe
from .ejson_types import EJSON_KEYS as EJSON_KEYS  # not in __all__, but public before the split
from .ejson_types import KNOWN_CUSTOM_TYPES as KNOWN_CUSTOM_TYPES
from .ejson_types import CustomType, EJSONError, RegExp

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
