"""Central's append-only Merkle log of accepted records, its proofs, checkpoints and receipts.

Central appends the id of every record it stores (32 raw bytes; receipt order) as one leaf of a
single Merkle tree hashed as in RFC 6962 / RFC 9162 section 2.1 with SHA-256:
    leaf hash = SHA-256(0x00 || data)      node hash = SHA-256(0x01 || left || right)
    the root of n leaves splits at k, the largest power of two < n; the empty tree's root is SHA-256("").
A leaf's index is the record's **position** in central's receipt log; the tree size at any moment
is the receipt log's size (a key's compromise point is such a size, see sync/keys.py).

Pure functions here (no storage): `leaf_hash`, `node_hash`, `root_of` (reference), `Frontier`
(incremental root of an append-only tree), `inclusion_path` / `consistency_path` (RFC 9162
2.1.3.1 / 2.1.4.1, over any `hash_of(start, end)` provider, e.g. `MemoryTree` or the log store),
`verify_inclusion` / `verify_consistency` (RFC 9162 2.1.3.2 / 2.1.4.2, returning bool).

Signed statements (canonical JSON, Ed25519 by central, see sync/PROTOCOL.md):
- `Checkpoint` `{"net", "root", "size", "time"}` under `CHECKPOINT_DOMAIN`;
- `Receipt` under `RECEIPT_DOMAIN`: for one origin, the highest seq and head id central holds,
  central's receipt time, a checkpoint of the tree, the head's inclusion proof in it and a
  consistency proof from the checkpoint the node last verified. The node keeps it verbatim: proof
  of when its cases reached the city, and of the log never having been rewritten since.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sync.canonical import Refusal, decode
from sync.keys import NodeKey, sign_statement, verify_statement

CHECKPOINT_DOMAIN = b"bianmin/checkpoint/v1\x00"
RECEIPT_DOMAIN = b"bianmin/receipt/v1\x00"
EMPTY_ROOT = hashlib.sha256(b"").digest()

HashOf = Callable[[int, int], bytes]


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """k: the largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH of leaf hashes, straight from the RFC's definition (reference for tests)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = split_point(len(leaves))
    return node_hash(root_of(leaves[:k]), root_of(leaves[k:]))


class Frontier:
    """The right edge of an append-only tree: one complete subtree hash per set bit of its size.

    Appending is a binary-counter carry, O(1) amortised; `append` returns every complete subtree
    that became whole as `(level, index, hash)`, for a store to cache.
    """

    __slots__ = ("size", "stack")

    def __init__(self, size: int = 0, stack: list[tuple[int, bytes]] | None = None) -> None:
        self.size = size
        self.stack: list[tuple[int, bytes]] = stack or []   # (level, hash), highest level first

    @classmethod
    def load(cls, size: int, hash_of: HashOf) -> Frontier:
        stack, start = [], 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                stack.append((level, hash_of(start, start + (1 << level))))
                start += 1 << level
        return cls(size, stack)

    def copy(self) -> Frontier:
        return Frontier(self.size, list(self.stack))

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        index, level, current = self.size, 0, leaf
        completed = [(0, index, leaf)]
        while self.stack and self.stack[-1][0] == level:
            current = node_hash(self.stack.pop()[1], current)
            level += 1
            index >>= 1
            completed.append((level, index, current))
        self.stack.append((level, current))
        self.size += 1
        return completed

    def root(self) -> bytes:
        if not self.stack:
            return EMPTY_ROOT
        acc = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            acc = node_hash(left, acc)
        return acc


def subtree_hash(start: int, end: int, complete: Callable[[int, int], bytes]) -> bytes:
    """MTH of leaves [start, end) from `complete(level, index)`, the hash of a whole aligned subtree."""
    n = end - start
    if n & (n - 1) == 0 and start % n == 0:
        return complete(n.bit_length() - 1, start // n)
    k = split_point(n)
    return node_hash(subtree_hash(start, start + k, complete), subtree_hash(start + k, end, complete))


@dataclass
class MemoryTree:
    """A whole tree in memory: vectors, tests, and anyone checking a log by hand."""

    leaves: list[bytes] = field(default_factory=list)   # leaf hashes

    def append(self, data: bytes) -> int:
        self.leaves.append(leaf_hash(data))
        return len(self.leaves) - 1

    def hash_of(self, start: int, end: int) -> bytes:
        return root_of(self.leaves[start:end])

    def root(self, size: int | None = None) -> bytes:
        return root_of(self.leaves[: len(self.leaves) if size is None else size])


def inclusion_path(index: int, size: int, hash_of: HashOf) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 2.1.3.1: sibling hashes, bottom up."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")

    def path(m: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = split_point(n)
        if m < k:
            return [*path(m, start, start + k), hash_of(start + k, end)]
        return [*path(m - k, start + k, end), hash_of(start, start + k)]

    return path(index, 0, size)


def consistency_path(old: int, new: int, hash_of: HashOf) -> list[bytes]:
    """PROOF(old, D[new]) of RFC 9162 2.1.4.1; empty when old is 0 or old == new."""
    if not 0 <= old <= new:
        raise ValueError(f"no consistency proof from {old} to {new}")
    if old in (0, new):
        return []

    def subproof(m: int, start: int, end: int, whole: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if whole else [hash_of(start, end)]
        k = split_point(n)
        if m <= k:
            return [*subproof(m, start, start + k, whole), hash_of(start + k, end)]
        return [*subproof(m - k, start + k, end, False), hash_of(start, start + k)]

    return subproof(old, 0, new, True)


def verify_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2: does `path` prove leaf hash `leaf` at `index` in the tree (`size`, `root`)?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]) -> bool:
    """RFC 9162 2.1.4.2: does `path` prove the tree (`old`, `old_root`) is a prefix of (`new`, `new_root`)?"""
    if not 0 <= old <= new:
        return False
    if old == new:
        return not path and old_root == new_root
    if old == 0:
        return not path   # the empty tree is a prefix of every tree
    if not path:
        return False
    path = list(path)
    if old & (old - 1) == 0:
        path = [old_root, *path]
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


# --- signed statements --------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError) as err:
        raise Refusal("bad_field", "not valid base64") from err


@dataclass(frozen=True)
class Checkpoint:
    """Central's signed statement of the tree's size and root at a time."""

    raw: bytes
    sig: bytes
    net: str
    size: int
    root: str          # hex
    time: str

    def to_wire(self) -> dict[str, str]:
        return {"raw": _b64(self.raw), "sig": _b64(self.sig)}

    def ckpt(self) -> dict[str, Any]:
        """The `ckpt` field a node's next record carries once it has verified this checkpoint."""
        return {"root": self.root, "size": self.size}


def sign_checkpoint(key: NodeKey, *, net: str, size: int, root: bytes, time: str) -> Checkpoint:
    raw, sig = sign_statement(key, CHECKPOINT_DOMAIN, {"net": net, "root": root.hex(), "size": size, "time": time})
    return Checkpoint(raw, sig, net, size, root.hex(), time)


def parse_checkpoint(raw: bytes, sig: bytes, central_public: bytes, *, network: str) -> Checkpoint:
    """A checkpoint whose signature by central verifies, on this network; else a Refusal."""
    obj = decode(raw)
    if not (isinstance(obj, dict) and obj.keys() == {"net", "root", "size", "time"}
            and type(obj["size"]) is int and isinstance(obj["root"], str) and len(obj["root"]) == 64):
        raise Refusal("bad_field", "a checkpoint is {net, root, size, time}")
    if obj["net"] != network:
        raise Refusal("wrong_network", f"checkpoint of network {obj['net']!r}")
    verify_statement(central_public, CHECKPOINT_DOMAIN, raw, sig)
    return Checkpoint(raw, sig, obj["net"], obj["size"], obj["root"], obj["time"])


def checkpoint_from_wire(data: Any, central_public: bytes, *, network: str) -> Checkpoint:
    if not isinstance(data, dict):
        raise Refusal("bad_field", "a wire checkpoint is {raw, sig}")
    return parse_checkpoint(_unb64(data.get("raw")), _unb64(data.get("sig")), central_public, network=network)


RECEIPT_FIELDS = frozenset({"net", "origin", "seq", "head", "time", "checkpoint", "index", "inclusion",
                            "from_size", "consistency"})


@dataclass(frozen=True)
class Receipt:
    """Central's signed receipt for one origin (see the module docstring); stored verbatim by the node."""

    raw: bytes
    sig: bytes
    body: dict[str, Any] = field(compare=False, repr=False)

    @property
    def origin(self) -> str:
        return self.body["origin"]

    @property
    def seq(self) -> int:
        return self.body["seq"]

    @property
    def head(self) -> str:
        return self.body["head"]

    @property
    def checkpoint(self) -> dict[str, Any]:
        """`{"root", "size", "time"}` of the tree the receipt proves the head is in."""
        return self.body["checkpoint"]

    def ckpt(self) -> dict[str, Any]:
        return {"root": self.checkpoint["root"], "size": self.checkpoint["size"]}

    def to_wire(self) -> dict[str, str]:
        return {"raw": _b64(self.raw), "sig": _b64(self.sig)}


def sign_receipt(key: NodeKey, *, net: str, origin: str, seq: int, head: str, time: str, size: int, root: bytes,
                 checkpoint_time: str, index: int, inclusion: Sequence[bytes], from_size: int,
                 consistency: Sequence[bytes]) -> Receipt:
    body = {"net": net, "origin": origin, "seq": seq, "head": head, "time": time,
            "checkpoint": {"root": root.hex(), "size": size, "time": checkpoint_time},
            "index": index, "inclusion": [h.hex() for h in inclusion],
            "from_size": from_size, "consistency": [h.hex() for h in consistency]}
    raw, sig = sign_statement(key, RECEIPT_DOMAIN, body)
    return Receipt(raw, sig, body)


def verify_receipt(raw: bytes, sig: bytes, central_public: bytes, *, network: str,
                   known: dict[str, Any] | None = None) -> Receipt:
    """Check a receipt completely: central's signature, the head's inclusion, and consistency with
    `known` (`{"root", "size"}`, the checkpoint this node verified last, or None). Else a Refusal.
    """
    verify_statement(central_public, RECEIPT_DOMAIN, raw, sig)
    body = decode(raw)
    try:
        if not isinstance(body, dict) or body.keys() != RECEIPT_FIELDS:
            raise ValueError("fields")
        cp = body["checkpoint"]
        size, root = cp["size"], bytes.fromhex(cp["root"])
        head = bytes.fromhex(body["head"])
        inclusion = [bytes.fromhex(h) for h in body["inclusion"]]
        consistency = [bytes.fromhex(h) for h in body["consistency"]]
        index, from_size = body["index"], body["from_size"]
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise Refusal("bad_receipt", f"malformed receipt ({err})") from err
    if body["net"] != network:
        raise Refusal("wrong_network", f"receipt of network {body['net']!r}")
    if not verify_inclusion(index, size, leaf_hash(head), inclusion, root):
        raise Refusal("bad_receipt", "the head's inclusion proof does not verify")
    if known is not None and known["size"] > 0:
        if from_size != known["size"]:
            raise Refusal("bad_receipt", f"consistency proof from {from_size}, this node knows {known['size']}")
        if not verify_consistency(known["size"], size, bytes.fromhex(known["root"]), root, consistency):
            raise Refusal("log_rewritten", "central's log is not consistent with the checkpoint this node holds")
    return Receipt(bytes(raw), bytes(sig), body)


def receipt_from_wire(data: Any, central_public: bytes, *, network: str,
                      known: dict[str, Any] | None = None) -> Receipt:
    if not isinstance(data, dict):
        raise Refusal("bad_field", "a wire receipt is {raw, sig}")
    return verify_receipt(_unb64(data.get("raw")), _unb64(data.get("sig")), central_public, network=network,
                          known=known)
