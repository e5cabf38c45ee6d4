"""Process plumbing for the benchmark: bounded line reads and CPU ticks from /proc.

Kept apart from run.py so the measuring code is small enough to check by eye: CPU is the
figure the benchmark leans on when the shared machine is noisy, so how it is read matters.
"""

from __future__ import annotations

import os
import select
import subprocess
import time
from pathlib import Path


class LineReader:
    """Read a child's stdout line by line with a deadline, never blocking past it."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        self.proc = proc
        self.fd = proc.stdout.fileno()
        self.buf = b""

    def readline(self, deadline: float) -> str | None:
        """The next line without its newline, or None at EOF or when the deadline passes."""
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode(errors="replace").rstrip("\r")


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (which may contain spaces)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text.rsplit(")", 1)[1].split()


def cpu_ticks(pid: int) -> int:
    """utime + stime of one process (all its threads), in clock ticks; 0 if it is gone."""
    f = _stat_fields(pid)
    if f is None:
        return 0
    return int(f[11]) + int(f[12])  # fields 14 and 15 of proc(5)


def children_of(pid: int) -> list[int]:
    """Direct children of pid, found by scanning /proc (works without CONFIG_PROC_CHILDREN)."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        f = _stat_fields(int(entry))
        if f is not None and int(f[1]) == pid:
            kids.append(int(entry))
    return kids


class ProcTree:
    """A server process and its descendants (a server may fork workers), for CPU sampling."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.pids = [root]

    def refresh(self) -> None:
        """Re-discover descendants; done outside the measured window because it scans /proc."""
        found, todo = [], [self.root]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children_of(pid))
        self.pids = found

    def cpu_ticks(self) -> int:
        """Total utime + stime of the tree, in clock ticks."""
        return sum(cpu_ticks(pid) for pid in self.pids)


def system_busy_ticks() -> int:
    """Busy (non-idle, non-iowait) ticks over all CPUs, to estimate other tenants' load."""
    with open("/proc/stat") as fh:
        values = [int(x) for x in fh.readline().split()[1:9]]
    return sum(values) - values[3] - values[4]
