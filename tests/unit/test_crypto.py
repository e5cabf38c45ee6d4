"""The reference client's E2EE formats: shapes, round trips and every way they must fail.

Where a format has a fixed layout, the test opens it with the primitives directly (hashlib,
``cryptography``) rather than with our decryptor, so a symmetric mistake in both directions of
our code cannot pass.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import padding as sympadding
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from ddp_e2e.client import crypto as c
from ddp_e2e.client.crypto_passphrase import WORD_LIST


def b64url(raw: str) -> bytes:
    return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))


def cbc_open(key: bytes, iv: bytes, ct: bytes) -> bytes:
    dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    unpadder = sympadding.PKCS7(128).unpadder()
    return unpadder.update(dec.update(ct) + dec.finalize()) + unpadder.finalize()


@pytest.fixture(scope="module")
def alice() -> c.UserKeyPair:
    return c.generate_user_keypair()


@pytest.fixture(scope="module")
def bob() -> c.UserKeyPair:
    return c.generate_user_keypair()


# ---- user key pair --------------------------------------------------------------------------


def test_public_jwk_is_browser_export_text(alice: c.UserKeyPair) -> None:
    text = alice.public_jwk_json()
    assert text.startswith(
        '{"alg":"RSA-OAEP-256","e":"AQAB","ext":true,"key_ops":["encrypt"],"kty":"RSA","n":"'
    )
    assert " " not in text
    jwk = json.loads(text)
    assert list(jwk) == ["alg", "e", "ext", "key_ops", "kty", "n"]
    assert "=" not in jwk["n"]
    n = b64url(jwk["n"])
    assert len(n) == 256 and n[0] >= 0x80
    assert int.from_bytes(n, "big") == alice.public_key.public_numbers().n


def test_private_jwk_is_browser_export_text(alice: c.UserKeyPair) -> None:
    jwk = json.loads(alice.private_jwk_json())
    assert list(jwk) == ["alg", "d", "dp", "dq", "e", "ext", "key_ops", "kty", "n", "p", "q", "qi"]
    assert jwk["key_ops"] == ["decrypt"] and jwk["alg"] == "RSA-OAEP-256" and jwk["ext"] is True
    priv = alice.private_key.private_numbers()
    assert int.from_bytes(b64url(jwk["d"]), "big") == priv.d
    assert int.from_bytes(b64url(jwk["qi"]), "big") == priv.iqmp
    assert all("=" not in v for v in jwk.values() if isinstance(v, str))


def test_private_jwk_import_round_trip(alice: c.UserKeyPair) -> None:
    again = c.import_private_jwk(alice.private_jwk_json())
    assert again.private_jwk_json() == alice.private_jwk_json()
    assert again.public_jwk_json() == alice.public_jwk_json()


def test_public_import_accepts_minimal_jwk(alice: c.UserKeyPair) -> None:
    jwk = json.loads(alice.public_jwk_json())
    minimal = {"kty": "RSA", "n": jwk["n"], "e": jwk["e"]}
    key = c.import_public_jwk(json.dumps(minimal))
    assert key.public_numbers() == alice.public_key.public_numbers()


@pytest.mark.parametrize(
    "change",
    [
        {"alg": "RSA-OAEP"},
        {"alg": "RSA1_5"},
        {"key_ops": ["decrypt"]},
        {"key_ops": "encrypt"},
        {"ext": False},
        {"kty": "EC"},
        {"use": "sig"},
        {"n": "not base64url!"},
        {"n": None},
        {"oth": []},
    ],
)
def test_public_import_refuses_what_webcrypto_refuses(alice: c.UserKeyPair, change: dict) -> None:
    jwk = {**json.loads(alice.public_jwk_json()), **change}
    with pytest.raises(c.KeyImportError):
        c.import_public_jwk(json.dumps(jwk))


def test_public_import_refuses_private_key_small_key_and_garbage(alice: c.UserKeyPair) -> None:
    with pytest.raises(c.KeyImportError):
        c.import_public_jwk(alice.private_jwk_json())
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key().public_numbers()
    small_jwk = {
        "kty": "RSA",
        "e": "AQAB",
        "n": base64.urlsafe_b64encode(small.n.to_bytes(128, "big")).decode().rstrip("="),
    }
    with pytest.raises(c.KeyImportError, match="2048"):
        c.import_public_jwk(json.dumps(small_jwk))
    for bad in ("", "not json", "[1,2]", '"RSA"', "{}"):
        with pytest.raises(c.FormatError):
            c.import_public_jwk(bad)


def test_private_import_refusals(alice: c.UserKeyPair, bob: c.UserKeyPair) -> None:
    with pytest.raises(c.KeyImportError, match="'decrypt'"):
        c.import_private_jwk(alice.public_jwk_json())
    public = json.loads(alice.public_jwk_json())
    del public["key_ops"]
    with pytest.raises(c.KeyImportError, match="'d'"):
        c.import_private_jwk(json.dumps(public))
    jwk = json.loads(alice.private_jwk_json())
    with pytest.raises(c.KeyImportError):
        c.import_private_jwk(json.dumps({**jwk, "key_ops": ["encrypt"]}))
    with pytest.raises(c.KeyImportError):
        c.import_private_jwk(json.dumps({k: jwk[k] for k in ("kty", "n", "e", "d")}))
    other = json.loads(bob.private_jwk_json())
    with pytest.raises(c.KeyImportError, match="inconsistent"):
        c.import_private_jwk(json.dumps({**jwk, "p": other["p"]}))


# ---- private-key envelopes ------------------------------------------------------------------


def test_v1_envelope_layout_matches_pbkdf2_1000_cbc(alice: c.UserKeyPair) -> None:
    stored = c.encrypt_private_key_v1(alice.private_jwk_json(), "s3cret", "u-alice")
    assert re.fullmatch(r'\{"\$binary":"[A-Za-z0-9+/]+=*"\}', stored)
    blob = base64.b64decode(json.loads(stored)["$binary"])
    assert len(blob) > 16 and (len(blob) - 16) % 16 == 0
    master = hashlib.pbkdf2_hmac("sha256", b"s3cret", b"u-alice", 1000, 32)
    assert cbc_open(master, blob[:16], blob[16:]).decode("latin-1") == alice.private_jwk_json()
    assert c.decrypt_private_key(stored, "s3cret", "u-alice") == alice.private_jwk_json()


def test_v2_envelope_layout_matches_pbkdf2_100000_gcm(alice: c.UserKeyPair) -> None:
    salt = c.v2_salt("u-alice")
    assert re.fullmatch(r"v2:u-alice:[0-9a-f-]{36}", salt)
    assert uuid.UUID(salt[len("v2:u-alice:") :]).version == 4
    stored = c.encrypt_private_key_v2(alice.private_jwk_json(), "s3cret", salt)
    obj = json.loads(stored)
    assert list(obj) == ["iv", "ciphertext", "salt", "iterations"]
    assert obj["salt"] == salt and obj["iterations"] == 100000 and ", " not in stored
    iv, ct = base64.b64decode(obj["iv"]), base64.b64decode(obj["ciphertext"])
    assert len(iv) == 12 and len(ct) == len(alice.private_jwk_json()) + 16
    master = hashlib.pbkdf2_hmac("sha256", b"s3cret", salt.encode(), 100000, 32)
    assert AESGCM(master).decrypt(iv, ct, None).decode("latin-1") == alice.private_jwk_json()
    assert c.decrypt_private_key(stored, "s3cret", "u-alice") == alice.private_jwk_json()


def test_wrong_password_or_user_is_a_decryption_error(alice: c.UserKeyPair) -> None:
    v1 = c.encrypt_private_key_v1(alice.private_jwk_json(), "right", "u-alice")
    v2 = c.encrypt_private_key_v2(alice.private_jwk_json(), "right", "v2:u-alice:x", iterations=1000)
    for stored in (v1, v2):
        with pytest.raises(c.DecryptionError, match="password"):
            c.decrypt_private_key(stored, "wrong", "u-alice")
    with pytest.raises(c.DecryptionError):
        c.decrypt_private_key(v1, "right", "u-bob")  # v1 is salted with the user ID
    assert c.decrypt_private_key(v2, "right", "u-bob") == alice.private_jwk_json()  # v2 is not


def test_tampered_v2_envelope_is_rejected(alice: c.UserKeyPair) -> None:
    obj = json.loads(c.encrypt_private_key_v2(alice.private_jwk_json(), "pw", "salt", iterations=1000))
    ct = bytearray(base64.b64decode(obj["ciphertext"]))
    ct[5] ^= 1
    obj["ciphertext"] = base64.b64encode(bytes(ct)).decode()
    with pytest.raises(c.DecryptionError):
        c.decrypt_private_key(json.dumps(obj), "pw", "u")


def test_latin1_password_is_used_as_the_web_client_does(alice: c.UserKeyPair) -> None:
    stored = c.encrypt_private_key_v1(alice.private_jwk_json(), "pässwörd", "u1")
    blob = base64.b64decode(json.loads(stored)["$binary"])
    master = hashlib.pbkdf2_hmac("sha256", "pässwörd".encode("latin-1"), b"u1", 1000, 32)
    assert cbc_open(master, blob[:16], blob[16:]).decode("latin-1") == alice.private_jwk_json()
    with pytest.raises(c.FormatError, match="U\\+00FF"):
        c.encrypt_private_key_v1(alice.private_jwk_json(), "пароль", "u1")
    with pytest.raises(c.FormatError):
        c.decrypt_private_key(stored, "密码", "u1")


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "not json",
        "[]",
        "{}",
        '{"$binary": 5}',
        '{"$binary": "@@@@"}',
        '{"$binary": "AAAA"}',
        '{"iv": "AAAAAAAAAAAAAAAA", "ciphertext": "AAAA", "salt": "s"}',
        '{"iv": "AAAAAAAAAAAAAAAA", "ciphertext": "AAAA", "salt": "s", "iterations": 0}',
        '{"iv": "AAAAAAAAAAAAAAAA", "ciphertext": "AAAA", "salt": "s", "iterations": 1e12}',
        '{"iv": "AAAAAAAAAAAAAAAA", "ciphertext": "AAAA", "salt": "s", "iterations": "1000"}',
        '{"iv": "AAAAAAAAAAAAAAAA", "ciphertext": "AAAA", "salt": "s", "iterations": true}',
        '{"iv": "AAAAAAAAAAAAAAAAAA==", "ciphertext": "AAAA", "salt": "s", "iterations": 10}',
    ],
)
def test_malformed_envelopes_are_format_errors(stored: str) -> None:
    with pytest.raises(c.FormatError):
        c.decrypt_private_key(stored, "pw", "u")


def test_v2_iterations_bounds_on_encrypt(alice: c.UserKeyPair) -> None:
    for bad in (0, -1, 10**9, 2.5, True):
        with pytest.raises(c.FormatError):
            c.encrypt_private_key_v2(alice.private_jwk_json(), "pw", "s", iterations=bad)  # type: ignore[arg-type]


# ---- room keys and key IDs ------------------------------------------------------------------


@pytest.mark.parametrize(("alg", "size"), [("A128CBC", 16), ("A256GCM", 32)])
def test_room_key_jwk_text_is_browser_order(alg: str, size: int) -> None:
    key = c.generate_room_key(alg)  # type: ignore[arg-type]
    text = key.jwk_json()
    assert re.fullmatch(
        r'\{"alg":"'
        + alg
        + r'","ext":true,"k":"[A-Za-z0-9_-]+","key_ops":\["encrypt","decrypt"\],"kty":"oct"\}',
        text,
    )
    assert len(b64url(json.loads(text)["k"])) == size == len(key.k)
    assert c.RoomKey.from_jwk_json(text) == key
    assert key.k.hex() not in repr(key)


def test_generate_room_key_refuses_other_algs() -> None:
    for alg in ("A128GCM", "A256CBC", "A256CTR", ""):
        with pytest.raises(c.FormatError):
            c.generate_room_key(alg)  # type: ignore[arg-type]


def test_key_ids_for_each_generation() -> None:
    key = c.generate_room_key("A128CBC")
    text = key.jwk_json()
    assert c.key_id_legacy(text) == "eyJhbGciOiJB"  # base64 of '{"alg":"A', the same for every room
    assert c.key_id_legacy(c.generate_room_key("A256GCM").jwk_json()) == "eyJhbGciOiJB"
    assert c.key_id_sha256(text) == hashlib.sha256(text.encode()).hexdigest()[:12]
    assert c.key_id_sha256(text) != c.key_id_sha256(c.generate_room_key("A128CBC").jwk_json())
    ids = {c.key_id_uuid() for _ in range(5)}
    assert len(ids) == 5 and all(len(i) == 36 and uuid.UUID(i).version == 4 for i in ids)


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "RSA", "k": "AAAAAAAAAAAAAAAAAAAAAA"},
        {"kty": "oct", "alg": "A256GCM", "k": "AAAAAAAAAAAAAAAAAAAAAA"},
        {"kty": "oct", "alg": "A128CTR", "k": "AAAAAAAAAAAAAAAAAAAAAA"},
        {"kty": "oct", "alg": "A128CBC", "k": "AAAAAAAAAAAAAAAAAAAAAA", "key_ops": ["encrypt"]},
        {"kty": "oct", "alg": "A128CBC", "k": "AAAAAAAAAAAAAAAAAAAAAA", "key_ops": "encrypt decrypt"},
        {"kty": "oct", "alg": "A128CBC", "k": "AAAAAAAAAAAAAAAAAAAAAA", "ext": False},
        {"kty": "oct", "alg": "A128CBC", "k": "AAAAAAAAAAAAAAAAAAAAAA", "use": "sig"},
        {"kty": "oct", "alg": "A128CBC"},
        {"kty": "oct", "alg": "A128CBC", "k": "A+AAAAAAAAAAAAAAAAAAAA"},
        {"kty": "oct", "k": "AAAAAAAAAAAAAAAAAAAAAAAAAA"},
    ],
)
def test_room_key_import_refusals(jwk: dict) -> None:
    with pytest.raises(c.FormatError):
        c.RoomKey.from_jwk_json(json.dumps(jwk))


# ---- E2EKey strings -------------------------------------------------------------------------


@pytest.mark.parametrize("key_id", ["eyJhbGciOiJB", "0123456789ab", "3f1c2a9e-5b7d-4c8e-9f10-2a3b4c5d6e7f"])
def test_wrap_and_unwrap_with_12_and_36_char_key_ids(alice: c.UserKeyPair, key_id: str) -> None:
    room = c.generate_room_key("A256GCM")
    e2e_key = c.wrap_room_key(room.jwk_json(), alice.public_jwk_json(), key_id)
    assert e2e_key.startswith(key_id) and len(e2e_key) == len(key_id) + 344
    tail = e2e_key[len(key_id) :]
    assert tail.endswith("==") and len(base64.b64decode(tail)) == 256
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    assert alice.private_key.decrypt(base64.b64decode(tail), oaep).decode("latin-1") == room.jwk_json()
    assert c.split_e2e_key(e2e_key)[0] == key_id
    assert c.unwrap_room_key(e2e_key, alice) == (key_id, room)
    assert c.unwrap_room_key(e2e_key, alice.private_jwk_json()) == (key_id, room)
    assert c.unwrap_room_key_json(e2e_key, alice.private_key) == (key_id, room.jwk_json())


def test_unwrap_failures(alice: c.UserKeyPair, bob: c.UserKeyPair) -> None:
    room = c.generate_room_key("A128CBC")
    e2e_key = c.wrap_room_key(room.jwk_json(), alice.public_jwk_json(), "0123456789ab")
    with pytest.raises(c.DecryptionError):
        c.unwrap_room_key(e2e_key, bob)
    with pytest.raises(c.FormatError):
        c.unwrap_room_key(e2e_key[:300], alice)
    with pytest.raises(c.FormatError):
        c.unwrap_room_key(e2e_key[:-344], alice)
    with pytest.raises(c.FormatError):
        c.unwrap_room_key("0123456789ab" + "!" * 344, alice)
    not_a_room_key = c.wrap_room_key('{"kty":"oct"}', alice.public_jwk_json(), "0123456789ab")
    with pytest.raises(c.KeyImportError):
        c.unwrap_room_key(not_a_room_key, alice)
    assert c.unwrap_room_key_json(not_a_room_key, alice)[1] == '{"kty":"oct"}'


def test_wrap_refuses_bad_inputs(alice: c.UserKeyPair) -> None:
    room = c.generate_room_key().jwk_json()
    with pytest.raises(c.FormatError):
        c.wrap_room_key(room, alice.public_jwk_json(), "")
    with pytest.raises(c.FormatError):
        c.wrap_room_key("not json", alice.public_jwk_json(), "0123456789ab")
    with pytest.raises(c.KeyImportError):
        c.wrap_room_key(room, alice.private_jwk_json(), "0123456789ab")
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    with pytest.raises(c.KeyImportError):
        c.wrap_room_key(room, small, "0123456789ab")
    assert c.unwrap_room_key(c.wrap_room_key(room, alice.public_key, "k" * 12), alice)[0] == "k" * 12


# ---- message content ------------------------------------------------------------------------


def test_content_v1_layout_with_cbc_key() -> None:
    key = c.generate_room_key("A128CBC")
    content = c.encrypt_message_content(key, "0123456789ab", {"msg": "hello"}, version=1)
    assert list(content) == ["algorithm", "ciphertext"] and content["algorithm"] == "rc.v1.aes-sha2"
    assert content["ciphertext"].startswith("0123456789ab")
    blob = base64.b64decode(content["ciphertext"][12:])
    assert cbc_open(key.k, blob[:16], blob[16:]) == b'{"msg":"hello"}'
    assert c.decrypt_message_content(content, {"0123456789ab": key}) == {"msg": "hello"}


def test_content_v2_layout_with_gcm_key() -> None:
    key = c.generate_room_key("A256GCM")
    kid = c.key_id_uuid()
    payload = {"msg": "héllo ✓", "attachments": [{"title": "x"}]}
    content = c.encrypt_message_content(key, kid, payload, version=2)
    assert list(content) == ["algorithm", "kid", "iv", "ciphertext"]
    assert content["algorithm"] == "rc.v2.aes-sha2" and content["kid"] == kid
    iv, ct = base64.b64decode(content["iv"]), base64.b64decode(content["ciphertext"])
    expected = '{"msg":"héllo ✓","attachments":[{"title":"x"}]}'.encode()
    assert len(iv) == 12 and len(ct) == len(expected) + 16
    assert AESGCM(key.k).decrypt(iv, ct, None) == expected
    assert c.decrypt_message_content(content, {kid: key}) == payload


def test_v2_envelope_holding_a128cbc_key_uses_cbc() -> None:
    """The 7.13 web client labels everything rc.v2 but encrypts with the key's own cipher."""
    key = c.generate_room_key("A128CBC")
    content = c.encrypt_message_content(key, "abc", {"msg": "old key"}, version=2)
    iv = base64.b64decode(content["iv"])
    assert len(iv) == 16
    assert cbc_open(key.k, iv, base64.b64decode(content["ciphertext"])) == b'{"msg":"old key"}'
    assert c.decrypt_message_content(content, {"abc": key}) == {"msg": "old key"}
    # Hand-made the same way a browser would: CBC ciphertext inside a "v2" envelope.
    iv2 = bytes(range(16))
    padder = sympadding.PKCS7(128).padder()
    enc = Cipher(algorithms.AES(key.k), modes.CBC(iv2)).encryptor()
    ct = enc.update(padder.update(b'{"msg":"browser"}') + padder.finalize()) + enc.finalize()
    hand = {
        "algorithm": "rc.v2.aes-sha2",
        "kid": "abc",
        "iv": base64.b64encode(iv2).decode(),
        "ciphertext": base64.b64encode(ct).decode(),
    }
    assert c.decrypt_message_content(hand, {"abc": key}) == {"msg": "browser"}


def test_v1_envelope_holding_gcm_key_uses_gcm() -> None:
    key = c.generate_room_key("A256GCM")
    content = c.encrypt_message_content(key, "0123456789ab", {"msg": "x"}, version=1)
    blob = base64.b64decode(content["ciphertext"][12:])
    assert AESGCM(key.k).decrypt(blob[:16], blob[16:], None) == b'{"msg":"x"}'
    assert c.decrypt_message_content(content, {"0123456789ab": key}) == {"msg": "x"}


def test_key_without_alg_picks_cipher_from_iv_length() -> None:
    cbc, gcm = c.generate_room_key("A128CBC"), c.generate_room_key("A256GCM")
    cbc_content = c.encrypt_message_content(cbc, "k1", {"msg": "cbc"})
    gcm_content = c.encrypt_message_content(gcm, "k2", {"msg": "gcm"})
    bare_cbc = c.RoomKey.from_jwk_json(
        json.dumps({"kty": "oct", "k": base64.urlsafe_b64encode(cbc.k).decode().rstrip("=")})
    )
    bare_gcm = c.RoomKey.from_jwk_json(
        json.dumps({"kty": "oct", "k": base64.urlsafe_b64encode(gcm.k).decode().rstrip("=")})
    )
    assert bare_cbc.alg is None and '"alg"' not in bare_cbc.jwk_json()
    assert c.decrypt_message_content(cbc_content, {"k1": bare_cbc}) == {"msg": "cbc"}
    assert c.decrypt_message_content(gcm_content, {"k2": bare_gcm}) == {"msg": "gcm"}
    with pytest.raises(c.FormatError, match="no alg"):
        c.encrypt_message_content(bare_gcm, "k2", {"msg": "x"})


@pytest.mark.parametrize("field", ["iv", "ciphertext", "tag"])
def test_tampered_gcm_content_is_rejected(field: str) -> None:
    key = c.generate_room_key("A256GCM")
    content = c.encrypt_message_content(key, "kid", {"msg": "do not touch"})
    name = "iv" if field == "iv" else "ciphertext"
    raw = bytearray(base64.b64decode(content[name]))
    raw[-1 if field == "tag" else 0] ^= 0x80
    tampered = {**content, name: base64.b64encode(bytes(raw)).decode()}
    with pytest.raises(c.DecryptionError):
        c.decrypt_message_content(tampered, {"kid": key})


@pytest.mark.parametrize("alg", ["A128CBC", "A256GCM"])
@pytest.mark.parametrize("version", [1, 2])
def test_wrong_key_is_a_decryption_error(alg: str, version: int) -> None:
    key, other = c.generate_room_key(alg), c.generate_room_key(alg)  # type: ignore[arg-type]
    content = c.encrypt_message_content(key, "0123456789ab", {"msg": "secret"}, version=version)  # type: ignore[arg-type]
    with pytest.raises(c.DecryptionError):
        c.decrypt_message_content(content, {"0123456789ab": other})


def test_key_lookup_and_fallback() -> None:
    old, current = c.generate_room_key("A128CBC"), c.generate_room_key("A256GCM")
    old_msg = c.encrypt_message_content(old, "oldkey000000", {"msg": "before reset"}, version=1)
    new_msg = c.encrypt_message_content(current, "newkey000000", {"msg": "after"}, version=2)
    keys = {"oldkey000000": old, "newkey000000": current}
    assert c.decrypt_message_content(old_msg, keys) == {"msg": "before reset"}
    assert c.decrypt_message_content(new_msg, keys) == {"msg": "after"}
    with pytest.raises(c.KeyNotFoundError):
        c.decrypt_message_content(new_msg, {"oldkey000000": old})
    assert c.decrypt_message_content(new_msg, {}, fallback=current) == {"msg": "after"}


@pytest.mark.parametrize(
    "content",
    [
        None,
        "string",
        {},
        {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "x"},
        {"algorithm": "rc.v1.aes-sha2"},
        {"algorithm": "rc.v1.aes-sha2", "ciphertext": "0123456789ab"},
        {"algorithm": "rc.v1.aes-sha2", "ciphertext": "0123456789ab!!!!"},
        {"algorithm": "rc.v1.aes-sha2", "ciphertext": "0123456789abAAAA"},
        {"algorithm": "rc.v2.aes-sha2", "iv": "AAAAAAAAAAAAAAAA", "ciphertext": "AAAA"},
        {"algorithm": "rc.v2.aes-sha2", "kid": "", "iv": "AAAAAAAAAAAAAAAA", "ciphertext": "AAAA"},
        {"algorithm": "rc.v2.aes-sha2", "kid": "k", "iv": 5, "ciphertext": "AAAA"},
        {"algorithm": "rc.v2.aes-sha2", "kid": "k", "iv": "AAAAAAAAAAAAAAAA", "ciphertext": "A"},
    ],
)
def test_malformed_content_is_a_format_error(content: object) -> None:
    key = c.generate_room_key()
    with pytest.raises(c.FormatError):
        c.decrypt_message_content(content, {"k": key, "0123456789ab": key})  # type: ignore[arg-type]


def test_encrypt_content_refuses_bad_arguments() -> None:
    key = c.generate_room_key()
    with pytest.raises(c.FormatError, match="12-character"):
        c.encrypt_message_content(key, c.key_id_uuid(), {"msg": "x"}, version=1)
    with pytest.raises(c.FormatError):
        c.encrypt_message_content(key, "kid", {"msg": "x"}, version=3)  # type: ignore[arg-type]
    with pytest.raises(c.FormatError):
        c.encrypt_message_content(key, "", {"msg": "x"})
    with pytest.raises(c.FormatError):
        c.encrypt_message_content(key, "kid", ["msg"])  # type: ignore[arg-type]
    with pytest.raises(c.FormatError):
        c.encrypt_message_content(key, "kid", {"msg": {1, 2}})
    with pytest.raises(c.FormatError):
        c.encrypt_message_content(key, "kid", {"n": float("nan")})


@settings(max_examples=40, deadline=None)
@given(text=st.text(), version=st.sampled_from([1, 2]), alg=st.sampled_from(["A128CBC", "A256GCM"]))
def test_content_round_trip_any_text(text: str, version: int, alg: str) -> None:
    key = c.generate_room_key(alg)  # type: ignore[arg-type]
    content = c.encrypt_message_content(key, "0123456789ab", {"msg": text}, version=version)  # type: ignore[arg-type]
    assert c.decrypt_message_content(content, {"0123456789ab": key}) == {"msg": text}


# ---- legacy msg string ----------------------------------------------------------------------


def test_legacy_msg_layout_and_round_trip() -> None:
    key = c.generate_room_key("A128CBC")
    ts = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
    msg = c.encrypt_legacy_msg(key, "eyJhbGciOiJB", message_id="m1", text="hi ✓", user_id="u-alice", ts=ts)
    assert msg.startswith("eyJhbGciOiJB")
    blob = base64.b64decode(msg[12:])
    plain = cbc_open(key.k, blob[:16], blob[16:])
    assert plain == '{"_id":"m1","text":"hi ✓","userId":"u-alice","ts":{"$date":1714564800123}}'.encode()
    body = c.decrypt_legacy_msg(msg, {"eyJhbGciOiJB": key})
    assert body == {"_id": "m1", "text": "hi ✓", "userId": "u-alice", "ts": ts}
    assert c.decrypt_legacy_msg(
        c.encrypt_legacy_msg(key, "eyJhbGciOiJB", message_id="m", text="t", user_id="u", ts=5),
        {},
        fallback=key,
    )["ts"] == datetime(1970, 1, 1, 0, 0, 0, 5000, tzinfo=UTC)


def test_legacy_msg_refusals() -> None:
    key = c.generate_room_key("A128CBC")
    kw = {"message_id": "m", "text": "t", "user_id": "u"}
    with pytest.raises(c.FormatError, match="aware"):
        c.encrypt_legacy_msg(key, "eyJhbGciOiJB", ts=datetime(2024, 1, 1), **kw)
    for bad_ts in (True, "2024", 1.5):
        with pytest.raises(c.FormatError):
            c.encrypt_legacy_msg(key, "eyJhbGciOiJB", ts=bad_ts, **kw)  # type: ignore[arg-type]
    with pytest.raises(c.FormatError):
        c.encrypt_legacy_msg(key, "short", ts=0, **kw)
    msg = c.encrypt_legacy_msg(key, "eyJhbGciOiJB", ts=0, **kw)
    with pytest.raises(c.KeyNotFoundError):
        c.decrypt_legacy_msg(msg, {})
    with pytest.raises(c.DecryptionError):
        c.decrypt_legacy_msg(msg, {"eyJhbGciOiJB": c.generate_room_key("A128CBC")})
    with pytest.raises(c.FormatError):
        c.decrypt_legacy_msg("eyJhbGciOiJB", {"eyJhbGciOiJB": key})


def test_decrypt_message_merges_like_a_client() -> None:
    key = c.generate_room_key("A128CBC")
    kid = c.key_id_sha256(key.jwk_json())
    legacy = {
        "_id": "m1",
        "t": "e2e",
        "e2e": "pending",
        "msg": c.encrypt_legacy_msg(key, kid, message_id="m1", text="old style", user_id="u", ts=0),
    }
    assert c.decrypt_message(legacy, {kid: key}) == {
        "_id": "m1",
        "t": "e2e",
        "e2e": "done",
        "msg": "old style",
    }
    content = c.encrypt_message_content(key, kid, {"msg": "new style", "attachments": [{"a": 1}]}, version=1)
    modern = {"_id": "m2", "t": "e2e", "e2e": "pending", "msg": "", "content": content}
    out = c.decrypt_message(modern, {kid: key})
    assert out["msg"] == "new style" and out["attachments"] == [{"a": 1}] and out["e2e"] == "done"
    assert out["content"] == content and modern["e2e"] == "pending"  # input left untouched
    plain = {"_id": "m3", "msg": "clear text"}
    assert c.decrypt_message(plain, {}) == plain


# ---- passphrase -----------------------------------------------------------------------------


def test_passphrase_shape_and_word_list() -> None:
    assert len(WORD_LIST) == 256 == len(set(WORD_LIST))
    assert all(re.fullmatch(r"[a-z]+", w) for w in WORD_LIST)
    phrase = c.generate_passphrase()
    words = phrase.split(" ")
    assert len(words) == 12 and all(w in WORD_LIST for w in words)
    assert phrase != c.generate_passphrase()
    assert len(c.generate_passphrase(5).split(" ")) == 5
    for bad in (0, -1, True, 2.0):
        with pytest.raises(ValueError):
            c.generate_passphrase(bad)  # type: ignore[arg-type]


def test_passphrase_works_as_an_envelope_password(alice: c.UserKeyPair) -> None:
    phrase = c.generate_passphrase()
    stored = c.encrypt_private_key_v2(alice.private_jwk_json(), phrase, c.v2_salt("u"), iterations=1000)
    assert c.decrypt_private_key(stored, phrase, "u") == alice.private_jwk_json()
