"""One DDP subscription: what a publication handler talks to (Meteor's ``this`` in publish)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import MeteorError

if TYPE_CHECKING:
    from .session import Session

log = logging.getLogger("ddp_e2e.subscription")


class Subscription:
    """Documents go through the session's merge box; ``ready``/``error`` end the start phase."""

    __slots__ = ("_stops", "id", "is_ready", "name", "params", "session", "stopped", "universal")

    def __init__(self, session: Session, sub_id: str, name: str, params: list[Any], *, universal: bool = False) -> None:
        self.session = session
        self.id = sub_id
        self.name = name
        self.params = params
        self.universal = universal
        self.is_ready = False
        self.stopped = False
        self._stops: list[Callable[[], None]] = []

    @property
    def user_id(self) -> str | None:
        return self.session.user_id

    @property
    def app(self) -> Any:
        return self.session.app

    def added(self, collection: str, doc_id: str, fields: dict[str, Any]) -> None:
        if not self.stopped:
            self.session.emit_data(self.session.mergebox.added(self.id, collection, doc_id, fields))

    def changed(self, collection: str, doc_id: str, fields: dict[str, Any], cleared: tuple[str, ...] = ()) -> None:
        if not self.stopped:
            self.session.emit_data(self.session.mergebox.changed(self.id, collection, doc_id, fields, cleared))

    def removed(self, collection: str, doc_id: str) -> None:
        if not self.stopped:
            self.session.emit_data(self.session.mergebox.removed(self.id, collection, doc_id))

    def ready(self) -> None:
        """Send ``ready`` once (universal subs never send it)."""
        if self.stopped or self.is_ready:
            return
        self.is_ready = True
        if not self.universal:
            self.session.sub_ready(self.id)

    def on_stop(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` when the subscription stops (unsub, re-run, disconnect)."""
        if self.stopped:
            fn()
        else:
            self._stops.append(fn)

    def send_raw(self, text: str) -> None:
        """For stream events: a frame encoded once for every subscriber, bypassing the merge box."""
        if not self.stopped:
            self.session.send_raw(text)

    def error(self, err: MeteorError) -> None:
        self.session.fail_subscription(self, err)

    def deactivate(self) -> None:
        """Stop without telling the client (disconnect, or before a login re-run)."""
        if self.stopped:
            return
        self.stopped = True
        stops, self._stops = self._stops, []
        for fn in stops:
            try:
                fn()
            except Exception:
                log.exception("subscription stop callback failed", extra={"sub": self.name})
