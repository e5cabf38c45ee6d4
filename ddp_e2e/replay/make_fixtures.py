"""Regenerate fixtures/recordings/: real clients recorded against our server through the proxy.

Run from a source checkout (the Node drivers live in tests/clients, python-ddp comes with the
test extras)::

    .venv/bin/python -m ddp_e2e.replay.make_fixtures [--out fixtures/recordings]

It starts ``ddp-e2e serve`` with the demo fixtures on a free port, puts a
:class:`~ddp_e2e.replay.proxy.RecordingProxy` in front of it, runs each real client once through
the proxy (``@rocket.chat/ddp-client``, ``ddp``, ``ddp`` with SockJS probing, ``simpleddp``,
``sockjs-client``, ``python-ddp``), keeps one redacted JSONL per client, and turns the
sockjs-client recording into a browser-style HAR (Chrome's ``_webSocketMessages`` with SockJS
framing). Every client does the same read-only session, so a recording replays against any
fresh demo server: connect, password login, resume (where the client can), ``ddp-e2e.echo``,
``e2e.fetchMyKeys``, a subscription, unsub, close.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import orjson

from ..ddp import sockjs
from .jsonl import read_jsonl
from .proxy import RecordingProxy

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ROOT / "tests" / "clients"
_LISTEN = re.compile(r"listening on ws://([^:]+):(\d+)/websocket")
PAYLOAD = {"text": "héllo \u2028 wörld", "n": [0, -1, 2.5], "ok": True, "none": None}

#: (fixture name, driver script, extra config)
NODE_CLIENTS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("rc-ddp-client", "rc_ddp_client.mjs", {"resume_after": True, "unsubscribe": True}),
    ("ddp-oortcloud", "ddp_oortcloud.cjs", {"resume_after": True, "unsubscribe": True}),
    ("ddp-oortcloud-sockjs-probe", "ddp_oortcloud.cjs", {"sockjs": True}),
    ("simpleddp", "simpleddp.cjs", {"resume_after": True, "unsubscribe": True}),
    ("sockjs-client", "sockjs_client.cjs", {"resume_after": True, "unsubscribe": True}),
)


async def _start_server() -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ddp_e2e.cli", "serve", "--host", "127.0.0.1", "--port", "0",
        "--fixtures", str(ROOT / "fixtures" / "demo"), "--log-level", "WARNING",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    while True:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        if not line:
            raise RuntimeError("ddp-e2e serve exited before listening")
        found = _LISTEN.search(line.decode())
        if found:
            return proc, f"ws://{found.group(1)}:{found.group(2)}/websocket"


async def _run_node(script: str, config: dict[str, Any]) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not on PATH")
    argv = [node, *(["--experimental-websocket"] if script.endswith(".mjs") else []), str(CLIENTS / script),
            json.dumps(config)]
    proc = await asyncio.create_subprocess_exec(*argv, cwd=CLIENTS, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    lines = [ln for ln in out.decode().split("\n") if ln.startswith("{")]
    report = json.loads(lines[-1]) if lines else {}
    if proc.returncode != 0 or not report.get("ok"):
        raise RuntimeError(f"{script} failed: {report.get('error')} {err.decode()[-800:]}")
    return report


def _python_ddp_session(url: str) -> None:
    """python-ddp (threaded) through the proxy: connect, login, echo, fetchMyKeys, sub, close."""
    from DDPClient import DDPClient  # the test extra python-ddp

    client = DDPClient(url, auto_reconnect=False)
    connected, closed = threading.Event(), threading.Event()
    client.on("connected", connected.set)
    client.on("socket_closed", lambda *a: closed.set())
    client.connect()
    if not connected.wait(10):
        raise RuntimeError("python-ddp did not connect")

    def call(method: str, params: list[Any]) -> Any:
        done, out = threading.Event(), []
        client.call(method, params, lambda err, res: (out.extend([err, res]), done.set()))
        if not done.wait(10) or out[0] is not None:
            raise RuntimeError(f"python-ddp {method}: {out}")
        return out[1]

    digest = hashlib.sha256(b"bob-pass").hexdigest()
    call("login", [{"user": {"username": "bob"}, "password": {"digest": digest, "algorithm": "sha-256"}}])
    call("ddp-e2e.echo", [PAYLOAD])
    call("e2e.fetchMyKeys", [])
    ready = threading.Event()
    client.subscribe("meteor.loginServiceConfiguration", [], lambda err, sub: ready.set())
    if not ready.wait(10):
        raise RuntimeError("python-ddp: no ready")
    client.close()
    closed.wait(10)


def browser_har(jsonl: Path, har: Path) -> None:
    """A Chrome-style HAR of one recorded SockJS connection (frames re-wrapped as SockJS)."""
    recording = read_jsonl(jsonl)
    conn = recording.connections[0]
    header = recording.header
    started = header.get("started_at") or "2026-01-01T00:00:00.000Z"
    from .model import start_ms

    base = (start_ms(header) or 0.0) / 1000.0
    messages: list[dict[str, Any]] = [{"type": "receive", "time": base, "opcode": 1, "data": sockjs.OPEN}]
    for frame in conn.frames:
        if frame.dir == "in":
            data, kind = orjson.dumps([frame.text]).decode(), "send"
        else:
            data, kind = sockjs.encode_messages([frame.text]), "receive"
        messages.append({"type": kind, "time": round(base + frame.t_ms / 1000.0, 6), "opcode": 1, "data": data})
    doc = {"log": {"version": "1.2", "creator": {"name": "ddp-e2e make_fixtures (Chrome HAR shape)", "version": "1"},
                   "entries": [{
                       "startedDateTime": started, "time": 0, "_resourceType": "websocket",
                       "request": {"method": "GET", "url": "ws://127.0.0.1:3000/sockjs/123/abcdefgh/websocket",
                                   "httpVersion": "HTTP/1.1", "headers": [], "queryString": [], "cookies": [],
                                   "headersSize": -1, "bodySize": 0},
                       "response": {"status": 101, "statusText": "Switching Protocols", "httpVersion": "HTTP/1.1",
                                    "headers": [], "cookies": [], "content": {"size": 0, "mimeType": "x-unknown"},
                                    "redirectURL": "", "headersSize": -1, "bodySize": 0},
                       "cache": {}, "timings": {"send": 0, "wait": 0, "receive": 0},
                       "_webSocketMessages": messages}]}}
    har.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")


async def make(out: Path) -> list[Path]:
    server, upstream = await _start_server()
    written: list[Path] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            jobs: list[tuple[str, Any]] = [(n, (s, c)) for n, s, c in NODE_CLIENTS] + [("python-ddp", None)]
            for name, job in jobs:
                rec_dir = Path(tmp) / name
                proxy = RecordingProxy(upstream, rec_dir)
                await proxy.start()
                try:
                    if job is None:
                        await asyncio.to_thread(_python_ddp_session, proxy.url)
                    else:
                        script, extra = job
                        config = {"url": proxy.url, "http": f"http://{proxy.host}:{proxy.port}",
                                  "username": "alice", "password": "alice-pass",
                                  "calls": [{"method": "ddp-e2e.echo", "params": [PAYLOAD]},
                                            {"method": "e2e.fetchMyKeys", "params": []}],
                                  "subscription": {"name": "meteor.loginServiceConfiguration", "params": []},
                                  "step_timeout_ms": 8000, "hard_timeout_ms": 40000, **extra}
                        await _run_node(script, config)
                finally:
                    await proxy.stop()
                if len(proxy.files) != 1:
                    raise RuntimeError(f"{name}: expected one recorded connection, got {len(proxy.files)}")
                target = out / f"{name}.jsonl"
                shutil.copyfile(proxy.files[0], target)
                written.append(target)
            har = out / "browser-sockjs.har"
            browser_har(out / "sockjs-client.jsonl", har)
            written.append(har)
    finally:
        server.terminate()
        await server.wait()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "fixtures" / "recordings"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    for path in asyncio.run(make(out)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
