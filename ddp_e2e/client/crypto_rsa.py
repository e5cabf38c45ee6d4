"""The user's RSA-OAEP key pair, its JWK text, and the ``E2EKey`` strings built with it.

A Rocket.Chat user's keys travel as ``JSON.stringify`` of WebCrypto's JWK export and room keys
travel as ``keyID + base64(RSA-OAEP-SHA256(jwk text))`` (spec rocketchat-e2e.md §4.1, §4.4).
Browsers export JWK members in alphabetical order, so that is the order we write; the import
rules are WebCrypto's, so a key this module accepts is a key a real client accepts too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .crypto_codec import (
    DecryptionError,
    FormatError,
    KeyImportError,
    b64decode,
    b64encode,
    b64url_decode,
    b64url_encode,
    compact_json,
    latin1_bytes,
    latin1_text,
    parse_json_object,
)

__all__ = [
    "RSA_CIPHERTEXT_B64_LEN",
    "UserKeyPair",
    "generate_user_keypair",
    "import_private_jwk",
    "import_public_jwk",
    "split_e2e_key",
    "unwrap_room_key_json",
    "wrap_room_key",
]

#: Rocket.Chat's user keys are RSA-2048; its E2EKey parser relies on that length.
MODULUS_BITS = 2048
#: 256 ciphertext bytes are 344 base64 characters; 7.13+ clients split ``E2EKey`` on it.
RSA_CIPHERTEXT_B64_LEN = 344
_JWK_ALG = "RSA-OAEP-256"
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi")


def _oaep() -> padding.OAEP:
    """OAEP with SHA-256 for both the hash and MGF1 and an empty label, as WebCrypto uses."""
    return padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def _uint(value: int) -> str:
    """JWK Base64urlUInt: big-endian, the minimum number of octets (RFC 7518 §2)."""
    return b64url_encode(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def _public_jwk(numbers: rsa.RSAPublicNumbers) -> dict[str, Any]:
    return {
        "alg": _JWK_ALG,
        "e": _uint(numbers.e),
        "ext": True,
        "key_ops": ["encrypt"],
        "kty": "RSA",
        "n": _uint(numbers.n),
    }


@dataclass(frozen=True)
class UserKeyPair:
    """A user's RSA key pair; its JWK texts are what ``e2e.setUserPublicAndPrivateKeys`` stores."""

    private_key: rsa.RSAPrivateKey

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    def public_jwk_json(self) -> str:
        """The public JWK as a browser's ``JSON.stringify(exportKey('jwk'))`` writes it."""
        return compact_json(_public_jwk(self.public_key.public_numbers()))

    def private_jwk_json(self) -> str:
        """The private JWK text, members alphabetical like a browser export (``alg`` first)."""
        priv = self.private_key.private_numbers()
        pub = priv.public_numbers
        jwk = {
            "alg": _JWK_ALG,
            "d": _uint(priv.d),
            "dp": _uint(priv.dmp1),
            "dq": _uint(priv.dmq1),
            "e": _uint(pub.e),
            "ext": True,
            "key_ops": ["decrypt"],
            "kty": "RSA",
            "n": _uint(pub.n),
            "p": _uint(priv.p),
            "q": _uint(priv.q),
            "qi": _uint(priv.iqmp),
        }
        return compact_json(jwk)


def generate_user_keypair() -> UserKeyPair:
    """A fresh RSA-2048 key pair with e = 65537, as the web client generates at first login."""
    return UserKeyPair(rsa.generate_private_key(public_exponent=65537, key_size=MODULUS_BITS))


def _check_import_rules(jwk: dict[str, Any], usage: str) -> None:
    """WebCrypto's JWK import checks for RSA-OAEP/SHA-256 with extractable=true."""
    if jwk.get("kty") != "RSA":
        raise KeyImportError("JWK kty must be 'RSA'")
    if "alg" in jwk and jwk["alg"] != _JWK_ALG:
        raise KeyImportError(f"JWK alg must be {_JWK_ALG!r}, got {jwk['alg']!r}")
    if "use" in jwk and jwk["use"] != "enc":
        raise KeyImportError("JWK use must be 'enc'")
    if "key_ops" in jwk:
        ops = jwk["key_ops"]
        if not isinstance(ops, list) or not all(isinstance(op, str) for op in ops):
            raise KeyImportError("JWK key_ops must be a list of strings")
        if usage not in ops:
            raise KeyImportError(f"JWK key_ops does not allow {usage!r}")
    if "ext" in jwk and jwk["ext"] is not True:
        raise KeyImportError("JWK ext must not be false (clients import keys as extractable)")
    if "oth" in jwk:
        raise KeyImportError("multi-prime RSA keys are not supported")


def _member(jwk: dict[str, Any], name: str) -> int:
    if name not in jwk:
        raise KeyImportError(f"JWK member {name!r} is missing")
    try:
        raw = b64url_decode(jwk[name], f"JWK member {name!r}")
    except FormatError as exc:
        raise KeyImportError(str(exc)) from exc
    if not raw:
        raise KeyImportError(f"JWK member {name!r} is empty")
    return int.from_bytes(raw, "big")


def _parse_jwk(text: str | dict[str, Any], usage: str) -> dict[str, Any]:
    jwk = dict(text) if isinstance(text, dict) else parse_json_object(text, "JWK")
    _check_import_rules(jwk, usage)
    return jwk


def _public_numbers(jwk: dict[str, Any]) -> rsa.RSAPublicNumbers:
    numbers = rsa.RSAPublicNumbers(_member(jwk, "e"), _member(jwk, "n"))
    if numbers.n.bit_length() != MODULUS_BITS:
        raise KeyImportError(f"RSA modulus must be {MODULUS_BITS} bits, got {numbers.n.bit_length()}")
    return numbers


def import_public_jwk(text: str | dict[str, Any]) -> rsa.RSAPublicKey:
    """Import a public JWK (JSON text or parsed object) under the rules of spec §4.1."""
    jwk = _parse_jwk(text, "encrypt")
    if "d" in jwk:
        # WebCrypto refuses a private JWK for "encrypt"; a leaked private key is a bug to surface.
        raise KeyImportError("a private JWK cannot be imported as a public key")
    numbers = _public_numbers(jwk)
    try:
        return numbers.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyImportError(f"invalid RSA public key: {exc}") from exc


def import_private_jwk(text: str | dict[str, Any]) -> UserKeyPair:
    """Import a private JWK; every CRT member is required, as browsers require them."""
    jwk = _parse_jwk(text, "decrypt")
    pub = _public_numbers(jwk)
    d, p, q, dp, dq, qi = (_member(jwk, name) for name in _PRIVATE_MEMBERS)
    try:
        key = rsa.RSAPrivateNumbers(p, q, d, dp, dq, qi, pub).private_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyImportError(f"inconsistent RSA private key: {exc}") from exc
    return UserKeyPair(key)


def _as_private_key(key: UserKeyPair | rsa.RSAPrivateKey | str) -> rsa.RSAPrivateKey:
    if isinstance(key, UserKeyPair):
        return key.private_key
    if isinstance(key, rsa.RSAPrivateKey):
        return key
    return import_private_jwk(key).private_key


def wrap_room_key(room_key_jwk_json: str, public_jwk_json: str | rsa.RSAPublicKey, key_id: str) -> str:
    """Build an ``E2EKey``: key ID + base64(RSA-OAEP-SHA256(Latin-1 bytes of the room key JSON))."""
    if not isinstance(key_id, str) or not key_id:
        raise FormatError("key ID must be a non-empty string")
    if isinstance(public_jwk_json, rsa.RSAPublicKey):
        public_key = public_jwk_json
        if public_key.key_size != MODULUS_BITS:
            raise KeyImportError(f"RSA modulus must be {MODULUS_BITS} bits")
    else:
        public_key = import_public_jwk(public_jwk_json)
    parse_json_object(room_key_jwk_json, "room key JWK")
    ciphertext = public_key.encrypt(latin1_bytes(room_key_jwk_json, "room key JWK"), _oaep())
    return key_id + b64encode(ciphertext)


def split_e2e_key(e2e_key: str) -> tuple[str, bytes]:
    """Split an ``E2EKey`` by the last-344-characters rule: works for 12- and 36-char key IDs."""
    if not isinstance(e2e_key, str) or len(e2e_key) <= RSA_CIPHERTEXT_B64_LEN:
        raise FormatError("E2EKey must be a key ID followed by 344 base64 characters")
    key_id, tail = e2e_key[:-RSA_CIPHERTEXT_B64_LEN], e2e_key[-RSA_CIPHERTEXT_B64_LEN:]
    return key_id, b64decode(tail, "E2EKey ciphertext")


def unwrap_room_key_json(e2e_key: str, private_key: UserKeyPair | rsa.RSAPrivateKey | str) -> tuple[str, str]:
    """Open an ``E2EKey``; returns (key ID, the room key's JWK text exactly as it was wrapped).

    The exact text matters: pre-7.0 clients recompute the key ID from it.
    """
    key_id, ciphertext = split_e2e_key(e2e_key)
    try:
        plaintext = _as_private_key(private_key).decrypt(ciphertext, _oaep())
    except ValueError as exc:
        raise DecryptionError("E2EKey does not open with this private key") from exc
    return key_id, latin1_text(plaintext)
