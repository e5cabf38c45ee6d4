"""Meteor-compatible identifiers.

Meteor's ``Random.id()`` draws 17 characters from a 55-letter alphabet that avoids look-alike
glyphs, and ``Random.secret()`` draws 43 from base64url's alphabet. Clients (and replay
normalisation) recognise ids by that shape, so we generate the same shapes. The generator is an
object that can be seeded so a replay can reproduce server ids.
"""

from __future__ import annotations

import random as _random
import secrets
import uuid

UNMISTAKABLE_CHARS = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz"
BASE64_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"


class Random:
    """Id source. Unseeded it uses the OS CSPRNG; seeded it is reproducible (tests, replay)."""

    __slots__ = ("_rng",)

    def __init__(self, seed: int | str | None = None) -> None:
        self._rng: _random.Random | None = None if seed is None else _random.Random(seed)

    @property
    def seeded(self) -> bool:
        return self._rng is not None

    def _choice(self, alphabet: str, n: int) -> str:
        if self._rng is None:
            return "".join(secrets.choice(alphabet) for _ in range(n))
        rng = self._rng
        return "".join(alphabet[rng.randrange(len(alphabet))] for _ in range(n))

    def id(self, n: int = 17) -> str:
        """A Meteor ``Random.id()``: 17 characters of the unmistakable alphabet."""
        return self._choice(UNMISTAKABLE_CHARS, n)

    def secret(self, n: int = 43) -> str:
        """A Meteor ``Random.secret()``: login tokens. Never seeded in production."""
        return self._choice(BASE64_CHARS, n)

    def uuid4(self) -> str:
        if self._rng is None:
            return str(uuid.uuid4())
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def uint32(self) -> int:
        if self._rng is None:
            return secrets.randbits(32)
        return self._rng.getrandbits(32)


def is_meteor_id(value: object) -> bool:
    """True for a string shaped like ``Random.id()`` (used by replay to spot ids)."""
    return (
        isinstance(value, str)
        and len(value) == 17
        and all(c in UNMISTAKABLE_CHARS for c in value)
    )
