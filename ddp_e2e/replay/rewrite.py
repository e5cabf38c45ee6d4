"""Rewriting recorded client frames before the live runner sends them.

A recording replayed against a fresh server cannot be sent verbatim: the server issues new login
tokens and new ids for what it creates, and a redacted recording has no password. The runner
keeps one :class:`IdRewriter` per connection and

1. calls :meth:`IdRewriter.rewrite_client` on each recorded client frame before sending it:
   learned ids and tokens are substituted, a redacted password login gets the password from
   ``credentials`` (``--credentials alice=alice-pass``, keyed by username or email; digest
   logins get the SHA-256 hex digest Meteor clients send), and method/sub ids are renumbered
   when asked (``renumber=True``);
2. calls :meth:`IdRewriter.learn` with each (recorded, live) server frame pair the comparator
   matched (``Comparator(on_pair=rewriter.learn)``): strings that differ at id or token
   positions (``_id``, ``rid``, ``token``, ``session``, a 17-character Meteor id...) become
   substitutions for later client frames, e.g. the token of the new login for a later
   ``{"resume": ...}``.

E2EE ciphertext and keys are never rewritten: they are opaque to the server and must reach it
byte for byte.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any

import orjson

from .errors import MissingCredentialsError
from .fields import CIPHER_KEYS, DOC_ID_KEYS, TOKEN_KEYS, is_id_shaped, is_login_token_shaped
from .redact import REDACTED, is_redacted

__all__ = ["IdRewriter"]

log = logging.getLogger(__name__)

#: Learned substitutions shorter than this are only applied in id positions, never to any
#: equal string (a method id "1" must not rewrite every "1").
_MIN_FREE_LENGTH = 5
_ID_POSITIONS = DOC_ID_KEYS | TOKEN_KEYS | {"session"}
_TOP_LEVEL_OWN_IDS = {"method": "method", "sub": "sub", "unsub": "sub"}


class IdRewriter:
    """Recorded -> live substitutions for one connection's client frames."""

    def __init__(self, credentials: Mapping[str, str] | None = None, *, renumber: bool = False) -> None:
        self.credentials = dict(credentials or {})
        self.renumber = renumber
        #: recorded string -> live string, learned from server answers.
        self.mapping: dict[str, str] = {}
        #: recorded method/sub id -> the id sent (only with ``renumber``).
        self.client_ids: dict[tuple[str, str], str] = {}
        self._counter = 0

    # -- learning ---------------------------------------------------------------------------
    def learn(self, expected_text: str, actual_text: str) -> None:
        """Learn substitutions from a recorded server frame and its live counterpart."""
        try:
            expected = orjson.loads(expected_text)
            actual = orjson.loads(actual_text)
        except orjson.JSONDecodeError:
            return
        if not isinstance(expected, dict) or not isinstance(actual, dict):
            return
        msg = expected.get("msg")
        for key, value in expected.items():
            if key not in actual or key == "msg":
                continue
            if key == "id" and msg not in ("added", "changed", "removed"):
                continue  # method and sub ids are ours, not the server's
            if key in ("methods", "subs", "error"):
                continue
            self.learn_values(value, actual[key], key)

    def learn_values(self, expected: Any, actual: Any, key: str | None = None) -> None:
        """Walk two values in parallel and record id/token strings that differ."""
        if key in CIPHER_KEYS:
            return
        if isinstance(expected, dict) and isinstance(actual, dict):
            for k, v in expected.items():
                if k in actual:
                    self.learn_values(v, actual[k], k)
        elif isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
            for e, a in zip(expected, actual, strict=True):
                self.learn_values(e, a, key)
        elif isinstance(expected, str) and isinstance(actual, str) and expected != actual:
            if key in _ID_POSITIONS or (_id_like(expected) and _id_like(actual)):
                self._remember(expected, actual)

    def _remember(self, recorded: str, live: str) -> None:
        known = self.mapping.get(recorded)
        if known is None:
            self.mapping[recorded] = live
            log.debug("learned id", extra={"recorded": recorded[:20], "live": live[:20]})
        elif known != live:
            log.debug("conflicting id kept first", extra={"recorded": recorded[:20]})

    # -- rewriting --------------------------------------------------------------------------
    def rewrite_client(self, text: str) -> str:
        """The frame to send for a recorded client frame; unchanged text when nothing applies.

        Raises :class:`MissingCredentialsError` for a redacted password login whose user has no
        entry in ``credentials``.
        """
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError:
            return text  # replayed as recorded: a bad frame is part of what is being tested
        if not isinstance(obj, dict):
            return text
        new = self._top(obj)
        if new == obj:
            return text
        return orjson.dumps(new).decode()

    def _top(self, obj: dict[str, Any]) -> dict[str, Any]:
        msg = obj.get("msg")
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if key == "id" and msg in _TOP_LEVEL_OWN_IDS and isinstance(value, str):
                out[key] = self._own_id(_TOP_LEVEL_OWN_IDS[msg], value)  # type: ignore[index]
            elif key == "session" and msg == "connect" and isinstance(value, str):
                out[key] = self.mapping.get(value, value)
            elif key == "params" and msg == "method" and obj.get("method") == "login":
                out[key] = self._login_params(value)
            else:
                out[key] = self._walk(value, key)
        return out

    def _own_id(self, kind: str, value: str) -> str:
        if not self.renumber:
            return value
        found = self.client_ids.get((kind, value))
        if found is None:
            self._counter += 1
            found = self.client_ids[(kind, value)] = f"r{self._counter}"
        return found

    def _walk(self, value: Any, key: str | None) -> Any:
        if key in CIPHER_KEYS:
            return value
        if isinstance(value, dict):
            e2e = value.get("t") == "e2e"
            return {
                k: v if (e2e and k == "msg") or k == "content" else self._walk(v, k) for k, v in value.items()
            }
        if isinstance(value, list):
            return [self._walk(v, key) for v in value]
        if isinstance(value, str):
            return self._string(value, key)
        return value

    def _string(self, value: str, key: str | None) -> str:
        found = self.mapping.get(value)
        if found is not None and (key in _ID_POSITIONS or len(value) >= _MIN_FREE_LENGTH):
            return found
        if "/" in value and len(value) < 512:
            parts = value.split("/")
            if any(p in self.mapping and len(p) >= _MIN_FREE_LENGTH for p in parts):
                return "/".join(
                    self.mapping[p] if p in self.mapping and len(p) >= _MIN_FREE_LENGTH else p for p in parts
                )
        return value

    def _login_params(self, params: Any) -> Any:
        if not isinstance(params, list) or not params or not isinstance(params[0], dict):
            return self._walk(params, "params")
        first = dict(params[0])
        password = first.get("password")
        if password == REDACTED:
            first["password"] = self._password(first)
        elif isinstance(password, dict) and password.get("digest") == REDACTED:
            plain = self._password(first)
            first["password"] = {**password, "digest": hashlib.sha256(plain.encode("utf-8")).hexdigest()}
        resume = first.get("resume")
        if isinstance(resume, str):
            live = self.mapping.get(resume)
            if live is not None:
                first["resume"] = live
            elif is_redacted(resume):
                log.warning("resume token of the recording was never issued live", extra={"token": resume})
        rest = {k: self._walk(v, k) for k, v in first.items() if k not in ("password", "resume")}
        first.update(rest)
        return [first, *[self._walk(p, "params") for p in params[1:]]]

    def _password(self, login: dict[str, Any]) -> str:
        user = login.get("user")
        names: list[str] = []
        if isinstance(user, str):
            names.append(user)
        elif isinstance(user, dict):
            names.extend(str(user[k]) for k in ("username", "email", "id") if isinstance(user.get(k), str))
        for name in names:
            if name in self.credentials:
                return self.credentials[name]
        raise MissingCredentialsError(names[0] if names else "<unknown user>")


def _id_like(value: str) -> bool:
    return is_id_shaped(value) or is_login_token_shaped(value) or is_redacted(value)
