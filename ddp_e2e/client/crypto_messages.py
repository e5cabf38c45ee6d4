"""Encrypted message bodies: ``content`` v1 and v2 and the legacy ``msg`` string.

Three formats are on the wire at once (spec rocketchat-e2e.md §4.5) and a receiver must read
all of them. Whatever the envelope says, the room key's ``alg`` picks the cipher: a 7.13 web
client holding an old A128CBC key writes AES-CBC inside an ``rc.v2.aes-sha2`` envelope.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from .crypto_aes import CBC_IV_LEN, GCM_IV_LEN, RoomKey
from .crypto_codec import (
    DecryptionError,
    FormatError,
    KeyNotFoundError,
    b64decode,
    b64encode,
    compact_json,
)

__all__ = [
    "ALGORITHM_V1",
    "ALGORITHM_V2",
    "LEGACY_KEY_ID_LEN",
    "decrypt_legacy_msg",
    "decrypt_message",
    "decrypt_message_content",
    "encrypt_legacy_msg",
    "encrypt_message_content",
]

ALGORITHM_V1 = "rc.v1.aes-sha2"
ALGORITHM_V2 = "rc.v2.aes-sha2"
#: v1 content and legacy ``msg`` strings carry the key ID as a fixed 12-character prefix.
LEGACY_KEY_ID_LEN = 12
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _pick_key(kid: str, keys: Mapping[str, RoomKey], fallback: RoomKey | None) -> RoomKey:
    """The key named by ``kid``; else the caller's current key, as the 7.x client falls back."""
    key = keys.get(kid)
    if key is None:
        key = fallback
    if key is None:
        raise KeyNotFoundError(f"no room key with key ID {kid!r}")
    return key


def _open_json(key: RoomKey, iv: bytes, ciphertext: bytes) -> dict[str, Any]:
    plaintext = key.decrypt(iv, ciphertext)
    try:
        value = json.loads(plaintext.decode("utf-8"))
    except ValueError as exc:
        raise DecryptionError("decrypted bytes are not UTF-8 JSON (wrong key?)") from exc
    if not isinstance(value, dict):
        raise DecryptionError("decrypted payload is not a JSON object")
    return value


def _seal_prefixed(key: RoomKey, key_id: str, plaintext: bytes) -> str:
    """``keyID + b64(iv16 || ct)``: the v1/legacy string. Readers split the IV at 16 bytes."""
    if not isinstance(key_id, str) or len(key_id) != LEGACY_KEY_ID_LEN:
        raise FormatError(f"this format needs a {LEGACY_KEY_ID_LEN}-character key ID, got {key_id!r}")
    iv = os.urandom(CBC_IV_LEN)
    return key_id + b64encode(iv + key.encrypt(iv, plaintext))


def _split_prefixed(text: Any, what: str) -> tuple[str, bytes, bytes]:
    if not isinstance(text, str) or len(text) <= LEGACY_KEY_ID_LEN:
        raise FormatError(f"{what}: expected a key ID followed by base64")
    blob = b64decode(text[LEGACY_KEY_ID_LEN:], what)
    if len(blob) <= CBC_IV_LEN:
        raise FormatError(f"{what}: too short to hold an IV and ciphertext")
    return text[:LEGACY_KEY_ID_LEN], blob[:CBC_IV_LEN], blob[CBC_IV_LEN:]


def _payload_bytes(payload: Mapping[str, Any]) -> bytes:
    if not isinstance(payload, Mapping):
        raise FormatError("message payload must be a mapping such as {'msg': ...}")
    try:
        return compact_json(dict(payload)).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise FormatError(f"message payload is not plain JSON: {exc}") from exc


def encrypt_message_content(
    room_key: RoomKey, key_id: str, payload: Mapping[str, Any], version: Literal[1, 2] = 2
) -> dict[str, str]:
    """Encrypt ``{"msg": ..., "attachments"?: ...}`` into a message's ``content``.

    Version 1 gives ``{"algorithm": "rc.v1.aes-sha2", "ciphertext": keyID + b64(iv16 || ct)}``;
    version 2 gives ``{"algorithm": "rc.v2.aes-sha2", "kid", "iv", "ciphertext"}`` with a 12-byte
    IV for a GCM key and a 16-byte IV for a CBC key, as the 7.13 web client does.
    """
    plaintext = _payload_bytes(payload)
    if version == 1:
        return {"algorithm": ALGORITHM_V1, "ciphertext": _seal_prefixed(room_key, key_id, plaintext)}
    if version != 2:
        raise FormatError(f"content version must be 1 or 2, not {version!r}")
    if not isinstance(key_id, str) or not key_id:
        raise FormatError("key ID must be a non-empty string")
    iv = os.urandom(room_key.iv_length(GCM_IV_LEN))
    ciphertext = room_key.encrypt(iv, plaintext)
    return {
        "algorithm": ALGORITHM_V2,
        "kid": key_id,
        "iv": b64encode(iv),
        "ciphertext": b64encode(ciphertext),
    }


def decrypt_message_content(
    content: Mapping[str, Any], keys: Mapping[str, RoomKey], fallback: RoomKey | None = None
) -> dict[str, Any]:
    """Open a v1 or v2 ``content`` with the key its key ID names (or ``fallback``)."""
    if not isinstance(content, Mapping):
        raise FormatError("content must be an object")
    algorithm = content.get("algorithm")
    if algorithm == ALGORITHM_V1:
        kid, iv, ciphertext = _split_prefixed(content.get("ciphertext"), "content v1 ciphertext")
    elif algorithm == ALGORITHM_V2:
        kid = content.get("kid")
        if not isinstance(kid, str) or not kid:
            raise FormatError("content v2 needs a non-empty 'kid'")
        iv = b64decode(content.get("iv"), "content v2 iv")
        ciphertext = b64decode(content.get("ciphertext"), "content v2 ciphertext")
    else:
        raise FormatError(f"unsupported content algorithm {algorithm!r}")
    return _open_json(_pick_key(kid, keys, fallback), iv, ciphertext)


def _ts_ms(ts: datetime | int) -> int:
    if isinstance(ts, bool) or not isinstance(ts, int | datetime):
        raise FormatError("ts must be an aware datetime or milliseconds since the epoch")
    if isinstance(ts, int):
        return ts
    if ts.tzinfo is None:
        raise FormatError("ts must be timezone-aware")
    return (ts - _EPOCH) // timedelta(milliseconds=1)


def encrypt_legacy_msg(
    room_key: RoomKey, key_id: str, *, message_id: str, text: str, user_id: str, ts: datetime | int
) -> str:
    """The pre-6.10 ``msg`` string: keyID + b64(iv16 || AES(EJSON {_id, text, userId, ts}))."""
    body = {"_id": message_id, "text": text, "userId": user_id, "ts": {"$date": _ts_ms(ts)}}
    return _seal_prefixed(room_key, key_id, _payload_bytes(body))


def decrypt_legacy_msg(
    msg: str, keys: Mapping[str, RoomKey], fallback: RoomKey | None = None
) -> dict[str, Any]:
    """Open a legacy ``msg`` string; an EJSON ``ts`` comes back as an aware UTC datetime."""
    kid, iv, ciphertext = _split_prefixed(msg, "legacy msg")
    body = _open_json(_pick_key(kid, keys, fallback), iv, ciphertext)
    ts = body.get("ts")
    if isinstance(ts, dict) and set(ts) == {"$date"} and isinstance(ts["$date"], int | float):
        body["ts"] = _EPOCH + timedelta(milliseconds=ts["$date"])
    return body


def decrypt_message(
    message: Mapping[str, Any], keys: Mapping[str, RoomKey], fallback: RoomKey | None = None
) -> dict[str, Any]:
    """Decrypt a stored ``t: 'e2e'`` message the way clients show it.

    The legacy ``{text}`` becomes ``msg``; a content's ``msg``, ``attachments``, ``files`` and
    ``file`` are merged in; ``e2e`` becomes ``'done'``. Other messages come back unchanged.
    """
    out = dict(message)
    if out.get("t") != "e2e" or out.get("e2e") == "done":
        return out
    if isinstance(out.get("msg"), str) and out["msg"]:
        text = decrypt_legacy_msg(out["msg"], keys, fallback).get("text")
        if isinstance(text, str):
            out["msg"] = text
    if out.get("content") is not None:
        opened = decrypt_message_content(out["content"], keys, fallback)
        out.update({k: opened[k] for k in ("msg", "attachments", "files", "file") if k in opened})
    out["e2e"] = "done"
    return out
