"""The JSONL recording format: reading, writing, incremental writer, bad input."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from ddp_e2e.replay.errors import RecordingError
from ddp_e2e.replay.jsonl import JsonlWriter, read_jsonl, write_jsonl
from ddp_e2e.replay.model import Frame

from .util import SAMPLES, dumps

HEADER = {"server": "7.13.0", "endpoint": "ws://x/websocket", "settings": {"E2E_Enable": True}}


def test_sample_reads_with_header_and_frames() -> None:
    rec = read_jsonl(SAMPLES / "session.jsonl")
    assert rec.header["server"] == "7.13.0"
    assert rec.header["settings"] == {"E2E_Enable": True}
    assert rec.header["redacted"] is True
    assert "type" not in rec.header and "format" not in rec.header
    (conn,) = rec.connections
    assert conn.name == "session"
    assert len(conn.frames) == 20
    assert conn.frames[0] == Frame(0.0, "in", '{"msg":"connect","version":"1","support":["1","pre2","pre1"]}')
    assert conn.frames[1].dir == "out"
    assert [f.t_ms for f in conn.frames] == sorted(f.t_ms for f in conn.frames)


def test_round_trip_keeps_raw_text_byte_for_byte(tmp_path: Path) -> None:
    # Odd spacing, key order, unicode, escapes and markup must all survive unchanged.
    texts = [
        '{"msg":"method", "id":"1","method":"x","params":["é ☃ 😀","\\u2028",{"b":1,"a":2}]}',
        '{"msg":"result","id":"1","result":"<script>alert(1)</script>"}',
        '{ "msg" : "updated" , "methods" : [ "1" ] }',
    ]
    frames = [Frame(0.0, "in", texts[0]), Frame(1.25, "out", texts[1]), Frame(1.25, "out", texts[2])]
    path = write_jsonl(tmp_path / "a.jsonl", HEADER, frames, redact=False)
    rec = read_jsonl(path)
    assert [f.text for f in rec.connections[0].frames] == texts
    assert rec.connections[0].frames[1].t_ms == 1.25
    assert rec.header["redacted"] is False
    assert rec.header["endpoint"] == "ws://x/websocket"


def test_writer_is_incremental_and_redacts_by_default(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "conn.jsonl"
    writer = JsonlWriter(path, HEADER)
    login = {
        "msg": "method",
        "id": "1",
        "method": "login",
        "params": [{"user": {"username": "alice"}, "password": {"digest": "abc123", "algorithm": "sha-256"}}],
    }
    writer.write_frame(0, "in", dumps(login))
    writer.flush()
    lines = path.read_text().splitlines()
    assert len(lines) == 2, "header and first frame are on disk before close"
    header = json.loads(lines[0])
    assert header["type"] == "header" and header["format"] == "ddp-e2e-recording" and header["version"] == 1
    assert header["redacted"] is True
    assert list(header)[:3] == ["type", "format", "version"]
    writer.write_frame(3.5, "out", '{"msg":"result","id":"1","result":{"id":"u1","token":"T0k3n"}}')
    writer.close()
    assert writer.closed
    frames = read_jsonl(path).connections[0].frames
    assert "abc123" not in frames[0].text and '"algorithm":"sha-256"' in frames[0].text
    assert "T0k3n" not in frames[1].text
    assert writer.frames_written == 2


def test_writer_without_redaction_keeps_secrets_and_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING),
        JsonlWriter(tmp_path / "lab.jsonl", HEADER, redact=False) as writer,
    ):
        writer.write_frame(0, "out", '{"msg":"result","id":"1","result":{"token":"T0k3n"}}')
        writer.write_frame(1, "out", '{"msg":"result","id":"2","result":{"token":"again"}}')
    frames = read_jsonl(tmp_path / "lab.jsonl").connections[0].frames
    assert "T0k3n" in frames[0].text
    warnings = [r for r in caplog.records if r.getMessage() == "recording keeps secrets"]
    assert len(warnings) == 1, "warned once, not per frame"


def test_writer_rejects_bad_arguments(tmp_path: Path) -> None:
    writer = JsonlWriter(tmp_path / "w.jsonl", HEADER)
    with pytest.raises(ValueError, match="direction"):
        writer.write_frame(0, "up", "{}")
    with pytest.raises(ValueError, match="t_ms"):
        writer.write_frame(float("nan"), "in", "{}")
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.write_frame(0, "in", "{}")


def _write(tmp_path: Path, lines: list[str], name: str = "bad.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD_HEADER = dumps({"type": "header", "format": "ddp-e2e-recording", "version": 1})


@pytest.mark.parametrize(
    ("lines", "location", "reason"),
    [
        ([GOOD_HEADER, '{"t":0,"dir":"in","frame":"{}"}', '{"t":1,"dir":"out","fra'], "line 3", "truncated"),
        (['{"t":0,"dir":"in","frame":"{}"}'], "line 1", "header"),
        ([dumps({"type": "header", "format": "other", "version": 1})], "line 1", "header"),
        ([dumps({"type": "header", "format": "ddp-e2e-recording", "version": 2})], "line 1", "newer"),
        ([dumps({"type": "header", "format": "ddp-e2e-recording"})], "line 1", "version"),
        (
            [dumps({"type": "header", "format": "ddp-e2e-recording", "version": 1, "settings": [1]})],
            "line 1",
            "settings",
        ),
        ([GOOD_HEADER, '{"t":0,"dir":"sideways","frame":"{}"}'], "line 2", "'dir'"),
        ([GOOD_HEADER, '{"t":"soon","dir":"in","frame":"{}"}'], "line 2", "'t'"),
        ([GOOD_HEADER, '{"t":-1,"dir":"in","frame":"{}"}'], "line 2", "'t'"),
        ([GOOD_HEADER, '{"t":true,"dir":"in","frame":"{}"}'], "line 2", "'t'"),
        ([GOOD_HEADER, '{"t":0,"dir":"in","frame":{"msg":"ping"}}'], "line 2", "'frame'"),
        ([GOOD_HEADER, '{"t":0,"dir":"in","frame":"ping"}'], "line 2", "not JSON"),
        ([GOOD_HEADER, '{"t":0,"dir":"in","frame":"[1,2]"}'], "line 2", "not a JSON object"),
        ([GOOD_HEADER, "[1,2]"], "line 2", "not a JSON object"),
        (
            [GOOD_HEADER, '{"t":5,"dir":"in","frame":"{}"}', '{"t":4,"dir":"out","frame":"{}"}'],
            "line 3",
            "backwards",
        ),
    ],
)
def test_bad_jsonl_names_the_line(tmp_path: Path, lines: list[str], location: str, reason: str) -> None:
    path = _write(tmp_path, lines)
    with pytest.raises(RecordingError) as info:
        read_jsonl(path)
    err = info.value
    assert err.location == location
    assert reason in err.reason
    assert str(err).startswith(f"{path}: {location}: ")


def test_blank_lines_are_skipped_and_line_numbers_stay_true(tmp_path: Path) -> None:
    path = _write(
        tmp_path, [GOOD_HEADER, "", '{"t":0,"dir":"in","frame":"{}"}', "", '{"t":1,"dir":"in","frame":"x"}']
    )
    with pytest.raises(RecordingError, match="line 5"):
        read_jsonl(path)


def test_unknown_keys_are_ignored_for_forward_compatibility(tmp_path: Path) -> None:
    head = dumps({"type": "header", "format": "ddp-e2e-recording", "version": 1, "future": {"x": 1}})
    path = _write(tmp_path, [head, '{"t":0,"dir":"in","frame":"{}","conn":7}'])
    rec = read_jsonl(path)
    assert rec.header["future"] == {"x": 1}
    assert rec.connections[0].frames == [Frame(0.0, "in", "{}")]


@pytest.mark.parametrize(
    "name", ["broken-truncated.jsonl", "broken-no-header.jsonl", "broken-frame-not-json.jsonl"]
)
def test_broken_samples(name: str) -> None:
    with pytest.raises(RecordingError) as info:
        read_jsonl(SAMPLES / name)
    assert info.value.location.startswith("line ")
    assert name in str(info.value)


def test_empty_missing_and_binary_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(RecordingError, match="empty file"):
        read_jsonl(empty)
    with pytest.raises(RecordingError, match="cannot read"):
        read_jsonl(tmp_path / "nope.jsonl")
    binary = tmp_path / "bin.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(RecordingError, match="not UTF-8"):
        read_jsonl(binary)
