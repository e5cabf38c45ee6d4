"""REST login throttles password guessing per client address and user (DDP has its own limit)."""

from __future__ import annotations

import httpx

from tests.conftest import RunningServer


def _login(server: RunningServer, user: str, password: str) -> httpx.Response:
    return httpx.post(f"{server.http_url}/api/v1/login", json={"user": user, "password": password}, timeout=10)


def test_failed_rest_logins_are_limited_per_user_and_success_is_not_counted(server: RunningServer) -> None:
    for _ in range(3):  # successful logins never count towards the limit
        assert _login(server, "carol", "carol-pass").status_code == 200
    for i in range(10):
        r = _login(server, "carol", f"wrong-{i}")
        assert r.status_code == 401, r.text
    blocked = _login(server, "carol", "carol-pass")  # even the right password waits now
    assert blocked.status_code == 429
    body = blocked.json()
    assert body["success"] is False and body["errorType"] == "error-too-many-requests"
    assert "You must wait" in body["error"]
    assert _login(server, "dave", "dave-pass").status_code == 200  # another user is not affected
