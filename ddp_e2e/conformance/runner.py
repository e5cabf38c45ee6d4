"""Running conformance scenarios against any DDP server (``ddp-e2e conformance --url ...``).

Scenarios run one after the other, each with its own sockets (so a broken one cannot disturb
the next) and its own variables: ``${run}`` (a fresh suffix for room names), the configured users
(``${alice}`` is alice's username, ``${alice.password}``; after a ``login`` step ``${alice.id}``
and ``${alice.token}``), the scenario's ``variables`` and whatever patterns captured. A failing
step stops its scenario; the message names the step, what was expected and the frame that came
closest, so a person can find it on the wire.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import string
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from .connection import Inbound, ScenarioSocket
from .http import HttpFailed, default_http, http_request, sockjs_url
from .matchers import ABSENT, match, substitute
from .scenario import Scenario, Step

__all__ = ["RunConfig", "ScenarioResult", "StepFailed", "UserSpec", "default_http", "run_scenario", "run_scenarios"]

log = logging.getLogger("ddp_e2e.conformance")

_CONNECTED = {"msg": "connected", "session": "<non-empty-string>"}
_BARRIER_METHOD = "ddp-conformance/barrier"


@dataclass(frozen=True, slots=True)
class UserSpec:
    """A role used by scenarios (``alice``) and the real account that plays it."""

    role: str
    username: str
    password: str


@dataclass(frozen=True, slots=True)
class RunConfig:
    url: str
    http: str
    users: Mapping[str, UserSpec]
    timeout: float = 5.0
    variables: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ScenarioResult:
    scenario: Scenario
    status: Literal["pass", "fail", "error"]
    seconds: float
    message: str = ""
    step: int | None = None


class StepFailed(AssertionError):
    """A step's expectation did not hold; the text is the whole explanation."""


class _Run:
    """The state of one scenario run: sockets, variables, id counters."""

    def __init__(self, scenario: Scenario, config: RunConfig) -> None:
        self.scenario = scenario
        self.config = config
        self.sockets: dict[str, ScenarioSocket] = {}
        self.ids = 0
        self.vars: dict[str, Any] = {"run": "".join(secrets.choice(string.ascii_lowercase) for _ in range(8))}
        self.vars.update(config.variables)
        for role, user in config.users.items():
            self.vars[role] = user.username
            self.vars[f"{role}.username"] = user.username
            self.vars[f"{role}.password"] = user.password
            self.vars[f"{role}.password_sha256"] = hashlib.sha256(user.password.encode()).hexdigest()
        for key, value in scenario.variables.items():
            self.vars[key] = substitute(value, self.vars)

    def sub(self, value: Any) -> Any:
        try:
            return substitute(value, self.vars)
        except KeyError as exc:
            raise StepFailed(str(exc.args[0])) from None

    def next_id(self, prefix: str) -> str:
        self.ids += 1
        return f"{prefix}{self.ids}"

    def timeout(self, step: Step) -> float:
        value = self.sub(step.spec.get("timeout", self.config.timeout))
        try:
            return float(value)
        except (TypeError, ValueError):
            raise StepFailed(f"timeout {value!r} is not a number of seconds") from None

    def socket(self, step: Step) -> ScenarioSocket:
        name = step.connection
        sock = self.sockets.get(name)
        if sock is None:
            raise StepFailed(f"connection {name!r} is not open (add an open or connect step first)")
        return sock

    async def open(self, step: Step) -> ScenarioSocket:
        name = step.connection
        if name in self.sockets:
            return self.sockets[name]
        url = sockjs_url(self.config.url) if step.spec.get("sockjs") else self.config.url
        sock = ScenarioSocket(url, answer_pings=step.spec.get("answer_pings", True) is not False,
                              timeout=self.timeout(step))
        try:
            await sock.open()
        except (ConnectionError, TimeoutError) as exc:
            raise StepFailed(str(exc)) from None
        self.sockets[name] = sock
        return sock

    async def close_all(self) -> None:
        await asyncio.gather(*(s.close() for s in self.sockets.values()), return_exceptions=True)


async def _expect(run: _Run, step: Step, sock: ScenarioSocket, patterns: list[Any], *, nxt: bool = False) -> list[Inbound]:
    """Wait until each pattern has matched a distinct unconsumed message; consume them."""
    deadline = time.monotonic() + run.timeout(step)
    patterns = [run.sub(p) for p in patterns]
    while True:
        found = _find(sock, patterns, nxt)
        if isinstance(found, list):
            captures: dict[str, Any] = {}
            for pattern, message in zip(patterns, found, strict=True):
                match(pattern, message.value, captures)
                message.consumed = True
            run.vars.update(captures)
            return found
        if nxt and found is not None:
            raise StepFailed(f"the next message does not match: {found}")
        if not await sock.wait_change(len(sock.messages), deadline):
            break
        if sock.closed is not None and _find(sock, patterns, nxt) is None:
            break
    why = f"the connection closed ({_close_text(sock.closed)})" if sock.closed else f"nothing within {run.timeout(step):g} s"
    raise StepFailed(f"expected {_show(patterns if len(patterns) > 1 else patterns[0])}: {why}; {_closest(sock, patterns)}")


def _find(sock: ScenarioSocket, patterns: list[Any], nxt: bool) -> list[Inbound] | str | None:
    pending = [m for m in sock.messages if not m.consumed and not _is_heartbeat(m, patterns)]
    if nxt:
        if not pending:
            return None
        problems = match(patterns[0], pending[0].value, {})
        return [pending[0]] if not problems else f"{'; '.join(map(str, problems[:3]))} in frame {pending[0].text}"
    chosen: list[Inbound] = []
    for pattern in patterns:
        hit = next((m for m in pending if m not in chosen and not match(pattern, m.value, {})), None)
        if hit is None:
            return None
        chosen.append(hit)
    return chosen


def _is_heartbeat(message: Inbound, patterns: list[Any]) -> bool:
    wants_heartbeat = any(_pattern_msg(p) in ("ping", "pong") for p in patterns)
    return not wants_heartbeat and isinstance(message.value, dict) and message.value.get("msg") in ("ping", "pong")


def _pattern_msg(pattern: Any) -> Any:
    while isinstance(pattern, dict) and "$exact" in pattern:
        pattern = pattern["$exact"]
    return pattern.get("msg") if isinstance(pattern, dict) else None


def _closest(sock: ScenarioSocket, patterns: list[Any]) -> str:
    """Name the pattern nothing matched and the received frame that came closest to it."""
    pending = [m for m in sock.messages if not m.consumed and not _is_heartbeat(m, patterns)]
    missing = next((p for p in patterns if not any(not match(p, m.value, {}) for m in pending)), patterns[0])
    lead = f"nothing matched {_show(missing)}; " if len(patterns) > 1 else ""
    if not pending:
        return lead + "no unconsumed message was received"
    best = min(((len(match(missing, m.value, {})), i, m) for i, m in enumerate(pending)), key=lambda x: x[:2])
    problems = match(missing, best[2].value, {})
    return (f"{lead}closest frame {best[2].text} differs at {'; '.join(map(str, problems[:3]))} "
            f"({len(pending)} unconsumed)")


async def _call(run: _Run, step: Step) -> None:
    sock = run.socket(step)
    mid = str(run.sub(step.spec.get("id", run.next_id("m"))))
    message = {"msg": "method", "id": mid, "method": run.sub(step.spec["call"]), "params": run.sub(step.spec.get("params", []))}
    await sock.send_text(orjson.dumps(message).decode())
    result, _updated = await _expect(run, step, sock, [{"msg": "result", "id": mid}, {"msg": "updated", "methods": {"$contains": [mid]}}])
    frame = result.value
    if "error" in step.spec:
        _check(run, step.spec["error"], frame.get("error", ABSENT), "error", result.text)
        return
    if "error" in frame:
        raise StepFailed(f"expected a result, got an error in frame {result.text}")
    if "result" in step.spec:
        _check(run, step.spec["result"], frame.get("result", ABSENT), "result", result.text)


async def _subscribe(run: _Run, step: Step) -> None:
    sock = run.socket(step)
    sid = str(run.sub(step.spec.get("id", run.next_id("s"))))
    message = {"msg": "sub", "id": sid, "name": run.sub(step.spec["subscribe"]), "params": run.sub(step.spec.get("params", []))}
    await sock.send_text(orjson.dumps(message).decode())
    pattern = {"$one_of": [{"msg": "ready", "subs": {"$contains": [sid]}}, {"msg": "nosub", "id": sid}]}
    (answer,) = await _expect(run, step, sock, [pattern])
    if "error" in step.spec:
        if answer.value.get("msg") != "nosub":
            raise StepFailed(f"expected nosub with an error, got frame {answer.text}")
        _check(run, step.spec["error"], answer.value.get("error", ABSENT), "error", answer.text)
    elif answer.value.get("msg") != "ready":
        raise StepFailed(f"expected ready for sub {sid}, got frame {answer.text}")


def _check(run: _Run, pattern: Any, value: Any, path: str, frame: str) -> None:
    captures: dict[str, Any] = {}
    problems = match(run.sub(pattern), value, captures, path)
    if problems:
        raise StepFailed(f"{'; '.join(map(str, problems[:4]))} in frame {frame}")
    run.vars.update(captures)


async def _login(run: _Run, step: Step) -> None:
    role = str(step.spec["login"])
    user = run.config.users.get(role)
    if user is None:
        raise StepFailed(f"no user configured for role {role!r} (use --user {role}=NAME:PASSWORD)")
    sock = run.socket(step)
    mid = run.next_id("m")
    if step.spec.get("resume"):
        params: dict[str, Any] = {"resume": run.sub(f"${{{role}.token}}")}
    else:
        digest = hashlib.sha256(user.password.encode()).hexdigest()
        params = {"user": {"username": user.username}, "password": {"digest": digest, "algorithm": "sha-256"}}
    await sock.send_text(orjson.dumps({"msg": "method", "id": mid, "method": "login", "params": [params]}).decode())
    result, _ = await _expect(run, step, sock, [{"msg": "result", "id": mid}, {"msg": "updated", "methods": {"$contains": [mid]}}])
    value = result.value.get("result")
    if not isinstance(value, dict) or not isinstance(value.get("id"), str) or not isinstance(value.get("token"), str):
        raise StepFailed(f"login as {role} ({user.username}) failed: frame {result.text}")
    run.vars[f"{role}.id"], run.vars[f"{role}.token"] = value["id"], value["token"]


async def _http(run: _Run, step: Step) -> None:
    spec = run.sub(step.spec["http"])
    method = str(spec.get("method", "GET")).upper()
    url = run.config.http.rstrip("/") + spec["path"]
    if spec.get("query"):
        url += "?" + urllib.parse.urlencode(spec["query"], doseq=True)
    headers = {"Content-Type": "application/json", **spec.get("headers", {})}
    if spec.get("as"):
        role = spec["as"]
        headers["X-User-Id"] = run.sub(f"${{{role}.id}}")
        headers["X-Auth-Token"] = run.sub(f"${{{role}.token}}")
    body = orjson.dumps(spec["body"]) if "body" in spec else None
    try:
        status, text = await asyncio.to_thread(http_request, method, url, headers, body, run.timeout(step))
    except HttpFailed as exc:
        raise StepFailed(str(exc)) from None
    want = step.spec.get("status", 200)
    shown = f"HTTP {status} {text[:300]}"
    if status != want:
        raise StepFailed(f"{method} {spec['path']}: expected status {want}, got {shown}")
    if "body" in step.spec:
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise StepFailed(f"{method} {spec['path']}: body is not JSON: {shown}") from None
        _check(run, step.spec["body"], value, "body", shown)


async def _step(run: _Run, step: Step) -> None:
    kind, spec = step.kind, step.spec
    if kind == "open":
        await run.open(step)
    elif kind == "connect":
        sock = await run.open(step)
        message = {"msg": "connect", "version": run.sub(spec.get("version", "1")),
                   "support": run.sub(spec.get("support", ["1", "pre2", "pre1"]))}
        await sock.send_text(orjson.dumps(message).decode())
        await _expect(run, step, sock, [spec.get("expect", _CONNECTED)])
    elif kind == "login":
        await _login(run, step)
    elif kind == "send":
        value = run.sub(spec["send"])
        await run.socket(step).send_text(value if isinstance(value, str) else orjson.dumps(value).decode())
    elif kind == "call":
        await _call(run, step)
    elif kind == "subscribe":
        await _subscribe(run, step)
    elif kind == "expect":
        await _expect(run, step, run.socket(step), [spec["expect"]], nxt=spec.get("next") is True)
    elif kind == "expect_all":
        await _expect(run, step, run.socket(step), list(spec["expect_all"]))
    elif kind == "expect_close":
        sock = run.socket(step)
        deadline = time.monotonic() + run.timeout(step)
        while sock.closed is None and await sock.wait_change(len(sock.messages), deadline):
            pass
        if sock.closed is None:
            raise StepFailed(f"the server did not close the connection within {run.timeout(step):g} s")
        _check(run, spec["expect_close"], {"code": sock.closed[0], "reason": sock.closed[1]}, "close", _close_text(sock.closed))
    elif kind in ("refute", "count"):
        sock = run.socket(step)
        pattern = run.sub(spec[kind])
        hits = [m for m in sock.messages if not m.internal and not match(pattern, m.value, {})]
        want = 0 if kind == "refute" else int(spec.get("equals", 1))
        if len(hits) != want:
            shown = "; ".join(m.text for m in hits[:3])
            raise StepFailed(f"expected {want} message(s) matching {_show(pattern)}, received {len(hits)}: {shown}")
    elif kind == "barrier":
        sock = run.socket(step)
        mid = run.next_id("barrier")
        await sock.send_text(orjson.dumps({"msg": "method", "id": mid, "method": _BARRIER_METHOD, "params": []}).decode())
        answers = await _expect(run, step, sock, [{"msg": "result", "id": mid}, {"msg": "updated", "methods": {"$contains": [mid]}}])
        for message in answers:
            message.internal = True
    elif kind == "http":
        await _http(run, step)
    elif kind == "set":
        for key, value in spec["set"].items():
            run.vars[key] = run.sub(value)
    elif kind == "close":
        sock = run.sockets.pop(step.connection, None)
        if sock is not None:
            await sock.close()


async def run_scenario(scenario: Scenario, config: RunConfig) -> ScenarioResult:
    """Run one scenario; never raises for a failing server, only reports."""
    run = _Run(scenario, config)
    started = time.monotonic()
    current: Step | None = None
    try:
        for step in scenario.steps:
            current = step
            await _step(run, step)
    except StepFailed as exc:
        assert current is not None
        return ScenarioResult(scenario, "fail", time.monotonic() - started, f"{current.describe()}: {exc}", current.number)
    except Exception as exc:  # a scenario must never take the whole run down
        log.exception("scenario crashed", extra={"scenario": scenario.id})
        where = current.describe() if current else "setup"
        return ScenarioResult(scenario, "error", time.monotonic() - started, f"{where}: {type(exc).__name__}: {exc}",
                              current.number if current else None)
    finally:
        await run.close_all()
    return ScenarioResult(scenario, "pass", time.monotonic() - started)


async def run_scenarios(scenarios: list[Scenario], config: RunConfig, progress: Any = None) -> list[ScenarioResult]:
    """Run scenarios in order; ``progress(result)`` is called after each."""
    results = []
    for scenario in scenarios:
        result = await run_scenario(scenario, config)
        results.append(result)
        if progress is not None:
            progress(result)
    return results


def _show(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 200 else text[:197] + "..."


def _close_text(closed: tuple[int | None, str] | None) -> str:
    if closed is None:
        return "open"
    return f"code {closed[0]}" + (f", reason {closed[1]!r}" if closed[1] else "")
