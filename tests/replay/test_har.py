"""HAR 1.2 import: raw and SockJS WebSocket entries, and every kind of broken input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ddp_e2e.replay.errors import RecordingError
from ddp_e2e.replay.har import read_har

from .util import SAMPLES, dumps


def test_sample_has_one_connection_per_websocket_entry() -> None:
    rec = read_har(SAMPLES / "browser.har")
    assert [c.name for c in rec.connections] == ["entry-2", "entry-3"], "the XHR entry is not a connection"
    assert rec.header["source"].endswith("browser.har")
    assert rec.header["recorded_by"] == "WebInspector 537.36"
    raw, sock = rec.connections
    assert raw.header["endpoint"] == "ws://127.0.0.1:3000/websocket"
    assert raw.header["transport"] == "raw"
    assert sock.header["transport"] == "sockjs"
    assert sock.header["started_at"] == "2026-01-01T10:00:01.000Z"


def test_raw_entry_frames_times_and_close_skipped() -> None:
    raw = read_har(SAMPLES / "browser.har").connections[0]
    assert [f.dir for f in raw.frames] == ["in", "out", "out", "in", "out", "out"]
    assert raw.frames[1].text == '{"server_id":"0"}', "greeting kept; dropping it is the normaliser's job"
    # times: ms since the upgrade request (startedDateTime), from wall-clock seconds
    assert [round(f.t_ms) for f in raw.frames] == [10, 12, 13, 20, 50, 51]
    assert all(json.loads(f.text) for f in raw.frames)


def test_sockjs_entry_is_unwrapped() -> None:
    sock = read_har(SAMPLES / "browser.har").connections[1]
    msgs = [json.loads(f.text).get("msg") for f in sock.frames]
    # o and h frames dropped; a[...] with two messages split; c[...] close dropped;
    # the client's single-string payload (not an array) unwrapped too
    assert msgs == ["connect", "connected", "sub", "added", "ready", "ping", "pong"]
    assert sock.frames[3].t_ms == sock.frames[4].t_ms, "batched messages share their frame's time"
    assert sock.frames[0].text == '{"msg":"connect","version":"1","support":["1","pre2","pre1"]}'


@pytest.mark.parametrize(
    ("name", "location", "reason"),
    [
        ("broken-truncated.har", "", "truncated"),
        ("broken-no-websocket.har", "", "no WebSocket entries"),
        ("broken-binary.har", "entry 2, message 4", "binary frame (opcode 2)"),
        ("broken-frame-not-json.har", "entry 2, message 5", "frame is not JSON"),
        ("broken-sockjs.har", "entry 3, message 5", "SockJS server frame is not o, h, a[...] or c[...]"),
    ],
)
def test_broken_samples(name: str, location: str, reason: str) -> None:
    with pytest.raises(RecordingError) as info:
        read_har(SAMPLES / name)
    assert info.value.location == location
    assert reason in info.value.reason
    assert str(info.value).startswith(str(SAMPLES / name))


def _har(tmp_path: Path, entries: list[Any]) -> Path:
    path = tmp_path / "x.har"
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}))
    return path


def _ws(messages: Any, url: str = "ws://h/websocket", **extra: Any) -> dict[str, Any]:
    return {
        "request": {"url": url},
        "response": {"status": 101},
        "_resourceType": "websocket",
        "_webSocketMessages": messages,
        **extra,
    }


def _msg(kind: str, data: str, time: float = 1.0, opcode: int = 1) -> dict[str, Any]:
    return {"type": kind, "time": time, "opcode": opcode, "data": data}


@pytest.mark.parametrize(
    ("entries", "location", "reason"),
    [
        ([_ws("nope")], "entry 1", "_webSocketMessages"),
        ([{"request": {"url": "wss://h/websocket"}}], "entry 1", "_webSocketMessages"),
        ([_ws(["x"])], "entry 1, message 1", "not an object"),
        ([_ws([_msg("push", "{}")])], "entry 1, message 1", "'type'"),
        ([_ws([{"type": "send", "time": 1, "opcode": "1", "data": "{}"}])], "entry 1, message 1", "'opcode'"),
        ([_ws([_msg("send", "{}", opcode=5)])], "entry 1, message 1", "unknown opcode"),
        ([_ws([{"type": "send", "time": "now", "opcode": 1, "data": "{}"}])], "entry 1, message 1", "'time'"),
        ([_ws([{"type": "send", "time": 1, "opcode": 1, "data": 5}])], "entry 1, message 1", "'data'"),
        ([_ws([_msg("send", "{}"), _msg("receive", "[1]")])], "entry 1, message 2", "not a JSON object"),
        (
            [_ws([_msg("receive", "o"), _msg("receive", "c[3000]")])],
            "entry 1, message 2",
            "SockJS server frame",
        ),
        (
            [_ws([_msg("receive", "o"), _msg("receive", "a[1,2]")])],
            "entry 1, message 2",
            "SockJS server frame",
        ),
        ([_ws([_msg("receive", "o"), _msg("receive", "x")])], "entry 1, message 2", "not a SockJS frame"),
        (
            [_ws([_msg("receive", "o"), _msg("send", "{}")])],
            "entry 1, message 2",
            "SockJS client payload is not",
        ),
        (
            [_ws([_msg("receive", "o"), _msg("send", '["{}", "nope"]')])],
            "entry 1, message 2, item 2",
            "not JSON",
        ),
    ],
)
def test_bad_entries_name_entry_and_message(
    tmp_path: Path, entries: list[Any], location: str, reason: str
) -> None:
    with pytest.raises(RecordingError) as info:
        read_har(_har(tmp_path, entries))
    assert info.value.location == location
    assert reason in info.value.reason


def test_not_a_har(tmp_path: Path) -> None:
    path = tmp_path / "x.har"
    path.write_text('{"entries": []}')
    with pytest.raises(RecordingError, match=r"no log\.entries"):
        read_har(path)
    path.write_text("[1, 2]")
    with pytest.raises(RecordingError, match=r"no log\.entries"):
        read_har(path)


def test_entry_numbers_count_non_websocket_entries(tmp_path: Path) -> None:
    xhr = {"request": {"url": "http://h/api"}, "response": {"status": 200}}
    path = _har(tmp_path, [xhr, xhr, _ws([_msg("send", "nope")])])
    with pytest.raises(RecordingError, match="entry 3, message 1"):
        read_har(path)


def test_monotonic_times_and_control_frames(tmp_path: Path) -> None:
    # Playwright-style monotonic seconds: only differences count; ping/pong control frames skipped
    messages = [
        _msg("send", dumps({"msg": "connect", "version": "1", "support": ["1"]}), time=12.5),
        _msg("receive", "", time=12.6, opcode=9),
        _msg("receive", dumps({"msg": "connected", "session": "s"}), time=12.75),
    ]
    entry = _ws(messages, url="ws://h/websocket", startedDateTime="2026-02-03T04:05:06.007Z")
    conn = read_har(_har(tmp_path, [entry])).connections[0]
    assert [f.t_ms for f in conn.frames] == [0.0, 250.0]
    assert conn.header["started_at"] == "2026-02-03T04:05:06.007Z"


def test_sockjs_detected_by_url_even_without_open_frame(tmp_path: Path) -> None:
    entry = _ws([_msg("send", '["{\\"msg\\":\\"connect\\"}"]')], url="wss://h/sockjs/001/abcdefgh/websocket")
    conn = read_har(_har(tmp_path, [entry])).connections[0]
    assert conn.frames[0].text == '{"msg":"connect"}'
    assert conn.header["transport"] == "sockjs"


def test_entry_with_no_messages_is_an_empty_connection(tmp_path: Path) -> None:
    conn = read_har(_har(tmp_path, [_ws([])])).connections[0]
    assert conn.frames == []
