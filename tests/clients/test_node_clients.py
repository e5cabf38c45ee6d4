"""Real Node DDP clients against our server (the issue's acceptance: "Real clients").

Each test runs one unmodified third-party client through a driver script in tests/clients/
(connect, login with a fixture user, method calls, subscribe until `ready`, disconnect) and
asserts on the JSON report the driver prints: what the client itself decoded, plus the frames
where the client exposes them. A client that cannot parse our frames, or that never settles a
call because `result` or `updated` is missing, fails its driver step with a timeout.

To move to Rocket.Chat's E2E surface once it lands, pass e.g.
`calls=[{"method": "e2e.fetchMyKeys", "params": []}]` and
`subscription={"name": "stream-notify-user", "params": ["u-alice/e2ekeyRequest",
{"useCollection": False, "args": []}]}` in the configs below.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

RC = "rc_ddp_client.mjs"
OORT = "ddp_oortcloud.cjs"
SIMPLE = "simpleddp.cjs"
SOCKJS = "sockjs_client.cjs"
DRIVERS = [RC, OORT, SIMPLE, SOCKJS]

ECHO = "ddp-e2e.echo"
PUBLICATION = "meteor.loginServiceConfiguration"
# A nested value with unicode, a line separator (SockJS escapes it) and numbers of each kind.
PAYLOAD: dict[str, Any] = {"text": "héllo \u2028 wörld", "n": [0, -1, 2.5, 10**15], "ok": True, "none": None}
METEOR_ID = re.compile(r"^[23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz]{17}$")


def config(server: Any, **extra: Any) -> dict[str, Any]:
    """The scenario every client runs; tests override parts of it."""
    cfg: dict[str, Any] = {
        "url": server.ws_url,
        "http": server.http_url,
        "username": "alice",
        "password": "alice-pass",
        "calls": [{"method": ECHO, "params": [PAYLOAD]}],
        "subscription": {"name": PUBLICATION, "params": []},
        "step_timeout_ms": 8000,
        "hard_timeout_ms": 40000,
    }
    cfg.update(extra)
    return cfg


def ok_run(run_driver: Any, script: str, cfg: dict[str, Any]) -> dict[str, Any]:
    run = run_driver(script, cfg)
    assert run.returncode == 0 and run.report["ok"], run.describe()
    return run.report


def frames(report: dict[str, Any], direction: str) -> list[dict[str, Any]]:
    return [json.loads(f) for f in report["frames"][direction]]


def assert_login_ok(login: dict[str, Any]) -> None:
    assert "error" not in login, login
    assert login["id"] == "u-alice"
    assert login["token_present"]
    # @rocket.chat/ddp-client destructures tokenExpires.$date; the others decode it to a Date.
    exp = login["tokenExpires"]
    assert isinstance(exp, dict) and isinstance(exp["$date"], int), exp


@pytest.mark.parametrize("script", DRIVERS)
def test_full_flow(run_driver: Any, server: Any, script: str) -> None:
    """connect, password login, resume with the new token, method, sub -> ready, unsub, close."""
    report = ok_run(run_driver, script, config(server, resume_after=True, unsubscribe=True))

    assert [s["name"] for s in report["steps"]][-1] == "disconnect"
    assert METEOR_ID.match(report["connected"]["session"] or ""), report["connected"]
    assert_login_ok(report["login"])
    assert_login_ok(report["resume"])
    assert report["resume"]["token"] == report["login"]["token"]
    if "type" in report["resume"]:
        assert report["resume"]["type"] == "resume"

    [call] = report["calls"]
    assert call == {**call, "method": ECHO, "result": PAYLOAD}, call
    assert report["subscription"]["ready"] is True, report["subscription"]
    assert report["subscription"].get("nosub"), report["subscription"]
    assert report["close"]["code"] in (1000, 1005), report["close"]


@pytest.mark.parametrize("script", DRIVERS)
def test_unknown_method_and_publication(run_driver: Any, server: Any, script: str) -> None:
    """An unknown method gets a 404 `result` (+ `updated`), an unknown sub a 404 `nosub`; the
    session survives both and a later call still works."""
    cfg = config(
        server,
        calls=[{"method": "no.such.method", "params": [1]}, {"method": ECHO, "params": ["after"]}],
        subscription={"name": "no.such.publication", "params": []},
    )
    report = ok_run(run_driver, script, cfg)
    missing, echo = report["calls"]
    assert missing["error"]["error"] == 404, missing
    assert "no.such.method" in missing["error"]["reason"], missing
    assert echo["result"] == "after", echo
    sub = report["subscription"]
    assert sub["ready"] is False and sub["error"]["error"] == 404, sub


@pytest.mark.parametrize("script", [RC, SIMPLE])
def test_wrong_password_gives_no_hint(run_driver: Any, server: Any, script: str) -> None:
    """Wrong password and unknown user fail alike (403, same reason) and the session goes on."""
    wrong = ok_run(run_driver, script, config(server, password="not-alice-pass"))
    nobody = ok_run(run_driver, script, config(server, username="nobody-here"))
    for report in (wrong, nobody):
        err = report["login"]["error"]
        assert err["error"] == 403, err
        assert report["calls"][0]["result"] == PAYLOAD  # the connection is still usable
    assert wrong["login"]["error"]["reason"] == nobody["login"]["error"]["reason"]


def test_rc_client_frames(run_driver: Any, server: Any) -> None:
    """What Rocket.Chat's SDK sends and needs: versions offered, digest login, result+updated."""
    report = ok_run(run_driver, RC, config(server))
    out = frames(report, "out")
    assert out[0] == {"msg": "connect", "version": "1", "support": ["1", "pre2", "pre1"]}
    login = next(f for f in out if f.get("method") == "login")
    assert login["params"][0]["password"]["algorithm"] == "sha-256"
    assert len(login["params"][0]["password"]["digest"]) == 64
    inbound = frames(report, "in")
    assert any(f.get("msg") == "connected" for f in inbound)
    for f in out:
        if f.get("msg") == "method":
            assert any(m.get("msg") == "result" and m.get("id") == f["id"] for m in inbound), f
            assert any(m.get("msg") == "updated" and f["id"] in m["methods"] for m in inbound), f
    assert report["websocket_impl"] == "global"


def test_rc_client_resume_token_login(run_driver: Any, server: Any) -> None:
    """A token from a password login opens a second, separate connection via `{resume}`."""
    first = ok_run(run_driver, RC, config(server))
    token = first["login"]["token"]
    second = ok_run(run_driver, RC, config(server, login_mode="resume", resume_token=token))
    assert_login_ok(second["login"])
    assert second["login"]["type"] == "resume"
    assert second["connected"]["session"] != first["connected"]["session"]


def test_ddp_oortcloud_ejson_and_updated(run_driver: Any, server: Any) -> None:
    """`ddp` speaks EJSON: a Date goes out as $date and comes back as one; each call also gets
    its `updated` (the client's second callback)."""
    when = {"$date": 1_700_000_000_123}
    report = ok_run(run_driver, OORT, config(server, calls=[{"method": ECHO, "params": [{"when": when}]}]))
    [call] = report["calls"]
    assert call["result"] == {"when": when} and call["updated"] is True, call
    assert report["login"]["tokenExpires"].get("decoded_as") == "Date"
    assert report["connected"]["ddp_version"] == "1"


def test_ddp_oortcloud_over_sockjs_info(run_driver: Any, server: Any) -> None:
    """useSockJs: the client GETs /sockjs/info first, then opens the raw /websocket endpoint."""
    report = ok_run(run_driver, OORT, config(server, sockjs=True))
    [probe] = report["http_probes"]
    assert probe["url"] == f"{server.http_url}/sockjs/info"
    assert probe["status"] == 200, probe
    info = json.loads(probe["body"])
    assert info["websocket"] is True
    assert report["socket_url"].endswith("/websocket")
    assert report["calls"][0]["result"] == PAYLOAD
    assert report["subscription"]["ready"] is True


def test_simpleddp_ejson_escape_and_dates(run_driver: Any, server: Any) -> None:
    """simpleddp escapes a literal `{$date: n}` object as `$escape`; our server must keep it a
    plain object while a real Date stays a Date."""
    params = [{"when": {"$date": 5}, "literal": {"$escape": {"$date": 7}}}]
    report = ok_run(run_driver, SIMPLE, config(server, calls=[{"method": ECHO, "params": params}]))
    [call] = report["calls"]
    assert call["result"] == params[0], call
    assert call["result_types"] == {"when": "Date", "literal": "object"}
    sent = next(f for f in frames(report, "out") if f.get("method") == ECHO)
    assert sent["params"][0]["literal"] == {"$escape": {"$date": 7}}


def test_simpleddp_plaintext_password(run_driver: Any, server: Any) -> None:
    """simpleddp (like asteroid) can send the password as a plain string; it must log in."""
    report = ok_run(run_driver, SIMPLE, config(server, login_mode="plain"))
    sent = next(f for f in frames(report, "out") if f.get("method") == "login")
    assert sent["params"][0]["password"] == "alice-pass"
    assert_login_ok(report["login"])
    assert report["connected"]["session"]


def test_sockjs_framing(run_driver: Any, server: Any) -> None:
    """sockjs-client over /sockjs/<n>/<id>/websocket: `o` first, DDP inside `a[...]` frames."""
    report = ok_run(run_driver, SOCKJS, config(server, unsubscribe=True))
    assert report["transport"] == "websocket"
    [url] = report["transport_urls"]
    assert re.search(r"/sockjs/\d{3}/[^/]{8}/websocket$", url), url
    raw_in = report["raw_frames"]["in"]
    assert raw_in[0] == "o", raw_in[:3]
    data = [f for f in raw_in[1:] if f != "h"]
    assert data and all(f.startswith("a[") for f in data), data
    decoded = [json.loads(m) for f in data for m in json.loads(f[1:])]
    assert any(m.get("msg") == "connected" for m in decoded)
    assert report["calls"][0]["result"] == PAYLOAD
    assert report["subscription"]["ready"] is True


def test_rc_client_e2e_key_methods(run_driver: Any, server: Any) -> None:
    """Rocket.Chat's SDK on the E2E key methods: none at first, stored once, never overwritten
    without `force`. (Dave: no other test here touches his keys.)"""
    public_key = json.dumps({"alg": "RSA-OAEP-256", "e": "AQAB", "ext": True,
                             "key_ops": ["encrypt"], "kty": "RSA", "n": "0vx7agoebGcQSuu"})
    private_key = json.dumps({"$binary": "c2VjcmV0LWtleS1ieXRlcw=="})
    keys = {"public_key": public_key, "private_key": private_key}
    calls = [
        {"method": "e2e.fetchMyKeys", "params": []},
        {"method": "e2e.setUserPublicAndPrivateKeys", "params": [keys]},
        {"method": "e2e.fetchMyKeys", "params": []},
        {"method": "e2e.setUserPublicAndPrivateKeys",
         "params": [{"public_key": "other", "private_key": "other"}]},
        {"method": "e2e.fetchMyKeys", "params": []},
    ]
    report = ok_run(run_driver, RC, config(server, username="dave", password="dave-pass", calls=calls))
    before, stored, after, again, final = report["calls"]
    assert before["result"] == {}, before
    assert "error" not in stored, stored
    assert after["result"] == keys, after
    assert again["error"]["error"] == "error-keys-already-set", again
    assert final["result"] == keys, final
