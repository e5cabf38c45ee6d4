"""``ddp-e2e serve`` as a user runs it: the announced port, clean shutdown on signals, bad flags.

Every server here is a real subprocess. Shutdown must reach each client as a proper close frame
(1001 going away; on SockJS also ``c[1001,...]``), not as uvicorn's 1012 or a dropped socket, and
the process must exit 0.
"""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from ddp_e2e.client.ddp import DDPClient
from tests.conftest import ROOT, start_server

LINE = re.compile(r"^listening on ws://127\.0\.0\.1:(\d+)/websocket$")


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def serve_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run ``ddp-e2e serve`` to completion (for invocations that must fail fast)."""
    return subprocess.run([sys.executable, "-m", "ddp_e2e.cli", "serve", "--port", "0", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_port_zero_prints_one_line_with_the_bound_url() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "ddp_e2e.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    got = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        lines.append(proc.stdout.readline())
        got.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert got.wait(30), "no line printed"
        match = LINE.match(lines[0].rstrip("\n"))
        assert match, lines
        port = int(match.group(1))
        assert port not in (0, 3000)

        async def main() -> None:
            async with DDPClient(f"ws://127.0.0.1:{port}/websocket") as c:
                assert await c.call("ddp-e2e.echo", "up") == "up"

        run(main())
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        reader.join(5)
        assert proc.stdout is not None
        rest = proc.stdout.read()
        proc.stdout.close()
    assert rest == ""  # exactly one line on stdout; logs go to stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_closes_every_connection_with_1001_and_exits_0(sig: signal.Signals) -> None:
    srv = start_server()

    async def main() -> None:
        raw = DDPClient(srv.ws_url)
        framed = DDPClient(srv.sockjs_url())
        busy = DDPClient(srv.ws_url)
        for c in (raw, framed, busy):
            await c.connect()
        await busy.login_password("alice", "alice-pass")
        await busy.stream("notify-user", "u-alice/message")
        srv.process.send_signal(sig)
        for c in (raw, framed, busy):
            closed = await c.wait_closed(10)
            assert closed.code == 1001, closed
        assert framed.inbox[-1] == {"msg": "__sockjs_close__", "payload": [1001, "server shutting down"]}
        for c in (raw, framed, busy):
            await c.close()

    try:
        run(main())
        assert srv.process.wait(15) == 0
    finally:
        code = srv.stop()
    assert code == 0
    assert not any("Traceback" in line for line in srv.stderr_lines), "".join(srv.stderr_lines)[-2000:]


def test_a_signal_with_no_connection_exits_0() -> None:
    srv = start_server(fixtures=None)
    srv.process.send_signal(signal.SIGTERM)
    assert srv.process.wait(15) == 0
    srv.stop()


@pytest.mark.parametrize("setting", ["novalue", "=true", ""])
def test_bad_setting_syntax_exits_non_zero_with_a_message(setting: str) -> None:
    r = serve_cli("--setting", setting)
    assert r.returncode != 0
    assert f"--setting expects NAME=VALUE, got {setting!r}" in r.stderr
    assert "listening on" not in r.stdout


def test_bad_flags_and_startup_failures_exit_non_zero(tmp_path: Path) -> None:
    r = serve_cli("--heartbeat-interval", "soon")
    assert r.returncode == 2 and "invalid float value" in r.stderr
    broken = tmp_path / "users.json"
    broken.write_text("[{]")
    r = serve_cli("--fixtures", str(tmp_path))
    assert r.returncode != 0 and "invalid JSON" in r.stderr and "listening on" not in r.stdout
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        r = subprocess.run([sys.executable, "-m", "ddp_e2e.cli", "serve", "--port", str(taken.getsockname()[1])],
                           cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "address already in use" in r.stderr
    assert "Task exception was never retrieved" not in r.stderr
