"""Subscriptions of a DDP session: sub/unsub/nosub/ready, and the login re-run.

Split from :mod:`session` so each file has one job: this part owns the subscription table and
Meteor's ``_setUserId`` (re-run every subscription as the new user and send only the diff of the
client's view, spec ddp-protocol.md §3.4-§3.5). It is a mixin over the Session's state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..dispatch import ensure_error, start_publication
from .errors import MeteorError
from .mergebox import MergeBox
from .subscription import Subscription

if TYPE_CHECKING:
    from ..app import App


class SubscriptionHandling:
    """The subscription half of :class:`~ddp_e2e.ddp.session.Session`."""

    app: App
    subs: dict[str, Subscription]
    _universal: list[Subscription]
    _suppress_data: bool
    _pending_ready: list[str]
    mergebox: MergeBox
    user_id: str | None
    token_hash: str | None

    if TYPE_CHECKING:  # provided by Session
        def send(self, msg: dict[str, Any]) -> None: ...
        def emit_data(self, msgs: list[dict[str, Any]]) -> None: ...
        def _protocol_error(self, reason: str, offending: Any) -> None: ...

    async def _sub(self, msg: dict[str, Any], raw: dict[str, Any]) -> None:
        sid, name, params = msg.get("id"), msg.get("name"), msg.get("params", [])
        if not isinstance(sid, str) or not isinstance(name, str) or not isinstance(params, list):
            self._protocol_error("Malformed subscription", raw)
            return
        if sid in self.subs:
            return  # Meteor ignores a duplicate sub id (clients re-send subs on reconnect)
        if name not in self.app.registry.publications:
            self.send({"msg": "nosub", "id": sid, "error": MeteorError(404, f"Subscription '{name}' not found").to_wire()})
            return
        if len(self.subs) >= self.app.settings.max_subscriptions_per_connection:
            self.send({"msg": "nosub", "id": sid, "error": MeteorError("too-many-subscriptions", "Too many subscriptions").to_wire()})
            return
        sub = Subscription(self, sid, name, params)
        self.subs[sid] = sub
        await self._run_sub(sub)

    async def _run_sub(self, sub: Subscription) -> None:
        try:
            await start_publication(sub, sub.name, sub.params)
        except Exception as exc:
            self.fail_subscription(sub, ensure_error(exc, where=f"publication {sub.name}"))
            return
        if not sub.stopped:
            sub.ready()

    def fail_subscription(self, sub: Subscription, err: MeteorError) -> None:
        """``this.error()``: remove its documents, then ``nosub`` carrying the error."""
        if sub.stopped:
            return
        sub.deactivate()
        if self.subs.get(sub.id) is sub:
            del self.subs[sub.id]
        self.emit_data(self.mergebox.remove_subscription(sub.id))
        self.send({"msg": "nosub", "id": sub.id, "error": err.to_wire()})

    def sub_ready(self, sub_id: str) -> None:
        if not self._suppress_data:
            self.send({"msg": "ready", "subs": [sub_id]})
        else:
            self._pending_ready.append(sub_id)

    def _unsub(self, msg: dict[str, Any]) -> None:
        sid = msg.get("id")
        if not isinstance(sid, str):
            self.send({"msg": "nosub"})
            return
        sub = self.subs.pop(sid, None)
        if sub is not None:
            sub.deactivate()
            self.emit_data(self.mergebox.remove_subscription(sid))
        self.send({"msg": "nosub", "id": sid})

    # ------------------------------------------------------------------ universal subs & login
    def _start_universal(self) -> None:
        for name in self.app.extensions.get("universal_publications", ()):
            self._universal.append(Subscription(self, f"__universal__{name}", name, [], universal=True))

    async def _run_universal(self) -> None:
        for sub in self._universal:
            try:
                await start_publication(sub, sub.name, [])
            except Exception as exc:
                ensure_error(exc, where=f"universal publication {sub.name}")

    async def set_user_id(self, user_id: str | None, token_hash: str | None = None) -> None:
        """Meteor's ``_setUserId``: re-run every subscription as the new user, send the diff."""
        self.token_hash = token_hash
        old = self.mergebox.snapshot()
        self._suppress_data = True
        self._pending_ready = []
        try:
            for sub in list(self.subs.values()):
                sub.deactivate()
            for sub in self._universal:
                sub.deactivate()
            self.mergebox.reset()
            self.user_id = user_id
            rerun = [Subscription(self, s.id, s.name, s.params) for s in self.subs.values()]
            self.subs = {s.id: s for s in rerun}
            self._universal = [Subscription(self, s.id, s.name, [], universal=True) for s in self._universal]
            await self._run_universal()
            for sub in self._universal:
                sub.is_ready = True
            failed: list[tuple[Subscription, MeteorError]] = []
            for sub in rerun:
                try:
                    await start_publication(sub, sub.name, sub.params)
                except Exception as exc:
                    failed.append((sub, ensure_error(exc, where=f"publication {sub.name}")))
                    continue
                if not sub.stopped:
                    sub.ready()
        finally:
            self._suppress_data = False
        for sub, _err in failed:
            sub.deactivate()
            self.subs.pop(sub.id, None)
            self.mergebox.remove_subscription(sub.id)
        for m in MergeBox.diff(old, self.mergebox.snapshot()):
            self.send(m)
        for sub, err in failed:
            self.send({"msg": "nosub", "id": sub.id, "error": err.to_wire()})
        for sid in self._pending_ready:
            self.send({"msg": "ready", "subs": [sid]})
        self._pending_ready = []
