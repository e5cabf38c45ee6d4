"""The in-process event hub: Rocket.Chat streams fanned out to subscribed sessions.

Services emit events here and never touch sockets. An event is serialised once, whatever the
number of subscribers (perf-anchors.md T5), and written to each subscriber's outbound buffer as
Rocket.Chat does: a ``changed`` on collection ``stream-<name>`` with id ``"id"``, bypassing the
merge box. A Redis or NATS backplane would replace this class behind the same three calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from ..ddp.ejson import encode_message

log = logging.getLogger("ddp_e2e.hub")


class StreamSink(Protocol):
    """What the hub needs from a subscriber: its user and a way to queue a pre-encoded frame."""

    user_id: str | None

    def send_raw(self, text: str) -> None: ...


class Listener:
    """One stream subscription: a sink (a DDP subscription) and an optional per-event filter."""

    __slots__ = ("accept", "origin_key", "sink")

    def __init__(self, sink: StreamSink, origin_key: object = None,
                 accept: Callable[[str, list[Any]], bool] | None = None) -> None:
        self.sink = sink
        self.origin_key = origin_key
        self.accept = accept


EventHook = Callable[[str, str, list[Any]], None]


class Hub:
    """Routes ``(stream, eventName)`` events to listeners; also lets services observe events."""

    def __init__(self) -> None:
        self._listeners: dict[tuple[str, str], dict[int, Listener]] = {}
        self._hooks: list[EventHook] = []
        self.delivered = 0

    def listen(self, stream: str, event: str, listener: Listener) -> Callable[[], None]:
        """Start delivering; returns the function that stops it (call it on ``unsub``)."""
        key = (stream, event)
        bucket = self._listeners.setdefault(key, {})
        bucket[id(listener)] = listener

        def stop() -> None:
            b = self._listeners.get(key)
            if b is not None:
                b.pop(id(listener), None)
                if not b:
                    del self._listeners[key]

        return stop

    def add_hook(self, hook: EventHook) -> None:
        """Observe every event (push gateway, recorder, tests); hooks must not raise."""
        self._hooks.append(hook)

    def listener_count(self, stream: str, event: str) -> int:
        return len(self._listeners.get((stream, event), ()))

    def emit(
        self,
        stream: str,
        event: str,
        args: list[Any],
        *,
        origin: object = None,
        audience: Iterable[str] | None = None,
    ) -> int:
        """Deliver one event; ``origin`` is skipped (no retransmit to self), ``audience`` limits users.

        Returns how many subscriptions received it.
        """
        for hook in self._hooks:
            try:
                hook(stream, event, args)
            except Exception:
                log.exception("event hook failed", extra={"stream": stream, "event": event})
        bucket = self._listeners.get((stream, event))
        if not bucket:
            return 0
        allowed = None if audience is None else set(audience)
        text: str | None = None
        n = 0
        for listener in list(bucket.values()):
            if origin is not None and listener.origin_key is origin:
                continue
            if allowed is not None and listener.sink.user_id not in allowed:
                continue
            if listener.accept is not None and not listener.accept(event, args):
                continue
            if text is None:
                text = encode_message({
                    "msg": "changed",
                    "collection": f"stream-{stream}",
                    "id": "id",
                    "fields": {"eventName": event, "args": args},
                })
            listener.sink.send_raw(text)
            n += 1
        self.delivered += n
        return n
