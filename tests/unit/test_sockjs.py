"""SockJS framing: server frames, sockjs-node's escape set, client payloads, /info."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ddp_e2e.ddp import sockjs
from ddp_e2e.ddp.sockjs import SockJSFramingError

CONNECTED = '{"msg":"connected","session":"m7bW3yZqKcaE9XvPf"}'


def test_open_and_heartbeat_frames() -> None:
    assert sockjs.OPEN == "o"
    assert sockjs.HEARTBEAT == "h"
    assert sockjs.decode_server_frame("o") == ("o", None)
    assert sockjs.decode_server_frame("h") == ("h", None)
    assert sockjs.decode_server_frame(b"h\n") == ("h", None)


def test_array_frame_quotes_each_message() -> None:
    assert sockjs.encode_messages([CONNECTED]) == (
        'a["{\\"msg\\":\\"connected\\",\\"session\\":\\"m7bW3yZqKcaE9XvPf\\"}"]'
    )
    assert sockjs.encode_messages(['{"msg":"ping"}', '{"msg":"pong"}']) == (
        'a["{\\"msg\\":\\"ping\\"}","{\\"msg\\":\\"pong\\"}"]'
    )


def test_array_frame_control_characters_as_json_stringify() -> None:
    assert sockjs.encode_messages(['\n\t\x00\x1f\x7f\\"/']) == 'a["\\n\\t\\u0000\\u001f\x7f\\\\\\"/"]'


@pytest.mark.parametrize(
    ("char", "escaped"),
    [
        ("\u200c", "\\u200c"),
        ("\u200f", "\\u200f"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
        ("\u202f", "\\u202f"),
        ("\u2060", "\\u2060"),
        ("\u206f", "\\u206f"),
        ("\ufff0", "\\ufff0"),
        ("\uffff", "\\uffff"),
        ("\ufffd", "\\ufffd"),
        ("\ud800", "\\ud800"),
        ("\udfff", "\\udfff"),
        ("😀", "\\ud83d\\ude00"),
        ("\U0010ffff", "\\udbff\\udfff"),
    ],
)
def test_escape_set(char: str, escaped: str) -> None:
    assert sockjs.quote(f"x{char}y") == f'"x{escaped}y"'
    assert sockjs.encode_messages(["a", f"x{char}y"]) == f'a["a","x{escaped}y"]'


@pytest.mark.parametrize("char", ["é", "中", "\u200b", "\u2030", "\u205f", "\u2070", "\ufeff", "\uffef"])
def test_characters_outside_the_set_stay_raw(char: str) -> None:
    assert sockjs.quote(char) == f'"{char}"'


def test_frames_are_ascii_safe_for_every_escaped_character() -> None:
    frame = sockjs.encode_messages(["\u2028😀\ud800"])
    assert frame.isascii()
    kind, items = sockjs.decode_server_frame(frame)
    assert kind == "a" and items == ["\u2028😀\ud800"]


def test_quote_rejects_non_strings() -> None:
    with pytest.raises(TypeError):
        sockjs.quote(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sockjs.encode_messages([b"x"])  # type: ignore[list-item]


def test_close_frame() -> None:
    assert sockjs.close_frame(3000, "Go away!") == 'c[3000,"Go away!"]'
    assert sockjs.close_frame(*sockjs.BROKEN_FRAMING) == 'c[3000,"Broken framing."]'
    assert sockjs.close_frame(*sockjs.NORMAL_CLOSURE) == 'c[1000,"Normal closure"]'
    assert sockjs.close_frame(2010, 'say "hi" é') == 'c[2010,"say \\"hi\\" é"]'
    assert sockjs.decode_server_frame('c[2010,"Another connection still open"]') == (
        "c",
        (2010, "Another connection still open"),
    )
    with pytest.raises(TypeError):
        sockjs.close_frame("3000", "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sockjs.close_frame(True, "x")


def test_client_payload_array_string_and_empty() -> None:
    assert sockjs.decode_client_payload('["{\\"msg\\":\\"connect\\"}"]') == ['{"msg":"connect"}']
    assert sockjs.decode_client_payload('["a","b"]') == ["a", "b"]
    assert sockjs.decode_client_payload('"{\\"msg\\":\\"ping\\"}"') == ['{"msg":"ping"}']
    assert sockjs.decode_client_payload(b'["x"]') == ["x"]
    assert sockjs.decode_client_payload("[]") == []
    assert sockjs.decode_client_payload("") == []
    assert sockjs.decode_client_payload(b"") == []


def test_client_payload_lone_surrogate_escape_is_accepted_like_json_parse() -> None:
    assert sockjs.decode_client_payload('["\\ud800"]') == ["\ud800"]


@pytest.mark.parametrize(
    "payload",
    [
        "x",
        " ",
        "[",
        '["a",',
        "{}",
        '{"msg":"connect"}',
        "1",
        "null",
        "true",
        "[1]",
        '["a",null]',
        '[["a"]]',
        "NaN",
        '["a"] x',
        b"\xff\xfe",
    ],
)
def test_broken_framing(payload: str | bytes) -> None:
    with pytest.raises(SockJSFramingError, match="Broken framing"):
        sockjs.decode_client_payload(payload)


@pytest.mark.parametrize(
    "frame",
    ["", "x", "a", "a{}", "a[1]", 'a["x"', "c", "c[3000]", 'c["3000","x"]', "c[3000,1]", "oo", "hh", b"\xff"],
)
def test_bad_server_frames(frame: str | bytes) -> None:
    with pytest.raises(SockJSFramingError):
        sockjs.decode_server_frame(frame)


def test_info_body_exact_bytes_and_key_order() -> None:
    assert sockjs.info_body(2876012245) == (
        b'{"websocket":true,"origins":["*:*"],"cookie_needed":false,"entropy":2876012245}'
    )
    assert sockjs.info_body(0, websocket=False) == (
        b'{"websocket":false,"origins":["*:*"],"cookie_needed":false,"entropy":0}'
    )
    assert sockjs.info_body(7, origins=False, cookie_needed=True) == (
        b'{"websocket":true,"cookie_needed":true,"entropy":7}'
    )
    for bad in (-1, 2**32, 1.5, "1", True):
        with pytest.raises(ValueError):
            sockjs.info_body(bad)  # type: ignore[arg-type]


def test_welcome_text() -> None:
    assert sockjs.WELCOME == "Welcome to SockJS!\n"


def _js_quote(text: str) -> str:
    """An independent model of sockjs-node's quote: per UTF-16 code unit."""
    units = text.encode("utf-16-le", "surrogatepass")
    out = []
    for i in range(0, len(units), 2):
        u = int.from_bytes(units[i : i + 2], "little")
        ch = chr(u)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in "\b\f\n\r\t":
            out.append(json.dumps(ch)[1:-1])
        elif (
            u < 0x20
            or 0xD800 <= u <= 0xDFFF
            or 0x200C <= u <= 0x200F
            or 0x2028 <= u <= 0x202F
            or 0x2060 <= u <= 0x206F
            or u >= 0xFFF0
        ):
            out.append(f"\\u{u:04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


@given(st.lists(st.text(), max_size=4))
def test_property_frames_match_model_and_round_trip(texts: list[str]) -> None:
    frame = sockjs.encode_messages(texts)
    assert frame == "a[" + ",".join(_js_quote(t) for t in texts) + "]"
    assert sockjs.decode_server_frame(frame) == ("a", texts)
    # a client echoing the same array back is understood
    assert sockjs.decode_client_payload(frame[1:]) == texts


@given(st.text(), st.integers(min_value=0, max_value=4999))
def test_property_close_round_trip(reason: str, code: int) -> None:
    frame = sockjs.close_frame(code, reason)
    assert sockjs.decode_server_frame(frame) == ("c", (code, reason))
    assert frame == "c" + json.dumps([code, reason], ensure_ascii=False, separators=(",", ":"))


@given(st.lists(st.text(alphabet=st.characters(codec="utf-8")), max_size=4))
def test_property_client_payloads(texts: list[str]) -> None:
    assert sockjs.decode_client_payload(orjson.dumps(texts)) == texts
    for t in texts:
        assert sockjs.decode_client_payload(orjson.dumps(t)) == [t]


def test_read_frame_passes_raw_text_and_unwraps_sockjs() -> None:
    from ddp_e2e.ddp.sockjs import read_frame

    assert read_frame('a["{\\"msg\\":\\"ping\\"}"]', False) == (['a["{\\"msg\\":\\"ping\\"}"]'], None)
    assert read_frame('a["{\\"msg\\":\\"ping\\"}"]', True) == (['{"msg":"ping"}'], None)
    assert read_frame('c[3000,"Go away!"]', True) == ([], (3000, "Go away!"))
    assert read_frame("o", True) == ([], None)
