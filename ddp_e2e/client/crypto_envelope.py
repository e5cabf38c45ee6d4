"""The password-protected private key stored in ``users.e2e.private_key``.

Two envelopes exist (spec rocketchat-e2e.md §4.2): v1, PBKDF2 1000 rounds salted with the user
ID and AES-CBC, written by every client up to 7.12; and v2, PBKDF2 100000 rounds with a random
salt and AES-GCM, written from 7.13. Readers must accept both, so :func:`decrypt_private_key`
detects the envelope from its JSON shape and the cipher from the IV length, as the web client
does. The server only stores the text; this is the client side of it.
"""

from __future__ import annotations

import os
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from .crypto_aes import (
    CBC_IV_LEN,
    GCM_IV_LEN,
    aes_cbc_decrypt,
    aes_cbc_encrypt,
    aes_gcm_decrypt,
    aes_gcm_encrypt,
)
from .crypto_codec import (
    DecryptionError,
    FormatError,
    b64decode,
    b64encode,
    compact_json,
    latin1_bytes,
    latin1_text,
    parse_json_object,
)

__all__ = [
    "MAX_ITERATIONS",
    "V1_ITERATIONS",
    "V2_ITERATIONS",
    "decrypt_private_key",
    "encrypt_private_key_v1",
    "encrypt_private_key_v2",
    "v2_salt",
]

V1_ITERATIONS = 1000
V2_ITERATIONS = 100_000
#: The iteration count of a v2 envelope comes from the server; a hostile server could ask for
#: billions and hang the client. Real envelopes use 100000; we refuse beyond this bound.
MAX_ITERATIONS = 10_000_000


def _master_key(password: str, salt: str, iterations: int) -> bytes:
    """PBKDF2-HMAC-SHA-256 over the Latin-1 bytes of password and salt, 256 bits out."""
    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA256(), length=32, salt=latin1_bytes(salt, "salt"), iterations=iterations
    )
    return kdf.derive(latin1_bytes(password, "password"))


def v2_salt(user_id: str) -> str:
    """The salt the 7.13+ web client picks for a v2 envelope: ``v2:<userId>:<uuid4>``."""
    return f"v2:{user_id}:{uuid.uuid4()}"


def encrypt_private_key_v1(private_jwk_json: str, password: str, user_id: str) -> str:
    """The pre-7.13 envelope: ``{"$binary": b64(iv16 || AES-CBC-256(jwk text))}``."""
    iv = os.urandom(CBC_IV_LEN)
    key = _master_key(password, user_id, V1_ITERATIONS)
    ciphertext = aes_cbc_encrypt(key, iv, latin1_bytes(private_jwk_json, "private key JWK"))
    return compact_json({"$binary": b64encode(iv + ciphertext)})


def encrypt_private_key_v2(
    private_jwk_json: str, password: str, salt: str, iterations: int = V2_ITERATIONS
) -> str:
    """The 7.13+ envelope: ``{"iv","ciphertext","salt","iterations"}`` with AES-GCM-256."""
    _check_iterations(iterations)
    iv = os.urandom(GCM_IV_LEN)
    key = _master_key(password, salt, iterations)
    ciphertext = aes_gcm_encrypt(key, iv, latin1_bytes(private_jwk_json, "private key JWK"))
    return compact_json(
        {"iv": b64encode(iv), "ciphertext": b64encode(ciphertext), "salt": salt, "iterations": iterations}
    )


def _check_iterations(iterations: object) -> None:
    if isinstance(iterations, bool) or not isinstance(iterations, int):
        raise FormatError("private key envelope: iterations must be an integer")
    if not 1 <= iterations <= MAX_ITERATIONS:
        raise FormatError(f"private key envelope: iterations {iterations} out of range 1..{MAX_ITERATIONS}")


def _parse(stored: str, user_id: str) -> tuple[bytes, bytes, str, int]:
    """(iv, ciphertext, salt, iterations) of either envelope, as the web client's codec reads it."""
    obj = parse_json_object(stored, "private key envelope")
    if isinstance(obj.get("$binary"), str):
        blob = b64decode(obj["$binary"], "private key $binary")
        if len(blob) <= CBC_IV_LEN:
            raise FormatError("private key envelope v1 is too short")
        return blob[:CBC_IV_LEN], blob[CBC_IV_LEN:], user_id, V1_ITERATIONS
    fields = ("iv", "ciphertext", "salt")
    if all(isinstance(obj.get(f), str) for f in fields) and "iterations" in obj:
        iterations = obj["iterations"]
        # JSON numbers such as 100000.0 are the same number to JavaScript.
        if isinstance(iterations, float) and iterations.is_integer():
            iterations = int(iterations)
        _check_iterations(iterations)
        iv = b64decode(obj["iv"], "private key iv")
        return iv, b64decode(obj["ciphertext"], "private key ciphertext"), obj["salt"], iterations
    raise FormatError(
        "private key envelope is neither v1 ($binary) nor v2 (iv, ciphertext, salt, iterations)"
    )


def decrypt_private_key(stored: str, password: str, user_id: str) -> str:
    """Open a v1 or v2 envelope and return the private JWK text.

    A wrong password raises :class:`DecryptionError`. With CBC a wrong key passes the padding
    check about once in 256 tries, so the result must also be a JSON object to count as opened.
    """
    iv, ciphertext, salt, iterations = _parse(stored, user_id)
    if len(iv) not in (CBC_IV_LEN, GCM_IV_LEN):
        raise FormatError(f"private key envelope IV must be 16 or 12 bytes, got {len(iv)}")
    key = _master_key(password, salt, iterations)
    try:
        if len(iv) == CBC_IV_LEN:
            plaintext = aes_cbc_decrypt(key, iv, ciphertext)
        else:
            plaintext = aes_gcm_decrypt(key, iv, ciphertext)
    except DecryptionError as exc:
        raise DecryptionError(f"private key does not open with this password ({exc})") from exc
    text = latin1_text(plaintext)
    try:
        parse_json_object(text, "private key JWK")
    except FormatError as exc:
        raise DecryptionError("private key does not open with this password") from exc
    return text
