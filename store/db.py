"""Opening an app's SQLite file, and upgrading its schema in place.

Every app keeps one SQLite file (DESIGN.md). Village PCs lose power and several waitress threads
write at once, so each connection is opened the same way: WAL (readers never block the writer,
a crash loses at most the last transaction), foreign keys on (SQLite leaves them off by default),
a busy timeout (a second writer waits instead of failing at once with "database is locked") and
synchronous=NORMAL (safe with WAL; FULL would make every save wait for the disk twice).

Schemas change after deployment, and a village PC cannot be wiped to get a new one, so each part
of the store (accounts, catalogue, cases, ...) declares its schema as an ordered list of steps and
`migrate` applies the ones a file has not seen yet, recording how far it got in `schema_version`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlite_utils import Database

BUSY_TIMEOUT_MS = 10_000

Step = Callable[[Database], None]
"""One schema change. It runs inside the migration's transaction: use `db.execute` (or sqlite-utils
table methods, which nest as savepoints); never `executescript`, which would commit half-way."""


class MigrationError(RuntimeError):
    """The file's schema is newer than this program knows (a downgrade), or a step failed."""


def open_db(path: str | Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Database:
    """Open (creating if needed) the SQLite file at `path` with the pragmas every app relies on.

    A connection belongs to the thread that opened it; web apps open one per request (see
    `web.database`), which costs well under a millisecond.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=busy_timeout_ms / 1000)
    db = Database(conn)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":  # e.g. a network share that cannot hold the WAL index
        conn.close()
        raise sqlite3.OperationalError(f"{path}: could not switch to WAL (journal_mode is {mode})")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return db


def schema_version(db: Database, component: str) -> int:
    """How many of `component`'s steps this file has applied (0 for a new file)."""
    if "schema_version" not in db.table_names():
        return 0
    row = db.execute(
        "SELECT version FROM schema_version WHERE component = ?", [component]
    ).fetchone()
    return int(row[0]) if row else 0


def migrate(db: Database, component: str, steps: Sequence[Step]) -> int:
    """Bring `component`'s tables up to date by running the steps the file has not seen yet.

    Steps are append-only: never edit or reorder a released step, add a new one. All pending steps
    run in one IMMEDIATE transaction, so two processes starting at once do not both migrate and a
    failing step leaves the file exactly as it was. Returns the version now in the file.
    """
    if db.conn.in_transaction:
        raise MigrationError("migrate() must not run inside an open transaction")
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )
        current = schema_version(db, component)
        if current > len(steps):
            raise MigrationError(
                f"{component}: the file is at schema version {current}, this program knows only "
                f"{len(steps)}; it was written by a newer version of bianmin"
            )
        for number, step in enumerate(steps[current:], start=current + 1):
            try:
                step(db)
            except Exception as exc:
                raise MigrationError(f"{component}: step {number} failed: {exc}") from exc
        if len(steps) != current:
            db.execute(
                "INSERT INTO schema_version (component, version) VALUES (?, ?)"
                " ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                [component, len(steps)],
            )
        db.execute("COMMIT")
    except BaseException:
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
        raise
    return len(steps)
