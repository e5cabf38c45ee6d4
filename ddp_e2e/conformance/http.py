"""HTTP for conformance scenarios: REST calls and the URLs derived from the DDP endpoint.

Plain ``urllib`` (run in a thread), so the conformance runner needs no HTTP client dependency.
"""

from __future__ import annotations

import secrets
import string
import urllib.error
import urllib.parse
import urllib.request

__all__ = ["HttpFailed", "default_http", "http_request", "sockjs_url"]


class HttpFailed(Exception):
    """The request did not get any HTTP answer (connection refused, bad URL, timeout)."""


def default_http(url: str) -> str:
    """``ws://host:3000/websocket`` -> ``http://host:3000``."""
    parts = urllib.parse.urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    path = parts.path.rstrip("/")
    for tail in ("/websocket", "/sockjs"):
        if path.endswith(tail):
            path = path[: -len(tail)]
    return urllib.parse.urlunsplit((scheme, parts.netloc, path, "", ""))


def sockjs_url(url: str) -> str:
    """The SockJS WebSocket URL next to a raw ``.../websocket`` URL, with a fresh session."""
    parts = urllib.parse.urlsplit(url)
    base = parts.path.rstrip("/")
    if base.endswith("/websocket"):
        base = base[: -len("/websocket")]
    session = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))
    path = f"{base}/sockjs/{secrets.randbelow(1000):03d}/{session}/websocket"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def http_request(method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")
    except (OSError, ValueError) as exc:
        raise HttpFailed(f"{method} {url}: {exc}") from None
