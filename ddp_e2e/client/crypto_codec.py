"""Byte and text codecs shared by the E2EE formats, and the error types they raise.

Rocket.Chat's web client mixes three encodings on purpose: base64url without padding inside
JWKs, standard base64 with padding everywhere else, and Latin-1 ("binary" strings) for
passwords, salts and key JSON while message text is UTF-8. Getting any one of them wrong makes
ciphertext that only our own client can read, so each conversion lives here once, strict on
input, and the crypto modules never call ``base64`` or ``str.encode`` directly.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

__all__ = [
    "DecryptionError",
    "E2EECryptoError",
    "FormatError",
    "KeyImportError",
    "KeyNotFoundError",
    "b64decode",
    "b64encode",
    "b64url_decode",
    "b64url_encode",
    "compact_json",
    "latin1_bytes",
    "latin1_text",
    "parse_json_object",
]


class E2EECryptoError(Exception):
    """Base of every error this client raises for E2EE data."""


class FormatError(E2EECryptoError, ValueError):
    """The input is not shaped like the format it claims to be (bad JSON, base64, lengths)."""


class KeyImportError(FormatError):
    """A JWK breaks the import rules WebCrypto enforces, so a real client would refuse it too."""


class DecryptionError(E2EECryptoError):
    """Well-formed ciphertext that does not open: wrong password, wrong key or tampering."""


class KeyNotFoundError(DecryptionError):
    """No room key is known for the key ID the ciphertext names."""


_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64encode(data: bytes) -> str:
    """Standard base64 with padding, as ``@rocket.chat/base64`` and ``btoa`` produce."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, what: str = "base64") -> bytes:
    """Strict standard base64; garbage is a :class:`FormatError`, never silently skipped."""
    if not isinstance(text, str) or len(text) % 4 or not _B64.fullmatch(text):
        raise FormatError(f"{what}: not valid base64")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise FormatError(f"{what}: not valid base64") from exc


def b64url_encode(data: bytes) -> str:
    """base64url without padding, the JWK encoding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, what: str = "base64url") -> bytes:
    """Strict unpadded base64url, as JWK members must be."""
    if not isinstance(text, str) or len(text) % 4 == 1 or not _B64URL.fullmatch(text):
        raise FormatError(f"{what}: not valid unpadded base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def latin1_bytes(text: str, what: str = "text") -> bytes:
    """The web client's "binary string" bytes; code points above 0xFF are refused as it does."""
    if not isinstance(text, str):
        raise FormatError(f"{what}: expected a string")
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise FormatError(f"{what}: contains a character above U+00FF (the web client refuses it)") from exc


def latin1_text(data: bytes) -> str:
    """Inverse of :func:`latin1_bytes`; every byte string is valid Latin-1."""
    return data.decode("latin-1")


def compact_json(value: Any) -> str:
    """``JSON.stringify`` text: no spaces, non-ASCII kept as is, key order as given."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def parse_json_object(text: str | bytes, what: str) -> dict[str, Any]:
    """Parse JSON that must be an object; anything else is a :class:`FormatError`."""
    try:
        value = json.loads(text)
    except (ValueError, TypeError) as exc:
        raise FormatError(f"{what}: not valid JSON") from exc
    if not isinstance(value, dict):
        raise FormatError(f"{what}: expected a JSON object")
    return value
