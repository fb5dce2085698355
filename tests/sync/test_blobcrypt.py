"""Scans encrypted at rest on a node (sync/blobcrypt.py, BlobStore with a DataKey): the files on disk
are ciphertext, every reader still gets the plain bytes, downloads resume chunk by chunk, another
PC's files are recognised, and plain files from before are encrypted in place."""

from __future__ import annotations

import hashlib
import io
import os
import stat

import pytest
from PIL import Image

from sync import blobcrypt
from sync.blobcrypt import DataKey, default_data_key_path
from sync.blobs import BlobError, BlobStore


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 40), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\nID 320682199001011234\n%%EOF\n"


@pytest.fixture
def key() -> DataKey:
    return DataKey.generate()


@pytest.fixture
def store(tmp_path, key):
    s = BlobStore(tmp_path / "blobs", max_size=1_000_000, chunk_size=1000, cipher=key)
    yield s
    s.close()


def test_files_on_disk_are_not_images_or_pdfs_and_decrypt_back_exactly(store):
    jpeg, pdf, big = _jpeg(), PDF, os.urandom(4321)
    for data in (jpeg, pdf, big):
        name = store.put(data)
        assert name == hashlib.sha256(data).hexdigest()       # the address stays the plain bytes' hash
        raw = store.path(name).read_bytes()
        assert raw.startswith(blobcrypt.MAGIC)
        assert not raw.startswith(b"\xff\xd8") and b"%PDF" not in raw and b"320682199001011234" not in raw
        with pytest.raises(Exception):  # noqa: B017 - Pillow may raise several kinds; none may succeed
            Image.open(io.BytesIO(raw)).load()
        assert store.read(name) == data and store.size(name) == len(data)
        assert store.status(name).size == len(data) and store.readable(name)
        chunks = b"".join(store.iter_chunks(name))
        assert chunks == data and store.read_range(name, 10, 20) == data[10:20]


def test_a_download_resumes_chunk_by_chunk_into_ciphertext(store):
    data = os.urandom(3000)
    name = hashlib.sha256(data).hexdigest()
    assert store.write_chunk(name, 0, 3000, data[:1000]).received == 1000
    assert store.write_chunk(name, 0, 3000, data[:1000]).received == 1000   # a resend is harmless
    with pytest.raises(BlobError) as err:
        store.write_chunk(name, 2000, 3000, data[2000:])
    assert err.value.detail["received"] == 1000
    assert store.write_chunk(name, 500, 3000, data[500:1700]).received == 1700  # only the new tail
    partial = (store.root / "partial" / name).read_bytes()
    assert partial.startswith(blobcrypt.MAGIC) and data[:100] not in partial
    st = store.write_chunk(name, 1700, 3000, data[1700:])
    assert st.complete and store.read(name) == data and store.unsent() == []


def test_a_half_written_segment_after_a_crash_is_sent_again(store):
    data = os.urandom(2500)
    name = hashlib.sha256(data).hexdigest()
    store.write_chunk(name, 0, 2500, data[:1000])
    partial = store.root / "partial" / name
    with partial.open("ab") as f:       # the power went while the next segment was being written
        f.write(b"\x00\x00\x03\xe8" + os.urandom(40))
    assert store.status(name).received == 1000
    store.write_chunk(name, 1000, 2500, data[1000:])
    assert store.read(name) == data


def test_wrong_bytes_under_a_name_are_discarded(store):
    data = os.urandom(2000)
    name = hashlib.sha256(data).hexdigest()
    store.write_chunk(name, 0, 2000, data[:1000])
    with pytest.raises(BlobError) as err:
        store.write_chunk(name, 1000, 2000, os.urandom(1000))
    assert err.value.code == "blob.hash_mismatch" and not store.has(name)


def test_tampered_moved_or_cut_files_do_not_read(store):
    a, b = os.urandom(2500), os.urandom(2500)
    na, nb = store.put(a), store.put(b)
    raw = bytearray(store.path(na).read_bytes())
    raw[40] ^= 1
    store.path(na).write_bytes(bytes(raw))
    with pytest.raises(BlobError) as err:
        store.read(na)
    assert err.value.code == "blob.damaged"
    store.path(na).write_bytes(store.path(nb).read_bytes())   # another scan's file under this name
    with pytest.raises(BlobError):
        store.read(na)
    cut = store.path(nb).read_bytes()
    store.path(nb).write_bytes(cut[: len(cut) - 1000 - 32])      # the last segment lost
    with pytest.raises(BlobError):
        store.read(nb)


def test_another_pcs_files_are_recognised_not_read(tmp_path, store):
    name = store.put(b"scan taken on the old PC")
    other = BlobStore(store.root, cipher=DataKey.generate())
    try:
        assert other.has(name) and not other.readable(name) and other.unreadable() == [name]
        with pytest.raises(BlobError) as err:
            other.read(name)
        assert err.value.code == "blob.wrong_key"
    finally:
        other.close()
    keyless = BlobStore(store.root)   # central's kind of store has no key: it must not pretend to read
    try:
        with pytest.raises(BlobError) as err:
            keyless.read(name)
        assert err.value.code == "blob.no_key"
    finally:
        keyless.close()


def test_plain_files_from_before_are_encrypted_in_place(tmp_path, key):
    plain = BlobStore(tmp_path / "blobs")
    names = [plain.put(_jpeg()), plain.put(PDF)]
    plain.mark_sent(names[0])
    plain.close()
    store = BlobStore(tmp_path / "blobs", cipher=key)
    try:
        assert store.encryption_pending()
        assert store.read(names[1]) == PDF                    # still read while plain
        assert sorted(store.unreadable()) == sorted(names)
        assert store.encrypt_existing() == 2
        assert store.encrypt_existing() == 0 and not store.encryption_pending()
        for name in names:
            assert store.path(name).read_bytes().startswith(blobcrypt.MAGIC)
        assert store.read(names[1]) == PDF and store.unsent() == [names[1]] and store.unreadable() == []
    finally:
        store.close()


def test_drop_deletes_the_file_and_keeps_the_row(store):
    name = store.put(b"archived at the city")
    store.mark_sent(name)
    assert store.drop(name) and not store.has(name) and store.dropped() == [name]
    assert not store.drop(name)
    store.write_chunk(name, 0, len(b"archived at the city"), b"archived at the city")  # fetched again
    assert store.dropped() == [] and store.read(name) == b"archived at the city"


def test_the_key_file_is_private_and_never_replaced(tmp_path):
    path = default_data_key_path(tmp_path / "bianmin.sqlite")
    assert path == tmp_path / "scans.key"
    key, created = DataKey.load_or_create(path)
    assert created and stat.S_IMODE(path.stat().st_mode) == 0o600
    again, created = DataKey.load_or_create(path)
    assert not created and again.key_id == key.key_id
    with pytest.raises(FileExistsError):
        DataKey.generate().save(path)
    path.chmod(0o644)
    with pytest.raises(PermissionError):
        DataKey.load(path)
    path.chmod(0o600)
    path.write_text("something else\n")
    with pytest.raises(ValueError):
        DataKey.load(path)
