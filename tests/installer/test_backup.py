"""Backup and restore against a real central: round trip, an old backup recovered from central with
nothing lost, and a node rebuilt on a new PC (no key, or nothing at all) from central alone."""

from __future__ import annotations

import datetime as dt
import random
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from installer_kit import NETWORK

from bianmin.cli import main
from installer import backup as bk
from installer.casegen import NodeDesk, person
from installer.recovery import reenrol, sync_recovering
from node.context import Node
from node.syncing import NodeSync
from store.cases import list_cases
from store.db import open_db

CHINA = dt.timezone(dt.timedelta(hours=8))


def _take_in(folder: Path, n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    the_node = Node.open(folder)
    try:
        desk = NodeDesk(the_node)
        when = dt.datetime.now(CHINA).replace(microsecond=0)
        return [desk.take_in("GA006", when, person(rng))[0].number for _ in range(n)]
    finally:
        the_node.close()


def _sync(folder: Path) -> object:
    the_node = Node.open(folder)
    try:
        report = NodeSync(the_node).sync_now()
        assert report is not None
        return report
    finally:
        the_node.close()


def _cases(folder: Path) -> set[str]:
    db = open_db(folder / "bianmin.sqlite")
    try:
        page = list_cases(db, limit=1000)
        return {row.number for row in page.rows}
    finally:
        db.conn.close()


def _records(folder: Path) -> list[tuple[str, int, str]]:
    conn = sqlite3.connect(folder / "bianmin.sqlite")
    try:
        return conn.execute("SELECT origin, seq, id FROM records ORDER BY origin, seq").fetchall()
    finally:
        conn.close()


def test_round_trip_while_running(live_central, enrolled_node, tmp_path: Path) -> None:
    folder = enrolled_node()
    numbers = _take_in(folder, 2, seed=1)
    the_node = Node.open(folder)  # the app keeps its database open and writing during the backup
    try:
        scan = the_node.blobs.put(b"%PDF-1.4 scan of a household register")
        result = bk.backup(folder, tmp_path / "usb")
        assert result.blobs_copied == 1
        again = bk.backup(folder, tmp_path / "usb", now=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
        assert again.blobs_copied == 0  # scans already on the stick are not copied again
    finally:
        the_node.close()
    snap = result.snapshot
    assert snap.kind == "node" and snap.origin == "V000101"
    assert not list(snap.path.glob("*.key")) and not (tmp_path / "usb" / "bianmin.key").exists()

    target = tmp_path / "restored"
    out = bk.restore(tmp_path / "usb", target)
    assert not out.key_present  # keys never travel in a backup
    assert _records(target) == _records(folder)
    assert _cases(target) >= set(numbers)
    restored = (target / "blobs" / "objects" / scan[:2] / scan[2:4] / scan).read_bytes()
    # the scan comes back exactly as it was on disk: ciphertext under the node's scan key (sync/blobcrypt.py)
    assert restored == (folder / "blobs" / "objects" / scan[:2] / scan[2:4] / scan).read_bytes()
    assert restored.startswith(b"BMSCAN1") and b"household register" not in restored


def test_restore_refuses_live_folder_and_keeps_the_key(live_central, enrolled_node, tmp_path: Path) -> None:
    folder = enrolled_node()
    bk.backup(folder, tmp_path / "usb")
    key = (folder / "bianmin.key").read_bytes()
    runner = CliRunner()
    result = runner.invoke(main, ["restore", "--from", str(tmp_path / "usb"), "--data", str(folder)])
    assert result.exit_code != 0
    assert "--force" in result.output
    result = runner.invoke(main, ["restore", "--from", str(tmp_path / "usb"), "--data", str(folder), "--force",
                                  "--no-sync"])
    assert result.exit_code == 0, result.output
    assert (folder / "bianmin.key").read_bytes() == key
    aside = list(folder.glob("before-restore-*"))
    assert len(aside) == 1 and (aside[0] / "bianmin.sqlite").exists()  # moved aside, never deleted


def test_damaged_backup_is_refused(live_central, enrolled_node, tmp_path: Path) -> None:
    folder = enrolled_node()
    snap = bk.backup(folder, tmp_path / "usb").snapshot
    with (snap.path / "bianmin.sqlite").open("r+b") as f:
        f.seek(200)
        f.write(b"\xff\xff")
    with pytest.raises(bk.BackupError, match="damaged"):
        bk.restore(snap.path, tmp_path / "elsewhere")
    assert not (tmp_path / "elsewhere" / "bianmin.sqlite").exists()


def test_rotation_keeps_newest_per_day(live_central, enrolled_node, tmp_path: Path) -> None:
    folder = enrolled_node()
    start = dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.UTC)
    for day in range(5):
        for hour in (0, 6):
            bk.backup(folder, tmp_path / "usb", keep=3, now=start + dt.timedelta(days=day, hours=hour))
    snaps = bk.list_snapshots(tmp_path / "usb")
    assert [s.created for s in snaps] == [start + dt.timedelta(days=d, hours=6) for d in (2, 3, 4)]


def test_old_backup_recovered_from_central(live_central, enrolled_node, tmp_path: Path) -> None:
    """The PC's disk is restored from last week's stick: central's copy brings back the rest."""
    folder = enrolled_node()
    early = _take_in(folder, 1, seed=2)
    assert _sync(folder).ok
    bk.backup(folder, tmp_path / "usb")
    later = _take_in(folder, 2, seed=3)
    assert _sync(folder).ok
    held_at_central = live_central.holds("V000101")
    before = _records(folder)

    result = CliRunner().invoke(main, ["restore", "--from", str(tmp_path / "usb"), "--data", str(folder),
                                       "--force", "--no-sync"])
    assert result.exit_code == 0, result.output
    restored = _records(folder)
    assert len(restored) < len(before)  # the backup is older than the node was
    own_missing = sum(1 for r in before if r[0] == "V000101") - sum(1 for r in restored if r[0] == "V000101")
    the_node = Node.open(folder)
    try:
        assert the_node.log.writes_held()  # nothing may be written before central is asked
        with pytest.raises(Exception, match="held"):
            the_node.append("case.note_added", {"case": early[0], "after": [], "text": "x"})
    finally:
        the_node.close()

    report, _ = sync_recovering(folder)  # what `bianmin restore` runs unless --no-sync
    assert report.ok, report.error
    assert report.recovered == own_missing > 0
    assert _records(folder) == before  # every record back, byte-identical ids, nothing rebased
    assert _cases(folder) >= set(early + later)
    more = _take_in(folder, 1, seed=4)  # writing works again, and the new case reaches the city
    assert _sync(folder).ok
    assert live_central.holds("V000101") > held_at_central
    assert more[0] not in early + later


def test_new_pc_from_a_backup_without_the_key(live_central, enrolled_node, tmp_path: Path) -> None:
    folder = enrolled_node()
    numbers = _take_in(folder, 2, seed=5)
    assert _sync(folder).ok
    bk.backup(folder, tmp_path / "usb")
    newer = _take_in(folder, 1, seed=6)
    assert _sync(folder).ok
    shutil.rmtree(folder)  # the old PC is gone, key and all

    new_pc = tmp_path / "new-pc"
    bk.restore(tmp_path / "usb", new_pc)
    live_central.revoke("V000101")  # the city revokes the lost key, then issues a new token
    result = reenrol(new_pc, live_central.token("V000101"))
    assert result.ok, result.error
    assert (new_pc / "bianmin.key").stat().st_mode & 0o077 == 0
    assert _cases(new_pc) >= set(numbers + newer)
    after = _take_in(new_pc, 1, seed=7)
    assert _sync(new_pc).ok
    assert after


def test_new_pc_from_central_alone(live_central, enrolled_node, tmp_path: Path) -> None:
    folder = enrolled_node()
    numbers = _take_in(folder, 2, seed=8)
    assert _sync(folder).ok
    shutil.rmtree(folder)
    live_central.revoke("V000101")
    fresh = tmp_path / "fresh"
    result = CliRunner().invoke(main, ["restore", "--central", live_central.url, "--node-id", "V000101",
                                       "--token", live_central.token("V000101"), "--network", NETWORK,
                                       "--data", str(fresh)])
    assert result.exit_code == 0, result.output
    assert "fingerprint" in result.output
    assert _cases(fresh) >= set(numbers)
    assert _take_in(fresh, 1, seed=9)
    assert _sync(fresh).ok


def test_backup_while_a_clerk_keeps_writing_is_consistent(live_central, enrolled_node, tmp_path: Path) -> None:
    import threading

    folder = enrolled_node()
    the_node = Node.open(folder)
    stop = threading.Event()
    written = []

    def clerk() -> None:
        while not stop.is_set():
            written.append(the_node.append("case.note_added", {"case": "V000101-261125-0001-X", "after": [],
                                                               "text": f"note {len(written)}"}))

    writer = threading.Thread(target=clerk)
    writer.start()
    try:
        time.sleep(0.2)
        snap = bk.backup(folder, tmp_path / "usb").snapshot
        time.sleep(0.1)
    finally:
        stop.set()
        writer.join()
        the_node.close()
    assert written
    target = tmp_path / "restored"
    bk.restore(snap.path, target, hold_until_contact=False)
    shutil.copy2(folder / "bianmin.key", target / "bianmin.key")
    restored = Node.open(target)
    try:
        assert restored.log.verify_all(signatures=True) == []  # whole chains, no torn transaction
        assert restored.log.head()[0] <= written[-1].seq
        assert restored.log.head()[0] >= written[0].seq - 1
    finally:
        restored.close()
