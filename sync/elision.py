"""Elisions: central's signed statement that a range of an origin's records is withheld from a node.

Every origin's records form one hash chain, and a node's log refuses a record whose predecessor
it does not hold. Routing privacy (a village PC receives only the records routed to it, never
other places' applicants or the city's password hashes) therefore needs a way to cross the
records a node may not see without breaking the chain check. An elision is that crossing:

    {"first": a, "id": H, "last": b, "net": ..., "node": N, "origin": X, "prev": P}

"origin X's records seq a..b exist and are withheld from node N; the record before seq a has id
P (null when a = 1), and seq b has id H". It is canonical JSON (sync/canonical.py) signed by
central under its own domain, `ELISION_DOMAIN`, so no signature made for another purpose (a
record, a receipt) can pass for one. It names the receiving node, so an elision made for one node
cannot be replayed to another, and both ends of the range, so the node checks the chain across
it: the element before it must end with id P, the next record after it must have seq b + 1 and
prev H. Someone between central and the node (plain HTTP, a USB stick) can neither make one nor
stretch one over a record that was routed.

Elisions carry no time and no key id: Ed25519 signatures are deterministic, so the same elision
signed twice is the same bytes (resending is harmless), and a node checks them with central's
key as its directory knows it, like receipts. Normative text: sync/PROTOCOL.md section 12a.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sync.canonical import Refusal, decode, encode
from sync.envelope import HASH_RE, NET_RE, ORIGIN_RE
from sync.keys import NodeKey, verify_statement

ELISION_DOMAIN = b"bianmin/elision/v1\x00"
FIELDS = frozenset({"first", "id", "last", "net", "node", "origin", "prev"})
MAX_SEQ = 2**53 - 1


@dataclass(frozen=True, slots=True)
class Elision:
    """One signed elision: its exact bytes and signature, and the fields parsed from them."""

    raw: bytes
    sig: bytes
    net: str
    node: str
    origin: str
    first: int
    last: int
    prev: str | None
    id: str            # the id of the origin's record `last` (not the elision's own hash: see `digest`)

    @property
    def digest(self) -> str:
        """The elision's own identity, hex SHA-256 of its bytes (decisions and logs name it by this)."""
        return hashlib.sha256(self.raw).hexdigest()

    @property
    def seq(self) -> int:
        """Where it starts in its origin's chain (it sorts and reports like a record of that seq)."""
        return self.first

    @property
    def count(self) -> int:
        return self.last - self.first + 1

    def same_statement(self, other: Elision) -> bool:
        return (self.origin, self.first, self.last, self.prev, self.id) == (
            other.origin, other.first, other.last, other.prev, other.id)


def _fail(name: str, why: str) -> Refusal:
    return Refusal("bad_field", f"elision {name}: {why}")


def _check_fields(obj: Any) -> None:
    if not isinstance(obj, dict):
        raise Refusal("bad_field", "an elision is a JSON object")
    if obj.keys() != FIELDS:
        missing, extra = sorted(FIELDS - obj.keys()), sorted(obj.keys() - FIELDS)
        raise Refusal("bad_field", f"elision fields missing {missing}, unknown {extra}")
    for name, pattern in (("net", NET_RE), ("origin", ORIGIN_RE), ("node", ORIGIN_RE), ("id", HASH_RE)):
        value = obj[name]
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise _fail(name, f"{value!r} is not of the form {pattern.pattern}")
    if obj["node"] == "C":
        raise _fail("node", "central holds every record: nothing is withheld from it")
    first, last, prev = obj["first"], obj["last"], obj["prev"]
    if type(first) is not int or not 1 <= first <= MAX_SEQ:
        raise _fail("first", f"{first!r} is not a seq")
    if type(last) is not int or not first <= last <= MAX_SEQ:
        raise _fail("last", f"{last!r} is not a seq >= first")
    if first == 1 and prev is not None:
        raise _fail("prev", "must be null when the range starts at seq 1")
    if first > 1 and not (isinstance(prev, str) and HASH_RE.fullmatch(prev)):
        raise _fail("prev", "must be the id of the record before the range (64 lower-case hex)")


def parse_elision(raw: bytes, sig: bytes, *, network: str | None = None) -> Elision:
    """The Elision in `raw`, refusing non-canonical bytes, bad fields and (if given) another network.

    Does NOT verify the signature (`verify_elision`, with central's key)."""
    obj = decode(raw)
    _check_fields(obj)
    if not isinstance(sig, bytes | bytearray | memoryview) or len(sig) != 64:
        raise Refusal("bad_signature", "an Ed25519 signature is 64 bytes")
    if network is not None and obj["net"] != network:
        raise Refusal("wrong_network", f"elision of network {obj['net']!r}, this is {network!r}")
    return Elision(raw=bytes(raw), sig=bytes(sig), net=obj["net"], node=obj["node"], origin=obj["origin"],
                   first=obj["first"], last=obj["last"], prev=obj["prev"], id=obj["id"])


def sign_elision(key: NodeKey, *, net: str, node: str, origin: str, first: int, last: int,
                 prev: str | None, id: str) -> Elision:
    """Central's signed elision of `origin` seq first..last for `node` (checked, then signed)."""
    obj = {"first": first, "id": id, "last": last, "net": net, "node": node, "origin": origin, "prev": prev}
    _check_fields(obj)
    raw = encode(obj)
    return parse_elision(raw, key.sign(ELISION_DOMAIN + raw))


def verify_elision(elision: Elision, central: Ed25519PublicKey | bytes) -> None:
    """Raise `Refusal("bad_signature")` unless central's key signed this elision."""
    verify_statement(central, ELISION_DOMAIN, elision.raw, elision.sig)


def check_elision(elision: Elision, *, network: str, node: str, central: Ed25519PublicKey | bytes) -> None:
    """What a node checks of an elision before its log looks at the range: this network, made for
    this node, not of its own origin (recovery brings a node's own history back whole), signed by
    central. Raises Refusal `wrong_network`, `elision_misdirected`, `elision_own`, `bad_signature`."""
    if elision.net != network:
        raise Refusal("wrong_network", f"elision of network {elision.net!r}, this is {network!r}")
    if elision.node != node:
        raise Refusal("elision_misdirected", f"an elision made for {elision.node}, this is {node}")
    if elision.origin == node:
        raise Refusal("elision_own", f"an elision of this node's own records {elision.first}..{elision.last}")
    verify_elision(elision, central)

