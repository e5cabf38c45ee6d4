"""Hot-path shortcuts that are transport details behind the Session interface.

Two costs dominate a DDP round trip in Python (perf-anchors.md §3): one socket write per frame
(``updated`` and ``result`` are two frames) and a task hand-off per message. This module removes
both when it safely can, and falls back to the plain ASGI path when it cannot:

- :func:`direct_writer` writes several frames with one ``transport.write`` through uvicorn's
  websockets-sansio protocol object (the bound ASGI ``send``). It refuses, returning False, in any
  state but "open and writable", and the caller then uses the ordinary async ``send``.
- :func:`run_inline` steps a coroutine synchronously; most methods never suspend (the embedded
  store does not), so no task is created. If it does suspend, the rest runs in a task that
  delegates to the same coroutine object, exactly as ``yield from`` would.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Callable, Coroutine, Generator
from typing import Any

DirectWriter = Callable[[list[str]], bool]


def text_frame(payload: bytes) -> bytes:
    """An unmasked, final, uncompressed RFC 6455 text frame (what a server sends)."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 1 << 16:
        return bytes((0x81, 126)) + n.to_bytes(2, "big") + payload
    return bytes((0x81, 127)) + n.to_bytes(8, "big") + payload


def direct_writer(send: Any) -> tuple[DirectWriter, Callable[[], int]] | None:
    """A batching writer over uvicorn's protocol, and a buffered-bytes probe; None if unavailable.

    Frames are built here when the connection negotiated no extension (we never offer
    permessage-deflate) and no fragmented message is in progress, which is always the case for
    our writes; otherwise websockets' own serializer is used.
    """
    proto = getattr(send, "__self__", None)
    conn = getattr(proto, "conn", None)
    transport = getattr(proto, "transport", None)
    needed = ("disconnected", "close_sent", "handshake_complete", "initial_response", "writable")
    if conn is None or transport is None or not hasattr(conn, "send_text") or not all(hasattr(proto, a) for a in needed):
        return None
    from websockets.protocol import State

    def write(frames: list[str]) -> bool:
        if (
            proto.disconnected
            or proto.close_sent
            or not proto.handshake_complete
            or proto.initial_response is not None
            or not proto.writable.is_set()
            or transport.is_closing()
            or conn.state is not State.OPEN
        ):
            return False
        if conn.extensions or conn.expect_continuation_frame:
            for frame in frames:
                conn.send_text(frame.encode())
            transport.write(b"".join(conn.data_to_send()))
        elif len(frames) == 1:
            transport.write(text_frame(frames[0].encode()))
        else:
            transport.write(b"".join([text_frame(f.encode()) for f in frames]))
        return True

    return write, transport.get_write_buffer_size


def direct_reader(send: Any) -> Callable[[], Any] | None:
    """A receive that keeps the socket reading between messages; None if unavailable.

    uvicorn's own ``receive`` pauses the transport after every inbound message and resumes it
    when the app reads: two event-loop registration changes per DDP message. Our Session keeps
    its own ordered queue (bounded: see ``Session.receive``), so the transport may keep reading;
    marking the protocol as already paused stops uvicorn from pausing it.
    """
    proto = getattr(send, "__self__", None)
    queue = getattr(proto, "queue", None)
    if queue is None or not hasattr(proto, "read_paused") or not hasattr(queue, "get"):
        return None
    proto.read_paused = True  # "already paused" as far as uvicorn knows: it will not pause again
    transport = getattr(proto, "transport", None)
    if transport is not None and hasattr(transport, "resume_reading"):
        transport.resume_reading()
    return queue.get


@types.coroutine
def _delegate(coro: Coroutine[Any, Any, Any], first: Any) -> Generator[Any, Any, None]:
    yielded = first
    while True:
        try:
            sent = yield yielded
        except BaseException as exc:
            try:
                yielded = coro.throw(exc)
            except StopIteration:
                return
        else:
            try:
                yielded = coro.send(sent)
            except StopIteration:
                return


async def _finish(coro: Coroutine[Any, Any, Any], first: Any) -> None:
    await _delegate(coro, first)


def run_inline(coro: Coroutine[Any, Any, Any], loop: asyncio.AbstractEventLoop) -> asyncio.Task[None] | None:
    """Run ``coro`` now; return a task only if it had to wait for something."""
    try:
        first = coro.send(None)
    except StopIteration:
        return None
    return loop.create_task(_finish(coro, first))
