"""An asyncio DDP client: the reference client for tests, conformance, replay and the demo.

It is strict where real clients are strict, so our tests catch what would break them: a second
``added`` for one document, a ``changed``/``removed`` for an unknown document in a real
collection, a second ``result`` or ``updated`` for one method, or a ``result`` without its
``updated`` all raise :class:`ProtocolViolation` on the next call that observes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import re
from collections import defaultdict, deque
from typing import Any

import orjson
import websockets

from ..ddp import ejson, sockjs
from ..ddp.errors import MeteorError

log = logging.getLogger("ddp_e2e.client")

_SOCKJS_PATH = re.compile(r"/sockjs/[^/.]+/[^/.]+/websocket$")


class ProtocolViolation(AssertionError):
    """The server broke a rule a real Meteor client depends on."""


class ConnectionClosed(ConnectionError):
    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"connection closed ({code}) {reason}")
        self.code, self.reason = code, reason


class DDPClient:
    """One DDP connection. Use ``async with DDPClient(url) as c:`` or ``await c.connect()``."""

    def __init__(self, url: str, *, version: str = "1", support: list[str] | None = None,
                 answer_pings: bool = True, sockjs_framing: bool | None = None, timeout: float = 10.0) -> None:
        self.url = url
        self.version = version
        self.support = support if support is not None else ["1", "pre2", "pre1"]
        self.answer_pings = answer_pings
        self.sockjs = sockjs_framing if sockjs_framing is not None else bool(_SOCKJS_PATH.search(url))
        self.timeout = timeout
        self.session: str | None = None
        self.user_id: str | None = None
        self.token: str | None = None
        self.collections: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self.stream_events: dict[str, deque[dict[str, Any]]] = defaultdict(deque)
        self.inbox: list[dict[str, Any]] = []  # every message received, in order (conformance)
        self.raw_in: list[str] = []
        self.violations: list[str] = []
        self._ids = itertools.count(1)
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._methods: dict[str, dict[str, Any]] = {}
        self._subs: dict[str, asyncio.Future[None]] = {}
        self._changed = asyncio.Condition()
        self.closed: ConnectionClosed | None = None

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> DDPClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open_socket(self) -> None:
        """Open the WebSocket only (conformance tests send their own first frame)."""
        self._ws = await asyncio.wait_for(websockets.connect(self.url, max_size=None, compression=None), self.timeout)
        if self.sockjs:
            first = await asyncio.wait_for(self._ws.recv(), self.timeout)
            if first != sockjs.OPEN:
                raise ProtocolViolation(f"SockJS: expected 'o', got {first!r}")
        self._reader = asyncio.create_task(self._read_loop())

    async def connect(self) -> str:
        """Open and send ``connect``; returns the session id, raises on ``failed``."""
        await self.open_socket()
        await self.send({"msg": "connect", "version": self.version, "support": self.support})
        msg = await self.wait_for(lambda m: m.get("msg") in ("connected", "failed"))
        if msg["msg"] == "failed":
            raise ConnectionError(f"version negotiation failed: server proposes {msg.get('version')!r}")
        self.session = msg["session"]
        return self.session

    async def close(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._reader, 5)

    # ------------------------------------------------------------------ raw I/O
    async def send_raw(self, text: str) -> None:
        await self._ws.send(sockjs.encode_messages([text])[1:] if self.sockjs else text)

    async def send(self, msg: dict[str, Any]) -> None:
        await self.send_raw(ejson.dumps(msg))

    async def _read_loop(self) -> None:
        try:
            async for frame in self._ws:
                if isinstance(frame, bytes):
                    self.violations.append("binary frame from server")
                    continue
                texts = self._unframe(frame)
                for text in texts:
                    self.raw_in.append(text)
                    try:
                        msg = ejson.decode_message(orjson.loads(text))
                    except Exception:
                        self.violations.append(f"unparsable frame {text[:80]!r}")
                        continue
                    await self._on_message(msg)
        except websockets.ConnectionClosed:
            pass
        finally:
            rcvd = getattr(self._ws, "close_code", None)
            self.closed = ConnectionClosed(rcvd, getattr(self._ws, "close_reason", "") or "")
            for fut in self._subs.values():
                if not fut.done():
                    fut.set_exception(self.closed)
            async with self._changed:
                self._changed.notify_all()

    def _unframe(self, frame: str) -> list[str]:
        if not self.sockjs:
            return [frame]
        kind, payload = sockjs.decode_server_frame(frame)
        if kind == "a":
            return list(payload or [])
        if kind == "c":
            self.inbox.append({"msg": "__sockjs_close__", "payload": list(payload or [])})
        return []

    async def _on_message(self, msg: dict[str, Any]) -> None:
        self.inbox.append(msg)
        kind = msg.get("msg")
        if kind == "ping" and self.answer_pings:
            await self.send({"msg": "pong", **({"id": msg["id"]} if "id" in msg else {})})
        elif kind == "result":
            st = self._methods.get(msg.get("id"))  # type: ignore[arg-type]
            if st is None or "result" in st:
                self.violations.append(f"unexpected result for {msg.get('id')!r}")
            else:
                st["result"] = msg
        elif kind == "updated":
            for mid in msg.get("methods", []):
                st = self._methods.get(mid)
                if st is None or st.get("updated"):
                    self.violations.append(f"unexpected updated for {mid!r}")
                else:
                    st["updated"] = True
        elif kind == "added":
            coll = self.collections[msg["collection"]]
            if msg["id"] in coll:
                self.violations.append(f"added for existing id {msg['collection']}/{msg['id']}")
            coll[msg["id"]] = dict(msg.get("fields", {}))
        elif kind == "changed":
            c = msg["collection"]
            if c.startswith("stream-"):
                self.stream_events[c].append(msg.get("fields", {}))
            else:
                doc = self.collections[c].get(msg["id"])
                if doc is None:
                    self.violations.append(f"changed for unknown doc {c}/{msg['id']}")
                else:
                    doc.update(msg.get("fields", {}))
                    for k in msg.get("cleared", []):
                        doc.pop(k, None)
        elif kind == "removed":
            if self.collections[msg["collection"]].pop(msg["id"], None) is None:
                self.violations.append(f"removed for unknown doc {msg['collection']}/{msg['id']}")
        elif kind == "ready":
            for sid in msg.get("subs", []):
                fut = self._subs.get(sid)
                if fut is not None and not fut.done():
                    fut.set_result(None)
        elif kind == "nosub":
            fut = self._subs.get(msg.get("id"))  # type: ignore[arg-type]
            if fut is not None and not fut.done():
                err = msg.get("error")
                if err:
                    fut.set_exception(MeteorError.from_wire(err))
                else:
                    fut.set_result(None)
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, pred: Any, timeout: float | None = None, start: int = 0) -> dict[str, Any]:
        """The first message (from index ``start``) satisfying ``pred``; raises on timeout/close."""
        async def _wait() -> dict[str, Any]:
            i = start
            async with self._changed:
                while True:
                    while i < len(self.inbox):
                        m = self.inbox[i]
                        i += 1
                        if pred(m):
                            return m
                    if self.closed is not None:
                        raise self.closed
                    await self._changed.wait()

        return await asyncio.wait_for(_wait(), timeout or self.timeout)

    async def wait_closed(self, timeout: float | None = None) -> ConnectionClosed:
        async def _wait() -> ConnectionClosed:
            async with self._changed:
                while self.closed is None:
                    await self._changed.wait()
                return self.closed
        return await asyncio.wait_for(_wait(), timeout or self.timeout)

    # ------------------------------------------------------------------ methods
    def next_id(self) -> str:
        return str(next(self._ids))

    async def call_full(self, method: str, *params: Any, timeout: float | None = None) -> dict[str, Any]:
        """Call and wait for both ``result`` and ``updated``; returns the result message."""
        mid = self.next_id()
        self._methods[mid] = {}
        await self.send({"msg": "method", "id": mid, "method": method, "params": list(params)})

        def done(_m: dict[str, Any]) -> bool:
            st = self._methods[mid]
            return "result" in st and st.get("updated", False)

        await self.wait_for(done, timeout)
        if self.violations:
            raise ProtocolViolation("; ".join(self.violations))
        return self._methods[mid]["result"]

    async def call(self, method: str, *params: Any, timeout: float | None = None) -> Any:
        """Call a method; returns its result or raises the server's MeteorError."""
        msg = await self.call_full(method, *params, timeout=timeout)
        if "error" in msg:
            raise MeteorError.from_wire(msg["error"])
        return msg.get("result")

    async def login_password(self, username: str, password: str) -> dict[str, Any]:
        digest = hashlib.sha256(password.encode()).hexdigest()
        res = await self.call("login", {"user": {"username": username}, "password": {"digest": digest, "algorithm": "sha-256"}})
        self.user_id, self.token = res["id"], res["token"]
        return res

    async def login_resume(self, token: str) -> dict[str, Any]:
        res = await self.call("login", {"resume": token})
        self.user_id, self.token = res["id"], res["token"]
        return res

    # ------------------------------------------------------------------ subscriptions
    async def subscribe(self, name: str, *params: Any, sub_id: str | None = None, timeout: float | None = None) -> str:
        """Subscribe and wait for ``ready``; raises the ``nosub`` error if refused."""
        sid = sub_id or f"s{self.next_id()}"
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._subs[sid] = fut
        await self.send({"msg": "sub", "id": sid, "name": name, "params": list(params)})
        await asyncio.wait_for(asyncio.shield(fut), timeout or self.timeout)
        return sid

    async def unsubscribe(self, sid: str) -> None:
        start = len(self.inbox)
        await self.send({"msg": "unsub", "id": sid})
        await self.wait_for(lambda m: m.get("msg") == "nosub" and m.get("id") == sid, start=start)

    async def stream(self, name: str, event: str, *args: Any) -> str:
        """Subscribe to a Rocket.Chat stream ``stream-<name>`` for one event name."""
        return await self.subscribe(f"stream-{name}", event, {"useCollection": False, "args": list(args)})

    async def next_stream_event(self, name: str, event: str, timeout: float | None = None) -> list[Any]:
        """Wait for the next event on ``stream-<name>`` named ``event``; returns its args."""
        coll = f"stream-{name}"

        async def _wait() -> list[Any]:
            async with self._changed:
                while True:
                    q = self.stream_events[coll]
                    for i, fields in enumerate(q):
                        if fields.get("eventName") == event:
                            del q[i]
                            return fields.get("args", [])
                    if self.closed is not None:
                        raise self.closed
                    await self._changed.wait()

        return await asyncio.wait_for(_wait(), timeout or self.timeout)
