"""The live replayer (``ddp-e2e replay RECORDING --url``): matches, mismatches, and servers that misbehave."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import websockets

from ddp_e2e.replay.jsonl import read_jsonl, write_jsonl
from ddp_e2e.replay.model import Frame, base_header
from ddp_e2e.replay.runner import ReplayAborted, ReplayOptions, default_credentials, replay_recording
from tests.conftest import ROOT, RunningServer

from .util import SAMPLES, dumps

CLI = [sys.executable, "-m", "ddp_e2e.cli"]
RECORDINGS = ROOT / "fixtures" / "recordings"
CONNECT = {"msg": "connect", "version": "1", "support": ["1", "pre2", "pre1"]}


def _write(path: Path, frames: list[tuple[float, str, Any]]) -> Path:
    return write_jsonl(path, base_header(server="test"), [Frame(t, d, dumps(o)) for t, d, o in frames])


def _echo_session(value: Any, *, user: str = "alice") -> list[tuple[float, str, Any]]:
    return [
        (0, "in", CONNECT),
        (1, "out", {"msg": "connected", "session": "m7bW3yZqKcaE9XvPf"}),
        (2, "in", {"msg": "method", "id": "1", "method": "login",
                   "params": [{"user": {"username": user}, "password": {"digest": "<redacted>", "algorithm": "sha-256"}}]}),
        (3, "out", {"msg": "added", "collection": "users", "id": f"u-{user}",
                    "fields": {"username": user, "emails": [{"address": f"{user}@example.com", "verified": True}],
                               "name": user.capitalize()}}),
        (4, "out", {"msg": "updated", "methods": ["1"]}),
        (5, "out", {"msg": "result", "id": "1", "result": {"id": f"u-{user}", "token": "<redacted-token:0123456789>",
                                                           "tokenExpires": {"$date": 1}, "type": "password"}}),
        (6, "in", {"msg": "method", "id": "2", "method": "ddp-e2e.echo", "params": [{"v": 1}]}),
        (7, "out", {"msg": "updated", "methods": ["2"]}),
        (8, "out", {"msg": "result", "id": "2", "result": value}),
    ]


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "replay", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_matching_recording_passes_with_a_report(server: RunningServer, tmp_path: Path) -> None:
    recording = RECORDINGS / "rc-ddp-client.jsonl"
    proc = _cli(str(recording), "--url", server.ws_url, "--report", str(tmp_path / "r.html"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "all match the recording" in proc.stdout
    html = (tmp_path / "r.html").read_text()
    assert "PASS" in html and "rc-ddp-client" in html


def test_dates_far_from_the_recording_are_reported(server: RunningServer, tmp_path: Path) -> None:
    """Dates compare within a tolerance, absolutely or relative to their frame; 1970 is neither."""
    path = _write(tmp_path / "s.jsonl", _echo_session({"v": 1}))
    # the recorded tokenExpires {"$date": 1} is 90 days away from a live one: that must be reported
    proc = _cli(str(path), "--url", server.ws_url)
    assert proc.returncode == 1
    assert "result.tokenExpires" in proc.stdout and "#5" in proc.stdout


def test_mismatch_names_the_frame_and_exits_1(server: RunningServer, tmp_path: Path) -> None:
    frames = read_jsonl(RECORDINGS / "rc-ddp-client.jsonl").connections[0].frames
    edited = [Frame(f.t_ms, f.dir, f.text.replace('"ok":true', '"ok":false')) if f.dir == "out" else f for f in frames]
    path = write_jsonl(tmp_path / "edited.jsonl", read_jsonl(RECORDINGS / "rc-ddp-client.jsonl").header, edited)
    index = next(i for i, f in enumerate(edited) if '"ok":false' in f.text)
    proc = _cli(str(path), "--url", server.ws_url, "--report", str(tmp_path / "r.html"))
    assert proc.returncode == 1, proc.stdout
    assert "[changed]" in proc.stdout and f"#{index}" in proc.stdout and "result.ok" in proc.stdout
    assert 'result id="rc-ddp-client-3"' in proc.stdout
    assert "FAIL" in (tmp_path / "r.html").read_text()


def test_server_down_is_reported(tmp_path: Path) -> None:
    started = time.monotonic()
    proc = _cli(str(RECORDINGS / "python-ddp.jsonl"), "--url", "ws://127.0.0.1:9/websocket", "--timeout", "2")
    assert proc.returncode == 2 and "cannot connect to ws://127.0.0.1:9/websocket" in proc.stderr
    assert "Traceback" not in proc.stderr and time.monotonic() - started < 30


async def _with_fake_server(behaviour: str, recording: Path, timeout: float) -> Any:
    """A WebSocket server that answers connect, then closes ('close') or goes silent ('silent')."""

    async def handler(ws: Any) -> None:
        async for data in ws:
            msg = json.loads(data)
            if msg.get("msg") == "connect":
                await ws.send(json.dumps({"msg": "connected", "session": "abcdefghijkmnopqr"}))
                if behaviour == "close":
                    await ws.close(1011, "going away")
                    return

    async with websockets.serve(handler, "127.0.0.1", 0) as fake:
        port = next(iter(fake.sockets)).getsockname()[1]
        from ddp_e2e.replay.convert import read_recording

        options = ReplayOptions(url=f"ws://127.0.0.1:{port}/websocket", timeout=timeout, credentials=default_credentials())
        return await replay_recording(read_recording(recording), options)


def test_server_that_closes_early_is_reported() -> None:
    result = asyncio.run(_with_fake_server("close", RECORDINGS / "python-ddp.jsonl", 2.0))
    (conn,) = result.connections
    assert not result.ok
    assert any("server closed the connection (code 1011, 'going away')" in p for p in conn.problems), conn.problems
    assert any(d.kind == "missing" for d in conn.differences)


def test_slow_server_times_out_per_frame_instead_of_hanging() -> None:
    started = time.monotonic()
    result = asyncio.run(_with_fake_server("silent", RECORDINGS / "python-ddp.jsonl", 0.3))
    elapsed = time.monotonic() - started
    (conn,) = result.connections
    assert any("no answer within 0.3 s" in p and "client frame #" in p and "method login" in p for p in conn.problems), conn.problems
    assert elapsed < 10  # each missing answer is waited for once, not once per later frame


def test_missing_credentials_abort_with_a_hint(server: RunningServer, tmp_path: Path) -> None:
    path = _write(tmp_path / "zed.jsonl", _echo_session({"v": 1}, user="zed"))
    proc = _cli(str(path), "--url", server.ws_url)
    assert proc.returncode == 2 and "--credentials zed=PASSWORD" in proc.stderr and "Traceback" not in proc.stderr
    proc = _cli(str(path), "--url", server.ws_url, "--credentials", "zed=zed-pass")
    assert proc.returncode == 1 and "error" in proc.stdout  # zed does not exist: the login answer differs


def test_wrong_credentials_show_as_a_login_difference(server: RunningServer) -> None:
    proc = _cli(str(RECORDINGS / "python-ddp.jsonl"), "--url", server.ws_url, "--credentials", "bob=not-his")
    assert proc.returncode == 1
    assert "error" in proc.stdout and 'result id="1"' in proc.stdout


def test_pace_recorded_keeps_the_gaps(server: RunningServer, tmp_path: Path) -> None:
    frames = [(0, "in", CONNECT), (1, "out", {"msg": "connected", "session": "m7bW3yZqKcaE9XvPf"}),
              (400, "in", {"msg": "method", "id": "1", "method": "ddp-e2e.echo", "params": [1]}),
              (401, "out", {"msg": "updated", "methods": ["1"]}), (402, "out", {"msg": "result", "id": "1", "result": 1})]
    path = _write(tmp_path / "paced.jsonl", frames)
    from ddp_e2e.replay.convert import read_recording

    for pace, check in (("recorded", lambda t: t >= 390), ("fast", lambda t: t < 390)):
        result = asyncio.run(replay_recording(read_recording(path), ReplayOptions(url=server.ws_url, pace=pace)))  # type: ignore[arg-type]
        assert result.ok, result.connections[0].differences
        sent = [f for f in result.connections[0].actual if f.dir == "in" and '"ddp-e2e.echo"' in f.text]
        assert check(sent[0].t_ms), (pace, sent[0].t_ms)


@pytest.mark.parametrize("sample", ["broken-truncated.jsonl", "broken-frame-not-json.har", "broken-no-websocket.har"])
def test_bad_recordings_fail_cleanly(server: RunningServer, sample: str) -> None:
    proc = _cli(str(SAMPLES / sample), "--url", server.ws_url)
    assert proc.returncode == 2 and sample in proc.stderr and "Traceback" not in proc.stderr


def test_bad_options(server: RunningServer) -> None:
    proc = _cli(str(RECORDINGS / "python-ddp.jsonl"), "--url", server.ws_url, "--credentials", "nopassword")
    assert proc.returncode == 2 and "USER=PASSWORD" in proc.stderr
    proc = _cli(str(RECORDINGS / "python-ddp.jsonl"), "--url", server.ws_url, "--timeout", "0")
    assert proc.returncode == 2 and "--timeout" in proc.stderr


def test_default_credentials_read_fixture_users(tmp_path: Path) -> None:
    creds = default_credentials(ROOT / "fixtures" / "demo")
    assert creds["alice"] == "alice-pass" and creds["bob@example.com"] == "bob-pass"
    (tmp_path / "users.json").write_text('[{"username": "zoe", "password": "z", "emails": [{"address": "z@x"}]}]')
    assert default_credentials(tmp_path)["z@x"] == "z"
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(ReplayAborted, match=r"bad\.json"):
        default_credentials(tmp_path / "bad.json")
