"""Fixed-window rate limiting, Meteor's DDPRateLimiter semantics (spec ddp-protocol.md §8.1).

A request is rejected when the count in the current window (including itself) exceeds the
allowance; the answer is how long until the window resets, which becomes ``timeToReset``.
"""

from __future__ import annotations


class FixedWindowLimiter:
    """``allowed`` hits per ``interval`` seconds, counted per key (a connection, a user, ...)."""

    __slots__ = ("_windows", "allowed", "interval")

    def __init__(self, allowed: int, interval: float) -> None:
        self.allowed = allowed
        self.interval = interval
        self._windows: dict[str, tuple[float, int]] = {}

    def hit(self, key: str, now: float) -> float | None:
        """Count one request; ``None`` if allowed, else the seconds until the window resets."""
        start, count = self._windows.get(key, (now, 0))
        if now - start >= self.interval:
            start, count = now, 0
        count += 1
        self._windows[key] = (start, count)
        if len(self._windows) > 10_000:  # bounded memory: drop windows that have expired
            self._windows = {k: v for k, v in self._windows.items() if now - v[0] < self.interval}
        if count > self.allowed:
            return self.interval - (now - start)
        return None

    def blocked(self, key: str, now: float) -> float | None:
        """Without counting: seconds until ``key`` may try again, or None when it may now."""
        start, count = self._windows.get(key, (now, 0))
        if now - start >= self.interval or count < self.allowed:
            return None
        return self.interval - (now - start)
