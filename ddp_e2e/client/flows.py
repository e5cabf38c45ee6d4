"""E2EE flows of a Rocket.Chat client, on top of the DDP client and the crypto module.

One :class:`E2EEUser` is one person with one device: a DDP connection (and the same token for
REST), a key pair, and the room keys it holds. It speaks either Rocket.Chat's current API
(``api="current"``: ``e2e.*`` methods, ``/api/v1/e2e.*``, suggestions it accepts) or only the
founding API (``api="founding"``: ``addKeyToChain``, ``fetchGroupE2EKey``, ``fetchKeychain``,
``updateGroupE2EKey``, ``fetchMyKeys``), so the tests, ``ddp-e2e demo`` and users can show that
both generations share one encrypted room. All cryptography happens here, on the client; the
server only ever sees key texts and ciphertext.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from ..ids import Random
from . import crypto as c
from .ddp import DDPClient

Api = Literal["current", "founding"]
#: ``v2``: A256GCM room key, UUID key id, content v2 (7.13+). ``v1``: A128CBC room key, 12-hex
#: SHA-256 key id, content v1 (6.10-7.12); ``legacy`` messages use the pre-6.10 ``msg`` string.
Profile = Literal["v1", "v2"]
#: Message ids are made by the client, as Meteor clients do (Random.id()).
_ids = Random()


class RestCallError(Exception):
    """A REST call answered with a non-200 status; ``body`` is the parsed JSON answer."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status, self.body = status, body


@dataclass
class RoomKeys:
    """What a client holds for one room: the current key (and its id) and older keys by id."""

    key_id: str | None = None
    key: c.RoomKey | None = None
    old: dict[str, c.RoomKey] = field(default_factory=dict)
    #: When each old key stopped being current (ISO text, as ``oldKeys[].ts`` is sent).
    old_ts: dict[str, str] = field(default_factory=dict)

    def retire(self, when: datetime) -> None:
        """The current key becomes an old key (a room key reset)."""
        if self.key is not None and self.key_id is not None:
            self.old[self.key_id] = self.key
            self.old_ts[self.key_id] = _iso(when)

    def all(self) -> dict[str, c.RoomKey]:
        keys = dict(self.old)
        if self.key_id is not None and self.key is not None:
            keys[self.key_id] = self.key
        return keys


def _iso(when: Any) -> str:
    if isinstance(when, datetime):
        return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return str(when)


def _http_base(ws_url: str) -> str:
    scheme, rest = ws_url.split("://", 1)
    host = rest.split("/", 1)[0]
    return f"{'https' if scheme == 'wss' else 'http'}://{host}"


def new_room_key(profile: Profile) -> tuple[str, c.RoomKey]:
    """A fresh room key and its key id in the given client generation's format."""
    if profile == "v2":
        return c.key_id_uuid(), c.generate_room_key("A256GCM")
    key = c.generate_room_key("A128CBC")
    return c.key_id_sha256(key.jwk_json()), key


class E2EEUser:
    """One E2EE client. ``async with E2EEUser(url, "alice", "alice-pass") as alice: ...``"""

    def __init__(self, ws_url: str, username: str, password: str, *, e2e_password: str | None = None,
                 api: Api = "current", envelope: Literal[1, 2] = 2, http_url: str | None = None,
                 timeout: float = 10.0) -> None:
        self.ws_url, self.username, self.password = ws_url, username, password
        self.e2e_password = e2e_password or f"{username} e2e passphrase"
        self.api, self.envelope = api, envelope
        self.http_url = http_url or _http_base(ws_url)
        self.timeout = timeout
        self.ddp = DDPClient(ws_url, timeout=timeout)
        self.keypair: c.UserKeyPair | None = None
        self.rooms: dict[str, RoomKeys] = {}

    # ------------------------------------------------------------------ session
    async def __aenter__(self) -> E2EEUser:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> E2EEUser:
        await self.ddp.connect()
        await self.ddp.login_password(self.username, self.password)
        return self

    async def close(self) -> None:
        await self.ddp.close()

    @property
    def user_id(self) -> str:
        assert self.ddp.user_id is not None, "not logged in"
        return self.ddp.user_id

    async def call(self, method: str, *params: Any) -> Any:
        return await self.ddp.call(method, *params)

    async def rest(self, verb: str, name: str, *, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        """``/api/v1/<name>`` with this session's token; raises :class:`RestCallError` unless 200."""
        url = f"{self.http_url}/api/v1/{name}"
        if query:
            parts = []
            for k, v in query.items():
                for item in (v if isinstance(v, list) else [v]):
                    parts.append((f"{k}[]" if isinstance(v, list) else k, item))
            url += "?" + urllib.parse.urlencode(parts)
        data = json.dumps(body).encode() if body is not None else None
        headers = {"X-User-Id": self.user_id, "X-Auth-Token": self.ddp.token or "", "Content-Type": "application/json"}
        request = urllib.request.Request(url, data=data, headers=headers, method=verb)

        def send() -> tuple[int, Any]:
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                    return resp.status, json.loads(resp.read())
            except urllib.error.HTTPError as err:
                return err.code, json.loads(err.read() or b"null")

        status, answer = await asyncio.to_thread(send)
        if status != 200:
            raise RestCallError(status, answer)
        return answer

    # ------------------------------------------------------------------ user keys
    async def fetch_my_keys(self) -> dict[str, str]:
        """``{public_key, private_key}`` as stored (empty without keys), through this client's API."""
        if self.api == "current":
            return dict(await self.call("e2e.fetchMyKeys") or {})
        keys = await self.call("fetchMyKeys") or {}
        return {k: keys[f] for k, f in (("public_key", "RSA-PubKey"), ("private_key", "RSA-EPrivKey")) if f in keys}

    def encrypt_private_key(self, keypair: c.UserKeyPair, password: str) -> str:
        if self.envelope == 1:
            return c.encrypt_private_key_v1(keypair.private_jwk_json(), password, self.user_id)
        return c.encrypt_private_key_v2(keypair.private_jwk_json(), password, c.v2_salt(self.user_id))

    async def setup_keys(self) -> str:
        """Load the key pair from the server (decrypting it), or create and upload one.

        Returns ``"loaded"`` or ``"created"``. A new pair is uploaded with
        ``e2e.setUserPublicAndPrivateKeys`` then ``e2e.requestSubscriptionKeys`` (current API), or
        ``addKeyToChain`` (founding API).
        """
        stored = await self.fetch_my_keys()
        if stored.get("private_key"):
            jwk = c.decrypt_private_key(stored["private_key"], self.e2e_password, self.user_id)
            self.keypair = c.import_private_jwk(jwk)
            return "loaded"
        keypair = c.generate_user_keypair()
        envelope = self.encrypt_private_key(keypair, self.e2e_password)
        if self.api == "current":
            await self.call("e2e.setUserPublicAndPrivateKeys",
                            {"public_key": keypair.public_jwk_json(), "private_key": envelope})
            await self.call("e2e.requestSubscriptionKeys")
        else:
            await self.call("addKeyToChain", {"RSA-PubKey": keypair.public_jwk_json(), "RSA-EPrivKey": envelope})
        self.keypair = keypair
        return "created"

    async def change_password(self, new_password: str) -> None:
        """Re-encrypt the private key under a new password (current API: ``force: true``)."""
        assert self.keypair is not None
        envelope = self.encrypt_private_key(self.keypair, new_password)
        await self.call("e2e.setUserPublicAndPrivateKeys",
                        {"public_key": self.keypair.public_jwk_json(), "private_key": envelope, "force": True})
        self.e2e_password = new_password

    # ------------------------------------------------------------------ room keys
    def _wrap(self, rid: str, public_jwk_json: str) -> str:
        state = self.rooms[rid]
        assert state.key is not None and state.key_id is not None
        return c.wrap_room_key(state.key.jwk_json(), public_jwk_json, state.key_id)

    def _own(self, rid: str) -> str:
        assert self.keypair is not None
        return self._wrap(rid, self.keypair.public_jwk_json())

    async def own_subscription(self, rid: str) -> dict[str, Any] | None:
        subs = await self.call("subscriptions/get")
        return next((s for s in subs if s.get("rid") == rid), None)

    async def room(self, rid: str) -> dict[str, Any] | None:
        rooms = await self.call("rooms/get")
        return next((r for r in rooms if r.get("_id") == rid), None)

    async def create_room_key(self, rid: str, profile: Profile = "v2") -> str:
        """Make the room's first key and keep it: ``e2e.setRoomKeyID`` + own ``E2EKey`` (7.x order).

        A founding client has no key id call; it stores its own wrapped key with
        ``updateGroupE2EKey(rid, self, key)``.
        """
        key_id, key = new_room_key(profile)
        self.rooms[rid] = RoomKeys(key_id, key)
        if self.api == "current":
            await self.call("e2e.setRoomKeyID", rid, key_id)
            await self.call("e2e.updateGroupKey", rid, self.user_id, self._own(rid))
        else:
            await self.call("updateGroupE2EKey", rid, self.user_id, self._own(rid))
        return key_id

    def _open(self, e2e_key: str) -> tuple[str, c.RoomKey]:
        assert self.keypair is not None
        return c.unwrap_room_key(e2e_key, self.keypair)

    async def load_room_key(self, rid: str) -> str | None:
        """Read this user's wrapped room key from the server and open it; returns its key id.

        Current API: the subscription's ``E2EKey`` and ``oldRoomKeys``; a pending
        ``E2ESuggestedKey`` is accepted if it opens and rejected if not (spec §6.6). Founding API:
        ``fetchGroupE2EKey``, stored back as its own with ``updateGroupE2EKey``.
        """
        state = self.rooms.setdefault(rid, RoomKeys())
        if self.api == "founding":
            wrapped = await self.call("fetchGroupE2EKey", rid)
            if not wrapped:
                return state.key_id
            self._take(state, *self._open(wrapped))
            await self.call("updateGroupE2EKey", rid, self.user_id, wrapped)
            return state.key_id
        sub = await self.own_subscription(rid) or {}
        for old in sub.get("oldRoomKeys") or []:
            kid, key = self._open(old["E2EKey"])
            kid = old.get("e2eKeyId") or kid
            state.old[kid], state.old_ts[kid] = key, _iso(old.get("ts"))
        if sub.get("E2ESuggestedKey"):
            try:
                opened = self._open(sub["E2ESuggestedKey"])
            except c.E2EECryptoError:
                await self.rest("POST", "e2e.rejectSuggestedGroupKey", body={"rid": rid})
            else:
                await self.rest("POST", "e2e.acceptSuggestedGroupKey", body={"rid": rid})
                for old in sub.get("suggestedOldRoomKeys") or []:
                    kid, key = self._open(old["E2EKey"])
                    kid = old.get("e2eKeyId") or kid
                    if kid not in state.old:
                        state.old[kid], state.old_ts[kid] = key, _iso(old.get("ts"))
                self._take(state, *opened)
                return state.key_id
        if sub.get("E2EKey"):
            self._take(state, *self._open(sub["E2EKey"]))
        return state.key_id

    @staticmethod
    def _take(state: RoomKeys, key_id: str, key: c.RoomKey) -> None:
        """A key opened from the server becomes current; a different previous one is kept as old
        (a founding client has no ``oldRoomKeys`` to read after a room key reset)."""
        if state.key_id is not None and state.key_id != key_id:
            state.retire(datetime.now(UTC))
        state.key_id, state.key = key_id, key

    def _old_keys_for(self, rid: str, public_jwk_json: str) -> list[dict[str, Any]]:
        state = self.rooms[rid]
        return [{"e2eKeyId": kid, "ts": state.old_ts.get(kid) or _iso(datetime.now(UTC)),
                 "E2EKey": c.wrap_room_key(key.jwk_json(), public_jwk_json, kid)}
                for kid, key in state.old.items()]

    async def distribute_room_key(self, rid: str, user_ids: list[str] | None = None) -> list[str]:
        """Give the room key to members who lack it; returns whom it was offered to.

        Current API: the members ``e2e.fetchUsersWaitingForGroupKey`` lists (or, with
        ``user_ids=None`` and an empty queue, ``e2e.getUsersOfRoomWithoutKey``), answered with one
        ``e2e.provideUsersSuggestedGroupKeys`` carrying old keys too. Founding API: ``fetchKeychain``
        and ``updateGroupE2EKey`` for each of ``user_ids`` (the founding API cannot list members).
        """
        if self.api == "founding":
            done = []
            for uid in user_ids or []:
                keychain = json.loads(await self.call("fetchKeychain", uid))
                public_key = keychain.get("RSA-PubKey")
                if public_key and uid != self.user_id:
                    await self.call("updateGroupE2EKey", rid, uid, self._wrap(rid, public_key))
                    done.append(uid)
            return done
        waiting = await self.rest("GET", "e2e.fetchUsersWaitingForGroupKey", query={"roomIds": [rid]})
        users = waiting["usersWaitingForE2EKeys"].get(rid, [])
        if not users:
            listed = (await self.call("e2e.getUsersOfRoomWithoutKey", rid))["users"]
            users = [{"_id": u["_id"], "public_key": u["e2e"]["public_key"]} for u in listed]
        users = [u for u in users if u["_id"] != self.user_id and (user_ids is None or u["_id"] in user_ids)]
        if not users:
            return []
        entries = []
        for u in users:
            entry: dict[str, Any] = {"_id": u["_id"], "key": self._wrap(rid, u["public_key"])}
            if self.rooms[rid].old:
                entry["oldKeys"] = self._old_keys_for(rid, u["public_key"])
            entries.append(entry)
        await self.rest("POST", "e2e.provideUsersSuggestedGroupKeys", body={"usersSuggestedGroupKeys": {rid: entries}})
        return [u["_id"] for u in users]

    async def reset_room_key(self, rid: str, profile: Profile = "v2") -> str:
        """``e2e.resetRoomKey`` with a new key; the old one stays readable from ``oldRoomKeys``."""
        state = self.rooms[rid]
        state.retire(datetime.now(UTC))
        key_id, key = new_room_key(profile)
        state.key_id, state.key = key_id, key
        await self.rest("POST", "e2e.resetRoomKey", body={"rid": rid, "e2eKeyId": key_id, "e2eKey": self._own(rid)})
        return key_id

    # ------------------------------------------------------------------ messages
    async def send_encrypted(self, rid: str, text: str, fmt: Literal["v1", "v2", "legacy"] = "v2",
                             mentions: list[str] | None = None) -> dict[str, Any]:
        """Encrypt ``text`` with the current room key and send it with ``sendMessage``."""
        state = self.rooms[rid]
        assert state.key is not None and state.key_id is not None, "no room key"
        message: dict[str, Any] = {"_id": _ids.id(), "rid": rid, "t": "e2e", "e2e": "pending"}
        if fmt == "legacy":
            message["msg"] = c.encrypt_legacy_msg(state.key, state.key_id, message_id=message["_id"], text=text,
                                                  user_id=self.user_id, ts=datetime.now(UTC))
        else:
            message["content"] = c.encrypt_message_content(state.key, state.key_id, {"msg": text},
                                                           version=1 if fmt == "v1" else 2)
        if mentions:
            message["e2eMentions"] = {"e2eUserMentions": mentions}
        return await self.call("sendMessage", message)

    def decrypt(self, message: dict[str, Any]) -> dict[str, Any]:
        state = self.rooms.get(message.get("rid", ""), RoomKeys())
        return c.decrypt_message(message, state.all(), state.key)

    async def history(self, rid: str, limit: int = 50) -> list[dict[str, Any]]:
        """The room's messages (oldest first) as stored, via ``loadHistory``."""
        answer = await self.call("loadHistory", rid, None, limit, None)
        return list(reversed((answer or {}).get("messages", [])))

    async def read(self, rid: str, limit: int = 50) -> list[str]:
        """The plaintext of the room's encrypted messages, oldest first."""
        return [self.decrypt(m).get("msg", "") for m in await self.history(rid, limit) if m.get("t") == "e2e"]
