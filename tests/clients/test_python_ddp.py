"""python-ddp (`DDPClient`, hharnisc) against our server, with short server heartbeats.

python-ddp is threaded (ws4py reader thread, pyee callbacks); every wait here is a
threading.Event with a timeout. The server is started with sub-second heartbeats so that
"survives a heartbeat" and "a silent client is dropped" happen within the test's time.

Three sessions cover the heartbeat contract:
* as installed (offers "1", answers pings): logs in, calls, subscribes, and is still usable
  after several server pings;
* offering only "pre1" and never answering pings (the client generation the spec describes;
  0.1.5 itself offers "1" and does answer pings): the server must send no heartbeat at all, so
  the session outlives several intervals;
* "1" but never answering pings: the server must close it. This is what makes the first two
  meaningful: heartbeats are really on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import DDPClient as ddp_module
import ejson
import pytest
from helpers import PyDDPClient

from tests.conftest import server_fixture

INTERVAL = 0.25
TIMEOUT = 0.5
WAIT = 10.0  # generous upper bound for anything that should happen


# Our server with heartbeats short enough to observe inside a test.
hb_server = server_fixture("--heartbeat-interval", str(INTERVAL), "--heartbeat-timeout", str(TIMEOUT),
                           name="hb_server")


class PyDDP(PyDDPClient):
    """A python-ddp client plus Events that bridge its threaded callbacks to the test."""

    wait = WAIT

    def __init__(self, url: str, answer_pings: bool = True) -> None:
        super().__init__(url)
        self.answer_pings = answer_pings
        self.received: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.pings = 0
        self.lock = threading.Lock()
        self.close_info: tuple[Any, Any] | None = None
        self.ping_events = [threading.Event() for _ in range(3)]

        sock = self.client.ddpsocket
        original_send = sock.send

        def send(msg: dict[str, Any]) -> None:
            with self.lock:
                self.sent.append(msg)
            if msg.get("msg") == "pong" and not self.answer_pings:
                return
            original_send(msg)

        sock.send = send
        sock.on("received_message", self._on_raw)
        self.client.on("socket_closed", self._on_closed)

    def context(self) -> str:
        return f"; received {self.received[-5:]}"

    def _on_raw(self, data: Any) -> None:
        msg = ejson.loads(str(data))
        with self.lock:
            self.received.append(msg)
            if msg.get("msg") == "ping":
                self.pings += 1
                if self.pings <= len(self.ping_events):
                    self.ping_events[self.pings - 1].set()

    def _on_closed(self, code: Any, reason: Any = None) -> None:
        self.close_info = (code, reason)
        self.closed.set()

    def sent_msgs(self, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.sent if m.get("msg") == kind]


@pytest.fixture
def make_client(hb_server: Any) -> Iterator[Any]:
    clients: list[PyDDP] = []

    def make(**kwargs: Any) -> PyDDP:
        c = PyDDP(hb_server.ws_url, **kwargs)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


def test_flow_and_survives_heartbeats(make_client: Any) -> None:
    """Login, method, sub -> ready; then two server pings answered and the session still works."""
    c = make_client()
    c.connect()
    assert c.sent_msgs("connect")[0]["version"] == "1"

    err, result = c.login("alice", "alice-pass")
    assert err is None, err
    assert result["id"] == "u-alice" and result["token"]
    assert result["tokenExpires"] is not None  # meteor-ejson decoded {"$date": ...}

    err, result = c.call("ddp-e2e.echo", [{"a": [1, "two", None]}])
    assert err is None and result == {"a": [1, "two", None]}
    assert c.subscribe("meteor.loginServiceConfiguration", []) is None

    # Silence now: the server must ping; the client answers each ping.
    assert c.ping_events[1].wait(WAIT), f"fewer than 2 server pings; received {c.received[-5:]}"
    assert not c.closed.is_set(), c.close_info
    assert len(c.sent_msgs("pong")) >= 1
    err, result = c.call("ddp-e2e.echo", ["still here"])
    assert err is None and result == "still here"


def test_pre1_client_that_never_pongs_stays_connected(make_client: Any, monkeypatch: Any) -> None:
    """A pre1 session gets no heartbeat, so a client that never answers pings is not dropped."""
    # The python-ddp generation the spec describes sends {"version":"pre1","support":["pre1"]};
    # 0.1.5 reads its offer from this module-level list when the socket opens.
    monkeypatch.setattr(ddp_module, "DDP_VERSIONS", ["pre1"])
    c = make_client(answer_pings=False)
    c.connect()
    assert c.sent_msgs("connect")[0] == {"msg": "connect", "version": "pre1", "support": ["pre1"]}
    err, result = c.login("alice", "alice-pass")
    assert err is None and result["id"] == "u-alice"

    # Several heartbeat periods of silence: a closed socket or any ping is a failure.
    window = 4 * (INTERVAL + TIMEOUT)
    assert not c.closed.wait(window), f"pre1 session was closed: {c.close_info}"
    assert c.pings == 0, "the server pinged a pre1 session"
    err, result = c.call("ddp-e2e.echo", ["alive"])
    assert err is None and result == "alive"


def test_v1_client_that_never_pongs_is_closed(make_client: Any) -> None:
    """With heartbeats on, a v1 session that ignores the server's ping is closed."""
    c = make_client(answer_pings=False)
    c.connect()
    assert c.closed.wait(WAIT), "the server never closed a session that ignores pings"
    assert c.pings >= 1, "closed without a ping first"
