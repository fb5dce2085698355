"""store.db: the pragmas every app relies on, and in-place schema upgrades."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from store.db import MigrationError, migrate, open_db, schema_version


def test_open_sets_wal_foreign_keys_busy_timeout_and_synchronous(tmp_path: Path) -> None:
    db = open_db(tmp_path / "sub" / "app.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert (tmp_path / "sub" / "app.sqlite").exists()


def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    db = open_db(tmp_path / "app.sqlite")
    db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    db.execute("CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent(id))")
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO child (id, parent) VALUES (1, 99)")


def _one(db):  # type: ignore[no-untyped-def]
    db.execute("CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT)")


def _two(db):  # type: ignore[no-untyped-def]
    db.execute("ALTER TABLE things ADD COLUMN colour TEXT")


def test_migrate_applies_only_new_steps_and_records_the_version(tmp_path: Path) -> None:
    path = tmp_path / "app.sqlite"
    db = open_db(path)
    assert schema_version(db, "things") == 0
    assert migrate(db, "things", [_one]) == 1
    db.execute("INSERT INTO things (id, name) VALUES (1, 'kept')")
    db.close()

    # A later program version adds a step: the file upgrades in place, data kept.
    db = open_db(path)
    assert migrate(db, "things", [_one, _two]) == 2
    assert migrate(db, "things", [_one, _two]) == 2  # idempotent
    assert db.execute("SELECT name, colour FROM things").fetchall() == [("kept", None)]
    assert schema_version(db, "things") == 2
    assert schema_version(db, "other") == 0


def test_failing_step_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    db = open_db(tmp_path / "app.sqlite")
    migrate(db, "things", [_one])

    def broken(db):  # type: ignore[no-untyped-def]
        db.execute("ALTER TABLE things ADD COLUMN size INTEGER")
        db.execute("this is not sql")

    with pytest.raises(MigrationError, match="step 2"):
        migrate(db, "things", [_one, broken])
    assert schema_version(db, "things") == 1
    columns = [r[1] for r in db.execute("PRAGMA table_info(things)")]
    assert columns == ["id", "name"]
    assert not db.conn.in_transaction


def test_a_newer_file_is_refused(tmp_path: Path) -> None:
    db = open_db(tmp_path / "app.sqlite")
    migrate(db, "things", [_one, _two])
    with pytest.raises(MigrationError, match="newer"):
        migrate(db, "things", [_one])


def test_concurrent_starts_migrate_once(tmp_path: Path) -> None:
    path = tmp_path / "app.sqlite"
    open_db(path).close()
    calls: list[int] = []
    errors: list[BaseException] = []

    def step(db):  # type: ignore[no-untyped-def]
        calls.append(1)
        db.execute("CREATE TABLE once (id INTEGER)")

    def start() -> None:
        try:
            db = open_db(path)
            migrate(db, "once", [step])
            db.close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(calls) == 1
