"""Mock-server mode: a live client answered from a recording, matched on normalised content."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request
from typing import Any

import pytest

from ddp_e2e.client.ddp import DDPClient
from ddp_e2e.ddp.errors import MeteorError
from ddp_e2e.replay.convert import read_recording
from ddp_e2e.replay.mockserver import NO_MATCH, MockServer, MockSession
from tests.conftest import ROOT

RECORDING = ROOT / "fixtures" / "recordings" / "rc-ddp-client.jsonl"
PAYLOAD = {"text": "héllo \u2028 wörld", "n": [0, -1, 2.5], "ok": True, "none": None}


def _session() -> MockSession:
    return MockSession(read_recording(RECORDING).connections[0])


def test_session_matches_on_content_and_rewrites_ids() -> None:
    session = _session()
    assert session.greeting() == []  # the recorded server_id came after the client's connect
    answers = session.receive('{"msg":"connect","version":"1","support":["1"]}')
    assert [json.loads(t).get("msg") for _, t in answers] == [None, "connected"]
    assert answers[0][1] == '{"server_id":"0"}'  # recorded frames go out byte for byte
    login = {"msg": "method", "id": "42", "method": "login",
             "params": [{"user": {"username": "alice"}, "password": {"digest": "f" * 64, "algorithm": "sha-256"}}]}
    answers = [json.loads(t) for _, t in session.receive(json.dumps(login))]
    assert {"msg": "updated", "methods": ["42"]} in answers
    result = next(a for a in answers if a["msg"] == "result")
    assert result["id"] == "42" and result["result"]["id"] == "u-alice"
    assert all(delay >= 0 for delay, _ in session.receive(json.dumps({**login, "id": "43"})))


def test_session_answers_what_it_cannot_match_and_pings() -> None:
    session = _session()
    other = session.receive(json.dumps({"msg": "method", "id": "9", "method": "ddp-e2e.echo", "params": ["not recorded"]}))
    result, updated = (json.loads(t) for _, t in other)
    assert result["error"]["error"] == NO_MATCH and updated == {"msg": "updated", "methods": ["9"]}
    (nosub,) = (json.loads(t) for _, t in session.receive('{"msg":"sub","id":"s","name":"nothing","params":[]}'))
    assert nosub["msg"] == "nosub" and nosub["error"]["error"] == NO_MATCH
    assert [t for _, t in session.receive('{"msg":"ping","id":"p"}')] == ['{"msg":"pong","id":"p"}']
    assert session.receive('{"msg":"pong"}') == []
    (bad,) = session.receive("{not json")
    assert json.loads(bad[1])["msg"] == "error"
    assert len(session.unmatched) == 3


async def _client_session(url: str) -> dict[str, Any]:
    async with DDPClient(url) as c:  # the strict reference client: ids "1", "2"... not the recorded ones
        login = await c.login_password("alice", "any password: digests are masked")
        resumed = await c.login_resume(login["token"])
        echo = await c.call("ddp-e2e.echo", PAYLOAD)
        keys = await c.call("e2e.fetchMyKeys")
        sub = await c.subscribe("meteor.loginServiceConfiguration")
        await c.unsubscribe(sub)
        with pytest.raises(MeteorError) as err:
            await c.call("ddp-e2e.echo", "something else")
        return {"login": login, "resumed": resumed, "echo": echo, "keys": keys, "error": err.value.error,
                "violations": list(c.violations)}


@pytest.mark.parametrize("sockjs_path", [False, True])
def test_live_client_against_the_mock(sockjs_path: bool) -> None:
    async def main() -> dict[str, Any]:
        server = MockServer(read_recording(RECORDING))
        await server.start()
        try:
            url = f"ws://{server.host}:{server.port}/sockjs/000/abcdefgh/websocket" if sockjs_path else server.url
            info = await asyncio.to_thread(lambda: urllib.request.urlopen(f"http://{server.host}:{server.port}/sockjs/info", timeout=5).read())
            out = await _client_session(url)
            out["info"] = json.loads(info)
            return out
        finally:
            await server.stop()

    out = asyncio.run(main())
    assert out["login"]["id"] == "u-alice" and out["login"]["token"].startswith("<redacted-token:")
    assert out["resumed"]["type"] == "resume"
    assert out["echo"] == PAYLOAD and out["keys"] == {}
    assert out["error"] == NO_MATCH and out["violations"] == []
    assert out["info"]["websocket"] is True


def test_serve_cli_starts_and_stops() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "ddp_e2e.cli", "replay", str(RECORDING), "--serve", "127.0.0.1:0"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on ws://127.0.0.1:"), line
        out = asyncio.run(_client_session(line.split()[2]))
        assert out["echo"] == PAYLOAD
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert proc.returncode == 0


def test_serve_cli_bad_input() -> None:
    proc = subprocess.run([sys.executable, "-m", "ddp_e2e.cli", "replay", str(ROOT / "nope.jsonl"), "--serve", "127.0.0.1:0"],
                          cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "nope.jsonl" in proc.stderr and "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "ddp_e2e.cli", "replay", str(RECORDING), "--serve", "bad"],
                          cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "HOST:PORT" in proc.stderr
