"""Server settings.

Transport knobs are ours (``DDP_E2E_*`` environment variables and CLI flags); Rocket.Chat
behaviour is driven by settings that keep Rocket.Chat's own names (``E2E_Enable``, ...) so a user
sets them exactly as on a real server, with ``--setting NAME=VALUE``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

#: Rocket.Chat settings we honour, with the defaults of a current (7.x) server.
ROCKETCHAT_DEFAULTS: dict[str, Any] = {
    "E2E_Enable": True,
    "E2E_Enabled_Default_DirectRooms": False,
    "E2E_Enabled_Default_PrivateRooms": False,
    "E2E_Allow_Unencrypted_Messages": False,
    "E2E_Enable_Encrypt_Files": True,
    "E2E_Enabled_Mentions": True,
    "Accounts_LoginExpiration": 90,
    "Accounts_RegistrationForm": "Public",
    "API_Use_REST_For_DDP_Calls": True,
    "Push_request_content_from_server": False,
    "Message_MaxAllowedSize": 5000,
    "Site_Url": "http://127.0.0.1:3000",
}


def parse_setting_value(text: str) -> Any:
    """``true``/``false``/numbers become typed values; anything else stays a string."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


@dataclass
class Settings:
    """Everything the server can be told. One object, passed down explicitly (no globals)."""

    host: str = "127.0.0.1"
    port: int = 3000
    mongo_url: str = "memory://"
    fixtures: str | None = None
    #: Largest inbound WebSocket message, bytes (close 1009 above it). E2EE payloads are small.
    max_message_size: int = 1 << 20
    #: Outbound bytes buffered for a slow reader before we close it with 1008.
    max_outbound_buffer: int = 4 << 20
    heartbeat_interval: float = 15.0
    heartbeat_timeout: float = 15.0
    #: Meteor closes sockets that never send ``connect``; so do we.
    connect_timeout: float = 45.0
    #: Send the ddp-streamer's ``{"server_id":"0"}`` greeting (Meteor >= 2.3 sends none).
    send_server_id: bool = True
    max_subscriptions_per_connection: int = 512
    #: Inbound DDP messages waiting behind a running method; a client that floods past this is
    #: closed with 1008 (the transport keeps reading, so this is the per-connection bound).
    max_queued_messages: int = 1000
    bcrypt_rounds: int = 10
    random_seed: int | None = None
    record_dir: str | None = None
    record_secrets: bool = False
    log_level: str = "INFO"
    rocketchat: dict[str, Any] = field(default_factory=lambda: dict(ROCKETCHAT_DEFAULTS))

    def get(self, name: str) -> Any:
        """A Rocket.Chat setting by its Rocket.Chat name."""
        return self.rocketchat.get(name, ROCKETCHAT_DEFAULTS.get(name))

    def set(self, name: str, value: Any) -> None:
        self.rocketchat[name] = value

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Defaults overridden by ``DDP_E2E_<FIELD>`` and ``DDP_E2E_SETTING_<Name>`` variables."""
        env = dict(os.environ if env is None else env)
        s = cls()
        for key, raw in env.items():
            if key.startswith("DDP_E2E_SETTING_"):
                s.set(key[len("DDP_E2E_SETTING_"):], parse_setting_value(raw))
            elif key.startswith("DDP_E2E_"):
                name = key[len("DDP_E2E_"):].lower()
                if name in cls.__dataclass_fields__ and name != "rocketchat":
                    current = getattr(s, name)
                    value: Any = parse_setting_value(raw)
                    if isinstance(current, bool):
                        value = str(raw).lower() in ("1", "true", "yes")
                    elif isinstance(current, str) or current is None:
                        value = raw
                    setattr(s, name, value)
        return s
