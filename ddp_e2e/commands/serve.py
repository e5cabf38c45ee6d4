"""``ddp-e2e serve``: run the server (embedded store by default)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import Any

from ..config import Settings, parse_setting_value

log = logging.getLogger("ddp_e2e.serve")


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("serve", help="run the DDP/REST server")
    p.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port; 0 picks a free one (default 3000)")
    p.add_argument("--mongo-url", default=None, help="memory:// (default) or mongodb://...")
    p.add_argument("--fixtures", default=None, help="a fixtures directory or JSON file to load at start")
    p.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE",
                   help="a Rocket.Chat setting, e.g. E2E_Allow_Unencrypted_Messages=true (repeatable)")
    p.add_argument("--heartbeat-interval", type=float, default=None, help="seconds of silence before a ping")
    p.add_argument("--heartbeat-timeout", type=float, default=None, help="seconds to wait for the pong")
    p.add_argument("--max-message-size", type=int, default=None, help="largest inbound frame, bytes")
    p.add_argument("--max-outbound-buffer", type=int, default=None,
                   help="bytes queued for a client that does not read before it is closed with 1008")
    p.add_argument("--random-seed", type=int, default=None, help="seed server ids (reproducible runs)")
    p.add_argument("--record", default=None, metavar="DIR", help="write every connection to DIR as JSONL")
    p.add_argument("--record-secrets", action="store_true", help="keep passwords/tokens in recordings")
    p.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                   help="import MODULE before serving and call its install(settings), if any; for test-only "
                   "variants such as tests.replay.broken_drop_updated (repeatable; never loaded by default)")
    p.add_argument("--log-level", default=None)
    p.set_defaults(run=run)


def load_plugins(names: list[str], settings: Settings) -> None:
    """Import each plugin module and let it change the server before it starts.

    Plugins exist so tests can start deliberately broken variants (a server that drops
    ``updated``, one that leaks a private key) through the real CLI; nothing is loaded unless
    ``--plugin`` names it.
    """
    import importlib

    for name in names:
        module = importlib.import_module(name)
        install = getattr(module, "install", None)
        if callable(install):
            install(settings)
        log.warning("plugin loaded", extra={"plugin": name})


def settings_from_args(args: argparse.Namespace) -> Settings:
    s = Settings.from_env()
    for attr, field in (("host", "host"), ("port", "port"), ("mongo_url", "mongo_url"), ("fixtures", "fixtures"),
                        ("heartbeat_interval", "heartbeat_interval"), ("heartbeat_timeout", "heartbeat_timeout"),
                        ("max_message_size", "max_message_size"), ("random_seed", "random_seed"),
                        ("max_outbound_buffer", "max_outbound_buffer"),
                        ("record", "record_dir"), ("log_level", "log_level")):
        value = getattr(args, attr, None)
        if value is not None:
            setattr(s, field, value)
    if getattr(args, "record_secrets", False):
        s.record_secrets = True
    for item in args.setting:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"--setting expects NAME=VALUE, got {item!r}")
        s.set(name, parse_setting_value(value))
    return s


async def serve(settings: Settings) -> int:
    import uvicorn

    from ..server.app import create_asgi_app

    asgi = create_asgi_app(settings)
    config = uvicorn.Config(
        asgi, host=settings.host, port=settings.port, ws="websockets-sansio",
        ws_max_size=settings.max_message_size, ws_ping_interval=None, ws_ping_timeout=None,
        ws_per_message_deflate=False, lifespan="on", log_config=None, access_log=False,
        timeout_graceful_shutdown=5, loop="none",
    )
    server = uvicorn.Server(config)
    loop = asyncio.get_running_loop()
    core = getattr(asgi, "server", None) or asgi.state.server
    closing: list[asyncio.Task[None]] = []

    async def close_then_exit() -> None:
        # DDP sockets get their 1001 close frame first: left to uvicorn, they would be cut with 1012
        # (and SockJS clients would get no c[...] frame) before the app's shutdown ever ran.
        try:
            await core.close_connections(1001, "server shutting down")
        finally:
            server.should_exit = True

    def on_signal() -> None:
        if closing:  # a second signal: stop waiting for anything
            server.force_exit = True
            return
        closing.append(loop.create_task(close_then_exit()))

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]

    uvicorn_startup = server.startup

    async def startup_then_announce(sockets: Any = None) -> None:
        await uvicorn_startup(sockets=sockets)
        if server.started:  # bound: scripts read the port from this one line
            host, port = server.servers[0].sockets[0].getsockname()[:2]
            print(f"listening on ws://{host}:{port}/websocket", flush=True)

    server.startup = startup_then_announce  # type: ignore[method-assign]
    try:
        # awaited here, not in a task: uvicorn reports a failed startup (port in use, bad fixtures)
        # with sys.exit(), which inside a task also left "Task exception was never retrieved"
        await server.serve()
    except SystemExit as e:
        return e.code if isinstance(e.code, int) and e.code else 1
    return 0


def run(args: argparse.Namespace) -> int:
    from ..logs import setup_logging

    settings = settings_from_args(args)
    setup_logging(settings.log_level)
    try:
        load_plugins(args.plugin, settings)
    except ImportError as e:
        print(f"ddp-e2e serve: cannot load plugin: {e}", file=sys.stderr)
        return 2
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    try:
        return runner(serve(settings))
    except OSError as e:
        print(f"ddp-e2e serve: {e}", file=sys.stderr)
        return 1
