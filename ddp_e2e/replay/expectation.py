"""What the server under test owes the replayer so far, counted from recorded server frames."""

from __future__ import annotations

from collections import Counter

import orjson

from .model import Frame
from .normalize import NormalizeOptions, Normalizer

_KEYED_SINGLE = frozenset({"result", "nosub"})


class Expectation:
    """What the server owes so far: keyed answers by (msg, id) and a count of loose messages."""

    def __init__(self, options: NormalizeOptions) -> None:
        self._dropper = Normalizer(options)
        self.keys: Counter[tuple[str, str]] = Counter()
        self.loose = 0

    def add(self, frames: list[Frame]) -> None:
        for frame in frames:
            keys, loose = self._classify(frame.text)
            self.keys.update(keys)
            self.loose += loose

    def _classify(self, text: str) -> tuple[list[tuple[str, str]], int]:
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError:
            return [], 1
        if not isinstance(obj, dict) or self._dropper.dropped(obj):
            return [], 0
        msg = obj.get("msg")
        if msg in _KEYED_SINGLE and isinstance(obj.get("id"), str):
            return [(msg, obj["id"])], 0
        if msg in ("updated", "ready"):
            ids = obj.get("methods" if msg == "updated" else "subs")
            return [(msg, i) for i in ids if isinstance(i, str)] if isinstance(ids, list) else [], 0
        if msg in ("connected", "failed"):
            return [("connected", "")], 0
        return [], 1

    def unmet(self, got: Expectation) -> list[str]:
        missing = [f"{m} id={i!r}" if i else m for (m, i), n in self.keys.items() if got.keys[(m, i)] < n]
        if got.loose < self.loose:
            missing.append(f"{self.loose - got.loose} data message(s) or stream event(s)")
        return missing

    def give_up(self, got: Expectation) -> None:
        """Stop waiting for what did not come, so later frames do not wait for it again."""
        for key in list(self.keys):
            self.keys[key] = min(self.keys[key], got.keys[key])
        self.loose = min(self.loose, got.loose)
