"""Helpers shared by the replay tests: sample paths and frame builders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ddp_e2e.replay.model import Frame

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "recordings" / "samples"


def dumps(obj: Any) -> str:
    """Compact JSON like JSON.stringify, the way DDP frames look on the wire."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def f_in(obj: Any, t: float = 0.0) -> Frame:
    return Frame(t, "in", dumps(obj))


def f_out(obj: Any, t: float = 0.0) -> Frame:
    return Frame(t, "out", dumps(obj))


def edit(frames: list[Frame], index: int, change: Any) -> list[Frame]:
    """A copy of ``frames`` where frame ``index`` is parsed, passed to ``change``, re-encoded."""
    out = list(frames)
    obj = json.loads(out[index].text)
    change(obj)
    out[index] = Frame(out[index].t_ms, out[index].dir, dumps(obj))
    return out


def replace_text(frames: list[Frame], pairs: list[tuple[str, str]], *, shift_ms: float = 0.0) -> list[Frame]:
    """A copy with substrings replaced in every frame (to fake a run with other ids)."""
    out = []
    for frame in frames:
        text = frame.text
        for old, new in pairs:
            text = text.replace(old, new)
        out.append(Frame(frame.t_ms + shift_ms, frame.dir, text))
    return out
