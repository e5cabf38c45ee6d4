"""Recording: ``serve --record`` (the server's tap), the recording proxy, and the record/convert CLIs."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ddp_e2e.client.ddp import DDPClient
from ddp_e2e.replay.jsonl import read_jsonl
from ddp_e2e.replay.proxy import RecordingProxy, unwrap_for_file, upstream_for_path
from tests.conftest import ROOT, RunningServer, start_server

from .util import SAMPLES

CLI = [sys.executable, "-m", "ddp_e2e.cli"]


@pytest.fixture(scope="module")
def recording_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, Path]]:
    out = tmp_path_factory.mktemp("served")
    srv = start_server("--record", str(out))
    yield srv, out
    srv.stop()


async def _session(url: str) -> dict[str, Any]:
    async with DDPClient(url) as c:
        login = await c.login_password("alice", "alice-pass")
        echo = await c.call("ddp-e2e.echo", {"k": [1, "two"]})
        await c.subscribe("meteor.loginServiceConfiguration")
        return {"login": login, "echo": echo}


def _frames(path: Path) -> list[dict[str, Any]]:
    return [json.loads(f.text) for f in read_jsonl(path).connections[0].frames]


def test_serve_record_writes_one_redacted_file_per_connection(recording_server: tuple[RunningServer, Path]) -> None:
    srv, out = recording_server
    before = set(out.glob("*.jsonl"))
    asyncio.run(_session(srv.ws_url))
    asyncio.run(_session(srv.sockjs_url()))
    files = sorted(set(out.glob("*.jsonl")) - before)
    assert len(files) == 2
    raw, framed = (read_jsonl(f) for f in files)
    assert raw.header["server"] and raw.header["redacted"] is True
    assert raw.header["endpoint"].endswith("/websocket") and raw.header["transport"] == "raw"
    assert framed.header["transport"] == "sockjs"
    assert "E2E_Enable" in raw.header["settings"] and raw.header["started_at"].endswith("Z")
    for path in files:
        frames = _frames(path)
        text = path.read_text()
        assert [f["msg"] for f in frames if f.get("msg") in ("connect", "connected")] == ["connect", "connected"]
        login = next(f for f in frames if f.get("method") == "login")
        assert login["params"][0]["password"]["digest"] == "<redacted>"
        result = next(f for f in frames if f.get("msg") == "result" and f.get("id") == login["id"])
        assert result["result"]["token"].startswith("<redacted-token:")
        assert "alice-pass" not in text and '"a["' not in text  # SockJS framing removed
        times = [f.t_ms for f in read_jsonl(path).connections[0].frames]
        assert times == sorted(times)


def test_record_secrets_keeps_the_digest(tmp_path: Path) -> None:
    srv = start_server("--record", str(tmp_path), "--record-secrets")
    try:
        result = asyncio.run(_session(srv.ws_url))
    finally:
        srv.stop()
    (path,) = tmp_path.glob("*.jsonl")
    assert read_jsonl(path).header["redacted"] is False
    assert result["login"]["token"] in path.read_text()


@pytest.mark.parametrize("sockjs_path", [False, True])
def test_proxy_bridges_and_records(tmp_path: Path, recording_server: tuple[RunningServer, Path], sockjs_path: bool) -> None:
    srv, _ = recording_server

    async def main() -> tuple[dict[str, Any], RecordingProxy]:
        proxy = RecordingProxy(srv.ws_url, tmp_path)
        await proxy.start()
        try:
            url = f"ws://{proxy.host}:{proxy.port}/sockjs/321/zyxwvuts/websocket" if sockjs_path else proxy.url
            return await _session(url), proxy
        finally:
            await proxy.stop()

    result, proxy = asyncio.run(main())
    assert result["echo"] == {"k": [1, "two"]}
    (path,) = proxy.files
    recording = read_jsonl(path)
    assert recording.header["transport"] == ("sockjs" if sockjs_path else "raw")
    assert recording.header["endpoint"].endswith("/sockjs/321/zyxwvuts/websocket" if sockjs_path else "/websocket")
    frames = _frames(path)
    assert {"msg": "updated", "methods": ["2"]} in frames
    assert any(f.get("msg") == "result" and f.get("result") == {"k": [1, "two"]} for f in frames)
    assert "alice-pass" not in path.read_text() and result["login"]["token"] not in path.read_text()


def test_proxy_forwards_sockjs_info_and_reports_a_dead_upstream(tmp_path: Path, recording_server: tuple[RunningServer, Path]) -> None:
    srv, _ = recording_server

    async def main() -> tuple[Any, ...]:
        live = RecordingProxy(srv.ws_url, tmp_path / "live")
        dead = RecordingProxy("ws://127.0.0.1:9/websocket", tmp_path / "dead")
        await live.start()
        await dead.start()
        try:
            info = await asyncio.to_thread(_get, f"http://{live.host}:{live.port}/sockjs/info")
            dead_info = await asyncio.to_thread(_get, f"http://{dead.host}:{dead.port}/sockjs/info")
            other = await asyncio.to_thread(_get, f"http://{live.host}:{live.port}/api/v1/info")
            client = DDPClient(dead.url, timeout=5)
            await client.open_socket()
            closed = await client.wait_closed()
            return info, dead_info, other, closed, dead.files
        finally:
            await live.stop()
            await dead.stop()

    info, dead_info, other, closed, files = asyncio.run(main())
    assert info[0] == 200 and json.loads(info[1])["websocket"] is True
    assert dead_info[0] == 502 and "unreachable" in dead_info[1]
    assert other[0] == 404
    assert closed.code == 1011 and files == []


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_url_mapping_and_unwrapping() -> None:
    assert upstream_for_path("wss://chat.example/websocket", "/websocket") == "wss://chat.example/websocket"
    assert upstream_for_path("wss://chat.example/websocket", "/sockjs/1/ab/websocket") == "wss://chat.example/sockjs/1/ab/websocket"
    assert upstream_for_path("ws://h:1/pre/websocket", "/sockjs/1/ab/websocket?x=1") == "ws://h:1/pre/sockjs/1/ab/websocket?x=1"
    assert upstream_for_path("ws://h:1/pre/websocket", "/sockjs/info") == "ws://h:1/pre/sockjs/info"
    assert unwrap_for_file("out", 'a["{\\"msg\\":\\"ping\\"}","{}"]', True) == ['{"msg":"ping"}', "{}"]
    assert unwrap_for_file("out", "o", True) == [] and unwrap_for_file("out", "h", True) == []
    assert unwrap_for_file("in", '["{\\"msg\\":\\"ping\\"}"]', True) == ['{"msg":"ping"}']
    assert unwrap_for_file("in", "not sockjs", True) == ["not sockjs"]  # kept as it went over the wire
    assert unwrap_for_file("in", "x", False) == ["x"]
    with pytest.raises(ValueError, match="ws:// or wss://"):
        RecordingProxy("http://example.org/websocket", ".")


def test_record_cli(tmp_path: Path, recording_server: tuple[RunningServer, Path]) -> None:
    srv, _ = recording_server
    proc = subprocess.Popen([*CLI, "record", "--listen", "127.0.0.1:0", "--upstream", srv.ws_url, "--out", str(tmp_path)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on ws://127.0.0.1:"), line
        url = line.split()[2]
        assert asyncio.run(_session(url))["echo"] == {"k": [1, "two"]}
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "recorded 1 connection" in out
    assert len(list(tmp_path.glob("*.jsonl"))) == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--upstream", "http://x/websocket", "--out", "o"], "ws:// or wss://"),
    (["--listen", "nohost", "--upstream", "ws://x/websocket", "--out", "o"], "HOST:PORT"),
    (["--listen", "127.0.0.1:99999", "--upstream", "ws://x/websocket", "--out", "o"], "out of range"),
])
def test_record_cli_bad_options(tmp_path: Path, args: list[str], message: str) -> None:
    proc = subprocess.run([*CLI, "record", *args], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(("sample", "where"), [
    ("broken-truncated.jsonl", "line"),
    ("broken-frame-not-json.jsonl", "line"),
    ("broken-no-header.jsonl", "line 1"),
    ("broken-truncated.har", "not JSON"),
    ("broken-no-websocket.har", "no WebSocket entries"),
    ("broken-frame-not-json.har", "entry"),
    ("broken-binary.har", "binary frame"),
    ("broken-sockjs.har", "SockJS"),
    ("broken-analyzer.log", "line"),
])
def test_convert_cli_bad_input_names_the_place(tmp_path: Path, sample: str, where: str) -> None:
    proc = subprocess.run([*CLI, "convert", str(SAMPLES / sample), str(tmp_path / "out.jsonl")],
                          cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2, proc.stdout
    assert sample in proc.stderr and where in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_convert_cli_good_input(tmp_path: Path) -> None:
    proc = subprocess.run([*CLI, "convert", str(SAMPLES / "analyzer.log"), str(tmp_path / "dir")],
                          cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    written = [Path(p) for p in proc.stdout.split()]
    assert written and all(p.exists() and read_jsonl(p).connections[0].frames for p in written)
    missing = subprocess.run([*CLI, "convert", str(tmp_path / "nope.har"), str(tmp_path / "x.jsonl")],
                             cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert missing.returncode == 2 and "nope.har" in missing.stderr and "Traceback" not in missing.stderr
