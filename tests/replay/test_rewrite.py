"""IdRewriter: what the live runner sends instead of the recorded client frames."""

from __future__ import annotations

import hashlib
import json

import pytest

from ddp_e2e.replay.compare import Comparator, split_segments
from ddp_e2e.replay.errors import MissingCredentialsError
from ddp_e2e.replay.redact import redact_frame
from ddp_e2e.replay.rewrite import IdRewriter

from .util import dumps, f_in, f_out

RECORDED_TOKEN = "<redacted-token:3f2a9c1b7d>"
LIVE_TOKEN = "L" * 43
NEW_RID = "Nn3Wx8YtKz2HnR5aB"
OLD_RID = "Oo3Wx8YtKz2HnR5aB"


def login_result(token: str, uid: str = "u-alice") -> str:
    return dumps(
        {"msg": "result", "id": "1", "result": {"id": uid, "token": token, "tokenExpires": {"$date": 1}}}
    )


def test_token_from_new_login_replaces_recorded_resume() -> None:
    rw = IdRewriter()
    rw.learn(login_result(RECORDED_TOKEN), login_result(LIVE_TOKEN))
    assert rw.mapping == {RECORDED_TOKEN: LIVE_TOKEN}
    sent = json.loads(
        rw.rewrite_client(
            dumps({"msg": "method", "id": "5", "method": "login", "params": [{"resume": RECORDED_TOKEN}]})
        )
    )
    assert sent["params"][0]["resume"] == LIVE_TOKEN
    assert sent["id"] == "5"


def test_server_ids_learned_and_substituted_everywhere_but_ciphertext() -> None:
    rw = IdRewriter()
    rw.learn(
        dumps({"msg": "result", "id": "2", "result": {"rid": OLD_RID}}),
        dumps({"msg": "result", "id": "2", "result": {"rid": NEW_RID}}),
    )
    rw.learn(
        dumps({"msg": "added", "collection": "rooms", "id": "Aa3Wx8YtKz2HnR5aB"}),
        dumps({"msg": "added", "collection": "rooms", "id": "Bb3Wx8YtKz2HnR5aB"}),
    )
    frame = {
        "msg": "method",
        "id": "3",
        "method": "sendMessage",
        "params": [
            {"rid": OLD_RID, "msg": "plain", "t": "e2e", "content": {"ciphertext": OLD_RID}},
            OLD_RID,
            f"{OLD_RID}/typing",
            "Aa3Wx8YtKz2HnR5aB",
            {"E2EKey": OLD_RID},
        ],
    }
    sent = json.loads(rw.rewrite_client(dumps(frame)))
    params = sent["params"]
    assert params[0]["rid"] == NEW_RID
    assert params[0]["msg"] == "plain", "an e2e message's msg is ciphertext and passes untouched"
    assert params[0]["content"] == {"ciphertext": OLD_RID}
    assert params[1] == NEW_RID and params[2] == f"{NEW_RID}/typing" and params[3] == "Bb3Wx8YtKz2HnR5aB"
    assert params[4] == {"E2EKey": OLD_RID}


def test_method_and_sub_ids_are_not_learned_from_answers() -> None:
    rw = IdRewriter()
    rw.learn(
        dumps({"msg": "result", "id": "1", "result": None}),
        dumps({"msg": "result", "id": "9", "result": None}),
    )
    rw.learn(dumps({"msg": "ready", "subs": ["a"]}), dumps({"msg": "ready", "subs": ["b"]}))
    rw.learn(
        dumps({"msg": "result", "id": "1", "result": {"count": "12345"}}),
        dumps({"msg": "result", "id": "1", "result": {"count": "54321"}}),
    )
    assert rw.mapping == {}


def test_redacted_password_login_uses_credentials() -> None:
    recorded = redact_frame(
        "in",
        dumps(
            {
                "msg": "method",
                "id": "1",
                "method": "login",
                "params": [
                    {
                        "user": {"username": "alice"},
                        "password": {"digest": "whatever", "algorithm": "sha-256"},
                    }
                ],
            }
        ),
    )
    rw = IdRewriter({"alice": "alice-pass"})
    sent = json.loads(rw.rewrite_client(recorded))
    assert sent["params"][0]["password"] == {
        "digest": hashlib.sha256(b"alice-pass").hexdigest(),
        "algorithm": "sha-256",
    }
    plain = redact_frame(
        "in",
        dumps(
            {
                "msg": "method",
                "id": "1",
                "method": "login",
                "params": [{"user": {"email": "a@x.io"}, "password": "p"}],
            }
        ),
    )
    assert (
        json.loads(IdRewriter({"a@x.io": "secret"}).rewrite_client(plain))["params"][0]["password"]
        == "secret"
    )


def test_missing_credentials_are_a_clear_error() -> None:
    recorded = redact_frame(
        "in",
        dumps(
            {
                "msg": "method",
                "id": "1",
                "method": "login",
                "params": [
                    {"user": {"username": "bob"}, "password": {"digest": "x", "algorithm": "sha-256"}}
                ],
            }
        ),
    )
    with pytest.raises(MissingCredentialsError, match="--credentials bob=PASSWORD"):
        IdRewriter({"alice": "a"}).rewrite_client(recorded)


def test_unchanged_frames_are_sent_byte_for_byte() -> None:
    rw = IdRewriter()
    for text in (
        '{"msg":"connect", "version":"1","support":["1"]}',
        "not json",
        "[1,2]",
        '{"msg":"method","id":"1","method":"login","params":[{"user":{"username":"a"},"password":"clear"}]}',
    ):
        assert rw.rewrite_client(text) == text


def test_renumbering_method_and_sub_ids() -> None:
    rw = IdRewriter(renumber=True)
    first = json.loads(rw.rewrite_client(dumps({"msg": "method", "id": "1", "method": "x"})))
    sub = json.loads(rw.rewrite_client(dumps({"msg": "sub", "id": "1", "name": "y"})))
    unsub = json.loads(rw.rewrite_client(dumps({"msg": "unsub", "id": "1"})))
    assert first["id"] == "r1" and sub["id"] == "r2" and unsub["id"] == "r2"


def test_reconnect_session_is_rewritten() -> None:
    rw = IdRewriter()
    rw.learn(
        dumps({"msg": "connected", "session": "OldSession1234567"}),
        dumps({"msg": "connected", "session": "NewSession7654321"}),
    )
    sent = json.loads(
        rw.rewrite_client(
            dumps({"msg": "connect", "version": "1", "support": ["1"], "session": "OldSession1234567"})
        )
    )
    assert sent["session"] == "NewSession7654321"


def test_comparator_feeds_the_rewriter() -> None:
    frames = [
        f_in({"msg": "method", "id": "1", "method": "createPrivateGroup", "params": ["g"]}),
        f_out({"msg": "result", "id": "1", "result": {"rid": OLD_RID}}),
        f_out({"msg": "updated", "methods": ["1"]}),
        f_in({"msg": "method", "id": "2", "method": "eraseRoom", "params": [OLD_RID]}),
    ]
    live = [frames[0], f_out({"msg": "result", "id": "1", "result": {"rid": NEW_RID}}), frames[2]]
    rw = IdRewriter()
    comparator = Comparator(on_pair=rw.learn)
    for e_seg, a_seg in zip(split_segments(frames)[:2], split_segments(live)[:2], strict=True):
        assert comparator.feed(e_seg, a_seg) == []
    assert json.loads(rw.rewrite_client(frames[3].text))["params"] == [NEW_RID]
