"""Our recording format: JSON Lines, one file per connection.

Line 1 is a header::

    {"type":"header","format":"ddp-e2e-recording","version":1,"server":"7.13.0",
     "endpoint":"ws://127.0.0.1:3000/websocket","settings":{...},
     "started_at":"2026-05-01T10:00:00.000Z","redacted":true}

then one line per DDP message, in wire order::

    {"t":12.5,"dir":"in","frame":"{\\"msg\\":\\"connect\\",...}"}

``t`` is milliseconds since the connection opened, ``dir`` is "in" (client -> server) or "out"
(server -> client), ``frame`` is the raw text of one DDP message (SockJS framing removed), kept as
a JSON string so that it survives byte for byte. Readers ignore unknown keys on either kind of
line, so later versions can add fields without breaking old readers.

:class:`JsonlWriter` is the incremental writer the server's recorder tap and the recording proxy
use; it redacts secrets unless told not to (:func:`redact_frame`).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import orjson

from ._files import read_text
from .errors import RecordingError
from .model import (
    DIRECTIONS,
    FORMAT_NAME,
    FORMAT_VERSION,
    Connection,
    Frame,
    Recording,
    base_header,
    parse_ddp_text,
)
from .redact import redact_frame

__all__ = ["JsonlWriter", "read_jsonl", "read_jsonl_lines", "redact_frame", "write_jsonl"]

log = logging.getLogger(__name__)

#: Words whose presence in an unredacted recording deserves a warning (spec §4.2).
_SECRET_WORDS = ("services", "token", "authToken", "Meteor.loginToken")
_HEADER_RESERVED = ("type", "format", "version")


def read_jsonl(path: str | os.PathLike[str]) -> Recording:
    """Read one connection's JSONL file; :class:`RecordingError` names the line on any fault."""
    text = read_text(path)
    return read_jsonl_lines(path, text.split("\n"))


def read_jsonl_lines(path: str | os.PathLike[str], lines: Iterable[str]) -> Recording:
    """Parse the lines of a JSONL recording (``path`` is only used in error messages)."""
    header: dict[str, Any] | None = None
    frames: list[Frame] = []
    last_t = 0.0
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise RecordingError(path, where, f"not JSON, the file may be truncated ({exc})") from None
        if not isinstance(obj, dict):
            raise RecordingError(path, where, "not a JSON object")
        if header is None:
            header = _check_header(path, where, obj)
            continue
        frame = _check_frame_line(path, where, obj)
        if frame.t_ms < last_t:
            raise RecordingError(path, where, f"time goes backwards ({frame.t_ms} < {last_t})")
        last_t = frame.t_ms
        frames.append(frame)
    if header is None:
        raise RecordingError(path, "", "empty file, expected a ddp-e2e-recording header line")
    header.setdefault("source", os.fspath(path))
    conn = Connection(header={}, frames=frames, name=Path(path).stem)
    return Recording(header=header, connections=[conn])


def write_jsonl(
    path: str | os.PathLike[str],
    header: Mapping[str, Any],
    frames: Iterable[Frame],
    *,
    redact: bool = True,
) -> Path:
    """Write a whole connection at once (converters); returns the path written."""
    with JsonlWriter(path, header, redact=redact) as writer:
        for frame in frames:
            writer.write_frame(frame.t_ms, frame.dir, frame.text)
    return Path(path)


class JsonlWriter:
    """Incremental writer: header on open, one line per :meth:`write_frame`, then :meth:`close`.

    With ``redact=True`` (the default) every frame goes through :func:`redact_frame` and the
    header says ``"redacted": true``. A header that already says the frames were redacted stays
    so. With ``redact=False`` the first frame that looks like it holds a secret is logged as a
    warning, because such a file must not leave a private lab.
    """

    def __init__(
        self, path: str | os.PathLike[str], header: Mapping[str, Any], *, redact: bool = True
    ) -> None:
        self.path = Path(path)
        self.redact = redact
        self.frames_written = 0
        self._warned = False
        full = base_header(**{k: v for k, v in header.items() if k not in _HEADER_RESERVED})
        full["redacted"] = bool(redact or header.get("redacted"))
        line: dict[str, Any] = {"type": "header", "format": FORMAT_NAME, "version": FORMAT_VERSION}
        line.update(full)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] | None = open(self.path, "wb")  # closed in close()
        self._file.write(orjson.dumps(line) + b"\n")

    def write_frame(self, t_ms: float, direction: str, text: str) -> None:
        """Append one DDP message; ``direction`` is "in" (client -> server) or "out"."""
        if self._file is None:
            raise ValueError(f"{self.path}: writer is closed")
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be 'in' or 'out', not {direction!r}")
        if not isinstance(t_ms, int | float) or not math.isfinite(t_ms):
            raise ValueError(f"t_ms must be a finite number, not {t_ms!r}")
        if self.redact:
            text = redact_frame(direction, text)
        elif not self._warned and any(word in text for word in _SECRET_WORDS):
            self._warned = True
            log.warning(
                "recording keeps secrets",
                extra={"path": str(self.path), "frame_index": self.frames_written},
            )
        line = {"t": round(float(t_ms), 3), "dir": direction, "frame": text}
        self._file.write(orjson.dumps(line) + b"\n")
        self.frames_written += 1

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    @property
    def closed(self) -> bool:
        return self._file is None

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _check_header(path: str | os.PathLike[str], where: str, obj: dict[str, Any]) -> dict[str, Any]:
    if obj.get("type") != "header" or obj.get("format") != FORMAT_NAME:
        raise RecordingError(
            path, where, f'expected a header line {{"type":"header","format":"{FORMAT_NAME}",...}}'
        )
    version = obj.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise RecordingError(path, where, f"header has no valid version ({version!r})")
    if version > FORMAT_VERSION:
        raise RecordingError(
            path, where, f"format version {version} is newer than this tool reads ({FORMAT_VERSION})"
        )
    settings = obj.get("settings", {})
    if settings is not None and not isinstance(settings, dict):
        raise RecordingError(path, where, "header 'settings' is not an object")
    return base_header(**{k: v for k, v in obj.items() if k not in _HEADER_RESERVED})


def _check_frame_line(path: str | os.PathLike[str], where: str, obj: dict[str, Any]) -> Frame:
    t = obj.get("t")
    if not isinstance(t, int | float) or isinstance(t, bool) or not math.isfinite(t) or t < 0:
        raise RecordingError(path, where, f"'t' must be a non-negative number of ms, not {t!r}")
    direction = obj.get("dir")
    if direction not in DIRECTIONS:
        raise RecordingError(path, where, f'\'dir\' must be "in" or "out", not {direction!r}')
    text = obj.get("frame")
    if not isinstance(text, str):
        raise RecordingError(path, where, "'frame' must be the raw DDP text as a JSON string")
    try:
        parse_ddp_text(text)
    except ValueError as exc:
        raise RecordingError(path, where, str(exc)) from None
    return Frame(float(t), direction, text)
