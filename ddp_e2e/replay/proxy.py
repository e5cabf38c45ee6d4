"""The recording proxy behind ``ddp-e2e record``: any DDP client <-> any DDP server, to JSONL.

A ``websockets`` server listens; each WebSocket a client opens is bridged to the upstream's
same path (``/websocket`` raw, or ``/sockjs/<n>/<id>/websocket`` SockJS-framed) and every text
frame is forwarded unchanged in both directions while its DDP messages are written, unwrapped
from SockJS, to one JSONL file per connection (the same format as ``serve --record``). SockJS
clients first GET ``/sockjs/info``; plain HTTP requests under ``/sockjs`` are forwarded to the
upstream over HTTP(S) so the client sees the real server's answer.

Nothing is changed on the way through: the proxy is a tap, so a real Rocket.Chat can be recorded
with its real clients. Close codes are passed on; a side that vanishes without a close frame
makes the proxy close the other side with 1011 (1000 when the client left).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.server import Server, ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from .. import __version__
from ..ddp import sockjs
from ._listen import listen, stop_listening
from .jsonl import JsonlWriter
from .model import iso_from_ms

__all__ = [
    "RecordingProxy",
    "is_sockjs_path",
    "parse_listen",
    "unwrap_for_file",
    "upstream_for_path",
]

log = logging.getLogger("ddp_e2e.replay.proxy")

_SOCKJS_WS_PATH = re.compile(r"^(?P<prefix>.*?)/sockjs/[^/.]+/[^/.]+/websocket/?$")
#: Handshake and hop-by-hop headers the upstream handshake makes itself.
_NOT_FORWARDED = frozenset(
    {
        "host",
        "upgrade",
        "connection",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-protocol",
        "sec-websocket-accept",
        "content-length",
        "transfer-encoding",
        "keep-alive",
        "te",
        "trailer",
        "proxy-authorization",
        "proxy-connection",
    }
)
_SEQUENCE = itertools.count(1)


def parse_listen(text: str) -> tuple[str, int]:
    """``127.0.0.1:3100`` -> (host, port); ValueError with a readable reason otherwise."""
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"port must be a number, got {port!r}") from None
    if not 0 <= number <= 65535:
        raise ValueError(f"port out of range: {number}")
    return host.strip("[]"), number


def is_sockjs_path(path: str) -> bool:
    """True for the SockJS-framed WebSocket transport ``/sockjs/<server>/<session>/websocket``."""
    return bool(_SOCKJS_WS_PATH.match(urlsplit(path).path))


def upstream_for_path(upstream: str, path: str) -> str:
    """The upstream URL for a client's request path.

    ``upstream`` is what the user gave (``wss://chat.example/websocket``); the part before its
    trailing ``/websocket`` is the server's base, and the client's own path is appended to it, so
    ``/sockjs/123/abcdefgh/websocket`` reaches the same SockJS session path upstream. A raw
    ``/websocket`` request goes to ``upstream`` itself.
    """
    parts = urlsplit(upstream)
    base_path = parts.path.rstrip("/")
    if base_path.endswith("/websocket"):
        base_path = base_path[: -len("/websocket")]
        if base_path.endswith("/sockjs"):
            base_path = base_path[: -len("/sockjs")]
    client = urlsplit(path)
    client_path = client.path or "/"
    if client_path.rstrip("/") in ("/websocket", "/sockjs/websocket", ""):
        return upstream
    return urlunsplit((parts.scheme, parts.netloc, base_path + client_path, client.query, ""))


def unwrap_for_file(direction: str, data: str, sockjs_framing: bool) -> list[str]:
    """The DDP messages inside one WebSocket text frame (what goes into the recording).

    Raw frames are one message each. SockJS client payloads are arrays of strings; server frames
    are ``o``/``h``/``c[...]`` (no DDP) or ``a[...]``. A frame that does not decode is kept as
    is, so the recording shows what really went over the wire.
    """
    if not sockjs_framing:
        return [data]
    try:
        if direction == "in":
            return sockjs.decode_client_payload(data)
        kind, payload = sockjs.decode_server_frame(data)
    except sockjs.SockJSFramingError:
        return [data]
    return list(payload) if kind == "a" and isinstance(payload, list) else []


def _http_url(ws_url: str) -> str:
    parts = urlsplit(ws_url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))


def _sendable_close(code: int | None, *, default: int) -> int:
    """A close code one may put in a close frame (1005/1006/1015 are reserved)."""
    if code is None or code in (1004, 1005, 1006, 1015) or not (1000 <= code <= 4999):
        return default
    return code


@dataclass(slots=True)
class _Tap:
    """One proxied connection's recording."""

    writer: JsonlWriter | None
    sockjs: bool
    opened: float

    def record(self, direction: str, data: str) -> None:
        if self.writer is None:
            return
        t_ms = (time.monotonic() - self.opened) * 1000.0
        try:
            for text in unwrap_for_file(direction, data, self.sockjs):
                self.writer.write_frame(t_ms, direction, text)
            self.writer.flush()
        except (OSError, ValueError) as exc:
            log.error("recording stopped", extra={"path": str(self.writer.path), "error": str(exc)})
            self.close()

    def close(self) -> None:
        writer, self.writer = self.writer, None
        if writer is not None:
            with contextlib.suppress(OSError):
                writer.close()


class RecordingProxy:
    """Listen on ``host:port``, bridge every WebSocket to ``upstream``, record to ``out_dir``.

    ``await start()`` binds (port 0 picks a free one, see :attr:`port`); ``await stop()`` closes
    the listener and every bridged connection. :attr:`files` lists the recordings written.
    """

    def __init__(
        self,
        upstream: str,
        out_dir: str | Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        redact: bool = True,
        open_timeout: float = 10.0,
    ) -> None:
        parts = urlsplit(upstream)
        if parts.scheme not in ("ws", "wss") or not parts.netloc:
            raise ValueError(f"--upstream must be a ws:// or wss:// URL, got {upstream!r}")
        self.upstream = upstream
        self.out_dir = Path(out_dir)
        self.host = host
        self.port = port
        self.redact = redact
        self.open_timeout = open_timeout
        self.files: list[Path] = []
        self._server: Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._server, self.host, self.port = await listen(
            self._handle,
            self.host,
            self.port,
            process_request=self._process_request,
            server_header=f"ddp-e2e-record/{__version__}",
        )

    async def stop(self) -> None:
        await stop_listening(self._server)
        self._server = None

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/websocket"

    # -- plain HTTP ---------------------------------------------------------------------------
    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None
        path = urlsplit(request.path).path
        if not path.startswith("/sockjs"):
            return connection.respond(404, "ddp-e2e record: only WebSocket and /sockjs requests are proxied\n")
        url = _http_url(upstream_for_path(self.upstream, request.path))
        headers = {k: v for k, v in request.headers.raw_items() if k.lower() not in _NOT_FORWARDED}
        return await asyncio.to_thread(_fetch, url, headers, self.open_timeout)

    # -- WebSocket bridge ---------------------------------------------------------------------
    async def _handle(self, client: ServerConnection) -> None:
        request = client.request
        assert request is not None
        path = request.path
        framing = is_sockjs_path(path)
        target = upstream_for_path(self.upstream, path)
        headers = [(k, v) for k, v in request.headers.raw_items() if k.lower() not in _NOT_FORWARDED]
        try:
            upstream = await websockets.connect(
                target,
                additional_headers=headers,
                user_agent_header=None,
                max_size=None,
                ping_interval=None,
                compression=None,
                open_timeout=self.open_timeout,
            )
        except (OSError, TimeoutError, websockets.InvalidHandshake, websockets.InvalidURI) as exc:
            log.warning("upstream unreachable", extra={"upstream": target, "error": str(exc)})
            await client.close(1011, "upstream unreachable")
            return
        tap = self._open_tap(target, path, framing)
        try:
            await self._bridge(client, upstream, tap)
        finally:
            tap.close()

    def _open_tap(self, target: str, path: str, framing: bool) -> _Tap:
        started = datetime.now(UTC)
        stamp = started.strftime("%Y%m%dT%H%M%S") + f".{started.microsecond // 1000:03d}Z"
        file = self.out_dir / f"{stamp}-{next(_SEQUENCE):04d}.jsonl"
        header = {
            "server": None,
            "recorded_by": f"ddp-e2e {__version__} record (proxy)",
            "endpoint": target,
            "client_path": path,
            "transport": "sockjs" if framing else "raw",
            "settings": {},
            "started_at": iso_from_ms(started.timestamp() * 1000.0),
        }
        try:
            writer: JsonlWriter | None = JsonlWriter(file, header, redact=self.redact)
            self.files.append(file)
            log.info("recording connection", extra={"path": str(file), "upstream": target})
        except OSError as exc:
            log.error("cannot open recording", extra={"path": str(file), "error": str(exc)})
            writer = None
        return _Tap(writer, framing, time.monotonic())

    async def _bridge(self, client: ServerConnection, upstream: ClientConnection, tap: _Tap) -> None:
        async def pump(src: Any, dst: Any, direction: str) -> None:
            try:
                async for data in src:
                    if isinstance(data, str):
                        tap.record(direction, data)
                    else:
                        log.warning("binary frame passed through unrecorded", extra={"dir": direction})
                    await dst.send(data)
            except websockets.ConnectionClosed:
                pass

        to_upstream = asyncio.create_task(pump(client, upstream, "in"))
        to_client = asyncio.create_task(pump(upstream, client, "out"))
        done, _pending = await asyncio.wait({to_upstream, to_client}, return_when=asyncio.FIRST_COMPLETED)
        if to_client in done:  # the server went first: pass its close on to the client
            code = _sendable_close(upstream.close_code, default=1011)
            await client.close(code, upstream.close_reason or "")
        else:
            code = _sendable_close(client.close_code, default=1000)
            await upstream.close(code, client.close_reason or "")
        for task in (to_upstream, to_client):
            if not task.done():
                task.cancel()
        await asyncio.gather(to_upstream, to_client, return_exceptions=True)


def _fetch(url: str, headers: dict[str, str], timeout: float) -> Response:
    """GET ``url`` (blocking, run in a thread) and turn the answer into a websockets Response."""
    request = urllib.request.Request(url, headers=headers, method="GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            body = answer.read()
            status, reason = answer.status, answer.reason
            got = list(answer.headers.items())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        status, reason, got = exc.code, str(exc.reason), list(exc.headers.items())
    except (OSError, ValueError) as exc:
        text = f"ddp-e2e record: upstream unreachable ({exc})\n".encode()
        return Response(502, "Bad Gateway", Headers([("Content-Type", "text/plain"), ("Content-Length", str(len(text)))]), text)
    kept = [(k, v) for k, v in got if k.lower() not in _NOT_FORWARDED]
    kept.append(("Content-Length", str(len(body))))
    return Response(status, reason, Headers(kept), body)
