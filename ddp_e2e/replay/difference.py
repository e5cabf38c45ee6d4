"""What a replay comparison reports, and how it reads as text.

A :class:`Difference` names both frames by their index in their connection's frame list (client
frames included, 0-based, shown as ``#12``) and by what they are (``result id="3"``), and the JSON
path that differs, so a person can find the frame in the recording, the diff and the HTML report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson

__all__ = ["Difference", "DifferenceKind", "clip", "format_diff", "frame_label"]

DifferenceKind = Literal["missing", "extra", "changed", "order", "client"]


@dataclass(frozen=True, slots=True)
class Difference:
    """One semantic difference between the expected (recorded) and the actual server frames.

    ``kind``: "missing" (expected, never received), "extra" (received, not expected), "changed"
    (the same message with different content), "order" (an ordering promise broken, e.g. data
    after ``ready``), "client" (the client frames themselves diverge, so the rest is suspect).
    """

    kind: DifferenceKind
    expected_index: int | None
    actual_index: int | None
    expected: str | None
    actual: str | None
    path: str
    message: str


def frame_label(obj: Any) -> str:
    """A short name for a DDP message: ``result id="3"``, ``added users id="u1"``."""
    if not isinstance(obj, dict):
        return "unparsed frame"
    msg = obj.get("msg")
    if msg is None:
        return "greeting" if "server_id" in obj else "message without msg"
    parts = [str(msg)]
    if msg == "method":
        parts.append(str(obj.get("method")))
    elif msg == "sub":
        parts.append(str(obj.get("name")))
    if msg in ("added", "changed", "removed", "addedBefore", "movedBefore"):
        parts.append(str(obj.get("collection")))
    for key in ("id", "methods", "subs"):
        if key in obj:
            parts.append(f"{key}={_dump(obj[key])}")
    fields = obj.get("fields")
    if isinstance(fields, dict) and "eventName" in fields:
        parts.append(f"eventName={_dump(fields['eventName'])}")
    if msg in ("result", "nosub") and isinstance(obj.get("error"), dict):
        parts.append(f"error={_dump(obj['error'].get('error'))}")
    return " ".join(parts)


def clip(text: Any, limit: int = 160) -> str:
    """Shorten a value for one line of text output."""
    s = text if isinstance(text, str) else _dump(text)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def format_diff(diffs: Sequence[Difference], *, frame_limit: int = 240) -> str:
    """Readable text for a terminal: one numbered block per difference, frames clipped."""
    if not diffs:
        return "no differences\n"
    lines = [f"{len(diffs)} difference{'s' if len(diffs) != 1 else ''}:"]
    for n, diff in enumerate(diffs, start=1):
        lines.append(f"{n}. [{diff.kind}] {diff.message}")
        if diff.path and diff.path != "(frame)" and diff.path not in diff.message:
            lines.append(f"   at {diff.path}")
        if diff.expected is not None:
            where = f"#{diff.expected_index}" if diff.expected_index is not None else ""
            lines.append(f"   expected {where}: {clip(diff.expected, frame_limit)}")
        if diff.actual is not None:
            where = f"#{diff.actual_index}" if diff.actual_index is not None else ""
            lines.append(f"   actual   {where}: {clip(diff.actual, frame_limit)}")
    return "\n".join(lines) + "\n"


def _dump(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return repr(value)
