"""Methods for measuring and probing the server itself (not part of Rocket.Chat's API)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..ddp.check import Any_, Optional

if TYPE_CHECKING:
    from ..app import App
    from ..dispatch import MethodContext


def register(app: App) -> None:
    @app.registry.method("ddp-e2e.echo", Optional(Any_), anonymous=True)
    async def echo(ctx: MethodContext, value: Any = None) -> Any:
        """Return the first param unchanged: the trivial method of the benchmark and probes."""
        return value
