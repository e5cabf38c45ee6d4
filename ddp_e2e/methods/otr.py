"""The ``stream-notify-user`` write rule for ``<peerUid>/otr`` (the relay is services/otr.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..services import otr
from .streams import add_write_rule

if TYPE_CHECKING:
    from ..app import App
    from ..dispatch import MethodContext


async def _otr_write(ctx: MethodContext, event: str, args: list[Any]) -> None:
    """``["<peerUid>/otr", type, data]``: relayed to the peer, or dropped (never an error)."""
    peer_id = event.split("/", 1)[0]
    if len(args) != 2 or not peer_id:
        return
    await otr.relay(ctx.app, ctx.user_id, peer_id, args[0], args[1], origin=ctx.session)


def register(app: App) -> None:
    add_write_rule(app, "notify-user", "otr", _otr_write)
