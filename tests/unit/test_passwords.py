"""Meteor-compatible password and login-token hashing (spec ddp-protocol.md §5.1)."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import bcrypt
import pytest

from ddp_e2e.services import passwords as pw

# Fast cost for tests; the default (10) is checked once below.
R = 4


def test_sha256_hex_known_vector() -> None:
    assert pw.sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert pw.sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    # UTF-8, not latin-1.
    assert pw.sha256_hex("é") == hashlib.sha256("é".encode()).hexdigest()


def test_hash_plaintext_then_check_with_digest() -> None:
    h = pw.hash_password("alice-pass", is_digest=False, rounds=R)
    assert h.startswith("$2b$04$") and len(h) == 60
    assert pw.check_password(pw.sha256_hex("alice-pass"), h)
    assert not pw.check_password(pw.sha256_hex("alice-pasS"), h)


def test_hash_is_bcrypt_of_the_hex_digest_like_meteor() -> None:
    """Meteor stores bcrypt(sha256hex(pw)): a raw bcrypt check over the hex text must pass."""
    h = pw.hash_password("bob-pass", is_digest=False, rounds=R)
    assert bcrypt.checkpw(pw.sha256_hex("bob-pass").encode(), h.encode())
    assert not bcrypt.checkpw(b"bob-pass", h.encode())


def test_hash_from_digest_equals_hash_from_plaintext_semantics() -> None:
    digest = pw.sha256_hex("carol-pass")
    h = pw.hash_password(digest.upper(), is_digest=True, rounds=R)
    assert pw.check_password(digest, h)
    assert pw.check_password(digest.upper(), h)  # comparison is over the lowercase form


def test_hash_from_meteor_produced_hash_verifies() -> None:
    """A hash made by another bcrypt implementation ($2a$ prefix, as old node-bcrypt wrote)."""
    digest = pw.sha256_hex("dave-pass")
    legacy = bcrypt.hashpw(digest.encode(), bcrypt.gensalt(rounds=R, prefix=b"2a")).decode()
    assert legacy.startswith("$2a$")
    assert pw.check_password(digest, legacy)


def test_default_rounds_is_ten() -> None:
    h = pw.hash_password("x", is_digest=False)
    assert pw.bcrypt_rounds(h) == 10 == pw.DEFAULT_ROUNDS


@pytest.mark.parametrize("bad", ["", "abc", "g" * 64, "a" * 63, "a" * 65])
def test_hash_rejects_bad_digest(bad: str) -> None:
    with pytest.raises(ValueError):
        pw.hash_password(bad, is_digest=True, rounds=R)


@pytest.mark.parametrize("rounds", [3, 32])
def test_hash_rejects_bad_rounds(rounds: int) -> None:
    with pytest.raises(ValueError):
        pw.hash_password("x", is_digest=False, rounds=rounds)


def test_hash_rejects_non_string() -> None:
    with pytest.raises(TypeError):
        pw.hash_password(b"bytes", is_digest=False, rounds=R)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("digest", "stored"),
    [
        ("not-hex", None),
        ("a" * 64, "not a bcrypt hash"),
        ("a" * 64, ""),
        (None, None),
        ("é" * 64, None),
        ("a" * 64, "$2b$04$é"),
    ],
)
def test_check_password_malformed_input_is_false_not_an_error(digest: object, stored: object) -> None:
    if stored is None:
        stored = pw.hash_password("x", is_digest=False, rounds=R)
    assert pw.check_password(digest, stored) is False  # type: ignore[arg-type]


def test_check_password_async_runs_off_loop() -> None:
    h = pw.hash_password("alice-pass", is_digest=False, rounds=R)

    async def main() -> tuple[bool, bool, bool]:
        ok = await pw.check_password_async(pw.sha256_hex("alice-pass"), h)
        bad = await pw.check_password_async(pw.sha256_hex("nope"), h)
        h2 = await pw.hash_password_async("alice-pass", is_digest=False, rounds=R)
        return ok, bad, pw.check_password(pw.sha256_hex("alice-pass"), h2)

    assert asyncio.run(main()) == (True, False, True)


def test_check_password_async_uses_a_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    seen: list[str] = []
    real = bcrypt.checkpw

    def spy(a: bytes, b: bytes) -> bool:
        seen.append(threading.current_thread().name)
        return real(a, b)

    monkeypatch.setattr(pw.bcrypt, "checkpw", spy)
    h = pw.hash_password("p", is_digest=False, rounds=R)
    assert asyncio.run(pw.check_password_async(pw.sha256_hex("p"), h))
    assert seen and seen[0] != threading.main_thread().name


def test_hash_login_token_matches_meteor() -> None:
    # Accounts._hashLoginToken: createHash('sha256').update(token).digest('base64')
    assert pw.hash_login_token("abc") == "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
    token = "Zx9-_" * 8 + "abc"
    out = pw.hash_login_token(token)
    assert len(out) == 44 and out.endswith("=")
    assert base64.b64decode(out) == hashlib.sha256(token.encode()).digest()
    assert pw.hash_login_token(token) != pw.hash_login_token(token + "x")


def test_hash_login_token_rejects_non_string() -> None:
    with pytest.raises(TypeError):
        pw.hash_login_token(None)  # type: ignore[arg-type]


def test_same_token_hash_and_rounds_parsing() -> None:
    assert pw.same_token_hash("abc", "abc")
    assert not pw.same_token_hash("abc", "abd")
    assert pw.bcrypt_rounds("$2b$12$" + "x" * 53) == 12
    assert pw.bcrypt_rounds("garbage") is None
    assert pw.bcrypt_rounds(None) is None  # type: ignore[arg-type]


def test_is_sha256_hex() -> None:
    assert pw.is_sha256_hex("0" * 64)
    assert not pw.is_sha256_hex("A" * 64)
    assert not pw.is_sha256_hex(123)
