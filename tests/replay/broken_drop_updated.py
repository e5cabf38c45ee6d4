"""A deliberately broken server variant: it never sends ``updated`` (test-only plugin).

Loaded only through ``ddp-e2e serve --plugin tests.replay.broken_drop_updated``. A Meteor client
waits for ``updated`` before it runs a method callback, so this server freezes real clients;
replay and conformance must both catch it and name the frame.
"""

from __future__ import annotations

from ddp_e2e.config import Settings
from ddp_e2e.ddp.session import Session

_original_emit = Session._emit_text


def _emit_without_updated(self: Session, text: str) -> None:
    """Every outbound DDP text passes here; ``updated`` frames are swallowed."""
    if text.startswith('{"msg":"updated"'):
        return
    _original_emit(self, text)


def install(settings: Settings) -> None:
    """Patch the session class of this server process only (the plugin runs in the server)."""
    Session._emit_text = _emit_without_updated  # type: ignore[method-assign]
