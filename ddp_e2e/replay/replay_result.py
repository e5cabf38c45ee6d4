"""What a live replay found, per connection, and the terminal text for it."""

from __future__ import annotations

from dataclasses import dataclass, field

from .difference import Difference, format_diff
from .model import Frame


@dataclass(slots=True)
class ConnectionOutcome:
    """One replayed connection: both frame lists, the differences and transport problems."""

    name: str
    expected: list[Frame]
    actual: list[Frame]
    differences: list[Difference]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences and not self.problems


@dataclass(slots=True)
class ReplayResult:
    connections: list[ConnectionOutcome]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.connections)


def format_result(result: ReplayResult) -> str:
    """The terminal text: one block per connection, problems first, then the diff."""
    lines = []
    for conn in result.connections:
        sent = sum(1 for f in conn.actual if f.dir == "in")
        received = sum(1 for f in conn.actual if f.dir == "out")
        status = "OK" if conn.ok else "MISMATCH"
        lines.append(f"== {conn.name}: {status} ({sent} frames sent, {received} received)")
        lines.extend(f"   ! {p}" for p in conn.problems)
        if conn.differences:
            lines.append(format_diff(conn.differences).rstrip("\n"))
    failed = sum(1 for c in result.connections if not c.ok)
    lines.append(
        f"{len(result.connections)} connection(s) replayed, "
        + ("all match the recording" if not failed else f"{failed} differ from the recording")
    )
    return "\n".join(lines) + "\n"
