"""Reading any supported recording, and converting it to our JSONL (``ddp-e2e convert IN OUT``).

The kind is told from the content, not trusted from the extension alone: a HAR is one JSON
document with ``log.entries``, our JSONL starts with a ``ddp-e2e-recording`` header line, and a
DDP-Analyzer log has ``<client> IN|OUT <ms> <json>`` lines.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal

import orjson

from ._files import read_text
from .analyzer import looks_like_analyzer_log, read_analyzer
from .errors import RecordingError
from .har import read_har
from .jsonl import read_jsonl, write_jsonl
from .model import FORMAT_NAME, Recording

__all__ = ["RecordingKind", "convert", "detect_kind", "read_recording"]

log = logging.getLogger(__name__)

RecordingKind = Literal["har", "jsonl", "analyzer"]


def detect_kind(path: str | os.PathLike[str]) -> RecordingKind:
    """Tell what kind of recording a file is; :class:`RecordingError` if it is none of them."""
    text = read_text(path)
    first = next((line for line in text.split("\n") if line.strip()), "")
    if not first:
        raise RecordingError(path, "", "empty file")
    if first.lstrip().startswith("{"):
        try:
            head = orjson.loads(first)
        except orjson.JSONDecodeError:
            head = None
        if isinstance(head, dict) and head.get("type") == "header":
            return "jsonl"
        if isinstance(head, dict) and head.get("format") == FORMAT_NAME:
            return "jsonl"
        if isinstance(head, dict) and {"dir", "frame"} <= head.keys():
            return "jsonl"  # frames without a header: read_jsonl says so, naming line 1
        # A HAR is one (usually pretty-printed) JSON document; let read_har name its faults.
        return "har"
    if looks_like_analyzer_log(text):
        return "analyzer"
    raise RecordingError(
        path, "line 1", "not a recording this tool knows (HAR, ddp-e2e JSONL or DDP-Analyzer log)"
    )


def read_recording(path: str | os.PathLike[str]) -> Recording:
    """Read a recording of any supported kind; a directory means all its ``*.jsonl`` files."""
    p = Path(path)
    if p.is_dir():
        files = sorted(p.glob("*.jsonl"))
        if not files:
            raise RecordingError(path, "", "directory holds no .jsonl recordings")
        merged = Recording(header={})
        for file in files:
            part = read_jsonl(file)
            conn = part.connections[0]
            conn.header = dict(part.header)  # each file carries its own connection's header
            merged.connections.append(conn)
        merged.header = dict(merged.connections[0].header)
        merged.header["source"] = os.fspath(path)
        return merged
    kind = detect_kind(path)
    if kind == "jsonl":
        return read_jsonl(path)
    if kind == "har":
        return read_har(path)
    return read_analyzer(path)


def convert(
    in_path: str | os.PathLike[str], out: str | os.PathLike[str], *, redact: bool = True
) -> list[Path]:
    """Convert a recording to JSONL files (one per connection); returns the paths written.

    ``out`` ending in ``.jsonl`` is a file and needs a recording of exactly one connection;
    anything else is a directory (created if needed) that receives ``<stem>-<n>.jsonl``.
    Secrets are redacted unless ``redact=False`` (a private lab only).
    """
    recording = read_recording(in_path)
    out_path = Path(out)
    conns = recording.connections
    if out_path.suffix == ".jsonl" and not out_path.is_dir():
        if len(conns) != 1:
            raise RecordingError(
                in_path, "", f"holds {len(conns)} connections; give a directory to write them to"
            )
        targets = [out_path]
    else:
        stem = Path(in_path).stem
        targets = [out_path / f"{stem}-{n}.jsonl" for n in range(1, len(conns) + 1)]
    written = []
    for conn, target in zip(conns, targets, strict=True):
        header = recording.connection_header(conn)
        header["source"] = os.fspath(in_path) if len(conns) == 1 else f"{os.fspath(in_path)} ({conn.name})"
        written.append(write_jsonl(target, header, conn.frames, redact=redact))
    log.info(
        "converted recording",
        extra={"source": os.fspath(in_path), "files": [str(p) for p in written], "redacted": redact},
    )
    return written
