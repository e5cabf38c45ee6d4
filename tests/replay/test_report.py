"""The HTML report: well-formed, self-contained, escaped, mismatches linked from the summary."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from ddp_e2e.replay.compare import compare_connections
from ddp_e2e.replay.jsonl import read_jsonl
from ddp_e2e.replay.report import ConnectionReport, render_html_report, write_html_report

from .util import SAMPLES, f_in, f_out

FRAMES = read_jsonl(SAMPLES / "session.jsonl").connections[0].frames
EVIL = "</pre><script>alert('x')</script><b onload=\"y\">&amp;"


def _parse(text: str) -> ET.Element:
    # a strict XML parser: any unescaped '<' or '&' from a frame, or an unclosed tag, fails here
    return ET.fromstring(text.replace("<!DOCTYPE html>", "", 1))


def _broken_run() -> tuple[list, list]:
    expected = [
        f_in({"msg": "method", "id": "1", "method": "x", "params": [EVIL]}),
        f_out({"msg": "result", "id": "1", "result": EVIL}),
        f_out({"msg": "updated", "methods": ["1"]}),
    ]
    actual = [expected[0], f_out({"msg": "result", "id": "1", "result": EVIL + "!"})]
    return expected, actual


def test_report_is_well_formed_and_escapes_frames(tmp_path: Path) -> None:
    expected, actual = _broken_run()
    diffs = compare_connections(expected, actual)
    path = write_html_report(
        tmp_path / "r" / "report.html",
        [ConnectionReport("conn <1>", expected, actual, diffs)],
        header={"endpoint": "ws://h/<websocket>", "settings": {"E2E_Enable": True}},
    )
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    root = _parse(text)
    assert root.tag == "html"
    assert "<script" not in text.lower(), "no script element, not even one smuggled in a frame"
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text
    assert "conn &lt;1&gt;" in text and "ws://h/&lt;websocket&gt;" in text
    assert not re.search(r"(src|href)=\"https?:", text), "no external assets"
    # the frame text survives escaping: the parsed document shows it verbatim
    pres = ["".join(p.itertext()) for p in root.iter("pre")]
    assert expected[1].text in pres


def test_mismatches_are_highlighted_and_linked_both_ways() -> None:
    expected, actual = _broken_run()
    diffs = compare_connections(expected, actual)
    assert [d.kind for d in diffs] == ["changed", "missing"]
    root = _parse(render_html_report([ConnectionReport("c", expected, actual, diffs)]))
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    links = [el.get("href") for el in root.iter("a") if el.get("href")]
    assert all(link[1:] in ids for link in links), "every link has a target"
    assert {"#c0-e1", "#c0-a1", "#c0-e2", "#c0-d0", "#c0-d1"} <= set(links)
    bad = [el.get("id") for el in root.iter("div") if "bad" in (el.get("class") or "").split()]
    assert sorted(bad) == ["c0-a1", "c0-e1", "c0-e2"]
    status = next(el for el in root.iter("span") if "status" in (el.get("class") or ""))
    assert status.text == "FAIL"


def test_passing_report_and_side_by_side_layout() -> None:
    text = render_html_report([ConnectionReport("session", FRAMES, FRAMES, [])], title="Replay <ok>")
    root = _parse(text)
    assert next(el for el in root.iter("span") if "status" in (el.get("class") or "")).text == "PASS"
    assert "<title>Replay &lt;ok&gt;</title>" in text
    frames = [el for el in root.iter("div") if (el.get("class") or "").startswith("frame")]
    assert len(frames) == 2 * len(FRAMES), "every frame of both sides is shown, pings included"
    table = next(el for el in root.iter("table") if el.get("class") == "timeline")
    client_rows = [
        r for r in table.iter("tr") if [td.get("class") for td in r.findall("td")] == ["client", "client"]
    ]
    assert len(client_rows) == sum(1 for f in FRAMES if f.dir == "in"), "each client frame gets its own row"
    headers = ["".join(th.itertext()) for th in table.iter("th")]
    assert headers == ["expected (recorded)", "actual (live)"]


def test_uneven_sides_still_render() -> None:
    expected = FRAMES
    actual = FRAMES[:3]
    diffs = compare_connections(expected, actual)
    root = _parse(
        render_html_report(
            [ConnectionReport("short", expected, actual, diffs), ConnectionReport("", [], [], [])]
        )
    )
    assert any("connection 2" in "".join(el.itertext()) for el in root.iter("h2"))
