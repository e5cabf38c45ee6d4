"""The in-memory shape of a recording, whatever file it came from.

Every reader (JSONL, HAR, DDP-Analyzer log) produces a :class:`Recording`; the writer, the
comparator and the runner consume it. A frame holds exactly one DDP message (SockJS framing is
already removed) and keeps the raw text byte for byte, because E2EE ciphertext and key order must
survive a round trip unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

Direction = Literal["in", "out"]
#: "in" is client -> server, "out" is server -> client (the server's point of view).
DIRECTIONS: tuple[Direction, Direction] = ("in", "out")

#: The ``format`` and ``version`` of our JSONL header line.
FORMAT_NAME = "ddp-e2e-recording"
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Frame:
    """One DDP message: when (ms since the connection opened), which way, and its raw text."""

    t_ms: float
    dir: Direction
    text: str

    def message(self) -> dict[str, Any]:
        """The parsed JSON object (readers have checked that it is one)."""
        obj = orjson.loads(self.text)
        if not isinstance(obj, dict):
            raise ValueError("frame is not a JSON object")
        return obj


@dataclass(slots=True)
class Connection:
    """One WebSocket connection: its own header fields and its frames in wire order."""

    header: dict[str, Any] = field(default_factory=dict)
    frames: list[Frame] = field(default_factory=list)
    name: str = ""

    def client_frames(self) -> list[Frame]:
        return [f for f in self.frames if f.dir == "in"]

    def server_frames(self) -> list[Frame]:
        return [f for f in self.frames if f.dir == "out"]


@dataclass(slots=True)
class Recording:
    """A recording: a header common to all connections and one or more connections.

    Header keys: ``server`` (version string or None), ``endpoint`` (URL), ``settings`` (dict),
    ``started_at`` (ISO-8601 or None), ``redacted`` (bool), ``source`` (where it was read from).
    A connection's own header overrides these (a HAR has one URL and start time per entry).
    """

    header: dict[str, Any] = field(default_factory=dict)
    connections: list[Connection] = field(default_factory=list)

    def __iter__(self) -> Iterator[Connection]:
        return iter(self.connections)

    def connection_header(self, conn: Connection) -> dict[str, Any]:
        """The effective header of one connection (recording header, then its own fields)."""
        merged = dict(self.header)
        merged.update(conn.header)
        return merged


def base_header(**fields: Any) -> dict[str, Any]:
    """A header with every documented key present, so writers never miss one."""
    header: dict[str, Any] = {
        "server": None,
        "endpoint": None,
        "settings": {},
        "started_at": None,
        "redacted": False,
        "source": None,
    }
    header.update(fields)
    return header


def parse_ddp_text(text: str) -> dict[str, Any]:
    """Parse one DDP frame; ``ValueError`` with a short reason when it is not a JSON object.

    Readers call this so that "frame is not JSON" is found at import time with a location, not
    in the middle of a replay.
    """
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"frame is not JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"frame is not a JSON object but {type(obj).__name__}: {_clip(text)}")
    return obj


def start_ms(header: dict[str, Any]) -> float | None:
    """``started_at`` as epoch milliseconds, or None when absent or unreadable.

    Dates inside frames are compared relative to the wall-clock time of their frame, which is
    ``started_at + t_ms``; without a start time the normaliser falls back to the first date.
    """
    value = header.get("started_at")
    if not isinstance(value, str) or not value:
        return None
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp() * 1000.0


def iso_from_ms(ms: float) -> str:
    """Epoch milliseconds as the ISO-8601 UTC string used in headers (millisecond precision)."""
    moment = datetime.fromtimestamp(ms / 1000.0, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
