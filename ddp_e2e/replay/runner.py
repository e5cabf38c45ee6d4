"""The live replayer behind ``ddp-e2e replay RECORDING --url ws://...`` (server-under-test mode).

For each recorded connection it opens a WebSocket to the server under test, sends the recorded
client frames one segment at a time (:func:`~ddp_e2e.replay.segments.split_segments`) after
:class:`~ddp_e2e.replay.rewrite.IdRewriter` has put in the live ids, tokens and passwords, and
feeds what came back to a :class:`~ddp_e2e.replay.compare.Comparator` whose ``on_pair`` teaches
the rewriter the new ids before the next client frame goes out.

After each client frame it waits, at most ``timeout`` seconds, until the server has sent what
the recording says that frame caused: the keyed answers (``result``, ``updated``, ``ready``,
``nosub``, ``connected``) by id, and as many data messages and stream events as were recorded.
A server that is down, closes early or stays silent is reported with the frame it happened at;
nothing waits forever. Server pings are answered on the spot.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import string
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson
import websockets

from ..ddp import sockjs
from .compare import Comparator
from .difference import Difference, format_diff, frame_label
from .errors import MissingCredentialsError
from .model import Connection, Frame, Recording, start_ms
from .normalize import NormalizeOptions, Normalizer
from .rewrite import IdRewriter
from .segments import Indexed, Segment, split_segments

__all__ = [
    "ConnectionOutcome",
    "ReplayAborted",
    "ReplayOptions",
    "ReplayResult",
    "default_credentials",
    "format_result",
    "replay_recording",
]

log = logging.getLogger("ddp_e2e.replay.runner")

_SOCKJS_PATH = re.compile(r"/sockjs/([^/.]+)/([^/.]+)/websocket/?$")
_DEMO_USERS = ("alice", "bob", "carol", "dave", "admin")
_KEYED_SINGLE = frozenset({"result", "nosub"})


class ReplayAborted(Exception):
    """The replay cannot go on at all (server down, credentials missing); ``str`` says why."""


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    """How to replay: where to, how long to wait per frame, pacing and comparison rules."""

    url: str
    timeout: float = 5.0
    pace: Literal["fast", "recorded"] = "fast"
    credentials: Mapping[str, str] = field(default_factory=dict)
    normalize: NormalizeOptions = field(default_factory=NormalizeOptions)
    window: int = 1


@dataclass(slots=True)
class ConnectionOutcome:
    """One replayed connection: both frame lists, the differences and transport problems."""

    name: str
    expected: list[Frame]
    actual: list[Frame]
    differences: list[Difference]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences and not self.problems


@dataclass(slots=True)
class ReplayResult:
    connections: list[ConnectionOutcome]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.connections)


def default_credentials(fixtures: str | Path | None = None) -> dict[str, str]:
    """Passwords to log in again with when no ``--credentials`` are given.

    The demo workspace's users have the password ``<name>-pass``; a fixtures file (a users JSON
    with plaintext ``password`` fields, as in fixtures/demo/users.json) adds its own users, by
    username and by e-mail address.
    """
    creds = {name: f"{name}-pass" for name in _DEMO_USERS}
    creds.update({f"{name}@example.com": f"{name}-pass" for name in _DEMO_USERS})
    if fixtures is None:
        return creds
    path = Path(fixtures)
    if path.is_dir():
        path = path / "users.json"
    try:
        users = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ReplayAborted(f"cannot read credentials from {path}: {exc}") from None
    for user in users if isinstance(users, list) else []:
        password = user.get("password") if isinstance(user, dict) else None
        if not isinstance(password, str):
            continue
        if isinstance(user.get("username"), str):
            creds[user["username"]] = password
        for email in user.get("emails") or []:
            if isinstance(email, dict) and isinstance(email.get("address"), str):
                creds[email["address"]] = password
    return creds


async def replay_recording(recording: Recording, options: ReplayOptions) -> ReplayResult:
    """Replay every connection of ``recording``, one after the other.

    One rewriter serves the whole recording, so a token issued on the first connection is found
    again when a later connection resumes with it. Raises :class:`ReplayAborted` when the
    server cannot be reached or a redacted login has no password.
    """
    rewriter = IdRewriter(options.credentials)
    outcomes = []
    for number, conn in enumerate(recording.connections, start=1):
        name = conn.name or f"connection-{number}"
        header = recording.connection_header(conn)
        outcomes.append(await _replay_connection(name, conn, header, options, rewriter))
    return ReplayResult(outcomes)


class _Live:
    """The replayer's side of one WebSocket: raw or SockJS, with a frame log and a condition."""

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self.sockjs = bool(_SOCKJS_PATH.search(url))
        self.frames: list[Frame] = []
        self.closed: tuple[int | None, str] | None = None
        self.changed = asyncio.Condition()
        self.opened = 0.0
        self.opened_wall_ms = 0.0
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None

    def now_ms(self) -> float:
        return (time.monotonic() - self.opened) * 1000.0

    async def open(self) -> None:
        url = self.url
        if self.sockjs:  # a fresh SockJS session id per connection, as sockjs-client does
            session = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))
            url = _SOCKJS_PATH.sub(lambda m: f"/sockjs/{m.group(1)}/{session}/websocket", url)
        try:
            self._ws = await websockets.connect(
                url, open_timeout=self.timeout, max_size=None, ping_interval=None, compression=None
            )
        except TimeoutError:
            raise ReplayAborted(f"{self.url}: no WebSocket handshake within {self.timeout:g} s") from None
        except (OSError, websockets.InvalidHandshake, websockets.InvalidURI) as exc:
            raise ReplayAborted(f"cannot connect to {self.url}: {exc}") from None
        self.opened = time.monotonic()
        self.opened_wall_ms = time.time() * 1000.0
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for data in self._ws:
                if isinstance(data, bytes):
                    self.frames.append(Frame(self.now_ms(), "out", f'{{"$binary-frame":{len(data)}}}'))
                    continue
                for text in self._unwrap(data):
                    self.frames.append(Frame(self.now_ms(), "out", text))
                    if _is_ping(text):
                        await self.send(_pong_for(text), record=True)
                async with self.changed:
                    self.changed.notify_all()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed = (self._ws.close_code, self._ws.close_reason or "")
            async with self.changed:
                self.changed.notify_all()

    def _unwrap(self, data: str) -> list[str]:
        if not self.sockjs:
            return [data]
        messages, close = sockjs.unwrap_server_frame(data)
        if close is not None:
            self.closed = close
        return messages

    async def send(self, text: str, *, record: bool = True) -> int:
        index = len(self.frames)
        if record:
            self.frames.append(Frame(self.now_ms(), "in", text))
        wire = orjson.dumps([text]).decode() if self.sockjs else text
        try:
            await self._ws.send(wire)
        except websockets.ConnectionClosed:
            pass
        return index

    async def wait_beyond(self, count: int, deadline: float) -> bool:
        """Wait until more than ``count`` frames are logged; False if closed or out of time."""

        def ready() -> bool:
            return len(self.frames) > count

        async with self.changed:
            while not ready():
                if self.closed is not None:
                    return False
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                try:
                    await asyncio.wait_for(self.changed.wait(), remaining)
                except TimeoutError:
                    return ready()
        return True

    async def close(self) -> None:
        if self._ws is not None:
            try:
                await asyncio.wait_for(self._ws.close(), self.timeout)
            except (TimeoutError, OSError):
                pass
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, self.timeout)
            except (TimeoutError, asyncio.CancelledError):
                self._reader.cancel()


class _Expectation:
    """What the server owes so far: keyed answers by (msg, id) and a count of loose messages."""

    def __init__(self, options: NormalizeOptions) -> None:
        self._dropper = Normalizer(options)
        self.keys: Counter[tuple[str, str]] = Counter()
        self.loose = 0

    def add(self, frames: list[Frame]) -> None:
        for frame in frames:
            keys, loose = self._classify(frame.text)
            self.keys.update(keys)
            self.loose += loose

    def _classify(self, text: str) -> tuple[list[tuple[str, str]], int]:
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError:
            return [], 1
        if not isinstance(obj, dict) or self._dropper.dropped(obj):
            return [], 0
        msg = obj.get("msg")
        if msg in _KEYED_SINGLE and isinstance(obj.get("id"), str):
            return [(msg, obj["id"])], 0
        if msg in ("updated", "ready"):
            ids = obj.get("methods" if msg == "updated" else "subs")
            return [(msg, i) for i in ids if isinstance(i, str)] if isinstance(ids, list) else [], 0
        if msg in ("connected", "failed"):
            return [("connected", "")], 0
        return [], 1

    def unmet(self, got: _Expectation) -> list[str]:
        missing = [f"{m} id={i!r}" if i else m for (m, i), n in self.keys.items() if got.keys[(m, i)] < n]
        if got.loose < self.loose:
            missing.append(f"{self.loose - got.loose} data message(s) or stream event(s)")
        return missing

    def give_up(self, got: _Expectation) -> None:
        """Stop waiting for what did not come, so later frames do not wait for it again."""
        for key in list(self.keys):
            self.keys[key] = min(self.keys[key], got.keys[key])
        self.loose = min(self.loose, got.loose)


async def _replay_connection(
    name: str, conn: Connection, header: Mapping[str, Any], options: ReplayOptions, rewriter: IdRewriter
) -> ConnectionOutcome:
    live = _Live(options.url, options.timeout)
    await live.open()
    comparator = Comparator(
        options.normalize,
        expected_start_ms=start_ms(dict(header)),
        actual_start_ms=live.opened_wall_ms,
        window=options.window,
        on_pair=rewriter.learn,
    )
    outcome = ConnectionOutcome(name, list(conn.frames), live.frames, comparator.differences)
    owed, got = _Expectation(options.normalize), _Expectation(options.normalize)
    consumed = cut = 0
    segments = split_segments(conn.frames, options.normalize)
    try:
        for segment in segments:
            actual_client = None
            if segment.client is not None:
                if live.closed is not None:
                    outcome.problems.append(
                        f"server closed the connection ({_close_text(live.closed)}) before client frame "
                        f"#{segment.client.index} ({_label(segment.client.frame.text)}) could be sent"
                    )
                    break
                if options.pace == "recorded":
                    await asyncio.sleep(max(0.0, segment.client.frame.t_ms / 1000.0 - (time.monotonic() - live.opened)))
                try:
                    text = rewriter.rewrite_client(segment.client.frame.text)
                except MissingCredentialsError as exc:
                    raise ReplayAborted(f"{name}: client frame #{segment.client.index}: {exc}") from None
                index = await live.send(text)
                actual_client = Indexed(index, live.frames[index])
            owed.add([i.frame for i in segment.server])
            consumed = await _collect(live, owed, got, consumed, time.monotonic() + options.timeout)
            unmet = owed.unmet(got)
            if unmet:
                where = (
                    f"client frame #{segment.client.index} ({_label(segment.client.frame.text)})"
                    if segment.client is not None
                    else "the start of the connection"
                )
                why = f"the server closed the connection ({_close_text(live.closed)})" if live.closed else (
                    f"no answer within {options.timeout:g} s"
                )
                outcome.problems.append(f"after {where}: {why}; still missing {', '.join(unmet)}")
                owed.give_up(got)
            actual_server = tuple(Indexed(i, live.frames[i]) for i in range(cut, consumed) if live.frames[i].dir == "out")
            cut = consumed
            comparator.feed(segment, Segment(actual_client, actual_server))
    finally:
        await live.close()
    trailing = tuple(Indexed(i, f) for i, f in enumerate(live.frames) if i >= cut and f.dir == "out")
    if trailing:
        comparator.feed(Segment(None), Segment(None, trailing))
    comparator.finish()
    log.info("replayed connection", extra={"connection": name, "differences": len(outcome.differences),
                                           "problems": len(outcome.problems)})
    return outcome


async def _collect(live: _Live, owed: _Expectation, got: _Expectation, consumed: int, deadline: float) -> int:
    """Take in server frames until what is owed has arrived, the socket closed or time is up."""
    while True:
        got.add([f for f in live.frames[consumed:] if f.dir == "out"])
        consumed = len(live.frames)
        if not owed.unmet(got) or not await live.wait_beyond(consumed, deadline):
            got.add([f for f in live.frames[consumed:] if f.dir == "out"])
            return len(live.frames)


def _is_ping(text: str) -> bool:
    return text.startswith('{"msg":"ping"') or (text.find('"ping"') != -1 and _msg(text) == "ping")


def _pong_for(text: str) -> str:
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError:
        return '{"msg":"pong"}'
    if isinstance(obj, dict) and isinstance(obj.get("id"), str):
        return orjson.dumps({"msg": "pong", "id": obj["id"]}).decode()
    return '{"msg":"pong"}'


def _msg(text: str) -> Any:
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return obj.get("msg") if isinstance(obj, dict) else None


def _label(text: str) -> str:
    try:
        return frame_label(orjson.loads(text))
    except orjson.JSONDecodeError:
        return "unparsed frame"


def _close_text(closed: tuple[int | None, str] | None) -> str:
    if closed is None:
        return "open"
    code, reason = closed
    return f"code {code}" + (f", {reason!r}" if reason else "")


def format_result(result: ReplayResult) -> str:
    """The terminal text: one block per connection, problems first, then the diff."""
    lines = []
    for conn in result.connections:
        sent = sum(1 for f in conn.actual if f.dir == "in")
        received = sum(1 for f in conn.actual if f.dir == "out")
        status = "OK" if conn.ok else "MISMATCH"
        lines.append(f"== {conn.name}: {status} ({sent} frames sent, {received} received)")
        lines.extend(f"   ! {p}" for p in conn.problems)
        if conn.differences:
            lines.append(format_diff(conn.differences).rstrip("\n"))
    failed = sum(1 for c in result.connections if not c.ok)
    lines.append(
        f"{len(result.connections)} connection(s) replayed, "
        + ("all match the recording" if not failed else f"{failed} differ from the recording")
    )
    return "\n".join(lines) + "\n"
