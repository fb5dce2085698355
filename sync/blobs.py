"""Attachments (scans, photos): content-addressed files that move in resumable chunks.

A record never carries a scan; it names it by the SHA-256 of its bytes. The bytes live here, one
file per blob under sharded folders (`objects/ab/cd/<sha256>`) so that no folder grows huge on an
old PC's file system. A blob arrives in chunks (256 KiB by default) appended to a partial file;
the partial file's length IS the resume offset, so a link cut mid-transfer costs at most the chunk
in flight, and a restart of either side loses nothing already written. When the last byte lands
the whole file is hashed: only bytes that hash to the name they were sent under are ever stored.

The small SQLite file beside the objects remembers which blobs exist, their size, and (on a node)
which have reached central, so the client knows what still has to go, and which were dropped
(deleted here on purpose once archived at the city: the row stays, the file goes).

On a node the store is opened with a `DataKey` (sync/blobcrypt.py): every file, partial or whole,
is then AES-256-GCM ciphertext on disk, while every method here still speaks plain bytes and
plain sizes, and names stay the SHA-256 of the plain bytes. So the client, bundles, the protocol
and central do not change. A plain file left from before (or restored from an old backup) is still
read, and `encrypt_existing()` turns it into ciphertext in place. Central opens its store without a
key: its copies stay plain in the server room.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sync import blobcrypt
from sync.blobcrypt import BlobCryptError, DataKey

CHUNK_SIZE = 256 * 1024
DEFAULT_MAX_SIZE = 64 * 1024 * 1024
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS blobs (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    added_at INTEGER NOT NULL,
    sent_at INTEGER
);
CREATE TABLE IF NOT EXISTS blob_uploads (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    started_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS blob_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class BlobError(Exception):
    """A refused blob operation: stable code, HTTP status, plain English, details for the client."""

    def __init__(self, code: str, message: str, status: int = 400, **detail: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class UploadStatus:
    """How much of a blob a store holds: `received` bytes of `size` (size 0 when unknown)."""

    sha256: str
    size: int
    received: int
    complete: bool

    def to_json(self) -> dict[str, object]:
        return {"sha256": self.sha256, "size": self.size, "received": self.received,
                "complete": self.complete}


def check_name(sha256: str) -> str:
    """A blob name is exactly 64 lower-case hex digits: never a path, never '..'."""
    if not SHA256_RE.match(sha256):
        raise BlobError("blob.bad_name", "A blob name must be 64 lower-case hex digits (its SHA-256).")
    return sha256


class BlobStore:
    """Blobs on disk under `root`, with their index in `root/blobs.sqlite`."""

    def __init__(self, root: Path | str, *, max_size: int = DEFAULT_MAX_SIZE,
                 chunk_size: int = CHUNK_SIZE, cipher: DataKey | None = None) -> None:
        self.root = Path(root)
        self.max_size = max_size
        self.chunk_size = chunk_size
        self.cipher = cipher
        (self.root / "objects").mkdir(parents=True, exist_ok=True)
        (self.root / "partial").mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.root / "blobs.sqlite"), check_same_thread=False,
                                   isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(blobs)")}
        if "dropped_at" not in columns:
            with contextlib.suppress(sqlite3.OperationalError):  # another process added it first
                self._db.execute("ALTER TABLE blobs ADD COLUMN dropped_at INTEGER")

    def close(self) -> None:
        self._db.close()

    # -- where things are -------------------------------------------------------------------
    def path(self, sha256: str) -> Path:
        check_name(sha256)
        return self.root / "objects" / sha256[:2] / sha256[2:4] / sha256

    def _partial(self, sha256: str) -> Path:
        return self.root / "partial" / sha256

    # -- reading ----------------------------------------------------------------------------
    def has(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def size(self, sha256: str) -> int:
        """The blob's length in plain bytes (what travels and what its name hashes)."""
        path = self.path(sha256)
        try:
            if self._encrypted(path):
                return blobcrypt.whole_length(path)[0]
            return path.stat().st_size
        except FileNotFoundError:
            raise BlobError("blob.not_found", "No such blob here.", status=404) from None

    def open(self, sha256: str) -> BinaryIO:
        """The plain bytes for reading (decrypted into memory when the file is ciphertext: scans
        are at most a few megabytes after node.scans reduced them)."""
        path = self.path(sha256)
        try:
            if not self._encrypted(path):
                return path.open("rb")
            if self.cipher is None:
                raise BlobError("blob.no_key", "This scan is encrypted and this store has no key.", status=500)
            with path.open("rb") as f:
                return io.BytesIO(self.cipher.decrypt_file(f, sha256))
        except FileNotFoundError:
            raise BlobError("blob.not_found", "No such blob here.", status=404) from None
        except BlobCryptError as err:
            raise BlobError(err.code, err.message, status=500) from None

    def read(self, sha256: str) -> bytes:
        with self.open(sha256) as f:
            return f.read()

    @staticmethod
    def _encrypted(path: Path) -> bool:
        with path.open("rb") as f:
            return blobcrypt.is_encrypted(f.read(len(blobcrypt.MAGIC)))

    def readable(self, sha256: str) -> bool:
        """Held here and readable with this store's key (False for another PC's ciphertext)."""
        path = self.path(sha256)
        if not path.exists():
            return False
        found = blobcrypt.key_id_of(path)
        return found is None or (self.cipher is not None and found == self.cipher.key_id)

    def read_range(self, sha256: str, start: int, end: int) -> bytes:
        """Bytes start..end-1 (end exclusive), for HTTP Range and chunked downloads."""
        with self.open(sha256) as f:
            f.seek(start)
            return f.read(max(0, end - start))

    def iter_plain(self, sha256: str) -> Iterator[bytes]:
        """The whole blob's plain bytes in pieces of about a chunk, decrypted segment by segment
        (memory: one segment, whatever the scan's size); the SHA-256 is checked at the end and a
        mismatch raises `blob.damaged` (the caller discards what it wrote)."""
        path = self.path(sha256)
        digest = hashlib.sha256()
        try:
            with path.open("rb") as f:
                if blobcrypt.is_encrypted(f.read(len(blobcrypt.MAGIC))):
                    if self.cipher is None:
                        raise BlobError("blob.no_key", "This scan is encrypted and this store has no key.", status=500)
                    f.seek(0)
                    pieces: Iterator[bytes] = self.cipher.iter_decrypt(f, sha256)
                else:
                    f.seek(0)
                    pieces = iter(lambda: f.read(self.chunk_size), b"")
                for piece in pieces:
                    digest.update(piece)
                    yield piece
        except FileNotFoundError:
            raise BlobError("blob.not_found", "No such blob here.", status=404) from None
        except BlobCryptError as err:
            raise BlobError(err.code, err.message, status=500) from None
        if digest.hexdigest() != sha256:
            raise BlobError("blob.damaged", "The file's bytes do not match its name.", status=500)

    def iter_chunks(self, sha256: str, start: int = 0) -> Iterator[bytes]:
        with self.open(sha256) as f:
            f.seek(start)
            while chunk := f.read(self.chunk_size):
                yield chunk

    # -- adding locally ---------------------------------------------------------------------
    def put(self, data: bytes) -> str:
        """Store bytes made here (a scan); return their name. Idempotent."""
        if len(data) > self.max_size:
            raise BlobError("blob.too_large", f"The file is larger than {self.max_size} bytes.", status=413)
        sha256 = hashlib.sha256(data).hexdigest()
        with self._lock:
            if not self.has(sha256):
                tmp = self._partial(sha256 + ".local")
                with tmp.open("wb") as f:
                    f.write(self.cipher.encrypt(sha256, data, segment=self.chunk_size) if self.cipher else data)
                    f.flush()
                    os.fsync(f.fileno())
                self._install(tmp, sha256, len(data))
            else:
                self._index(sha256, len(data))
        return sha256

    def _install(self, tmp: Path, sha256: str, size: int, *, received: bool = False) -> None:
        final = self.path(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        self._index(sha256, size, received=received)

    def _index(self, sha256: str, size: int, *, received: bool = False) -> None:
        """A blob received from elsewhere counts as sent: the other side has it already."""
        now = int(time.time())
        self._db.execute(
            "INSERT OR IGNORE INTO blobs (sha256, size, added_at, sent_at) VALUES (?, ?, ?, ?)",
            (sha256, size, now, now if received else None),
        )
        self._db.execute("UPDATE blobs SET dropped_at = NULL WHERE sha256 = ? AND dropped_at IS NOT NULL",
                         (sha256,))

    # -- receiving in chunks ----------------------------------------------------------------
    def status(self, sha256: str) -> UploadStatus:
        check_name(sha256)
        if self.has(sha256):
            size = self.size(sha256)
            return UploadStatus(sha256, size, size, True)
        row = self._db.execute("SELECT size FROM blob_uploads WHERE sha256 = ?", (sha256,)).fetchone()
        return UploadStatus(sha256, row[0] if row else 0, self._received(sha256), False)

    def _received(self, sha256: str) -> int:
        """Plain bytes held of a partial download (the resume offset)."""
        partial = self._partial(sha256)
        if not partial.exists():
            return 0
        if self.cipher is None:
            return partial.stat().st_size
        return blobcrypt.whole_length(partial)[0]

    def _append_partial(self, sha256: str, data: bytes) -> None:
        partial = self._partial(sha256)
        if self.cipher is None:
            with partial.open("ab") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            return
        if partial.exists():
            _, count, end = blobcrypt.whole_length(partial)
        else:
            partial.write_bytes(self.cipher.header())
            count, end = 0, blobcrypt.HEADER_LEN
        with partial.open("r+b") as f:
            f.truncate(end)  # a segment half-written by a crash goes; its bytes come again
            f.seek(end)
            for index, start in enumerate(range(0, len(data), self.chunk_size), start=count):
                f.write(self.cipher.seal(sha256, index, data[start:start + self.chunk_size]))
            f.flush()
            os.fsync(f.fileno())

    def write_chunk(self, sha256: str, offset: int, total: int, data: bytes) -> UploadStatus:
        """Append one chunk at `offset` of a blob `total` bytes long.

        Resending a chunk already held is harmless (its overlap is skipped); a chunk that would
        leave a hole is refused with the offset to resume from. When the last byte arrives the
        file is hashed, and kept only if it matches its name; otherwise it is discarded whole."""
        check_name(sha256)
        if total > self.max_size:
            raise BlobError("blob.too_large", f"The file is larger than the limit of {self.max_size} bytes.",
                            status=413, max_size=self.max_size)
        if offset < 0 or total < 0 or offset + len(data) > total:
            raise BlobError("blob.bad_range", "The chunk does not fit inside the declared size.")
        with self._lock:
            if self.has(sha256):
                return self.status(sha256)
            row = self._db.execute("SELECT size FROM blob_uploads WHERE sha256 = ?", (sha256,)).fetchone()
            if row is None:
                self._db.execute(
                    "INSERT INTO blob_uploads (sha256, size, started_at) VALUES (?, ?, ?)",
                    (sha256, total, int(time.time())),
                )
            elif row[0] != total:
                raise BlobError("blob.size_mismatch",
                                f"This upload was started with a size of {row[0]} bytes, not {total}.",
                                status=409, size=row[0])
            received = self._received(sha256)
            if offset > received:
                raise BlobError("blob.offset_mismatch",
                                f"Resume from byte {received}: bytes before {offset} are missing.",
                                status=409, received=received)
            skip = received - offset
            if skip < len(data):
                self._append_partial(sha256, data[skip:])
                received += len(data) - skip
            if received < total:
                return UploadStatus(sha256, total, received, False)
            return self._finish(sha256, total)

    def _finish(self, sha256: str, total: int) -> UploadStatus:
        partial = self._partial(sha256)
        digest = hashlib.sha256()
        with partial.open("rb") as f:
            if self.cipher is not None:
                # a segment that fails its tag counts as a mismatch below: discarded whole, sent again
                with contextlib.suppress(BlobCryptError):
                    digest.update(self.cipher.decrypt_file(f, sha256, check=False))
            else:
                while chunk := f.read(1024 * 1024):
                    digest.update(chunk)
        self._db.execute("DELETE FROM blob_uploads WHERE sha256 = ?", (sha256,))
        if digest.hexdigest() != sha256:
            partial.unlink(missing_ok=True)
            raise BlobError("blob.hash_mismatch",
                            "The file's bytes do not match its SHA-256 name; it was discarded. Send it again.",
                            status=422)
        self._install(partial, sha256, total, received=True)
        return UploadStatus(sha256, total, total, True)

    # -- what a node still has to send --------------------------------------------------------
    def unsent(self) -> list[str]:
        """Blobs made here that central does not have yet, and that can be sent: a file that is gone,
        or ciphertext under another PC's key (a backup restored onto a new PC), is left out until it
        can be read again (doctor names such files), so that one of them never stops every sync."""
        names = [r[0] for r in self._db.execute(
            "SELECT sha256 FROM blobs WHERE sent_at IS NULL ORDER BY added_at, sha256")]
        return [name for name in names if self.readable(name)]

    def mark_sent(self, sha256: str) -> None:
        self._db.execute("UPDATE blobs SET sent_at = ? WHERE sha256 = ?", (int(time.time()), sha256))

    def is_sent(self, sha256: str) -> bool:
        row = self._db.execute("SELECT sent_at FROM blobs WHERE sha256 = ?", (sha256,)).fetchone()
        return bool(row and row[0] is not None)

    # -- dropping on purpose (archived elsewhere, or past its retention) ------------------------
    def drop(self, sha256: str) -> bool:
        """Delete the blob's file and note when; its row stays (what was held, and when it went).
        True if a file was deleted."""
        path = self.path(sha256)
        with self._lock:
            existed = path.exists()
            path.unlink(missing_ok=True)
            self._partial(sha256).unlink(missing_ok=True)
            self._db.execute("UPDATE blobs SET dropped_at = ? WHERE sha256 = ?", (int(time.time()), sha256))
        return existed

    def dropped(self) -> list[str]:
        """Names of blobs dropped on purpose (the file is gone; a backup's pool may let them go)."""
        return [r[0] for r in self._db.execute(
            "SELECT sha256 FROM blobs WHERE dropped_at IS NOT NULL ORDER BY sha256")]

    def names(self) -> list[str]:
        """Every blob file held here."""
        found = []
        for path in (self.root / "objects").glob("??/??/*"):
            if SHA256_RE.match(path.name):
                found.append(path.name)
        return sorted(found)

    # -- encryption at rest -----------------------------------------------------------------------
    def unreadable(self) -> list[str]:
        """Files encrypted under another key (a backup restored onto a new PC) or left plain."""
        if self.cipher is None:
            return []
        return [name for name in self.names() if blobcrypt.key_id_of(self.path(name)) != self.cipher.key_id]

    def encrypt_existing(self) -> int:
        """Encrypt in place every plain file left from before encryption at rest (or put back by
        restoring an old backup); returns how many. Each file is replaced atomically, so a crash
        leaves every file either plain or encrypted, and the next run finishes the job."""
        if self.cipher is None:
            return 0
        done = 0
        for name in self.names():
            path = self.path(name)
            with self._lock:
                if blobcrypt.key_id_of(path) is not None:
                    continue
                data = path.read_bytes()
                if hashlib.sha256(data).hexdigest() != name:
                    continue  # damaged: left as it is for a person to see; it is refetched if needed
                tmp = self._partial(name + ".encrypting")
                with tmp.open("wb") as f:
                    f.write(self.cipher.encrypt(name, data, segment=self.chunk_size))
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, path)
                done += 1
        self._db.execute("INSERT INTO blob_meta (name, value) VALUES ('encrypted_at_rest', ?)"
                         " ON CONFLICT (name) DO UPDATE SET value = excluded.value", (str(int(time.time())),))
        return done

    def encryption_pending(self) -> bool:
        """True until `encrypt_existing` has run once on this index (a cheap check at start-up)."""
        row = self._db.execute("SELECT value FROM blob_meta WHERE name = 'encrypted_at_rest'").fetchone()
        return self.cipher is not None and row is None
