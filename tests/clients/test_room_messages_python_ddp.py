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
socket, which ``PyMember`` undoes, and ws4py sockets must be closed explicitly.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from DDPClient import DDPClient
from test_room_messages_rc import (
    RID,
    STREAM,
    WAIT,
    assert_frame_unchanged,
    assert_unchanged,
    decrypt,
    e2e_message,
    new_id,
    room_keys,
)

LEGACY = False
OPTIONS = {"useCollection": False, "args": []}


class PyMember:
    """A python-ddp client for one user that records what ``stream-room-messages`` delivers:
    the ``changed`` events python-ddp emits (what an app sees) and the raw text frames."""

    def __init__(self, url: str) -> None:
        prev = socket.getdefaulttimeout()
        self.client = DDPClient(url, auto_reconnect=False)
        # DDPSocket sets a 10 s process-wide default socket timeout; keep it to this client.
        socket.setdefaulttimeout(prev)
        sock = self.client.ddpsocket
        # ws4py drops its socket reference when shutdown() fails on a gone peer; keep one to close.
        self.raw_socket = sock.sock
        self.cond = threading.Condition()
        self.frames: list[str] = []  # every text frame received
        self.events: list[tuple[str, list[Any]]] = []  # (eventName, args) of the stream's changes
        self.connected = threading.Event()
        self.closed = threading.Event()
        sock.on("received_message", self._on_frame)
        self.client.on("connected", self.connected.set)
        self.client.on("changed", self._on_changed)
        self.client.on("socket_closed", lambda *_: self.closed.set())

    def _on_frame(self, data: Any) -> None:
        with self.cond:
            self.frames.append(str(data))

    def _on_changed(self, collection: str, doc_id: str, fields: dict[str, Any], cleared: Any) -> None:
        if collection != STREAM:
            return
        with self.cond:
            self.events.append((fields.get("eventName"), fields.get("args")))
            self.cond.notify_all()

    def start(self, username: str) -> PyMember:
        """Connect and log in as the demo user ``username`` (password digest, as Meteor sends)."""
        self.client.connect()
        assert self.connected.wait(WAIT), "python-ddp: no `connected`"
        digest = hashlib.sha256(f"{username}-pass".encode()).hexdigest()
        err, result = self.call("login", [{"user": {"username": username},
                                           "password": {"digest": digest, "algorithm": "sha-256"}}])
        assert err is None and result["id"] == f"u-{username}", (err, result)
        return self

    def call(self, method: str, params: list[Any]) -> tuple[Any, Any]:
        """``(error, result)`` of one method call."""
        done = threading.Event()
        out: list[Any] = []

        def cb(err: Any, result: Any) -> None:
            out.extend([err, result])
            done.set()

        self.client.call(method, params, cb)
        assert done.wait(WAIT), f"no result for {method}"
        return out[0], out[1]

    def subscribe(self, name: str, params: list[Any]) -> Any:
        """None once ``ready``; the ``nosub`` error otherwise."""
        done = threading.Event()
        out: list[Any] = []

        def cb(err: Any, sub_id: Any) -> None:
            out.append(err)
            done.set()

        self.client.subscribe(name, params, cb)
        assert done.wait(WAIT), f"no ready/nosub for {name} {params}"
        return out[0]

    def delivered(self, message_id: str) -> list[dict[str, Any]]:
        """Every delivery of message ``message_id`` on this room's event."""
        with self.cond:
            return [args[0] for event, args in self.events
                    if event == RID and args and isinstance(args[0], dict) and args[0].get("_id") == message_id]

    def wait_for(self, ids: list[str], timeout: float = WAIT) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: all(self._seen(i) for i in ids), timeout)

    def _seen(self, message_id: str) -> bool:
        return any(event == RID and args and args[0].get("_id") == message_id for event, args in self.events)

    def raw_frame(self, message_id: str) -> str | None:
        """The text frame of the stream event that carried ``message_id``."""
        with self.cond:
            for text in self.frames:
                frame = json.loads(text)
                if frame.get("collection") == STREAM and frame.get("msg") == "changed":
                    args = frame["fields"].get("args") or []
                    if args and isinstance(args[0], dict) and args[0].get("_id") == message_id:
                        return text
        return None

    def stream_frames(self) -> list[str]:
        with self.cond:
            return [t for t in self.frames if json.loads(t).get("collection") == STREAM]

    def history_ids(self) -> list[str]:
        err, result = self.call("loadHistory", [RID, None, 100, None])
        assert err is None, err
        return [m["_id"] for m in result["messages"]]

    def close(self) -> None:
        if not self.closed.is_set():
            self.client.close()
        self.closed.wait(WAIT)
        thread = getattr(self.client.ddpsocket, "_th", None)
        if thread is not None:
            thread.join(WAIT)
        self.raw_socket.close()


@pytest.fixture
def member(server: Any) -> Iterator[Callable[[str], PyMember]]:
    """``member(username)``: a logged-in python-ddp client, closed after the test."""
    made: list[PyMember] = []

    def make(username: str) -> PyMember:
        made.append(PyMember(server.ws_url))
        return made[-1].start(username)

    yield make
    for m in made:
        m.close()


def assert_delivered_unchanged(m: PyMember, sent: dict[str, Any], keys: Any, who: str) -> None:
    """Exactly one delivery, its fields and its raw frame unchanged, and it decrypts."""
    got = m.delivered(sent["_id"])
    assert len(got) == 1, f"{who}: {len(got)} deliveries of {sent['_id']}"
    assert_unchanged(got[0], sent, f"{who}'s stream")
    assert_frame_unchanged(m.raw_frame(sent["_id"]), sent, f"{who}'s stream")
    assert decrypt(got[0], keys) == decrypt(sent, keys)


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
