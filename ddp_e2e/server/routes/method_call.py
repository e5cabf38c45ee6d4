"""DDP over REST: ``POST /api/v1/method.call/<m>`` and ``method.callAnon/<m>``.

Rocket.Chat's web client sends most method calls this way. The body's ``message`` is the EJSON
text of a DDP ``method`` message; it runs through the very same dispatcher as the websocket, with
the same param checks, and the answer is the EJSON text of the DDP ``result``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...ddp import ejson
from ...ddp.errors import internal_error
from ...dispatch import JSON_NULL, ConnectionInfo, MethodContext, call_method, ensure_error
from ..rest import authenticate, json_response, unauthorized

if TYPE_CHECKING:
    from ...app import App

log = logging.getLogger("ddp_e2e.method_call")


def _bad(message: str) -> Response:
    return json_response({"success": False, "error": message, "errorType": "invalid-params"}, 400)


def register(app: App) -> None:
    app.extensions.setdefault("extra_routes", []).extend([
        Route("/api/v1/method.call/{method:path}", _endpoint(app, anonymous=False), methods=["POST"]),
        Route("/api/v1/method.callAnon/{method:path}", _endpoint(app, anonymous=True), methods=["POST"]),
    ])


def _endpoint(app: App, *, anonymous: bool) -> Any:
    async def endpoint(request: Request) -> Response:
        uid, token_hash, _token = await authenticate(app, request)
        if not anonymous and uid is None:
            e = unauthorized()
            return json_response(e.body, e.status)
        name = request.path_params["method"]
        raw = await request.body()
        if len(raw) > app.settings.max_message_size:
            return json_response({"success": False, "error": "Request entity too large"}, 413)
        try:
            body = ejson.loads(raw) if raw else None
        except (ValueError, RecursionError):  # EJSONError is a ValueError; nesting past what we walk
            return _bad("Invalid JSON body")
        if not isinstance(body, dict) or not isinstance(body.get("message"), str):
            return _bad("Match error: body.message must be a string [invalid-params]")
        try:
            msg = ejson.loads(body["message"])
        except (ValueError, RecursionError):
            return _bad("Match error: message is not EJSON [invalid-params]")
        if (
            not isinstance(msg, dict)
            or not isinstance(msg.get("method"), str)
            or not isinstance(msg.get("params", []), list)
            or ("id" in msg and not isinstance(msg["id"], str))
        ):
            return _bad("Match error: message must be a DDP method call [invalid-params]")
        if msg["method"] != name:
            return _bad("Match error: method name does not match the route [invalid-params]")
        spec = app.registry.methods.get(name)
        if anonymous and spec is not None and not spec.anonymous and uid is None:
            e = unauthorized()
            return json_response(e.body, e.status)
        conn = ConnectionInfo(
            id=f"rest:{token_hash or (request.client.host if request.client else 'anon')}",
            client_address=request.client.host if request.client else None,
            transport="rest",
        )
        ctx = MethodContext(app, uid, connection=conn, token_hash=token_hash,
                            random_seed=msg.get("randomSeed") if isinstance(msg.get("randomSeed"), str) else None)
        out: dict[str, Any] = {"msg": "result", "id": msg.get("id", "")}
        try:
            result = await call_method(ctx, name, msg.get("params", []))
        except Exception as exc:
            out["error"] = ensure_error(exc, where=f"method.call {name}").to_wire()
        else:
            if result is not None:
                out["result"] = None if result is JSON_NULL else result
        try:
            text = ejson.dumps(out)
        except (ejson.EJSONError, RecursionError) as exc:  # a result EJSON cannot carry: 500, as over DDP
            log.warning("method.call result not encodable", extra={"method": name, "error": type(exc).__name__})
            text = ejson.dumps({"msg": "result", "id": out["id"], "error": internal_error().to_wire()})
        return json_response({"message": text, "success": True})

    return endpoint
