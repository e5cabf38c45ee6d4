"""Which JSON keys mean what, for redaction, normalisation and id rewriting.

One table shared by the three so that a key added here is redacted, normalised and rewritten
consistently (spec security-reliability-replay.md §4.3).
"""

from __future__ import annotations

from typing import Any

from ..ids import is_meteor_id

#: Keys whose values are secrets that must never reach a file or a comparison. Passwords are
#: low-entropy, so they are masked without any fingerprint.
PASSWORD_KEYS = frozenset(
    {
        "password",
        "digest",
        "pass",
        "newPassword",
        "oldPassword",
        "currentPassword",
        "ldapPass",
        "crowdPassword",
        "secret",
        "accessTokenSecret",
        "credentialSecret",
    }
)

#: Objects whose ``code`` is a one-time password (``{"totp": {"login": ..., "code": "123456"}}``);
#: ``code`` elsewhere (error codes) is not secret.
OTP_PARENT_KEYS = frozenset({"totp", "twoFactor"})

#: Keys whose values are bearer tokens. They are high-entropy, so redaction keeps a short
#: fingerprint: the same token seen twice (login result, later ``resume``) keeps its identity.
TOKEN_KEYS = frozenset(
    {
        "token",
        "resume",
        "authToken",
        "X-Auth-Token",
        "x-auth-token",
        "Meteor.loginToken",
        "loginToken",
        "hashedToken",
        "accessToken",
        "idToken",
        "credentialToken",
        "refreshToken",
    }
)

#: Keys whose whole value (any shape) is secret: a user's ``services`` holds password hashes,
#: resume tokens and OAuth secrets.
SECRET_TREE_KEYS = frozenset({"services"})

#: Keys whose string values are document ids (aliased by first appearance).
DOC_ID_KEYS = frozenset(
    {
        "_id",
        "id",
        "rid",
        "roomId",
        "userId",
        "uid",
        "tmid",
        "drid",
        "prid",
        "msgId",
        "messageId",
        "targetId",
        "fromUserId",
        "toUserId",
        "fileId",
        "sessionId",
    }
)

#: Keys whose values are E2EE ciphertext or key material: the server must pass them through
#: untouched, so they are never aliased and are compared byte for byte (or by key id prefix).
CIPHER_KEYS = frozenset(
    {
        "E2EKey",
        "E2ESuggestedKey",
        "public_key",
        "private_key",
        "RSAPubKey",
        "RSAEPrivKey",
        "ciphertext",
    }
)

#: The length of the key-id prefix of a v1 E2EE payload (``keyID + base64(...)``).
KEY_ID_PREFIX = 12

#: Stream events that depend on timing (presence, typing) and are dropped from comparisons.
PRESENCE_STREAMS = frozenset({"stream-user-presence"})
PRESENCE_EVENT_SUFFIXES = ("/user-status", "/typing", "/user-activity")
PRESENCE_EVENT_NAMES = frozenset({"user-status", "typing", "user-activity", "presence"})


def is_login_token_shaped(value: Any) -> bool:
    """A Meteor ``Random.secret()`` login token: 43 base64url characters."""
    if not isinstance(value, str) or len(value) != 43:
        return False
    return all(c.isalnum() or c in "-_" for c in value)


def is_id_shaped(value: Any) -> bool:
    """True for a Meteor ``Random.id()``-shaped string, the default shape of server ids."""
    return is_meteor_id(value)


def is_presence_event(collection: Any, event_name: Any) -> bool:
    """A presence or typing stream event, timing-dependent by nature."""
    if collection in PRESENCE_STREAMS:
        return True
    if not isinstance(event_name, str):
        return False
    if event_name in PRESENCE_EVENT_NAMES:
        return True
    return event_name.endswith(PRESENCE_EVENT_SUFFIXES) or event_name.startswith("UserPresence:")
