"""``ddp-e2e``: serve, record, replay, convert, conformance, demo.

Each subcommand lives in ``ddp_e2e/commands/<name>.py`` with ``add_parser(subparsers)`` and
``run(args) -> int``, so commands stay small and independent.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ("serve", "record", "replay", "convert", "conformance", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ddp-e2e",
        description="A DDP server that behaves like Rocket.Chat, with its E2EE server side, "
        "plus record/replay and conformance tools.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f"ddp_e2e.commands.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"ddp_e2e.commands.{name}":
                raise
            continue
        mod.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
