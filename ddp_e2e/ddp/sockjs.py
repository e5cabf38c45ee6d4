"""SockJS framing (sans-I/O), as sockjs-node 0.3.24 under Meteor writes and reads it.

Spec ddp-protocol.md §1.2-§1.3. On ``/sockjs/<server>/<session>/websocket`` every server
message travels inside a frame: ``o`` once at open, ``h`` heartbeats, ``a[...]`` batches of
DDP texts and ``c[code,"reason"]`` at close. The client sends a JSON array of DDP texts (or
one JSON string). Clients only care that the frames parse, but byte-identical frames make
recorded transcripts comparable, so the quoting copies sockjs-node's: ``JSON.stringify`` and
then ``\\u`` + four-hex-digit escapes for the characters some browsers and proxies mangle.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

__all__ = [
    "BROKEN_FRAMING",
    "GO_AWAY",
    "HEARTBEAT",
    "NORMAL_CLOSURE",
    "OPEN",
    "WELCOME",
    "SockJSFramingError",
    "close_frame",
    "decode_client_payload",
    "decode_server_frame",
    "encode_messages",
    "info_body",
    "quote",
]

OPEN = "o"
HEARTBEAT = "h"
WELCOME = "Welcome to SockJS!\n"
"""Body of ``GET /sockjs`` and ``/sockjs/``."""

BROKEN_FRAMING = (3000, "Broken framing.")
"""Close code and reason when a client payload is not valid SockJS framing."""
GO_AWAY = (3000, "Go away!")
NORMAL_CLOSURE = (1000, "Normal closure")
"""What Meteor's close without a code becomes on a SockJS socket."""

# sockjs-node's `escapable`: after JSON.stringify, these are written as \u plus four lowercase hex digits.
# JavaScript strings are UTF-16, so a character above U+FFFF is two surrogates there, and each
# one matches the surrogate range: we write such characters as an escaped surrogate pair.
# (\x00-\x1f is in sockjs's set too, but JSON quoting has already escaped those.)
_ESCAPABLE = re.compile(
    r"[\x00-\x1f\ud800-\udfff\u200c-\u200f\u2028-\u202f\u2060-\u206f\ufff0-\uffff\U00010000-\U0010ffff]"
)


class SockJSFramingError(ValueError):
    """A payload or frame that is not valid SockJS framing (server: close with
    :data:`BROKEN_FRAMING`)."""


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def _json_quote(text: str) -> str:
    """``JSON.stringify(text)``: orjson when it can, json for strings with lone surrogates."""
    try:
        return orjson.dumps(text).decode("utf-8")
    except orjson.JSONEncodeError:
        return json.dumps(text, ensure_ascii=False)


def quote(text: str) -> str:
    """One string as sockjs-node quotes it inside an ``a`` frame."""
    if not isinstance(text, str):
        raise TypeError("SockJS messages are strings")
    quoted = _json_quote(text)
    if quoted.isascii():
        return quoted
    return _ESCAPABLE.sub(_escape, quoted)


def encode_messages(texts: list[str]) -> str:
    """An ``a`` frame carrying ``texts`` (each one DDP message's JSON text), in order."""
    if all(type(t) is str and t.isascii() for t in texts):
        # Pure ASCII needs no extra escaping, so one orjson call quotes the whole batch.
        return "a" + orjson.dumps(texts).decode("ascii")
    return "a[" + ",".join(quote(t) for t in texts) + "]"


def close_frame(code: int, reason: str) -> str:
    """``c[code,"reason"]``: sockjs-node writes it with plain ``JSON.stringify``."""
    if type(code) is not int or not isinstance(reason, str):
        raise TypeError("close code must be an int and reason a str")
    return "c" + json.dumps([code, reason], ensure_ascii=False, separators=(",", ":"))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_json(text: str | bytes) -> Any:
    """JSON.parse: orjson, falling back to json for lone-surrogate escapes that JavaScript takes."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SockJSFramingError(BROKEN_FRAMING[1]) from exc


def decode_client_payload(text: str | bytes) -> list[str]:
    """The DDP texts in one client WebSocket payload (or ``xhr_send`` body).

    A JSON array of strings gives its items, a single JSON string gives itself, an empty
    payload gives nothing. Anything else raises :class:`SockJSFramingError`.
    """
    if not text:
        return []
    value = _parse_json(text)
    if type(value) is str:
        return [value]
    if type(value) is list and all(type(item) is str for item in value):
        return value
    raise SockJSFramingError(BROKEN_FRAMING[1])


def decode_server_frame(text: str | bytes) -> tuple[str, list[str] | tuple[int, str] | None]:
    """Split a server frame, for clients and traffic importers.

    Returns ``("o", None)``, ``("h", None)``, ``("a", [texts])`` or ``("c", (code, reason))``.
    One trailing newline (the xhr transports add it) is ignored.
    """
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SockJSFramingError("frame is not UTF-8") from exc
    if text.endswith("\n"):
        text = text[:-1]
    if text == OPEN or text == HEARTBEAT:
        return text, None
    kind, body = text[:1], text[1:]
    if kind == "a" and body:
        items = _parse_json(body)
        if type(items) is list and all(type(item) is str for item in items):
            return "a", items
    elif kind == "c" and body:
        pair = _parse_json(body)
        if type(pair) is list and len(pair) == 2 and type(pair[0]) is int and type(pair[1]) is str:
            return "c", (pair[0], pair[1])
    raise SockJSFramingError(f"not a SockJS frame: {text[:40]!r}")


def unwrap_server_frame(text: str) -> tuple[list[str], tuple[int, str] | None]:
    """A server frame as (DDP messages, close code and reason if it is a ``c`` frame).

    For clients reading a SockJS socket: ``o`` and ``h`` carry no message; a frame that is not
    SockJS at all is passed through as one message so a raw endpoint behind the same reader works.
    """
    try:
        kind, payload = decode_server_frame(text)
    except SockJSFramingError:
        return [text], None
    if kind == "a" and isinstance(payload, list):
        return list(payload), None
    if kind == "c" and isinstance(payload, tuple):
        return [], payload
    return [], None


def read_frame(text: str, framed: bool) -> tuple[list[str], tuple[int, str] | None]:
    """What a client reader gets from one text frame, raw (``framed=False``) or SockJS."""
    return unwrap_server_frame(text) if framed else ([text], None)


def info_body(
    entropy: int, websocket: bool = True, *, origins: bool = True, cookie_needed: bool = False
) -> bytes:
    """The ``/sockjs/info`` JSON body, keys in sockjs-node's order.

    ``entropy`` must be a fresh random uint32 per call (the sockjs protocol tests check it
    changes); ``origins=False`` mirrors ``DISABLE_SOCKJS_CORS``.
    """
    if type(entropy) is not int or not 0 <= entropy <= 0xFFFFFFFF:
        raise ValueError("entropy must be a uint32")
    body: dict[str, Any] = {"websocket": bool(websocket)}
    if origins:
        body["origins"] = ["*:*"]
    body["cookie_needed"] = bool(cookie_needed)
    body["entropy"] = entropy
    return orjson.dumps(body)
