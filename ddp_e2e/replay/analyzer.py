"""Importer for Meteor DDP-Analyzer console logs (``arunoda/meteor-ddp-analyzer``).

The analyzer is a SockJS proxy (``ddp-analyzer-proxy``, port 3030) between a browser and a
Meteor app. It prints one line per DDP message::

    1 OUT 0 {"msg":"connect","version":"1","support":["1","pre2","pre1"]}
    1 IN  12 {"msg":"connected","session":"m7bW3yZqKcaE9XvPf"}

that is ``<client number> <arrow> <ms since the previous message of that client> <raw DDP>``.
The arrow is named from the *browser's* side (its ``lib/proxy.js`` prints ``OUT`` for what the
client wrote and ``IN`` for what the Meteor app sent), so ``OUT`` is our "in" (client -> server)
and ``IN`` is our "out". On a terminal the fields are wrapped in ANSI colour codes and padded
with spaces; the spec's digest writes the client number as ``[1]``; both forms are accepted.
``New Client: [n]`` lines, the start-up banner and blank lines are skipped.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from ._files import read_text
from .errors import RecordingError
from .model import Connection, Direction, Frame, Recording, base_header, parse_ddp_text

__all__ = ["looks_like_analyzer_log", "read_analyzer"]

log = logging.getLogger(__name__)

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_LINE = re.compile(r"^\s*\[?(\d+)\]?\s+(IN|OUT)\s+(\d+(?:\.\d+)?)\s+(.*?)\s*$")
_NEW_CLIENT = re.compile(r"^\s*New Client: \[\d+\]\s*$")
_BANNER = (
    "DDP Proxy Started",
    "====",
    "Export following env",
    "export DDP_DEFAULT_CONNECTION_URL",
    "export DISABLE_WEBSOCKETS",
    "meteor",
)
_DIRECTIONS: dict[str, Direction] = {"OUT": "in", "IN": "out"}


def read_analyzer(path: str | os.PathLike[str]) -> Recording:
    """Read a DDP-Analyzer log; one :class:`Connection` per client number, in order of appearance."""
    text = read_text(path)
    conns: dict[str, Connection] = {}
    clocks: dict[str, float] = {}
    for number, raw in enumerate(text.split("\n"), start=1):
        line = _ANSI.sub("", raw).rstrip("\r")
        if not line.strip() or _NEW_CLIENT.match(line) or line.strip().startswith(_BANNER):
            continue
        where = f"line {number}"
        if line.startswith("DDP_PARSE_ERROR"):
            log.warning(
                "analyzer log reports a lost message", extra={"path": os.fspath(path), "line": number}
            )
            continue
        match = _LINE.match(line)
        if match is None:
            raise RecordingError(path, where, "not a DDP-Analyzer line ('<client> IN|OUT <ms> <json>')")
        client, arrow, gap, payload = match.groups()
        try:
            parse_ddp_text(payload)
        except ValueError as exc:
            raise RecordingError(path, where, str(exc)) from None
        t_ms = clocks.get(client, 0.0) + float(gap)
        clocks[client] = t_ms
        conn = conns.get(client)
        if conn is None:
            conn = conns[client] = Connection(header={"client": int(client)}, name=f"client-{client}")
        conn.frames.append(Frame(t_ms, _DIRECTIONS[arrow], payload))
    if not conns:
        raise RecordingError(path, "", "no DDP-Analyzer lines ('<client> IN|OUT <ms> <json>') found")
    header: dict[str, Any] = base_header(source=os.fspath(path), transport="sockjs")
    return Recording(header=header, connections=list(conns.values()))


def looks_like_analyzer_log(text: str) -> bool:
    """Sniff: the first line that is not blank or banner is an analyzer line or a New Client line."""
    for raw in text.split("\n")[:50]:
        line = _ANSI.sub("", raw).rstrip("\r")
        if not line.strip() or line.strip().startswith(_BANNER):
            continue
        return bool(_NEW_CLIENT.match(line) or _LINE.match(line))
    return False
