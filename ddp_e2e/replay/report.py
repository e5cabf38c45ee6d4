"""The HTML replay report: expected and actual frames side by side, mismatches linked.

One self-contained page (inline CSS, no scripts, no external assets) that a person can open from
a CI artifact. Each connection is a timeline of segments: the client frame, then the recorded
server frames on the left and the live ones on the right. Frames named by a difference are
highlighted and link to it; the summary at the top links to both frames of every difference.

Frames are untrusted (they come from any server or any recording), so every piece of text goes
through :func:`html.escape`; the markup is also well-formed XML so tests can parse it strictly.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path
from typing import Any

import orjson

from .difference import Difference, frame_label
from .model import Frame
from .normalize import NormalizeOptions
from .segments import Indexed, Segment, split_segments

__all__ = ["ConnectionReport", "render_html_report", "write_html_report"]

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1d1d1f;background:#fafafa}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em}
.status{display:inline-block;padding:.2em .7em;border-radius:4px;color:#fff;font-weight:bold}
.pass{background:#2e7d32}.fail{background:#c62828}
table.meta td{padding:0 1em 0 0;vertical-align:top}
ol.diffs li{margin:.3em 0}
.kind{font-weight:bold;text-transform:uppercase;font-size:.8em;margin-right:.5em}
table.timeline{border-collapse:collapse;width:100%;table-layout:fixed}
table.timeline th{background:#eee;text-align:left;padding:.3em}
table.timeline td{vertical-align:top;padding:.2em;border-top:1px solid #ddd}
td.client{background:#eef3fb}
.frame{margin:.15em 0;padding:.2em .35em;border-left:3px solid #bbb;background:#fff}
.frame.in{border-left-color:#1565c0}
.frame.bad{border-left-color:#c62828;background:#ffebee}
.frame .meta{color:#555;font-size:.85em}
.frame pre{margin:.1em 0 0;white-space:pre-wrap;word-break:break-all;font:12px/1.35 ui-monospace,monospace}
a.flag{color:#c62828;font-weight:bold;margin-left:.4em}
"""


@dataclass(frozen=True, slots=True)
class ConnectionReport:
    """What the report shows for one connection."""

    name: str
    expected: Sequence[Frame]
    actual: Sequence[Frame]
    differences: Sequence[Difference]


def write_html_report(
    path: str | os.PathLike[str],
    connections: Sequence[ConnectionReport],
    *,
    title: str = "ddp-e2e replay report",
    header: Mapping[str, Any] | None = None,
) -> Path:
    """Write the report to ``path`` (UTF-8); returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_html_report(connections, title=title, header=header), encoding="utf-8")
    return target


def render_html_report(
    connections: Sequence[ConnectionReport],
    *,
    title: str = "ddp-e2e replay report",
    header: Mapping[str, Any] | None = None,
) -> str:
    """The report as a string."""
    total = sum(len(c.differences) for c in connections)
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"/>',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        _status(total),
    ]
    if header:
        out.append(_meta(header))
    out.append(_summary(connections))
    for n, conn in enumerate(connections):
        out.append(_timeline(n, conn))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _status(total: int) -> str:
    if total == 0:
        return '<p><span class="status pass">PASS</span> no differences</p>'
    return f'<p><span class="status fail">FAIL</span> {total} difference{"s" if total != 1 else ""}</p>'


def _meta(header: Mapping[str, Any]) -> str:
    rows = []
    for key, value in header.items():
        shown = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
        rows.append(f"<tr><td>{_e(key)}</td><td>{_e(shown)}</td></tr>")
    return f'<table class="meta">{"".join(rows)}</table>'


def _summary(connections: Sequence[ConnectionReport]) -> str:
    parts = ['<h2 id="summary">Summary</h2>']
    for n, conn in enumerate(connections):
        count = len(conn.differences)
        parts.append(
            f'<p><a href="#c{n}">{_e(conn.name or f"connection {n + 1}")}</a>: '
            f"{len(conn.expected)} expected and {len(conn.actual)} actual frames, "
            f"{count} difference{'s' if count != 1 else ''}</p>"
        )
        if not count:
            continue
        parts.append('<ol class="diffs">')
        for d, diff in enumerate(conn.differences):
            links = []
            if diff.expected_index is not None:
                links.append(f'<a href="#c{n}-e{diff.expected_index}">expected #{diff.expected_index}</a>')
            if diff.actual_index is not None:
                links.append(f'<a href="#c{n}-a{diff.actual_index}">actual #{diff.actual_index}</a>')
            parts.append(
                f'<li id="c{n}-d{d}"><span class="kind">{_e(diff.kind)}</span>{_e(diff.message)} '
                f"[{' | '.join(links)}]</li>"
            )
        parts.append("</ol>")
    return "\n".join(parts)


def _timeline(n: int, conn: ConnectionReport) -> str:
    flagged_e: dict[int, list[int]] = {}
    flagged_a: dict[int, list[int]] = {}
    for d, diff in enumerate(conn.differences):
        if diff.expected_index is not None:
            flagged_e.setdefault(diff.expected_index, []).append(d)
        if diff.actual_index is not None:
            flagged_a.setdefault(diff.actual_index, []).append(d)
    keep_all = NormalizeOptions(drop_heartbeats=False)
    e_segments = split_segments(conn.expected, keep_all)
    a_segments = split_segments(conn.actual, keep_all)
    rows = [
        f'<h2 id="c{n}">{_e(conn.name or f"connection {n + 1}")}</h2>',
        '<table class="timeline"><tr><th>expected (recorded)</th><th>actual (live)</th></tr>',
    ]
    for e_seg, a_seg in zip_longest(e_segments, a_segments, fillvalue=Segment(None)):
        if e_seg.client is not None or a_seg.client is not None:
            rows.append(
                '<tr><td class="client">'
                + _frame(n, "e", e_seg.client, flagged_e)
                + '</td><td class="client">'
                + _frame(n, "a", a_seg.client, flagged_a)
                + "</td></tr>"
            )
        left = "".join(_frame(n, "e", f, flagged_e) for f in e_seg.server)
        right = "".join(_frame(n, "a", f, flagged_a) for f in a_seg.server)
        if left or right:
            rows.append(f"<tr><td>{left}</td><td>{right}</td></tr>")
    rows.append("</table>")
    return "\n".join(rows)


def _frame(n: int, side: str, indexed: Indexed | None, flagged: dict[int, list[int]]) -> str:
    if indexed is None:
        return ""
    frame = indexed.frame
    bad = flagged.get(indexed.index, [])
    classes = "frame " + frame.dir + (" bad" if bad else "")
    arrow = "client → server" if frame.dir == "in" else "server → client"
    flags = "".join(f'<a class="flag" href="#c{n}-d{d}">difference {d + 1}</a>' for d in bad)
    try:
        label = frame_label(orjson.loads(frame.text))
    except orjson.JSONDecodeError:
        label = "unparsed frame"
    return (
        f'<div class="{classes}" id="c{n}-{side}{indexed.index}">'
        f'<div class="meta">#{indexed.index} · {frame.t_ms:.0f} ms · {arrow} · {_e(label)}{flags}</div>'
        f"<pre>{_e(frame.text)}</pre></div>"
    )


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)
