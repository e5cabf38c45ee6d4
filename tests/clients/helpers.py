"""Helpers shared by the real-client tests (this module holds no tests itself).

:class:`PyDDPClient` wraps python-ddp (``DDPClient`` 0.1.5, hharnisc), which is threaded (a ws4py
reader thread, pyee callbacks): every wait is a threading primitive with a timeout. It also sets
a process-wide default socket timeout when it opens a socket, which the wrapper undoes, and ws4py
sockets must be closed explicitly. The test modules subclass it to record what they look at.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from typing import Any

from DDPClient import DDPClient
from test_room_messages_rc import RID, STREAM, WAIT, assert_frame_unchanged, assert_unchanged, decrypt


class PyDDPClient:
    """A python-ddp client: connect, ``call``/``subscribe`` as ``(error, result)``, login, close."""

    #: upper bound for anything that should happen (subclasses may allow more)
    wait: float = 10.0

    def __init__(self, url: str) -> None:
        prev = socket.getdefaulttimeout()
        self.client = DDPClient(url, auto_reconnect=False)
        # DDPSocket sets a 10 s process-wide default socket timeout; keep it to this client.
        socket.setdefaulttimeout(prev)
        sock = self.client.ddpsocket
        # ws4py's close_connection() skips close() when shutdown() raises (peer already gone)
        # and then drops its reference: keep one so close() below can always release the fd.
        self.raw_socket = sock.sock
        self.connected = threading.Event()
        self.closed = threading.Event()
        self.client.on("connected", self.connected.set)

    def context(self) -> str:
        """Extra text for the assertion messages of a wait that timed out."""
        return ""

    def connect(self) -> None:
        self.client.connect()
        assert self.connected.wait(self.wait), f"python-ddp: no `connected`{self.context()}"

    def call(self, method: str, params: list[Any]) -> tuple[Any, Any]:
        """``(error, result)`` of one method call."""
        done = threading.Event()
        out: list[Any] = []

        def cb(err: Any, result: Any) -> None:
            out.extend([err, result])
            done.set()

        self.client.call(method, params, cb)
        assert done.wait(self.wait), f"no result for {method}{self.context()}"
        return out[0], out[1]

    def subscribe(self, name: str, params: list[Any]) -> Any:
        """None once ``ready``; the ``nosub`` error otherwise."""
        done = threading.Event()
        out: list[Any] = []

        def cb(err: Any, sub_id: Any) -> None:
            out.append(err)
            done.set()

        self.client.subscribe(name, params, cb)
        assert done.wait(self.wait), f"no ready/nosub for {name} {params}"
        return out[0]

    def login(self, username: str, password: str) -> tuple[Any, Any]:
        """``login`` with the password digest, as Meteor's client sends it."""
        digest = hashlib.sha256(password.encode()).hexdigest()
        return self.call("login", [{"user": {"username": username},
                                    "password": {"digest": digest, "algorithm": "sha-256"}}])

    def close(self) -> None:
        if not self.closed.is_set():
            self.client.close()
        self.closed.wait(self.wait)
        thread = getattr(self.client.ddpsocket, "_th", None)
        if thread is not None:
            thread.join(self.wait)
        self.raw_socket.close()


class PyMember(PyDDPClient):
    """A python-ddp client for one user that records what ``stream-room-messages`` delivers:
    the ``changed`` events python-ddp emits (what an app sees) and the raw text frames."""

    wait = WAIT

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.cond = threading.Condition()
        self.frames: list[str] = []  # every text frame received
        self.events: list[tuple[str, list[Any]]] = []  # (eventName, args) of the stream's changes
        self.client.ddpsocket.on("received_message", self._on_frame)
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
        self.connect()
        err, result = self.login(username, f"{username}-pass")
        assert err is None and result["id"] == f"u-{username}", (err, result)
        return self

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


def assert_delivered_unchanged(m: PyMember, sent: dict[str, Any], keys: Any, who: str) -> None:
    """Exactly one delivery, its fields and its raw frame unchanged, and it decrypts."""
    got = m.delivered(sent["_id"])
    assert len(got) == 1, f"{who}: {len(got)} deliveries of {sent['_id']}"
    assert_unchanged(got[0], sent, f"{who}'s stream")
    assert_frame_unchanged(m.raw_frame(sent["_id"]), sent, f"{who}'s stream")
    assert decrypt(got[0], keys) == decrypt(sent, keys)
