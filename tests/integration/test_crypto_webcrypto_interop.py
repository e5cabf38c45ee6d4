"""Python ``cryptography`` and Node 20 WebCrypto read each other's Rocket.Chat E2EE data.

Node runs ``tests/clients/crypto_interop.mjs`` (our clean-room WebCrypto module behind a JSON
batch CLI). Every format is checked in both directions: Node encrypts and Python decrypts, and
Python encrypts and Node decrypts. Node is spawned a handful of times per module, not per case.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ddp_e2e.client import crypto as c
from ddp_e2e.client.crypto_passphrase import WORD_LIST

NODE = shutil.which("node")
SCRIPT = Path(__file__).resolve().parents[1] / "clients" / "crypto_interop.mjs"
pytestmark = pytest.mark.skipif(
    NODE is None, reason="`node` is not on PATH: WebCrypto interop needs Node 20+"
)

UUID_KID = "3f1c2a9e-5b7d-4c8e-9f10-2a3b4c5d6e7f"
SHORT_KID = "0123456789ab"
TEXT = 'héllo ✓ 🎉 "quoted" \\ back\nslash'
PAYLOAD = {"msg": TEXT, "attachments": [{"title": "ä", "description": "d"}]}
PASSWORD = "correct horse battery staple"
ALGS = ("A128CBC", "A256GCM")


def node_batch(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run one batch through Node; a crash or a short answer fails the test loudly."""
    assert NODE is not None
    proc = subprocess.run(
        [NODE, str(SCRIPT)],
        input=json.dumps(requests),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, f"node exited {proc.returncode}: {proc.stderr}"
    answers = json.loads(proc.stdout)
    assert isinstance(answers, list) and len(answers) == len(requests), proc.stdout[:500]
    return answers


def ok(answer: dict[str, Any]) -> Any:
    assert answer["ok"] is True, answer
    return answer["result"]


def refused(answer: dict[str, Any], name: str) -> str:
    assert answer["ok"] is False, answer
    assert answer["error"]["name"] == name, answer
    return answer["error"]["message"]


# ---- fixtures: each is one Node process ----------------------------------------------------


@pytest.fixture(scope="module")
def py_keys() -> dict[str, Any]:
    return {"user": c.generate_user_keypair(), **{alg: c.generate_room_key(alg) for alg in ALGS}}


@pytest.fixture(scope="module")
def node_keys() -> dict[str, Any]:
    answers = node_batch(
        [{"op": "generate_user_keypair"}] + [{"op": "generate_room_key", "alg": alg} for alg in ALGS]
    )
    user = ok(answers[0])
    return {
        "public": user["public_jwk_json"],
        "private": user["private_jwk_json"],
        **{alg: ok(a) for alg, a in zip(ALGS, answers[1:], strict=True)},
    }


@pytest.fixture(scope="module")
def node_made(node_keys: dict[str, Any], py_keys: dict[str, Any]) -> dict[str, Any]:
    """What Node encrypts for Python to open, keyed by a readable name."""
    requests: dict[str, dict[str, Any]] = {
        "env_v1": {
            "op": "encrypt_private_key_v1",
            "private_jwk_json": node_keys["private"],
            "password": PASSWORD,
            "user_id": "u-node",
        },
        "env_v2": {
            "op": "encrypt_private_key_v2",
            "private_jwk_json": node_keys["private"],
            "password": PASSWORD,
            "salt": "v2:u-node:0e7b3c1a-0000-4000-8000-000000000000",
        },
        "salt": {"op": "v2_salt", "user_id": "u-node"},
        "uuid": {"op": "key_id_uuid"},
    }
    for alg in ALGS:
        for kid in (SHORT_KID, UUID_KID):
            requests[f"wrap_{alg}_{len(kid)}"] = {
                "op": "wrap_room_key",
                "room_key_jwk_json": node_keys[alg],
                "public_jwk_json": py_keys["user"].public_jwk_json(),
                "key_id": kid,
            }
        for version in (1, 2):
            requests[f"content_{alg}_v{version}"] = {
                "op": "encrypt_message_content",
                "room_key_jwk_json": node_keys[alg],
                "key_id": SHORT_KID,
                "payload": PAYLOAD,
                "version": version,
            }
        requests[f"legacy_{alg}"] = {
            "op": "encrypt_legacy_msg",
            "room_key_jwk_json": node_keys[alg],
            "key_id": SHORT_KID,
            "message_id": "m-node",
            "text": TEXT,
            "user_id": "u-node",
            "ts": 1714564800123,
        }
    names = list(requests)
    answers = node_batch([requests[n] for n in names])
    return {name: ok(answer) for name, answer in zip(names, answers, strict=True)}


@pytest.fixture(scope="module")
def py_made(py_keys: dict[str, Any], node_keys: dict[str, Any]) -> dict[str, Any]:
    """What Python encrypts for Node to open."""
    private = py_keys["user"].private_jwk_json()
    made: dict[str, Any] = {
        "env_v1": c.encrypt_private_key_v1(private, PASSWORD, "u-py"),
        "env_v2": c.encrypt_private_key_v2(private, PASSWORD, c.v2_salt("u-py")),
    }
    for alg in ALGS:
        key = py_keys[alg]
        for kid in (SHORT_KID, UUID_KID):
            made[f"wrap_{alg}_{len(kid)}"] = c.wrap_room_key(key.jwk_json(), node_keys["public"], kid)
        for version in (1, 2):
            made[f"content_{alg}_v{version}"] = c.encrypt_message_content(
                key, SHORT_KID, PAYLOAD, version=version
            )
        made[f"legacy_{alg}"] = c.encrypt_legacy_msg(
            key, SHORT_KID, message_id="m-py", text=TEXT, user_id="u-py", ts=1714564800123
        )
    return made


@pytest.fixture(scope="module")
def node_read(py_made: dict[str, Any], py_keys: dict[str, Any], node_keys: dict[str, Any]) -> dict[str, Any]:
    """Node's answers (ok or error) to Python-made data, including wrong-key and tampered cases."""
    gcm = py_made["content_A256GCM_v2"]
    raw = bytearray(base64.b64decode(gcm["ciphertext"]))
    raw[-1] ^= 1
    tampered = {**gcm, "ciphertext": base64.b64encode(bytes(raw)).decode()}
    requests: dict[str, dict[str, Any]] = {
        "env_v1": {
            "op": "decrypt_private_key",
            "stored": py_made["env_v1"],
            "password": PASSWORD,
            "user_id": "u-py",
        },
        "env_v2": {
            "op": "decrypt_private_key",
            "stored": py_made["env_v2"],
            "password": PASSWORD,
            "user_id": "u-py",
        },
        "env_v1_bad": {
            "op": "decrypt_private_key",
            "stored": py_made["env_v1"],
            "password": "nope",
            "user_id": "u-py",
        },
        "env_v2_bad": {
            "op": "decrypt_private_key",
            "stored": py_made["env_v2"],
            "password": "nope",
            "user_id": "u-py",
        },
        "tampered": {
            "op": "decrypt_message_content",
            "content": tampered,
            "keys": {SHORT_KID: py_keys["A256GCM"].jwk_json()},
        },
        "wrong_key": {
            "op": "decrypt_message_content",
            "content": py_made["content_A128CBC_v1"],
            "keys": {SHORT_KID: node_keys["A128CBC"]},
        },
        "unknown_kid": {"op": "decrypt_message_content", "content": gcm, "keys": {}},
        "wrong_rsa": {
            "op": "unwrap_room_key",
            "e2e_key": py_made["wrap_A128CBC_12"],
            "private_jwk_json": py_keys["user"].private_jwk_json(),
        },
        "word_list": {"op": "passphrase_word_list"},
        "passphrase": {"op": "generate_passphrase"},
    }
    for alg in ALGS:
        keys = {SHORT_KID: py_keys[alg].jwk_json()}
        for kid in (SHORT_KID, UUID_KID):
            requests[f"wrap_{alg}_{len(kid)}"] = {
                "op": "unwrap_room_key",
                "e2e_key": py_made[f"wrap_{alg}_{len(kid)}"],
                "private_jwk_json": node_keys["private"],
            }
        for version in (1, 2):
            requests[f"content_{alg}_v{version}"] = {
                "op": "decrypt_message_content",
                "content": py_made[f"content_{alg}_v{version}"],
                "keys": keys,
            }
        requests[f"legacy_{alg}"] = {
            "op": "decrypt_legacy_msg",
            "msg": py_made[f"legacy_{alg}"],
            "keys": keys,
        }
        requests[f"message_{alg}"] = {
            "op": "decrypt_message",
            "keys": keys,
            "message": {
                "_id": "m",
                "t": "e2e",
                "e2e": "pending",
                "msg": "",
                "content": py_made[f"content_{alg}_v2"],
            },
        }
    names = list(requests)
    return dict(zip(names, node_batch([requests[n] for n in names]), strict=True))


# ---- user keys ------------------------------------------------------------------------------


def test_node_user_keys_are_byte_identical_after_python_import(node_keys: dict[str, Any]) -> None:
    """Both sides write the same JWK text for the same key: browser order, minimal integers."""
    assert node_keys["public"].startswith(
        '{"alg":"RSA-OAEP-256","e":"AQAB","ext":true,"key_ops":["encrypt"],'
    )
    pair = c.import_private_jwk(node_keys["private"])
    assert pair.private_jwk_json() == node_keys["private"]
    assert pair.public_jwk_json() == node_keys["public"]
    assert c.import_public_jwk(node_keys["public"]).public_numbers() == pair.public_key.public_numbers()


def test_python_user_keys_import_in_webcrypto(py_keys: dict[str, Any]) -> None:
    user = py_keys["user"]
    answers = node_batch(
        [
            {"op": "import_public_jwk", "jwk_json": user.public_jwk_json()},
            {"op": "import_private_jwk", "jwk_json": user.private_jwk_json()},
        ]
    )
    assert [ok(a) for a in answers] == [True, True]


def test_both_sides_refuse_the_same_bad_public_jwks(py_keys: dict[str, Any]) -> None:
    good = json.loads(py_keys["user"].public_jwk_json())
    cases = [
        {**good, "alg": "RSA-OAEP"},
        {**good, "key_ops": ["decrypt"]},
        {**good, "ext": False},
        {**good, "kty": "EC"},
        {**good, "use": "sig"},
        json.loads(py_keys["user"].private_jwk_json()),
        {k: v for k, v in good.items() if k != "n"},
    ]
    minimal = {"kty": "RSA", "n": good["n"], "e": good["e"]}
    answers = node_batch([{"op": "import_public_jwk", "jwk_json": json.dumps(j)} for j in [*cases, minimal]])
    for jwk, answer in zip(cases, answers, strict=False):
        refused(answer, "KeyImportError")
        with pytest.raises(c.KeyImportError):
            c.import_public_jwk(json.dumps(jwk))
    assert ok(answers[-1]) is True
    c.import_public_jwk(json.dumps(minimal))


# ---- private-key envelopes ------------------------------------------------------------------


@pytest.mark.parametrize("version", ["env_v1", "env_v2"])
def test_node_private_key_envelopes_open_in_python(
    node_made: dict[str, Any], node_keys: dict[str, Any], version: str
) -> None:
    stored = node_made[version]
    assert c.decrypt_private_key(stored, PASSWORD, "u-node") == node_keys["private"]
    with pytest.raises(c.DecryptionError):
        c.decrypt_private_key(stored, PASSWORD + "!", "u-node")


def test_node_envelope_shapes(node_made: dict[str, Any]) -> None:
    assert list(json.loads(node_made["env_v1"])) == ["$binary"]
    v2 = json.loads(node_made["env_v2"])
    assert list(v2) == ["iv", "ciphertext", "salt", "iterations"] and v2["iterations"] == 100000
    assert len(base64.b64decode(v2["iv"])) == 12
    assert node_made["salt"].startswith("v2:u-node:") and len(node_made["salt"]) == len("v2:u-node:") + 36
    assert len(node_made["uuid"]) == 36


@pytest.mark.parametrize("version", ["env_v1", "env_v2"])
def test_python_private_key_envelopes_open_in_node(
    node_read: dict[str, Any], py_keys: dict[str, Any], version: str
) -> None:
    assert ok(node_read[version]) == py_keys["user"].private_jwk_json()
    refused(node_read[f"{version}_bad"], "DecryptionError")


# ---- room keys, key IDs and E2EKey ----------------------------------------------------------


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("kid", [SHORT_KID, UUID_KID])
def test_node_wrapped_room_keys_open_in_python(
    node_made: dict[str, Any], node_keys: dict[str, Any], py_keys: dict[str, Any], alg: str, kid: str
) -> None:
    e2e_key = node_made[f"wrap_{alg}_{len(kid)}"]
    assert len(e2e_key) == len(kid) + 344
    assert c.unwrap_room_key_json(e2e_key, py_keys["user"]) == (kid, node_keys[alg])
    key_id, room = c.unwrap_room_key(e2e_key, py_keys["user"])
    assert key_id == kid and room.alg == alg and room.jwk_json() == node_keys[alg]


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("kid", [SHORT_KID, UUID_KID])
def test_python_wrapped_room_keys_open_in_node(
    node_read: dict[str, Any], py_keys: dict[str, Any], alg: str, kid: str
) -> None:
    assert ok(node_read[f"wrap_{alg}_{len(kid)}"]) == {"key_id": kid, "jwk_json": py_keys[alg].jwk_json()}


def test_wrong_private_key_refused_by_node(node_read: dict[str, Any]) -> None:
    refused(node_read["wrong_rsa"], "DecryptionError")


def test_both_sides_compute_the_same_key_ids(node_keys: dict[str, Any], py_keys: dict[str, Any]) -> None:
    texts = [node_keys[a] for a in ALGS] + [py_keys[a].jwk_json() for a in ALGS]
    texts.append('{"alg":"A128CBC","ext":true,"k":"é✓","key_ops":[],"kty":"oct"}')  # non-ASCII: UTF-8 hashed
    answers = node_batch([{"op": "key_ids", "jwk_json": t} for t in texts])
    for text, answer in zip(texts, answers, strict=True):
        assert ok(answer) == {"legacy": c.key_id_legacy(text), "sha256": c.key_id_sha256(text)}
    assert {ok(a)["legacy"] for a in answers[:4]} == {"eyJhbGciOiJB"}


# ---- messages -------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("version", [1, 2])
def test_node_message_content_opens_in_python(
    node_made: dict[str, Any], node_keys: dict[str, Any], alg: str, version: int
) -> None:
    content = node_made[f"content_{alg}_v{version}"]
    assert content["algorithm"] == f"rc.v{version}.aes-sha2"
    if version == 2:
        assert list(content) == ["algorithm", "kid", "iv", "ciphertext"]
        assert len(base64.b64decode(content["iv"])) == (16 if alg == "A128CBC" else 12)
    keys = {SHORT_KID: c.RoomKey.from_jwk_json(node_keys[alg])}
    assert c.decrypt_message_content(content, keys) == PAYLOAD


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("version", [1, 2])
def test_python_message_content_opens_in_node(node_read: dict[str, Any], alg: str, version: int) -> None:
    assert ok(node_read[f"content_{alg}_v{version}"]) == PAYLOAD


@pytest.mark.parametrize("alg", ALGS)
def test_legacy_msg_both_directions(
    node_made: dict[str, Any], node_keys: dict[str, Any], node_read: dict[str, Any], alg: str
) -> None:
    body = c.decrypt_legacy_msg(
        node_made[f"legacy_{alg}"], {SHORT_KID: c.RoomKey.from_jwk_json(node_keys[alg])}
    )
    assert body["_id"] == "m-node" and body["text"] == TEXT and body["userId"] == "u-node"
    assert int(body["ts"].timestamp() * 1000) == 1714564800123
    assert ok(node_read[f"legacy_{alg}"]) == {
        "_id": "m-py",
        "text": TEXT,
        "userId": "u-py",
        "ts": {"$date": 1714564800123},
    }


@pytest.mark.parametrize("alg", ALGS)
def test_node_decrypts_a_whole_python_message(node_read: dict[str, Any], alg: str) -> None:
    shown = ok(node_read[f"message_{alg}"])
    assert shown["msg"] == TEXT and shown["attachments"] == PAYLOAD["attachments"] and shown["e2e"] == "done"


def test_node_refuses_tampered_wrong_key_and_unknown_kid(node_read: dict[str, Any]) -> None:
    refused(node_read["tampered"], "DecryptionError")
    refused(node_read["wrong_key"], "DecryptionError")
    refused(node_read["unknown_kid"], "KeyNotFoundError")


def test_passphrase_word_lists_match(node_read: dict[str, Any]) -> None:
    assert ok(node_read["word_list"]) == list(WORD_LIST)
    words = ok(node_read["passphrase"]).split(" ")
    assert len(words) == 12 and set(words) <= set(WORD_LIST)


def test_cli_reports_bad_requests() -> None:
    answers = node_batch(
        [{"op": "no_such_op"}, {"nothing": 1}, {"op": "generate_room_key", "alg": "A128CTR"}]
    )
    refused(answers[0], "TypeError")
    refused(answers[1], "TypeError")
    refused(answers[2], "FormatError")
    assert NODE is not None
    proc = subprocess.run(
        [NODE, str(SCRIPT)], input="not json", capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 2 and "not JSON" in proc.stderr
