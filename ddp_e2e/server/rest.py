"""REST on the DDP port: Rocket.Chat's ``/api/v1`` envelopes, auth headers and errors.

Routes are thin: each parses and checks its input, then calls the same service function as its
DDP twin. Errors keep Rocket.Chat's shapes (rocketchat-e2e.md §3.1): 401 without credentials,
400 ``{"success":false,"error","errorType","details"}`` for a Meteor.Error, 400
``invalid-params`` when the body or query does not match the declared shape.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..ddp import ejson
from ..ddp.check import MISSING, Pattern
from ..ddp.errors import MatchError, MeteorError

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("ddp_e2e.rest")


class RestError(Exception):
    """An HTTP answer other than 200/400-MeteorError (401, 403, 404), with its exact body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status, self.body = status, body


def unauthorized() -> RestError:
    return RestError(401, {"status": "error", "message": "You must be logged in to do this."})


def forbidden(message: str = "unauthorized") -> RestError:
    return RestError(403, {"success": False, "error": message})


def json_response(body: dict[str, Any], status: int = 200) -> Response:
    return Response(ejson_dumps_plain(body), status_code=status, media_type="application/json")


def ejson_dumps_plain(body: Any) -> bytes:
    """REST bodies are plain JSON: dates as ISO strings, as Rocket.Chat's API serialises them."""
    return orjson.dumps(body, default=_rest_default)


def _rest_default(value: Any) -> Any:
    if isinstance(value, bytes):
        import base64

        return base64.b64encode(value).decode()
    raise TypeError(type(value).__name__)


@dataclass
class RestRequest:
    """What a route handler sees: the caller and its checked input."""

    app: App
    request: Request
    user_id: str | None
    token_hash: str | None
    body: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    auth_token: str | None = None


RestHandler = Callable[[RestRequest], Awaitable[dict[str, Any]]]


@dataclass
class RestRoute:
    method: str
    name: str
    handler: RestHandler
    auth: bool
    body: Pattern | None
    query: Pattern | None
    summary: str = ""


def _parse_query(request: Request) -> dict[str, Any]:
    """Query strings as Rocket.Chat reads them: ``a[]=x&a[]=y`` is a list, repeats too."""
    out: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key.endswith("[]"):
            out.setdefault(key[:-2], []).append(value)
        elif key in out:
            prev = out[key]
            out[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[key] = value
    return out


async def authenticate(app: App, request: Request) -> tuple[str | None, str | None, str | None]:
    """``X-User-Id`` + ``X-Auth-Token`` -> (user id, token hash, token); None when absent/invalid."""
    from ..services.accounts import user_for_token

    uid = request.headers.get("x-user-id")
    token = request.headers.get("x-auth-token")
    if not uid or not token:
        return None, None, None
    user, token_hash = await user_for_token(app, token)
    if user is None or user["_id"] != uid:
        return None, None, None
    return uid, token_hash, token


class RestRouter:
    """Collects ``/api/v1`` routes declared by the service modules."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], RestRoute] = {}

    def route(
        self, method: str, name: str, *, auth: bool = True, body: Pattern | None = None, query: Pattern | None = None
    ) -> Callable[[RestHandler], RestHandler]:
        def deco(fn: RestHandler) -> RestHandler:
            key = (method.upper(), name)
            if key in self.routes:
                raise ValueError(f"route {key} registered twice")
            summary = (fn.__doc__ or "").strip().split("\n")[0]
            self.routes[key] = RestRoute(method.upper(), name, fn, auth, body, query, summary)
            return fn

        return deco

    def starlette_routes(self, app: App) -> list[Route]:
        by_name: dict[str, dict[str, RestRoute]] = {}
        for (method, name), r in self.routes.items():
            by_name.setdefault(name, {})[method] = r
        out = []
        for name, methods in by_name.items():
            out.append(Route(f"/api/v1/{name}", _endpoint(app, methods), methods=list(methods)))
        return out


def _endpoint(app: App, methods: dict[str, RestRoute]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        route = methods[request.method.upper() if request.method.upper() in methods else "GET"]
        try:
            return await _run(app, route, request)
        except RestError as e:
            return json_response(e.body, e.status)

    return endpoint


async def _run(app: App, route: RestRoute, request: Request) -> Response:
    uid, token_hash, token = await authenticate(app, request)
    if route.auth and uid is None:
        raise unauthorized()
    body: dict[str, Any] = {}
    if route.method in ("POST", "PUT", "DELETE"):
        raw = await request.body()
        if raw.strip():
            if len(raw) > app.settings.max_message_size:
                return json_response({"success": False, "error": "Request entity too large"}, 413)
            try:
                parsed = orjson.loads(raw)
            except orjson.JSONDecodeError:
                return json_response({"success": False, "error": "Invalid JSON body", "errorType": "invalid-params"}, 400)
            if not isinstance(parsed, dict):
                return json_response({"success": False, "error": "Body must be a JSON object", "errorType": "invalid-params"}, 400)
            body = parsed
    query = _parse_query(request)
    try:
        if route.body is not None:
            route.body.check(body, "body")
        if route.query is not None:
            route.query.check(query, "query")
    except MatchError as e:
        return json_response(
            {"success": False, "error": f"Match error: {e.path} [invalid-params]", "errorType": "invalid-params"}, 400
        )
    req = RestRequest(app, request, uid, token_hash, body, query, token)
    try:
        result = await route.handler(req)
    except RestError:
        raise
    except MatchError as e:
        return json_response(
            {"success": False, "error": f"Match error: {e.path} [invalid-params]", "errorType": "invalid-params"}, 400
        )
    except MeteorError as e:
        out: dict[str, Any] = {"success": False, "error": e.message, "errorType": e.error}
        if e.details is not None:
            out["details"] = e.details
        return json_response(out, 400)
    except Exception:
        log.exception("REST route failed", extra={"route": route.name})
        return json_response({"success": False, "error": "Internal server error", "errorType": "error-internal"}, 500)
    return json_response({**ejson_rest(result), "success": True})


def ejson_rest(result: dict[str, Any]) -> dict[str, Any]:
    """Dates become ISO strings in REST answers (Rocket.Chat's JSON), bytes base64."""
    return ejson.json_safe(result)


def body_value(body: dict[str, Any], key: str) -> Any:
    v = body.get(key, MISSING)
    return None if v is MISSING else v
