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
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from .compare import Comparator
from .credentials import default_credentials
from .difference import frame_label
from .errors import MissingCredentialsError, ReplayAborted
from .expectation import Expectation
from .live import LiveSocket
from .model import Connection, Recording, start_ms
from .normalize import NormalizeOptions
from .replay_result import ConnectionOutcome, ReplayResult, format_result
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


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    """How to replay: where to, how long to wait per frame, pacing and comparison rules."""

    url: str
    timeout: float = 5.0
    pace: Literal["fast", "recorded"] = "fast"
    credentials: Mapping[str, str] = field(default_factory=dict)
    normalize: NormalizeOptions = field(default_factory=NormalizeOptions)
    window: int = 1


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


async def _replay_connection(
    name: str, conn: Connection, header: Mapping[str, Any], options: ReplayOptions, rewriter: IdRewriter
) -> ConnectionOutcome:
    live = LiveSocket(options.url, options.timeout)
    await live.open()
    comparator = Comparator(
        options.normalize,
        expected_start_ms=start_ms(dict(header)),
        actual_start_ms=live.opened_wall_ms,
        window=options.window,
        on_pair=rewriter.learn,
    )
    outcome = ConnectionOutcome(name, list(conn.frames), live.frames, comparator.differences)
    owed, got = Expectation(options.normalize), Expectation(options.normalize)
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


async def _collect(live: LiveSocket, owed: Expectation, got: Expectation, consumed: int, deadline: float) -> int:
    """Take in server frames until what is owed has arrived, the socket closed or time is up."""
    while True:
        got.add([f for f in live.frames[consumed:] if f.dir == "out"])
        consumed = len(live.frames)
        if not owed.unmet(got) or not await live.wait_beyond(consumed, deadline):
            got.add([f for f in live.frames[consumed:] if f.dir == "out"])
            return len(live.frames)


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
