"""``ddp-e2e convert IN OUT``: HAR, DDP-Analyzer logs or JSONL in, our JSONL out.

A broken input is an expected input: the error names the file and the line or entry, and the
exit code is 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "convert",
        help="convert a HAR / DDP-Analyzer log / JSONL recording to JSONL",
        description="Read a recording (HAR 1.2 with _webSocketMessages, a Meteor DDP-Analyzer log, "
        "or ddp-e2e JSONL) and write JSONL: OUT ending in .jsonl is one file (one connection), "
        "anything else a directory with one file per connection.",
    )
    p.add_argument("input", metavar="IN")
    p.add_argument("output", metavar="OUT")
    p.add_argument("--keep-secrets", action="store_true",
                   help="do not redact passwords and tokens (private labs only)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..replay.convert import convert
    from ..replay.errors import RecordingError

    try:
        written = convert(args.input, args.output, redact=not args.keep_secrets)
    except RecordingError as exc:
        print(f"ddp-e2e convert: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"ddp-e2e convert: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0
