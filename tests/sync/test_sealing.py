"""Sealed blobs (sync/sealing.py): round trips at every segment boundary, the committed vectors,
and every way a sealed blob can be altered, moved or cut failing to open; the sealing key file."""

from __future__ import annotations

import io
import json
import os
import random
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.envelope import sign_record
from sync.keys import KeyFileError, NodeKey
from sync.sealing import (
    ALGORITHM,
    HEADER_LEN,
    KIND,
    TAG,
    Context,
    Recipient,
    SealError,
    SealingKey,
    newest,
    open_sealed,
    recipient_key_id,
    record_body,
    record_wire,
    seal,
    seal_chunks,
    sealed_size,
)

VECTORS = Path(__file__).resolve().parents[2] / "sync" / "vectors" / "sealing.json"
KEY = SealingKey.from_seed(bytes(range(32)))
TO = KEY.recipient("C")
CTX = Context(net="test", sender="V000001", recipient="C", bundle="0" * 32, blob="ab" * 32)


@pytest.mark.parametrize("size", [0, 1, 31, 32, 33, 64, 65, 1000])
def test_round_trip_at_every_segment_boundary(size: int) -> None:
    plain = random.Random(size).randbytes(size)
    sealed = seal(TO, CTX, plain, segment=32)
    assert len(sealed) == sealed_size(size, 32) == HEADER_LEN + size + TAG * max(1, -(-size // 32))
    assert open_sealed(KEY, CTX, sealed) == plain
    assert size < 16 or plain[:16] not in sealed  # (a byte or two may turn up in any random bytes)
    assert recipient_key_id(sealed) == KEY.key_id


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(1, 70), max_size=8), st.integers(1, 64))
def test_any_chunking_of_the_input_seals_the_same_plain_bytes(plain: bytes, cuts: list[int], segment: int) -> None:
    pieces, at = [], 0
    for n in cuts:
        pieces.append(plain[at:at + n])
        at += n
    pieces.append(plain[at:])
    sealed = b"".join(seal_chunks(TO, CTX, pieces, len(plain), segment=segment))
    opened = KEY.open(CTX, io.BytesIO(sealed).read)
    assert opened.size == len(plain)
    assert b"".join(opened.chunks()) == plain


def test_a_fresh_ephemeral_key_every_time() -> None:
    plain = b"the same scan" * 100
    assert seal(TO, CTX, plain) != seal(TO, CTX, plain)


def test_the_input_must_be_exactly_the_announced_size() -> None:
    with pytest.raises(ValueError):
        b"".join(seal_chunks(TO, CTX, [b"abc"], 2))
    with pytest.raises(ValueError):
        b"".join(seal_chunks(TO, CTX, [b"abc"], 4))


def test_the_committed_vectors_hold() -> None:
    """What another implementation is checked against (sync/vectors/sealing.json)."""
    vectors = json.loads(VECTORS.read_text("utf-8"))
    assert vectors["algorithm"] == ALGORITHM
    for case in vectors["sealed"]:
        key = SealingKey.from_seed(bytes.fromhex(case["recipient_private"]))
        assert key.public.hex() == case["recipient_public"] and key.key_id == case["recipient_key_id"]
        ctx = Context(**case["context"])
        assert ctx.info().hex() == case["info"]
        eph = X25519PrivateKey.from_private_bytes(bytes.fromhex(case["ephemeral_private"]))
        plain = bytes.fromhex(case["plain"])
        sealed = seal(key.recipient("C"), ctx, plain, segment=case["segment"], ephemeral=eph)
        assert sealed.hex() == case["sealed"]
        assert open_sealed(key, ctx, sealed) == plain
    for case in vectors["refused"]:
        key = SealingKey.from_seed(bytes.fromhex(case["recipient_private"]))
        with pytest.raises(SealError) as err:
            open_sealed(key, Context(**case["context"]), bytes.fromhex(case["sealed"]))
        assert err.value.code == case["code"], case["name"]


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


SEALED = seal(TO, CTX, random.Random(7).randbytes(100), segment=32)  # four segments


@pytest.mark.parametrize("at", [8, 16, 20, 48, 56, HEADER_LEN, HEADER_LEN + 40, len(SEALED) - 1])
def test_one_flipped_byte_anywhere_fails(at: int) -> None:
    with pytest.raises(SealError) as err:
        open_sealed(KEY, CTX, _flip(SEALED, at))
    assert err.value.code in {"seal.damaged", "seal.wrong_recipient", "seal.bad_header"}


@pytest.mark.parametrize("field", ["blob", "bundle", "sender", "recipient", "net"])
def test_moved_to_another_name_bundle_sender_recipient_or_network_it_fails(field: str) -> None:
    other = {"blob": "cd" * 32, "bundle": "1" * 32, "sender": "V000002", "recipient": "T0001", "net": "prod"}
    moved = Context(**{**CTX.__dict__, field: other[field]})
    with pytest.raises(SealError) as err:
        open_sealed(KEY, moved, SEALED)
    assert err.value.code == "seal.damaged"


def test_sealed_to_another_key_says_so() -> None:
    stranger = SealingKey.from_seed(b"s" * 32)
    with pytest.raises(SealError) as err:
        open_sealed(stranger, CTX, SEALED)
    assert err.value.code == "seal.wrong_recipient"
    # and a header rewritten to name the stranger's key does not help it
    forged = SEALED[:8] + bytes.fromhex(stranger.key_id) + SEALED[16:]
    with pytest.raises(SealError) as err:
        open_sealed(stranger, CTX, forged)
    assert err.value.code == "seal.damaged"


@pytest.mark.parametrize("how", ["cut_segment", "drop_last", "extra_byte", "extra_segment", "swap_segments",
                                 "size_in_header", "not_sealed", "short"])
def test_cut_extended_reordered_or_relabelled_it_fails(how: str) -> None:
    seg = 32 + TAG
    body = SEALED[HEADER_LEN:]
    parts = [body[i:i + seg] for i in range(0, len(body), seg)]
    data = {
        "cut_segment": SEALED[:-5],
        "drop_last": SEALED[:HEADER_LEN] + b"".join(parts[:-1]),
        "extra_byte": SEALED + b"\x00",
        "extra_segment": SEALED + parts[1],
        "swap_segments": SEALED[:HEADER_LEN] + parts[1] + parts[0] + b"".join(parts[2:]),
        "size_in_header": SEALED[:48] + (96).to_bytes(8, "big") + SEALED[56:],
        "not_sealed": b"PK\x03\x04" + SEALED[4:],
        "short": SEALED[:30],
    }[how]
    with pytest.raises(SealError) as err:
        open_sealed(KEY, CTX, data)
    assert err.value.code == ("seal.bad_header" if how in {"not_sealed", "short"} else "seal.damaged")


def test_a_low_order_ephemeral_key_is_refused() -> None:
    forged = SEALED[:16] + bytes(32) + SEALED[48:]
    with pytest.raises(SealError) as err:
        open_sealed(KEY, CTX, forged)
    assert err.value.code == "seal.damaged"


def test_memory_is_one_segment_whatever_the_size() -> None:
    """A 20 MB scan is sealed and opened piece by piece: no piece is bigger than a segment."""
    size, segment = 20 * 1024 * 1024, 256 * 1024
    rng = random.Random(5)

    def source():  # 64 KiB at a time, as a file is read
        left = size
        while left:
            n = min(65536, left)
            left -= n
            yield rng.randbytes(n)

    sink = io.BytesIO()
    biggest = 0
    for piece in seal_chunks(TO, CTX, source(), size, segment=segment):
        biggest = max(biggest, len(piece))
        sink.write(piece)
    assert biggest == segment + TAG
    sink.seek(0)
    opened = KEY.open(CTX, sink.read)
    assert max(len(c) for c in opened.chunks()) == segment


def test_key_file_is_private_never_replaced_and_loads(tmp_path: Path) -> None:
    path = tmp_path / "sealing.key"
    key, created = SealingKey.load_or_create(path)
    assert created and stat.S_IMODE(path.stat().st_mode) == 0o600
    again, created = SealingKey.load_or_create(path)
    assert not created and again.public == key.public
    with pytest.raises(KeyFileError):
        SealingKey.generate().save(path)
    os.chmod(path, 0o640)
    with pytest.raises(KeyFileError, match="chmod 600"):
        SealingKey.load(path)
    os.chmod(path, 0o600)
    NodeKey.generate().save(tmp_path / "signing.key")
    with pytest.raises(KeyFileError, match="X25519"):
        SealingKey.load(tmp_path / "signing.key")
    assert "PRIVATE" not in repr(key) and key.key_id in repr(key)


def test_the_public_half_travels_as_a_record_its_owner_signs() -> None:
    central = NodeKey.from_seed(b"c" * 32)
    record = sign_record(central, net="test", origin="C", seq=7, prev="0" * 64, kind=KIND,
                         body=record_body(KEY, "C"))
    found = Recipient.from_record(record)
    assert found == Recipient("C", KEY.public, 7) and found.key_id == KEY.key_id
    assert Recipient.from_wire(record_wire(record), owner_public=central.public, network="test") == found
    # another signer, another network, damaged text: not a key
    assert Recipient.from_wire(record_wire(record), owner_public=NodeKey.from_seed(b"x" * 32).public,
                               network="test") is None
    assert Recipient.from_wire(record_wire(record), owner_public=central.public, network="prod") is None
    assert Recipient.from_wire("garbage.text", owner_public=central.public, network="test") is None
    assert Recipient.from_wire("", owner_public=central.public, network="test") is None
    # a body that does not hold together is skipped, never raised
    for bad in ({"node": "C"}, {**record_body(KEY, "C"), "key": "0" * 16}, {**record_body(KEY, "C"), "node": "T0001"},
                {**record_body(KEY, "C"), "algorithm": "rot13"}, {**record_body(KEY, "C"), "public_key": "zz" * 32}):
        other = sign_record(central, net="test", origin="C", seq=8, prev=record.id, kind=KIND, body=bad)
        assert Recipient.from_record(other) is None
    later = Recipient("C", SealingKey.from_seed(b"n" * 32).public, 9)
    assert newest(found, None, later) == later and newest(None) is None
