"""The record log on real SQLite files: append, ingest decisions, forks, revocation, projections."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.canonical import Refusal
from sync.envelope import RECORD_DOMAIN, Record, parse_record, sign_record
from sync.keys import NodeKey, rotation_proof
from sync.logstore import LogStore, StoreError
from sync.merkle import verify_receipt

NET = "test"
CENTRAL = NodeKey.from_seed(b"C" * 32)
TOWN = NodeKey.from_seed(b"T" * 32)
VILLAGE = NodeKey.from_seed(b"V" * 32)
TIME = "2026-03-02T09:30:00+08:00"


def enrol(central: LogStore, node: str, key: NodeKey, from_seq: int = 1) -> Record:
    tier = {"T": "town", "V": "village", "S": "subcentre"}[node[0]]
    return central.append("node.enrolled", {"node": node, "tier": tier, "name": f"{node} 便民服务中心",
                                            "public_key": key.public.hex(), "key": key.key_id,
                                            "from_seq": from_seq})


@pytest.fixture
def central(tmp_path: Path) -> LogStore:
    store = LogStore.open(tmp_path / "central.sqlite", network=NET, origin="C", signer=CENTRAL)
    enrol(store, "T0001", TOWN)
    enrol(store, "V000001", VILLAGE)
    return store


@pytest.fixture
def town(tmp_path: Path) -> LogStore:
    return LogStore.open(tmp_path / "town.sqlite", network=NET, origin="T0001", signer=TOWN,
                         central_public=CENTRAL.public)


def chain(key: NodeKey, origin: str, n: int, *, start: int = 1, prev: str | None = None, tag: str = "") -> list[Record]:
    out = []
    for seq in range(start, start + n):
        r = sign_record(key, net=NET, origin=origin, seq=seq, prev=prev, kind="case.received",
                        body={"case": f"{origin}-{seq}{tag}"}, time=TIME)
        out.append(r)
        prev = r.id
    return out


def outcomes(result) -> list[str]:
    return [d.outcome if not d.code or d.outcome == "skipped" else f"{d.outcome}:{d.code}" for d in result.decisions]


# --- append -------------------------------------------------------------------------------------

def test_append_chains_and_projects_in_one_transaction(town: LogStore) -> None:
    town.db.conn.execute("CREATE TABLE cases (id TEXT PRIMARY KEY, record TEXT)")
    town.register_projector(lambda db, r: db["cases"].insert({"id": r.body["case"], "record": r.id}))
    a = town.append("case.received", {"case": "A"})
    b = town.append("case.received", {"case": "B"})
    assert (a.seq, a.prev, b.seq, b.prev) == (1, None, 2, a.id)
    assert town.head() == (2, b.id)
    assert [r["id"] for r in town.db["cases"].rows] == ["A", "B"]

    def broken(db, r):
        raise RuntimeError("projector bug")

    town.register_projector(broken)
    with pytest.raises(RuntimeError):
        town.append("case.received", {"case": "C"})
    assert town.head() == (2, b.id) and town.count() == 2      # nothing half-stored
    assert town.db["cases"].count == 2


def test_append_needs_a_signer(tmp_path: Path) -> None:
    store = LogStore.open(tmp_path / "x.sqlite", network=NET, origin="T0002")
    with pytest.raises(StoreError):
        store.append("case.received", {"case": "A"})


def test_file_remembers_network_and_origin(tmp_path: Path) -> None:
    LogStore.open(tmp_path / "n.sqlite", network=NET, origin="T0001").close()
    with pytest.raises(StoreError):
        LogStore.open(tmp_path / "n.sqlite", network="prod", origin="T0001")
    with pytest.raises(StoreError):
        LogStore.open(tmp_path / "n.sqlite", network=NET, origin="T0002")
    mode = sqlite3.connect(tmp_path / "n.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


# --- ingest -------------------------------------------------------------------------------------

def test_accept_then_replay_is_harmless(central: LogStore) -> None:
    records = chain(TOWN, "T0001", 5)
    first = central.ingest(records)
    assert first.ok and outcomes(first) == ["accepted"] * 5
    size = central.tree_size()
    again = central.ingest(records + records[:2])
    assert again.ok and outcomes(again) == ["duplicate"] * 7
    assert central.tree_size() == size and central.count() == 2 + 5
    assert central.head("T0001") == (5, records[-1].id)


def test_reordered_upload_accepted(central: LogStore) -> None:
    records = chain(TOWN, "T0001", 6) + chain(VILLAGE, "V000001", 3)
    shuffled = [records[i] for i in (4, 7, 0, 2, 8, 5, 1, 6, 3)]
    result = central.ingest(shuffled)
    assert result.ok and result.count("accepted") == 9
    assert [r.seq for r in central.records_of("T0001")] == [1, 2, 3, 4, 5, 6]
    assert central.verify_all() == []


def test_broken_chain_stops_the_batch(central: LogStore) -> None:
    good = chain(TOWN, "T0001", 2)
    bad = chain(TOWN, "T0001", 2, start=3, prev="f" * 64)
    result = central.ingest(good + bad)
    assert outcomes(result) == ["accepted", "accepted", "refused:broken_chain", "skipped"]
    assert central.head("T0001") == (2, good[-1].id)
    assert result.decisions[3].code == "stopped"


def test_gap_refused(central: LogStore) -> None:
    records = chain(TOWN, "T0001", 4)
    result = central.ingest([records[0], records[2], records[3]])
    assert outcomes(result) == ["accepted", "refused:gap", "skipped"]
    assert central.ingest(records).ok     # the missing record arrives: the rest follow


def test_bad_signature_stops_and_stores_nothing_after(central: LogStore) -> None:
    records = chain(TOWN, "T0001", 3)
    forged = parse_record(records[1].raw, VILLAGE.sign(RECORD_DOMAIN + records[1].raw))
    result = central.ingest([records[0], forged, records[2]])
    assert outcomes(result) == ["accepted", "refused:bad_signature", "skipped"]
    assert central.head("T0001")[0] == 1


def test_every_tampered_byte_refused_by_ingest(central: LogStore) -> None:
    record = chain(TOWN, "T0001", 1)[0]
    refused = 0
    for i in range(len(record.raw)):
        tampered = bytearray(record.raw)
        tampered[i] ^= 0x04
        try:
            candidate = parse_record(bytes(tampered), record.sig)
        except Refusal:
            refused += 1
            continue
        result = central.ingest([candidate])
        assert not result.ok, f"byte {i}"
        refused += 1
    assert refused == len(record.raw)
    assert central.head("T0001") == (0, None)


def test_fork_keeps_both_records(central: LogStore) -> None:
    records = chain(TOWN, "T0001", 3)
    assert central.ingest(records).ok
    # the town centre restored last week's backup (head seq 1) and wrote new records from seq 2
    other = chain(TOWN, "T0001", 2, start=2, prev=records[0].id, tag="-restored")
    result = central.ingest(other)
    assert outcomes(result) == ["refused:fork", "skipped"]
    forks = central.forks("T0001")
    assert len(forks) == 1
    assert forks[0]["seq"] == 2 and forks[0]["held_id"] == records[1].id
    assert forks[0]["record"] == other[0]
    assert central.get(records[1].id) == records[1]          # never overwritten
    assert central.ingest(other).refused.code == "fork"      # resending is still refused, evidence once
    assert len(central.forks()) == 1


def test_unknown_and_wrong_keys(central: LogStore) -> None:
    stranger = NodeKey.from_seed(b"S" * 32)
    result = central.ingest(chain(stranger, "T0001", 1))
    assert result.refused.code == "unknown_key"
    result = central.ingest(chain(VILLAGE, "T0001", 1))       # an enrolled key, another node's
    assert result.refused.code == "wrong_key"


def test_other_network_refused(central: LogStore, tmp_path: Path) -> None:
    foreign = [sign_record(TOWN, net="prod", origin="T0001", seq=1, prev=None, kind="case.received",
                           body={}, time=TIME)]
    assert central.ingest(foreign).refused.code == "wrong_network"
    assert central.count() == 2


def test_checker_quarantines_but_chain_continues(central: LogStore) -> None:
    central.db.conn.execute("CREATE TABLE seen (id TEXT)")
    central.register_projector(lambda db, r: db.conn.execute("INSERT INTO seen VALUES (?)", (r.id,)))
    records = chain(TOWN, "T0001", 3)

    def checker(r: Record):
        return ("unknown_item", "item 9999 is not in the catalogue") if r.seq == 2 else None

    result = central.ingest(records, checker=checker)
    assert outcomes(result) == ["accepted", "quarantined:unknown_item", "accepted"]
    assert central.head("T0001") == (3, records[2].id)
    [(record, code, detail)] = central.quarantined()
    assert record == records[1] and code == "unknown_item" and "9999" in detail
    seen = {row[0] for row in central.db.conn.execute("SELECT id FROM seen")}
    assert records[1].id not in seen and records[2].id in seen
    central.rebuild_projections(lambda db: db.conn.execute("DELETE FROM seen"))
    everything = {s.record.id for s in central.records_after(0)}   # the directory records too
    assert {row[0] for row in central.db.conn.execute("SELECT id FROM seen")} == everything - {records[1].id}
    central.release(records[1].id)                                  # a person settled it
    assert central.quarantined() == []
    assert {row[0] for row in central.db.conn.execute("SELECT id FROM seen")} == everything
    with pytest.raises(StoreError):
        central.release(records[1].id)


def test_rebuild_projections_replays_in_log_order(town: LogStore) -> None:
    town.db.conn.execute("CREATE TABLE totals (n INTEGER)")
    town.db.conn.execute("INSERT INTO totals VALUES (0)")
    town.register_projector(lambda db, r: db.conn.execute("UPDATE totals SET n = n * 10 + ?", (r.body["d"],)))
    for d in (1, 2, 3):
        town.append("case.note", {"d": d})
    assert town.db.conn.execute("SELECT n FROM totals").fetchone()[0] == 123
    town.db.conn.execute("UPDATE totals SET n = 999")
    assert town.rebuild_projections(lambda db: db.conn.execute("UPDATE totals SET n = 0")) == 3
    assert town.db.conn.execute("SELECT n FROM totals").fetchone()[0] == 123


# --- pulls, directory at nodes, receipts ------------------------------------------------------

def pull(node: LogStore, central: LogStore, after: int = 0):
    rows = central.records_after(after, limit=10_000)
    return node.ingest([s.record for s in rows], positions={s.record.id: s.central_pos for s in rows})


def test_node_learns_the_directory_from_the_same_batch(central: LogStore, town: LogStore) -> None:
    central.ingest(chain(VILLAGE, "V000001", 2))
    result = pull(town, central)
    assert result.ok and result.count("accepted") == 4
    assert town.directory.current("V000001").key_id == VILLAGE.key_id
    reopened = LogStore.open(town.db.conn.execute("PRAGMA database_list").fetchone()[2], network=NET,
                             origin="T0001", central_public=CENTRAL.public)
    assert reopened.directory.current("V000001").key_id == VILLAGE.key_id


def test_records_after_pages_and_filters(central: LogStore) -> None:
    central.ingest(chain(TOWN, "T0001", 5) + chain(VILLAGE, "V000001", 5))
    first = central.records_after(0, limit=4)
    rest = central.records_after(first[-1].pos, limit=100)
    assert len(first) + len(rest) == 12
    assert [s.central_pos for s in first + rest] == list(range(12))
    assert {s.record.origin for s in central.records_after(0, origins=["V000001"])} == {"V000001"}
    assert len(central.records_after(0, kinds=["node."])) == 2
    assert len(central.records_after(0, kinds=["case.received"])) == 10


def test_receipts_and_cursors(central: LogStore, town: LogStore) -> None:
    pull(town, central)
    own = town.append_many([("case.received", {"case": str(i)}) for i in range(3)])
    assert town.count_pending("C") == 3
    assert central.ingest(own).ok
    receipt = central.make_receipt("T0001", from_size=0)
    checked = verify_receipt(receipt.raw, receipt.sig, CENTRAL.public, network=NET, known=town.last_checkpoint())
    town.mark_sent("C", checked.seq, checked)
    assert town.count_pending("C") == 0 and town.cursor("C", "sent") == 3
    assert town.receipts() == [receipt]
    assert town.last_checkpoint() == receipt.ckpt()
    nxt = town.append("case.received", {"case": "next"})
    assert nxt.ckpt == receipt.ckpt()
    assert central.ingest([nxt]).ok
    known = town.last_checkpoint()
    second = central.make_receipt("T0001", from_size=known["size"])
    verify_receipt(second.raw, second.sig, CENTRAL.public, network=NET, known=known)
    town.set_cursor("C", "received", 42)
    assert town.cursor("C", "received") == 42


# --- keys: rotation and revocation ------------------------------------------------------------

def test_key_rotation(central: LogStore) -> None:
    new = NodeKey.from_seed(b"N" * 32)
    old_part = chain(TOWN, "T0001", 3)
    central.append("node.key_rotated", rotation_proof(TOWN, new, net=NET, node="T0001", from_seq=4))
    new_part = chain(new, "T0001", 2, start=4, prev=old_part[-1].id)
    assert central.ingest(old_part + new_part).ok        # old records signed offline still verify
    late_old = chain(TOWN, "T0001", 1, start=6, prev=new_part[-1].id)
    assert central.ingest(late_old).refused.code == "wrong_key"


def test_rotation_needs_both_signatures(central: LogStore) -> None:
    new = NodeKey.from_seed(b"N" * 32)
    body = rotation_proof(TOWN, new, net=NET, node="T0001", from_seq=4)
    body["proof"]["old"] = new.sign(b"anything").hex()
    with pytest.raises(Refusal) as info:
        central.append("node.key_rotated", body)
    assert info.value.code == "bad_signature"
    assert central.head() == (2, central.head()[1])      # the bad directory record was not stored


def test_revocation_with_compromise_point(central: LogStore, town: LogStore) -> None:
    records = chain(VILLAGE, "V000001", 5)
    assert central.ingest(records).ok
    point = central.leaf_index(records[3].id)          # stolen just before seq 4 was receipted
    central.append("node.revoked", {"node": "V000001", "key": VILLAGE.key_id, "compromised_at": point,
                                    "reason": "laptop stolen"})
    assert [r.seq for r in central.suspects()] == [4, 5]
    late = chain(VILLAGE, "V000001", 1, start=6, prev=records[-1].id)
    assert central.ingest(late).refused.code == "revoked_key"
    # a town that pulls everything afterwards: valid before the point, suspect after, both kept
    result = pull(town, central)
    assert result.ok
    assert [r.seq for r in town.suspects()] == [4, 5]
    assert town.head("V000001")[0] == 5
    # a fresh key enrolled for the same village continues its chain
    fresh = NodeKey.from_seed(b"F" * 32)
    enrol(central, "V000001", fresh, from_seq=6)
    assert central.ingest(chain(fresh, "V000001", 1, start=6, prev=records[-1].id)).ok


# --- speed --------------------------------------------------------------------------------------

def test_ingest_is_bounded_by_signature_checks(central: LogStore) -> None:
    n = 3000
    records = chain(TOWN, "T0001", n)
    public = TOWN.public_key()
    started = time.perf_counter()
    for r in records:
        public.verify(r.sig, RECORD_DOMAIN + r.raw)
    verify_only = time.perf_counter() - started
    started = time.perf_counter()
    assert central.ingest(records).ok
    ingest = time.perf_counter() - started
    assert verify_only / ingest > 0.5, f"verify {verify_only:.2f}s, ingest {ingest:.2f}s"


# --- recovery from an old backup ------------------------------------------------------------------

def test_restored_node_recovers_without_losing_anything(central: LogStore, tmp_path: Path) -> None:
    import shutil

    path = tmp_path / "town.sqlite"
    town = LogStore.open(path, network=NET, origin="T0001", signer=TOWN, central_public=CENTRAL.public)
    pull(town, central)
    town.db.conn.execute("CREATE TABLE cases (name TEXT)")
    town.register_projector(lambda db, r: db.conn.execute("INSERT INTO cases VALUES (?)", (r.body["case"],))
                            if r.kind == "case.received" else None)
    before = town.append_many([("case.received", {"case": f"A{i}"}) for i in range(3)])
    town.db.conn.execute("PRAGMA wal_checkpoint(FULL)")
    shutil.copy(path, tmp_path / "backup.sqlite")                     # last week's backup
    after = town.append_many([("case.received", {"case": f"B{i}"}) for i in range(2)])
    assert central.ingest(before + after).ok
    town.close()

    # the disk died; the backup comes back, the key file survived; clerks keep working, then sync
    shutil.copy(tmp_path / "backup.sqlite", path)
    town = LogStore.open(path, network=NET, origin="T0001", signer=TOWN, central_public=CENTRAL.public)
    town.register_projector(lambda db, r: db.conn.execute("INSERT INTO cases VALUES (?)", (r.body["case"],))
                            if r.kind == "case.received" else None)
    mine = town.append("case.received", {"case": "C0"})             # seq 4: central already has a seq 4
    refusal = central.ingest([mine]).refused
    assert refusal.code == "fork" and central.forks("T0001")[0]["record"] == mine
    town.hold_writes("central reported a fork at seq 4")
    with pytest.raises(StoreError, match="held"):
        town.append("case.received", {"case": "C1"})

    mapping = town.recover(central.records_of("T0001", 4), reset=lambda db: db.conn.execute("DELETE FROM cases"))
    assert town.writes_held() is None
    assert list(mapping) == [mine.id]
    ours = town.records_of("T0001")
    assert [r.seq for r in ours] == [1, 2, 3, 4, 5, 6, 7]
    assert [r.body.get("case") for r in ours[:6]] == ["A0", "A1", "A2", "B0", "B1", "C0"]
    assert ours[5].time == mine.time and ours[5].id == mapping[mine.id]
    assert ours[6].kind == "sync.rebased" and ours[6].body["records"] == [[mine.id, ours[5].id]]
    assert town.forks("T0001")[0]["record"] == mine and town.forks()[0]["status"] == "rebased"   # nothing lost
    assert town.forks()[0]["held_id"] == after[0].id               # what took its place
    assert sorted(r[0] for r in town.db.conn.execute("SELECT name FROM cases")) == ["A0", "A1", "A2", "B0", "B1", "C0"]
    assert town.verify_all() == []
    assert town.count_pending("C") == 2                               # only the rebased ones are unsent
    assert central.ingest(ours[5:]).ok                                # the rebased records sync normally
    assert town.recover(central.records_of("T0001", 1)) == {}


def test_recover_refuses_foreign_or_forged_history(central: LogStore, town: LogStore) -> None:
    pull(town, central)
    town.append("case.received", {"case": "A"})
    stranger = NodeKey.from_seed(b"S" * 32)
    with pytest.raises(Refusal) as info:
        town.recover(chain(stranger, "T0001", 1))
    assert info.value.code == "unknown_key"
    with pytest.raises(Refusal) as info:
        town.recover(chain(VILLAGE, "V000001", 1))
    assert info.value.code == "wrong_origin"
    assert town.head()[0] == 1


# --- properties: exactly-once effect whatever the order, and several writers on one file ----------

TOWN_CHAIN = chain(TOWN, "T0001", 12)
VILLAGE_CHAIN = chain(VILLAGE, "V000001", 12)
ALL = TOWN_CHAIN + VILLAGE_CHAIN


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(st.sampled_from(ALL), max_size=10), max_size=8))
def test_any_batches_in_any_order_give_exactly_once(tmp_path_factory, batches) -> None:
    store = LogStore.open(tmp_path_factory.mktemp("p") / "c.sqlite", network=NET, origin="C", signer=CENTRAL)
    enrol(store, "T0001", TOWN)
    enrol(store, "V000001", VILLAGE)
    accepted: list[str] = []
    for batch in batches:
        result = store.ingest(batch)
        accepted += [d.id for d in result.decisions if d.outcome == "accepted"]
        assert {d.outcome for d in result.decisions} <= {"accepted", "duplicate", "refused", "skipped"}
        if result.refused:
            assert result.refused.code == "gap"          # the only possible refusal here
        assert store.verify_all() == []                   # never a broken chain in the store
    assert len(accepted) == len(set(accepted))            # nothing accepted twice
    final = store.ingest(list(reversed(ALL)))
    assert final.ok
    assert store.head("T0001") == (12, TOWN_CHAIN[-1].id) and store.head("V000001") == (12, VILLAGE_CHAIN[-1].id)
    assert store.count() == 2 + 24 and store.tree_size() == 26


def test_two_writers_on_one_file_keep_one_log(tmp_path: Path) -> None:
    """Two connections (as two server threads or processes would) ingest at once: one Merkle log."""
    import threading

    from sync.merkle import MemoryTree

    path = tmp_path / "central.sqlite"
    first = LogStore.open(path, network=NET, origin="C", signer=CENTRAL)
    enrol(first, "T0001", TOWN)
    second = LogStore.open(path, network=NET, origin="C", signer=CENTRAL)
    enrol(second, "V000001", VILLAGE)             # first learns of this village only from the file
    town, village = chain(TOWN, "T0001", 300), chain(VILLAGE, "V000001", 300)
    errors: list[BaseException] = []

    def run(store: LogStore, records: list[Record]) -> None:
        try:
            for start in range(0, len(records), 25):
                assert store.ingest(records[start:start + 25]).ok
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(first, village)), threading.Thread(target=run, args=(second, town))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = first.db.conn.execute("SELECT id, central_pos FROM records ORDER BY central_pos").fetchall()
    assert [p for _, p in rows] == list(range(602))
    mem = MemoryTree()
    for rid, _ in rows:
        mem.append(bytes.fromhex(rid))
    assert first.tree_root() == second.tree_root() == mem.root()
    assert first.verify_all() == []


def test_projectors_see_the_receipt_time(tmp_path: Path) -> None:
    stamps = iter(["2026-03-02T01:00:00.000000+00:00", "2026-03-02T02:00:00.000000+00:00"])
    store = LogStore.open(tmp_path / "c.sqlite", network=NET, origin="C", signer=CENTRAL, clock=lambda: next(stamps))
    seen = []
    store.register_projector(lambda db, r: seen.append(store.received_at(r.id)))
    enrol(store, "T0001", TOWN)
    store.ingest(chain(TOWN, "T0001", 1))
    assert seen == ["2026-03-02T01:00:00.000000+00:00", "2026-03-02T02:00:00.000000+00:00"]


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_first_refusal_wins_when_verifying_in_parallel(central: LogStore, workers: int, monkeypatch) -> None:
    monkeypatch.setattr(LogStore, "verify_workers", workers)
    records = chain(TOWN, "T0001", 200)
    forged = parse_record(records[150].raw, VILLAGE.sign(RECORD_DOMAIN + records[150].raw))
    stranger = chain(NodeKey.from_seed(b"S" * 32), "T0001", 171)[170]
    result = central.ingest([*records[:150], forged, *records[151:170], stranger])
    assert result.refused.index == 150 and result.refused.code == "bad_signature"
    assert result.count("accepted") == 150 and central.head("T0001")[0] == 150
    forged = parse_record(records[190].raw, VILLAGE.sign(RECORD_DOMAIN + records[190].raw))
    result = central.ingest([*records[150:170], stranger, *records[171:190], forged])
    assert result.refused.seq == 171 and result.refused.code == "unknown_key"
    assert central.head("T0001")[0] == 170


def test_mark_sent_refuses_a_receipt_central_did_not_sign(central: LogStore, town: LogStore) -> None:
    from sync import merkle

    pull(town, central)
    own = town.append("case.received", {"case": "A"})
    central.ingest([own])
    good = central.make_receipt("T0001")
    forged = merkle.Receipt(good.raw, VILLAGE.sign(merkle.RECEIPT_DOMAIN + good.raw), good.body)
    with pytest.raises(Refusal) as info:
        town.mark_sent("C", 1, forged)
    assert info.value.code == "bad_signature"
    central.ingest(chain(VILLAGE, "V000001", 1))
    with pytest.raises(Refusal) as info:
        town.mark_sent("C", 1, central.make_receipt("V000001"))
    assert info.value.code == "bad_receipt"
    assert town.count_pending("C") == 1 and town.receipts() == []
    town.mark_sent("C", 1, good)
    assert town.count_pending("C") == 0


def test_verify_all_finds_tampering_in_the_file(central: LogStore, town: LogStore) -> None:
    central.ingest(chain(TOWN, "T0001", 5))
    pull(town, central)
    assert central.verify_all(signatures=True) == [] and town.verify_all(signatures=True) == []
    with central.transaction() as db:           # someone edits the file behind the log's back
        db.conn.execute("UPDATE records SET sig = ? WHERE origin = 'T0001' AND seq = 3", (bytes(64),))
        db.conn.execute("UPDATE merkle_leaves SET hash = ? WHERE pos = 4", (bytes(32),))
    problems = central.verify_all(signatures=True)
    assert any("T0001 seq 3" in p for p in problems)
    assert any("Merkle leaf 4" in p for p in problems)
    assert central.verify_all() != []


def test_verify_all_checks_the_checkpoints_nodes_vouched_for(central: LogStore, town: LogStore) -> None:
    pull(town, central)
    town.append("case.received", {"case": "A"})
    central.ingest(town.records_of("T0001"))
    town.mark_sent("C", 1, central.make_receipt("T0001"))
    vouching = town.append("case.received", {"case": "B"})
    assert vouching.ckpt == {"root": central.tree_root().hex(), "size": central.tree_size()}
    central.ingest([vouching])
    assert central.verify_all() == []
    other = sign_record(TOWN, net=NET, origin="T0001", seq=3, prev=vouching.id, kind="case.received",
                        body={"case": "C"}, ckpt={"root": "0" * 64, "size": 2}, time=TIME)
    central.ingest([other])
    assert central.verify_all() == ["T0001 seq 3 vouches for a checkpoint of size 2 that this log does not have"]


def test_many_rebased_records_are_mapped_in_several_records(central: LogStore, town: LogStore, monkeypatch) -> None:
    import sync.logstore

    monkeypatch.setattr(sync.logstore, "REBASED_PER_RECORD", 2)
    pull(town, central)
    theirs = chain(TOWN, "T0001", 2)                  # central got 2 records this node no longer has
    assert central.ingest(theirs).ok
    mine = town.append_many([("case.received", {"case": f"M{i}"}) for i in range(5)])
    mapping = town.recover(central.records_of("T0001"))
    assert list(mapping) == [r.id for r in mine]
    rebased = [r for r in town.records_of("T0001") if r.kind == "sync.rebased"]
    assert [len(r.body["records"]) for r in rebased] == [2, 2, 1]
    assert [r.seq for r in town.records_of("T0001")] == list(range(1, 2 + 5 + 3 + 1))
