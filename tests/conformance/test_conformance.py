"""The conformance suite against our own server: all green, JUnit written; broken variants fail it."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from ddp_e2e.conformance import DEFAULT_SCENARIOS, load_scenarios
from tests.conftest import ROOT, RunningServer, server_fixture, start_server

CLI = [sys.executable, "-m", "ddp_e2e.cli", "conformance"]


# Short heartbeats so the heartbeat scenarios take a second, not a minute.
server = server_fixture("--heartbeat-interval", "0.3", "--heartbeat-timeout", "0.3")


def _run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_whole_suite_passes_against_our_server(server: RunningServer, tmp_path: Path) -> None:
    junit = tmp_path / "conformance.xml"
    proc = _run("--url", server.ws_url, "--heartbeat-wait", "3", "--junit", str(junit))
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    scenarios = load_scenarios(DEFAULT_SCENARIOS)
    assert f"{len(scenarios)}/{len(scenarios)} scenarios passed" in proc.stdout
    root = ET.parse(junit).getroot()
    assert root.get("tests") == str(len(scenarios)) and root.get("failures") == "0" and root.get("errors") == "0"
    suites = {s.get("name") for s in root.iter("testsuite")}
    assert suites == {"ddp-core", "login", "streams", "e2e-current", "e2e-founding"}


def test_suite_covers_the_contract() -> None:
    ids = {s.id for s in load_scenarios(DEFAULT_SCENARIOS)}
    for needed in ("ddp-core/bad-request-not-json", "ddp-core/parse-error-ejson", "ddp-core/bad-request-without-msg",
                   "ddp-core/already-connected", "ddp-core/must-connect-first", "ddp-core/connect-malformed-version",
                   "ddp-core/version-negotiation", "ddp-core/unknown-msg", "ddp-core/malformed-subscription",
                   "ddp-core/malformed-method", "ddp-core/unsub-without-id", "ddp-core/server-heartbeat",
                   "ddp-core/merge-box-no-double-added", "login/resume", "login/wrong-password",
                   "streams/notify-user-other-not-allowed", "streams/room-messages-non-member",
                   "e2e-current/private-key-never-returned", "e2e-current/suggested-key-accept",
                   "e2e-founding/keychain"):
        assert needed in ids


def test_suite_is_repeatable_on_the_same_server(server: RunningServer) -> None:
    proc = _run("--url", server.ws_url, "--only", "e2e-*", "--only", "login/*")
    assert proc.returncode == 0, proc.stdout[-4000:]


def test_drop_updated_variant_fails_with_the_frame_named() -> None:
    srv = start_server("--plugin", "tests.replay.broken_drop_updated")
    try:
        proc = _run("--url", srv.ws_url, "--timeout", "1", "--only", "ddp-core/method-not-found", "--only", "login/password-digest")
    finally:
        srv.stop()
    assert proc.returncode == 1, proc.stdout
    assert "FAIL  ddp-core/method-not-found" in proc.stdout
    assert 'nothing matched {"msg":"updated","methods":{"$contains":["m1"]}}' in proc.stdout
    assert "0/2 scenarios passed" in proc.stdout


def test_private_key_leak_variant_fails_with_the_frame_named() -> None:
    srv = start_server("--plugin", "tests.replay.broken_leak_private_key")
    try:
        proc = _run("--url", srv.ws_url, "--only", "e2e-current/private-key-never-returned", "--only", "e2e-founding/keychain")
    finally:
        srv.stop()
    assert proc.returncode == 1, proc.stdout
    assert "FAIL  e2e-current/private-key-never-returned" in proc.stdout
    assert "step 7 (call e2e.fetchMyKeys): result.private_key: expected" in proc.stdout
    assert "-alice-PRIVATE" in proc.stdout and 'in frame {"msg":"result"' in proc.stdout
    assert "FAIL  e2e-founding/keychain" in proc.stdout


def test_server_down_fails_each_scenario_cleanly() -> None:
    proc = _run("--url", "ws://127.0.0.1:9/websocket", "--only", "ddp-core/unknown-msg", "--only", "ddp-core/ping-pong")
    assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr
    assert proc.stdout.count("cannot connect to ws://127.0.0.1:9/websocket") == 2


def test_list_and_selection_options() -> None:
    proc = _run("--url", "ws://unused/websocket", "--only", "login", "--skip", "login/logout", "--list")
    assert proc.returncode == 0
    listed = [line.split()[0] for line in proc.stdout.splitlines()]
    assert listed and all(i.startswith("login/") for i in listed) and "login/logout" not in listed
    assert _run("--url", "ws://x/websocket", "--only", "no-such-thing").returncode == 2
    bad_user = _run("--url", "ws://x/websocket", "--user", "alice")
    assert bad_user.returncode == 2 and "[ROLE=]USERNAME:PASSWORD" in bad_user.stderr
