"""REST ``chat.*``: send, post, update, get and delete messages, with Rocket.Chat's envelopes.

Each route checks its declared body/query shape (400 ``invalid-params`` otherwise) and calls the
same service function as its DDP twin. Upstream answers some failures with
``API.v1.failure(text)`` or a plain ``Error``: 400 ``{"success": false, "error": text}`` without
``errorType``; those keep that shape here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...services import messages, messages_edit, messages_read
from ...services.messages_common import PlainError, has_permission, load_user, setting, utf16_len
from ...services.messages_shapes import CHAT_DELETE, CHAT_GET_MESSAGE, CHAT_SEND, CHAT_UPDATE, POST_MESSAGE
from ..rest import RestError, RestRequest

if TYPE_CHECKING:
    from ...app import App


def failure(text: str) -> RestError:
    """``API.v1.failure(text)``."""
    return RestError(400, {"success": False, "error": text})


def invalid_params(text: str) -> RestError:
    return RestError(400, {"success": False, "error": f"{text} [invalid-params]", "errorType": "invalid-params"})


async def _plain(coro: Any) -> Any:
    """Run a service call, turning upstream's plain ``Error``s into their REST shape."""
    try:
        return await coro
    except PlainError as exc:
        raise failure(exc.text) from exc


def register(app: App) -> None:
    rest = app.rest  # type: ignore[attr-defined]

    @rest.route("POST", "chat.sendMessage", body=CHAT_SEND)
    async def send_message(req: RestRequest) -> dict[str, Any]:
        """Send ``{message}`` (plain or ``t:'e2e'`` with ``content``); the mobile app's send path."""
        message = req.body["message"]
        if messages.is_system_message(message):
            raise failure("Cannot send system messages using 'chat.sendMessage'")
        sent = await _plain(messages.execute_send_message(
            req.app, req.user_id or "", message, preview_urls=req.body.get("previewUrls")
        ))
        if sent is None:
            raise failure("error-message-already-exists")
        return {"message": sent}

    @rest.route("POST", "chat.postMessage", body=POST_MESSAGE)
    async def post_message(req: RestRequest) -> dict[str, Any]:
        """Post ``text`` to ``roomId``/``channel`` (encrypted rooms refuse it unless allowed)."""
        limit = setting(req.app, "Message_MaxAllowedSize") or 0
        text = req.body.get("text")
        if isinstance(text, str) and text and utf16_len(text) > limit:
            raise failure("error-message-size-exceeded")
        for attachment in req.body.get("attachments") or []:
            body = attachment.get("text")
            if isinstance(body, str) and utf16_len(body) > limit:
                raise failure("error-message-size-exceeded")
        sent = await _plain(messages.post_message(req.app, req.user_id or "", req.body))
        if sent["message"] is None:
            raise failure("unknown-error")
        return {"ts": int(req.app.now().timestamp() * 1000), "channel": sent["channel"], "message": sent["message"]}

    @rest.route("POST", "chat.update", body=CHAT_UPDATE)
    async def update(req: RestRequest) -> dict[str, Any]:
        """Edit ``text``, or ``content`` (+ ``e2eMentions``) of an encrypted message."""
        body = req.body
        if "text" not in body and "content" not in body:
            raise invalid_params("must have required property 'text'")
        msg = await req.app.store.messages.find_one({"_id": body["msgId"]})
        if msg is None:
            raise failure(f'No message found with the id of "{body["msgId"]}".')
        if body["roomId"] != msg["rid"]:
            raise failure("The room id provided does not match where the message is from.")
        has_content = "content" in body
        if has_content and msg.get("t") != "e2e":
            raise failure("Only encrypted messages can have content updated.")
        change: dict[str, Any] = {"_id": msg["_id"], "rid": msg["rid"]}
        if has_content:
            change["content"] = body["content"]
            if body.get("e2eMentions"):
                change["e2eMentions"] = body["e2eMentions"]
        else:
            change["msg"] = body["text"]
            if body.get("customFields"):
                raise failure("Custom fields not enabled")
        await _plain(messages_edit.execute_update_message(
            req.app, req.user_id or "", change, preview_urls=body.get("previewUrls")
        ))
        return {"message": await req.app.store.messages.find_one({"_id": msg["_id"]})}

    @rest.route("GET", "chat.getMessage", query=CHAT_GET_MESSAGE)
    async def get_message(req: RestRequest) -> dict[str, Any]:
        """One message by ``msgId`` (ciphertext as stored)."""
        found = await messages_read.get_single_message(req.app, req.user_id or "", req.query["msgId"])
        if found is None:
            raise RestError(400, {"success": False})
        return {"message": found}

    @rest.route("POST", "chat.delete", body=CHAT_DELETE)
    async def delete(req: RestRequest) -> dict[str, Any]:
        """Delete ``msgId`` of ``roomId``; answers ``{_id, ts, message: {_id, rid, u}}``."""
        body = req.body
        msg = await req.app.store.messages.find_one({"_id": body["msgId"]}, {"u": 1, "rid": 1})
        if msg is None:
            raise failure(f'No message found with the id of "{body["msgId"]}".')
        if body["roomId"] != msg["rid"]:
            raise failure("The room id provided does not match where the message is from.")
        caller = req.user_id or ""
        if body.get("asUser") and msg["u"]["_id"] != caller:
            if not await has_permission(req.app, await load_user(req.app, caller), "force-delete-message", msg["rid"]):
                raise failure(
                    "Unauthorized. You must have the permission \"force-delete-message\" to delete other's message as them."
                )
        actor = msg["u"]["_id"] if body.get("asUser") else caller
        await _plain(messages_edit.delete_message_validating(req.app, actor, msg["_id"]))
        return {"_id": msg["_id"], "ts": str(int(req.app.now().timestamp() * 1000)), "message": msg}
