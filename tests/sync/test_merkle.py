"""The Merkle log: RFC 6962 hashing, proofs that verify and altered ones that do not, and the store's tree."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync import merkle
from sync.canonical import Refusal
from sync.envelope import sign_record
from sync.keys import NodeKey
from sync.logstore import LogStore
from sync.merkle import (
    Frontier,
    MemoryTree,
    consistency_path,
    inclusion_path,
    leaf_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)

CENTRAL = NodeKey.from_seed(b"C" * 32)

# The certificate-transparency project's reference leaves and roots (RFC 6962 test data).
CT_LEAVES = [bytes.fromhex(h) for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                        "606162636465666768696a6b6c6d6e6f"]]
CT_ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}


def tree(n: int) -> MemoryTree:
    t = MemoryTree()
    for i in range(n):
        t.append(i.to_bytes(4, "big"))
    return t


def test_reference_roots() -> None:
    t = MemoryTree()
    for data in CT_LEAVES:
        t.append(data)
    for size, root in CT_ROOTS.items():
        assert t.root(size).hex() == root
    assert root_of([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 300))
def test_frontier_matches_the_definition(n: int) -> None:
    t, frontier, completed = tree(n), Frontier(), {}
    for leaf in t.leaves:
        for level, index, h in frontier.append(leaf):
            completed[(level, index)] = h
    assert frontier.root() == t.root()
    for (level, index), h in completed.items():
        assert h == t.hash_of(index << level, (index + 1) << level)
    assert Frontier.load(n, t.hash_of).root() == t.root()


def altered(proof: list[bytes], i: int) -> list[bytes]:
    out = list(proof)
    out[i] = bytes([out[i][0] ^ 1]) + out[i][1:]
    return out


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_inclusion_proofs_verify_and_alterations_fail(data) -> None:
    size = data.draw(st.integers(1, 200))
    index = data.draw(st.integers(0, size - 1))
    t = tree(size)
    root, leaf = t.root(), t.leaves[index]
    proof = inclusion_path(index, size, t.hash_of)
    assert verify_inclusion(index, size, leaf, proof, root)
    assert not verify_inclusion(index, size, leaf_hash(b"other"), proof, root)
    assert not verify_inclusion(index, size, leaf, proof, leaf_hash(b"root"))
    if proof:
        assert not verify_inclusion(index, size, leaf, altered(proof, data.draw(st.integers(0, len(proof) - 1))), root)
        assert not verify_inclusion(index, size, leaf, proof[:-1], root)
    assert not verify_inclusion(index, size, leaf, [*proof, leaf], root)
    if size > 1:
        assert not verify_inclusion((index + 1) % size, size, leaf, proof, root)
    assert not verify_inclusion(size, size, leaf, proof, root)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_consistency_proofs_verify_and_alterations_fail(data) -> None:
    new = data.draw(st.integers(1, 200))
    old = data.draw(st.integers(1, new))
    t = tree(new)
    old_root, new_root = t.root(old), t.root()
    proof = consistency_path(old, new, t.hash_of)
    assert verify_consistency(old, new, old_root, new_root, proof)
    assert verify_consistency(0, new, merkle.EMPTY_ROOT, new_root, [])
    assert not verify_consistency(old, new, leaf_hash(b"x"), new_root, proof)
    assert not verify_consistency(old, new, old_root, leaf_hash(b"x"), proof)
    if proof:
        assert not verify_consistency(old, new, old_root, new_root, altered(proof, data.draw(st.integers(0, len(proof) - 1))))
        assert not verify_consistency(old, new, old_root, new_root, proof[:-1])
    if old < new:
        assert not verify_consistency(old, new, old_root, new_root, [])
        assert not verify_consistency(old + 1, new, t.root(old + 1), new_root, proof) or old + 1 == new
    # a rewritten history: same size, one leaf changed
    if old < new:
        forged = MemoryTree(list(t.leaves))
        forged.leaves[0] = leaf_hash(b"rewritten")
        assert not verify_consistency(old, new, old_root, forged.root(), consistency_path(old, new, forged.hash_of))


def chain(n: int, node: NodeKey, origin: str = "T0001"):
    prev, out = None, []
    for seq in range(1, n + 1):
        r = sign_record(node, net="test", origin=origin, seq=seq, prev=prev, kind="case.note", body={"n": seq},
                        time="2026-03-02T09:30:00+08:00")
        out.append(r)
        prev = r.id
    return out


def test_store_tree_matches_memory_tree(tmp_path: Path) -> None:
    town = NodeKey.from_seed(b"T" * 32)
    store = LogStore.open(tmp_path / "c.sqlite", network="test", origin="C", signer=CENTRAL)
    store.append("node.enrolled", {"node": "T0001", "tier": "town", "name": "t", "public_key": town.public.hex(),
                                   "key": town.key_id, "from_seq": 1})
    records = chain(150, town)
    for start in range(0, 150, 37):              # several batches: the frontier carries across them
        assert store.ingest(records[start:start + 37]).ok
    ids = [s.record.id for s in store.records_after(0, limit=1000)]
    mem = MemoryTree()
    for rid in ids:
        mem.append(bytes.fromhex(rid))
    assert store.tree_size() == 151 and store.tree_root() == mem.root()
    for size in (1, 16, 17, 64, 100, 151):
        assert store.tree_root(size) == mem.root(size)
        for index in (0, size // 2, size - 1):
            assert store.inclusion_proof(index, size) == inclusion_path(index, size, mem.hash_of)
        for old in (1, 15, 16, size):
            if old <= size:
                assert store.consistency_proof(old, size) == consistency_path(old, size, mem.hash_of)
    reopened = LogStore.open(tmp_path / "c.sqlite", network="test", origin="C", signer=CENTRAL)
    assert reopened.tree_root() == mem.root()
    assert reopened.leaf_index(ids[40]) == 40
    cp = reopened.checkpoint()
    assert merkle.parse_checkpoint(cp.raw, cp.sig, CENTRAL.public, network="test").root == mem.root().hex()
    assert merkle.checkpoint_from_wire(cp.to_wire(), CENTRAL.public, network="test") == cp
    with pytest.raises(Refusal):
        merkle.parse_checkpoint(cp.raw, cp.sig, town.public, network="test")
    with pytest.raises(Refusal):
        merkle.parse_checkpoint(cp.raw, cp.sig, CENTRAL.public, network="prod")


def test_receipt_verification(tmp_path: Path) -> None:
    town = NodeKey.from_seed(b"T" * 32)
    store = LogStore.open(tmp_path / "c.sqlite", network="test", origin="C", signer=CENTRAL)
    store.append("node.enrolled", {"node": "T0001", "tier": "town", "name": "t", "public_key": town.public.hex(),
                                   "key": town.key_id, "from_seq": 1})
    records = chain(30, town)
    store.ingest(records[:10])
    first = store.make_receipt("T0001")
    known = merkle.verify_receipt(first.raw, first.sig, CENTRAL.public, network="test").ckpt()
    store.ingest(records[10:])
    second = store.make_receipt("T0001", from_size=known["size"])
    got = merkle.receipt_from_wire(second.to_wire(), CENTRAL.public, network="test", known=known)
    assert got.seq == 30 and got.head == records[-1].id
    # a node holding a checkpoint of another history: central's log was rewritten
    with pytest.raises(Refusal) as info:
        merkle.verify_receipt(second.raw, second.sig, CENTRAL.public, network="test",
                              known={"size": known["size"], "root": "0" * 64})
    assert info.value.code == "log_rewritten"
    with pytest.raises(Refusal) as info:
        merkle.verify_receipt(second.raw, second.sig, CENTRAL.public, network="test",
                              known={"size": known["size"] + 1, "root": known["root"]})
    assert info.value.code == "bad_receipt"
    with pytest.raises(Refusal) as info:
        merkle.verify_receipt(second.raw, first.sig, CENTRAL.public, network="test")
    assert info.value.code == "bad_signature"


@pytest.mark.slow
def test_a_million_leaves(tmp_path: Path) -> None:
    """Central's log at a million records: opening, roots and proofs stay in milliseconds.

    The leaves are written straight into the tables (signing a million records would take minutes
    and test nothing more here); everything read back goes through the store.
    """
    import hashlib
    import time

    from sync.logstore import CACHE_LEVEL

    n = 1_000_000
    store = LogStore.open(tmp_path / "c.sqlite", network="test", origin="C", signer=CENTRAL)
    frontier, leaves, nodes = Frontier(), [], []
    for i in range(n):
        leaf = leaf_hash(hashlib.sha256(i.to_bytes(8, "big")).digest())
        leaves.append((i, leaf))
        nodes.extend(x for x in frontier.append(leaf) if x[0] >= CACHE_LEVEL)
    with store.transaction() as db:
        db.conn.executemany("INSERT INTO merkle_leaves VALUES (?, ?)", leaves)
        db.conn.executemany("INSERT INTO merkle_nodes VALUES (?, ?, ?)", nodes)
    started = time.perf_counter()
    reopened = LogStore.open(tmp_path / "c.sqlite", network="test", origin="C", signer=CENTRAL)
    root = reopened.tree_root()
    assert root == frontier.root()
    old_size, old_root = 654_321, reopened.tree_root(654_321)
    for index in (0, 1, 123_456, n - 1):
        proof = reopened.inclusion_proof(index)
        assert verify_inclusion(index, n, leaves[index][1], proof, root)
    proof = reopened.consistency_proof(old_size)
    assert verify_consistency(old_size, n, old_root, root, proof)
    assert time.perf_counter() - started < 2.0
