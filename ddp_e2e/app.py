"""The application container: settings, store, hub, registry and live sessions, wired once.

Everything a service needs arrives through this object, so tests build a real App on the
embedded store instead of patching globals.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .bus.local import Hub
from .config import Settings
from .dispatch import Registry
from .ids import Random

if TYPE_CHECKING:
    from .ddp.session import Session
    from .store import Store

log = logging.getLogger("ddp_e2e.app")


def utcnow() -> datetime:
    """Millisecond precision, as a Mongo/EJSON date round trip keeps."""
    now = datetime.now(UTC)
    return now.replace(microsecond=(now.microsecond // 1000) * 1000)


class SessionDirectory:
    """Live DDP sessions by id and by user, so services can close them (logout everywhere)."""

    def __init__(self) -> None:
        self.by_id: dict[str, Session] = {}

    def add(self, session: Session) -> None:
        self.by_id[session.id] = session

    def discard(self, session: Session) -> None:
        if self.by_id.get(session.id) is session:
            del self.by_id[session.id]

    def for_user(self, user_id: str) -> list[Session]:
        return [s for s in self.by_id.values() if s.user_id == user_id]

    def close_for_user(self, user_id: str, *, code: int = 1000, reason: str = "logged out") -> int:
        sessions = self.for_user(user_id)
        for s in sessions:
            s.close(code, reason)
        return len(sessions)

    def close_for_token(self, token_hash: str, *, code: int = 1000, reason: str = "token removed") -> int:
        """Meteor closes a connection whose login token was deleted (logout elsewhere)."""
        sessions = [s for s in self.by_id.values() if s.token_hash == token_hash]
        for s in sessions:
            s.close(code, reason)
        return len(sessions)


class App:
    """One server instance's state. Services take it as their first argument."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        random: Random | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.store = store
        self.random = random or Random(settings.random_seed)
        self.clock = clock
        self.hub = Hub()
        self.registry = Registry()
        self.sessions = SessionDirectory()
        self.extensions: dict[str, Any] = {}

    def now(self) -> datetime:
        return self.clock()


def build_app(settings: Settings, store: Store, **kw: Any) -> App:
    """An App with every service's methods, publications and hooks registered."""
    from .services import register_all

    app = App(settings, store, **kw)
    register_all(app)
    return app
