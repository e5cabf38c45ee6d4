"""Room (session) keys, their key IDs, and the AES primitives every E2EE format shares.

A room key is an AES JWK: ``A128CBC`` up to Rocket.Chat 7.12, ``A256GCM`` from 7.13. The key,
not the envelope, decides the cipher (spec rocketchat-e2e.md §4.5 "interop quirk"), so the
cipher choice lives on :class:`RoomKey` and the message formats only move bytes around.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import padding as sympadding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .crypto_codec import (
    DecryptionError,
    FormatError,
    KeyImportError,
    b64encode,
    b64url_decode,
    b64url_encode,
    compact_json,
    parse_json_object,
)

__all__ = [
    "CBC_IV_LEN",
    "GCM_IV_LEN",
    "RoomKey",
    "aes_cbc_decrypt",
    "aes_cbc_encrypt",
    "aes_gcm_decrypt",
    "aes_gcm_encrypt",
    "generate_room_key",
    "key_id_legacy",
    "key_id_sha256",
    "key_id_uuid",
]

CBC_IV_LEN = 16
GCM_IV_LEN = 12
RoomKeyAlg = Literal["A128CBC", "A256GCM"]
_ALG_SIZES = {
    "A128CBC": 16,
    "A192CBC": 24,
    "A256CBC": 32,
    "A128GCM": 16,
    "A192GCM": 24,
    "A256GCM": 32,
}
_KEY_OPS = ("encrypt", "decrypt")


def aes_cbc_encrypt(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    """AES-CBC with PKCS#7 padding, WebCrypto's only CBC mode."""
    padder = sympadding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return enc.update(padded) + enc.finalize()


def aes_cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    """Inverse of :func:`aes_cbc_encrypt`; a bad length or padding is a :class:`DecryptionError`."""
    if len(iv) != CBC_IV_LEN:
        raise DecryptionError(f"AES-CBC needs a {CBC_IV_LEN}-byte IV, got {len(iv)}")
    if not ciphertext or len(ciphertext) % 16:
        raise DecryptionError("AES-CBC ciphertext is not a whole number of blocks")
    dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = dec.update(ciphertext) + dec.finalize()
    unpadder = sympadding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:
        raise DecryptionError("AES-CBC padding is wrong (wrong key or corrupted data)") from exc


def aes_gcm_encrypt(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    """AES-GCM, no AAD, 128-bit tag appended: WebCrypto's output layout."""
    return AESGCM(key).encrypt(iv, plaintext, None)


def aes_gcm_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    """Inverse of :func:`aes_gcm_encrypt`; any tampering is a :class:`DecryptionError`."""
    if not 8 <= len(iv) <= 128:
        raise DecryptionError(f"AES-GCM IV length {len(iv)} is not usable")
    if len(ciphertext) < 16:
        raise DecryptionError("AES-GCM ciphertext is shorter than its tag")
    try:
        return AESGCM(key).decrypt(iv, ciphertext, None)
    except InvalidTag as exc:
        raise DecryptionError("AES-GCM tag does not verify (wrong key or tampered data)") from exc


@dataclass(frozen=True)
class RoomKey:
    """A room's symmetric key. ``alg`` is None only for an imported JWK that carried none."""

    alg: str | None
    k: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if self.alg is not None and _ALG_SIZES.get(self.alg) != len(self.k):
            raise KeyImportError(f"room key alg {self.alg!r} does not fit a {len(self.k)}-byte key")
        if len(self.k) not in (16, 24, 32):
            raise KeyImportError(f"AES key must be 16, 24 or 32 bytes, got {len(self.k)}")

    @property
    def mode(self) -> Literal["CBC", "GCM"] | None:
        """The cipher the key was made for, or None when its JWK did not say."""
        return None if self.alg is None else ("GCM" if self.alg.endswith("GCM") else "CBC")

    def jwk(self) -> dict[str, Any]:
        """The JWK members in a browser's export order (alphabetical: ``alg`` first)."""
        jwk: dict[str, Any] = {}
        if self.alg is not None:
            jwk["alg"] = self.alg
        jwk.update({"ext": True, "k": b64url_encode(self.k), "key_ops": list(_KEY_OPS), "kty": "oct"})
        return jwk

    def jwk_json(self) -> str:
        """``JSON.stringify`` of the export: the text that is wrapped and hashed into key IDs."""
        return compact_json(self.jwk())

    @classmethod
    def from_jwk_json(cls, text: str | dict[str, Any]) -> RoomKey:
        """Import an AES JWK with WebCrypto's rules for usages ``encrypt`` and ``decrypt``."""
        jwk = dict(text) if isinstance(text, dict) else parse_json_object(text, "room key JWK")
        if jwk.get("kty") != "oct":
            raise KeyImportError("room key JWK kty must be 'oct'")
        alg = jwk.get("alg")
        if alg is not None and alg not in _ALG_SIZES:
            raise KeyImportError(f"room key JWK alg {alg!r} is not an AES-CBC or AES-GCM alg")
        if "use" in jwk and jwk["use"] != "enc":
            raise KeyImportError("room key JWK use must be 'enc'")
        if "key_ops" in jwk:
            ops = jwk["key_ops"]
            if not isinstance(ops, list) or not all(op in ops for op in _KEY_OPS):
                raise KeyImportError("room key JWK key_ops must allow encrypt and decrypt")
        if "ext" in jwk and jwk["ext"] is not True:
            raise KeyImportError("room key JWK ext must not be false")
        if "k" not in jwk:
            raise KeyImportError("room key JWK has no 'k'")
        return cls(alg, b64url_decode(jwk["k"], "room key JWK 'k'"))

    def iv_length(self, envelope_default: int) -> int:
        """IV size to use when encrypting: CBC always needs 16; GCM takes the envelope's size."""
        if self.mode is None:
            raise FormatError("room key JWK has no alg, so the cipher to encrypt with is unknown")
        return CBC_IV_LEN if self.mode == "CBC" else envelope_default

    def encrypt(self, iv: bytes, plaintext: bytes) -> bytes:
        """Encrypt with the key's own cipher."""
        if self.mode is None:
            raise FormatError("room key JWK has no alg, so the cipher to encrypt with is unknown")
        if self.mode == "CBC":
            return aes_cbc_encrypt(self.k, iv, plaintext)
        return aes_gcm_encrypt(self.k, iv, plaintext)

    def decrypt(self, iv: bytes, ciphertext: bytes) -> bytes:
        """Decrypt choosing the cipher from ``alg``, else from the IV length (16 CBC, 12 GCM)."""
        mode = self.mode
        if mode is None:
            if len(iv) not in (CBC_IV_LEN, GCM_IV_LEN):
                raise DecryptionError(f"cannot tell the cipher from a {len(iv)}-byte IV")
            mode = "CBC" if len(iv) == CBC_IV_LEN else "GCM"
        if mode == "CBC":
            return aes_cbc_decrypt(self.k, iv, ciphertext)
        return aes_gcm_decrypt(self.k, iv, ciphertext)


def generate_room_key(alg: RoomKeyAlg = "A256GCM") -> RoomKey:
    """A fresh room key: ``A256GCM`` as 7.13+ makes, or ``A128CBC`` as older clients make."""
    if alg not in ("A128CBC", "A256GCM"):
        raise FormatError(f"room keys are A128CBC or A256GCM, not {alg!r}")
    return RoomKey(alg, os.urandom(_ALG_SIZES[alg]))


def key_id_legacy(jwk_json: str) -> str:
    """Key ID before 7.0: the first 12 base64 characters of the JWK text (so always the same)."""
    return b64encode(jwk_json.encode("utf-8"))[:12]


def key_id_sha256(jwk_json: str) -> str:
    """Key ID for 7.0-7.12: the first 12 hex characters of SHA-256 of the UTF-8 JWK text."""
    return hashlib.sha256(jwk_json.encode("utf-8")).hexdigest()[:12]


def key_id_uuid() -> str:
    """Key ID from 7.13: a random UUID v4 (36 characters)."""
    return str(uuid.uuid4())
