"""DDP methods of messages: send, update, delete, history, single message, search.

``sendMessage`` keeps upstream's quirk on purpose, because clients are built around it: only
``error-not-allowed`` (non-member, or plaintext to an encrypted room) comes back as a method
error. Every other failure (unknown room, oversized ``msg``, ...) is logged, shown to the user as
an ephemeral ``<uid>/message`` when upstream shows one, and the method returns no result, exactly
as Rocket.Chat's ``sendMessage`` wrapper does. REST ``chat.sendMessage`` reports those errors.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..ddp.check import ArrayOf, Boolean, Date, Maybe, Optional, String
from ..ddp.errors import MeteorError, internal_error
from ..dispatch import JSON_NULL
from ..services import messages, messages_edit, messages_read
from ..services.messages_common import PlainError, has_permission, load_user
from ..services.messages_shapes import (
    DELETE_MESSAGE,
    HISTORY_LIMIT,
    LAST_SEEN,
    PREVIEW_URLS,
    SAFE_OBJECT,
    SEARCH_LIMIT,
    SEARCH_OFFSET,
    SEND_MESSAGE,
    UPDATE_MESSAGE,
)
from ..services.ratelimit import FixedWindowLimiter

if TYPE_CHECKING:
    from ..app import App
    from ..dispatch import MethodContext

log = logging.getLogger("ddp_e2e.messages")

#: ``RateLimiter.limitMethod('sendMessage', 5, 1000)`` for users without ``send-many-messages``.
SEND_LIMIT = (5, 1.0)
#: Errors the upstream wrapper re-throws; every other send failure is swallowed.
_PROPAGATED = ("error-not-allowed", "restricted-workspace")


def _invalid_user(method: str) -> MeteorError:
    return MeteorError("error-invalid-user", "Invalid user", {"method": method})


def _send_limiter(app: App) -> FixedWindowLimiter:
    limiter = app.extensions.get("send_message_limiter")
    if limiter is None:
        limiter = app.extensions["send_message_limiter"] = FixedWindowLimiter(*SEND_LIMIT)
    return limiter


async def _rate_limit(ctx: MethodContext) -> None:
    app = ctx.app
    user = await load_user(app, ctx.user_id)
    if await has_permission(app, user, "send-many-messages"):
        return
    wait = _send_limiter(app).hit(str(ctx.user_id), app.now().timestamp())
    if wait is not None:
        secs = max(1, int(-(-wait // 1)))
        raise MeteorError(
            "too-many-requests",
            f"Error, too many requests. Please slow down. You must wait {secs} seconds before trying again.",
            {"timeToReset": int(wait * 1000)},
        )


def register(app: App) -> None:
    r = app.registry

    @r.method("sendMessage", SEND_MESSAGE, PREVIEW_URLS, Maybe(ArrayOf(SAFE_OBJECT, max_items=10)))
    async def send_message(
        ctx: MethodContext, message: dict[str, Any], preview_urls: list[str] | None = None,
        files_to_confirm: list[dict[str, Any]] | None = None,
    ) -> Any:
        """Send a message (plain or ``t:'e2e'``); returns the stored message."""
        if ctx.user_id is None:
            raise _invalid_user("sendMessage")
        await _rate_limit(ctx)
        if files_to_confirm:
            raise MeteorError("error-not-allowed", "File uploads are not emulated", {"method": "sendMessage"})
        if messages.is_system_message(message):
            log.info("system message type refused", extra={"user_id": ctx.user_id, "type": str(message.get("t"))})
            raise internal_error()
        try:
            return await messages.execute_send_message(ctx.app, ctx.user_id, message, preview_urls=preview_urls)
        except MeteorError as exc:
            if exc.error in _PROPAGATED:
                raise MeteorError(exc.error, exc.reason, {"method": "sendMessage"}) from exc
            code = str(exc.error)
        except PlainError as exc:
            if exc.text in _PROPAGATED:
                raise MeteorError(exc.text, None, {"method": "sendMessage"}) from exc
            code = exc.text
        log.info("sendMessage failure not returned to the caller (upstream behaviour)",
                 extra={"user_id": ctx.user_id, "error": code})
        return None

    @r.method("updateMessage", UPDATE_MESSAGE, PREVIEW_URLS)
    async def update_message(ctx: MethodContext, message: dict[str, Any], preview_urls: list[str] | None = None) -> None:
        """Edit a message (``msg``, or ``content``/``e2eMentions`` of an encrypted one)."""
        if ctx.user_id is None:
            raise _invalid_user("updateMessage")
        try:
            await messages_edit.execute_update_message(ctx.app, ctx.user_id, message, preview_urls=preview_urls)
        except PlainError as exc:
            raise MeteorError(exc.text, None, {"method": "updateMessage"}) from exc

    @r.method("deleteMessage", DELETE_MESSAGE)
    async def delete_message(ctx: MethodContext, message: dict[str, Any]) -> None:
        """Delete a message by ``{_id}``; ``error-action-not-allowed`` if unknown or not permitted."""
        if ctx.user_id is None:
            raise _invalid_user("deleteMessage")
        try:
            await messages_edit.delete_message_validating(ctx.app, ctx.user_id, message["_id"])
        except PlainError as exc:
            raise MeteorError(exc.text, None, {"method": "deleteMessage"}) from exc

    @r.method("loadHistory", String, Maybe(Date), Maybe(HISTORY_LIMIT), Maybe(LAST_SEEN), Maybe(Boolean))
    async def load_history(
        ctx: MethodContext, rid: str, end: Any = None, limit: Any = None, ls: Any = None,
        show_thread_messages: bool | None = None,
    ) -> Any:
        """A room's messages, newest first: ``{messages, unreadNotLoaded, firstUnread?}`` or false."""
        return await messages_read.load_history(
            ctx.app, ctx.user_id, rid, end=end, limit=int(limit or 20), ls=ls,
            show_thread_messages=show_thread_messages is not False,
        )

    @r.method("getSingleMessage", String)
    async def get_single_message(ctx: MethodContext, message_id: str) -> Any:
        """One message by id, or null."""
        if ctx.user_id is None:
            raise _invalid_user("getSingleMessage")
        found = await messages_read.get_single_message(ctx.app, ctx.user_id, message_id)
        return JSON_NULL if found is None else found

    @r.method("messageSearch", String, Maybe(String), Optional(SEARCH_LIMIT), Optional(SEARCH_OFFSET))
    async def message_search(
        ctx: MethodContext, text: str, rid: str | None = None, limit: Any = None, offset: Any = None
    ) -> Any:
        """Search plain messages of a room: ``{message: {docs}}``; never returns ``t:'e2e'``."""
        if ctx.user_id is None:
            raise _invalid_user("messageSearch")
        return await messages_read.message_search(
            ctx.app, ctx.user_id, text, rid, int(limit) if limit is not None else None,
            int(offset) if offset is not None else None,
        )
