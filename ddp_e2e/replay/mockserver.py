"""Mock-server mode (``ddp-e2e replay RECORDING --serve HOST:PORT``): answer a live client from a recording.

A client developer points the client at the mock and gets the recorded server's answers, with
no server at all, to reproduce a bug offline. Each WebSocket that opens takes the next recorded
connection (round robin). Every frame the client sends is matched, on its normalised content
(:mod:`normalize`: ids aliased, secrets and dates masked, keys in any order), against the
recorded client frames not used yet, in recorded order; the server frames that followed the
matched frame are sent back with the recorded method and sub ids swapped for the client's own.
A frame that matches nothing recorded gets an explicit error (``replay-no-match``) instead of
silence, so the client does not hang and the developer sees what diverged.

``ping`` is answered at once with ``pong``; recorded heartbeats are not replayed. Raw
``/websocket`` and SockJS ``/sockjs/<n>/<id>/websocket`` (with ``/sockjs/info``) are served.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import orjson
import websockets
from websockets.asyncio.server import Server, ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from .. import __version__
from ..ddp import sockjs
from ..ids import Random
from ._listen import listen, stop_listening
from .match import Bindings, match_values
from .model import Connection, Frame, Recording
from .normalize import NormalizeOptions, Normalizer
from .proxy import is_sockjs_path
from .segments import Segment, split_segments

__all__ = ["NO_MATCH", "MockServer", "MockSession"]

log = logging.getLogger("ddp_e2e.replay.mockserver")

#: The error code of the answer to a client frame that matches nothing in the recording.
NO_MATCH = "replay-no-match"
_MATCH_OPTIONS = NormalizeOptions(dates="mask")
_OWN_IDS = {"method": "method", "sub": "sub", "unsub": "sub"}


@dataclass(slots=True)
class _Recorded:
    """A recorded client frame, its normalised form without its own id, and its answers."""

    segment: Segment
    msg: Any
    norm: dict[str, Any] | None
    own_id: str | None
    used: bool = False
    answers: list[Frame] = field(default_factory=list)


class MockSession:
    """One live client connection answered from one recorded connection (sans-I/O).

    :meth:`greeting` gives the frames to send on open; :meth:`receive` takes one DDP text from
    the client and returns the frames to send back, each with its recorded delay in ms after the
    client frame (used with ``pace="recorded"``).
    """

    def __init__(self, conn: Connection, options: NormalizeOptions = _MATCH_OPTIONS) -> None:
        self.conn = conn
        self.options = options
        segments = split_segments(conn.frames, options)
        self._greeting = [i.frame for i in segments[0].server] if segments else []
        expected = Normalizer(options)
        self._recorded: list[_Recorded] = []
        for segment in segments[1:]:
            assert segment.client is not None
            obj = _loads(segment.client.frame.text)
            msg = obj.get("msg") if isinstance(obj, dict) else None
            own = obj.get("id") if isinstance(obj, dict) and msg in _OWN_IDS else None
            norm = expected.normalize(_without_id(obj) if isinstance(obj, dict) else segment.client.frame.text, "in")
            answers = [i.frame for i in segment.server if not _heartbeat(i.frame.text)]
            self._recorded.append(_Recorded(segment, msg, norm, own if isinstance(own, str) else None, answers=answers))
        self._live = Normalizer(options)
        self._bindings = Bindings()
        #: (kind, recorded id) -> the live client's id.
        self.ids: dict[tuple[str, str], str] = {}
        self.unmatched: list[str] = []

    def greeting(self) -> list[str]:
        return [f.text for f in self._greeting if not _heartbeat(f.text)]

    def receive(self, text: str) -> list[tuple[float, str]]:
        obj = _loads(text)
        msg = obj.get("msg") if isinstance(obj, dict) else None
        if msg == "ping":
            pong: dict[str, Any] = {"msg": "pong"}
            if isinstance(obj, dict) and isinstance(obj.get("id"), str):
                pong["id"] = obj["id"]
            return [(0.0, orjson.dumps(pong).decode())]
        if msg == "pong":
            return []
        norm = self._live.normalize(_without_id(obj) if isinstance(obj, dict) else text, "in")
        found = self._find(msg, norm)
        if found is None:
            return self._no_match(obj, msg, text)
        found.used = True
        own = obj.get("id") if isinstance(obj, dict) else None
        if found.own_id is not None and isinstance(own, str):
            self.ids[(_OWN_IDS[found.msg], found.own_id)] = own
        base = found.segment.client.frame.t_ms if found.segment.client else 0.0
        return [(max(0.0, f.t_ms - base), self._rewrite(f.text)) for f in found.answers]

    # -- matching -------------------------------------------------------------------------------
    def _find(self, msg: Any, norm: dict[str, Any] | None) -> _Recorded | None:
        fresh = [r for r in self._recorded if not r.used]
        used = [r for r in reversed(self._recorded) if r.used]
        if msg == "connect":  # clients differ in version lists; any connect takes the next one
            return next((r for r in fresh if r.msg == "connect"), None)
        for candidate in (*fresh, *used):
            if candidate.msg != msg:
                continue
            first, pairs = match_values(candidate.norm, norm, self._bindings, tolerance_ms=0.0)
            if first is None:
                self._bindings.commit(pairs)
                return candidate
        return None

    def _no_match(self, obj: Any, msg: Any, text: str) -> list[tuple[float, str]]:
        self.unmatched.append(text)
        log.warning("client frame matches nothing recorded", extra={"frame": text[:200]})
        reason = f"ddp-e2e replay: no recorded client frame matches this {msg or 'frame'}"
        error = {"isClientSafe": True, "error": NO_MATCH, "reason": reason,
                 "message": f"{reason} [{NO_MATCH}]", "errorType": "Meteor.Error"}
        own = obj.get("id") if isinstance(obj, dict) else None
        if msg == "method" and isinstance(own, str):
            return [(0.0, _dumps({"msg": "result", "id": own, "error": error})),
                    (0.0, _dumps({"msg": "updated", "methods": [own]}))]
        if msg in ("sub", "unsub") and isinstance(own, str):
            return [(0.0, _dumps({"msg": "nosub", "id": own, "error": error}))]
        if msg == "connect":
            return [(0.0, _dumps({"msg": "connected", "session": Random().id()}))]
        return [(0.0, _dumps({"msg": "error", "reason": reason}))]

    def _rewrite(self, text: str) -> str:
        """Put the client's method and sub ids where the recording has its own."""
        obj = _loads(text)
        if not isinstance(obj, dict):
            return text
        msg = obj.get("msg")
        changed = False

        def swap(kind: str, value: Any) -> Any:
            nonlocal changed
            if isinstance(value, str) and (kind, value) in self.ids:
                changed = changed or self.ids[(kind, value)] != value
                return self.ids[(kind, value)]
            return value

        if msg == "result":
            obj["id"] = swap("method", obj.get("id"))
        elif msg == "nosub":
            obj["id"] = swap("sub", obj.get("id"))
        elif msg == "updated" and isinstance(obj.get("methods"), list):
            obj["methods"] = [swap("method", v) for v in obj["methods"]]
        elif msg == "ready" and isinstance(obj.get("subs"), list):
            obj["subs"] = [swap("sub", v) for v in obj["subs"]]
        return _dumps(obj) if changed else text


class MockServer:
    """A ``websockets`` server answering every connection with a :class:`MockSession`."""

    def __init__(
        self,
        recording: Recording,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        pace: Literal["fast", "recorded"] = "fast",
    ) -> None:
        if not recording.connections:
            raise ValueError("the recording holds no connections")
        self.recording = recording
        self.host = host
        self.port = port
        self.pace = pace
        self.sessions: list[MockSession] = []
        self._next = itertools.cycle(recording.connections)
        self._server: Server | None = None

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/websocket"

    async def start(self) -> None:
        self._server, self.host, self.port = await listen(
            self._handle, self.host, self.port, process_request=self._process_request,
            server_header=f"ddp-e2e-replay/{__version__}",
        )

    async def stop(self) -> None:
        await stop_listening(self._server)
        self._server = None

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None
        path = urlsplit(request.path).path.rstrip("/")
        if path == "/sockjs/info":
            body = sockjs.info_body(secrets.randbits(32))
            headers = Headers([("Content-Type", "application/json; charset=UTF-8"),
                               ("Cache-Control", "no-store, no-cache, no-transform, must-revalidate, max-age=0"),
                               ("Access-Control-Allow-Origin", "*"), ("Content-Length", str(len(body)))])
            return Response(200, "OK", headers, body)
        if path == "/sockjs":
            return connection.respond(200, sockjs.WELCOME)
        return connection.respond(404, "ddp-e2e replay --serve: DDP WebSocket only\n")

    async def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        framing = is_sockjs_path(ws.request.path)
        session = MockSession(next(self._next))
        self.sessions.append(session)
        if framing:
            await ws.send(sockjs.OPEN)
        await self._send(ws, framing, [(0.0, t) for t in session.greeting()])
        try:
            async for data in ws:
                if isinstance(data, bytes):
                    await self._send(ws, framing, [(0.0, '{"msg":"error","reason":"Bad request"}')])
                    continue
                try:
                    texts = sockjs.decode_client_payload(data) if framing else [data]
                except sockjs.SockJSFramingError:
                    await ws.close(1002, "Broken framing.")
                    return
                for text in texts:
                    await self._send(ws, framing, session.receive(text))
        except websockets.ConnectionClosed:
            pass

    async def _send(self, ws: ServerConnection, framing: bool, frames: list[tuple[float, str]]) -> None:
        elapsed = 0.0
        for delay_ms, text in frames:
            if self.pace == "recorded" and delay_ms > elapsed:
                await asyncio.sleep((delay_ms - elapsed) / 1000.0)
                elapsed = delay_ms
            await ws.send(sockjs.encode_messages([text]) if framing else text)


def _without_id(obj: dict[str, Any]) -> dict[str, Any]:
    """A client message without its own method/sub id (the client picks those freely)."""
    if obj.get("msg") in _OWN_IDS:
        return {k: v for k, v in obj.items() if k != "id"}
    return obj


def _heartbeat(text: str) -> bool:
    obj = _loads(text)
    return isinstance(obj, dict) and obj.get("msg") in ("ping", "pong")


def _loads(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()
