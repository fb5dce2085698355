"""store.projections: everything registered at once, rebuilt identically; counters never repeat.

Real LogStores on real files; records signed with generated keys (helpers from
test_store_cases.py, the sibling module).
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from pathlib import Path

import pytest
from sqlite_utils import Database
from test_store_cases import CENTRAL, KEYS, NET, TOWN, VILLAGE, VILLAGE_ITEM, Network, open_central, person

from casework.calendar import WorkCalendar
from casework.catalogue import load
from casework.messages import RuleError
from store import cases, config_records, counters, projections
from sync.logstore import LogStore

TABLES = ("catalogue_versions", "calendar_years", "directory_nodes", "number_counters", "cases", "case_events",
          "case_tallies", "staff", "projection_problems", "case_settings")
DAY = dt.date(2026, 3, 2)


def dump(db: Database) -> dict[str, list[tuple[str, ...]]]:
    """Every projection table, every row and column as repr (types included), in storage order."""
    out = {}
    for table in TABLES:
        sql = db.execute("SELECT sql FROM sqlite_master WHERE name = ?", [table]).fetchone()[0]
        order = "1, 2, 3" if "WITHOUT ROWID" in sql.upper() else "rowid"
        rowid = "" if "WITHOUT ROWID" in sql.upper() else "rowid, "
        out[table] = [tuple(repr(v) for v in row) for row in db.execute(f"SELECT {rowid}* FROM {table} ORDER BY {order}")]
    return out


def busy_history(net: Network) -> None:
    """A log with every kind the projections read: config, directory, cases, conflicts, problems."""
    log = net.log
    log.append(config_records.CATALOGUE_PUBLISHED, config_records.catalogue_body(load(), 1))
    log.append(config_records.STAFF_ACCOUNT, config_records.staff_account_body(
        username="zhangsan", display_name="张三", password_hash="scrypt:1$a$b", roles=["window_clerk"],
        places=["window:W12"], version=1))
    a = net.receive("C", window="W12")
    net.act("C", a, "accepted", window="W12")
    b = net.receive(VILLAGE, proxy={"name": "代办员", "authorisation": "委托书"})
    net.act(VILLAGE, b, "forwarded", to="window:W12")
    net.act("C", b, "handover_accepted", window="W12")
    c = net.receive(TOWN, item=VILLAGE_ITEM, applicant=person("李四", "320682198001011234", "13911112222"))
    received = list(cases.get_case_state(net.db, c).heads)  # type: ignore[union-attr]
    net.act(TOWN, c, "accepted", after=received)
    net.act(TOWN, c, "refused", after=received, reason="并发")  # a concurrent change: a conflict
    log.append("case.note_added", {"text": "no case"})       # a problem, kept in the log
    year = WorkCalendar.packaged().year_data(2026)
    year["holidays"] = sorted({*year["holidays"], "2026-03-10"})
    log.append(config_records.CALENDAR_YEAR, config_records.calendar_year_body(year))
    d = net.receive("C", window="W12", day=dt.date(2026, 3, 5))
    net.act("C", d, "accepted", window="W12", day=dt.date(2026, 3, 5))
    net.act("C", a, "finished", window="W12", day=dt.date(2026, 3, 20))
    log.append(config_records.STAFF_ACCOUNT, config_records.staff_account_body(
        username="zhangsan", display_name="张三", password_hash="scrypt:1$a$c", roles=["window_clerk"],
        places=["window:W12"], version=2, active=False))


def test_rebuild_at_central_gives_identical_tables(tmp_path: Path) -> None:
    net = Network(open_central(tmp_path / "central.sqlite"))
    busy_history(net)
    before = dump(net.db)
    assert len(before["cases"]) == 4 and before["projection_problems"] and before["calendar_years"]
    replayed = projections.rebuild(net.log)
    assert replayed == net.log.count()  # nothing quarantined here: every record replayed
    assert dump(net.db) == before


def test_rebuild_at_a_town_gives_identical_tables(tmp_path: Path) -> None:
    net = Network(open_central(tmp_path / "central.sqlite"))
    busy_history(net)
    town = LogStore.open(tmp_path / "town.sqlite", network=NET, origin=TOWN, signer=KEYS[TOWN],
                         central_public=CENTRAL.public)
    projections.register_all(town)
    projections.register_all(town)  # a second call registers nothing twice
    result = town.ingest([s.record for s in net.log.records_after(0, limit=100_000)])
    assert result.ok
    assert town.db.execute("SELECT count(*) FROM cases").fetchone()[0] == 4
    before = dump(town.db)
    projections.rebuild(town)
    assert dump(town.db) == before
    # the town's own numbers, learnt from the log, are never handed out again
    assert counters.next_case_number(town.db, TOWN, DAY).counter == 2


def test_rebuild_restores_a_damaged_projection(tmp_path: Path) -> None:
    net = Network(open_central(tmp_path / "central.sqlite"))
    busy_history(net)
    before = dump(net.db)
    net.db.execute("UPDATE cases SET status = 'delivered', applicant_name = '篡改'")
    net.db.execute("DELETE FROM case_events")
    net.db.execute("DELETE FROM number_counters")
    projections.rebuild(net.log)
    assert dump(net.db) == before


# --- counters ----------------------------------------------------------------------------------

def test_numbers_never_repeat_across_threads_and_connections(tmp_path: Path) -> None:
    path = tmp_path / "central.sqlite"
    first = open_central(path)
    second = LogStore.open(path, network=NET, origin="C", signer=CENTRAL)  # another process's connection
    projections.register_all(second)
    got: list[str] = []
    lock = threading.Lock()

    def work(log: LogStore) -> None:
        for _ in range(25):
            with log.transaction() as db:
                number = counters.next_case_number(db, "C", DAY).text
            with lock:
                got.append(number)

    threads = [threading.Thread(target=work, args=(log,)) for log in (first, second, first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == len(set(got)) == 100
    assert counters.current_value(first.db, "case", "C", DAY) == 100


def test_a_rolled_back_number_is_not_lost_or_doubled(tmp_path: Path) -> None:
    log = open_central(tmp_path / "central.sqlite")
    with pytest.raises(RuntimeError), log.transaction() as db:
        counters.next_case_number(db, "C", DAY)
        raise RuntimeError("the save failed")
    one = counters.next_case_number(log.db, "C", DAY)  # outside a transaction: committed at once
    two = counters.next_card_number(log.db, "C", DAY)
    three = counters.next_payment_notice_number(log.db, "C", DAY)
    assert (one.counter, two.counter, three.counter) == (1, 1, 1)  # the rolled-back 1 was never used
    assert (one.kind, two.kind, three.kind) == ("case", "card", "payment")
    assert two.text.startswith("KC-260302-") and three.text.startswith("JC-260302-")
    assert counters.next_case_number(log.db, "C", DAY).counter == 2
    assert counters.next_case_number(log.db, "C", DAY + dt.timedelta(days=1)).counter == 1
    assert counters.next_case_number(log.db, TOWN, DAY).counter == 1  # each origin counts its own


def test_a_full_day_is_refused_without_using_a_number(tmp_path: Path) -> None:
    log = open_central(tmp_path / "central.sqlite")
    log.db.execute("INSERT INTO number_counters VALUES ('case', ?, ?, 9999)", [TOWN, DAY.isoformat()])
    with pytest.raises(RuleError) as err:
        counters.next_case_number(log.db, TOWN, DAY)
    assert err.value.code == "numbering.counter_out_of_range"
    assert counters.current_value(log.db, "case", TOWN, DAY) == 9999
    with pytest.raises(RuleError):
        counters.next_case_number(log.db, "X1", DAY)


def test_a_node_restored_from_a_backup_does_not_reuse_numbers(tmp_path: Path) -> None:
    """The town's file is backed up after 2 cases; 2 more are made and reach central; the PC dies and
    the backup is restored. Its counters say 2, but recovery brings the town's own records back
    from central, and the projection raises the counter to 4: the next case is number 5."""
    central = open_central(tmp_path / "central.sqlite")
    path = tmp_path / "town.sqlite"
    town = LogStore.open(path, network=NET, origin=TOWN, signer=KEYS[TOWN], central_public=CENTRAL.public)
    projections.register_all(town)
    assert town.ingest([s.record for s in central.records_after(0, limit=1000)]).ok

    def receive(log: LogStore) -> str:
        with log.transaction() as db:
            number = counters.next_case_number(db, TOWN, DAY).text
            log.append("case.received", {"case": number, "after": [], "item": VILLAGE_ITEM, "applicant": person()})
        return number

    made = [receive(town), receive(town)]
    town.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(path, tmp_path / "backup.sqlite")
    made += [receive(town), receive(town)]
    assert central.ingest(town.records_of(TOWN)).ok  # uploaded before the PC died
    town.close()

    shutil.copy(tmp_path / "backup.sqlite", path)
    restored = LogStore.open(path, network=NET, origin=TOWN, signer=KEYS[TOWN], central_public=CENTRAL.public)
    projections.register_all(restored)
    assert counters.current_value(restored.db, "case", TOWN, DAY) == 2
    result = restored.ingest(central.records_of(TOWN, 3))  # recovery: its own records back from central
    assert result.ok and result.count("accepted") == 2
    assert counters.current_value(restored.db, "case", TOWN, DAY) == 4
    fresh = receive(restored)
    assert fresh not in made and counters.current_value(restored.db, "case", TOWN, DAY) == 5


def test_problems_are_listed_for_people(tmp_path: Path) -> None:
    log = open_central(tmp_path / "central.sqlite")
    bad = log.append("staff.account", {"username": "x"})
    assert projections.problems(log.db) == [
        {"record_id": bad.id, "kind": "staff.account", "origin": "C",
         "problem": projections.problems(log.db)[0]["problem"]}]
    assert "display_name" in projections.problems(log.db)[0]["problem"]


def test_a_log_without_projections_is_projected_when_registered(tmp_path: Path) -> None:
    """A file from before these tables existed (or made by an older projection version) is rebuilt
    once when the app registers the projections, before it serves anything."""
    path = tmp_path / "central.sqlite"
    bare = LogStore.open(path, network=NET, origin="C", signer=CENTRAL)
    bare.append(config_records.STAFF_ACCOUNT, config_records.staff_account_body(
        username="wangwu", display_name="王五", password_hash="h", roles=["admin"], places=["*"], version=1))
    bare.close()
    log = LogStore.open(path, network=NET, origin="C", signer=CENTRAL)
    projections.register_all(log)
    assert log.db.execute("SELECT username FROM staff").fetchall() == [("wangwu",)]
    log.db.execute("DELETE FROM staff")
    log.db.execute("UPDATE projection_meta SET value = '0' WHERE name = 'version'")  # an older version's tables
    log.close()
    again = LogStore.open(path, network=NET, origin="C", signer=CENTRAL)
    projections.register_all(again)
    assert again.db.execute("SELECT username FROM staff").fetchall() == [("wangwu",)]
    assert again.db.execute("SELECT value FROM projection_meta").fetchone()[0] == str(projections.PROJECTION_VERSION)


def test_rebased_records_keep_their_cases_whole(tmp_path: Path) -> None:
    """A town restored from a backup writes a case before it learns that central already holds other
    records under those seqs (a fork). Recovery re-signs its new records under new ids and says so in
    `sync.rebased`; the case's later events still name the old ids, and the projection follows the
    mapping, at the town and at central, so the case is whole (nothing pending, no conflict)."""
    central = open_central(tmp_path / "central.sqlite")
    path = tmp_path / "town.sqlite"
    town = LogStore.open(path, network=NET, origin=TOWN, signer=KEYS[TOWN], central_public=CENTRAL.public)
    projections.register_all(town)
    assert town.ingest([s.record for s in central.records_after(0, limit=1000)]).ok

    def receive(log: LogStore, day: dt.date) -> str:
        with log.transaction() as db:
            number = counters.next_case_number(db, TOWN, day).text
            first = log.append("case.received", {"case": number, "after": [], "item": VILLAGE_ITEM,
                                                 "applicant": person()})
            log.append("case.note_added", {"case": number, "after": [first.id], "text": "已电话联系"})
        return number

    kept = receive(town, DAY)
    town.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(path, tmp_path / "backup.sqlite")
    lost = receive(town, DAY)
    assert central.ingest(town.records_of(TOWN)).ok
    town.close()

    shutil.copy(tmp_path / "backup.sqlite", path)
    town = LogStore.open(path, network=NET, origin=TOWN, signer=KEYS[TOWN], central_public=CENTRAL.public)
    projections.register_all(town)
    written = receive(town, DAY + dt.timedelta(days=1))  # before anyone noticed: seqs 3-4 again
    assert central.ingest(town.records_of(TOWN, 3)).refused.code == "fork"  # type: ignore[union-attr]
    mapping = town.recover(central.records_of(TOWN, 3), reset=projections.reset)
    assert len(mapping) == 2
    rows = {r.number: r for r in cases.list_cases(town.db, today=DAY).rows}
    assert set(rows) == {kept, lost, written}
    assert (rows[written].events, rows[written].pending, rows[written].conflicts) == (2, 0, 0)
    assert central.ingest(town.records_of(TOWN, 5)).ok  # the rebased records and the mapping upload
    row = cases.get_case_row(central.db, written)
    assert row is not None and (row.events, row.pending, row.conflicts, row.status) == (2, 0, 0, "received")
    before = dump(town.db)
    projections.rebuild(town)
    assert dump(town.db) == before
