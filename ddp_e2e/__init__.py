"""ddp-e2e: a DDP server that behaves like Rocket.Chat and emulates its E2EE server side."""

__version__ = "0.1.0"

#: The Rocket.Chat version we present ourselves as (info endpoint, recordings' headers).
EMULATED_ROCKETCHAT_VERSION = "7.13.0"
