"""Node keys, key ids and fingerprints, enrolment tokens, key rotation, and the node directory.

Keys
- Every origin signs with one Ed25519 key at a time (`NodeKey`). Its **key id** is the first 16 hex
  digits of SHA-256(raw 32-byte public key); its **fingerprint**, shown to people comparing keys on
  the phone or on paper, is the first 20 bytes of the same hash in 10 groups of 4 hex digits.
- The private key lives in its own file (PKCS#8 PEM), never in a database: `default_key_path(db)`
  is `<db without suffix>.key` next to the database. It is written atomically with rights 0600 and
  refused on load if the group or others may read it. Backups copy databases, never `*.key`: a
  restored node either still has its key file or is re-enrolled with a new key (PROTOCOL.md,
  "Recovery").

Enrolment
- Central issues a random single-use token (`new_token()`, 100 bits, `XXXX-XXXX-XXXX-XXXX-XXXX`)
  and stores only `token_hash(token)` with an expiry (`EnrolmentToken`, `check_token`).
- The node generates its key and proves possession by signing the enrolment challenge
  (`enrolment_request`): canonical `{"net", "node", "public_key", "token_hash"}` under
  `ENROL_DOMAIN`. Central checks it with `verify_enrolment_request` and the stored token.

The directory (central-signed records, origin `C`; bodies in sync/PROTOCOL.md, "The directory")
- `node.enrolled`: a node id, tier, name and public key, valid from seq `from_seq`;
- `node.key_rotated`: a new key for a node from seq `from_seq` on, carrying a proof signed by both
  the old and the new key (`rotation_proof`), so central alone cannot swap a node's key silently;
- `node.revoked`: a key is revoked for good; `compromised_at` is central's receipt-log size from
  which on its records are suspect: records receipted before stay valid, records receipted at or
  after are flagged `suspect`, records not yet receipted are refused (`revoked_key`).
`Directory` folds those records (pure Python, no SQL) and answers `check(record, position)`.
Revoked keys are kept forever: old records must stay verifiable.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import os
import re
import secrets
import stat
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sync.canonical import Refusal, encode

if TYPE_CHECKING:
    from sync.envelope import Record

ENROL_DOMAIN = b"bianmin/enrol/v1\x00"
ROTATE_DOMAIN = b"bianmin/rotate/v1\x00"
DIRECTORY_KINDS = frozenset({"node.enrolled", "node.key_rotated", "node.revoked"})
TIERS = {"C": "central", "T": "town", "V": "village", "S": "subcentre"}
_HEX64 = re.compile(r"[0-9a-f]{64}")


class KeyFileError(Exception):
    """A key file that must not be used (missing, readable by others, or not an Ed25519 key)."""


def key_id(public: bytes) -> str:
    """The short id records carry in `key`: first 16 hex digits of SHA-256(public key)."""
    return hashlib.sha256(public).hexdigest()[:16]


def fingerprint(public: bytes) -> str:
    """What people compare: first 20 bytes of SHA-256(public key) as 10 groups of 4 hex digits."""
    digest = hashlib.sha256(public).hexdigest()[:40]
    return " ".join(digest[i:i + 4] for i in range(0, 40, 4))


def tier_of(node: str) -> str:
    """`central`, `town`, `village` or `subcentre`, from the node id's first letter."""
    try:
        return TIERS[node[0]]
    except (IndexError, KeyError):
        raise Refusal("bad_field", f"{node!r} is not a node id") from None


def default_key_path(db_path: str | os.PathLike[str]) -> Path:
    """Where a database's node key lives: `<db without suffix>.key`, next to it, outside the DB."""
    return Path(db_path).with_suffix(".key")


class NodeKey:
    """An Ed25519 private key with its public bytes, key id and fingerprint."""

    __slots__ = ("_private", "fingerprint", "key_id", "public")

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public: bytes = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = key_id(self.public)
        self.fingerprint = fingerprint(self.public)

    def __repr__(self) -> str:  # never the private key
        return f"NodeKey({self.key_id})"

    @classmethod
    def generate(cls) -> NodeKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> NodeKey:
        """A key from its 32-byte seed (test vectors, fixtures)."""
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def public_key(self) -> Ed25519PublicKey:
        return self._private.public_key()

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the key as PKCS#8 PEM, atomically, rights 0600; refuse to replace a key unless told.

        Replacing a node's key by accident would cost the node its identity, hence `overwrite`.
        """
        pem = self._private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption())
        return write_private_file(path, pem, overwrite=overwrite, what="a node key")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> NodeKey:
        """Read a key file written by `save`; refuse one the group or others could read."""
        private = read_private_pem(path, missing="enrol this node first")
        if not isinstance(private, Ed25519PrivateKey):
            raise KeyFileError(f"{path}: not an Ed25519 key")
        return cls(private)


def write_private_file(path: str | os.PathLike[str], data: bytes, *, overwrite: bool = False,
                       what: str = "a key") -> Path:
    """Write a private key file atomically with rights 0600 (whatever the umask), fsynced with its
    folder; an existing file is never replaced unless `overwrite` (a lost key costs an identity)."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise KeyFileError(f"{path} already exists; {what} is never silently replaced")
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)  # whatever the umask did
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def read_private_pem(path: str | os.PathLike[str], *, missing: str) -> Any:
    """The private key in a PEM file written by `write_private_file`; KeyFileError when it is
    missing (`missing` says what to do), readable by the group or others, or not a PEM key."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyFileError(f"{path}: no key file ({missing})") from None
    if os.name != "nt" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"{path}: readable by others (mode {stat.S_IMODE(mode):o}); run chmod 600")
    try:
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as err:
        raise KeyFileError(f"{path}: not a readable unencrypted PEM key ({err})") from err


_KEY_CACHE: dict[bytes, Ed25519PublicKey] = {}


def public_key(public: bytes) -> Ed25519PublicKey:
    """A (cached) verifier object for 32 raw public-key bytes: building one costs a verify's worth."""
    found = _KEY_CACHE.get(public)
    if found is None:
        if len(_KEY_CACHE) > 10_000:
            _KEY_CACHE.clear()
        found = _KEY_CACHE[public] = Ed25519PublicKey.from_public_bytes(public)
    return found


def sign_statement(key: NodeKey, domain: bytes, obj: Any) -> tuple[bytes, bytes]:
    """Canonical bytes of `obj` and `key`'s signature over `domain + bytes` (domain ends in NUL)."""
    raw = encode(obj)
    return raw, key.sign(domain + raw)


def verify_statement(public: Ed25519PublicKey | bytes, domain: bytes, raw: bytes, sig: bytes) -> None:
    """Raise `Refusal("bad_signature")` unless `sig` is `public`'s signature of `domain + raw`."""
    if isinstance(public, bytes):
        public = public_key(public)
    try:
        public.verify(sig, domain + raw)
    except InvalidSignature as err:
        raise Refusal("bad_signature", "the signature does not verify") from err


# --- enrolment tokens -------------------------------------------------------------------------

def new_token() -> str:
    """A random single-use enrolment token, 100 bits, easy to read out: `ABCD-EFGH-...` (base32)."""
    text = base64.b32encode(secrets.token_bytes(15)).decode("ascii")[:20]
    return "-".join(text[i:i + 4] for i in range(0, 20, 4))


def token_hash(token: str) -> str:
    """What central stores instead of the token: hex SHA-256 of it, upper-cased, dashes and spaces dropped."""
    clean = "".join(ch for ch in token.upper() if ch not in "- ")
    return hashlib.sha256(clean.encode("ascii", "replace")).hexdigest()


@dataclass(frozen=True)
class EnrolmentToken:
    """Central's memory of an issued token: never the token itself."""

    node: str
    tier: str
    name: str
    token_hash: str
    expires_at: datetime
    used_at: datetime | None = None


def check_token(presented: str, stored: EnrolmentToken, now: datetime) -> None:
    """Refuse a token that does not match, has expired or was already used (single use)."""
    if not hmac.compare_digest(token_hash(presented), stored.token_hash):
        raise Refusal("token_unknown", "the enrolment token does not match")
    if stored.used_at is not None:
        raise Refusal("token_used", "the enrolment token was already used")
    if now >= stored.expires_at:
        raise Refusal("token_expired", "the enrolment token has expired")


def enrolment_challenge(*, net: str, node: str, public: bytes, token_hash_hex: str) -> bytes:
    """The canonical bytes a new node signs (after `ENROL_DOMAIN`) to prove it holds its key."""
    return encode({"net": net, "node": node, "public_key": public.hex(), "token_hash": token_hash_hex})


def enrolment_request(key: NodeKey, *, net: str, node: str, token: str) -> dict[str, str]:
    """What a node sends central to enrol: the token, its public key, and its signature binding them."""
    challenge = enrolment_challenge(net=net, node=node, public=key.public, token_hash_hex=token_hash(token))
    return {"net": net, "node": node, "token": token, "public_key": key.public.hex(),
            "key": key.key_id, "sig": key.sign(ENROL_DOMAIN + challenge).hex()}


def verify_enrolment_request(request: Any, *, net: str) -> tuple[str, bytes]:
    """Check an `enrolment_request` dict (not the token's validity: `check_token`): (node, public key)."""
    if not isinstance(request, dict):
        raise Refusal("bad_field", "an enrolment request is an object")
    try:
        node, token, public, sig = (request["node"], request["token"],
                                    bytes.fromhex(request["public_key"]), bytes.fromhex(request["sig"]))
    except (KeyError, TypeError, ValueError) as err:
        raise Refusal("bad_field", "enrolment request fields: node, token, public_key, sig (hex)") from err
    if request.get("net") != net:
        raise Refusal("wrong_network", f"enrolment for network {request.get('net')!r}, this is {net!r}")
    tier_of(node)
    if len(public) != 32 or not isinstance(token, str):
        raise Refusal("bad_field", "public_key must be 32 bytes")
    challenge = enrolment_challenge(net=net, node=node, public=public, token_hash_hex=token_hash(token))
    verify_statement(public, ENROL_DOMAIN, challenge, sig)
    return node, public


# --- rotation ---------------------------------------------------------------------------------

def _rotation_statement(*, net: str, node: str, old_key: str, new_public: bytes, from_seq: int) -> bytes:
    return encode({"net": net, "node": node, "old_key": old_key, "new_key": key_id(new_public),
                   "public_key": new_public.hex(), "from_seq": from_seq})


def rotation_proof(old: NodeKey, new: NodeKey, *, net: str, node: str, from_seq: int) -> dict[str, Any]:
    """The body of a `node.key_rotated` record, proof included: made by the node, signed as a record by central.

    `from_seq` is the first seq the new key signs; the old key stays valid for the seqs before it,
    so records signed offline before the rotation still verify.
    """
    statement = _rotation_statement(net=net, node=node, old_key=old.key_id, new_public=new.public,
                                    from_seq=from_seq)
    return {"node": node, "old_key": old.key_id, "new_key": new.key_id, "public_key": new.public.hex(),
            "from_seq": from_seq, "proof": {"old": old.sign(ROTATE_DOMAIN + statement).hex(),
                                            "new": new.sign(ROTATE_DOMAIN + statement).hex()}}


# --- the directory ----------------------------------------------------------------------------

@dataclass
class KeyEntry:
    """One key ever enrolled: whose it is, which seqs it may sign, and whether it was revoked."""

    key_id: str
    public: bytes
    node: str
    from_seq: int
    to_seq: int | None = None           # last seq it may sign, set when it is rotated out
    revoked: bool = False
    compromised_at: int | None = None   # central receipt-log size from which its records are suspect
    reason: str = ""


@dataclass
class NodeEntry:
    node: str
    tier: str
    name: str
    keys: list[str] = field(default_factory=list)   # key ids, oldest first; the last is current

    @property
    def current_key(self) -> str:
        return self.keys[-1]


class Directory:
    """Who may sign for which origin: a pure fold of central's `node.*` records.

    It starts from the network id and central's public key (the trust anchor every node receives at
    enrolment) and learns the rest only from records central signed, in central's seq order.
    """

    def __init__(self, net: str, central_public: bytes, *, central_name: str = "central") -> None:
        self.net = net
        kid = key_id(central_public)
        self.keys: dict[str, KeyEntry] = {kid: KeyEntry(kid, central_public, "C", 1)}
        self.nodes: dict[str, NodeEntry] = {"C": NodeEntry("C", "central", central_name, [kid])}
        self.applied: set[str] = set()
        self.folded_seq = 0      # central's records up to this seq have been seen (kept by the log store)

    def copy(self) -> Directory:
        return copy.deepcopy(self)

    def adopt(self, other: Directory) -> None:
        """Take over `other`'s state (a working copy that was committed)."""
        self.keys, self.nodes, self.applied = other.keys, other.nodes, other.applied
        self.folded_seq = other.folded_seq

    # -- questions --

    def check(self, record: Record, position: int | None = None) -> tuple[Ed25519PublicKey, str]:
        """The key to verify `record` with, and its status: `valid` or `suspect`; else a Refusal.

        `position` is central's receipt-log position of the record when it is already receipted
        (pulled from central), None for a record not yet receipted (an upload).
        """
        entry = self.keys.get(record.key)
        if entry is None:
            raise Refusal("unknown_key", f"key {record.key} is not enrolled")
        if entry.node != record.origin:
            raise Refusal("wrong_key", f"key {record.key} belongs to {entry.node}, not {record.origin}")
        if record.seq < entry.from_seq or (entry.to_seq is not None and record.seq > entry.to_seq):
            raise Refusal("wrong_key", f"key {record.key} may not sign {record.origin} seq {record.seq}")
        return public_key(entry.public), self._status(entry, position)

    def status(self, key: str, position: int) -> str:
        """`valid`, `suspect` (receipted at or after its key's compromise point) or `unknown`."""
        entry = self.keys.get(key)
        if entry is None:
            return "unknown"
        return self._status(entry, position)

    @staticmethod
    def _status(entry: KeyEntry, position: int | None) -> str:
        if not entry.revoked:
            return "valid"
        if position is None:
            raise Refusal("revoked_key", f"key {entry.key_id} of {entry.node} is revoked")
        assert entry.compromised_at is not None
        return "valid" if position < entry.compromised_at else "suspect"

    def current(self, node: str) -> KeyEntry | None:
        """The key `node` signs new records with now, or None (unknown, or its key is revoked)."""
        found = self.nodes.get(node)
        if found is None:
            return None
        entry = self.keys[found.current_key]
        return None if entry.revoked else entry

    # -- folding --

    def apply(self, record: Record) -> None:
        """Fold one verified central record of a `node.*` kind (others are ignored)."""
        if record.kind not in DIRECTORY_KINDS or record.id in self.applied:
            return
        if record.origin != "C":
            raise Refusal("bad_directory", f"{record.kind} from {record.origin}: only central signs the directory")
        body = record.body
        try:
            {"node.enrolled": self._enrolled, "node.key_rotated": self._rotated,
             "node.revoked": self._revoked}[record.kind](body)
        except Refusal:
            raise
        except (KeyError, TypeError, ValueError) as err:
            raise Refusal("bad_directory", f"{record.kind}: malformed body ({err})") from err
        self.applied.add(record.id)

    def _new_key(self, node: str, public_hex: str, from_seq: int) -> KeyEntry:
        if not _HEX64.fullmatch(public_hex) or type(from_seq) is not int or from_seq < 1:
            raise Refusal("bad_directory", "public_key must be 64 hex, from_seq an integer >= 1")
        public = bytes.fromhex(public_hex)
        kid = key_id(public)
        if kid in self.keys:
            raise Refusal("bad_directory", f"key {kid} is already enrolled")
        entry = self.keys[kid] = KeyEntry(kid, public, node, from_seq)
        return entry

    def _enrolled(self, body: dict[str, Any]) -> None:
        node = body["node"]
        tier = tier_of(node)
        if body["tier"] != tier:
            raise Refusal("bad_directory", f"{node} is a {tier}, not a {body['tier']}")
        existing = self.nodes.get(node)
        if existing is not None and not self.keys[existing.current_key].revoked:
            raise Refusal("bad_directory", f"{node} is enrolled with a live key; rotate or revoke it first")
        entry = self._new_key(node, body["public_key"], body.get("from_seq", 1))
        if body["key"] != entry.key_id:
            raise Refusal("bad_directory", "key is not the key id of public_key")
        if existing is None:
            self.nodes[node] = NodeEntry(node, tier, str(body["name"]), [entry.key_id])
        else:
            existing.keys.append(entry.key_id)
            existing.name = str(body["name"])

    def _rotated(self, body: dict[str, Any]) -> None:
        node, old_kid, from_seq = body["node"], body["old_key"], body["from_seq"]
        found = self.nodes.get(node)
        if found is None or found.current_key != old_kid or self.keys[old_kid].revoked:
            raise Refusal("bad_directory", f"{old_kid} is not {node}'s live key")
        old = self.keys[old_kid]
        if type(from_seq) is not int or from_seq <= old.from_seq:
            raise Refusal("bad_directory", "from_seq must come after the old key's first seq")
        new_public = bytes.fromhex(body["public_key"])
        statement = _rotation_statement(net=self.net, node=node, old_key=old_kid, new_public=new_public,
                                        from_seq=from_seq)
        verify_statement(old.public, ROTATE_DOMAIN, statement, bytes.fromhex(body["proof"]["old"]))
        verify_statement(new_public, ROTATE_DOMAIN, statement, bytes.fromhex(body["proof"]["new"]))
        entry = self._new_key(node, body["public_key"], from_seq)
        if body["new_key"] != entry.key_id:
            raise Refusal("bad_directory", "new_key is not the key id of public_key")
        old.to_seq = from_seq - 1
        found.keys.append(entry.key_id)

    def _revoked(self, body: dict[str, Any]) -> None:
        kid, point = body["key"], body["compromised_at"]
        entry = self.keys.get(kid)
        if entry is None or entry.node != body["node"]:
            raise Refusal("bad_directory", f"{kid} is not a key of {body['node']}")
        if type(point) is not int or point < 0:
            raise Refusal("bad_directory", "compromised_at must be an integer >= 0")
        if entry.revoked:  # revoking again may only move the compromise point earlier
            point = min(point, entry.compromised_at or 0) if entry.compromised_at is not None else point
        entry.revoked, entry.compromised_at, entry.reason = True, point, str(body.get("reason", ""))
