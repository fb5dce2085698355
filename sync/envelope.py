"""The record envelope: its fields, its exact bytes, its id and its Ed25519 signature.

A record travels and is stored as two byte strings, never re-serialised:
- `raw`: the canonical JSON (sync/canonical.py) of the envelope object
  `{"v", "net", "origin", "key", "seq", "prev", "time", "kind", "body", "ckpt"}`;
- `sig`: 64 bytes, Ed25519 over `RECORD_DOMAIN + raw` by the origin's key.
The record's id is the lower-case hex SHA-256 of `raw` (the signature is not part of the id:
Ed25519 signatures are deterministic, and the id must not depend on how a signature is encoded).

Field rules (normative text: sync/PROTOCOL.md, "The envelope"):
- `v` = 1; `net` the network id (a test network's records never enter production);
- `origin` the node id (`C`, `T####`, `V######`, `S##`), `key` the key id of the signing key;
- `seq` 1, 2, 3... per origin; `prev` the id of the origin's record seq-1, null for seq 1;
- `time` the origin's wall clock, ISO 8601 with an offset: information only, never trusted;
- `kind` dotted lower-case (`case.received`); `body` an object;
- `ckpt` the last central checkpoint the origin had verified, `{"root", "size"}`, or null.

API: `sign_record(key, *, net, origin, seq, prev, kind, body, time=None, ckpt=None) -> Record`,
`parse_record(raw, sig, *, network=None) -> Record` (strict: canonical bytes, field rules, network),
`verify(record, public_key)` (raises `Refusal("bad_signature")`), `record_id(raw)`,
`Record.to_wire()` / `from_wire(dict)` for JSON transports, and `sign_statement` /
`verify_statement` for the other signed objects (checkpoints, receipts, enrolment, rotation), each
under its own domain prefix so a signature made for one purpose never verifies for another.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sync.canonical import Refusal, decode, encode
from sync.keys import NodeKey, sign_statement, verify_statement

__all__ = ["RECORD_DOMAIN", "Record", "Refusal", "from_wire", "parse_record", "record_id", "sign_record",
           "sign_statement", "verify", "verify_statement"]

VERSION = 1
RECORD_DOMAIN = b"bianmin/record/v1\x00"
FIELDS = frozenset({"v", "net", "origin", "key", "seq", "prev", "time", "kind", "body", "ckpt"})

NET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{0,62}")
ORIGIN_RE = re.compile(r"C|T[0-9]{4}|V[0-9]{6}|S[0-9]{2}")
KEY_ID_RE = re.compile(r"[0-9a-f]{16}")
HASH_RE = re.compile(r"[0-9a-f]{64}")
KIND_RE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
TIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})")


def record_id(raw: bytes) -> str:
    """A record's identity: the hex SHA-256 of its exact bytes."""
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True, slots=True)
class Record:
    """One signed record: its exact bytes and signature, and the fields parsed from them.

    Two Records are equal when their bytes and signature are; the parsed fields are a convenience
    and never written back (the bytes are the record).
    """

    raw: bytes
    sig: bytes
    id: str = field(compare=False)
    net: str = field(compare=False)
    origin: str = field(compare=False)
    key: str = field(compare=False)
    seq: int = field(compare=False)
    prev: str | None = field(compare=False)
    time: str = field(compare=False)
    kind: str = field(compare=False)
    body: dict[str, Any] = field(compare=False, repr=False)
    ckpt: dict[str, Any] | None = field(compare=False, repr=False)

    def to_wire(self) -> dict[str, str]:
        """The JSON-transport form: `{"raw": base64(raw), "sig": base64(sig)}` (standard base64)."""
        return {"raw": base64.b64encode(self.raw).decode("ascii"),
                "sig": base64.b64encode(self.sig).decode("ascii")}


def from_wire(data: Any, *, network: str | None = None) -> Record:
    """Parse the `to_wire()` form strictly (bad base64 is `bad_field`)."""
    if not isinstance(data, dict) or not isinstance(data.get("raw"), str) or not isinstance(data.get("sig"), str):
        raise Refusal("bad_field", "a wire record is {\"raw\": base64, \"sig\": base64}")
    try:
        raw = base64.b64decode(data["raw"], validate=True)
        sig = base64.b64decode(data["sig"], validate=True)
    except (binascii.Error, ValueError) as err:
        raise Refusal("bad_field", "raw or sig is not valid base64") from err
    return parse_record(raw, sig, network=network)


def _fail(name: str, why: str) -> Refusal:
    return Refusal("bad_field", f"{name}: {why}")


def _check_fields(obj: Any) -> None:
    """Every envelope rule that the bytes alone can decide (chains and keys are the log's business)."""
    if not isinstance(obj, dict):
        raise Refusal("bad_field", "a record is a JSON object")
    if obj.keys() != FIELDS:
        missing, extra = sorted(FIELDS - obj.keys()), sorted(obj.keys() - FIELDS)
        raise Refusal("bad_field", f"fields missing {missing}, unknown {extra}")
    v = obj["v"]
    if type(v) is not int or v != VERSION:
        raise Refusal("bad_version", f"format version {v!r}, this code reads {VERSION}")
    for name, pattern in (("net", NET_RE), ("origin", ORIGIN_RE), ("key", KEY_ID_RE), ("kind", KIND_RE)):
        value = obj[name]
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise _fail(name, f"{value!r} is not of the form {pattern.pattern}")
    seq, prev = obj["seq"], obj["prev"]
    if type(seq) is not int or seq < 1:
        raise _fail("seq", f"{seq!r} is not an integer >= 1")
    if seq == 1 and prev is not None:
        raise _fail("prev", "must be null for seq 1")
    if seq > 1 and not (isinstance(prev, str) and HASH_RE.fullmatch(prev)):
        raise _fail("prev", "must be the previous record's id (64 lower-case hex) for seq > 1")
    time = obj["time"]
    if not isinstance(time, str) or not TIME_RE.fullmatch(time):
        raise _fail("time", f"{time!r} is not ISO 8601 with an offset")
    try:
        datetime.fromisoformat(time)
    except ValueError as err:
        raise _fail("time", f"{time!r} is not a real time") from err
    if not isinstance(obj["body"], dict):
        raise _fail("body", "must be an object")
    ckpt = obj["ckpt"]
    if ckpt is not None and not (
            isinstance(ckpt, dict) and ckpt.keys() == {"root", "size"} and type(ckpt["size"]) is int
            and ckpt["size"] >= 0 and isinstance(ckpt["root"], str) and HASH_RE.fullmatch(ckpt["root"])):
        raise _fail("ckpt", "must be null or {\"root\": 64 hex, \"size\": integer >= 0}")


def parse_record(raw: bytes, sig: bytes, *, network: str | None = None) -> Record:
    """The Record in `raw`, refusing non-canonical bytes, bad fields and (if given) another network.

    Does NOT verify the signature: that needs the directory (`verify`, or `LogStore.ingest`).
    """
    obj = decode(raw)
    _check_fields(obj)
    if not isinstance(sig, bytes | bytearray | memoryview) or len(sig) != 64:
        raise Refusal("bad_signature", "an Ed25519 signature is 64 bytes")
    if network is not None and obj["net"] != network:
        raise Refusal("wrong_network", f"record of network {obj['net']!r}, this is {network!r}")
    return Record(raw=bytes(raw), sig=bytes(sig), id=record_id(raw), net=obj["net"], origin=obj["origin"],
                  key=obj["key"], seq=obj["seq"], prev=obj["prev"], time=obj["time"], kind=obj["kind"],
                  body=obj["body"], ckpt=obj["ckpt"])


def now_iso() -> str:
    """The local wall clock with its offset, to the second: the `time` a new record carries."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def sign_record(key: NodeKey, *, net: str, origin: str, seq: int, prev: str | None, kind: str,
                body: dict[str, Any], time: str | None = None, ckpt: dict[str, Any] | None = None) -> Record:
    """Build, check and sign a record; the result parses back to itself (`parse_record`)."""
    obj = {"v": VERSION, "net": net, "origin": origin, "key": key.key_id, "seq": seq, "prev": prev,
           "time": time or now_iso(), "kind": kind, "body": body, "ckpt": ckpt}
    _check_fields(obj)
    raw = encode(obj)
    return parse_record(raw, key.sign(RECORD_DOMAIN + raw))


def verify(record: Record, public_key: Ed25519PublicKey | bytes) -> None:
    """Check the record's signature; raises `Refusal("bad_signature")` if it does not verify."""
    verify_statement(public_key, RECORD_DOMAIN, record.raw, record.sig)
