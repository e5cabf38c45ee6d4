"""Semantic comparison of recorded and live server frames."""

from __future__ import annotations

from typing import Any

import pytest

from ddp_e2e.replay.compare import Comparator, compare_connections, split_segments
from ddp_e2e.replay.difference import format_diff
from ddp_e2e.replay.jsonl import read_jsonl
from ddp_e2e.replay.model import Frame, start_ms
from ddp_e2e.replay.normalize import NormalizeOptions

from .util import SAMPLES, edit, f_in, f_out, replace_text

SESSION = read_jsonl(SAMPLES / "session.jsonl")
FRAMES = SESSION.connections[0].frames
START = start_ms(SESSION.header)
# Indexes of interest in session.jsonl
ADDED_USER, LOGIN_RESULT, LOGIN_UPDATED = 3, 4, 5
EVENT, SEND_RESULT, SEND_UPDATED = 9, 10, 11
KEYS_RESULT = 13
ERROR_UPDATED, ERROR_RESULT = 18, 19


def kinds(diffs: list[Any]) -> list[str]:
    return [d.kind for d in diffs]


def test_identical_sessions_pass() -> None:
    assert compare_connections(FRAMES, FRAMES) == []
    assert format_diff([]) == "no differences\n"


def test_dropped_updated_is_caught_and_named() -> None:
    actual = FRAMES[:SEND_UPDATED] + FRAMES[SEND_UPDATED + 1 :]
    diffs = compare_connections(FRAMES, actual)
    assert kinds(diffs) == ["missing"]
    (diff,) = diffs
    assert diff.expected_index == SEND_UPDATED and diff.actual_index is None
    assert diff.expected == FRAMES[SEND_UPDATED].text
    assert 'frame #11 (updated for id="2")' in diff.message
    text = format_diff(diffs)
    assert "[missing]" in text and "#11" in text and '{"msg":"updated","methods":["2"]}' in text


def test_result_and_updated_in_either_order_pass() -> None:
    swapped = list(FRAMES)
    swapped[SEND_RESULT], swapped[SEND_UPDATED] = swapped[SEND_UPDATED], swapped[SEND_RESULT]
    assert compare_connections(FRAMES, swapped) == []
    # ... also when one updated lists several methods, and across a segment boundary
    merged = [f for i, f in enumerate(FRAMES) if i not in (LOGIN_UPDATED,)]
    merged.insert(8, f_out({"msg": "updated", "methods": ["1"]}))
    assert compare_connections(FRAMES, merged) == []


def test_batched_updated_is_split_per_method() -> None:
    expected = [
        f_in({"msg": "method", "id": "a", "method": "x"}),
        f_in({"msg": "method", "id": "b", "method": "y"}),
        f_out({"msg": "result", "id": "a"}),
        f_out({"msg": "result", "id": "b"}),
        f_out({"msg": "updated", "methods": ["a", "b"]}),
    ]
    actual = [
        *expected[:4],
        f_out({"msg": "updated", "methods": ["b"]}),
        f_out({"msg": "updated", "methods": ["a"]}),
    ]
    assert compare_connections(expected, actual) == []
    only_b = [*expected[:4], f_out({"msg": "updated", "methods": ["b"]})]
    diffs = compare_connections(expected, only_b)
    assert kinds(diffs) == ["missing"] and 'updated for id="a"' in diffs[0].message


def test_changed_error_code_is_caught_but_reason_text_is_not() -> None:
    def code(obj: dict[str, Any]) -> None:
        obj["error"]["error"] = "error-not-allowed"

    diffs = compare_connections(FRAMES, edit(FRAMES, ERROR_RESULT, code))
    assert kinds(diffs) == ["changed"]
    assert diffs[0].path == "error.error"
    assert "error-invalid-user" in diffs[0].message and "error-not-allowed" in diffs[0].message

    def reason(obj: dict[str, Any]) -> None:
        obj["error"]["reason"] = "Utilisateur invalide"
        obj["error"]["message"] = "Utilisateur invalide [error-invalid-user]"
        obj["error"]["details"] = {"timeToReset": 12}

    assert compare_connections(FRAMES, edit(FRAMES, ERROR_RESULT, reason)) == []

    def error_type(obj: dict[str, Any]) -> None:
        obj["error"]["errorType"] = "Error"

    assert compare_connections(FRAMES, edit(FRAMES, ERROR_RESULT, error_type))[0].path == "error.errorType"


def test_changed_private_key_is_caught() -> None:
    def other_users_key(obj: dict[str, Any]) -> None:
        obj["result"]["private_key"] = '{"$binary":"c2VjcmV0LWJvYg=="}'

    diffs = compare_connections(FRAMES, edit(FRAMES, KEYS_RESULT, other_users_key))
    assert kinds(diffs) == ["changed"]
    diff = diffs[0]
    assert (diff.expected_index, diff.actual_index, diff.path) == (
        KEYS_RESULT,
        KEYS_RESULT,
        "result.private_key",
    )
    assert 'result id="3"' in diff.message


def test_extra_added_docs_are_caught() -> None:
    actual = list(FRAMES)
    actual.insert(
        ADDED_USER + 1,
        f_out({"msg": "added", "collection": "users", "id": "u-bob", "fields": {"username": "bob"}}),
    )
    diffs = compare_connections(FRAMES, actual)
    assert kinds(diffs) == ["extra"]
    assert diffs[0].actual_index == ADDED_USER + 1
    assert 'added users id="u-bob"' in diffs[0].message


def test_missing_and_changed_added_docs() -> None:
    without = FRAMES[:ADDED_USER] + FRAMES[ADDED_USER + 1 :]
    assert kinds(compare_connections(FRAMES, without)) == ["missing"]

    def rename(obj: dict[str, Any]) -> None:
        obj["fields"]["username"] = "mallory"

    diffs = compare_connections(FRAMES, edit(FRAMES, ADDED_USER, rename))
    assert kinds(diffs) == ["changed"] and diffs[0].path == "fields.username"


def test_added_set_before_ready_in_any_order() -> None:
    sub = f_in({"msg": "sub", "id": "s", "name": "rooms"})
    docs = [
        f_out({"msg": "added", "collection": "rooms", "id": f"r{i}", "fields": {"n": i}}) for i in range(3)
    ]
    ready = f_out({"msg": "ready", "subs": ["s"]})
    expected = [sub, *docs, ready]
    assert compare_connections(expected, [sub, docs[2], docs[0], docs[1], ready]) == []
    late = compare_connections(expected, [sub, docs[0], docs[1], ready, docs[2]])
    assert kinds(late) == ["order"]
    assert late[0].expected_index == 3 and late[0].actual_index == 4


def test_parallel_subs_may_interleave() -> None:
    subs = [f_in({"msg": "sub", "id": "a", "name": "x"}), f_in({"msg": "sub", "id": "b", "name": "y"})]
    a_doc = f_out({"msg": "added", "collection": "x", "id": "1"})
    b_doc = f_out({"msg": "added", "collection": "y", "id": "2"})
    ready_a, ready_b = f_out({"msg": "ready", "subs": ["a"]}), f_out({"msg": "ready", "subs": ["b"]})
    expected = [*subs, a_doc, b_doc, ready_a, ready_b]
    assert compare_connections(expected, [*subs, a_doc, ready_a, b_doc, ready_b]) == []


def test_stream_events_are_a_multiset_between_client_frames() -> None:
    events = [
        f_out(
            {
                "msg": "changed",
                "collection": "stream-notify-user",
                "id": "id",
                "fields": {"eventName": "u1/notification", "args": [{"n": i}]},
            }
        )
        for i in range(3)
    ]
    call = f_in({"msg": "method", "id": "1", "method": "x"})
    expected = [call, *events, f_out({"msg": "result", "id": "1"})]
    shuffled = [call, events[2], events[0], f_out({"msg": "result", "id": "1"}), events[1]]
    assert compare_connections(expected, shuffled) == []
    duplicated = [call, *events, events[0], f_out({"msg": "result", "id": "1"})]
    assert kinds(compare_connections(expected, duplicated)) == ["extra"]


def test_other_ids_tokens_and_times_pass_when_consistent() -> None:
    renamed = replace_text(
        FRAMES,
        [
            ("u-alice", "uAAAAAAAAAAAAAAAA"),
            ("m7bW3yZqKcaE9XvPf", "Zzzzzzzzzzzzzzzzz"),
            ("<redacted-token:3f2a9c1b7d>", "R" * 43),
            ("Pq3Wx8YtKz2HnR5aB", "Kq3Wx8YtKz2HnR5aB"),
            ("1775037600041", "1775041200041"),
            ("1767261600074", "1767265200074"),
        ],
    )
    # a replay one hour later: dates compare relative to their frame's time
    diffs = compare_connections(FRAMES, renamed, expected_start_ms=START, actual_start_ms=START + 3_600_000)
    assert diffs == [], format_diff(diffs)
    # without start times the hour shows as a date difference on the message dates
    diffs = compare_connections(FRAMES, renamed, options=NormalizeOptions(date_tolerance_ms=1000))
    assert {d.path.rsplit(".", 1)[-1] for d in diffs} <= {"ts", "_updatedAt", "tokenExpires"}


def test_inconsistent_ids_are_caught() -> None:
    # the live result names another message than the one the stream event announced
    actual = (
        replace_text(FRAMES[:SEND_RESULT], [])
        + replace_text(FRAMES[SEND_RESULT : SEND_RESULT + 1], [("Pq3Wx8YtKz2HnR5aB", "Kq3Wx8YtKz2HnR5aB")])
        + FRAMES[SEND_RESULT + 1 :]
    )
    diffs = compare_connections(FRAMES, actual)
    assert kinds(diffs) == ["changed"]
    assert diffs[0].path == "result._id"
    assert "Pq3Wx8YtKz2HnR5aB" in diffs[0].message and "Kq3Wx8YtKz2HnR5aB" in diffs[0].message


def test_dates_beyond_tolerance_are_caught() -> None:
    def shift(obj: dict[str, Any]) -> None:
        obj["result"]["ts"]["$date"] += 3_600_000  # a time zone bug

    diffs = compare_connections(
        FRAMES, edit(FRAMES, SEND_RESULT, shift), expected_start_ms=START, actual_start_ms=START
    )
    assert kinds(diffs) == ["changed"] and diffs[0].path == "result.ts"
    assert "off by 3600000 ms" in diffs[0].message


def test_ping_pong_and_presence_ignored() -> None:
    noisy = list(FRAMES)
    noisy.insert(6, f_out({"msg": "ping"}))
    noisy.insert(7, f_in({"msg": "pong"}))
    noisy.insert(
        12,
        f_out(
            {
                "msg": "changed",
                "collection": "stream-notify-logged",
                "id": "id",
                "fields": {"eventName": "user-status", "args": [["u1", "alice", 2]]},
            }
        ),
    )
    quiet = [f for f in FRAMES if '"ping"' not in f.text and '"pong"' not in f.text]
    assert compare_connections(FRAMES, noisy) == []
    assert compare_connections(noisy, quiet) == []


def test_key_order_is_irrelevant() -> None:
    assert (
        compare_connections(
            [
                f_in({"msg": "method", "id": "1", "method": "x"}),
                f_out({"msg": "result", "id": "1", "result": {"a": 1, "b": [1, 2]}}),
            ],
            [
                f_in({"msg": "method", "id": "1", "method": "x"}),
                f_out({"result": {"b": [1, 2], "a": 1}, "id": "1", "msg": "result"}),
            ],
        )
        == []
    )


def test_list_order_and_types_matter() -> None:
    call = f_in({"msg": "method", "id": "1", "method": "x"})
    base = [call, f_out({"msg": "result", "id": "1", "result": [1, 2, True]})]
    for other in ([2, 1, True], [1, 2, 1], [1, 2], [1, 2, True, None]):
        diffs = compare_connections(base, [call, f_out({"msg": "result", "id": "1", "result": other})])
        assert kinds(diffs) == ["changed"], other


def test_extra_result_and_missing_connected() -> None:
    expected = [
        f_in({"msg": "connect", "version": "1", "support": ["1"]}),
        f_out({"msg": "connected", "session": "a"}),
    ]
    diffs = compare_connections(expected, [expected[0]])
    assert kinds(diffs) == ["missing"] and diffs[0].expected_index == 1
    diffs = compare_connections(expected, [*expected, f_out({"msg": "result", "id": "zz"})])
    assert kinds(diffs) == ["extra"]


def test_diverging_client_frames_are_reported() -> None:
    expected = [
        f_in({"msg": "method", "id": "1", "method": "x", "params": [1]}),
        f_out({"msg": "result", "id": "1"}),
    ]
    actual = [
        f_in({"msg": "method", "id": "1", "method": "x", "params": [2]}),
        f_out({"msg": "result", "id": "1"}),
    ]
    diffs = compare_connections(expected, actual)
    assert kinds(diffs) == ["client"] and diffs[0].path == "params[0]"
    unsent = compare_connections(expected, [])
    assert kinds(unsent) == ["client", "missing"]
    assert "was not sent" in unsent[0].message


def test_ciphertext_modes() -> None:
    call = f_in({"msg": "method", "id": "1", "method": "e2e.fetchMyKeys"})
    recorded = [call, f_out({"msg": "result", "id": "1", "result": {"E2EKey": "0123456789abAAAA"}})]
    reencrypted = [call, f_out({"msg": "result", "id": "1", "result": {"E2EKey": "0123456789abBBBB"}})]
    other_key = [call, f_out({"msg": "result", "id": "1", "result": {"E2EKey": "ba9876543210AAAA"}})]
    assert kinds(compare_connections(recorded, reencrypted)) == ["changed"]
    keyid = NormalizeOptions(ciphertext="keyid")
    assert compare_connections(recorded, reencrypted, keyid) == []
    assert kinds(compare_connections(recorded, other_key, keyid)) == ["changed"]


def test_segment_by_segment_feeding_reports_early() -> None:
    actual = FRAMES[:ADDED_USER] + FRAMES[ADDED_USER + 1 :]  # the login's added user never comes
    e_segments = split_segments(FRAMES)
    a_segments = split_segments(actual)
    assert len(e_segments) == len(a_segments) == 7, "initial segment + 6 client frames (the ping is not one)"
    assert e_segments[0].client is None and e_segments[0].server == ()
    comparator = Comparator(window=1)
    seen: list[list[str]] = []
    for e_seg, a_seg in zip(e_segments, a_segments, strict=True):
        seen.append(kinds(comparator.feed(e_seg, a_seg)))
    # the login segment is #2; with window 1 its loose items settle when segment #4 is fed
    assert seen == [[], [], [], [], ["missing"], [], []]
    assert comparator.finish() == []
    assert kinds(comparator.differences) == ["missing"]
    with pytest.raises(RuntimeError):
        comparator.feed(e_segments[0], a_segments[0])


def test_awaiting_lists_what_the_runner_still_waits_for() -> None:
    e_segments = split_segments(FRAMES)
    comparator = Comparator()
    comparator.feed(e_segments[0], e_segments[0])
    login_segment = e_segments[2]
    without_updated = type(login_segment)(login_segment.client, login_segment.server[:2])
    comparator.feed(e_segments[1], e_segments[1])
    comparator.feed(login_segment, without_updated)
    assert comparator.awaiting() == [(LOGIN_UPDATED, 'updated for id="1"')]
    late = type(login_segment)(e_segments[3].client, (login_segment.server[2], *e_segments[3].server))
    comparator.feed(e_segments[3], late)
    assert comparator.awaiting() == []
    assert comparator.finish() == []


def test_on_pair_sees_matched_frames() -> None:
    pairs: list[tuple[str, str]] = []
    comparator = Comparator(on_pair=lambda e, a: pairs.append((e, a)))
    for e_seg in split_segments(FRAMES):
        comparator.feed(e_seg, e_seg)
    comparator.finish()
    server = [f.text for f in FRAMES if f.dir == "out" and '"pong"' not in f.text]
    assert sorted(e for e, _ in pairs) == sorted(server)
    assert all(e == a for e, a in pairs)


def test_unparseable_server_frames_compare_as_text() -> None:
    call = f_in({"msg": "method", "id": "1", "method": "x"})
    expected = [call, Frame(0, "out", "garbage")]
    assert compare_connections(expected, [call, Frame(0, "out", "garbage")]) == []
    assert kinds(compare_connections(expected, [call, Frame(0, "out", "other garbage")])) == ["changed"]


def test_loose_messages_only_match_within_the_window() -> None:
    calls = [f_in({"msg": "method", "id": str(i), "method": "x"}) for i in range(4)]
    event = f_out(
        {"msg": "changed", "collection": "stream-notify-user", "id": "id", "fields": {"eventName": "u1/x"}}
    )
    expected = [calls[0], event, calls[1], calls[2], calls[3]]
    next_segment = [calls[0], calls[1], event, calls[2], calls[3]]
    two_later = [calls[0], calls[1], calls[2], event, calls[3]]
    assert compare_connections(expected, next_segment) == [], "a neighbouring segment is timing jitter"
    assert kinds(compare_connections(expected, two_later)) == ["missing", "extra"]
    assert compare_connections(expected, two_later, window=2) == []
