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


# --- over HTTP, through the fault proxy ------------------------------------------------------------

def test_20mb_blob_cut_at_a_random_byte_resends_at_most_one_chunk(central, node_factory, proxy):
    import random

    from sync.client import SyncError
    from tests.sync.faultproxy import Fault

    rng = random.Random(20)
    village = node_factory("V000001", url=proxy.url)
    data = rng.randbytes(20 * 1024 * 1024)
    name = village.blobs.put(data)
    chunk = village.blobs.chunk_size
    village.client.check_time()
    village.client.session.close()
    cut = rng.randrange(10_000, len(data))
    proxy.reset_stats()
    proxy.next(Fault(cut_request_after=cut))
    with pytest.raises(SyncError) as err:
        village.client.upload_blob(name)
    assert err.value.code.startswith("net.")
    first_up = proxy.stats.bytes_up
    held = central.blobs.status(name).received
    assert not central.blobs.has(name) and held > 0
    assert first_up - held <= chunk + 600  # only the chunk in flight (plus its headers) was lost
    sent = village.client.upload_blob(name)
    assert sent == len(data) - held  # resumed exactly where central's copy stopped
    assert central.blobs.read(name) == data
    assert village.blobs.unsent() == []
    requests_made = -(-len(data) // chunk) + 4
    assert proxy.stats.bytes_up <= len(data) + chunk + requests_made * 600


def test_blob_download_resumes_with_range(central, node_factory, proxy):
    import random

    from sync.client import SyncError
    from tests.sync.faultproxy import Fault

    data = random.Random(7).randbytes(3 * 256 * 1024 + 1234)
    name = central.blobs.put(data)
    town = node_factory("T0001", url=proxy.url)
    town.client.check_time()
    town.client.session.close()
    proxy.next(Fault(cut_response_after=2 * 256 * 1024))
    with pytest.raises(SyncError):
        town.client.download_blob(name)
    part = town.blobs.status(name).received
    assert 0 < part < len(data)
    town.client.download_blob(name)
    assert town.blobs.read(name) == data


def test_blob_with_wrong_bytes_is_refused_over_http(central, node_factory):
    village = node_factory("V000001")
    village.client.check_time()
    good = b"x" * 1000
    fake_name = hashlib.sha256(b"something else").hexdigest()
    headers = {"Content-Range": "bytes 0-999/1000"}
    resp = village.client._send("PUT", f"/sync/v1/blobs/{fake_name}", good, headers)
    assert resp.status_code == 422 and resp.json()["error"] == "blob.hash_mismatch"
    assert not central.blobs.has(fake_name)
    resp = village.client._send("PUT", f"/sync/v1/blobs/{'a' * 64}", good,
                                {"Content-Range": f"bytes 0-999/{10**12}"})
    assert resp.status_code == 413 and resp.json()["error"] == "blob.too_large"
