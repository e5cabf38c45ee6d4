"""HAR 1.2 importer for WebSocket traffic (Chrome's ``_webSocketMessages`` extension).

This is what browser DevTools ("Save all as HAR"), mitmproxy, HTTP Toolkit, Proxyman and
Playwright export (spec security-reliability-replay.md §4.1-4.2). A WebSocket connection is an
``entries[]`` item with ``_resourceType: "websocket"``, a ``ws(s)://`` URL or a 101 response,
whose ``_webSocketMessages`` are ``{type: "send"|"receive", time: seconds, opcode, data}``.

Meteor's SockJS endpoint frames its messages (``o``, ``h``, ``a[...]``, ``c[...]``); the raw
``/websocket`` endpoint carries one DDP JSON per frame. Each connection is detected as one or the
other (URL shape, or an ``o`` as first server frame) and unwrapped to one DDP message per
:class:`Frame`. Close (8), ping (9) and pong (10) control frames carry no DDP and are skipped;
binary frames (2) are refused, because DDP is text and replaying bytes would be guesswork.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any
from urllib.parse import urlsplit

import orjson

from ..ddp.sockjs import SockJSFramingError, decode_client_payload, decode_server_frame
from ._files import read_text
from .errors import RecordingError
from .model import Connection, Direction, Frame, Recording, base_header, iso_from_ms, parse_ddp_text, start_ms

__all__ = ["read_har"]

log = logging.getLogger(__name__)

#: ``/sockjs/<server>/<session>/websocket``: the SockJS-framed WebSocket transport.
_SOCKJS_WS_PATH = re.compile(r"/sockjs/[^/.]+/[^/.]+/websocket/?$")
_TYPES: dict[str, Direction] = {"send": "in", "receive": "out"}
_CONTROL_OPCODES = frozenset({8, 9, 10})
#: Chrome and mitmproxy give wall-clock seconds; anything below this is a monotonic clock.
_EPOCH_SECONDS_FLOOR = 1e9


def read_har(path: str | os.PathLike[str]) -> Recording:
    """Read every WebSocket connection of a HAR file (one :class:`Connection` per entry)."""
    text = read_text(path)
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise RecordingError(path, "", f"not JSON, the file may be truncated ({exc})") from None
    log_obj = doc.get("log") if isinstance(doc, dict) else None
    entries = log_obj.get("entries") if isinstance(log_obj, dict) else None
    if not isinstance(entries, list):
        raise RecordingError(path, "", "not a HAR file (no log.entries array)")
    connections = []
    for number, entry in enumerate(entries, start=1):
        if isinstance(entry, dict) and _is_websocket(entry):
            connections.append(_read_entry(path, number, entry))
    if not connections:
        raise RecordingError(
            path,
            "",
            "no WebSocket entries; export the HAR from the browser with the WebSocket connection "
            "open (entries need _resourceType 'websocket' and _webSocketMessages)",
        )
    header = base_header(source=os.fspath(path))
    creator = log_obj.get("creator") if isinstance(log_obj, dict) else None
    if isinstance(creator, dict) and isinstance(creator.get("name"), str):
        header["recorded_by"] = f"{creator['name']} {creator.get('version', '')}".strip()
    log.debug("read HAR", extra={"path": os.fspath(path), "connections": len(connections)})
    return Recording(header=header, connections=connections)


def _is_websocket(entry: dict[str, Any]) -> bool:
    if entry.get("_resourceType") == "websocket" or "_webSocketMessages" in entry:
        return True
    request = entry.get("request")
    url = request.get("url") if isinstance(request, dict) else None
    if isinstance(url, str) and url.startswith(("ws://", "wss://")):
        return True
    response = entry.get("response")
    return isinstance(response, dict) and response.get("status") == 101


def _read_entry(path: str | os.PathLike[str], number: int, entry: dict[str, Any]) -> Connection:
    where = f"entry {number}"
    messages = entry.get("_webSocketMessages")
    if not isinstance(messages, list):
        raise RecordingError(
            path,
            where,
            "WebSocket entry without a _webSocketMessages array (was the HAR saved with content "
            "attached to separate files?)",
        )
    request = entry.get("request")
    url = request.get("url") if isinstance(request, dict) else None
    url = url if isinstance(url, str) else None
    checked = [_check_message(path, f"{where}, message {i}", m) for i, m in enumerate(messages, 1)]
    sockjs = _is_sockjs(url, checked)
    started = entry.get("startedDateTime")
    started_ms = start_ms({"started_at": started}) if isinstance(started, str) else None
    base_s, started_at = _time_base(checked, started_ms, started if isinstance(started, str) else None)
    frames: list[Frame] = []
    last_t = 0.0
    for index, (direction, time_s, opcode, data) in enumerate(checked, start=1):
        if opcode in _CONTROL_OPCODES:
            continue
        t_ms = max(last_t, (time_s - base_s) * 1000.0) if time_s is not None else last_t
        last_t = t_ms
        at = f"{where}, message {index}"
        for text in _unwrap(path, at, direction, data, sockjs):
            frames.append(Frame(round(t_ms, 3), direction, text))
    header: dict[str, Any] = {
        "endpoint": url,
        "started_at": started_at,
        "transport": "sockjs" if sockjs else "raw",
    }
    return Connection(header=header, frames=frames, name=where.replace(" ", "-"))


def _check_message(
    path: str | os.PathLike[str], where: str, message: Any
) -> tuple[Direction, float | None, int, str]:
    if not isinstance(message, dict):
        raise RecordingError(path, where, "not an object")
    direction = _TYPES.get(message.get("type"))  # type: ignore[arg-type]
    if direction is None:
        raise RecordingError(path, where, f"'type' must be 'send' or 'receive', not {message.get('type')!r}")
    opcode = message.get("opcode", 1)
    if not isinstance(opcode, int) or isinstance(opcode, bool):
        raise RecordingError(path, where, f"'opcode' must be a number, not {opcode!r}")
    if opcode == 2:
        raise RecordingError(path, where, "binary frame (opcode 2); DDP frames are text, cannot import it")
    if opcode != 1 and opcode not in _CONTROL_OPCODES:
        raise RecordingError(path, where, f"unknown opcode {opcode}")
    time_s = message.get("time")
    if time_s is not None and (not isinstance(time_s, int | float) or isinstance(time_s, bool)):
        raise RecordingError(path, where, f"'time' must be seconds as a number, not {time_s!r}")
    data = message.get("data", "")
    if not isinstance(data, str):
        raise RecordingError(path, where, "'data' is not text")
    return direction, (float(time_s) if time_s is not None else None), opcode, data


def _is_sockjs(url: str | None, messages: list[tuple[Direction, float | None, int, str]]) -> bool:
    if url and _SOCKJS_WS_PATH.search(urlsplit(url).path):
        return True
    for direction, _t, opcode, data in messages:
        if direction == "out" and opcode == 1:
            return data == "o"
    return False


def _time_base(
    messages: list[tuple[Direction, float | None, int, str]],
    started_ms: float | None,
    started: str | None,
) -> tuple[float, str | None]:
    """Seconds that count as t=0, and the ISO start time for the header.

    Only differences of ``time`` are meaningful (Playwright's clock is monotonic); when the times
    are wall-clock seconds and the request's ``startedDateTime`` precedes them, t counts from the
    upgrade request, as our own recorder does.
    """
    times = [t for _d, t, _o, _data in messages if t is not None]
    if not times:
        return 0.0, started
    first = times[0]
    if first >= _EPOCH_SECONDS_FLOOR:
        if started_ms is not None and started_ms / 1000.0 <= first + 1.0:
            return min(first, started_ms / 1000.0), started
        return first, iso_from_ms(first * 1000.0)
    return first, started


def _unwrap(
    path: str | os.PathLike[str], where: str, direction: Direction, data: str, sockjs: bool
) -> list[str]:
    if not sockjs:
        _check_ddp(path, where, data)
        return [data]
    try:
        if direction == "in":
            items = decode_client_payload(data)
        else:
            kind, payload = decode_server_frame(data)
            items = list(payload) if kind == "a" and isinstance(payload, list) else []
    except SockJSFramingError as exc:
        what = (
            "client payload is not a JSON array of strings or a JSON string"
            if direction == "in"
            else "server frame is not o, h, a[...] or c[...]"
        )
        raise RecordingError(path, where, f"SockJS {what} ({exc})") from None
    for item_no, item in enumerate(items, start=1):
        _check_ddp(path, f"{where}, item {item_no}" if len(items) > 1 else where, item)
    return items


def _check_ddp(path: str | os.PathLike[str], where: str, text: str) -> None:
    try:
        parse_ddp_text(text)
    except ValueError as exc:
        raise RecordingError(path, where, str(exc)) from None
