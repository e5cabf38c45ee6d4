"""Meteor accounts as Rocket.Chat runs them: login, resume tokens, logout, registration.

One implementation serves DDP ``login``/``logout``/``registerUser`` and REST ``/api/v1/login``,
``/me``, ``/logout``. Failures never tell whether a user exists (Meteor's ambiguous message).
Tokens are stored only as base64(sha256(token)), with ``when`` driving the expiry
(``Accounts_LoginExpiration`` days). Preconditions checked on every login path (lessons of the
2026 ddp-streamer advisories): the password check is awaited, deactivated users are refused,
resume tokens expire.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ..ddp.check import (
    AnyObject,
    MaxLenString,
    NonEmptyString,
    Object,
    OneOf,
    Optional,
    String,
    Where,
    check,
)
from ..ddp.errors import MatchError, MeteorError
from .passwords import check_password_async, hash_login_token, hash_password_async, sha256_hex
from .ratelimit import FixedWindowLimiter

if TYPE_CHECKING:
    from ..app import App
    from ..dispatch import MethodContext

AMBIGUOUS = "Something went wrong. Please check your credentials."
LOGGED_OUT = "You've been logged out by the server. Please log in again."
EXPIRED = "Your session has expired. Please log in again."

_USER_SELECTOR = OneOf(
    Object({"username": NonEmptyString}),
    Object({"email": NonEmptyString}),
    Object({"id": NonEmptyString}),
)
_DIGEST = Object({
    "digest": Where(lambda v: isinstance(v, str) and len(v) == 64, "a 64-character sha256 digest",
                    {"type": "string", "minLength": 64, "maxLength": 64}),
    "algorithm": Where(lambda v: v == "sha-256", 'exactly "sha-256"', {"const": "sha-256"}),
})
PASSWORD_LOGIN = Object({
    "user": OneOf(_USER_SELECTOR, MaxLenString(256, min_len=1)),
    "password": OneOf(_DIGEST, MaxLenString(256)),
    "code": Optional(String),
})
LOGIN_OPTIONS = AnyObject()

#: Meteor's only default rate limit: 5 logins per 10 s per connection.
LOGIN_LIMIT = (5, 10.0)


def _login_limiter(app: App) -> FixedWindowLimiter:
    """One limiter per App (not per process): two servers in one process must not share counts."""
    limiter = app.extensions.get("login_limiter")
    if limiter is None:
        limiter = app.extensions["login_limiter"] = FixedWindowLimiter(*LOGIN_LIMIT)
    return limiter

PUBLIC_USER_FIELDS = ("username", "emails", "profile", "name")


def expiry_days(app: App) -> float:
    v = app.settings.get("Accounts_LoginExpiration")
    return float(v) if isinstance(v, int | float) and v > 0 else 90.0


async def user_for_token(app: App, token: str) -> tuple[dict[str, Any] | None, str]:
    """The user holding a live (unexpired) resume token, and the token's hash."""
    hashed = hash_login_token(token)
    user = await app.store.users.find_one({"services.resume.loginTokens.hashedToken": hashed})
    if user is None:
        return None, hashed
    entry = next((t for t in user["services"]["resume"]["loginTokens"] if t.get("hashedToken") == hashed), None)
    when = entry.get("when") if entry else None
    if when is not None and when + timedelta(days=expiry_days(app)) < app.now():
        return None, hashed
    if user.get("active") is False:
        return None, hashed
    return user, hashed


def _selector_query(selector: dict[str, str] | str) -> dict[str, Any]:
    if isinstance(selector, str):  # the Meteor client turns a bare string into username/email
        return {"emails.address": selector} if "@" in selector else {"username": selector}
    if "id" in selector:
        return {"_id": selector["id"]}
    if "email" in selector:
        return {"emails.address": selector["email"]}
    return {"username": selector["username"]}


async def find_user(app: App, selector: dict[str, str] | str) -> dict[str, Any] | None:
    """Exact match first, then a unique case-insensitive match (Meteor's lookup rule)."""
    query = _selector_query(selector)
    user = await app.store.users.find_one(query)
    if user is not None or "_id" in query:
        return user
    (field, value), = query.items()
    pattern = re.compile(f"^{re.escape(value)}$", re.IGNORECASE)
    found = await app.store.users.find({field: pattern}).to_list(2)
    return found[0] if len(found) == 1 else None


async def _issue_token(app: App, user_id: str) -> tuple[str, str, Any]:
    token = app.random.secret()
    hashed = hash_login_token(token)
    when = app.now()
    await app.store.users.update_one(
        {"_id": user_id}, {"$push": {"services.resume.loginTokens": {"when": when, "hashedToken": hashed}}}
    )
    return token, hashed, when


async def login_with_password(app: App, options: dict[str, Any]) -> tuple[dict[str, Any], str, str, Any]:
    """Check a password login; returns (user, token, token hash, when)."""
    check(options, PASSWORD_LOGIN, "options")
    user = await find_user(app, options["user"])
    password = options["password"]
    digest = password["digest"].lower() if isinstance(password, dict) else sha256_hex(password)
    stored = ((user or {}).get("services") or {}).get("password", {}).get("bcrypt")
    if user is None or not isinstance(stored, str):
        raise MeteorError(403, AMBIGUOUS)
    if not await check_password_async(digest, stored):
        raise MeteorError(403, AMBIGUOUS)
    if user.get("active") is False:
        raise MeteorError("error-user-is-not-activated", "User is not activated")
    token, hashed, when = await _issue_token(app, user["_id"])
    return user, token, hashed, when


async def login_with_resume(app: App, token: Any) -> tuple[dict[str, Any], str, Any]:
    """A resume login keeps the token and its original ``when`` (the expiry does not slide)."""
    check(token, String, "options.resume")
    hashed = hash_login_token(token)
    user = await app.store.users.find_one({"services.resume.loginTokens.hashedToken": hashed})
    if user is None:
        raise MeteorError(403, LOGGED_OUT)
    entry = next(t for t in user["services"]["resume"]["loginTokens"] if t.get("hashedToken") == hashed)
    when = entry.get("when")
    if when is not None and when + timedelta(days=expiry_days(app)) < app.now():
        raise MeteorError(403, EXPIRED)
    if user.get("active") is False:
        raise MeteorError("error-user-is-not-activated", "User is not activated")
    return user, hashed, when


def login_result(app: App, user_id: str, token: str, when: Any, kind: str) -> dict[str, Any]:
    result: dict[str, Any] = {"id": user_id, "token": token}
    if when is not None:
        result["tokenExpires"] = when + timedelta(days=expiry_days(app))
    result["type"] = kind
    return result


async def ddp_login(ctx: MethodContext, options: Any) -> dict[str, Any]:
    """``login``: resume token, password digest or plaintext password."""
    app = ctx.app
    conn_key = ctx.connection.id if ctx.connection else "anonymous"
    wait = _login_limiter(app).hit(conn_key, app.now().timestamp())
    if wait is not None:
        secs = max(1, int(-(-wait // 1)))
        raise MeteorError(
            "too-many-requests",
            f"Error, too many requests. Please slow down. You must wait {secs} seconds before trying again.",
            {"timeToReset": int(wait * 1000)},
        )
    if not isinstance(options, dict):
        raise MatchError("options")
    if "resume" in options:
        user, hashed, when = await login_with_resume(app, options["resume"])
        await ctx.set_user_id(user["_id"], hashed)
        return login_result(app, user["_id"], options["resume"], when, "resume")
    if "password" in options and "user" in options:
        user, token, hashed, when = await login_with_password(app, options)
        await ctx.set_user_id(user["_id"], hashed)
        return login_result(app, user["_id"], token, when, "password")
    raise MeteorError(400, "Unrecognized options for login request")


async def logout(app: App, user_id: str | None, token_hash: str | None) -> None:
    """Delete the token; every other connection still using it is closed (Meteor's token watch)."""
    if user_id and token_hash:
        await app.store.users.update_one(
            {"_id": user_id}, {"$pull": {"services.resume.loginTokens": {"hashedToken": token_hash}}}
        )
        app.sessions.close_for_token(token_hash)


async def remove_all_tokens(app: App, user_id: str) -> None:
    """Log a user out everywhere (key reset): tokens gone, sockets closed."""
    await app.store.users.update_one({"_id": user_id}, {"$set": {"services.resume.loginTokens": []}})
    app.sessions.close_for_user(user_id)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_USERNAME = re.compile(r"^[0-9a-zA-Z\-_.]+$")

REGISTER = Object({
    "email": MaxLenString(254, min_len=3),
    "pass": MaxLenString(256, min_len=1),
    "name": MaxLenString(120, min_len=1),
    "username": Optional(MaxLenString(64, min_len=1)),
    "secretURL": Optional(String),
    "reason": Optional(String),
})


async def register_user(app: App, data: dict[str, Any]) -> str:
    """Rocket.Chat's ``registerUser``: creates the user, returns its id (login comes after)."""
    if app.settings.get("Accounts_RegistrationForm") == "Disabled":
        raise MeteorError("error-user-registration-disabled", "User registration is disabled")
    email = data["email"].strip().lower()
    if not _EMAIL.match(email):
        raise MeteorError("error-invalid-email", f"Invalid email {email}")
    username = data.get("username") or email.split("@", 1)[0]
    if not _USERNAME.match(username):
        raise MeteorError("error-invalid-username", "Invalid username")
    if await app.store.users.find_one({"emails.address": email}) is not None:
        raise MeteorError("error-field-unavailable", f"{email} is already in use :(")
    if await find_user(app, {"username": username}) is not None:
        raise MeteorError("error-field-unavailable", f"{username} is already in use :(")
    uid = app.random.id()
    now = app.now()
    await app.store.users.insert_one({
        "_id": uid, "createdAt": now, "_updatedAt": now, "username": username, "name": data["name"],
        "emails": [{"address": email, "verified": False}], "type": "user", "status": "offline",
        "active": True, "roles": ["user"],
        "services": {"password": {"bcrypt": await hash_password_async(data["pass"], is_digest=False,
                                                                    rounds=app.settings.bcrypt_rounds)},
                     "resume": {"loginTokens": []}},
    })
    for hook in app.extensions.get("after_user_created", ()):
        await hook(app, uid)
    return uid


def is_digest_string(value: object) -> bool:
    """REST login accepts a hex sha256 digest in ``password`` (Rocket.Chat's ``digest`` form)."""
    return isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value) is not None


def public_user_fields(user: dict[str, Any]) -> dict[str, Any]:
    return {k: user[k] for k in PUBLIC_USER_FIELDS if k in user}
