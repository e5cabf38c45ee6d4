"""Password and login-token hashing, byte-compatible with Meteor's accounts-password.

Why these exact shapes: a user database seeded by a real Rocket.Chat (or dumped from this server
into one) must keep working. Meteor stores ``services.password.bcrypt`` as
``bcrypt(sha256hex(password))`` (the client sends the lowercase hex SHA-256 digest, never the
plaintext) and stores resume tokens as ``base64(sha256(token))``
(``Accounts._hashLoginToken``). See spec ddp-protocol.md §5.1.

bcrypt is deliberately slow (~50-100 ms at 10 rounds), so the server side goes through
:func:`check_password_async`, which runs it in a worker thread and never stalls the event loop
that serves every other connection.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re

import bcrypt

__all__ = [
    "DEFAULT_ROUNDS",
    "bcrypt_rounds",
    "check_password",
    "check_password_async",
    "hash_login_token",
    "hash_password",
    "hash_password_async",
    "is_sha256_hex",
    "same_token_hash",
    "sha256_hex",
]

#: Meteor's ``Accounts._bcryptRounds()`` default.
DEFAULT_ROUNDS = 10

_HEX64 = re.compile(r"[0-9a-f]{64}")


def sha256_hex(text: str) -> str:
    """Lowercase hex SHA-256 of the UTF-8 text: what Meteor's client sends as ``digest``."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_sha256_hex(value: object) -> bool:
    """True for a 64-character lowercase hex string (the only digest form bcrypt saw at hashing)."""
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def hash_password(password_or_digest: str, *, is_digest: bool, rounds: int = DEFAULT_ROUNDS) -> str:
    """bcrypt hash stored in ``services.password.bcrypt``.

    ``is_digest`` is keyword-only on purpose: confusing a plaintext with a digest produces a hash
    no login can ever match, so the caller must say which one it holds. A digest is lowercased
    first because Meteor compares over the lowercase hex form.
    """
    if not isinstance(password_or_digest, str):
        raise TypeError("password must be a str")
    if is_digest:
        digest = password_or_digest.lower()
        if not is_sha256_hex(digest):
            raise ValueError("digest must be 64 hex characters (sha-256)")
    else:
        digest = sha256_hex(password_or_digest)
    if not 4 <= rounds <= 31:
        raise ValueError("bcrypt rounds must be between 4 and 31")
    return bcrypt.hashpw(digest.encode("ascii"), bcrypt.gensalt(rounds=rounds, prefix=b"2b")).decode("ascii")


def check_password(digest_hex: str, bcrypt_hash: str) -> bool:
    """True when ``digest_hex`` (sha256 hex of the password) matches the stored bcrypt hash.

    Malformed input (a non-hex digest, a hash that is not bcrypt) is a plain ``False``: a login
    attempt must never turn into a 500 because the stored data or the client's digest is odd.
    """
    if not isinstance(digest_hex, str) or not isinstance(bcrypt_hash, str):
        return False
    digest = digest_hex.lower()
    if not is_sha256_hex(digest):
        return False
    try:
        return bcrypt.checkpw(digest.encode("ascii"), bcrypt_hash.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return False


async def check_password_async(digest_hex: str, bcrypt_hash: str) -> bool:
    """:func:`check_password` in a worker thread, so a login never blocks the event loop."""
    return await asyncio.to_thread(check_password, digest_hex, bcrypt_hash)


async def hash_password_async(
    password_or_digest: str, *, is_digest: bool, rounds: int = DEFAULT_ROUNDS
) -> str:
    """:func:`hash_password` in a worker thread (registration and password change paths)."""
    return await asyncio.to_thread(hash_password, password_or_digest, is_digest=is_digest, rounds=rounds)


def bcrypt_rounds(bcrypt_hash: str) -> int | None:
    """Cost factor of a stored hash, so a login can rehash when the configured rounds differ."""
    parts = bcrypt_hash.split("$") if isinstance(bcrypt_hash, str) else []
    if len(parts) < 4 or not parts[2].isdigit():
        return None
    return int(parts[2])


def hash_login_token(token: str) -> str:
    """``Accounts._hashLoginToken``: standard base64 (with padding) of SHA-256, 44 characters."""
    if not isinstance(token, str):
        raise TypeError("token must be a str")
    return base64.b64encode(hashlib.sha256(token.encode("utf-8")).digest()).decode("ascii")


def same_token_hash(a: str, b: str) -> bool:
    """Constant-time comparison of two hashed tokens (avoids a timing oracle on resume)."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
