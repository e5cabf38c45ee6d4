"""Fixtures for the real-client tests: the Node toolchain and a driver runner.

The Node tests must skip only when `node` itself is missing (a Python-only machine), with the
reason shown; a missing tests/clients/node_modules is installed once per session with
`npm ci` from the committed lockfile, so CI exercises exactly the pinned client versions.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import PyMember

from tests.conftest import RunningServer

CLIENTS_DIR = Path(__file__).resolve().parent
NODE = shutil.which("node")


@dataclass
class DriverRun:
    """What one driver process printed and how it ended."""

    returncode: int
    report: dict[str, Any]
    stderr: str

    def describe(self) -> str:
        """A compact text for assertion messages: exit code, steps, error, stderr tail."""
        brief = {k: self.report.get(k) for k in ("ok", "failed_step", "error", "steps")}
        return f"exit {self.returncode}: {json.dumps(brief)}\nstderr: {self.stderr[-1500:]}"


def _install_lock_path() -> Path:
    """A lock file outside the tree, one per checkout, so concurrent test runs on one machine
    do not run `npm ci` over each other (npm ci deletes node_modules first)."""
    digest = hashlib.sha256(str(CLIENTS_DIR).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"ddp-e2e-npm-ci-{digest}.lock"


@pytest.fixture(scope="session")
def node_clients() -> Path:
    """tests/clients with its node_modules installed (npm ci once per session if missing)."""
    if NODE is None:
        pytest.skip("node is not on PATH: the real Node DDP client tests need Node >= 20")
    with _install_lock_path().open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # npm writes node_modules/.package-lock.json when an install completes.
        if not (CLIENTS_DIR / "node_modules" / ".package-lock.json").exists():
            npm = shutil.which("npm")
            if npm is None:
                pytest.fail("node is present but npm is not: cannot install tests/clients/node_modules")
            proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=CLIENTS_DIR,
                                  capture_output=True, text=True, timeout=600)
            if proc.returncode != 0:
                pytest.fail(f"npm ci failed in tests/clients:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return CLIENTS_DIR


def _run_driver(script: str, config: dict[str, Any], timeout: float = 60.0) -> DriverRun:
    """Run one driver script on `config` and parse the single JSON object it prints.

    The process timeout is a backstop: every driver step has its own shorter timeout.
    """
    assert NODE is not None
    argv = [NODE]
    if script.endswith(".mjs"):
        # @rocket.chat/ddp-client wants a global WebSocket, as in a browser.
        argv.append("--experimental-websocket")
    argv += [str(CLIENTS_DIR / script), json.dumps(config)]
    proc = subprocess.run(argv, cwd=CLIENTS_DIR, capture_output=True, text=True, timeout=timeout)
    # split("\n"), not splitlines(): U+2028 inside a JSON string is not a line break.
    lines = [ln for ln in proc.stdout.split("\n") if ln.startswith("{")]
    report = json.loads(lines[-1]) if lines else {"ok": False, "error": {"message": "no JSON on stdout"}}
    return DriverRun(proc.returncode, report, proc.stderr)


@pytest.fixture
def run_driver(node_clients: Path) -> Callable[..., DriverRun]:
    """`run_driver(script, config, timeout=60)` -> DriverRun, with node_modules in place."""
    return _run_driver


@pytest.fixture
def member(server: RunningServer) -> Iterator[Callable[[str], PyMember]]:
    """``member(username)``: a logged-in python-ddp client, closed after the test."""
    made: list[PyMember] = []

    def make(username: str) -> PyMember:
        made.append(PyMember(server.ws_url))
        return made[-1].start(username)

    yield make
    for m in made:
        m.close()
