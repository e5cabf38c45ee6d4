"""Mentions and URLs: what the server derives from a message before saving it.

For ``t: 'e2e'`` the server cannot read the text, so it derives nothing from ``msg``: mentions
come only from the ``e2eMentions`` the client chose to disclose, and no URL is extracted (so no
preview is ever fetched for encrypted text). For plain messages ``@user``/``#channel`` are parsed
from ``msg`` as Rocket.Chat's MentionsParser does, and URLs are listed for previews.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..app import App

# Linear-time patterns (no nested quantifiers): user text must not be able to stall the server.
_USER_MENTION = re.compile(r"(?:^|[\s>(_*])@([0-9A-Za-z\-_.]+(?:@[0-9A-Za-z\-_.]+)?)")
_CHANNEL_MENTION = re.compile(r"(?:^|[\s>(_*])#([^\s,;!?()#@\[\]{}<>]+)")
_URL = re.compile(r"[A-Za-z]{3,9}://[^\s<>\"'`]+")
_MAX_MENTIONS = 500


def is_e2e(message: dict[str, Any]) -> bool:
    return message.get("t") == "e2e"


def _strip_sigil(raw: str) -> str:
    """``'@alice'`` -> ``'alice'``; a federated ``'@bob:server'`` keeps its form, as upstream."""
    m = raw.strip()
    return m if ":" in m else m[1:]


def mention_names(message: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(user names, channel names) a message mentions; for e2e only from ``e2eMentions``."""
    if is_e2e(message):
        declared = message.get("e2eMentions") or {}
        users = [_strip_sigil(m) for m in declared.get("e2eUserMentions") or [] if isinstance(m, str)]
        channels = [m.strip()[1:] for m in declared.get("e2eChannelMentions") or [] if isinstance(m, str)]
    else:
        text = message.get("msg") or ""
        users = [m.rstrip(".") for m in _USER_MENTION.findall(text)]
        channels = [m.rstrip(".") for m in _CHANNEL_MENTION.findall(text)]
    users = list(dict.fromkeys(u for u in users if u))[:_MAX_MENTIONS]
    channels = list(dict.fromkeys(c for c in channels if c))[:_MAX_MENTIONS]
    return users, channels


async def resolve_mentions(
    app: App, message: dict[str, Any], sender_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``mentions`` and ``channels`` as Rocket.Chat stores them.

    ``@all``/``@here`` become ``{_id, username}`` entries; users become ``{_id, username, name,
    type: 'user'}``. Channels are public rooms, or private rooms the sender belongs to (upstream
    resolves any private room by name, which would hand out private room ids; we do not).
    """
    users, channels = mention_names(message)
    mentions: list[dict[str, Any]] = [{"_id": u, "username": u} for u in users if u in ("all", "here")]
    names = [u for u in users if u not in ("all", "here")]
    if names:
        cursor = app.store.users.find({"username": {"$in": names}}, {"_id": 1, "username": 1, "name": 1})
        for doc in await cursor.to_list(None):
            entry = {"_id": doc["_id"], "username": doc.get("username")}
            if doc.get("name") is not None:
                entry["name"] = doc["name"]
            entry["type"] = "user"
            mentions.append(entry)
    found: list[dict[str, Any]] = []
    if channels:
        cursor = app.store.rooms.find(
            {"name": {"$in": channels}, "t": {"$in": ["c", "p"]}}, {"_id": 1, "name": 1, "fname": 1, "t": 1}
        )
        for room in await cursor.to_list(None):
            if room.get("t") == "p":
                member = await app.store.subscriptions.find_one({"rid": room["_id"], "u._id": sender_id}, {"_id": 1})
                if member is None:
                    continue
            entry = {"_id": room["_id"], "name": room.get("name")}
            if room.get("fname") is not None:
                entry["fname"] = room["fname"]
            found.append(entry)
    return mentions, found


def message_urls(message: dict[str, Any], preview_urls: list[str] | None) -> list[dict[str, Any]] | None:
    """``urls`` for a plain message (``None`` for e2e or ``parseUrls: false``: nothing is set).

    With ``previewUrls`` given, the URLs not in it get ``ignoreParse: true`` (no preview), as
    upstream's ``parseUrlsInMessage`` marks them.
    """
    if is_e2e(message) or message.get("parseUrls") is False:
        return None
    out = []
    for url in dict.fromkeys(_URL.findall(message.get("msg") or "")):
        entry: dict[str, Any] = {"url": url}
        if preview_urls is not None and url not in preview_urls:
            entry["ignoreParse"] = True
        out.append(entry)
    return out
