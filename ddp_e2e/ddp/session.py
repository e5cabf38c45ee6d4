"""The DDP session, sans-I/O.

A :class:`Session` takes inbound text frames (``receive``), keeps the per-connection state
(version, user, subscriptions, merge box, heartbeat), and produces outbound DDP texts
(``take_output``) and close requests. It reads no socket and no clock it was not handed: the
transport feeds it frames and ``now``, and drains its output. Handlers are awaited, because
services await the store; processing is strictly in arrival order, while ``ping``/``pong`` are
answered at once, outside that queue (spec ddp-protocol.md §3.2).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from ..dispatch import JSON_NULL, ConnectionInfo, MethodContext, ensure_error, prepare_call
from . import ejson
from .errors import MeteorError, internal_error
from .mergebox import MergeBox
from .session_subs import SubscriptionHandling

if TYPE_CHECKING:
    from ..app import App
    from .subscription import Subscription

log = logging.getLogger("ddp_e2e.session")

SUPPORTED_VERSIONS = ("1", "pre2", "pre1")
CLOSE_HEARTBEAT = 4000


def negotiate_version(requested: Any, support: Any) -> str | None:
    """Meteor's ``calculateVersion``; ``None`` when the connect message is acceptable as is."""
    if not isinstance(requested, str) or not isinstance(support, list) or not all(isinstance(v, str) for v in support):
        return "1"
    if requested not in support:
        return "1"
    best = next((v for v in support if v in SUPPORTED_VERSIONS), SUPPORTED_VERSIONS[0])
    return None if best == requested else best


def _is_str_or_absent(msg: dict[str, Any], key: str) -> bool:
    return key not in msg or isinstance(msg[key], str)


class Session(SubscriptionHandling):
    """Per-connection DDP state machine. One per socket; the transport owns the I/O."""

    def __init__(
        self,
        app: App,
        connection: ConnectionInfo,
        *,
        now: float,
        on_output: Callable[[], None] | None = None,
    ) -> None:
        s = app.settings
        self.app = app
        self.connection = connection
        self.id: str = ""
        self.version: str | None = None
        self.user_id: str | None = None
        self.token_hash: str | None = None
        self.mergebox = MergeBox()
        self.subs: dict[str, Subscription] = {}
        self._universal: list[Subscription] = []
        self._inbox: deque[dict[str, Any]] = deque()
        self._out: list[str] = []
        self._out_bytes = 0
        self._on_output = on_output
        self._max_out = s.max_outbound_buffer
        self._suppress_data = False
        self._pending_ready: list[str] = []
        self.closed = False
        self.close_code = 1000
        self.close_reason = ""
        self._interval = s.heartbeat_interval
        self._timeout = s.heartbeat_timeout
        self._last_inbound = now
        self._ping_deadline: float | None = None
        self._connect_deadline: float | None = now + s.connect_timeout
        self.processing = False

    # ------------------------------------------------------------------ output
    def _emit_text(self, text: str) -> None:
        if self.closed:
            return
        self._out.append(text)
        self._out_bytes += len(text)
        if self._out_bytes > self._max_out:
            log.warning("slow reader: outbound buffer overflow", extra={"session": self.id})
            self.close(1008, "outbound buffer overflow")
            return
        if self._on_output is not None and not self.processing:
            self._on_output()

    def send(self, msg: dict[str, Any]) -> None:
        self._emit_text(ejson.encode_message(msg))

    def send_raw(self, text: str) -> None:
        """A frame already encoded (stream events are encoded once for all subscribers)."""
        self._emit_text(text)

    def _updated(self, method_id: str) -> None:
        """``updated`` for one method, built without a dict round trip (one per method call)."""
        self._emit_text('{"msg":"updated","methods":[' + orjson.dumps(method_id).decode() + "]}")

    def emit_data(self, msgs: list[dict[str, Any]]) -> None:
        """Merge-box output of a subscription; held back while a login re-run computes its diff."""
        if self._suppress_data:
            return
        for m in msgs:
            self.send(m)

    def take_output(self) -> list[str]:
        """Everything queued for the client since the last call, in order."""
        out, self._out, self._out_bytes = self._out, [], 0
        return out

    def requeue_output(self, texts: list[str]) -> None:
        """Put back frames the transport could not write yet (they go out first, in order)."""
        self._out[:0] = texts
        self._out_bytes += sum(len(t) for t in texts)

    def has_output(self) -> bool:
        return bool(self._out)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Ask the transport to close; subscriptions are deactivated without ``nosub``."""
        if self.closed:
            return
        self.closed = True
        self.close_code, self.close_reason = code, reason
        self._inbox.clear()
        self.shutdown()
        if self._on_output is not None:
            self._on_output()

    def shutdown(self) -> None:
        """Stop every subscription silently and leave the session directory (idempotent)."""
        for sub in list(self.subs.values()) + self._universal:
            sub.deactivate()
        self.subs.clear()
        self._universal.clear()
        if self.id:
            self.app.sessions.discard(self)

    # ------------------------------------------------------------------ timers
    def next_deadline(self) -> float | None:
        """When the transport must call :meth:`on_timer` next (None: no timer needed)."""
        if self.closed:
            return None
        if self.version is None:
            return self._connect_deadline
        if self.version == "pre1" or self._interval <= 0:
            return None
        if self._ping_deadline is not None:
            return self._ping_deadline
        return self._last_inbound + self._interval

    def on_timer(self, now: float) -> None:
        """Heartbeat: ping after ``interval`` of silence, close after ``timeout`` more."""
        if self.closed:
            return
        if self.version is None:
            if self._connect_deadline is not None and now >= self._connect_deadline:
                self.close(1000, "connect timeout")
            return
        if self.version == "pre1" or self._interval <= 0:
            return
        if self._ping_deadline is not None:
            if now >= self._ping_deadline:
                log.info("heartbeat timeout", extra={"session": self.id})
                self.close(CLOSE_HEARTBEAT, "heartbeat timeout")
            return
        if now - self._last_inbound >= self._interval:
            self.send({"msg": "ping"})
            self._ping_deadline = now + self._timeout

    # ------------------------------------------------------------------ input
    def receive(self, text: str | bytes, now: float) -> bool:
        """Take one inbound DDP text. Returns True when messages wait in the ordered queue."""
        if self.closed:
            return False
        self._last_inbound = now
        self._ping_deadline = None
        try:
            raw = orjson.loads(text)
        except orjson.JSONDecodeError:
            self.send({"msg": "error", "reason": "Bad request"})
            return bool(self._inbox)
        if not isinstance(raw, dict):
            if isinstance(raw, list):
                self._protocol_error("Bad request", raw)
            else:
                self.send({"msg": "error", "reason": "Bad request"})
            return bool(self._inbox)
        try:
            msg = ejson.decode_message(raw, text)
        except (ejson.EJSONError, RecursionError):  # nesting deeper than the converter can walk
            self.send({"msg": "error", "reason": "Parse error"})
            return bool(self._inbox)
        kind = msg.get("msg")
        if not isinstance(kind, str):
            self._protocol_error("Bad request", raw)
            return bool(self._inbox)
        if self.version is None:
            if kind == "connect":
                self._connect(msg)
            else:
                self._protocol_error("Must connect first", raw)
            return bool(self._inbox)
        if kind == "ping":
            if self.version == "pre1":
                self._protocol_error("Bad request", raw)
            elif "id" in msg and isinstance(msg["id"], str):
                self.send({"msg": "pong", "id": msg["id"]})
            elif "id" not in msg or msg["id"] is None:
                self.send({"msg": "pong"})
            # a non-string id: Meteor's stringifyDDP throws and no pong goes out
            return bool(self._inbox)
        if kind == "pong":
            if self.version == "pre1":
                self._protocol_error("Bad request", raw)
            return bool(self._inbox)
        if kind == "disconnect":
            # Meteor 3.5 clients announce a deliberate close; without resumption nothing to do.
            return bool(self._inbox)
        if kind == "connect":
            self._protocol_error("Already connected", raw)
            return bool(self._inbox)
        msg["__raw"] = raw
        self._inbox.append(msg)
        if len(self._inbox) > self.app.settings.max_queued_messages:
            log.warning("inbound queue overflow", extra={"session": self.id, "queued": len(self._inbox)})
            self.close(1008, "too many queued messages")
            return False
        return True

    def _protocol_error(self, reason: str, offending: Any) -> None:
        try:
            text = ejson.encode_message(
                {"msg": "error", "reason": reason, "offendingMessage": ejson.json_safe(offending)}
            )
        except (ejson.EJSONError, RecursionError):  # too deep to echo back: the reason still goes out
            text = ejson.encode_message({"msg": "error", "reason": reason})
        self._emit_text(text)

    def _connect(self, msg: dict[str, Any]) -> None:
        failed = negotiate_version(msg.get("version"), msg.get("support"))
        if failed is not None:
            self.send({"msg": "failed", "version": failed})
            self.close(1000, "version negotiation failed")
            return
        self.version = msg["version"]
        self._connect_deadline = None
        self.id = self.app.random.id()
        self.app.sessions.add(self)
        self.send({"msg": "connected", "session": self.id})
        self._start_universal()

    # ------------------------------------------------------------------ ordered processing
    async def drain(self) -> None:
        """Process queued messages in order until the queue is empty (one runner at a time)."""
        if self.processing:
            return
        self.processing = True
        try:
            while self._inbox and not self.closed:
                msg = self._inbox.popleft()
                kind = msg["msg"]
                raw = msg.pop("__raw")
                if kind == "method":
                    await self._method(msg, raw)
                elif kind == "sub":
                    await self._sub(msg, raw)
                elif kind == "unsub":
                    self._unsub(msg)
                else:
                    self._protocol_error("Bad request", raw)
        finally:
            self.processing = False
            if self._out and self._on_output is not None:
                self._on_output()

    async def _method(self, msg: dict[str, Any], raw: dict[str, Any]) -> None:
        mid, name, params = msg.get("id"), msg.get("method"), msg.get("params", [])
        if (
            not isinstance(mid, str)
            or not isinstance(name, str)
            or not isinstance(params, list)
            or not _is_str_or_absent(msg, "randomSeed")
        ):
            self._protocol_error("Malformed method invocation", raw)
            return
        ctx = MethodContext(
            self.app, self.user_id, connection=self.connection, session=self,
            random_seed=msg.get("randomSeed"), token_hash=self.token_hash,
        )
        if name not in self.app.registry.methods:
            self.send({"msg": "result", "id": mid, "error": MeteorError(404, f"Method '{name}' not found").to_wire()})
            self._updated(mid)
            return
        try:
            result = await prepare_call(ctx, name, params)
        except Exception as exc:  # every failure becomes exactly one result + one updated
            err = ensure_error(exc, where=f"method {name}")
            self._updated(mid)
            self.send({"msg": "result", "id": mid, "error": err.to_wire()})
            return
        reply: dict[str, Any] = {"msg": "result", "id": mid}
        if result is not None:
            reply["result"] = None if result is JSON_NULL else result
        try:
            text = ejson.encode_message(reply)
        except (ejson.EJSONError, RecursionError) as exc:  # a result EJSON cannot carry is a 500
            log.warning("method result not encodable", extra={"method": name, "error": type(exc).__name__})
            text = ejson.encode_message({"msg": "result", "id": mid, "error": internal_error().to_wire()})
        self._updated(mid)
        self._emit_text(text)
