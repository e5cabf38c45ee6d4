"""SockJS frame unwrapping for the importers (ddp-protocol.md §1.3).

A private helper: ``ddp_e2e/ddp/sockjs.py`` (the server's transport) is being written elsewhere
with the same job; once it offers ``decode_server_frame``/``decode_client_payload`` the
importers should use it and this file should go.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import orjson

#: ``/sockjs/<server>/<session>/websocket`` (the SockJS-framed WebSocket transport).
SOCKJS_WS_PATH = re.compile(r"/sockjs/[^/.]+/[^/.]+/websocket/?$")


@dataclass(frozen=True, slots=True)
class ServerFrame:
    """A decoded server->client SockJS frame: open, heartbeat, messages or close."""

    kind: Literal["open", "heartbeat", "messages", "close"]
    messages: tuple[str, ...] = ()
    close_code: int | None = None
    close_reason: str | None = None


def decode_server_frame(text: str) -> ServerFrame:
    """Split one server frame; ``ValueError`` with a short reason when it is not SockJS."""
    if text == "o":
        return ServerFrame("open")
    if text == "h":
        return ServerFrame("heartbeat")
    if not text:
        raise ValueError("empty SockJS frame")
    head, body = text[0], text[1:]
    if head == "a":
        items = _load(body, "SockJS 'a' frame")
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ValueError("SockJS 'a' frame is not an array of strings")
        return ServerFrame("messages", tuple(items))
    if head == "m":
        item = _load(body, "SockJS 'm' frame")
        if not isinstance(item, str):
            raise ValueError("SockJS 'm' frame is not a string")
        return ServerFrame("messages", (item,))
    if head == "c":
        pair = _load(body, "SockJS 'c' frame")
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not isinstance(pair[0], int)
            or not isinstance(pair[1], str)
        ):
            raise ValueError("SockJS 'c' frame is not [code, reason]")
        return ServerFrame("close", close_code=pair[0], close_reason=pair[1])
    raise ValueError(f"not a SockJS frame (starts with {head!r})")


def decode_client_payload(text: str) -> list[str]:
    """Client->server payload: a JSON array of strings or one JSON string; empty is nothing."""
    if text == "":
        return []
    item = _load(text, "SockJS client payload")
    if isinstance(item, str):
        return [item]
    if isinstance(item, list) and all(isinstance(i, str) for i in item):
        return list(item)
    raise ValueError("SockJS client payload is not a string or an array of strings")


def looks_like_server_frame(text: str) -> bool:
    """Cheap sniff used to tell a SockJS connection from a raw one."""
    return text in ("o", "h") or (len(text) > 1 and text[0] in "acm" and text[1] in '["')


def _load(body: str, what: str) -> object:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"{what} is not JSON ({exc})") from None
