"""Issue #3's real-client flow with python-ddp (``DDPClient`` 0.1.5, hharnisc), in process.

alice, bob and carol (members of the demo workspace's encrypted ``r-secret``) subscribe to
``stream-room-messages`` with both param forms a Streamer accepts: the legacy ``[rid, false]`` and
``[rid, {"useCollection": false, "args": []}]``. alice sends ``t:"e2e"`` messages (``content`` v1
and v2, real ciphertext from ``ddp_e2e.client.crypto``, with ``e2eMentions``) with python-ddp's
``call('sendMessage', ...)``; each member's ``changed`` event and raw frame must carry them
unchanged. dave (not a member) is refused in both forms with ``nosub`` ``not-allowed``; bad input
(an operator object for the room id, a plaintext message to the encrypted room) is refused with
the right error and stores nothing.

python-ddp is threaded (a ws4py reader thread, pyee callbacks): every wait is a threading
primitive with a timeout. It also sets a process-wide default socket timeout when it opens a
socket, which ``helpers.PyMember`` undoes, and ws4py sockets must be closed explicitly.
"""

from __future__ import annotations

from typing import Any

import pytest
from helpers import assert_delivered_unchanged
from test_room_messages_rc import RID, STREAM, assert_unchanged, e2e_message, new_id, room_keys

LEGACY = False
OPTIONS = {"useCollection": False, "args": []}


def test_python_ddp_members_get_e2e_messages_unchanged_in_both_param_forms(member: Any) -> None:
    alice, bob, carol, dave = (member(u) for u in ("alice", "bob", "carol", "dave"))
    before = alice.history_ids()
    assert alice.subscribe(STREAM, [RID, OPTIONS]) is None
    assert bob.subscribe(STREAM, [RID, LEGACY]) is None
    assert carol.subscribe(STREAM, [RID, OPTIONS]) is None
    for params in ([RID, LEGACY], [RID, OPTIONS]):
        err = dave.subscribe(STREAM, params)
        assert err is not None and err["error"] == "not-allowed", (params, err)

    keys = room_keys()
    sent = [e2e_message(keys, 1, "python-ddp v1 ✓ é"), e2e_message(keys, 2, "python-ddp v2 𝄞")]
    for message in sent:
        err, result = alice.call("sendMessage", [message])
        assert err is None, err
        assert_unchanged(result, message, "sendMessage result")
    ids = [m["_id"] for m in sent]
    for who, m in (("alice", alice), ("bob", bob), ("carol", carol)):
        assert m.wait_for(ids), f"{who}: not every message arrived"
        for message in sent:
            assert_delivered_unchanged(m, message, keys, who)

    err, _ = dave.call("sendMessage", [e2e_message(keys, 2, "from outside")])
    assert err is not None and err["error"] == "error-not-allowed", err
    # The server hands an event to every listener at once: had dave's refused sub listened, he
    # would hold the messages by now.
    assert dave.stream_frames() == []
    assert all(i not in "".join(dave.frames) for i in ids)
    # newest first: alice's two messages on top of what was there, dave's attempt nowhere
    assert alice.history_ids() == ids[::-1] + before


@pytest.mark.parametrize("bad_rid", [{"$ne": None}, {"$regex": ".*"}])
def test_bad_input_is_refused_and_stores_nothing(member: Any, bad_rid: dict[str, Any]) -> None:
    """An operator object for the room id never reaches a query; a plaintext message to the
    encrypted room is refused; the room's history is the same afterwards."""
    bob = member("bob")
    before = bob.history_ids()

    err = bob.subscribe(STREAM, [bad_rid, OPTIONS])
    assert err is not None and (err["error"], err.get("reason")) == (400, "Match failed"), err
    err = bob.subscribe(STREAM, [RID, bad_rid])
    assert err is not None and (err["error"], err.get("reason")) == (400, "Match failed"), err

    keys = room_keys()
    smuggled = {**e2e_message(keys, 2, "operator rid"), "rid": bad_rid}
    err, _ = bob.call("sendMessage", [smuggled])
    assert err is not None and (err["error"], err.get("reason")) == (400, "Match failed"), err
    plaintext = {"_id": new_id(), "rid": RID, "msg": "in the clear"}
    err, _ = bob.call("sendMessage", [plaintext])
    assert err is not None and err["error"] == "error-not-allowed", err

    assert bob.history_ids() == before
    assert bob.stream_frames() == []
