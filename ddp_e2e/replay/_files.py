"""Reading a recording file as text, with failures turned into :class:`RecordingError`."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import RecordingError


def read_text(path: str | os.PathLike[str]) -> str:
    """The file as UTF-8 text; a missing, unreadable or non-UTF-8 file is a RecordingError."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise RecordingError(path, "", f"cannot read ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordingError(path, "", f"not UTF-8 text (byte {exc.start})") from None
