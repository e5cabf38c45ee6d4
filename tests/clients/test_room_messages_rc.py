"""Issue #3's real-client flow with Rocket.Chat's own SDK (@rocket.chat/ddp-client, DDPSDK).

Three Node processes, one per user and role (tests/clients/room_messages.mjs), share the demo
workspace's encrypted group ``r-secret``: bob (a member) listens on ``stream-room-messages``,
dave (not a member) tries to, alice sends ``t:"e2e"`` messages encrypted with WebCrypto, in
``content`` v1 (A128CBC key) and v2 (A256GCM key) with ``e2eMentions``. Every member's stream,
alice's own included, must deliver each message exactly once with ``msg``, ``t``, ``e2e``,
``content`` and ``e2eMentions`` deep-equal to what alice's client put on the wire, the ciphertext
verbatim in the websocket frame; dave's subscription ends in ``nosub`` ``not-allowed``, his send
in ``error-not-allowed``, and nothing of the room reaches him or the store.

The processes are synchronised on their stdout (``READY`` once a stream is ready) and stdin
(``DONE`` releases the outsider), every wait with a timeout. This module also holds the helpers
the python-ddp and REST variants share: ``NodeRole``, the message builders and the
"unchanged" assertions.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from ddp_e2e.client import crypto

SCRIPT = "room_messages.mjs"
RID = "r-secret"  # the demo fixture's encrypted group: alice, bob, carol; dave is not a member
STREAM = "stream-room-messages"
#: What an E2EE client writes and the server must hand on untouched.
CLIENT_FIELDS = ("msg", "t", "e2e", "content", "e2eMentions")
WAIT = 30.0  # upper bound for anything that should happen; a pass takes well under a second
MENTIONS = {"e2eUserMentions": ["@bob", "@carol"], "e2eChannelMentions": ["#général"]}


class NodeRole:
    """One room_messages.mjs process playing one user's whole role, read line by line as it runs.

    ``subprocess.run`` would block until the process ends; a receiver must be started, seen to be
    ready (its ``READY`` line) and only then may the sender start. Reader threads put stdout lines
    on a queue so every wait has a timeout, and ``finish`` always reaps the process and its pipes.
    """

    def __init__(self, clients_dir: Path, config: dict[str, Any]) -> None:
        argv = ["node", "--experimental-websocket", str(clients_dir / SCRIPT), json.dumps(config)]
        self.role = config.get("role")
        self.proc = subprocess.Popen(argv, cwd=clients_dir, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, encoding="utf-8")
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.report: dict[str, Any] | None = None
        self.readers = [threading.Thread(target=self._read_stdout, daemon=True),
                        threading.Thread(target=self._read_stderr, daemon=True)]
        for t in self.readers:
            t.start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.stdout.append(line)
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)

    def describe(self) -> str:
        """The process's output so far, for assertion messages."""
        return f"{self.role}: stdout {''.join(self.stdout)[-3000:]}\nstderr {''.join(self.stderr)[-1500:]}"

    def wait_ready(self, timeout: float = WAIT) -> None:
        """Block until the driver prints ``READY``; fail if it exits or stays silent."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                raise AssertionError(f"{self.role} ended before READY\n{self.describe()}")
            if line == "READY":
                return
        raise AssertionError(f"{self.role}: no READY within {timeout} s\n{self.describe()}")

    def release(self) -> None:
        """Tell a lingering driver (the outsider) it may stop listening."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write("DONE\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # it already ended; finish() reports how

    def finish(self, timeout: float = WAIT) -> dict[str, Any]:
        """Wait for the driver to end (killed after ``timeout``), release every pipe, and return its
        JSON report. Idempotent, so cleanup code may call it on every role."""
        if self.report is not None:
            return self.report
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        for t in self.readers:
            t.join(5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()
        reports = [ln for ln in "".join(self.stdout).split("\n") if ln.startswith("{")]
        report: dict[str, Any] = json.loads(reports[-1]) if reports else {"ok": False, "error": "no JSON report"}
        report["returncode"] = self.proc.returncode
        self.report = report
        return report


def driver_config(server: Any, username: str, role: str, **extra: Any) -> dict[str, Any]:
    """A room_messages.mjs config for the demo user ``username`` on ``RID``."""
    return {"url": server.ws_url, "http": server.http_url, "username": username, "password": f"{username}-pass",
            "role": role, "rid": RID, "step_timeout_ms": 10000, "wait_ms": 20000, "hard_timeout_ms": 60000,
            **extra}


def assert_ok(report: dict[str, Any]) -> None:
    brief = {k: report.get(k) for k in ("returncode", "ok", "failed_step", "error", "steps")}
    assert report.get("returncode") == 0 and report.get("ok") is True, json.dumps(brief)


def new_id() -> str:
    """A fresh message id (17 characters, as Meteor's Random.id() makes)."""
    return uuid.uuid4().hex[:17]


def room_keys() -> dict[str, crypto.RoomKey]:
    """Two room keys a real room can hold: a 7.0-7.12 A128CBC key and a 7.13+ A256GCM key."""
    cbc = crypto.generate_room_key("A128CBC")
    return {crypto.key_id_sha256(cbc.jwk_json()): cbc, crypto.key_id_uuid(): crypto.generate_room_key("A256GCM")}


def e2e_message(keys: dict[str, crypto.RoomKey], version: int, text: str, *, mentions: bool = True) -> dict[str, Any]:
    """A ``t:"e2e"`` message as the web client sends it, content v1 (CBC key) or v2 (GCM key)."""
    kid = next(k for k, key in keys.items() if key.mode == ("CBC" if version == 1 else "GCM"))
    content = crypto.encrypt_message_content(keys[kid], kid, {"msg": text}, version=version)  # type: ignore[arg-type]
    message: dict[str, Any] = {"_id": new_id(), "rid": RID, "msg": "", "t": "e2e", "e2e": "pending",
                               "content": content}
    if mentions:
        message["e2eMentions"] = MENTIONS
    return message


def decrypt(message: dict[str, Any], keys: dict[str, crypto.RoomKey]) -> str:
    """The plaintext of a delivered message, opened with the Python client."""
    text = crypto.decrypt_message_content(message["content"], keys)["msg"]
    assert isinstance(text, str)
    return text


def assert_unchanged(delivered: dict[str, Any] | None, sent: dict[str, Any], where: str) -> None:
    """``msg``, ``t``, ``e2e``, ``content``, ``e2eMentions`` deep-equal to what was sent (absent
    where absent), the ciphertext the very same bytes."""
    assert delivered is not None, f"{where}: nothing delivered"
    assert delivered.get("_id") == sent["_id"], f"{where}: another message"
    for key in CLIENT_FIELDS:
        assert (key in delivered) == (key in sent), f"{where}: {key} added or dropped"
        assert delivered.get(key) == sent.get(key), f"{where}: {key} changed: {delivered.get(key)!r}"
    assert delivered["content"]["ciphertext"].encode() == sent["content"]["ciphertext"].encode()


def assert_frame_unchanged(raw: str | None, sent: dict[str, Any], where: str) -> None:
    """The websocket frame is a Streamer ``changed`` for the room carrying the message unchanged,
    with the ciphertext written verbatim (no re-encoding, no escaping) in the frame's text."""
    assert raw is not None, f"{where}: no frame carried {sent['_id']}"
    frame = json.loads(raw)
    assert (frame["msg"], frame["collection"], frame["id"]) == ("changed", STREAM, "id"), frame
    assert frame["fields"]["eventName"] == RID
    assert_unchanged(frame["fields"]["args"][0], sent, f"{where} (raw frame)")
    assert json.dumps(sent["content"]["ciphertext"]) in raw, f"{where}: ciphertext not verbatim in the frame"


def sent_on_wire(report: dict[str, Any], message_id: str) -> dict[str, Any]:
    """The message exactly as the SDK serialised it into its ``sendMessage`` frame."""
    for text in report["frames"]["out"]:
        frame = json.loads(text)
        if frame.get("method") == "sendMessage" and frame["params"][0].get("_id") == message_id:
            return dict(frame["params"][0])
    raise AssertionError(f"no sendMessage frame for {message_id}")


# ---------------------------------------------------------------------------------------------


def test_ddpsdk_members_get_e2e_messages_unchanged_and_an_outsider_gets_nosub(server: Any, node_clients: Path) -> None:
    keys = room_keys()
    jwks = {kid: key.jwk_json() for kid, key in keys.items()}
    sends = []
    for version in (1, 2):
        kid = next(k for k, key in keys.items() if key.mode == ("CBC" if version == 1 else "GCM"))
        sends.append({"_id": new_id(), "text": f"content v{version} ✓ é 𝄞", "version": version, "kid": kid,
                      "jwk": jwks[kid], "e2eMentions": MENTIONS})
    ids = [s["_id"] for s in sends]
    dave_send = {"_id": new_id(), "text": "not a member", "version": 2, "kid": sends[1]["kid"], "jwk": sends[1]["jwk"]}

    bob = NodeRole(node_clients, driver_config(server, "bob", "receiver", expect=ids, room_keys=jwks))
    dave = NodeRole(node_clients, driver_config(server, "dave", "outsider", try_send=dave_send))
    alice = None
    try:
        bob.wait_ready()
        dave.wait_ready()
        alice = NodeRole(node_clients, driver_config(server, "alice", "sender", send=sends, room_keys=jwks,
                                                     load_history=True))
        sender = alice.finish()
        receiver = bob.finish()
        dave.release()
        outsider = dave.finish()
    finally:
        for role in (bob, dave, alice):
            if role is not None:
                role.finish(timeout=1)

    for report in (sender, receiver, outsider):
        assert_ok(report)

    # alice: the SDK's own stream params, her sends accepted, each back once on her own stream
    assert sender["subscription"]["ready"] is True
    assert sender["subscription"]["params"] == [RID, {"useCollection": False, "args": [None]}]
    on_wire = {mid: sent_on_wire(sender, mid) for mid in ids}
    for spec, sent in zip(sends, sender["sent"], strict=True):
        wire = on_wire[spec["_id"]]
        assert sent["message"] == wire and "error" not in sent, sent
        assert wire["content"]["algorithm"] == f"rc.v{spec['version']}.aes-sha2"
        assert_unchanged(sent["result"], wire, "sendMessage result")
        assert sent["result"]["u"]["_id"] == "u-alice"
    by_id = {m["_id"]: m for m in sender["history"]}
    for got, spec in zip(sender["received"], sends, strict=True):
        assert got["count"] == 1, got
        assert_unchanged(got["message"], on_wire[spec["_id"]], "alice's stream")
        assert_frame_unchanged(got["raw"], on_wire[spec["_id"]], "alice's stream")
        assert got["plaintext"] == spec["text"]
        assert_unchanged(by_id.get(spec["_id"]), on_wire[spec["_id"]], "loadHistory")
    assert sender["unexpected"] == []

    # bob: each message once, unchanged, readable with WebCrypto and with the Python client
    assert receiver["subscription"]["ready"] is True
    for got, spec in zip(receiver["received"], sends, strict=True):
        assert got["count"] == 1, got
        assert_unchanged(got["message"], on_wire[spec["_id"]], "bob's stream")
        assert_frame_unchanged(got["raw"], on_wire[spec["_id"]], "bob's stream")
        assert got["plaintext"] == spec["text"]
        assert decrypt(got["message"], keys) == spec["text"]
    assert receiver["unexpected"] == []

    # dave: nosub not-allowed, his send refused and not stored, nothing of the room reached him
    sub = outsider["subscription"]
    assert sub["ready"] is False and sub["error"]["error"] == "not-allowed", sub
    nosub = json.loads(sub["nosub_frame"])
    assert nosub["msg"] == "nosub" and nosub["error"]["error"] == "not-allowed", nosub
    assert outsider["sent"][0]["error"]["error"] == "error-not-allowed", outsider["sent"]
    assert dave_send["_id"] not in by_id
    assert outsider["released_by"] == "line"
    assert outsider["stream_frames"] == 0 and outsider["unexpected"] == []
    dave_in = "\n".join(outsider["frames"]["in"])
    for mid in ids:
        assert mid not in dave_in and on_wire[mid]["content"]["ciphertext"] not in dave_in
