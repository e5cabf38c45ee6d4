"""A real server on 127.0.0.1, run in a thread of the test process so tests can read its store.

The subprocess fixture (``tests/conftest.py``) is how users run the server; this one serves the
same ASGI app with the same uvicorn options, on a socket bound before it starts (so the port is
known and early connections wait in the backlog instead of racing the startup). What it adds is
access to the live App: dump the store before and after hostile input and compare, and collect
the server's log records to check that none carries a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn

from ddp_e2e.app import App
from ddp_e2e.config import Settings
from ddp_e2e.server.app import create_asgi_app
from ddp_e2e.store import dump_fixtures

T = TypeVar("T")
DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed, as ``ddp-e2e serve`` runs (plain asyncio here costs ~40 ms per REST call)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class RecordsHandler(logging.Handler):
    """Keeps every record at WARNING and above (the server's errors land here)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def tracebacks(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()}" for r in self.records if r.exc_info]


class InProcServer:
    """``with InProcServer.running(settings) as srv:`` -> ws_url, http_url, app, run(coro)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.asgi = create_asgi_app(settings)
        self.core = getattr(self.asgi, "server", None) or self.asgi.state.server  # type: ignore[attr-defined]
        config = uvicorn.Config(
            self.asgi, ws="websockets-sansio", ws_max_size=settings.max_message_size,
            ws_ping_interval=None, ws_ping_timeout=None, ws_per_message_deflate=False,
            lifespan="on", log_config=None, access_log=False, timeout_graceful_shutdown=5,
        )
        self.uvicorn = uvicorn.Server(config)
        self.uvicorn.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.loop = _new_loop()
        self.thread = threading.Thread(target=self._run, name="inproc-server", daemon=True)
        self.logs = RecordsHandler()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.uvicorn.serve(sockets=[self.sock]))

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/websocket"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def sockjs_url(self, server: str = "000", session: str = "inproc01") -> str:
        return f"ws://127.0.0.1:{self.port}/sockjs/{server}/{session}/websocket"

    @property
    def app(self) -> App:
        assert self.core.app is not None
        return self.core.app

    def run(self, fn: Callable[[], Awaitable[T]], timeout: float = 10) -> T:
        """Run ``fn()`` on the server's loop (store access must happen there) and wait."""

        async def call() -> T:
            return await fn()

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(timeout)

    def dump(self) -> dict[str, list[Any]]:
        """Every collection, secrets included (hashes, tokens), for before/after comparison."""
        return self.run(lambda: dump_fixtures(self.app.store, include_secrets=True))

    def start(self, timeout: float = 30) -> None:
        logging.getLogger().addHandler(self.logs)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.core.started.wait(), self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(setattr, self.uvicorn, "should_exit", True)
        self.thread.join(15)
        logging.getLogger().removeHandler(self.logs)
        if not self.thread.is_alive():
            self.loop.close()
        self.sock.close()

    @classmethod
    @contextmanager
    def running(cls, settings: Settings | None = None, **overrides: Any) -> Iterator[InProcServer]:
        if settings is None:
            settings = Settings(fixtures=str(DEMO), **overrides)
        srv = cls(settings)
        srv.start()
        try:
            yield srv
        finally:
            srv.stop()


def srv_fixture(settings: Settings | None = None, **overrides: Any) -> Any:
    """A module-scoped ``srv`` fixture: :meth:`InProcServer.running` with these arguments."""

    @pytest.fixture(scope="module", name="srv")
    def _srv() -> Iterator[InProcServer]:
        with InProcServer.running(settings, **overrides) as srv:
            yield srv

    return _srv
