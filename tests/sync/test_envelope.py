"""The envelope: exact bytes, id, signature, field rules; any changed byte is refused."""

from __future__ import annotations

import hashlib

import pytest

from sync.canonical import Refusal, encode
from sync.envelope import RECORD_DOMAIN, Record, from_wire, parse_record, record_id, sign_record, verify
from sync.keys import NodeKey

KEY = NodeKey.from_seed(bytes(range(32)))
OTHER = NodeKey.from_seed(bytes(32))
TIME = "2026-03-02T09:30:00+08:00"


def make(seq: int = 1, prev: str | None = None, **over) -> Record:
    fields = {"net": "test", "origin": "T0001", "seq": seq, "prev": prev, "kind": "case.received",
              "body": {"case": "T0001-2026-000001", "applicant": "张三"}, "time": TIME}
    fields.update(over)
    return sign_record(KEY, **fields)


def fields_of(record: Record) -> dict:
    return {"v": 1, "net": record.net, "origin": record.origin, "key": record.key, "seq": record.seq,
            "prev": record.prev, "time": record.time, "kind": record.kind, "body": record.body,
            "ckpt": record.ckpt}


def test_sign_parse_verify_round_trip() -> None:
    r = make()
    assert r.id == hashlib.sha256(r.raw).hexdigest() == record_id(r.raw)
    assert r.key == KEY.key_id and r.seq == 1 and r.prev is None
    again = parse_record(r.raw, r.sig, network="test")
    assert again == r and again.body == r.body
    verify(r, KEY.public)
    verify(r, KEY.public_key())
    assert from_wire(r.to_wire()) == r
    KEY.public_key().verify(r.sig, RECORD_DOMAIN + r.raw)   # the documented signing input


def test_signature_is_domain_separated() -> None:
    r = make()
    plain = KEY.sign(r.raw)   # the same bytes signed without the record prefix
    with pytest.raises(Refusal) as info:
        verify(parse_record(r.raw, plain), KEY.public)
    assert info.value.code == "bad_signature"


def test_wrong_key_and_wrong_network_refused() -> None:
    r = make()
    with pytest.raises(Refusal) as info:
        verify(r, OTHER.public)
    assert info.value.code == "bad_signature"
    with pytest.raises(Refusal) as info:
        parse_record(r.raw, r.sig, network="prod")
    assert info.value.code == "wrong_network"


def test_every_flipped_byte_is_refused() -> None:
    """Tamper any byte of raw: it fails to parse, or it parses and the signature fails."""
    r = make(seq=2, prev="a" * 64, ckpt={"root": "b" * 64, "size": 7})
    for i in range(len(r.raw)):
        for flip in (0x01, 0x20):
            tampered = bytearray(r.raw)
            tampered[i] ^= flip
            with pytest.raises(Refusal):
                verify(parse_record(bytes(tampered), r.sig, network="test"), KEY.public)
    for i in range(len(r.sig)):
        sig = bytearray(r.sig)
        sig[i] ^= 0x01
        with pytest.raises(Refusal):
            verify(parse_record(r.raw, bytes(sig)), KEY.public)


@pytest.mark.parametrize("change,code", [
    ({"v": 2}, "bad_version"),
    ({"v": True}, "bad_version"),
    ({"net": "Prod"}, "bad_field"),
    ({"origin": "X1"}, "bad_field"),
    ({"origin": "T001"}, "bad_field"),
    ({"key": "ABC"}, "bad_field"),
    ({"seq": 0}, "bad_field"),
    ({"seq": True}, "bad_field"),
    ({"prev": "a" * 64}, "bad_field"),          # seq 1 has no prev
    ({"seq": 2}, "bad_field"),                  # seq 2 needs one
    ({"seq": 2, "prev": "A" * 64}, "bad_field"),
    ({"time": "2026-03-02T09:30:00"}, "bad_field"),   # no offset
    ({"time": "2026-02-30T09:30:00+08:00"}, "bad_field"),
    ({"time": "2026-03-02 09:30:00+08:00"}, "bad_field"),
    ({"kind": "received"}, "bad_field"),
    ({"kind": "Case.received"}, "bad_field"),
    ({"body": []}, "bad_field"),
    ({"ckpt": {"size": 1}}, "bad_field"),
    ({"ckpt": {"size": -1, "root": "a" * 64}}, "bad_field"),
    ({"extra": 1}, "bad_field"),
])
def test_field_rules(change: dict, code: str) -> None:
    fields = fields_of(make())
    fields.update(change)
    raw = encode(fields)
    with pytest.raises(Refusal) as info:
        parse_record(raw, KEY.sign(RECORD_DOMAIN + raw))
    assert info.value.code == code


def test_missing_field_refused() -> None:
    fields = fields_of(make())
    del fields["ckpt"]
    with pytest.raises(Refusal) as info:
        parse_record(encode(fields), bytes(64))
    assert info.value.code == "bad_field"


def test_sign_refuses_what_parse_would_refuse() -> None:
    with pytest.raises(Refusal) as info:
        make(body={"fee": 12.5})
    assert info.value.code == "float"
    with pytest.raises(Refusal) as info:
        make(body={"name": "e\u0301"})
    assert info.value.code == "not_nfc"
    with pytest.raises(Refusal):
        make(origin="bad")


def test_signature_length_and_wire_form() -> None:
    r = make()
    with pytest.raises(Refusal) as info:
        parse_record(r.raw, r.sig[:63])
    assert info.value.code == "bad_signature"
    for bad in ({"raw": "@@", "sig": "AA=="}, {"raw": 1}, [], {"sig": "x"}):
        with pytest.raises(Refusal) as info:
            from_wire(bad)
        assert info.value.code == "bad_field"


def test_default_time_has_an_offset() -> None:
    r = sign_record(KEY, net="test", origin="C", seq=1, prev=None, kind="catalogue.published", body={})
    assert r.time[-6] in "+-"


def test_records_are_equal_by_bytes_and_hashable() -> None:
    a, b = make(), make()
    assert a == b and hash(a) == hash(b)
    assert a != make(body={"case": "other"})
