"""DDP by hand over a real WebSocket, raw or SockJS-framed, for tests that need exact frames."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from ddp_e2e.ddp import sockjs

CONNECT = {"msg": "connect", "version": "1", "support": ["1", "pre2", "pre1"]}


def login_msg(mid: str, username: str, password: str | None = None) -> dict[str, Any]:
    """A ``login`` method message in the digest form Meteor's client sends."""
    digest = hashlib.sha256((password or f"{username}-pass").encode()).hexdigest()
    return {"msg": "method", "id": mid, "method": "login",
            "params": [{"user": {"username": username}, "password": {"digest": digest, "algorithm": "sha-256"}}]}


def is_result(mid: str) -> Any:
    return lambda m: m.get("msg") == "result" and m.get("id") == mid


class Raw:
    """A WebSocket speaking DDP by hand, with or without SockJS framing."""

    def __init__(self, ws: ClientConnection, sockjs_framing: bool) -> None:
        self.ws = ws
        self.sockjs = sockjs_framing
        self.pending: list[dict[str, Any]] = []
        self.frames: list[str] = []  # every text frame as received

    @classmethod
    async def open(cls, url: str) -> Raw:
        is_sockjs = "/sockjs/" in url and url.endswith("/websocket") and url.count("/") > 5
        ws = await connect(url, max_size=None, compression=None, open_timeout=5)
        raw = cls(ws, is_sockjs)
        if is_sockjs:
            assert await asyncio.wait_for(ws.recv(), 5) == sockjs.OPEN
        return raw

    async def send(self, *msgs: dict[str, Any] | str) -> None:
        """One frame per message (raw), or all of them batched in one SockJS array frame."""
        texts = [m if isinstance(m, str) else orjson.dumps(m).decode() for m in msgs]
        if self.sockjs:
            await self.ws.send(orjson.dumps(texts).decode())
        else:
            for t in texts:
                await self.ws.send(t)

    async def _read(self, timeout: float) -> None:
        frame = await asyncio.wait_for(self.ws.recv(), timeout)
        assert isinstance(frame, str), "the server sends text frames only"
        self.frames.append(frame)
        if self.sockjs:
            kind, payload = sockjs.decode_server_frame(frame)
            assert kind in ("a", "c", "h"), frame
            texts = list(payload) if kind == "a" else []  # type: ignore[arg-type]
            if kind == "c":
                self.pending.append({"msg": "__close__", "payload": list(payload)})  # type: ignore[arg-type]
        else:
            texts = [frame]
        for t in texts:
            msg = orjson.loads(t)
            assert isinstance(msg, dict)
            if "msg" in msg or msg != {"server_id": "0"}:
                self.pending.append(msg)

    async def next(self, timeout: float = 5) -> dict[str, Any]:
        while not self.pending:
            await self._read(timeout)
        return self.pending.pop(0)

    async def until(self, pred: Any, timeout: float = 5) -> list[dict[str, Any]]:
        """Every message up to and including the first that satisfies ``pred``."""
        seen = []
        while True:
            msg = await self.next(timeout)
            seen.append(msg)
            if pred(msg):
                return seen

    async def close_code(self, timeout: float = 5) -> int | None:
        """Read until the server closes; returns the close code the client saw."""
        try:
            while True:
                await self._read(timeout)
        except ConnectionClosed:
            pass
        return self.ws.close_code

    async def aclose(self) -> None:
        await self.ws.close()
