"""Shared fixtures: a real server process on 127.0.0.1 with an ephemeral port.

The server is started exactly as a user starts it (``ddp-e2e serve --port 0``); the test reads
the ``listening on ws://H:P/websocket`` line it prints, so no port is guessed and no sleep is
needed to know it is up.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "demo"
_LISTEN = re.compile(r"listening on ws://([^:]+):(\d+)/websocket")


@dataclass
class RunningServer:
    host: str
    port: int
    process: subprocess.Popen[str]
    stderr_lines: list[str] = field(default_factory=list)
    readers: list[threading.Thread] = field(default_factory=list)

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/websocket"

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def sockjs_url(self, server: str = "123", session: str = "abcdefgh") -> str:
        return f"ws://{self.host}:{self.port}/sockjs/{server}/{session}/websocket"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        for t in self.readers:  # the readers end at EOF; then the pipes can be closed
            t.join(5)
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None and not pipe.closed:
                pipe.close()
        return self.process.returncode


def start_server(*extra: str, fixtures: str | None = str(FIXTURES), timeout: float = 30) -> RunningServer:
    """Start ``ddp-e2e serve`` and wait (on its output, not a sleep) until it listens."""
    args = [sys.executable, "-m", "ddp_e2e.cli", "serve", "--host", "127.0.0.1", "--port", "0"]
    if fixtures:
        args += ["--fixtures", fixtures]
    args += list(extra)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    found: dict[str, str] = {}
    ready = threading.Event()
    errors: list[str] = []

    def read_stdout() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            m = _LISTEN.search(line)
            if m and not ready.is_set():
                found["host"], found["port"] = m.group(1), m.group(2)
                ready.set()
        ready.set()

    def read_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            errors.append(line)

    readers = [threading.Thread(target=read_stdout, daemon=True), threading.Thread(target=read_stderr, daemon=True)]
    for t in readers:
        t.start()
    srv = RunningServer("", 0, proc, errors, readers)
    if not ready.wait(timeout) or "port" not in found:
        srv.stop(signal.SIGKILL)
        raise RuntimeError("server did not start:\n" + "".join(errors[-40:]))
    srv.host, srv.port = found["host"], int(found["port"])
    return srv


def server_fixture(*extra: str, name: str = "server") -> Any:
    """A module-scoped fixture (``server`` by default): ``ddp-e2e serve`` with the ``extra``
    command-line arguments and the demo workspace, stopped after the module's tests."""

    @pytest.fixture(scope="module", name=name)
    def _server() -> Iterator[RunningServer]:
        srv = start_server(*extra)
        try:
            yield srv
        finally:
            srv.stop()

    return _server


#: A fresh server with the demo workspace, shared by the tests of one module.
server = server_fixture()
