"""DDP-Analyzer logs, kind detection, directory reading and conversion to JSONL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ddp_e2e.replay.analyzer import read_analyzer
from ddp_e2e.replay.convert import convert, detect_kind, read_recording
from ddp_e2e.replay.errors import RecordingError
from ddp_e2e.replay.jsonl import read_jsonl

from .util import SAMPLES


def test_analyzer_sample_per_client_with_directions_and_times() -> None:
    rec = read_analyzer(SAMPLES / "analyzer.log")
    one, two = rec.connections
    assert (one.name, two.name) == ("client-1", "client-2")
    # the analyzer names arrows from the browser's side: OUT = client -> server = our "in"
    assert [(f.dir, json.loads(f.text)["msg"]) for f in one.frames] == [
        ("in", "connect"),
        ("out", "connected"),
        ("in", "sub"),
        ("out", "ready"),
        ("in", "ping"),
        ("out", "pong"),
    ]
    # gaps are ms since the previous message of the same client, in either direction
    assert [f.t_ms for f in one.frames] == [0, 4, 14, 21, 1021, 1023]
    # the terminal (ANSI coloured) form of client 2 reads the same
    assert [f.dir for f in two.frames] == ["in", "out"]
    assert two.frames[1].text == '{"msg":"connected","session":"An4lyzerSess2onCD"}'
    assert [f.t_ms for f in two.frames] == [0, 3]


def test_analyzer_bracket_form(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_text(
        '[7] OUT 0 {"msg":"connect","version":"1","support":["1"]}\n[7] IN 2.5 {"msg":"connected","session":"x"}\n'
    )
    conn = read_analyzer(path).connections[0]
    assert conn.name == "client-7"
    assert [f.t_ms for f in conn.frames] == [0, 2.5]


@pytest.mark.parametrize(
    ("text", "location", "reason"),
    [
        ('1 OUT 0 {"msg":"connect"}\n1 IN 3 {"msg":\n', "line 2", "not JSON"),
        ('1 OUT 0 {"msg":"connect"}\nsomething else happened\n', "line 2", "not a DDP-Analyzer line"),
        ('1 SIDEWAYS 0 {"msg":"connect"}\n', "line 1", "not a DDP-Analyzer line"),
        ('1 OUT 0 "just a string"\n', "line 1", "not a JSON object"),
        ("\nDDP Proxy Started on port: 3030\n\n", "", "no DDP-Analyzer lines"),
    ],
)
def test_bad_analyzer_logs(tmp_path: Path, text: str, location: str, reason: str) -> None:
    path = tmp_path / "bad.log"
    path.write_text(text)
    with pytest.raises(RecordingError) as info:
        read_analyzer(path)
    assert info.value.location == location
    assert reason in info.value.reason


def test_broken_analyzer_sample() -> None:
    with pytest.raises(RecordingError, match=r"broken-analyzer\.log: line 12: frame is not JSON"):
        read_analyzer(SAMPLES / "broken-analyzer.log")


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("session.jsonl", "jsonl"),
        ("browser.har", "har"),
        ("analyzer.log", "analyzer"),
        ("broken-truncated.har", "har"),
        ("broken-no-header.jsonl", "jsonl"),
    ],
)
def test_detect_kind_by_content(name: str, kind: str) -> None:
    assert detect_kind(SAMPLES / name) == kind


def test_detect_kind_ignores_extension(tmp_path: Path) -> None:
    misnamed = tmp_path / "capture.txt"
    misnamed.write_bytes((SAMPLES / "browser.har").read_bytes())
    assert detect_kind(misnamed) == "har"
    unknown = tmp_path / "notes.txt"
    unknown.write_text("hello\nworld\n")
    with pytest.raises(RecordingError, match="not a recording this tool knows"):
        detect_kind(unknown)
    empty = tmp_path / "empty.har"
    empty.write_text("\n\n")
    with pytest.raises(RecordingError, match="empty file"):
        detect_kind(empty)


def test_convert_har_to_directory_redacts_by_default(tmp_path: Path) -> None:
    written = convert(SAMPLES / "browser.har", tmp_path / "out")
    assert [p.name for p in written] == ["browser-1.jsonl", "browser-2.jsonl"]
    first = read_jsonl(written[0])
    assert first.header["redacted"] is True
    assert first.header["endpoint"] == "ws://127.0.0.1:3000/websocket"
    assert "(entry-2)" in first.header["source"]
    texts = [f.text for f in first.connections[0].frames]
    assert not any("Zx9_real-looking-resume-token" in t for t in texts), "resume token redacted"
    original = read_recording(SAMPLES / "browser.har").connections[0].frames
    assert [f.t_ms for f in first.connections[0].frames] == [f.t_ms for f in original]
    assert texts[0] == original[0].text, "frames without secrets unchanged"
    second = read_jsonl(written[1]).connections[0].frames
    assert second == read_recording(SAMPLES / "browser.har").connections[1].frames


def test_convert_without_redaction_and_to_a_single_file(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="2 connections; give a directory"):
        convert(SAMPLES / "browser.har", tmp_path / "one.jsonl")
    assert not (tmp_path / "one.jsonl").exists()
    (out,) = convert(SAMPLES / "session.jsonl", tmp_path / "copy.jsonl", redact=False)
    assert (
        read_jsonl(out).connections[0].frames == read_jsonl(SAMPLES / "session.jsonl").connections[0].frames
    )
    assert read_jsonl(out).header["redacted"] is True, "an already redacted source stays marked redacted"


def test_convert_analyzer_and_read_directory(tmp_path: Path) -> None:
    written = convert(SAMPLES / "analyzer.log", tmp_path / "rec")
    assert len(written) == 2
    rec = read_recording(tmp_path / "rec")
    assert [len(c.frames) for c in rec.connections] == [6, 2]
    assert rec.connections[0].header["transport"] == "sockjs"
    assert rec.header["source"] == str(tmp_path / "rec")


def test_convert_broken_input_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="binary frame"):
        convert(SAMPLES / "broken-binary.har", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    with pytest.raises(RecordingError, match=r"no \.jsonl"):
        read_recording(empty_dir)
