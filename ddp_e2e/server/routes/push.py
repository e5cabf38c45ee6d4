"""REST ``push.get`` (Rocket.Chat's id-only fetch) and ``push.sink`` (ours: the captured payloads).

``GET /api/v1/push.get?id=<messageId>`` is what the mobile app calls after an id-only push
(``Push_request_content_from_server``): ``{data: {message, notification}}`` for a user who may
read the room. ``GET /api/v1/push.sink[?messageId=]`` is not Rocket.Chat's: it lists the gateway
payloads this server captured for the caller (never anyone else's), oldest first, so client
developers can see exactly what their app would have received.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...ddp.check import MaxLenString, Object, Optional
from ...services import push
from ...services.messages_common import PlainError
from ..rest import RestError, RestRequest

if TYPE_CHECKING:
    from ...app import App

PUSH_GET = Object({"id": MaxLenString(256, min_len=1)})
PUSH_SINK = Object({"messageId": Optional(MaxLenString(256, min_len=1))})


def register(app: App) -> None:
    rest = app.rest  # type: ignore[attr-defined]

    @rest.route("GET", "push.get", query=PUSH_GET)
    async def push_get(req: RestRequest) -> dict[str, Any]:
        """The message and notification of an id-only push, for a reader of its room."""
        try:
            data = await push.notification_for_message_id(req.app, req.user_id or "", req.query["id"])
        except PlainError as exc:
            raise RestError(400, {"success": False, "error": exc.text}) from exc
        return {"data": data}

    @rest.route("GET", "push.sink", query=PUSH_SINK)
    async def push_sink(req: RestRequest) -> dict[str, Any]:
        """The push gateway payloads captured for the caller (ours, not Rocket.Chat's)."""
        entries = push.captured_for(req.app, req.user_id or "", req.query.get("messageId"))
        return {"pushes": entries, "count": len(entries)}
