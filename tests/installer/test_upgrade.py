"""A node's database made by an older schema, upgraded in place by the current code: data kept."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from bianmin.cli import main
from installer.casegen import NodeDesk, person
from installer.upgrade import upgrade, versions
from node.context import Node
from store import cases
from store.cases import list_cases
from store.db import migrate, open_db

CHINA = dt.timezone(dt.timedelta(hours=8))


def _numbers(folder: Path) -> set[str]:
    db = open_db(folder / "bianmin.sqlite")
    try:
        return {row.number for row in list_cases(db, limit=100).rows}
    finally:
        db.conn.close()


def _as_older_release(folder: Path) -> None:
    """Make the file exactly what a release without the case-list projection wrote: the log and the
    other projections, no case tables, no `cases` row in schema_version."""
    probe = open_db(folder.parent / "probe.sqlite")  # which tables the case component makes, today
    migrate(probe, "cases", cases.MIGRATIONS)
    made = [n for (n,) in probe.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if n != "schema_version"]
    probe.conn.close()
    conn = sqlite3.connect(folder / "bianmin.sqlite")
    try:
        for name in made:
            conn.execute(f"DROP TABLE {name}")
        conn.execute("DELETE FROM schema_version WHERE component = 'cases'")
        conn.commit()
    finally:
        conn.close()


def test_node_upgraded_in_place_keeps_its_cases(live_central, enrolled_node, tmp_path: Path) -> None:
    folder = enrolled_node()
    rng = random.Random(11)
    the_node = Node.open(folder)
    try:
        desk = NodeDesk(the_node)
        when = dt.datetime.now(CHINA).replace(microsecond=0)
        numbers = {desk.take_in(code, when, person(rng))[0].number for code in ("GA006", "SW006", "MZJ001")}
    finally:
        the_node.close()
    assert _numbers(folder) == numbers
    _as_older_release(folder)
    assert "cases" not in versions(folder / "bianmin.sqlite")

    result = CliRunner().invoke(main, ["upgrade", "--data", str(folder), "--backup-to", str(tmp_path / "pre")])
    assert result.exit_code == 0, result.output
    assert "cases: version 0 -> " in result.output
    assert "records replayed" in result.output
    assert versions(folder / "bianmin.sqlite")["cases"] == len(cases.MIGRATIONS)
    assert _numbers(folder) == numbers  # the new tables show every case the log holds
    assert list((tmp_path / "pre").glob("*/manifest.json"))  # a backup was taken first

    again = upgrade(folder, take_backup=False)
    assert not again.changed and again.rebuilt == 0  # a second run is a no-op


def test_file_from_a_newer_version_is_left_alone(live_central, enrolled_node) -> None:
    folder = enrolled_node()
    conn = sqlite3.connect(folder / "bianmin.sqlite")
    conn.execute("UPDATE schema_version SET version = 99 WHERE component = 'accounts'")
    conn.commit()
    conn.close()
    before = (folder / "bianmin.sqlite").stat().st_size
    report = upgrade(folder, take_backup=False)
    assert report.error and "newer version" in report.error
    assert versions(folder / "bianmin.sqlite")["accounts"] == 99
    assert (folder / "bianmin.sqlite").stat().st_size == before
