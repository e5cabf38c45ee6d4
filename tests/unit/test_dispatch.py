"""The registries and the dispatcher: every entry declares its params, and they are checked first.

The inventory tests build the full server with ``build_app``, so every module that registers
methods or publications (now and later) is covered without editing this file: a method whose
handler cannot take its declared params, or a param that lets an operator object through
unnoticed, fails here.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any

import pytest

from ddp_e2e.app import App, build_app
from ddp_e2e.config import Settings
from ddp_e2e.ddp.check import MISSING, Maybe, Optional, Params, Pattern, String
from ddp_e2e.ddp.errors import MatchError, MeteorError
from ddp_e2e.dispatch import ConnectionInfo, MethodContext, Registry, call_method, ensure_error
from ddp_e2e.store import open_store

from .ddp_harness import run

OPERATORS: list[Any] = [{"$ne": None}, {"$regex": ".*"}, {"$where": "sleep(100)"}, {"$gt": ""}, {"$in": ["x"]}]

#: Params that accept an operator-shaped object on purpose, and why that is safe. A new entry
#: needs a reason that the handler never puts the value into a query filter or an update's keys.
OPAQUE_OK: dict[tuple[str, int], str] = {
    ("login", 0): "the login handler checks it against PASSWORD_LOGIN / String itself",
    ("ddp-e2e.echo", 0): "diagnostic echo, never touches the store",
    ("registerUser", 1): "ignored second param of Rocket.Chat's registerUser",
    ("createChannel", 3): "customFields: stored as a value under one fixed key",
    ("createChannel", 4): "extraData: named keys are checked, others ignored",
    ("createPrivateGroup", 3): "customFields: stored as a value under one fixed key",
    ("createPrivateGroup", 4): "extraData: named keys are checked, others ignored",
    ("saveRoomSettings", 2): "a setting value, checked per setting name",
}


def opaque_ok(name: str, index: int) -> bool:
    # stream writes carry arbitrary event args after the event name; each write rule inspects them
    return (name, index) in OPAQUE_OK or (name.startswith("stream-") and index >= 1)


async def full_app() -> App:
    return build_app(Settings(), await open_store("memory://"))


@pytest.fixture(scope="module")
def app() -> App:
    return asyncio.run(full_app())


def accepts(pattern: Pattern, value: Any) -> bool:
    try:
        pattern.check(value, "$")
    except MatchError:
        return False
    return True


# --------------------------------------------------------------------------- inventory of the real app


def test_the_full_app_registers_the_core_entries(app: App) -> None:
    assert {"login", "logout", "registerUser", "ddp-e2e.echo"} <= set(app.registry.methods)
    assert {"meteor.loginServiceConfiguration"} <= set(app.registry.publications)


def test_every_method_and_publication_declares_pattern_params(app: App) -> None:
    entries = [("method", s.name, s.params, s.handler) for s in app.registry.methods.values()]
    entries += [("publication", s.name, s.params, s.handler) for s in app.registry.publications.values()]
    problems = []
    for kind, name, params, handler in entries:
        if not isinstance(params, Params) or not all(isinstance(p, Pattern) for p in params.patterns):
            problems.append(f"{kind} {name}: params are not declared with ddp.check patterns")
            continue
        if not inspect.iscoroutinefunction(handler):
            problems.append(f"{kind} {name}: handler is not async")
        try:  # the dispatcher passes one argument per declared pattern, after ctx/sub
            inspect.signature(handler).bind(object(), *([None] * len(params.patterns)))
        except TypeError as e:
            problems.append(f"{kind} {name}: handler cannot take its {len(params.patterns)} declared params ({e})")
        required = [p for p in inspect.signature(handler).parameters.values()
                    if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if len(required) - 1 > len(params.patterns):
            problems.append(f"{kind} {name}: handler needs more params than declared")
    assert problems == []


def test_no_param_lets_an_operator_object_through_unless_listed(app: App) -> None:
    entries = [(s.name, s.params) for s in app.registry.methods.values()]
    entries += [(f"sub:{s.name}", s.params) for s in app.registry.publications.values()]
    unexpected = []
    for name, params in entries:
        for i, pattern in enumerate(params.patterns):
            if any(accepts(pattern, op) for op in OPERATORS) and not opaque_ok(name, i):
                unexpected.append(f"{name} params[{i}] accepts an operator object: {pattern.schema()}")
    assert unexpected == [], "declare a precise shape, or add the param to OPAQUE_OK with a reason"


def test_every_string_param_refuses_operator_objects(app: App) -> None:
    for spec in [*app.registry.methods.values(), *app.registry.publications.values()]:
        for i, pattern in enumerate(spec.params.patterns):
            if accepts(pattern, "x") and not opaque_ok(spec.name, i):
                for op in OPERATORS:
                    assert not accepts(pattern, op), f"{spec.name} params[{i}] accepts {op}"


# --------------------------------------------------------------------------- registry and dispatcher


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def __call__(self, ctx: Any, *args: Any) -> Any:
        self.calls.append(args)
        return "ran"


def test_a_name_cannot_be_registered_twice() -> None:
    reg = Registry()
    reg.method("m", String)(Recorder())
    with pytest.raises(ValueError, match="twice"):
        reg.method("m")(Recorder())
    with pytest.raises(ValueError, match="twice"):
        reg.method("other", aliases=("m",))(Recorder())
    reg.publication("p")(Recorder())
    with pytest.raises(ValueError, match="twice"):
        reg.publication("p")(Recorder())


def test_aliases_share_one_handler_and_shape() -> None:
    reg = Registry()
    rec = Recorder()
    reg.method("a", String, aliases=("b",), anonymous=True, websocket_only=True)(rec)
    assert reg.methods["a"].handler is reg.methods["b"].handler is rec
    assert reg.methods["b"].anonymous and reg.methods["b"].websocket_only
    assert reg.methods["a"].params.patterns == (String,)


def test_call_method_checks_params_before_the_handler_runs() -> None:
    async def main() -> None:
        app = await full_app()
        rec = Recorder()
        app.registry.method("t.rec", String, Optional(String), Maybe(String))(rec)
        ctx = MethodContext(app, None, connection=ConnectionInfo(id="c"))
        for bad in ([], [{"$ne": None}], ["a", None], ["a", "b", "c", "d"], [1]):
            with pytest.raises(MatchError):
                await call_method(ctx, "t.rec", bad)
        assert rec.calls == []  # nothing reached the handler
        assert await call_method(ctx, "t.rec", ["a"]) == "ran"
        assert rec.calls == [("a", None, None)]  # absent optionals arrive as None, never MISSING
        assert MISSING not in rec.calls[0]
        assert ctx.method == "t.rec"
        with pytest.raises(MeteorError) as info:
            await call_method(ctx, "t.nope", [])
        assert info.value.to_wire()["reason"] == "Method 't.nope' not found"
        assert info.value.error == 404

    run(main())


def test_ensure_error_passes_client_safe_errors_and_hides_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    mine = MeteorError("error-x", "Reason")
    assert ensure_error(mine, where="t") is mine
    assert ensure_error(MatchError("$.a"), where="t").to_wire()["reason"] == "Match failed"
    with caplog.at_level(logging.ERROR, logger="ddp_e2e.dispatch"):
        wrapped = ensure_error(KeyError("services.password"), where="method t")
    assert wrapped.to_wire() == {"isClientSafe": True, "error": 500, "reason": "Internal server error",
                                 "message": "Internal server error [500]", "errorType": "Meteor.Error"}
    assert "services.password" not in str(wrapped.to_wire())
    assert [r.exc_info is not None for r in caplog.records] == [True]


def test_method_context_set_user_id_without_a_session() -> None:
    async def main() -> None:
        app = await full_app()
        ctx = MethodContext(app, None)  # REST method.call has no DDP session to re-run
        await ctx.set_user_id("u1", "hash")
        assert (ctx.user_id, ctx.token_hash) == ("u1", "hash")

    run(main())
