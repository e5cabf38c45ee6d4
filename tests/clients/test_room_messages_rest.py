"""Issue #3's real-client flow over REST: ``chat.sendMessage`` in, the real DDP clients out.

alice logs in over REST (``POST /api/v1/login``) and sends ``t:"e2e"`` messages (``content`` v1
and v2 with ``e2eMentions``, real ciphertext from ``ddp_e2e.client.crypto``) with
``POST /api/v1/chat.sendMessage`` and her ``X-User-Id``/``X-Auth-Token``, as Rocket.Chat's mobile
app does. Two members of ``r-secret`` listen on ``stream-room-messages`` with two real clients at
once: bob with @rocket.chat/ddp-client (a room_messages.mjs process) and carol with python-ddp.
Both must get each message exactly once, unchanged, the ciphertext verbatim in the frame. Bad
requests (no or wrong credentials, a non-member, an operator object for the room, plaintext to
the encrypted room) get Rocket.Chat's envelopes and leave the room's history as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from helpers import assert_delivered_unchanged
from test_room_messages_python_ddp import OPTIONS
from test_room_messages_rc import (
    RID,
    STREAM,
    NodeRole,
    assert_frame_unchanged,
    assert_ok,
    assert_unchanged,
    decrypt,
    driver_config,
    e2e_message,
    new_id,
    room_keys,
)


def rest_login(server: Any, username: str) -> dict[str, str]:
    """``X-User-Id``/``X-Auth-Token`` from ``POST /api/v1/login`` with the plain password."""
    res = httpx.post(f"{server.http_url}/api/v1/login",
                     json={"user": username, "password": f"{username}-pass"}, timeout=10)
    assert res.status_code == 200, res.text
    data = res.json()["data"]
    assert data["userId"] == f"u-{username}"
    return {"X-User-Id": data["userId"], "X-Auth-Token": data["authToken"]}


def send(server: Any, headers: dict[str, str] | None, message: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{server.http_url}/api/v1/chat.sendMessage", headers=headers,
                      json={"message": message}, timeout=10)


def test_rest_send_reaches_a_ddpsdk_and_a_python_ddp_member_unchanged(
        server: Any, node_clients: Path, member: Any) -> None:
    keys = room_keys()
    sent = [e2e_message(keys, 1, "over REST v1 ✓ é"), e2e_message(keys, 2, "over REST v2 𝄞")]
    ids = [m["_id"] for m in sent]
    headers = rest_login(server, "alice")
    carol = member("carol")
    assert carol.subscribe(STREAM, [RID, OPTIONS]) is None
    before = carol.history_ids()

    bob = NodeRole(node_clients, driver_config(server, "bob", "receiver", expect=ids,
                                               room_keys={kid: key.jwk_json() for kid, key in keys.items()}))
    try:
        bob.wait_ready()
        for message in sent:
            res = send(server, headers, message)
            assert res.status_code == 200, res.text
            body = res.json()
            assert body["success"] is True
            assert_unchanged(body["message"], message, "chat.sendMessage answer")
            assert body["message"]["u"]["_id"] == "u-alice"
        receiver = bob.finish()
    finally:
        bob.finish(timeout=1)

    assert_ok(receiver)
    assert receiver["subscription"]["params"] == [RID, {"useCollection": False, "args": [None]}]
    for got, message in zip(receiver["received"], sent, strict=True):
        assert got["count"] == 1, got
        assert_unchanged(got["message"], message, "bob's DDPSDK stream")
        assert_frame_unchanged(got["raw"], message, "bob's DDPSDK stream")
        assert got["plaintext"] == decrypt(message, keys)
    assert receiver["unexpected"] == []

    assert carol.wait_for(ids), "carol: not every message arrived"
    for message in sent:
        assert_delivered_unchanged(carol, message, keys, "carol")
    assert carol.history_ids() == ids[::-1] + before


def test_rest_send_refusals_keep_the_room_as_it_was(server: Any, member: Any) -> None:
    carol = member("carol")
    assert carol.subscribe(STREAM, [RID, OPTIONS]) is None
    before = carol.history_ids()
    keys = room_keys()
    alice = rest_login(server, "alice")

    def refused(headers: dict[str, str] | None, message: dict[str, Any], status: int) -> dict[str, Any]:
        res = send(server, headers, message)
        assert res.status_code == status, res.text
        body = res.json()
        assert isinstance(body, dict)
        return body

    message = e2e_message(keys, 2, "refused")
    for headers in (None, {"X-User-Id": "u-alice"}, {**alice, "X-Auth-Token": "not-a-token"},
                    {**alice, "X-User-Id": "u-bob"}):
        body = refused(headers, message, 401)
        assert body == {"status": "error", "message": "You must be logged in to do this."}, (headers, body)

    # a non-member: upstream's canSendMessage throws a plain Error, hence no errorType
    body = refused(rest_login(server, "dave"), message, 400)
    assert body == {"success": False, "error": "error-not-allowed"}, body

    for bad_rid in ({"$ne": None}, {"$regex": ".*"}):
        body = refused(alice, {**message, "rid": bad_rid}, 400)
        assert body["success"] is False and body["errorType"] == "invalid-params", body

    body = refused(alice, {"_id": new_id(), "rid": RID, "msg": "in the clear"}, 400)
    assert body["success"] is False and body["errorType"] == "error-not-allowed", body

    assert carol.history_ids() == before
    assert carol.stream_frames() == []
