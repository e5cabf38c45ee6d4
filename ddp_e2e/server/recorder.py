"""The recorder tap: ``ddp-e2e serve --record DIR`` writes every connection to its own JSONL file.

The transport calls :meth:`ConnectionRecorder.frame` with each DDP text it reads or writes (SockJS
framing already removed) and :meth:`ConnectionRecorder.close` when the socket ends. The file is
our recording format (:mod:`ddp_e2e.replay.jsonl`): a header line naming the server version, the
endpoint, the Rocket.Chat settings and the start time, then one line per frame with ``t`` in ms
since the socket was accepted. Secrets are redacted unless ``--record-secrets`` was given.

Recording must never break serving: a disk that fills up or a directory that disappears is
logged once and the tap goes quiet; the connection carries on.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import EMULATED_ROCKETCHAT_VERSION, __version__
from ..replay.jsonl import JsonlWriter
from ..replay.model import iso_from_ms

if TYPE_CHECKING:
    from starlette.websockets import WebSocket

    from ..app import App

log = logging.getLogger("ddp_e2e.recorder")

__all__ = ["ConnectionRecorder", "open_connection_recorder", "recording_file_name"]

#: Connections numbered per process, so two files opened in the same millisecond sort in order.
_SEQUENCE = itertools.count(1)


def recording_file_name(started: datetime, sequence: int) -> str:
    """``20260101T100000.123Z-p4242-0007.jsonl``: sorts by start time, unique per process."""
    stamp = started.strftime("%Y%m%dT%H%M%S") + f".{started.microsecond // 1000:03d}Z"
    return f"{stamp}-p{os.getpid()}-{sequence:04d}.jsonl"


class ConnectionRecorder:
    """Writes one connection's frames; ``frame`` and ``close`` never raise."""

    def __init__(self, path: Path, header: dict[str, Any], *, redact: bool) -> None:
        self.path = path
        self._opened = time.monotonic()
        self._writer: JsonlWriter | None = None
        try:
            self._writer = JsonlWriter(path, header, redact=redact)
            self._writer.flush()
        except OSError as exc:
            log.error("cannot open recording", extra={"path": str(path), "error": str(exc)})

    def frame(self, direction: str, text: str) -> None:
        """Record one DDP message; "in" is client -> server, "out" server -> client."""
        writer = self._writer
        if writer is None:
            return
        try:
            writer.write_frame((time.monotonic() - self._opened) * 1000.0, direction, text)
            # One flush per frame: recording is opt-in, and a file must survive a killed server.
            writer.flush()
        except (OSError, ValueError) as exc:
            log.error("recording stopped", extra={"path": str(self.path), "error": str(exc)})
            self._writer = None
            try:
                writer.close()
            except OSError:
                pass

    def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            try:
                writer.close()
            except OSError as exc:
                log.error("cannot close recording", extra={"path": str(self.path), "error": str(exc)})


def open_connection_recorder(app: App, ws: WebSocket, sockjs_framing: bool) -> ConnectionRecorder:
    """A recorder for one accepted WebSocket, writing into ``settings.record_dir``."""
    settings = app.settings
    assert settings.record_dir, "the recorder is only opened when --record DIR is set"
    started = datetime.now(UTC)
    path = Path(settings.record_dir) / recording_file_name(started, next(_SEQUENCE))
    header: dict[str, Any] = {
        "server": EMULATED_ROCKETCHAT_VERSION,
        "recorded_by": f"ddp-e2e {__version__} serve --record",
        "endpoint": _endpoint(ws),
        "transport": "sockjs" if sockjs_framing else "raw",
        "settings": dict(settings.rocketchat),
        "started_at": iso_from_ms(started.timestamp() * 1000.0),
    }
    recorder = ConnectionRecorder(path, header, redact=not settings.record_secrets)
    log.info("recording connection", extra={"path": str(path), "redacted": not settings.record_secrets})
    return recorder


def _endpoint(ws: WebSocket) -> str | None:
    try:
        return str(ws.url)
    except Exception:  # a scope without enough parts to rebuild a URL
        return None
