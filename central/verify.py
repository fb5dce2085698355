"""Checking one case's records on demand: signature, origin chain and central's Merkle log.

"The machine manages people" only holds if anyone can check the machine. For each record of a
case this re-reads the exact stored bytes and checks, independently of the projections:
- the signature, with the key the node directory says signed for that origin and seq (a revoked
  key's record receipted after its compromise point is `suspect`);
- the chain: the record's `prev` is the id of its origin's previous record, which is held;
- the Merkle log: central's inclusion proof for the record verifies against the current root.
"""

from __future__ import annotations

from dataclasses import dataclass

from sync.canonical import Refusal
from sync.envelope import parse_record, verify
from sync.logstore import LogStore
from sync.merkle import leaf_hash, verify_inclusion


@dataclass(frozen=True)
class Check:
    record_id: str
    origin: str
    seq: int
    kind: str
    time: str
    received_at: str
    signature: str   # valid | suspect | refused: <code>
    chain: bool
    in_log: bool

    @property
    def ok(self) -> bool:
        return self.signature == "valid" and self.chain and self.in_log


def check_records(log: LogStore, record_ids: list[str]) -> list[Check]:
    checks = []
    with log._lock:
        size = log.tree_size()
        root = log.tree_root(size)
        directory = log.directory
        for rid in record_ids:
            row = log.db.conn.execute("SELECT raw, sig, central_pos, received_at FROM records WHERE id = ?",
                                      [rid]).fetchone()
            if row is None:
                continue
            raw, sig, central_pos, received_at = row
            record = parse_record(raw, sig)
            try:
                assert directory is not None
                public, status = directory.check(record, central_pos)
                verify(record, public)
                signature = status
            except Refusal as err:
                signature = f"refused: {err.code}"
            if record.seq == 1:
                chain = record.prev is None
            else:
                prev = log.db.conn.execute("SELECT id FROM records WHERE origin = ? AND seq = ?",
                                           [record.origin, record.seq - 1]).fetchone()
                chain = prev is not None and prev[0] == record.prev
            index = log.leaf_index(rid)
            in_log = index is not None and index < size and verify_inclusion(
                index, size, leaf_hash(bytes.fromhex(rid)), log.inclusion_proof(index, size), root)
            checks.append(Check(rid, record.origin, record.seq, record.kind, record.time, received_at,
                                signature, chain, in_log))
    return checks
