"""The E2EE invariants (issue #4, security-reliability-replay.md §2.6), each checked end to end.

* A user's encrypted private key reaches only that user: through no method, route,
  publication, stream, fixture dump or log of anyone else.
* Non-members get nothing about a room's keys or its members' keys.
* Only a member sets a room's first key id; only the key's owner (or an accepted suggestion)
  sets their ``E2EKey``.
* Every error code and message is the same on DDP and on REST.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from ddp_e2e.client.flows import E2EEUser
from ddp_e2e.config import Settings
from ddp_e2e.ddp.errors import MeteorError
from ddp_e2e.services.e2e_keys import set_user_keys
from ddp_e2e.store import dump_fixtures, load_fixtures, open_store
from tests.conftest import FIXTURES, server_fixture
from tests.integration.test_e2e_support import (
    call_error,
    client,
    e2e_group,
    key_texts,
    new_user,
    rest,
    rest_headers,
    run,
    wrapped,
)

# The real server process, logging at DEBUG so its log can be searched for secrets.
server = server_fixture("--log-level", "DEBUG")


@pytest.fixture(scope="module")
def scene(server: Any) -> dict[str, Any]:
    """A whole E2EE life with real keys, watched by members and a non-member from the start.

    alice (current API) makes an encrypted group with bob (current) and carol (founding API),
    hands the room key to both, they exchange messages, alice resets the room key and hands it
    over again. dave (not a member) and every participant record every frame they receive.
    """

    async def main() -> dict[str, Any]:
        accounts = [await new_user(server, p) for p in ("alice", "bob", "carol", "dave")]
        ua, ub, uc, ud = accounts
        a = await E2EEUser(server.ws_url, ua.username, ua.password).start()
        b = await E2EEUser(server.ws_url, ub.username, ub.password).start()
        c = await E2EEUser(server.ws_url, uc.username, uc.password, api="founding", envelope=1).start()
        d = await E2EEUser(server.ws_url, ud.username, ud.password).start()
        everyone = (a, b, c, d)
        try:
            for u in everyone:
                for event in ("rooms-changed", "subscriptions-changed", "e2ekeyRequest", "force_logout"):
                    await u.ddp.stream("notify-user", f"{u.user_id}/{event}")
                await u.ddp.stream("room-messages", "__my_messages__")
                await u.setup_keys()
            rid = await e2e_group(a.ddp, [ub, uc])
            for u in (a, b, c):
                await u.ddp.stream("notify-room", f"{rid}/e2e.keyRequest")
                await u.ddp.stream("room-messages", rid)
            refused = {}
            for name, event in (("notify-room", f"{rid}/e2e.keyRequest"), ("room-messages", rid),
                                ("notify-user", f"{a.user_id}/subscriptions-changed")):
                try:
                    await d.ddp.stream(name, event)
                except MeteorError as exc:
                    refused[name] = exc.error
            key_id = await a.create_room_key(rid, "v2")
            await a.distribute_room_key(rid)
            await b.load_room_key(rid)
            await c.load_room_key(rid)
            await b.call("stream-notify-room-users", f"{rid}/e2ekeyRequest", rid, key_id)
            for u, text in ((a, "secret plan one"), (b, "secret plan two"), (c, "secret plan three")):
                await u.send_encrypted(rid, text)
            await a.reset_room_key(rid, "v2")
            await a.distribute_room_key(rid)
            await b.load_room_key(rid)
            await c.load_room_key(rid)
            await a.send_encrypted(rid, "secret plan four")
            roles = dict(zip(("alice", "bob", "carol", "dave"), everyone, strict=True))
            reads = {role: await u.read(rid) for role, u in roles.items() if u is not d}
            privates = {role: (await u.fetch_my_keys())["private_key"] for role, u in roles.items()}
            sub_keys = [s.get("E2EKey") for s in [await a.own_subscription(rid), await b.own_subscription(rid)]]
            return {"rid": rid, "users": everyone, "accounts": accounts, "refused": refused, "reads": reads,
                    "privates": privates, "wrapped": [k for k in sub_keys if k],
                    "texts": ["secret plan one", "secret plan two", "secret plan three", "secret plan four"],
                    "frames": {role: list(u.ddp.raw_in) for role, u in roles.items()},
                    "inbox": {role: list(u.ddp.inbox) for role, u in roles.items()}}
        finally:
            for u in everyone:
                await u.close()

    return run(main)


def leaves(value: Any) -> Iterator[str]:
    """Every string in a decoded JSON value (keys included): where a secret could hide."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from leaves(v)


def carries(text: str, secret: str) -> bool:
    """Whether a JSON text carries ``secret``, escaped or not: the decoded strings and the raw
    text are both searched (for the raw text, the secret's base64 body, which JSON never escapes)."""
    try:
        decoded = json.loads(text)
    except ValueError:
        decoded = None
    if decoded is not None and any(secret in leaf for leaf in leaves(decoded)):
        return True
    return needle(secret) in text


def needle(secret: str) -> str:
    """The part of a secret that survives any JSON escaping: an envelope's ciphertext, else itself."""
    try:
        envelope = json.loads(secret)
    except ValueError:
        return secret
    if isinstance(envelope, dict):
        body = envelope.get("ciphertext") or envelope.get("$binary")
        if isinstance(body, str):
            return body
    return secret


def test_the_search_finds_secrets_however_they_are_escaped() -> None:
    private = '{"iv":"x","ciphertext":"QUJD/ZA+9==","salt":"s","iterations":1}'
    assert carries(json.dumps({"result": {"k": private}}), private)
    assert carries("log line: " + json.dumps(private), private)
    assert not carries(json.dumps({"result": {"k": "other"}}), private)


def test_the_scene_really_happened(scene: dict[str, Any]) -> None:
    """Guards the other tests: the keys and messages they look for did cross the server."""
    for reads in scene["reads"].values():
        assert reads == scene["texts"]
    assert len(scene["privates"]) == 4 and all(scene["privates"].values())
    assert scene["wrapped"], "members hold wrapped room keys"


def test_a_private_key_reaches_no_one_but_its_owner(scene: dict[str, Any]) -> None:
    for owner, private in scene["privates"].items():
        for viewer, frames in scene["frames"].items():
            carrying = [f for f in frames if carries(f, private)]
            if viewer != owner:
                assert carrying == [], f"{owner}'s private key reached {viewer}"
                continue
            for frame in carrying:
                msg = json.loads(frame)
                assert msg["msg"] == "result" and set(msg["result"]) in (
                    {"public_key", "private_key"},
                    {"public_key", "private_key", "RSA-PubKey", "RSA-EPrivKey"}), frame[:200]


def test_the_users_publication_carries_no_keys(scene: dict[str, Any]) -> None:
    for inbox in scene["inbox"].values():
        docs = [m for m in inbox if m.get("msg") in ("added", "changed") and m.get("collection") == "users"]
        assert docs, "the __user__ publication sent the user document"
        for m in docs:
            assert "e2e" not in m.get("fields", {}) and "services" not in m.get("fields", {})


def test_reads_of_other_users_keys_expose_public_keys_only(server: Any, scene: dict[str, Any]) -> None:
    ua, ub, uc, _ = scene["accounts"]
    rid = scene["rid"]
    hb = rest_headers(server, ub)
    answers = [
        rest(server, "GET", "e2e.getUsersOfRoomWithoutKey", hb, params={"rid": rid}).text,
        rest(server, "GET", "e2e.fetchUsersWaitingForGroupKey", hb, params={"roomIds[]": [rid]}).text,
        rest(server, "GET", "e2e.fetchKeychain", hb, params={"uid": ua.id}).text,
        rest(server, "GET", "e2e.fetchKeychain", hb, params={"uid": uc.id}).text,
        rest(server, "GET", "e2e.fetchMyKeys", hb).text,
    ]
    assert json.loads(answers[2])["public_key"], "bob shares a group with alice: her public key"
    for owner in ("alice", "carol"):
        assert not [a for a in answers if carries(a, scene["privates"][owner])]


def test_the_server_log_holds_no_key_material_or_plaintext(server: Any, scene: dict[str, Any]) -> None:
    log = "".join(server.stderr_lines)
    assert '"level":"debug"' in log or '"level":"info"' in log, "the server did log"
    secrets = [*scene["privates"].values(), *scene["wrapped"], *scene["texts"]]
    leaked = [s[:40] for s in secrets if needle(s) in log]
    assert leaked == [], f"found in the server log: {leaked}"


def test_non_members_get_nothing(server: Any, scene: dict[str, Any]) -> None:
    rid = scene["rid"]
    assert scene["refused"] == {"notify-room": "not-allowed", "room-messages": "not-allowed",
                                "notify-user": "not-allowed"}
    dave_frames = "".join(scene["frames"]["dave"])
    assert rid not in dave_frames, "not even the room id reached the non-member"
    for k in scene["wrapped"]:
        assert not carries(dave_frames, k)
    ua, _, _, ud = scene["accounts"]

    async def main() -> None:
        d = await client(server, ud)
        try:
            for method, params in (("e2e.getUsersOfRoomWithoutKey", [rid]), ("fetchGroupE2EKey", [rid]),
                                   ("updateGroupE2EKey", [rid, ud.id, "k"]), ("e2e.setRoomKeyID", [rid, "x"])):
                err = await call_error(d, method, *params)
                assert err.error == "error-invalid-room", method
            assert await d.call("fetchKeychain", ua.id) == "{}", "dave shares no group with alice"
        finally:
            await d.close()

    run(main)
    hd = rest_headers(server, ud)
    body = rest(server, "GET", "e2e.fetchUsersWaitingForGroupKey", hd, params={"roomIds[]": [rid]}).json()
    assert body == {"usersWaitingForE2EKeys": {}, "success": True}


def test_only_members_set_key_ids_and_only_owners_their_e2e_key(server: Any) -> None:
    async def main() -> None:
        owner, member, outsider = await new_user(server), await new_user(server), await new_user(server)
        co, cm, cx = await client(server, owner), await client(server, member), await client(server, outsider)
        try:
            rid = await e2e_group(co, [member])
            err = await call_error(cx, "e2e.setRoomKeyID", rid, "kid-evil")
            assert err.error == "error-invalid-room"
            res = rest(server, "POST", "e2e.setRoomKeyID", rest_headers(server, outsider),
                       json={"rid": rid, "keyID": "kid-evil"})
            assert res.status_code == 400
            await cm.call("e2e.setRoomKeyID", rid, "kid-m")
            mine = wrapped("kid-m", "owner-own")
            await co.call("e2e.updateGroupKey", rid, owner.id, mine)
            evil = wrapped("kid-m", "evil")
            hm = rest_headers(server, member)
            await cm.call("e2e.updateGroupKey", rid, owner.id, evil)
            await cm.call("updateGroupE2EKey", rid, owner.id, evil)
            rest(server, "POST", "e2e.updateGroupKey", hm, json={"rid": rid, "uid": owner.id, "key": evil})
            rest(server, "POST", "e2e.updateGroupE2EKey", hm, json={"rid": rid, "uid": owner.id, "key": evil})
            rest(server, "POST", "e2e.provideUsersSuggestedGroupKeys", hm,
                 json={"usersSuggestedGroupKeys": {rid: [{"_id": owner.id, "key": evil}]}})
            res = rest(server, "POST", "e2e.resetRoomKey", hm, json={"rid": rid, "e2eKey": evil, "e2eKeyId": "kid-e"})
            assert res.status_code == 403, "a plain member of a private group may not reset its key"
            for c in (cx, cm):
                await c.call("e2e.updateGroupKey", rid, owner.id, evil)
            subs = await co.call("subscriptions/get")
            sub = next(s for s in subs if s["rid"] == rid)
            assert sub["E2EKey"] == mine, "no one but the owner wrote the owner's E2EKey"
            assert sub["E2ESuggestedKey"] == evil, "what others wrote is only a suggestion"
            await co.call("e2e.rejectSuggestedGroupKey", rid)
            sub = next(s for s in await co.call("subscriptions/get") if s["rid"] == rid)
            assert sub["E2EKey"] == mine and "E2ESuggestedKey" not in sub
        finally:
            for c in (co, cm, cx):
                await c.close()

    run(main)


def test_every_error_is_the_same_on_ddp_and_rest(server: Any) -> None:
    """Each spec error, raised once over DDP and once over REST: same code, reason and details."""

    async def main() -> list[tuple[MeteorError, Any]]:
        owner, outsider = await new_user(server), await new_user(server)
        co, cx = await client(server, owner), await client(server, outsider)
        pairs: list[tuple[MeteorError, Any]] = []
        try:
            public, private = key_texts("errs")
            await co.call("e2e.setUserPublicAndPrivateKeys", {"public_key": public, "private_key": private})
            rid = await e2e_group(co, [])
            await co.call("e2e.setRoomKeyID", rid, "kid-e")
            ho, hx = rest_headers(server, owner), rest_headers(server, outsider)
            cases = [
                (co, "e2e.setUserPublicAndPrivateKeys", [{"public_key": "a", "private_key": "b"}],
                 ("POST", "e2e.setUserPublicAndPrivateKeys", ho, {"json": {"public_key": "a", "private_key": "b"}})),
                (co, "e2e.setUserPublicAndPrivateKeys", [{"public_key": "", "private_key": "b"}],
                 ("POST", "e2e.setUserPublicAndPrivateKeys", ho, {"json": {"public_key": "", "private_key": "b"}})),
                (co, "e2e.setRoomKeyID", [rid, "kid-2"],
                 ("POST", "e2e.setRoomKeyID", ho, {"json": {"rid": rid, "keyID": "kid-2"}})),
                (cx, "e2e.getUsersOfRoomWithoutKey", [rid],
                 ("GET", "e2e.getUsersOfRoomWithoutKey", hx, {"params": {"rid": rid}})),
                (cx, "e2e.acceptSuggestedGroupKey", [rid],
                 ("POST", "e2e.acceptSuggestedGroupKey", hx, {"json": {"rid": rid}})),
                (co, "e2e.rejectSuggestedGroupKey", [rid],
                 ("POST", "e2e.rejectSuggestedGroupKey", ho, {"json": {"rid": rid}})),
                (co, "addKeyToChain", [{"RSA-PubKey": "a", "RSA-EPrivKey": "b"}],
                 ("POST", "e2e.addKeyToChain", ho, {"json": {"RSAPubKey": "a", "RSAEPrivKey": "b"}})),
                (cx, "fetchGroupE2EKey", [rid], ("GET", "e2e.fetchGroupE2EKey", hx, {"params": {"rid": rid}})),
                (co, "updateGroupE2EKey", [rid, outsider.id, "k"],
                 ("POST", "e2e.updateGroupE2EKey", ho, {"json": {"rid": rid, "uid": outsider.id, "key": "k"}})),
                (co, "e2e.setRoomKeyID", [{"$ne": None}, "k"],
                 ("POST", "e2e.setRoomKeyID", ho, {"json": {"rid": {"$ne": None}, "keyID": "k"}})),
            ]
            for c, method, params, (verb, route, h, kw) in cases:
                err = await call_error(c, method, *params)
                pairs.append((err, rest(server, verb, route, h, **kw)))
        finally:
            await co.close()
            await cx.close()
        return pairs

    for err, res in run(main):
        assert res.status_code == 400, res.text
        body = res.json()
        if err.error == 400:
            assert body["errorType"] == "invalid-params", "a Match failure is invalid-params on REST"
            continue
        expected = {"success": False, "error": err.message, "errorType": err.error}
        if err.details is not None:
            expected["details"] = err.details
        assert body == expected


def test_a_fixture_dump_never_holds_a_private_key() -> None:
    async def main() -> None:
        store = await open_store("memory://")
        try:
            await load_fixtures(store, FIXTURES)
            from ddp_e2e.app import App

            app = App(Settings(), store)
            public, private = key_texts("dump")
            await set_user_keys(app, "u-alice", public, private, force=False, method="test")
            dumped = list(leaves(await dump_fixtures(store)))
            assert private not in dumped and public in dumped, "public keys may stay, private ones never"
            assert not any(needle(private) in leaf for leaf in dumped)
            full = list(leaves(await dump_fixtures(store, include_secrets=True)))
            assert private in full, "only an explicit secrets dump has it"
        finally:
            await store.close()

    asyncio.run(main())


def test_a_non_member_client_never_sees_room_key_events(server: Any, scene: dict[str, Any]) -> None:
    """dave listened to his own user streams through the whole scene: nothing about the room came."""
    events = [m for m in scene["inbox"]["dave"] if m.get("collection", "").startswith("stream-")]
    assert all(scene["rid"] not in json.dumps(m) for m in events)
