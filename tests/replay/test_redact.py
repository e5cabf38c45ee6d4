"""Secrets are masked in recordings while frames stay valid JSON of the same shape."""

from __future__ import annotations

import json

from ddp_e2e.replay.redact import REDACTED, is_redacted, redact_frame, redact_token

from .util import dumps


def _redact(direction: str, obj: object) -> dict:
    out = redact_frame(direction, dumps(obj))
    parsed = json.loads(out)
    assert isinstance(parsed, dict)
    return parsed


def test_password_digest_masked_algorithm_kept() -> None:
    login = {
        "msg": "method",
        "id": "1",
        "method": "login",
        "params": [
            {"user": {"username": "alice"}, "password": {"digest": "5e88489", "algorithm": "sha-256"}}
        ],
    }
    out = _redact("in", login)
    assert out["params"][0]["password"] == {"digest": REDACTED, "algorithm": "sha-256"}
    assert out["params"][0]["user"] == {"username": "alice"}
    assert list(out) == list(login), "key order kept"


def test_plain_password_resume_and_totp_code() -> None:
    out = _redact(
        "in",
        {
            "msg": "method",
            "id": "2",
            "method": "login",
            "params": [{"totp": {"login": {"user": "bob", "password": "hunter2"}, "code": "123456"}}],
        },
    )
    assert out["params"][0]["totp"]["login"]["password"] == REDACTED
    assert out["params"][0]["totp"]["code"] == REDACTED
    resume = _redact(
        "in", {"msg": "method", "id": "3", "method": "login", "params": [{"resume": "TOKEN-abc"}]}
    )
    assert resume["params"][0]["resume"].startswith("<redacted-token:")
    assert "TOKEN-abc" not in dumps(resume)


def test_login_result_token_masked_expiry_and_id_kept() -> None:
    result = {
        "msg": "result",
        "id": "1",
        "result": {
            "id": "u1",
            "token": "T" * 43,
            "tokenExpires": {"$date": 1700000000000},
            "type": "password",
        },
    }
    out = _redact("out", result)
    assert out["result"]["id"] == "u1"
    assert out["result"]["tokenExpires"] == {"$date": 1700000000000}
    assert is_redacted(out["result"]["token"])
    # the same token redacts to the same stand-in, so a later resume can be tied to it
    resume = _redact("in", {"msg": "method", "id": "9", "method": "login", "params": [{"resume": "T" * 43}]})
    assert resume["params"][0]["resume"] == out["result"]["token"]
    other = _redact("in", {"msg": "method", "id": "9", "method": "login", "params": [{"resume": "U" * 43}]})
    assert other["params"][0]["resume"] != out["result"]["token"]


def test_services_masked_keeping_shape() -> None:
    added = {
        "msg": "added",
        "collection": "users",
        "id": "u1",
        "fields": {
            "username": "alice",
            "services": {
                "password": {"bcrypt": "$2b$10$xyz"},
                "resume": {"loginTokens": [{"when": {"$date": 5}, "hashedToken": "h1"}]},
            },
        },
    }
    out = _redact("out", added)
    services = out["fields"]["services"]
    assert services["password"]["bcrypt"] == REDACTED
    assert services["resume"]["loginTokens"][0] == {"when": {"$date": 5}, "hashedToken": REDACTED}
    assert out["fields"]["username"] == "alice"


def test_auth_token_keys_and_positional_secrets() -> None:
    out = _redact(
        "in",
        {"msg": "method", "id": "1", "method": "x", "params": [{"X-Auth-Token": "abc", "authToken": "d"}]},
    )
    assert "abc" not in dumps(out) and '"d"' not in dumps(out)
    reset = _redact(
        "in", {"msg": "method", "id": "1", "method": "resetPassword", "params": ["reset-tok", "newpass"]}
    )
    assert reset["params"][1] == REDACTED and reset["params"][0].startswith("<redacted-token:")
    # the same method name in a server frame is not a call; nothing positional is touched
    assert _redact("out", {"msg": "method", "method": "resetPassword", "params": ["a", "b"]})["params"] == [
        "a",
        "b",
    ]


def test_frames_without_secrets_are_returned_byte_for_byte() -> None:
    text = '{"msg":"result", "id":"1","result":{"b":1,"a":"é"}}'
    assert redact_frame("out", text) == text
    e2e = '{"msg":"result","id":"2","result":{"public_key":"pk","private_key":"enc"}}'
    assert redact_frame("out", e2e) == e2e, "E2EE keys are the server's opaque data, not our secrets"


def test_unparseable_frames() -> None:
    assert redact_frame("in", "not json at all") == "not json at all"
    masked = redact_frame("in", '{"password":"hunter2"')
    assert "hunter2" not in masked
    assert json.loads(masked).startswith(REDACTED)


def test_redaction_is_idempotent() -> None:
    once = redact_frame(
        "in", dumps({"msg": "method", "id": "1", "method": "login", "params": [{"resume": "abc"}]})
    )
    assert redact_frame("in", once) == once
    assert redact_token(redact_token("abc")) == redact_token("abc")
