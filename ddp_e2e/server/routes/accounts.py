"""REST login, me and logout (Rocket.Chat's ``/api/v1/login``, ``/me``, ``/logout``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from ...ddp.check import AnyObject
from ...ddp.errors import MatchError, MeteorError
from ...services import accounts
from ...services.ratelimit import FixedWindowLimiter
from ..rest import RestError, RestRequest

if TYPE_CHECKING:
    from ...app import App


#: Failed REST logins allowed per client address and user, per minute (Rocket.Chat's REST default
#: is 10 calls a minute); success does not count, so a scripted client logging in often still works.
FAILED_LOGIN_LIMIT = (10, 60.0)


def _me(user: dict[str, Any]) -> dict[str, Any]:
    keys = ("_id", "username", "name", "emails", "status", "active", "roles", "type", "utcOffset", "statusText")
    return {k: user[k] for k in keys if k in user}


def register(app: App) -> None:
    rest = app.rest  # type: ignore[attr-defined]

    @rest.route("POST", "login", auth=False, body=AnyObject())
    async def login(req: RestRequest) -> dict[str, Any]:
        """Log in with ``{user|username, password}`` or ``{resume}``; returns ``authToken``."""
        body = req.body
        limiter = req.app.extensions.setdefault("rest_login_failures", FixedWindowLimiter(*FAILED_LOGIN_LIMIT))
        client = req.request.client.host if req.request.client else "?"
        key = f"{client}|{orjson.dumps(body.get('user', body.get('username', body.get('resume')))).decode()}"
        now = req.app.now().timestamp()
        wait = limiter.blocked(key, now)
        if wait is not None:
            raise RestError(429, {"success": False, "error": "Error, too many requests. Please slow down. "
                                  f"You must wait {max(1, round(wait))} seconds before trying again.",
                                  "errorType": "error-too-many-requests"})
        try:
            if "resume" in body:
                user, _hashed, _when = await accounts.login_with_resume(req.app, body["resume"])
                token = body["resume"]
            else:
                selector = body.get("user", body.get("username"))
                options: dict[str, Any] = {"user": selector, "password": body.get("password")}
                if isinstance(body.get("password"), str) and accounts.is_digest_string(body["password"]):
                    options["password"] = {"digest": body["password"], "algorithm": "sha-256"}
                user, token, _hashed, _when = await accounts.login_with_password(req.app, options)
        except (MeteorError, MatchError) as e:
            limiter.hit(key, now)
            raise RestError(401, {"status": "error", "error": "Unauthorized", "message": "Unauthorized"}) from e
        return {"status": "success", "data": {"userId": user["_id"], "authToken": token, "me": _me(user)}}

    @rest.route("GET", "me")
    async def me(req: RestRequest) -> dict[str, Any]:
        """The caller's own user document (never its keys or services)."""
        user = await req.app.store.users.find_one({"_id": req.user_id})
        return _me(user or {})

    @rest.route("POST", "logout")
    async def logout(req: RestRequest) -> dict[str, Any]:
        """Delete the request's token; sockets logged in with it are closed."""
        await accounts.logout(req.app, req.user_id, req.token_hash)
        return {"status": "success", "data": {"message": "You've been logged out!"}}
