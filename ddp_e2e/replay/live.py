"""The replayer's live WebSocket to the server under test: raw or SockJS framing, a frame log.

:class:`LiveSocket` logs every frame both ways with its time since the socket opened, wakes
waiters when something arrives and answers server pings on the spot (recording the pong).
"""

from __future__ import annotations

import asyncio
import re
import secrets
import string
import time
from typing import Any

import orjson
import websockets

from ..ddp import sockjs
from .errors import ReplayAborted
from .model import Frame

_SOCKJS_PATH = re.compile(r"/sockjs/([^/.]+)/([^/.]+)/websocket/?$")


class LiveSocket:
    """The replayer's side of one WebSocket: raw or SockJS, with a frame log and a condition."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self.sockjs = bool(_SOCKJS_PATH.search(url))
        self.frames: list[Frame] = []
        self.closed: tuple[int | None, str] | None = None
        self.changed = asyncio.Condition()
        self.opened = 0.0
        self.opened_wall_ms = 0.0
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None

    def now_ms(self) -> float:
        return (time.monotonic() - self.opened) * 1000.0

    async def open(self) -> None:
        url = self.url
        if self.sockjs:  # a fresh SockJS session id per connection, as sockjs-client does
            session = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))
            url = _SOCKJS_PATH.sub(lambda m: f"/sockjs/{m.group(1)}/{session}/websocket", url)
        try:
            self._ws = await websockets.connect(
                url, open_timeout=self.timeout, max_size=None, ping_interval=None, compression=None
            )
        except TimeoutError:
            raise ReplayAborted(f"{self.url}: no WebSocket handshake within {self.timeout:g} s") from None
        except (OSError, websockets.InvalidHandshake, websockets.InvalidURI) as exc:
            raise ReplayAborted(f"cannot connect to {self.url}: {exc}") from None
        self.opened = time.monotonic()
        self.opened_wall_ms = time.time() * 1000.0
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for data in self._ws:
                if isinstance(data, bytes):
                    self.frames.append(Frame(self.now_ms(), "out", f'{{"$binary-frame":{len(data)}}}'))
                    continue
                for text in self._unwrap(data):
                    self.frames.append(Frame(self.now_ms(), "out", text))
                    if _is_ping(text):
                        await self.send(_pong_for(text), record=True)
                async with self.changed:
                    self.changed.notify_all()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed = (self._ws.close_code, self._ws.close_reason or "")
            async with self.changed:
                self.changed.notify_all()

    def _unwrap(self, data: str) -> list[str]:
        messages, close = sockjs.read_frame(data, self.sockjs)
        if close is not None:
            self.closed = close
        return messages

    async def send(self, text: str, *, record: bool = True) -> int:
        index = len(self.frames)
        if record:
            self.frames.append(Frame(self.now_ms(), "in", text))
        wire = orjson.dumps([text]).decode() if self.sockjs else text
        try:
            await self._ws.send(wire)
        except websockets.ConnectionClosed:
            pass
        return index

    async def wait_beyond(self, count: int, deadline: float) -> bool:
        """Wait until more than ``count`` frames are logged; False if closed or out of time."""

        def ready() -> bool:
            return len(self.frames) > count

        async with self.changed:
            while not ready():
                if self.closed is not None:
                    return False
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                try:
                    await asyncio.wait_for(self.changed.wait(), remaining)
                except TimeoutError:
                    return ready()
        return True

    async def close(self) -> None:
        if self._ws is not None:
            try:
                await asyncio.wait_for(self._ws.close(), self.timeout)
            except (TimeoutError, OSError):
                pass
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, self.timeout)
            except (TimeoutError, asyncio.CancelledError):
                self._reader.cancel()


def _is_ping(text: str) -> bool:
    return text.startswith('{"msg":"ping"') or (text.find('"ping"') != -1 and _msg(text) == "ping")


def _pong_for(text: str) -> str:
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError:
        return '{"msg":"pong"}'
    if isinstance(obj, dict) and isinstance(obj.get("id"), str):
        return orjson.dumps({"msg": "pong", "id": obj["id"]}).decode()
    return '{"msg":"pong"}'


def _msg(text: str) -> Any:
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return obj.get("msg") if isinstance(obj, dict) else None
