"""The blob store: content-addressed, chunked, resumable, hash-checked, capped (sync/blobs.py)."""

from __future__ import annotations

import hashlib
import os

import pytest

from sync.blobs import BlobError, BlobStore


@pytest.fixture
def store(tmp_path):
    s = BlobStore(tmp_path / "blobs", max_size=1_000_000, chunk_size=1000)
    yield s
    s.close()


def test_put_is_content_addressed_and_sharded(store):
    data = b"scan of an ID card"
    name = store.put(data)
    assert name == hashlib.sha256(data).hexdigest()
    assert store.path(name).parent.name == name[2:4]
    assert store.read(name) == data
    assert store.put(data) == name  # idempotent
    assert store.unsent() == [name]
    store.mark_sent(name)
    assert store.unsent() == []


def test_chunks_in_order_then_hash_checked(store):
    data = os.urandom(3500)
    name = hashlib.sha256(data).hexdigest()
    for off in range(0, len(data), 1000):
        st = store.write_chunk(name, off, len(data), data[off:off + 1000])
    assert st.complete and store.read(name) == data
    # a received blob counts as sent: a node never pushes back what it pulled
    assert store.unsent() == []


def test_resend_of_a_held_chunk_is_harmless_and_a_hole_is_refused(store):
    data = os.urandom(3000)
    name = hashlib.sha256(data).hexdigest()
    store.write_chunk(name, 0, 3000, data[:1000])
    assert store.write_chunk(name, 0, 3000, data[:1000]).received == 1000
    with pytest.raises(BlobError) as err:
        store.write_chunk(name, 2000, 3000, data[2000:])
    assert err.value.code == "blob.offset_mismatch" and err.value.detail["received"] == 1000
    # overlapping chunk: only its new tail is written
    st = store.write_chunk(name, 500, 3000, data[500:1500])
    assert st.received == 1500
    store.write_chunk(name, 1500, 3000, data[1500:])
    assert store.read(name) == data


def test_wrong_bytes_are_discarded_whole(store):
    data = os.urandom(2000)
    name = hashlib.sha256(data).hexdigest()
    store.write_chunk(name, 0, 2000, data[:1000])
    with pytest.raises(BlobError) as err:
        store.write_chunk(name, 1000, 2000, b"x" * 1000)
    assert err.value.code == "blob.hash_mismatch"
    assert not store.has(name) and store.status(name).received == 0


def test_size_cap_and_bad_names(store):
    with pytest.raises(BlobError) as err:
        store.write_chunk("a" * 64, 0, 2_000_000, b"x")
    assert err.value.code == "blob.too_large" and err.value.status == 413
    for bad in ["../etc/passwd", "A" * 64, "a" * 63]:
        with pytest.raises(BlobError) as err:
            store.status(bad)
        assert err.value.code == "blob.bad_name"
    with pytest.raises(BlobError):
        store.put(b"x" * 1_000_001)


def test_size_must_not_change_mid_upload(store):
    store.write_chunk("b" * 64, 0, 5000, b"x" * 10)
    with pytest.raises(BlobError) as err:
        store.write_chunk("b" * 64, 10, 6000, b"x" * 10)
    assert err.value.code == "blob.size_mismatch"
