"""``ddp-e2e replay RECORDING``: against a live server (``--url``) or as a mock server (``--serve``).

Exit codes: 0 the server answered like the recording; 1 it did not (the diff names the frames);
2 the replay could not run (unreadable recording, server down, missing credentials, bad option).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from ._signals import stop_event


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "replay",
        help="replay a recording against a server, or serve it to a client",
        description="Server-under-test mode (--url): send the recorded client frames to a server and "
        "compare its answers with the recorded ones. Mock-server mode (--serve): answer a live "
        "client from the recorded server frames.",
    )
    p.add_argument("recording", metavar="RECORDING", help="a JSONL file, a directory of them, a HAR or an analyzer log")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--url", help="the server under test, ws://host:port/websocket (or a /sockjs/.../websocket URL)")
    mode.add_argument("--serve", metavar="HOST:PORT", help="mock-server mode: listen here and answer from the recording")
    p.add_argument("--timeout", type=float, default=5.0,
                   help="seconds to wait for the answers to each client frame (default 5)")
    p.add_argument("--pace", choices=("fast", "recorded"), default="fast",
                   help="fast (default) or keep the recorded gaps between frames")
    p.add_argument("--credentials", action="append", default=[], metavar="USER=PASSWORD",
                   help="password for a redacted login (repeatable); default: the demo fixture users")
    p.add_argument("--fixtures", default=None, metavar="PATH",
                   help="take default passwords from this fixtures users file (plaintext 'password' fields)")
    p.add_argument("--report", metavar="OUT.html", help="write a side-by-side HTML report")
    p.add_argument("--ciphertext", choices=("bytes", "keyid"), default="bytes",
                   help="compare E2EE payloads byte for byte (default) or by key id prefix")
    p.add_argument("--date-tolerance", type=float, default=60.0, metavar="SECONDS",
                   help="how far dates may drift, absolutely or relative to their frame (default 60)")
    p.add_argument("--log-level", default="WARNING")
    p.set_defaults(run=run)


def _credentials(args: argparse.Namespace) -> dict[str, str]:
    from ..replay.runner import default_credentials

    creds = default_credentials(args.fixtures)
    for item in args.credentials:
        user, sep, password = item.partition("=")
        if not sep or not user:
            raise ValueError(f"--credentials expects USER=PASSWORD, got {item!r}")
        creds[user] = password
    return creds


async def _against_server(args: argparse.Namespace) -> int:
    from ..replay.convert import read_recording
    from ..replay.normalize import NormalizeOptions
    from ..replay.report import ConnectionReport, write_html_report
    from ..replay.runner import ReplayOptions, format_result, replay_recording

    recording = read_recording(args.recording)
    options = ReplayOptions(
        url=args.url,
        timeout=args.timeout,
        pace=args.pace,
        credentials=_credentials(args),
        normalize=NormalizeOptions(ciphertext=args.ciphertext, date_tolerance_ms=args.date_tolerance * 1000.0),
    )
    result = await replay_recording(recording, options)
    sys.stdout.write(format_result(result))
    if args.report:
        header = {"recording": args.recording, "server under test": args.url, **recording.header}
        problems = [f"{c.name}: {p}" for c in result.connections for p in c.problems]
        if problems:
            header["problems"] = problems
        reports = [ConnectionReport(c.name, c.expected, c.actual, c.differences) for c in result.connections]
        path = write_html_report(args.report, reports, title=f"ddp-e2e replay of {args.recording}", header=header)
        print(f"report: {path}")
    return 0 if result.ok else 1


async def _serve(args: argparse.Namespace) -> int:
    from ..replay.convert import read_recording
    from ..replay.mockserver import MockServer
    from ..replay.proxy import parse_listen

    host, port = parse_listen(args.serve)
    recording = read_recording(args.recording)
    server = MockServer(recording, host=host, port=port, pace=args.pace)
    try:
        await server.start()
    except OSError as exc:
        print(f"ddp-e2e replay: cannot listen on {args.serve}: {exc}", file=sys.stderr)
        return 2
    stop = stop_event()
    print(f"listening on {server.url} (answering from {args.recording}, "
          f"{len(recording.connections)} recorded connection(s))", flush=True)
    await stop.wait()
    await server.stop()
    return 0


def run(args: argparse.Namespace) -> int:
    from ..logs import setup_logging
    from ..replay.errors import RecordingError
    from ..replay.runner import ReplayAborted

    setup_logging(args.log_level)
    if args.timeout <= 0:
        print("ddp-e2e replay: --timeout must be positive", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_serve(args) if args.serve else _against_server(args))
    except (RecordingError, ReplayAborted, ValueError) as exc:
        print(f"ddp-e2e replay: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"ddp-e2e replay: {exc.strerror or exc}", file=sys.stderr)
        return 2
