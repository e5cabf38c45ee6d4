"""Cutting a connection into segments: a client frame and the server frames it caused.

The comparator works segment by segment so the live runner can feed it while the replay goes:
after sending recorded client frame *k* it collects what the server answers until it sends
frame *k+1*, and compares that with the recorded server frames between the same two client
frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from .model import Frame
from .normalize import NormalizeOptions

__all__ = ["Indexed", "Segment", "split_segments"]


@dataclass(frozen=True, slots=True)
class Indexed:
    """A frame and its index in its connection's frame list."""

    index: int
    frame: Frame


@dataclass(frozen=True, slots=True)
class Segment:
    """A client frame (None before the first one) and the server frames that followed it."""

    client: Indexed | None
    server: tuple[Indexed, ...] = ()


def split_segments(frames: Sequence[Frame], options: NormalizeOptions | None = None) -> list[Segment]:
    """Cut a connection into segments; the first has no client frame (server greetings).

    Client heartbeats (ping/pong) are not boundaries when heartbeats are dropped: the runner
    answers pings itself, so they are not part of what is replayed.
    """
    opts = options or NormalizeOptions()
    segments: list[Segment] = []
    client: Indexed | None = None
    server: list[Indexed] = []
    for index, frame in enumerate(frames):
        if frame.dir == "out":
            server.append(Indexed(index, frame))
            continue
        if opts.drop_heartbeats and _msg_of(frame.text) in ("ping", "pong"):
            continue
        segments.append(Segment(client, tuple(server)))
        client, server = Indexed(index, frame), []
    segments.append(Segment(client, tuple(server)))
    return segments


def _msg_of(text: str) -> Any:
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return obj.get("msg") if isinstance(obj, dict) else None
