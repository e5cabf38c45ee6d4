"""Every recording in fixtures/recordings/ replays green against a fresh server; broken variants do not.

The recordings were made by real clients through the recording proxy (ddp_e2e/replay/make_fixtures.py
regenerates them). The broken variants are test-only plugins (tests/replay/broken_*.py) loaded with
``serve --plugin``; replay must catch each of them with a diff that names the frame.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ddp_e2e.client.ddp import DDPClient
from ddp_e2e.replay.convert import read_recording
from ddp_e2e.replay.runner import ReplayOptions, default_credentials, format_result, replay_recording
from tests.conftest import ROOT, RunningServer, start_server

RECORDINGS = ROOT / "fixtures" / "recordings"
FILES = sorted(RECORDINGS.glob("*.jsonl")) + sorted(RECORDINGS.glob("*.har"))
EXPECTED_CLIENTS = {"rc-ddp-client", "ddp-oortcloud", "ddp-oortcloud-sockjs-probe", "simpleddp", "sockjs-client",
                    "python-ddp", "browser-sockjs"}


def test_every_client_has_a_recording() -> None:
    assert {p.stem for p in FILES} == EXPECTED_CLIENTS


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_recording_replays_green(server: RunningServer, path: Path) -> None:
    recording = read_recording(path)
    assert recording.connections and all(c.frames for c in recording.connections)
    options = ReplayOptions(url=server.ws_url, credentials=default_credentials())
    result = asyncio.run(replay_recording(recording, options))
    assert result.ok, format_result(result)
    sent = [f for c in result.connections for f in c.actual if f.dir == "in"]
    assert any('"login"' in f.text for f in sent)


def test_recording_replays_over_sockjs(server: RunningServer) -> None:
    result = asyncio.run(replay_recording(read_recording(RECORDINGS / "python-ddp.jsonl"),
                                          ReplayOptions(url=server.sockjs_url(), credentials=default_credentials())))
    assert result.ok, format_result(result)


def _replay_cli(path: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ddp_e2e.cli", "replay", str(path), "--url", url, "--timeout", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_replay_catches_a_server_that_drops_updated() -> None:
    srv = start_server("--plugin", "tests.replay.broken_drop_updated")
    try:
        proc = _replay_cli(RECORDINGS / "rc-ddp-client.jsonl", srv.ws_url)
    finally:
        srv.stop()
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert '[missing] expected frame #5 (updated for id="rc-ddp-client-1") was not received' in out, out
    assert "no answer within 1 s; still missing updated id='rc-ddp-client-1'" in out
    assert "client frame #3 (method login" in out


def test_replay_catches_a_server_that_leaks_a_private_key() -> None:
    srv = start_server("--plugin", "tests.replay.broken_leak_private_key")
    try:
        async def bob_uploads_keys() -> None:
            async with DDPClient(srv.ws_url) as c:
                await c.login_password("bob", "bob-pass")
                await c.call("e2e.setUserPublicAndPrivateKeys", {"public_key": "pk-bob", "private_key": "BOB-SECRET"})

        asyncio.run(bob_uploads_keys())
        proc = _replay_cli(RECORDINGS / "rc-ddp-client.jsonl", srv.ws_url)
    finally:
        srv.stop()
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert 'expected frame #15 (result id="rc-ddp-client-4") differs' in out, out
    assert "result.private_key (expected null, got BOB-SECRET: not expected)" in out


@pytest.mark.skipif(shutil.which("node") is None or not (ROOT / "tests/clients/node_modules/.package-lock.json").exists(),
                    reason="needs node and tests/clients/node_modules (make node-clients)")
def test_recordings_regenerate_from_the_real_clients(server: RunningServer, tmp_path: Path) -> None:
    """make_fixtures records every real client afresh; what it writes replays green too."""
    proc = subprocess.run([sys.executable, "-m", "ddp_e2e.replay.make_fixtures", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    written = sorted(tmp_path.iterdir())
    assert {p.stem for p in written} == EXPECTED_CLIENTS
    for path in written:
        result = asyncio.run(replay_recording(read_recording(path),
                                              ReplayOptions(url=server.ws_url, credentials=default_credentials())))
        assert result.ok, f"{path.name}\n{format_result(result)}"
