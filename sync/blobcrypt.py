"""Scans encrypted at rest on a service point: AES-256-GCM in segments, under a per-node data key.

A village PC sits in an open office, is shared, is carried to repairs and is sometimes stolen. An
ID-card scan is sensitive personal data (PIPL), so on a node every blob file is ciphertext: a copy
of the disk, or of its backup stick, shows nothing without the data key.

The data key
- 32 random bytes in their own file beside the node key (`scans.key` next to `bianmin.sqlite`,
  rights 0600, refused if the group or others may read it), never in the database and never in a
  backup (installer.backup copies named files only). Its **key id** (8 bytes of SHA-256 over a
  domain tag and the key) is written into every file, so a file from another PC is recognised as
  "not readable with this key" instead of looking damaged.
- The key protects the scans, not the identity: it is not the signing key, and rotating it is
  never needed for sync (central keeps its own copies in plain, in the server room).

The file format (`MAGIC` + key id, then segments back to back)
    header   b"BMSCAN1\\n" (8 bytes) + key id (8 bytes)
    segment  u32 big-endian plain length | 12-byte random nonce | ciphertext + 16-byte GCM tag
Each segment's associated data is the header, the blob's name (the SHA-256 of the PLAIN bytes,
which stays the content address everywhere: records, protocol, central) and the segment's index,
so a segment cannot be moved to another position or another file. A file cut short loses whole
segments, which the final SHA-256 check of the plain bytes catches. Segments let a download from
central be appended chunk by chunk and resumed, exactly as plain partial files are: the plain
length of a partial file is the resume offset.

Random 96-bit nonces under one key are safe far beyond a node's volume (NIST SP 800-38D: 2^32
messages); a village node writes a few thousand segments a year.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import stat
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sync.keys import write_private_file

MAGIC = b"BMSCAN1\n"
KEY_ID_LEN = 8
HEADER_LEN = len(MAGIC) + KEY_ID_LEN
NONCE_LEN = 12
TAG_LEN = 16
_LEN = struct.Struct(">I")
SEGMENT_SIZE = 256 * 1024
DATA_KEY_FILE = "scans.key"
_FILE_TAG = "bianmin scan data key v1"


class BlobCryptError(Exception):
    """A file that cannot be decrypted: `code` is `blob.wrong_key` (another PC's key),
    `blob.no_key` (encrypted, but this store has no key) or `blob.damaged`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def default_data_key_path(db_path: str | os.PathLike[str]) -> Path:
    """Where a node's scan data key lives: `scans.key` beside its database and its node key."""
    return Path(db_path).with_name(DATA_KEY_FILE)


class DataKey:
    """The AES-256 key a node's scans are encrypted under."""

    __slots__ = ("_aead", "_secret", "key_id")

    def __init__(self, secret: bytes) -> None:
        if len(secret) != 32:
            raise ValueError("a scan data key is 32 bytes")
        self._secret = secret
        self._aead = AESGCM(secret)
        self.key_id = hashlib.sha256(b"bianmin/scan-key-id/v1\x00" + secret).digest()[:KEY_ID_LEN]

    @classmethod
    def generate(cls) -> DataKey:
        return cls(secrets.token_bytes(32))

    # -- the key file -----------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> DataKey:
        """Read a key file written by `save`; refuse one the group or others could read."""
        path = Path(path)
        mode = path.stat().st_mode  # FileNotFoundError: the caller decides (create, or report)
        if os.name != "nt" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise PermissionError(f"{path}: readable by others (mode {stat.S_IMODE(mode):o}); run chmod 600")
        lines = path.read_text("ascii").split()
        if len(lines) < 2 or " ".join(lines[:-1]) != _FILE_TAG:
            raise ValueError(f"{path}: not a bianmin scan data key file")
        return cls(bytes.fromhex(lines[-1]))

    @classmethod
    def load_or_create(cls, path: str | os.PathLike[str]) -> tuple[DataKey, bool]:
        """The node's key, made on first use; (key, created)."""
        path = Path(path)
        try:
            return cls.load(path), False
        except FileNotFoundError:
            key = cls.generate()
            key.save(path)
            return key, True

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the key file atomically with rights 0600; an existing key is never replaced."""
        return write_key_file(path, self._secret)

    def __repr__(self) -> str:
        return f"DataKey(id={self.key_id.hex()})"

    # -- whole files ------------------------------------------------------------------------------
    def header(self) -> bytes:
        return MAGIC + self.key_id

    def seal(self, name: str, index: int, plain: bytes) -> bytes:
        """One segment: length, nonce, ciphertext and tag."""
        nonce = secrets.token_bytes(NONCE_LEN)
        sealed = self._aead.encrypt(nonce, plain, self._aad(name, index))
        return _LEN.pack(len(plain)) + nonce + sealed

    def encrypt(self, name: str, plain: bytes, *, segment: int = SEGMENT_SIZE) -> bytes:
        """The whole encrypted file for `plain` (named by its SHA-256 `name`)."""
        out = [self.header()]
        for index, start in enumerate(range(0, max(len(plain), 1), segment)):
            out.append(self.seal(name, index, plain[start:start + segment]))
        return b"".join(out)

    def decrypt_file(self, f: BinaryIO, name: str, *, check: bool = True) -> bytes:
        """The plain bytes of an encrypted file; `check` also verifies their SHA-256 is `name`."""
        plain = b"".join(self.iter_decrypt(f, name))
        if check and hashlib.sha256(plain).hexdigest() != name:
            raise BlobCryptError("blob.damaged", "the decrypted bytes do not match the scan's name")
        return plain

    def iter_decrypt(self, f: BinaryIO, name: str) -> Iterator[bytes]:
        """The plain segments of an encrypted file in order, each authenticated before it is given
        (a bundle streams a 20 MB scan without holding it whole); the caller checks the SHA-256."""
        head = f.read(HEADER_LEN)
        if head[:len(MAGIC)] != MAGIC:
            raise BlobCryptError("blob.damaged", "not an encrypted scan file")
        if head[len(MAGIC):] != self.key_id:
            raise BlobCryptError("blob.wrong_key", "this scan was encrypted with another service point's key")
        for index, length in enumerate(iter(lambda: f.read(_LEN.size), b"")):
            if len(length) < _LEN.size:
                raise BlobCryptError("blob.damaged", "the file ends inside a segment header")
            size = _LEN.unpack(length)[0]
            nonce = f.read(NONCE_LEN)
            sealed = f.read(size + TAG_LEN)
            if len(nonce) < NONCE_LEN or len(sealed) < size + TAG_LEN:
                raise BlobCryptError("blob.damaged", "the file is cut short")
            try:
                yield self._aead.decrypt(nonce, sealed, self._aad(name, index))
            except InvalidTag:
                raise BlobCryptError("blob.damaged", "a segment fails its authentication tag") from None

    def _aad(self, name: str, index: int) -> bytes:
        return self.header() + bytes.fromhex(name) + _LEN.pack(index)


def write_key_file(path: str | os.PathLike[str], secret: bytes) -> Path:
    """Write a data key file atomically with rights 0600; never replaces an existing key."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} already exists; a scan key is never silently replaced")
    return write_private_file(path, f"{_FILE_TAG}\n{secret.hex()}\n".encode("ascii"), what="a scan key")


def is_encrypted(head: bytes) -> bool:
    """Does a file starting with `head` use this format?"""
    return head[:len(MAGIC)] == MAGIC


def key_id_of(path: Path) -> bytes | None:
    """The key id written in an encrypted file, or None for a plain (or unreadable) one."""
    try:
        with path.open("rb") as f:
            head = f.read(HEADER_LEN)
    except OSError:
        return None
    return head[len(MAGIC):] if is_encrypted(head) and len(head) == HEADER_LEN else None


def segments(f: BinaryIO) -> Iterator[tuple[int, int]]:
    """(plain length, end offset) of each whole segment of an encrypted file (reads headers only)."""
    end_of_file = f.seek(0, io.SEEK_END)
    at = HEADER_LEN
    while at + _LEN.size <= end_of_file:
        f.seek(at)
        size = _LEN.unpack(f.read(_LEN.size))[0]
        end = at + _LEN.size + NONCE_LEN + size + TAG_LEN
        if end > end_of_file:
            return  # a segment cut short by a crash: not counted, overwritten by the next chunk
        yield size, end
        at = end


def whole_length(path: Path) -> tuple[int, int, int]:
    """(plain bytes, whole segments, byte offset where the whole segments end) of an encrypted file."""
    plain = count = 0
    last = HEADER_LEN
    with path.open("rb") as f:
        for size, end in segments(f):
            plain += size
            count += 1
            last = end
    return plain, count, last
