"""Scans sealed to the one party that may read them, for their trip on a USB stick.

Why: a bundle (sync/bundle.py) on a stick that is lost on the bus must not show anyone an ID-card
scan (PIPL: sensitive personal data). The records in a bundle stay readable, since they are signed, not
secret: a town relays them, an auditor reads them. Each scan in a bundle is sealed to its
RECIPIENT's X25519 key instead, so only the holder of that private key (central, in its data
folder) can open it. The town that relays the bundle cannot, and neither can whoever finds the stick.

The construction (sync/PROTOCOL.md section 15a) is ECIES in the manner of HPKE's base mode
(RFC 9180: DHKEM(X25519) + HKDF-SHA256 + AES-256-GCM), with the payload cut into segments by the
STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizar 2015, as in age and Tink):

    eph        a fresh X25519 key pair for every sealed blob (its private half is never kept)
    shared     X25519(eph private, recipient public); an all-zero result is refused
    context    canonical JSON {"blob": plain SHA-256 hex, "bundle": bundle id, "from": sender,
               "net": network, "to": recipient}
    key        HKDF-SHA256(ikm = shared, salt = eph public || recipient public,
                           info = "bianmin/seal/v1\\0" || context, length = 32)
    header     "BMSEAL1\\n" || recipient key id (8 bytes) || eph public (32 bytes)
               || plain size (u64 big-endian) || segment size S (u32 big-endian)    (60 bytes)
    segment i  AES-256-GCM(key, nonce = i (11 bytes big-endian) || 0x01 if last else 0x00,
                           associated data = header) of plain bytes [i*S, min((i+1)*S, size))
    sealed     header || segment 0 || segment 1 || ...    (ceil(size / S) segments; 1 if size is 0)

Why each part:
- A fresh ephemeral key per blob gives a fresh AES key per blob, so the segment counter is a safe
  nonce: nothing random to store, nothing to repeat.
- The context is in the key's derivation: a sealed blob opens only under its own name, in its own
  bundle, from its own sender, network and recipient. Moved anywhere else it derives another key
  and its first tag fails. The salt binds both public keys, as HPKE's KEM context does.
- The header is every segment's associated data, so the plain size, the segment size and the key
  id cannot be changed; with the last-segment flag (STREAM) a cut or an extension fails too, before
  the caller's own check that the plain bytes hash to their name.
- Segments keep memory at one segment either way, whatever the scan's size (a 20 MB scan does not
  need 20 MB, let alone three times that, to be sealed or opened).

Keys
- `SealingKey`: an X25519 private key in its own PKCS#8 PEM file (central's `sealing.key` beside
  its signing key `bianmin.key`: rights 0600, refused if others may read it, never in a database, a
  backup or git), made on first start (`load_or_create`).
- Its public half travels as a record its owner signs, kind `sealing.key` (`KIND`), body
  `{"node", "public_key": 64 hex, "key": key id, "algorithm": ALGORITHM}`, so a node receives it
  by the path it already trusts (a pull or a reply bundle, checked against central's signing
  key), and with the enrolment answer (the same signed record), so that a node that never had a
  link seals its first bundle. `Recipient.from_record` checks a record, `newest` picks the latest.
- Key id: the first 16 hex digits of SHA-256(public key), the same rule as signing keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sync.canonical import Refusal, encode
from sync.envelope import parse_record, verify
from sync.keys import KeyFileError, key_id, read_private_pem, write_private_file

MAGIC = b"BMSEAL1\n"
SEAL_DOMAIN = b"bianmin/seal/v1\x00"
ALGORITHM = "x25519-hkdf-sha256-aes256gcm-stream/v1"
KIND = "sealing.key"
KEY_FILE = "sealing.key"
SEGMENT = 256 * 1024
MAX_SEGMENT = 1024 * 1024
TAG = 16
_HEADER = struct.Struct(">8s8s32sQI")
HEADER_LEN = _HEADER.size  # 60
_ZERO = bytes(32)


class SealError(Exception):
    """A sealed blob that cannot be opened. `code`: `seal.wrong_recipient` (sealed to another key),
    `seal.bad_header` (not a sealed blob, or an impossible header), `seal.damaged` (a tag fails:
    altered, moved to another name, bundle, sender or recipient, cut short or extended)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Context:
    """What a sealed blob is bound to: opened under any other context, it fails."""

    net: str
    sender: str
    recipient: str
    bundle: str
    blob: str

    def info(self) -> bytes:
        return SEAL_DOMAIN + encode({"blob": self.blob, "bundle": self.bundle, "from": self.sender,
                                     "net": self.net, "to": self.recipient})


@dataclass(frozen=True)
class Recipient:
    """A public sealing key and whose it is, as its owner published it (`seq`: the record's seq in
    the owner's chain, so the newest is known; 0 when unknown)."""

    node: str
    public: bytes
    seq: int = 0

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256(self.public).hexdigest()[:40]
        return " ".join(digest[i:i + 4] for i in range(0, 40, 4))

    @classmethod
    def from_record(cls, record: Any) -> Recipient | None:
        """The key a `sealing.key` record publishes, or None if the record is not one (or is
        malformed: a node must never stall on a bad body, it keeps the key it had)."""
        body = getattr(record, "body", None)
        if getattr(record, "kind", None) != KIND or not isinstance(body, dict):
            return None
        public_hex, node = body.get("public_key"), body.get("node")
        if (not isinstance(public_hex, str) or len(public_hex) != 64 or node != record.origin
                or body.get("algorithm") != ALGORITHM):
            return None
        try:
            public = bytes.fromhex(public_hex)
        except ValueError:
            return None
        if body.get("key") != key_id(public):
            return None
        return cls(node, public, record.seq)

    @classmethod
    def from_wire(cls, wire: str, *, owner_public: bytes, network: str) -> Recipient | None:
        """A `sealing.key` record kept as text (`record_wire`: base64 raw "." base64 signature,
        as in node.toml), checked against its owner's signing key; None if absent or not valid."""
        if not wire or "." not in wire:
            return None
        try:
            raw, sig = (base64.b64decode(part, validate=True) for part in wire.strip().split(".", 1))
            record = parse_record(raw, sig, network=network)
            if record.key != key_id(owner_public):
                return None
            verify(record, owner_public)
        except (binascii.Error, ValueError, Refusal):
            return None
        return cls.from_record(record)


def record_wire(record: Any) -> str:
    """A record as one line of text: base64(raw) "." base64(sig) (node.toml keeps central's
    `sealing.key` record so; `Recipient.from_wire` reads it back)."""
    import base64

    return base64.b64encode(record.raw).decode("ascii") + "." + base64.b64encode(record.sig).decode("ascii")


def record_body(key: SealingKey, node: str) -> dict[str, Any]:
    """The body of the `sealing.key` record that publishes `key` as `node`'s."""
    return {"node": node, "public_key": key.public.hex(), "key": key.key_id, "algorithm": ALGORITHM}


def newest(*found: Recipient | None) -> Recipient | None:
    """The most recently published of several (highest seq of the owner's chain)."""
    known = [r for r in found if r is not None]
    return max(known, key=lambda r: r.seq) if known else None


class SealingKey:
    """An X25519 private key that sealed blobs are opened with (see the module docstring)."""

    __slots__ = ("_private", "key_id", "public")

    def __init__(self, private: X25519PrivateKey) -> None:
        self._private = private
        self.public: bytes = private.public_key().public_bytes(serialization.Encoding.Raw,
                                                               serialization.PublicFormat.Raw)
        self.key_id = key_id(self.public)

    def __repr__(self) -> str:  # never the private key
        return f"SealingKey({self.key_id})"

    @classmethod
    def generate(cls) -> SealingKey:
        return cls(X25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> SealingKey:
        """A key from its 32 private bytes (test vectors, fixtures)."""
        return cls(X25519PrivateKey.from_private_bytes(seed))

    def recipient(self, node: str, seq: int = 0) -> Recipient:
        return Recipient(node, self.public, seq)

    # -- the key file ------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        pem = self._private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption())
        return write_private_file(path, pem, what="a sealing key")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SealingKey:
        private = read_private_pem(path, missing="it is made when the server starts")
        if not isinstance(private, X25519PrivateKey):
            raise KeyFileError(f"{path}: not an X25519 key")
        return cls(private)

    @classmethod
    def load_or_create(cls, path: str | os.PathLike[str]) -> tuple[SealingKey, bool]:
        """The key in `path`, made (0600) if there is none yet; (key, created)."""
        if Path(path).exists():
            return cls.load(path), False
        key = cls.generate()
        key.save(path)
        return key, True

    # -- opening -----------------------------------------------------------------------------------
    def open(self, context: Context, read: Callable[[int], bytes]) -> Opened:
        """Start opening the sealed blob that `read(n)` returns (a file's or zip member's read):
        the header is read and checked here; `Opened.chunks()` yields the plain bytes."""
        head = _read_exactly(read, HEADER_LEN)
        if len(head) < HEADER_LEN:
            raise SealError("seal.bad_header", "not a sealed blob (too short)")
        magic, kid, eph, size, segment = _HEADER.unpack(head)
        if magic != MAGIC:
            raise SealError("seal.bad_header", "not a sealed blob")
        if not 0 < segment <= MAX_SEGMENT:
            raise SealError("seal.bad_header", f"impossible segment size {segment}")
        if kid.hex() != self.key_id:
            raise SealError("seal.wrong_recipient", f"sealed to key {kid.hex()}, not to {self.key_id}")
        try:
            shared = self._private.exchange(X25519PublicKey.from_public_bytes(eph))
        except ValueError:  # a low-order point: no shared secret
            raise SealError("seal.damaged", "the sealed blob's ephemeral key is not usable") from None
        return Opened(_derive(shared, eph, self.public, context), head, size, segment, read)


class Opened:
    """A sealed blob being opened: `size` (plain bytes, from the authenticated header) and
    `chunks()`, the plain segments in order. Every segment is authenticated before it is yielded;
    the header's size is checked when the last one is read, and nothing may follow it."""

    def __init__(self, aead: AESGCM, header: bytes, size: int, segment: int, read: Callable[[int], bytes]) -> None:
        self._aead, self._header, self.size, self.segment, self._read = aead, header, size, segment, read

    def chunks(self) -> Iterator[bytes]:
        count = _segments(self.size, self.segment)
        for index in range(count):
            last = index == count - 1
            plain_len = self.size - index * self.segment if last else self.segment
            sealed = _read_exactly(self._read, plain_len + TAG)
            if len(sealed) < plain_len + TAG:
                raise SealError("seal.damaged", "the sealed blob is cut short")
            try:
                yield self._aead.decrypt(_nonce(index, last), sealed, self._header)
            except InvalidTag:
                raise SealError("seal.damaged", "a segment fails its authentication tag") from None
        if self._read(1):
            raise SealError("seal.damaged", "bytes follow the last segment")

    def read_all(self) -> bytes:
        return b"".join(self.chunks())


# --- sealing ----------------------------------------------------------------------------------------

def seal_chunks(recipient: Recipient, context: Context, chunks: Iterable[bytes], size: int, *,
                segment: int = SEGMENT, ephemeral: X25519PrivateKey | None = None) -> Iterator[bytes]:
    """The sealed blob, piece by piece (the header, then one piece per segment), for plain bytes
    given as `chunks` of any sizes adding up to exactly `size`. Memory: one segment.
    `ephemeral` is for test vectors only; it must never be reused."""
    if not 0 < segment <= MAX_SEGMENT or size < 0:
        raise ValueError("segment size must be 1..1 MiB and the size not negative")
    eph = ephemeral or X25519PrivateKey.generate()
    eph_public = eph.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    shared = eph.exchange(X25519PublicKey.from_public_bytes(recipient.public))
    header = _HEADER.pack(MAGIC, bytes.fromhex(recipient.key_id), eph_public, size, segment)
    aead = _derive(shared, eph_public, recipient.public, context)
    yield header
    count = _segments(size, segment)
    index, done = 0, 0
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        done += len(chunk)
        if done > size:
            raise ValueError(f"more than the {size} bytes announced")
        while len(buffer) >= segment and index < count - 1:
            yield aead.encrypt(_nonce(index, False), bytes(buffer[:segment]), header)
            del buffer[:segment]
            index += 1
    if done != size:
        raise ValueError(f"{done} bytes given, {size} announced")
    yield aead.encrypt(_nonce(index, True), bytes(buffer), header)


def seal(recipient: Recipient, context: Context, plain: bytes, *, segment: int = SEGMENT,
         ephemeral: X25519PrivateKey | None = None) -> bytes:
    """The whole sealed blob for `plain` (small blobs, tests, vectors)."""
    return b"".join(seal_chunks(recipient, context, [plain], len(plain), segment=segment, ephemeral=ephemeral))


def open_sealed(key: SealingKey, context: Context, sealed: bytes) -> bytes:
    """The plain bytes of a whole sealed blob held in memory."""
    return key.open(context, io.BytesIO(sealed).read).read_all()


def recipient_key_id(head: bytes) -> str | None:
    """The key id a sealed blob names in its header (for messages), or None if it is not one."""
    if len(head) < HEADER_LEN or head[:len(MAGIC)] != MAGIC:
        return None
    return head[len(MAGIC):len(MAGIC) + 8].hex()


def sealed_size(size: int, segment: int = SEGMENT) -> int:
    """The length of the sealed blob of `size` plain bytes."""
    return HEADER_LEN + size + TAG * _segments(size, segment)


def _derive(shared: bytes, eph_public: bytes, recipient_public: bytes, context: Context) -> AESGCM:
    if shared == _ZERO:
        raise SealError("seal.damaged", "no shared secret (a low-order key)")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=eph_public + recipient_public,
               info=context.info()).derive(shared)
    return AESGCM(key)


def _nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _segments(size: int, segment: int) -> int:
    return max(1, -(-size // segment))


def _read_exactly(read: Callable[[int], bytes], n: int) -> bytes:
    """Up to n bytes from a stream that may return fewer per call (zip members, sockets)."""
    parts, got = [], 0
    while got < n:
        part = read(n - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)
