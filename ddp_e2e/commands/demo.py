"""``ddp-e2e demo --url ws://H:P/websocket``: two users through the whole E2EE flow.

Against any running server (ours, or a real Rocket.Chat with the same users): both users load or
create their key pairs, the first creates an encrypted private group and its room key, offers it
to the second (a suggestion), the second accepts it, they exchange encrypted messages both ways,
the first resets the room key and hands the new one (with the old one) over again, and both read
the whole history. Each step prints what the server stored next to what the clients read, so you
can see that the server holds only ciphertext.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from ..client.crypto import E2EECryptoError
from ..client.flows import E2EEUser, Profile, RestCallError
from ..ddp.errors import MeteorError


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="run two users through the E2EE flow against a server")
    p.add_argument("--url", required=True, help="ws://HOST:PORT/websocket of the server")
    p.add_argument("--user", action="append", default=None, metavar="NAME:PASSWORD",
                   help="the two users (default alice:alice-pass and bob:bob-pass, the demo fixtures)")
    p.add_argument("--profile", choices=("v1", "v2"), default="v2",
                   help="v2: A256GCM keys, UUID key ids, content v2 (7.13+); v1: A128CBC, SHA-256 ids, content v1")
    p.add_argument("--room", default=None, help="name of the private group to create (default e2e-demo-<random>)")
    p.set_defaults(run=run)


def _short(text: Any, width: int = 60) -> str:
    s = str(text)
    return s if len(s) <= width else s[: width - 1] + "…"


class Printer:
    """Two columns: what the server stored, what a client read."""

    def __init__(self) -> None:
        self.ok = True

    def step(self, title: str) -> None:
        print(f"\n== {title}")

    def row(self, stored: Any, read: Any = "") -> None:
        print(f"  server: {_short(stored):<62} client: {_short(read)}")

    def check(self, condition: bool, what: str) -> None:
        if not condition:
            self.ok = False
            print(f"  !! {what}")


def _stored_cipher(message: dict[str, Any]) -> str:
    content = message.get("content") or {}
    return content.get("ciphertext") or message.get("msg") or ""


async def demo(url: str, users: list[tuple[str, str]], profile: Profile, room_name: str | None) -> int:
    out = Printer()
    (a_name, a_pass), (b_name, b_pass) = users
    async with E2EEUser(url, a_name, a_pass) as a, E2EEUser(url, b_name, b_pass) as b:
        out.step("1. key pairs (fetchMyKeys / setUserPublicAndPrivateKeys)")
        for user in (a, b):
            how = await user.setup_keys()
            stored = await user.fetch_my_keys()
            out.row(f"{user.username}.private_key = {stored.get('private_key')}", f"{how}, private key opened")

        out.step("2. an encrypted private group and its first room key (setRoomKeyID, updateGroupKey)")
        name = room_name or f"e2e-demo-{a.ddp.next_id()}{abs(hash(a.user_id)) % 100000}"
        created = await a.call("createPrivateGroup", name, [b.username], False, {}, {"encrypted": True})
        rid = created["rid"]
        key_id = await a.create_room_key(rid, profile)
        room = await a.room(rid) or {}
        mine = await a.own_subscription(rid) or {}
        out.row(f"room.e2eKeyId = {room.get('e2eKeyId')}", f"{a.username} made key {key_id}")
        out.row(f"{a.username}.E2EKey = {mine.get('E2EKey')}", "room key wrapped for itself")

        out.step("3. the key goes to the other member as a suggestion, which it accepts")
        offered = await a.distribute_room_key(rid)
        theirs = await b.own_subscription(rid) or {}
        out.row(f"{b.username}.E2ESuggestedKey = {theirs.get('E2ESuggestedKey')}", f"offered to {offered}")
        got = await b.load_room_key(rid)
        theirs = await b.own_subscription(rid) or {}
        out.row(f"{b.username}.E2EKey = {theirs.get('E2EKey')}", f"accepted, key id {got}")
        out.check(got == key_id, "the accepted key is not the room key")

        out.step("4. encrypted messages both ways (sendMessage)")
        texts = [(a, f"hello {b.username}, only we can read this"), (b, f"hi {a.username}, same here ✓")]
        for sender, text in texts:
            await sender.send_encrypted(rid, text, fmt=profile)
        for m in await a.history(rid):
            if m.get("t") == "e2e":
                out.row(f"{m['u']['username']}: {_stored_cipher(m)}", b.decrypt(m).get("msg"))

        out.step("5. room key reset (e2e.resetRoomKey), new key handed over with the old one")
        new_id = await a.reset_room_key(rid, profile)
        room = await a.room(rid) or {}
        out.row(f"room.e2eKeyId = {room.get('e2eKeyId')}", f"new key {new_id}")
        theirs = await b.own_subscription(rid) or {}
        old_ids = [k.get("e2eKeyId") for k in theirs.get("oldRoomKeys") or []]
        out.row(f"{b.username}.oldRoomKeys ids = {old_ids}", "its old key kept for old messages")
        await a.distribute_room_key(rid)
        got = await b.load_room_key(rid)
        out.check(got == new_id, "the new key did not reach the other member")
        texts_after = [(b, "after the reset, still private"), (a, "and old messages still open")]
        for sender, text in texts_after:
            await sender.send_encrypted(rid, text, fmt=profile)

        out.step("6. the whole history, as stored and as each client reads it")
        expected = [t for _, t in texts + texts_after]
        for user in (a, b):
            read = await user.read(rid)
            out.check(read == expected, f"{user.username} read {read}")
        for m in await b.history(rid):
            if m.get("t") == "e2e":
                out.row(_stored_cipher(m), a.decrypt(m).get("msg"))
        plaintext_on_server = [t for t in expected if any(t in str(m) for m in await a.history(rid))]
        out.check(not plaintext_on_server, f"plaintext stored on the server: {plaintext_on_server}")
    print("\nOK: the server stored only ciphertext; both clients read everything." if out.ok
          else "\nFAILED (see !! lines above)")
    return 0 if out.ok else 1


def run(args: argparse.Namespace) -> int:
    specs = args.user or ["alice:alice-pass", "bob:bob-pass"]
    users = []
    for spec in specs:
        name, sep, password = spec.partition(":")
        if not sep or not name:
            raise SystemExit(f"--user expects NAME:PASSWORD, got {spec!r}")
        users.append((name, password))
    if len(users) != 2:
        raise SystemExit("the demo needs exactly two --user values")
    try:
        return asyncio.run(demo(args.url, users, args.profile, args.room))
    except (OSError, ConnectionError) as exc:
        print(f"ddp-e2e demo: cannot reach {args.url}: {exc}", file=sys.stderr)
        return 1
    except (MeteorError, RestCallError, E2EECryptoError) as exc:
        print(f"ddp-e2e demo: the server refused a step: {exc}", file=sys.stderr)
        return 1
