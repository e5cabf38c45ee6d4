"""DDP methods and publications of accounts: login, logout, registerUser, the user document."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..ddp.check import Any_, Optional
from ..services import accounts

if TYPE_CHECKING:
    from ..app import App
    from ..ddp.subscription import Subscription
    from ..dispatch import MethodContext

LOGIN_RESULT = {
    "type": "object",
    "properties": {"id": {"type": "string"}, "token": {"type": "string"},
                   "tokenExpires": {"type": "object", "required": ["$date"]}, "type": {"type": "string"}},
    "required": ["id", "token", "type"],
}


def register(app: App) -> None:
    r = app.registry

    @r.method("login", Any_, anonymous=True, result=LOGIN_RESULT)
    async def login(ctx: MethodContext, options: Any) -> dict[str, Any]:
        """Log in with ``{resume}``, ``{user, password:{digest, algorithm}}`` or a plaintext password."""
        return await accounts.ddp_login(ctx, options)

    @r.method("logout")
    async def logout(ctx: MethodContext) -> None:
        """Delete this connection's login token; subscriptions re-run as nobody."""
        user_id, token_hash = ctx.user_id, ctx.token_hash
        await ctx.set_user_id(None, None)
        await accounts.logout(ctx.app, user_id, token_hash)

    @r.method("registerUser", accounts.REGISTER, Optional(Any_), anonymous=True, result={"type": "string"})
    async def register_user(ctx: MethodContext, data: dict[str, Any], _extra: Any = None) -> str:
        """Create an account (Rocket.Chat's registration form); returns the new user id."""
        return await accounts.register_user(ctx.app, data)

    @r.publication("meteor.loginServiceConfiguration")
    async def login_services(sub: Subscription) -> None:
        """OAuth service configurations; none are configured here, so it is ready and empty."""
        sub.ready()

    @r.publication("__user__")
    async def own_user(sub: Subscription) -> None:
        """Universal: the logged-in user's own document (Meteor clients wait for it after login)."""
        if sub.user_id is None:
            return
        user = await sub.app.store.users.find_one({"_id": sub.user_id})
        if user is not None:
            sub.added("users", user["_id"], accounts.public_user_fields(user))

    app.extensions.setdefault("universal_publications", []).append("__user__")
