"""A deliberately plain DDP socket for conformance scenarios.

Scenarios assert on what is really on the wire, so this socket keeps every inbound message as
raw text plus its plain-JSON parse (no EJSON decoding, no merge box, no id bookkeeping) and lets
a scenario send anything, including frames no client would send. It answers server ``ping``
with ``pong`` unless told not to (a scenario that checks the heartbeat close turns that off).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import dataclass
from typing import Any

import orjson
import websockets

from ..ddp import sockjs

__all__ = ["Inbound", "ScenarioSocket"]

_SOCKJS_PATH = re.compile(r"/sockjs/[^/.]+/[^/.]+/websocket/?$")


@dataclass(slots=True)
class Inbound:
    """One message from the server: raw text, parsed JSON (None if not JSON), arrival time."""

    text: str
    value: Any
    at: float
    consumed: bool = False
    #: Answered a step's own bookkeeping (a barrier), so refute/count steps leave it out.
    internal: bool = False


class ScenarioSocket:
    """One WebSocket of a scenario; ``messages`` grows as frames arrive."""

    def __init__(self, url: str, *, answer_pings: bool = True, timeout: float = 5.0) -> None:
        self.url = url
        self.sockjs = bool(_SOCKJS_PATH.search(url))
        self.answer_pings = answer_pings
        self.timeout = timeout
        self.messages: list[Inbound] = []
        self.sent: list[str] = []
        self.closed: tuple[int | None, str] | None = None
        self._changed = asyncio.Condition()
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None

    async def open(self) -> None:
        try:
            self._ws = await websockets.connect(
                self.url, open_timeout=self.timeout, max_size=None, ping_interval=None, compression=None
            )
        except TimeoutError:
            raise ConnectionError(f"no WebSocket handshake from {self.url} within {self.timeout:g} s") from None
        except (OSError, websockets.InvalidHandshake, websockets.InvalidURI) as exc:
            raise ConnectionError(f"cannot connect to {self.url}: {exc}") from None
        if self.sockjs:
            first = await asyncio.wait_for(self._ws.recv(), self.timeout)
            if first != sockjs.OPEN:
                raise ConnectionError(f"SockJS: expected the open frame 'o', got {first!r}")
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for data in self._ws:
                texts = self._unwrap(data) if isinstance(data, str) else [f"<binary frame of {len(data)} bytes>"]
                for text in texts:
                    try:
                        value = orjson.loads(text)
                    except orjson.JSONDecodeError:
                        value = None
                    self.messages.append(Inbound(text, value, time.monotonic()))
                    if self.answer_pings and isinstance(value, dict) and value.get("msg") == "ping":
                        pong = {"msg": "pong", **({"id": value["id"]} if isinstance(value.get("id"), str) else {})}
                        await self.send_text(orjson.dumps(pong).decode())
                async with self._changed:
                    self._changed.notify_all()
        except websockets.ConnectionClosed:
            pass
        finally:
            if self.closed is None:
                self.closed = (self._ws.close_code, self._ws.close_reason or "")
            async with self._changed:
                self._changed.notify_all()

    def _unwrap(self, data: str) -> list[str]:
        messages, close = sockjs.read_frame(data, self.sockjs)
        if close is not None:
            self.closed = close
        return messages

    async def send_text(self, text: str) -> None:
        """Send one DDP text (wrapped as a SockJS array on SockJS paths)."""
        self.sent.append(text)
        wire = orjson.dumps([text]).decode() if self.sockjs else text
        with contextlib.suppress(websockets.ConnectionClosed):
            await self._ws.send(wire)

    async def wait_change(self, seen: int, deadline: float) -> bool:
        """Wait for a message beyond ``seen`` or a close; False when the deadline passed."""
        async with self._changed:
            while len(self.messages) <= seen and self.closed is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    return len(self.messages) > seen
        return True

    async def close(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), self.timeout)
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, self.timeout)
            except (TimeoutError, asyncio.CancelledError):
                self._reader.cancel()
