"""Method and publication registries, and the one place methods are called.

Every entry declares the shape of its params (``ddp.check``). ``call_method`` checks that shape
before the handler runs, so DDP, REST ``method.call`` and tests all get ``400 Match failed`` for
a malformed call and a handler never sees an unchecked value.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .ddp.check import MISSING, Params, Pattern
from .ddp.errors import MeteorError, method_not_found

if TYPE_CHECKING:
    from .app import App
    from .ddp.subscription import Subscription

log = logging.getLogger("ddp_e2e.dispatch")


class _JsonNull:
    """Returned by a handler that wants ``"result": null`` (plain ``None`` means no result key)."""

    def __repr__(self) -> str:
        return "JSON_NULL"


JSON_NULL: Any = _JsonNull()


@dataclass(slots=True)
class ConnectionInfo:
    """What a handler may know about the caller's connection (Meteor's ``this.connection``)."""

    id: str
    client_address: str | None = None
    http_headers: dict[str, str] = field(default_factory=dict)
    transport: str = "websocket"


class MethodContext:
    """Meteor's method invocation (``this``): the caller, its connection, and ``setUserId``."""

    __slots__ = ("app", "connection", "method", "random_seed", "session", "token_hash", "user_id")

    def __init__(
        self,
        app: App,
        user_id: str | None,
        *,
        connection: ConnectionInfo | None = None,
        session: Any = None,
        method: str = "",
        random_seed: str | None = None,
        token_hash: str | None = None,
    ) -> None:
        self.app = app
        self.user_id = user_id
        self.connection = connection
        self.session = session
        self.method = method
        self.random_seed = random_seed
        self.token_hash = token_hash

    async def set_user_id(self, user_id: str | None, token_hash: str | None = None) -> None:
        """Change the connection's user; over DDP this re-runs every subscription (spec §3.5)."""
        self.user_id = user_id
        self.token_hash = token_hash
        if self.session is not None:
            await self.session.set_user_id(user_id, token_hash)


MethodHandler = Callable[..., Awaitable[Any]]
PublicationHandler = Callable[..., Awaitable[Any]]


@dataclass(slots=True)
class MethodSpec:
    name: str
    params: Params
    handler: MethodHandler
    #: Callable through REST ``method.callAnon`` (no login needed to reach it).
    anonymous: bool = False
    #: Rocket.Chat keeps these on the websocket (login, logout, ...): ``method.call`` refuses them.
    websocket_only: bool = False
    #: JSON Schema of the result, for protocol/ and the README (documentation only).
    result_schema: dict[str, Any] | None = None
    summary: str = ""


@dataclass(slots=True)
class PublicationSpec:
    name: str
    params: Params
    handler: PublicationHandler
    summary: str = ""


class Registry:
    """All DDP methods and publications of the server, each with its declared param shape."""

    def __init__(self) -> None:
        self.methods: dict[str, MethodSpec] = {}
        self.publications: dict[str, PublicationSpec] = {}

    def method(
        self,
        name: str,
        *params: Pattern,
        aliases: tuple[str, ...] = (),
        anonymous: bool = False,
        websocket_only: bool = False,
        result: dict[str, Any] | None = None,
    ) -> Callable[[MethodHandler], MethodHandler]:
        """Register ``handler(ctx, *params)`` under ``name`` (and ``aliases``)."""

        def deco(fn: MethodHandler) -> MethodHandler:
            summary = (fn.__doc__ or "").strip().split("\n")[0]
            for n in (name, *aliases):
                if n in self.methods:
                    raise ValueError(f"method {n!r} registered twice")
                self.methods[n] = MethodSpec(
                    n, Params(*params), fn, anonymous, websocket_only, result, summary
                )
            return fn

        return deco

    def publication(self, name: str, *params: Pattern) -> Callable[[PublicationHandler], PublicationHandler]:
        """Register ``handler(sub, *params)``; it calls ``sub.added/ready/...``."""

        def deco(fn: PublicationHandler) -> PublicationHandler:
            if name in self.publications:
                raise ValueError(f"publication {name!r} registered twice")
            summary = (fn.__doc__ or "").strip().split("\n")[0]
            self.publications[name] = PublicationSpec(name, Params(*params), fn, summary)
            return fn

        return deco


def _plain_args(args: list[Any]) -> list[Any]:
    """Absent optional params reach handlers as ``None``: they never need the MISSING marker."""
    return [None if a is MISSING else a for a in args]


def prepare_call(ctx: MethodContext, name: str, params: list[Any]) -> Awaitable[Any]:
    """Check a call and return the handler's awaitable: 404 when unknown, ``Match failed`` on bad
    params, both raised here, before any handler code runs. (Synchronous so the hot path awaits
    one coroutine less; :func:`call_method` is the plain async form.)"""
    spec = ctx.app.registry.methods.get(name)
    if spec is None:
        raise method_not_found(name)
    args = spec.params.check(params)
    ctx.method = name
    return spec.handler(ctx, *_plain_args(args))


async def call_method(ctx: MethodContext, name: str, params: list[Any]) -> Any:
    """Run one method by name (DDP, REST ``method.call`` and tests all come through here)."""
    return await prepare_call(ctx, name, params)


async def start_publication(sub: Subscription, name: str, params: list[Any]) -> None:
    """Run a publication's handler with checked params; the caller turns errors into ``nosub``."""
    from .ddp.errors import subscription_not_found

    spec = sub.session.app.registry.publications.get(name)
    if spec is None:
        raise subscription_not_found(name)
    args = spec.params.check(params)
    await spec.handler(sub, *_plain_args(args))


def ensure_error(exc: BaseException, *, where: str) -> MeteorError:
    """Meteor's ``wrapInternalException``: client-safe errors pass, the rest become 500 (logged)."""
    if isinstance(exc, MeteorError):
        return exc
    log.error("internal error", exc_info=exc, extra={"where": where})
    return MeteorError(500, "Internal server error")
