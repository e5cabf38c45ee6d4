"""Rocket.Chat E2EE cryptography for the reference client: one import for every format.

The server never sees plaintext; this module is how our tests, ``ddp-e2e demo`` and users make
ciphertext a real Rocket.Chat web or mobile client can read, and read what those clients make.
The formats are spec rocketchat-e2e.md §4; the pieces live in ``crypto_*`` modules by job:

* ``crypto_rsa``: the user's RSA-OAEP key pair as JWK text, and ``E2EKey`` strings;
* ``crypto_envelope``: the password-protected private key (v1 CBC, v2 GCM);
* ``crypto_aes``: room keys, key IDs and the AES primitives;
* ``crypto_messages``: ``content`` v1/v2 and the legacy ``msg`` string;
* ``crypto_passphrase``: the random password proposed to the user.

A JavaScript twin over WebCrypto lives in ``tests/clients/lib/rc-e2ee.mjs``; the interop tests
prove the two byte-compatible.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import rsa

from .crypto_aes import (
    RoomKey,
    generate_room_key,
    key_id_legacy,
    key_id_sha256,
    key_id_uuid,
)
from .crypto_codec import (
    DecryptionError,
    E2EECryptoError,
    FormatError,
    KeyImportError,
    KeyNotFoundError,
)
from .crypto_envelope import (
    decrypt_private_key,
    encrypt_private_key_v1,
    encrypt_private_key_v2,
    v2_salt,
)
from .crypto_messages import (
    ALGORITHM_V1,
    ALGORITHM_V2,
    decrypt_legacy_msg,
    decrypt_message,
    decrypt_message_content,
    encrypt_legacy_msg,
    encrypt_message_content,
)
from .crypto_passphrase import generate_passphrase
from .crypto_rsa import (
    RSA_CIPHERTEXT_B64_LEN,
    UserKeyPair,
    generate_user_keypair,
    import_private_jwk,
    import_public_jwk,
    split_e2e_key,
    unwrap_room_key_json,
    wrap_room_key,
)

__all__ = [
    "ALGORITHM_V1",
    "ALGORITHM_V2",
    "RSA_CIPHERTEXT_B64_LEN",
    "DecryptionError",
    "E2EECryptoError",
    "FormatError",
    "KeyImportError",
    "KeyNotFoundError",
    "RoomKey",
    "UserKeyPair",
    "decrypt_legacy_msg",
    "decrypt_message",
    "decrypt_message_content",
    "decrypt_private_key",
    "encrypt_legacy_msg",
    "encrypt_message_content",
    "encrypt_private_key_v1",
    "encrypt_private_key_v2",
    "generate_passphrase",
    "generate_room_key",
    "generate_user_keypair",
    "import_private_jwk",
    "import_public_jwk",
    "key_id_legacy",
    "key_id_sha256",
    "key_id_uuid",
    "split_e2e_key",
    "unwrap_room_key",
    "unwrap_room_key_json",
    "v2_salt",
    "wrap_room_key",
]


def unwrap_room_key(e2e_key: str, private_key: UserKeyPair | rsa.RSAPrivateKey | str) -> tuple[str, RoomKey]:
    """Open an ``E2EKey`` (last-344-characters rule) and import the room key it carries.

    ``private_key`` is a :class:`UserKeyPair`, a ``cryptography`` RSA private key or private
    JWK text. Use :func:`unwrap_room_key_json` when the exact JWK text is needed (key IDs).
    """
    key_id, jwk_json = unwrap_room_key_json(e2e_key, private_key)
    try:
        return key_id, RoomKey.from_jwk_json(jwk_json)
    except FormatError as exc:
        # RSA-OAEP is checked, so a bad payload means the sender wrapped something that is not
        # a room key; report it as an import failure, which is what a browser would do.
        raise KeyImportError(f"E2EKey opened but does not hold a room key: {exc}") from exc
