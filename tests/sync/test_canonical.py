"""The canonical JSON profile: one byte string per value, everything else refused with a code."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.canonical import MAX_DEPTH, MAX_INT, MAX_SIZE, Refusal, decode, encode, nfc


def code_of(fn, *args) -> str:
    with pytest.raises(Refusal) as info:
        fn(*args)
    return info.value.code


def test_sorted_compact_raw_utf8() -> None:
    raw = encode({"b": 1, "a": [True, False, None]})
    assert raw == b'{"a":[true,false,null],"b":1}'
    assert encode({"name": "张三"}) == '{"name":"张三"}'.encode()


def test_only_quote_backslash_and_controls_are_escaped() -> None:
    text = 'q"b\\\b\t\n\f\r\x00\x1f\x7f\u2028/é'
    raw = encode(text)
    assert raw == b'"q\\"b\\\\\\b\\t\\n\\f\\r\\u0000\\u001f' + "\x7f\u2028/é".encode() + b'"'
    assert decode(raw) == text


@pytest.mark.parametrize("value", [1.0, 0.5, float("nan"), float("inf"), {"a": [1.5]}])
def test_floats_refused_when_encoding(value) -> None:
    assert code_of(encode, value) == "float"


@pytest.mark.parametrize("raw", [b"1.0", b"1e3", b"1E3", b'{"a":-0.0}', b"NaN", b"Infinity", b"-Infinity"])
def test_floats_refused_when_decoding(raw: bytes) -> None:
    assert code_of(decode, raw) == "float"


def test_integer_range() -> None:
    assert decode(encode(MAX_INT)) == MAX_INT
    assert decode(encode(-MAX_INT)) == -MAX_INT
    assert code_of(encode, MAX_INT + 1) == "int_range"
    assert code_of(encode, -MAX_INT - 1) == "int_range"
    assert code_of(decode, str(2**53).encode()) == "int_range"
    assert code_of(decode, b"1" * 5000) == "bad_json"   # longer than Python converts


@pytest.mark.parametrize("raw,code", [
    (b'{"a":1,"a":2}', "duplicate_key"),
    (b'{"a":{"b":1,"b":1}}', "duplicate_key"),
    (b'{"b":1,"a":2}', "non_canonical"),
    (b'{"a": 1}', "non_canonical"),
    (b'{"a":1} ', "non_canonical"),
    (b' {"a":1}', "non_canonical"),
    (b'{\n  "a": 1\n}', "non_canonical"),
    (b'"\\u5f20"', "non_canonical"),          # escaped where raw UTF-8 is canonical
    (b'"\\/"', "non_canonical"),
    (b'"\\u000A"', "non_canonical"),          # \n has a short form
    (b'"\\u001F"', "non_canonical"),          # lower-case hex only
    (b"-0", "non_canonical"),
    (b"01", "bad_json"),
    (b"\xef\xbb\xbf{}", "bad_json"),          # byte order mark
    (b'"\xff"', "bad_utf8"),
    (b'"\xed\xa0\x80"', "bad_utf8"),          # an encoded surrogate
    (b'"\\ud800"', "bad_text"),               # an escaped lone surrogate
    (b"{", "bad_json"),
    (b"", "bad_json"),
    ('{"é":1}'.encode(), "bad_object_key"),
    ('"e\u0301"'.encode(), "not_nfc"),
])
def test_non_canonical_refused(raw: bytes, code: str) -> None:
    assert code_of(decode, raw) == code


def test_depth_limit() -> None:
    ok = []
    for _ in range(MAX_DEPTH - 1):
        ok = [ok]
    assert decode(encode(ok)) == ok
    assert code_of(encode, [ok]) == "too_deep"
    assert code_of(decode, b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1)) == "too_deep"
    assert code_of(decode, b"[" * 100000 + b"]" * 100000) == "too_deep"


def test_size_limit() -> None:
    big = "x" * (MAX_SIZE - 2)
    assert len(encode(big)) == MAX_SIZE
    assert code_of(encode, big + "x") == "too_large"
    assert code_of(decode, b'"' + b"x" * MAX_SIZE + b'"') == "too_large"


@pytest.mark.parametrize("value,code", [
    ({1: "a"}, "bad_type"), ((1, 2), "bad_type"), (b"x", "bad_type"), ({"\x01": 1}, "bad_object_key"),
    ("e\u0301", "not_nfc"), ("\ud800", "bad_text"),
])
def test_encode_refuses(value, code: str) -> None:
    assert code_of(encode, value) == code


def test_nfc_helper_normalises_keys_and_values() -> None:
    value = {"name": "e\u0301", "list": ["A\u030a"], "n": 1}
    fixed = nfc(value)
    assert fixed == {"name": "é", "list": ["Å"], "n": 1}
    assert decode(encode(fixed)) == fixed


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-MAX_INT, MAX_INT)
    | st.text().map(lambda s: unicodedata.normalize("NFC", s)).filter(
        lambda s: not any(0xD800 <= ord(c) <= 0xDFFF for c in s)),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=6), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_round_trip_and_agreement_with_plain_json(value) -> None:
    raw = encode(value)
    assert decode(raw) == value
    assert encode(decode(raw)) == raw
    assert json.loads(raw) == value


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_pretty_printed_is_refused_unless_identical(value) -> None:
    pretty = json.dumps(value, ensure_ascii=True, indent=1, sort_keys=False).encode()
    if pretty == encode(value):
        assert decode(pretty) == value
    else:
        with pytest.raises(Refusal):
            decode(pretty)
