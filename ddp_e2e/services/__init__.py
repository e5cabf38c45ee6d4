"""The emulated Rocket.Chat. Service functions take the App and never touch sockets."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..app import App

#: Modules with a ``register(app)`` that adds DDP methods/publications (ddp_e2e/methods/) and
#: REST routes (ddp_e2e/server/routes/). Order does not matter; names must not collide.
MODULES = (
    "ddp_e2e.methods.accounts",
    "ddp_e2e.methods.diagnostics",
    "ddp_e2e.server.routes.accounts",
    "ddp_e2e.server.routes.method_call",
)
#: Modules added by later features; registered when present.
OPTIONAL_MODULES = (
    "ddp_e2e.methods.streams",
    "ddp_e2e.methods.rooms",
    "ddp_e2e.methods.messages",
    "ddp_e2e.methods.e2e",
    "ddp_e2e.methods.otr",
    "ddp_e2e.server.routes.chat",
    "ddp_e2e.server.routes.rooms",
    "ddp_e2e.server.routes.e2e",
    "ddp_e2e.server.routes.push",
)


def register_all(app: App) -> None:
    """Register every method, publication and route on ``app`` (once per App)."""
    from ..server.rest import RestRouter

    app.rest = RestRouter()  # type: ignore[attr-defined]
    for name in MODULES:
        importlib.import_module(name).register(app)
    for name in OPTIONAL_MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
            continue
        mod.register(app)
