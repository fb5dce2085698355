"""Attachments (scans, photos): content-addressed files that move in resumable chunks.

A record never carries a scan; it names it by the SHA-256 of its bytes. The bytes live here, one
file per blob under sharded folders (`objects/ab/cd/<sha256>`) so that no folder grows huge on an
old PC's file system. A blob arrives in chunks (256 KiB by default) appended to a partial file;
the partial file's length IS the resume offset, so a link cut mid-transfer costs at most the chunk
in flight, and a restart of either side loses nothing already written. When the last byte lands
the whole file is hashed: only bytes that hash to the name they were sent under are ever stored.

The small SQLite file beside the objects remembers which blobs exist, their size, and (on a node)
which have reached central, so the client knows what still has to go.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

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
                 chunk_size: int = CHUNK_SIZE) -> None:
        self.root = Path(root)
        self.max_size = max_size
        self.chunk_size = chunk_size
        (self.root / "objects").mkdir(parents=True, exist_ok=True)
        (self.root / "partial").mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.root / "blobs.sqlite"), check_same_thread=False,
                                   isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

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
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError:
            raise BlobError("blob.not_found", "No such blob here.", status=404) from None

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self.path(sha256).open("rb")
        except FileNotFoundError:
            raise BlobError("blob.not_found", "No such blob here.", status=404) from None

    def read(self, sha256: str) -> bytes:
        with self.open(sha256) as f:
            return f.read()

    def read_range(self, sha256: str, start: int, end: int) -> bytes:
        """Bytes start..end-1 (end exclusive), for HTTP Range and chunked downloads."""
        with self.open(sha256) as f:
            f.seek(start)
            return f.read(max(0, end - start))

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
                    f.write(data)
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

    # -- receiving in chunks ----------------------------------------------------------------
    def status(self, sha256: str) -> UploadStatus:
        check_name(sha256)
        if self.has(sha256):
            size = self.size(sha256)
            return UploadStatus(sha256, size, size, True)
        row = self._db.execute("SELECT size FROM blob_uploads WHERE sha256 = ?", (sha256,)).fetchone()
        partial = self._partial(sha256)
        received = partial.stat().st_size if partial.exists() else 0
        return UploadStatus(sha256, row[0] if row else 0, received, False)

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
            partial = self._partial(sha256)
            received = partial.stat().st_size if partial.exists() else 0
            if offset > received:
                raise BlobError("blob.offset_mismatch",
                                f"Resume from byte {received}: bytes before {offset} are missing.",
                                status=409, received=received)
            skip = received - offset
            if skip < len(data):
                with partial.open("ab") as f:
                    f.write(data[skip:])
                    f.flush()
                    os.fsync(f.fileno())
                received += len(data) - skip
            if received < total:
                return UploadStatus(sha256, total, received, False)
            return self._finish(sha256, total)

    def _finish(self, sha256: str, total: int) -> UploadStatus:
        partial = self._partial(sha256)
        digest = hashlib.sha256()
        with partial.open("rb") as f:
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
        return [r[0] for r in self._db.execute(
            "SELECT sha256 FROM blobs WHERE sent_at IS NULL ORDER BY added_at, sha256")]

    def mark_sent(self, sha256: str) -> None:
        self._db.execute("UPDATE blobs SET sent_at = ? WHERE sha256 = ?", (int(time.time()), sha256))
