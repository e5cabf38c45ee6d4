"""Bare `websockets` echo server: the baseline every DDP throughput figure is divided by.

It does the least a Python WebSocket server can do per message (receive the frame's bytes,
send them back as a text frame, no decoding), on uvloop when it is installed, so the ratio
"ddp-e2e round trips / echo round trips" isolates what our DDP stack costs on top of the
WebSocket engine we chose. Compression is off, as the load generator does not offer it.

    python bench/echo_server.py [--host 127.0.0.1] [--port 0]

Prints `listening on ws://HOST:PORT/` once it accepts connections.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


async def echo(ws: ServerConnection) -> None:
    """Echo every frame back unchanged until the peer goes away."""
    try:
        while True:
            data = await ws.recv(decode=False)
            await ws.send(data, text=True)
    except ConnectionClosed:
        pass


async def main(host: str, port: int) -> None:
    """Serve until killed; report the bound port so callers can use port 0."""
    async with serve(echo, host, port, compression=None, max_size=2**20) as server:
        bound = server.sockets[0].getsockname()[1]
        print(f"listening on ws://{host}:{bound}/", flush=True)
        await server.serve_forever()


def run(argv: list[str] | None = None) -> None:
    """Parse arguments and run on uvloop if available (the baseline the anchors used)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args(argv)
    try:
        import uvloop
    except ImportError:
        print("uvloop not installed: using the default asyncio loop", file=sys.stderr)
        asyncio.run(main(args.host, args.port))
    else:
        uvloop.run(main(args.host, args.port))


if __name__ == "__main__":
    run()
