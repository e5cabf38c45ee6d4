"""``ddp-e2e record``: a recording proxy between any DDP client and any DDP server."""

from __future__ import annotations

import argparse
import asyncio
import sys

from ._signals import stop_event


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "record",
        help="record DDP sessions through a proxy (raw /websocket and SockJS)",
        description="Listen on HOST:PORT and bridge every WebSocket to the upstream DDP server, "
        "writing one JSONL recording per connection into DIR. Point the client at "
        "ws://HOST:PORT/websocket (or the SockJS base http://HOST:PORT).",
    )
    p.add_argument("--listen", default="127.0.0.1:3100", metavar="HOST:PORT",
                   help="where clients connect (port 0 picks a free one; default 127.0.0.1:3100)")
    p.add_argument("--upstream", required=True, metavar="URL",
                   help="the real server, e.g. wss://chat.example.org/websocket")
    p.add_argument("--out", required=True, metavar="DIR", help="directory for the JSONL recordings")
    p.add_argument("--record-secrets", action="store_true",
                   help="keep passwords and tokens in the files (private labs only)")
    p.add_argument("--log-level", default="WARNING")
    p.set_defaults(run=run)


async def _main(args: argparse.Namespace) -> int:
    from ..replay.proxy import RecordingProxy, parse_listen

    try:
        host, port = parse_listen(args.listen)
        proxy = RecordingProxy(args.upstream, args.out, host=host, port=port, redact=not args.record_secrets)
    except ValueError as exc:
        print(f"ddp-e2e record: {exc}", file=sys.stderr)
        return 2
    try:
        await proxy.start()
    except OSError as exc:
        print(f"ddp-e2e record: cannot listen on {args.listen}: {exc}", file=sys.stderr)
        return 1
    stop = stop_event()
    print(f"listening on {proxy.url} (proxying to {args.upstream}, recording into {args.out})", flush=True)
    await stop.wait()
    await proxy.stop()
    print(f"recorded {len(proxy.files)} connection(s) into {args.out}", flush=True)
    return 0


def run(args: argparse.Namespace) -> int:
    from ..logs import setup_logging

    setup_logging(args.log_level)
    return asyncio.run(_main(args))
