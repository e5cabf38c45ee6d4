"""Normalisation: aliases by first appearance, dates, secrets, drops and E2EE ciphertext."""

from __future__ import annotations

from typing import Any

import pytest

from ddp_e2e.replay.normalize import DATE_KEY, SECRET, NormalizeOptions, Normalizer

from .util import dumps

MSG_ID = "Pq3Wx8YtKz2HnR5aB"  # a Meteor Random.id()


def norm(n: Normalizer, direction: str, obj: Any, t: float | None = None) -> Any:
    return n.normalize(dumps(obj), direction, t)


def test_ids_aliased_consistently_across_frames() -> None:
    n = Normalizer()
    assert norm(n, "out", {"msg": "connected", "session": "SESSION"}) == {
        "msg": "connected",
        "session": "<session#1>",
    }
    call = norm(
        n,
        "in",
        {
            "msg": "method",
            "id": "7",
            "method": "sendMessage",
            "params": [{"_id": MSG_ID, "rid": "GENERAL", "msg": "hi"}],
        },
    )
    assert call["id"] == "<method#1>"
    assert call["params"][0] == {"_id": "<id#1>", "rid": "<id#2>", "msg": "hi"}
    event = norm(
        n,
        "out",
        {
            "msg": "changed",
            "collection": "stream-room-messages",
            "id": "id",
            "fields": {"eventName": f"{MSG_ID}/x", "args": [{"_id": MSG_ID, "u": {"_id": "u-alice"}}]},
        },
    )
    assert event["id"] == "id", "the stream pseudo-document id stays literal"
    assert event["fields"]["eventName"] == "<id#1>/x"
    assert event["fields"]["args"][0] == {"_id": "<id#1>", "u": {"_id": "<id#3>"}}
    assert norm(n, "out", {"msg": "result", "id": "7", "result": MSG_ID}) == {
        "msg": "result",
        "id": "<method#1>",
        "result": "<id#1>",
    }
    assert norm(n, "out", {"msg": "updated", "methods": ["7", "8"]})["methods"] == [
        "<method#1>",
        "<method#2>",
    ]


def test_kinds_have_separate_numbering() -> None:
    n = Normalizer()
    assert norm(n, "in", {"msg": "sub", "id": "1", "name": "x"})["id"] == "<sub#1>"
    assert norm(n, "in", {"msg": "method", "id": "1", "method": "x"})["id"] == "<method#1>"
    assert norm(n, "out", {"msg": "ready", "subs": ["1"]})["subs"] == ["<sub#1>"]
    assert norm(n, "out", {"msg": "nosub", "id": "2"})["id"] == "<sub#2>"
    assert norm(n, "in", {"msg": "unsub", "id": "1"})["id"] == "<sub#1>"
    assert n.original("<sub#2>") == "2"
    assert n.original("<sub#9>") is None


def test_plain_strings_are_not_aliased() -> None:
    n = Normalizer()
    out = norm(
        n, "in", {"msg": "method", "id": "1", "method": "x", "params": ["GENERAL", "hello", 17, "a/b"]}
    )
    assert out["params"] == ["GENERAL", "hello", 17, "a/b"]


def test_tokens_aliased_and_secrets_masked() -> None:
    n = Normalizer()
    login = norm(
        n,
        "in",
        {
            "msg": "method",
            "id": "1",
            "method": "login",
            "params": [
                {"user": {"username": "alice"}, "password": {"digest": "abc", "algorithm": "sha-256"}}
            ],
        },
    )
    assert login["params"][0]["password"] == {"digest": SECRET, "algorithm": "sha-256"}
    result = norm(
        n, "out", {"msg": "result", "id": "1", "result": {"id": "u1", "token": "TOK", "type": "password"}}
    )
    assert result["result"]["token"] == "<token#1>"
    resume = norm(n, "in", {"msg": "method", "id": "2", "method": "login", "params": [{"resume": "TOK"}]})
    assert resume["params"][0]["resume"] == "<token#1>"
    # redacted and unredacted recordings normalise alike
    plain = norm(Normalizer(), "in", {"msg": "x", "password": "hunter2", "services": {"a": {"b": "c"}}})
    masked = norm(
        Normalizer(), "in", {"msg": "x", "password": "<redacted>", "services": {"a": {"b": "<redacted>"}}}
    )
    assert plain == masked == {"msg": "x", "password": SECRET, "services": SECRET}
    otp = norm(Normalizer(), "in", {"msg": "x", "totp": {"code": "123456"}, "code": "kept"})
    assert otp == {"msg": "x", "totp": {"code": SECRET}, "code": "kept"}


def test_errors_reduced_to_code_and_type() -> None:
    n = Normalizer()
    out = norm(
        n,
        "out",
        {
            "msg": "result",
            "id": "1",
            "error": {
                "isClientSafe": True,
                "error": "too-many-requests",
                "reason": "wait 8 s",
                "details": {"timeToReset": 7421},
                "message": "x [too-many-requests]",
                "errorType": "Meteor.Error",
            },
        },
    )
    assert out["error"] == {"error": "too-many-requests", "errorType": "Meteor.Error"}
    nosub = norm(n, "out", {"msg": "nosub", "id": "s", "error": {"error": 404, "reason": "nope"}})
    assert nosub["error"] == {"error": 404}
    assert norm(n, "out", {"msg": "error", "reason": "Bad request", "offendingMessage": {"x": 1}}) == {
        "msg": "error",
        "reason": "<reason>",
        "offendingMessage": {"x": 1},
    }
    assert (
        norm(n, "in", {"msg": "method", "id": "2", "method": "x", "randomSeed": "abc"})["randomSeed"]
        == "<randomSeed>"
    )


def test_dates_relative_to_frame_time_when_start_is_known() -> None:
    n = Normalizer(started_at_ms=1_000_000.0)
    out = norm(n, "out", {"msg": "result", "id": "1", "result": {"ts": {"$date": 1_000_250}}}, t=200.0)
    assert out["result"]["ts"] == {DATE_KEY: {"abs": 1_000_250.0, "rel": 50.0}}


def test_dates_relative_to_first_date_without_start() -> None:
    n = Normalizer()
    first = norm(n, "out", {"msg": "added", "collection": "c", "id": "x", "fields": {"a": {"$date": 5000}}})
    second = norm(n, "out", {"msg": "added", "collection": "c", "id": "y", "fields": {"a": {"$date": 7500}}})
    assert first["fields"]["a"][DATE_KEY]["rel"] == 0.0
    assert second["fields"]["a"][DATE_KEY] == {"abs": 7500.0, "rel": 2500.0}


@pytest.mark.parametrize(("mode", "expected"), [("exact", {"$date": 5}), ("mask", {"$date": "<date>"})])
def test_date_modes(mode: str, expected: Any) -> None:
    n = Normalizer(NormalizeOptions(dates=mode))  # type: ignore[arg-type]
    assert norm(n, "out", {"msg": "x", "d": {"$date": 5}})["d"] == expected


def test_non_numeric_dates_are_left_alone() -> None:
    assert norm(Normalizer(), "out", {"msg": "x", "d": {"$date": "soon"}})["d"] == {"$date": "soon"}


@pytest.mark.parametrize(
    "obj",
    [
        {"msg": "ping"},
        {"msg": "pong", "id": "1"},
        {"server_id": "0"},
        {"msg": "server_id", "server_id": "0"},
        {
            "msg": "changed",
            "collection": "stream-notify-logged",
            "id": "id",
            "fields": {"eventName": "user-status", "args": [["u1", "alice", 1, ""]]},
        },
        {
            "msg": "changed",
            "collection": "stream-notify-room",
            "id": "id",
            "fields": {"eventName": "GENERAL/user-activity", "args": ["alice", ["user-typing"], {}]},
        },
        {
            "msg": "changed",
            "collection": "stream-notify-room",
            "id": "id",
            "fields": {"eventName": "GENERAL/typing", "args": ["alice", True]},
        },
        {"msg": "changed", "collection": "stream-user-presence", "id": "id", "fields": {"eventName": "u1"}},
    ],
)
def test_noise_is_dropped_by_default_and_kept_on_request(obj: dict[str, Any]) -> None:
    assert Normalizer().normalize(dumps(obj), "out") is None
    keep = NormalizeOptions(drop_heartbeats=False, drop_server_id=False, drop_presence=False)
    assert Normalizer(keep).normalize(dumps(obj), "out") is not None


def test_message_events_are_not_presence() -> None:
    event = {
        "msg": "changed",
        "collection": "stream-room-messages",
        "id": "id",
        "fields": {"eventName": "GENERAL"},
    }
    assert Normalizer().normalize(dumps(event), "out") is not None
    users = {"msg": "changed", "collection": "users", "id": "u1", "fields": {"eventName": "user-status"}}
    assert Normalizer().normalize(dumps(users), "out") is not None


CIPHER_V1 = "0123456789abU2FsdGVkX1/+abcDEFghiJKLmnoPQR/Zz3Wx8YtKz2HnR5aB/=="
E2E_RESULT = {
    "msg": "result",
    "id": "1",
    "result": {
        "public_key": '{"alg":"RSA-OAEP-256","n":"abc/def"}',
        "private_key": '{"$binary":"AAAA/BBBB"}',
        "E2EKey": CIPHER_V1,
        "oldRoomKeys": [{"e2eKeyId": "0123456789ab", "ts": {"$date": 5}, "E2EKey": CIPHER_V1}],
        "message": {
            "_id": MSG_ID,
            "t": "e2e",
            "msg": CIPHER_V1,
            "content": {"algorithm": "rc.v2.aes-sha2", "kid": "k-1", "iv": "aXY=", "ciphertext": "Y2lw/aGVy"},
        },
    },
}


def test_ciphertext_kept_byte_for_byte_by_default() -> None:
    out = norm(Normalizer(), "out", E2E_RESULT)["result"]
    src = E2E_RESULT["result"]
    for key in ("public_key", "private_key", "E2EKey"):
        assert out[key] == src[key]
    assert out["oldRoomKeys"][0]["E2EKey"] == CIPHER_V1, "never aliased even with an id-shaped segment"
    assert out["oldRoomKeys"][0]["ts"][DATE_KEY]["abs"] == 5.0
    assert out["message"]["msg"] == CIPHER_V1
    assert out["message"]["content"] == src["message"]["content"]
    assert out["message"]["_id"] == "<id#1>"


def test_ciphertext_by_key_id_prefix_when_clients_re_encrypt() -> None:
    keyid = Normalizer(NormalizeOptions(ciphertext="keyid"))
    out = norm(keyid, "out", E2E_RESULT)["result"]
    assert out["E2EKey"] == "<cipher:0123456789ab>"
    assert out["message"]["msg"] == "<cipher:0123456789ab>"
    assert out["message"]["content"] == {
        "algorithm": "rc.v2.aes-sha2",
        "kid": "k-1",
        "iv": "<iv>",
        "ciphertext": "<cipher>",
    }
    # same key id, other bytes: equal; other key id: different
    other = dict(E2E_RESULT["result"], E2EKey="0123456789abDIFFERENT")
    assert (
        norm(
            Normalizer(NormalizeOptions(ciphertext="keyid")),
            "out",
            {"msg": "result", "id": "1", "result": other},
        )["result"]["E2EKey"]
        == out["E2EKey"]
    )
    v1 = {"msg": "x", "content": {"algorithm": "rc.v1.aes-sha2", "ciphertext": "fedcba987654XYZ"}}
    assert norm(keyid, "out", v1)["content"]["ciphertext"] == "<cipher:fedcba987654>"


def test_input_is_not_modified_and_bad_text_survives() -> None:
    obj = {"msg": "added", "collection": "c", "id": MSG_ID, "fields": {"d": {"$date": 1}}}
    before = dumps(obj)
    Normalizer().normalize(obj, "out")
    assert dumps(obj) == before
    assert Normalizer().normalize("not json", "in") == {"$unparsed": "not json"}
    assert Normalizer().normalize("[1]", "in") == {"$unparsed": "[1]"}
