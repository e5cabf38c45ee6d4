"""Normalising DDP frames so that two runs of the same session compare equal (spec §4.3).

A :class:`Normalizer` is stateful and belongs to one side of one connection (the recorded
frames, or the live ones). It must see that side's frames in wire order, client frames included,
because aliases are handed out by first appearance:

* session ids -> ``<session#1>``, method ids -> ``<method#n>``, sub ids -> ``<sub#n>``, login
  and resume tokens -> ``<token#n>``, document ids -> ``<id#n>``. A document id is any string
  in an id position (:data:`~ddp_e2e.replay.fields.DOC_ID_KEYS`: ``id``, ``_id``, ``rid``,
  ``u._id``, ...) and any 17-character Meteor id anywhere, also as a ``/``-separated part
  (``"<rid>/typing"``). Whether a string is aliased never depends on history, only its number
  does, so both sides treat the same data the same way; the comparator then matches alias
  numbers up between the sides.
* ``{"$date": ms}`` -> ``{"$date~": {"abs": ms, "rel": ms - reference}}`` where the reference is
  the wall-clock time of the frame (``started_at + t``) when known, otherwise the first date this
  side saw. The comparator accepts a date equal within the tolerance either absolutely (fixture
  data) or relative to its frame (``ts`` of a message sent now), so fast replays of slow
  recordings still pass.
* passwords, digests, OTP codes and ``services`` -> ``"<secret>"`` (redacted and unredacted
  recordings compare equal); error objects -> only ``error`` and ``errorType``; ``randomSeed``
  masked.
* ping/pong, ``server_id`` greetings and presence/typing stream events are dropped.
* E2EE ciphertext and keys (``t:"e2e"`` ``msg``, ``content``, ``E2EKey``, ``E2ESuggestedKey``,
  ``public_key``, ``private_key``, ``oldRoomKeys[].E2EKey``) are never aliased: kept byte for
  byte by default, or reduced to their 12-character key-id prefix with ``ciphertext="keyid"``
  when real clients re-encrypted instead of replaying recorded frames.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from .fields import (
    CIPHER_KEYS,
    DOC_ID_KEYS,
    KEY_ID_PREFIX,
    OTP_PARENT_KEYS,
    PASSWORD_KEYS,
    SECRET_TREE_KEYS,
    TOKEN_KEYS,
    is_id_shaped,
    is_presence_event,
)
from .rewrite import IdRewriter  # the live runner's side of id handling, re-exported here

__all__ = [
    "ALIAS_RE",
    "DATE_KEY",
    "SECRET",
    "IdRewriter",
    "NormalizeOptions",
    "Normalizer",
]

SECRET = "<secret>"
#: The key of a normalised date: ``{"$date~": {"abs": ms, "rel": ms}}``.
DATE_KEY = "$date~"
#: An alias inside a normalised string.
ALIAS_RE = re.compile(r"<(session|method|sub|token|id)#(\d+)>")

_DATA_MSGS = frozenset({"added", "changed", "removed", "addedBefore", "movedBefore"})
_ERROR_KEEP = ("error", "errorType")


@dataclass(frozen=True, slots=True)
class NormalizeOptions:
    """What normalisation keeps, drops and how strictly it compares."""

    drop_heartbeats: bool = True
    drop_server_id: bool = True
    drop_presence: bool = True
    #: "bytes": ciphertext compared byte for byte (recorded client frames replayed unchanged);
    #: "keyid": compared by presence and key-id prefix (real clients re-encrypted).
    ciphertext: Literal["bytes", "keyid"] = "bytes"
    #: "tolerant": absolute or frame-relative within ``date_tolerance_ms``; "exact"; "mask".
    dates: Literal["tolerant", "exact", "mask"] = "tolerant"
    date_tolerance_ms: float = 60_000.0


class Normalizer:
    """Normalises the frames of one side of one connection, in wire order."""

    def __init__(self, options: NormalizeOptions | None = None, started_at_ms: float | None = None) -> None:
        self.options = options or NormalizeOptions()
        self.started_at_ms = started_at_ms
        #: (kind, original) -> alias, e.g. ("method", "1") -> "<method#1>".
        self.aliases: dict[tuple[str, str], str] = {}
        self._originals: dict[str, str] = {}
        self._counters: dict[str, int] = {}
        self._first_date: float | None = None
        self._frame_wall: float | None = None

    # -- public -----------------------------------------------------------------------------
    def normalize(
        self, frame: str | dict[str, Any], direction: str, t_ms: float | None = None
    ) -> dict[str, Any] | None:
        """The normalised message, or None when it is dropped from comparison.

        ``frame`` is raw DDP text or an already parsed object (never modified). Raw text that is
        not a JSON object is returned as ``{"$unparsed": text}`` so it still compares.
        """
        if isinstance(frame, str):
            try:
                obj = orjson.loads(frame)
            except orjson.JSONDecodeError:
                return {"$unparsed": frame}
        else:
            obj = frame
        if not isinstance(obj, dict):
            return {"$unparsed": frame if isinstance(frame, str) else repr(frame)}
        if self.dropped(obj):
            return None
        self._frame_wall = (
            self.started_at_ms + t_ms if self.started_at_ms is not None and t_ms is not None else None
        )
        return self._message(obj, direction)

    def dropped(self, obj: dict[str, Any]) -> bool:
        """True for messages that are timing noise under the current options."""
        msg = obj.get("msg")
        opts = self.options
        if opts.drop_heartbeats and msg in ("ping", "pong"):
            return True
        if opts.drop_server_id and (msg == "server_id" or ("server_id" in obj and msg is None)):
            return True
        if opts.drop_presence and msg == "changed":
            collection = obj.get("collection")
            fields = obj.get("fields")
            event = fields.get("eventName") if isinstance(fields, dict) else None
            if isinstance(collection, str) and collection.startswith("stream-"):
                return is_presence_event(collection, event)
        return False

    def alias(self, kind: str, value: str) -> str:
        """The alias of ``value`` as a ``kind`` ("session", "method", "sub", "token", "id")."""
        key = (kind, value)
        found = self.aliases.get(key)
        if found is None:
            n = self._counters.get(kind, 0) + 1
            self._counters[kind] = n
            found = self.aliases[key] = f"<{kind}#{n}>"
            self._originals[found] = value
        return found

    def original(self, alias: str) -> str | None:
        """Reverse lookup, for messages that show the recorded id next to its alias."""
        return self._originals.get(alias)

    # -- messages ---------------------------------------------------------------------------
    def _message(self, obj: dict[str, Any], direction: str) -> dict[str, Any]:
        msg = obj.get("msg")
        out: dict[str, Any] = {}
        for key, value in obj.items():
            out[key] = self._top(msg, key, value, direction)
        return out

    def _top(self, msg: Any, key: str, value: Any, direction: str) -> Any:
        if key == "msg":
            return value
        if key == "session" and isinstance(value, str):
            return self.alias("session", value)
        if key == "id" and isinstance(value, str):
            if msg in ("method", "result"):
                return self.alias("method", value)
            if msg in ("sub", "unsub", "nosub"):
                return self.alias("sub", value)
            if msg in _DATA_MSGS:
                return value if value == "id" else self.alias("id", value)
            return value
        if key == "methods" and msg == "updated" and isinstance(value, list):
            return [self.alias("method", v) if isinstance(v, str) else v for v in value]
        if key == "subs" and msg == "ready" and isinstance(value, list):
            return [self.alias("sub", v) if isinstance(v, str) else v for v in value]
        if key == "error" and msg in ("result", "nosub") and isinstance(value, dict):
            return {k: self._walk(value[k], k, None) for k in _ERROR_KEEP if k in value}
        if key == "reason" and msg == "error":
            return "<reason>"
        if key == "randomSeed" and msg == "method":
            return "<randomSeed>"
        if key == "before" and msg in _DATA_MSGS and isinstance(value, str):
            return self.alias("id", value)
        return self._member(key, value, None, False)

    # -- values -----------------------------------------------------------------------------
    def _walk(self, value: Any, key: str | None, parent: str | None) -> Any:
        if isinstance(value, dict):
            return self._dict(value, key)
        if isinstance(value, list):
            return [self._walk(v, key, parent) for v in value]
        if isinstance(value, str):
            return self._string(value)
        return value

    def _dict(self, value: dict[str, Any], key: str | None) -> Any:
        if len(value) == 1 and "$date" in value:
            return self._date(value)
        if len(value) == 1 and "$binary" in value:
            return value
        if key == "content" and ("ciphertext" in value or "algorithm" in value):
            return self._content(value)
        e2e_message = value.get("t") == "e2e"
        return {k: self._member(k, v, key, e2e_message) for k, v in value.items()}

    def _member(self, k: str, v: Any, parent: str | None, e2e_message: bool) -> Any:
        """One key of an object: the key decides whether its value is a secret, id or cipher."""
        if k in SECRET_TREE_KEYS:
            return SECRET
        if isinstance(v, str):
            if k in PASSWORD_KEYS or (k == "code" and parent in OTP_PARENT_KEYS):
                return SECRET
            if k in TOKEN_KEYS:
                return self.alias("token", v)
            if k in CIPHER_KEYS or (k == "msg" and e2e_message):
                return self._cipher(v)
            if k in DOC_ID_KEYS:
                return self.alias("id", v) if v else v
        return self._walk(v, k, parent)

    def _string(self, value: str) -> str:
        if is_id_shaped(value):
            return self.alias("id", value)
        if "/" in value and len(value) < 512:
            parts = value.split("/")
            if any(is_id_shaped(p) for p in parts):
                return "/".join(self.alias("id", p) if is_id_shaped(p) else p for p in parts)
        return value

    def _date(self, value: dict[str, Any]) -> Any:
        ms = value["$date"]
        mode = self.options.dates
        if mode == "exact" or not isinstance(ms, int | float) or isinstance(ms, bool):
            return value
        if mode == "mask":
            return {"$date": "<date>"}
        if self._frame_wall is not None:
            reference = self._frame_wall
        else:
            if self._first_date is None:
                self._first_date = float(ms)
            reference = self._first_date
        return {DATE_KEY: {"abs": float(ms), "rel": float(ms) - reference}}

    def _cipher(self, value: str) -> str:
        if self.options.ciphertext == "bytes" or not value:
            return value
        return f"<cipher:{value[:KEY_ID_PREFIX]}>"

    def _content(self, value: dict[str, Any]) -> dict[str, Any]:
        """An E2EE ``content`` object: v1 ``{algorithm, ciphertext}``, v2 adds ``kid`` and ``iv``."""
        keyid = self.options.ciphertext == "keyid"
        v1 = value.get("algorithm") != "rc.v2.aes-sha2" and "kid" not in value
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k == "ciphertext" and isinstance(v, str):
                out[k] = self._cipher(v) if v1 or not keyid else ("<cipher>" if v else v)
            elif k == "iv" and isinstance(v, str):
                out[k] = "<iv>" if keyid and v else v
            elif k in ("algorithm", "kid"):
                out[k] = v
            else:
                out[k] = self._walk(v, k, "content")
        return out
