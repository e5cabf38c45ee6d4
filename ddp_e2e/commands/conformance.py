"""``ddp-e2e conformance --url ws://...``: run the protocol scenarios against any DDP server.

Exit codes: 0 every selected scenario passed; 1 some failed; 2 the run could not start (bad
scenario file, bad option, nothing selected).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

DEMO_ROLES = ("alice", "bob", "carol", "dave", "admin")


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "conformance",
        help="run the DDP / Rocket.Chat / E2EE conformance scenarios against a server",
        description="Run the scenarios of protocol/scenarios/ against any DDP server and print a "
        "pass/fail table. Scenarios that need users play roles (alice, bob, carol, dave); by "
        "default the roles are the demo fixture users with password <name>-pass.",
    )
    p.add_argument("--url", required=True, help="the server's DDP endpoint, ws://host:port/websocket")
    p.add_argument("--http", default=None, help="its HTTP base for REST routes (default: derived from --url)")
    p.add_argument("--junit", metavar="OUT.xml", help="also write JUnit XML")
    p.add_argument("--only", action="append", default=[], metavar="PATTERN",
                   help="run only these: a glob on suite/name (e2e-*), a suite name or a tag (repeatable)")
    p.add_argument("--skip", action="append", default=[], metavar="PATTERN", help="leave these out (repeatable)")
    p.add_argument("--user", action="append", default=[], metavar="[ROLE=]USERNAME:PASSWORD",
                   help="who plays a role, e.g. alice:alice-pass or bob=jdoe:secret (repeatable)")
    p.add_argument("--scenarios", default=None, metavar="DIR", help="scenario directory (default protocol/scenarios)")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds per step (default 5)")
    p.add_argument("--heartbeat-wait", type=float, default=35.0,
                   help="seconds to wait for a server heartbeat ping or close (default 35: Meteor pings "
                   "after 15-30 s of silence)")
    p.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="set a scenario variable")
    p.add_argument("--list", action="store_true", help="list the selected scenarios and exit")
    p.add_argument("--log-level", default="WARNING")
    p.set_defaults(run=run)


def parse_users(items: list[str]) -> dict[str, object]:
    from ..conformance import UserSpec

    users: dict[str, object] = {r: UserSpec(r, r, f"{r}-pass") for r in DEMO_ROLES}
    for item in items:
        role, eq, rest = item.partition("=")
        if not eq:
            rest, role = item, item.partition(":")[0]
        username, colon, password = rest.partition(":")
        if not colon or not username or not role:
            raise ValueError(f"--user expects [ROLE=]USERNAME:PASSWORD, got {item!r}")
        users[role] = UserSpec(role, username, password)
    return users


def run(args: argparse.Namespace) -> int:
    from ..conformance import (
        DEFAULT_SCENARIOS,
        RunConfig,
        ScenarioError,
        format_table,
        load_scenarios,
        run_scenarios,
        select,
        write_junit,
    )
    from ..conformance.report import format_line
    from ..conformance.runner import default_http
    from ..logs import setup_logging

    setup_logging(args.log_level)
    try:
        users = parse_users(args.user)
        variables: dict[str, object] = {
            "heartbeat_wait": args.heartbeat_wait,
            "heartbeat_close_wait": args.heartbeat_wait * 2,
        }
        for item in args.var:
            name, eq, value = item.partition("=")
            if not eq or not name:
                raise ValueError(f"--var expects NAME=VALUE, got {item!r}")
            variables[name] = value
        scenarios = select(load_scenarios(args.scenarios or DEFAULT_SCENARIOS), args.only, args.skip)
    except (ScenarioError, ValueError) as exc:
        print(f"ddp-e2e conformance: {exc}", file=sys.stderr)
        return 2
    if not scenarios:
        print("ddp-e2e conformance: no scenario matches the selection", file=sys.stderr)
        return 2
    if args.list:
        for s in scenarios:
            print(f"{s.id:<58} {s.title}")
        return 0
    config = RunConfig(url=args.url, http=args.http or default_http(args.url), users=users,  # type: ignore[arg-type]
                       timeout=args.timeout, variables=variables)
    results = asyncio.run(run_scenarios(scenarios, config, progress=lambda r: print(format_line(r), flush=True)))
    summary = format_table(results).rstrip("\n").rsplit("\n", 1)[-1]
    print(summary)
    if args.junit:
        print(f"junit: {write_junit(args.junit, results)}")
    return 0 if all(r.status == "pass" for r in results) else 1
