"""Starting and stopping the ``websockets`` listener of the mock server and the recording proxy."""

from __future__ import annotations

from typing import Any

import websockets
from websockets.asyncio.server import Server


async def listen(
    handler: Any, host: str, port: int, *, process_request: Any, server_header: str
) -> tuple[Server, str, int]:
    """Bind a DDP-ready listener (no size limit, pings or compression); port 0 picks a free one.

    Returns the server and the host and port it is bound to.
    """
    server = await websockets.serve(
        handler,
        host,
        port,
        process_request=process_request,
        max_size=None,
        ping_interval=None,
        compression=None,
        server_header=server_header,
    )
    sock = next(iter(server.sockets))
    bound_host, bound_port = sock.getsockname()[:2]
    return server, bound_host, bound_port


async def stop_listening(server: Server | None) -> None:
    """Close the listener and every connection it accepted; nothing to do for None."""
    if server is not None:
        server.close()
        await server.wait_closed()
