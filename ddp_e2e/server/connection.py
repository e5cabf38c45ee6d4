"""One DDP connection's I/O: an ASGI WebSocket on one side, a sans-I/O Session on the other.

The reader answers ``ping`` at once (the Session does that inside ``receive``) and hands
ordered work to a short-lived drain task, so a slow method never delays a ``pong``. A single
writer task sends everything, which keeps frames in order; with SockJS framing the frames
queued in one tick go out as one ``a[...]`` frame.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocket

from ..ddp import sockjs
from ..ddp.session import Session
from ..dispatch import ConnectionInfo
from .fastpath import direct_reader, direct_writer, run_inline

if TYPE_CHECKING:
    from ..app import App
    from .recorder import ConnectionRecorder

log = logging.getLogger("ddp_e2e.connection")

SAFE_HEADERS = (
    "referer", "x-client-ip", "x-forwarded-for", "x-forwarded-host", "x-forwarded-port",
    "x-cluster-client-ip", "via", "x-real-ip", "x-forwarded-proto", "x-ssl", "dnt", "host",
    "user-agent", "accept-language",
)


def connection_info(ws: WebSocket, conn_id: str, transport: str) -> ConnectionInfo:
    """Meteor passes only a whitelist of headers to methods (never cookies)."""
    headers = {k: v for k, v in ws.headers.items() if k in SAFE_HEADERS}
    addr = ws.client.host if ws.client else None
    return ConnectionInfo(id=conn_id, client_address=addr, http_headers=headers, transport=transport)


class DdpConnection:
    """Glue between a WebSocket and a Session; owns the reader loop and the writer task."""

    def __init__(self, app: App, ws: WebSocket, *, sockjs_framing: bool,
                 recorder: ConnectionRecorder | None = None) -> None:
        self.app = app
        self.ws = ws
        self.sockjs = sockjs_framing
        self.loop = asyncio.get_running_loop()
        self.recorder = recorder
        conn_id = app.random.id()
        self.session = Session(
            app, connection_info(ws, conn_id, "sockjs" if sockjs_framing else "websocket"),
            now=self.loop.time(), on_output=self.schedule_flush,
        )
        self._writer: asyncio.Task[None] | None = None
        self._drainer: asyncio.Task[None] | None = None
        self._socket_closed = False
        self._direct = direct_writer(getattr(ws, "_send", None))
        # The raw ASGI receive: Starlette's wrapper only re-checks states the loop already knows.
        self._receive = getattr(ws, "_receive", None) or ws.receive

    # ------------------------------------------------------------------ writing
    def schedule_flush(self) -> None:
        """Send queued frames: at once with one write when possible, else via the writer task."""
        if self._writer is None or self._writer.done():
            if self._direct is not None and not self.session.closed and self._write_direct():
                return
            self._writer = self.loop.create_task(self._flush())

    def _write_direct(self) -> bool:
        assert self._direct is not None
        write, buffered = self._direct
        texts = self.session.take_output()
        if not texts:
            return True
        frames = [sockjs.encode_messages(texts)] if self.sockjs else texts
        if not write(frames):
            self.session.requeue_output(texts)
            return False
        if self.recorder is not None:
            for t in texts:
                self.recorder.frame("out", t)
        if buffered() > self.app.settings.max_outbound_buffer:
            log.warning("slow reader: transport buffer overflow", extra={"session": self.session.id})
            self.session.close(1008, "outbound buffer overflow")  # schedules the closing flush
        return True

    async def _send_text(self, text: str) -> None:
        await self.ws.send_text(text)

    async def _flush(self) -> None:
        try:
            while True:
                texts = self.session.take_output()
                if texts:
                    if self.recorder is not None:
                        for t in texts:
                            self.recorder.frame("out", t)
                    if self.sockjs:
                        await self._send_text(sockjs.encode_messages(texts))
                    else:
                        for t in texts:
                            await self._send_text(t)
                if self.session.has_output():
                    continue
                if self.session.closed:
                    await self._close_socket(self.session.close_code, self.session.close_reason)
                return
        except Exception as exc:  # the peer went away mid-write: nothing more to send
            log.debug("write failed", extra={"session": self.session.id, "error": repr(exc)})
            self.session.close(1006, "write failed")

    async def _close_socket(self, code: int, reason: str) -> None:
        if self._socket_closed:
            return
        self._socket_closed = True
        try:
            if self.sockjs:
                await self._send_text(sockjs.close_frame(3000 if code == 4000 else code, reason or "Normal closure"))
            await self.ws.close(code=code, reason=reason[:120])
        except Exception as exc:
            log.debug("close failed", extra={"session": self.session.id, "error": repr(exc)})

    # ------------------------------------------------------------------ reading
    async def _drain(self) -> None:
        try:
            await self.session.drain()
        except Exception:
            log.exception("session drain crashed", extra={"session": self.session.id})
            self.session.close(1011, "internal error")
        if self.session.has_output() or self.session.closed:
            self.schedule_flush()

    def _feed(self, text: str) -> None:
        if self.recorder is not None:
            self.recorder.frame("in", text)
        if self.session.receive(text, self.loop.time()) and not self.session.processing:
            if self._drainer is None or self._drainer.done():
                self._drainer = run_inline(self._drain(), self.loop)
        if self.session.has_output() or self.session.closed:
            self.schedule_flush()

    async def run(self) -> None:
        """Accept, greet, then read frames until the peer or the session closes."""
        await self.ws.accept()
        fast_receive = direct_reader(getattr(self.ws, "_send", None))
        if fast_receive is not None:
            self._receive = fast_receive
        if self.sockjs:
            await self._send_text(sockjs.OPEN)
        if self.app.settings.send_server_id:
            self.session.send_raw('{"server_id":"0"}')
            self.schedule_flush()
        try:
            while not self.session.closed:
                message: dict[str, Any] = await self._receive()
                mtype = message["type"]
                if mtype == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:
                    # Binary frames carry no DDP; answer like a non-JSON frame, keep the session.
                    self.session.send({"msg": "error", "reason": "Bad request"})
                    self.schedule_flush()
                    continue
                if self.sockjs:
                    try:
                        parts = sockjs.decode_client_payload(text)
                    except sockjs.SockJSFramingError:
                        self.session.close(3000, "Broken framing.")
                        self.schedule_flush()
                        break
                    for part in parts:
                        self._feed(part)
                else:
                    self._feed(text)
        finally:
            if not self.session.closed:  # the peer left: nothing more can be written
                self._socket_closed = True
                self.session.closed = True
            self.session.shutdown()
            if self._writer is not None and not self._writer.done():
                try:
                    await asyncio.wait_for(asyncio.shield(self._writer), timeout=5)
                except (TimeoutError, asyncio.CancelledError):
                    self._writer.cancel()
            if self._drainer is not None and not self._drainer.done():
                self._drainer.cancel()
            if self.recorder is not None:
                self.recorder.close()

    def tick(self, now: float) -> None:
        """Called by the heartbeat ticker: let the session ping or close, then flush."""
        deadline = self.session.next_deadline()
        if deadline is not None and now >= deadline:
            self.session.on_timer(now)
            if self.session.has_output() or self.session.closed:
                self.schedule_flush()
