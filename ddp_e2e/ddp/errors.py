"""Meteor.Error and its wire shape.

Every failure a client can see is a :class:`MeteorError`. Anything else raised by a handler is
logged and replaced by ``500 Internal server error`` (Meteor's ``wrapInternalException``), so no
traceback or internal detail ever reaches a client.
"""

from __future__ import annotations

from typing import Any


class MeteorError(Exception):
    """A client-safe error: ``error`` code (str or int), optional ``reason`` and ``details``."""

    def __init__(self, error: str | int, reason: str | None = None, details: Any = None) -> None:
        self.error = error
        self.reason = reason
        self.details = details
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return f"{self.reason} [{self.error}]" if self.reason else f"[{self.error}]"

    def to_wire(self) -> dict[str, Any]:
        """The JSON object Meteor sends, keys in Meteor's constructor order."""
        out: dict[str, Any] = {"isClientSafe": True, "error": self.error}
        if self.reason is not None:
            out["reason"] = self.reason
        if self.details is not None:
            out["details"] = self.details
        out["message"] = self.message
        out["errorType"] = "Meteor.Error"
        return out

    def __repr__(self) -> str:
        return f"MeteorError({self.error!r}, {self.reason!r}, {self.details!r})"

    @classmethod
    def from_wire(cls, obj: dict[str, Any]) -> MeteorError:
        return cls(obj.get("error"), obj.get("reason"), obj.get("details"))  # type: ignore[arg-type]


class MatchError(MeteorError):
    """A parameter failed its declared shape (Meteor's ``check()``): ``400 Match failed``.

    ``path`` says where, for logs only; the wire shape is exactly Meteor's.
    """

    def __init__(self, path: str = "") -> None:
        self.path = path
        super().__init__(400, "Match failed")


def internal_error() -> MeteorError:
    return MeteorError(500, "Internal server error")


def method_not_found(name: str) -> MeteorError:
    return MeteorError(404, f"Method '{name}' not found")


def subscription_not_found(name: str) -> MeteorError:
    return MeteorError(404, f"Subscription '{name}' not found")


def invalid_user(method: str | None = None) -> MeteorError:
    """Rocket.Chat's ``error-invalid-user`` (no logged-in user)."""
    return MeteorError("error-invalid-user", "Invalid user", {"method": method} if method else None)


def not_authorized(method: str | None = None) -> MeteorError:
    return MeteorError("error-not-authorized", "Not authorized", {"method": method} if method else None)
