"""Rocket.Chat's Meteor Streamer over DDP: ``stream-<name>`` publications and write methods.

Subscribing: params ``[eventName, {useCollection, args}]`` (or the legacy ``[eventName, bool]``);
the read rule of the stream decides, a refusal is ``nosub`` with ``not-allowed``. Events arrive as
``changed`` on ``stream-<name>`` with id ``"id"`` and never pass through the merge box.
Writing: the method ``stream-<name>`` with ``[eventName, ...args]``; only the events Rocket.Chat
lets clients write are accepted, and a refused write returns normally and is dropped (as upstream).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..bus.local import Listener
from ..ddp.check import Any_, ArrayOf, Boolean, Maybe, Object, OneOf, Optional, String
from ..ddp.errors import MeteorError
from ..services.access import can_access_room, get_subscription, member_ids
from ..services.notify import notify_room, notify_user

if TYPE_CHECKING:
    from ..app import App
    from ..ddp.subscription import Subscription
    from ..dispatch import MethodContext

log = logging.getLogger("ddp_e2e.streams")

STREAM_OPTIONS = Optional(OneOf(Boolean, Object({"useCollection": Optional(Boolean), "args": Maybe(ArrayOf(Any_))})))
#: Writes carry ``[eventName, ...args]``; up to 8 args are accepted, each inspected by its rule.
WRITE_ARGS = tuple(Optional(Any_) for _ in range(8))

ReadRule = Callable[["App", str | None, str], Awaitable[bool]]
WriteRule = Callable[["MethodContext", str, list[Any]], Awaitable[None]]


async def _all(app: App, uid: str | None, event: str) -> bool:
    return True


async def _logged(app: App, uid: str | None, event: str) -> bool:
    return uid is not None


async def _own_user(app: App, uid: str | None, event: str) -> bool:
    """``<uid>/...``: only that user may listen (PR #17269's lesson)."""
    return uid is not None and event.split("/", 1)[0] == uid and "/" in event


async def _room_member(app: App, uid: str | None, event: str) -> bool:
    rid = event.split("/", 1)[0]
    return "/" in event and await can_access_room(app, uid, rid)


async def _room_messages(app: App, uid: str | None, event: str) -> bool:
    if event == "__my_messages__":
        return uid is not None
    return await can_access_room(app, uid, event)


READ_RULES: dict[str, ReadRule] = {
    "notify-all": _all,
    "notify-logged": _logged,
    "notify-user": _own_user,
    "notify-room": _room_member,
    "room-messages": _room_messages,
    "user-presence": _logged,
    "notify-room-users": _room_member,
}


def write_rules(app: App) -> dict[tuple[str, str], WriteRule]:
    """``(stream, event suffix)`` -> rule; other modules add theirs (OTR, typing, key requests)."""
    return app.extensions.setdefault("stream_write_rules", {})


def add_write_rule(app: App, stream: str, suffix: str, rule: WriteRule) -> None:
    write_rules(app)[(stream, suffix)] = rule


def register(app: App) -> None:
    for stream, rule in READ_RULES.items():
        _register_stream(app, stream, rule)
    add_write_rule(app, "notify-room", "user-activity", _typing)
    add_write_rule(app, "notify-room", "typing", _typing)
    add_write_rule(app, "notify-room-users", "e2ekeyRequest", _e2e_key_request)


async def _typing(ctx: MethodContext, event: str, args: list[Any]) -> None:
    """``<rid>/user-activity``: a member announcing itself (args[0] must be its own username)."""
    rid = event.split("/", 1)[0]
    if await get_subscription(ctx.app, rid, ctx.user_id or "") is None:
        return
    user = await ctx.app.store.users.find_one({"_id": ctx.user_id}, {"username": 1})
    if not args or user is None or args[0] != user.get("username"):
        return
    notify_room(ctx.app, rid, event.split("/", 1)[1], *args, origin=ctx.session)


async def _e2e_key_request(ctx: MethodContext, event: str, args: list[Any]) -> None:
    """``<rid>/e2ekeyRequest``: relayed to every *other* member as ``<uid>/e2ekeyRequest``.

    Rocket.Chat checks the caller is subscribed, re-emits ``[rid, keyId]`` on each member's user
    stream and does not retransmit on the room-users stream itself.
    """
    rid = event.split("/", 1)[0]
    if await get_subscription(ctx.app, rid, ctx.user_id or "") is None:
        return
    if len(args) < 2 or not isinstance(args[0], str) or not isinstance(args[1], str) or args[0] != rid:
        return
    for uid in await member_ids(ctx.app, rid):
        if uid != ctx.user_id:
            notify_user(ctx.app, uid, "e2ekeyRequest", args[0], args[1])


def _register_stream(app: App, stream: str, rule: ReadRule) -> None:
    name = f"stream-{stream}"

    @app.registry.publication(name, String, STREAM_OPTIONS)
    async def publish(sub: Subscription, event: str, options: Any = None) -> None:
        if not event:
            raise MeteorError("invalid-event-name")
        if not await rule(sub.app, sub.user_id, event):
            raise MeteorError("not-allowed")
        if options is True or (isinstance(options, dict) and options.get("useCollection") is True):
            sub.session.send({"msg": "added", "collection": name, "id": "id", "fields": {"eventName": event}})
        sub.on_stop(sub.app.hub.listen(stream, event, Listener(sub, origin_key=sub.session)))
        sub.ready()

    publish.__doc__ = f"Rocket.Chat stream ``{name}``: events for one event name."

    @app.registry.method(name, String, *WRITE_ARGS)
    async def write(ctx: MethodContext, event: str, *args: Any) -> None:
        """Write an event: accepted only where Rocket.Chat lets clients write; else dropped."""
        if ctx.user_id is None:
            return
        trimmed = list(args)
        while trimmed and trimmed[-1] is None:
            trimmed.pop()
        suffix = event.split("/", 1)[1] if "/" in event else event
        handler = write_rules(ctx.app).get((stream, suffix))
        if handler is None:
            log.info("stream write refused", extra={"stream": stream, "event_suffix": suffix})
            return
        await handler(ctx, event, trimmed)
