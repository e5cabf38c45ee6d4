"""The ASGI application: one port for DDP (raw and SockJS), REST, health and metrics.

Served by uvicorn with the ``websockets-sansio`` engine (DESIGN.md: ``websockets`` stays the
WebSocket implementation while REST bodies work on the same port).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket

from .. import EMULATED_ROCKETCHAT_VERSION, __version__
from ..app import App, build_app
from ..config import Settings
from ..ddp import sockjs
from ..store import open_store
from .connection import DdpConnection

log = logging.getLogger("ddp_e2e.server")

_CACHE = "no-store, no-cache, no-transform, must-revalidate, max-age=0"


class Server:
    """Owns the App and the live connections; the Starlette app delegates to it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app: App | None = None
        self.connections: set[DdpConnection] = set()
        self._ticker: asyncio.Task[None] | None = None
        self.started = asyncio.Event()

    async def startup(self) -> None:
        from ..store.fixtures import load_fixtures

        store = await open_store(self.settings.mongo_url)
        if self.settings.fixtures:
            counts = await load_fixtures(store, self.settings.fixtures)
            log.info("fixtures loaded", extra={"counts": counts})
        self.app = build_app(self.settings, store)
        self._ticker = asyncio.create_task(self._tick_forever())
        self.started.set()

    async def close_connections(self, code: int = 1001, reason: str = "server shutting down") -> None:
        """Send every DDP connection its close frame and wait (3 s at most) until they are out.

        The CLI calls this on SIGINT/SIGTERM *before* uvicorn's own shutdown, which would
        otherwise cut every WebSocket with 1012 first.
        """
        for conn in list(self.connections):
            conn.session.close(code, reason)
        writers = [c._writer for c in self.connections if c._writer is not None]
        if writers:
            await asyncio.wait(writers, timeout=3)

    async def shutdown(self) -> None:
        """Close every DDP connection with a proper close frame, then the store."""
        if self._ticker is not None:
            self._ticker.cancel()
        await self.close_connections()
        if self.app is not None:
            await self.app.store.close()

    async def _tick_forever(self) -> None:
        """One ticker for every connection's heartbeat (no timer object per connection)."""
        loop = asyncio.get_running_loop()
        period = max(0.02, min(1.0, self.settings.heartbeat_interval / 4, self.settings.heartbeat_timeout / 4))
        while True:
            await asyncio.sleep(period)
            now = loop.time()
            for conn in list(self.connections):
                conn.tick(now)

    async def websocket(self, ws: WebSocket, *, sockjs_framing: bool) -> None:
        assert self.app is not None
        recorder = None
        if self.settings.record_dir:
            from .recorder import open_connection_recorder

            recorder = open_connection_recorder(self.app, ws, sockjs_framing)
        conn = DdpConnection(self.app, ws, sockjs_framing=sockjs_framing, recorder=recorder)
        self.connections.add(conn)
        try:
            await conn.run()
        finally:
            self.connections.discard(conn)


def _info_response(server: Server, request: Request) -> Response:
    assert server.app is not None
    headers = {"Cache-Control": _CACHE, "Vary": "Origin"}
    origin = request.headers.get("origin")
    headers["Access-Control-Allow-Origin"] = origin or "*"
    if origin:
        headers["Access-Control-Allow-Credentials"] = "true"
    if request.method == "OPTIONS":
        headers.update({"Access-Control-Allow-Methods": "OPTIONS, GET", "Access-Control-Max-Age": "31536000"})
        return Response(status_code=204, headers=headers)
    return Response(sockjs.info_body(server.app.random.uint32()), media_type="application/json; charset=UTF-8",
                    headers=headers)


_SOCKJS_WS = re.compile(r"^/sockjs/[^/.]+/[^/.]+/websocket$")
_RAW_WS = frozenset({"/websocket", "/websocket/", "/sockjs/websocket"})


class DdpAsgi:
    """Top-level ASGI app: DDP WebSockets are handled directly (so the transport can batch
    writes through the server's own ``send``), everything else goes to Starlette."""

    def __init__(self, starlette: Starlette, server: Server) -> None:
        self.starlette = starlette
        self.server = server

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            path = scope.get("path", "")
            if path in _RAW_WS or _SOCKJS_WS.match(path):
                await self.server.websocket(WebSocket(scope, receive, send), sockjs_framing=path not in _RAW_WS)
                return
        await self.starlette(scope, receive, send)


def create_asgi_app(settings: Settings) -> DdpAsgi:
    """Build the ASGI application; the server object is at ``.server``."""
    server = Server(settings)

    async def info(request: Request) -> Response:
        return _info_response(server, request)

    async def welcome(request: Request) -> Response:
        return PlainTextResponse("Welcome to SockJS!\n")

    async def not_websocket(request: Request) -> Response:
        return PlainTextResponse("Not a valid websocket request", status_code=400)

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok" if server.app is not None else "starting",
                                 status_code=200 if server.app is not None else 503)

    async def metrics(request: Request) -> Response:
        app = server.app
        lines = [
            f'ddp_e2e_info{{version="{__version__}",rocketchat="{EMULATED_ROCKETCHAT_VERSION}"}} 1',
            f"ddp_e2e_connections {len(server.connections)}",
            f"ddp_e2e_sessions {len(app.sessions.by_id) if app else 0}",
            f"ddp_e2e_stream_deliveries_total {app.hub.delivered if app else 0}",
        ]
        return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[dict[str, Any]]:
        await server.startup()
        assert server.app is not None
        for route in server.app.rest.starlette_routes(server.app):  # type: ignore[attr-defined]
            asgi.router.routes.append(route)
        for route in server.app.extensions.get("extra_routes", []):
            asgi.router.routes.append(route)
        try:
            yield {}
        finally:
            await server.shutdown()

    routes = [
        Route("/websocket", not_websocket),
        Route("/websocket/", not_websocket),
        Route("/sockjs/info", info, methods=["GET", "OPTIONS"]),
        Route("/sockjs", welcome),
        Route("/sockjs/", welcome),
        Route("/health", health),
        Route("/metrics", metrics),
    ]
    asgi = Starlette(routes=routes, lifespan=lifespan)
    asgi.state.server = server
    return DdpAsgi(asgi, server)
