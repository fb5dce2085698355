"""Every shared projection, registered on an app's LogStore at once, and rebuilt from its log.

An app opens its one SQLite file as a `sync.logstore.LogStore` and calls `register_all(log)`
once, before it appends or ingests anything. From then on every stored record (appended,
uploaded, pulled or read from a USB bundle) runs through `project` in the transaction that
stores it, so the tables below can never disagree with the log:

    record kind            table(s)                      module
    catalogue.published    catalogue_versions            store.catalogue
    calendar.year          calendar_years (+ re-folds)   store.calendar, store.cases
    staff.account          staff                         store.accounts
    node.* (and any)       directory_nodes               store.directory
    case.*                 cases, case_events, tallies   store.cases
    sync.rebased           case_rebased (+ re-folds)     store.cases
    numbers in bodies      number_counters               store.counters
    case.*, scans.*        case_scans, scan_archive      store.scans
    retention.policy       retention_policies            store.retention

A record a projection cannot use (a node signing a catalogue, a malformed staff body) is never an
exception, which would refuse the whole batch and stall sync for good: it stays in the log, is
listed in `projection_problems` (`problems(db)`) for an administrator, and is skipped.

`register_all` also rebuilds once when the file's projections are missing or were made by another
`PROJECTION_VERSION` (an upgrade). `rebuild(log)` empties the projections (counters and the
search-hash key are kept on purpose, see store.counters and store.cases) and replays the log in
the order it was stored, in one transaction: the tables come out byte-identical to the ones
maintained record by record (about 2,800 records a second: 100,000 cases in two minutes).
`LogStore.recover` rebuilds too: pass it `reset=projections.reset` (and the app's own resets).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from sqlite_utils import Database

from store import accounts, calendar, cases, catalogue, counters, directory, retention, scans
from store.db import migrate
from sync.logstore import LogStore

_registered: weakref.WeakSet[LogStore] = weakref.WeakSet()


PROJECTION_VERSION = 2
"""Raise it whenever a projector computes something differently (a new column, a fixed rule):
`register_all` then rebuilds every projection from the log once, at the app's next start."""


def _create_tables(db: Database) -> None:
    db.execute(
        "CREATE TABLE projection_problems ("
        " record_id TEXT PRIMARY KEY,"
        " kind TEXT NOT NULL,"
        " origin TEXT NOT NULL,"
        " problem TEXT NOT NULL)"
    )


def _create_meta(db: Database) -> None:
    db.execute("CREATE TABLE projection_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")


MIGRATIONS = [_create_tables, _create_meta]


def ensure_schema(db: Database) -> None:
    """Create or upgrade every shared projection's tables (outside any transaction)."""
    migrate(db, "projections", MIGRATIONS)
    accounts.ensure_schema(db)
    catalogue.ensure_schema(db)
    calendar.ensure_schema(db)
    directory.ensure_schema(db)
    counters.ensure_schema(db)
    cases.ensure_schema(db)
    scans.ensure_schema(db)
    retention.ensure_schema(db)


def _problem(db: Database, record: Any, problem: str | None) -> None:
    if problem:
        db.conn.execute(
            "INSERT OR REPLACE INTO projection_problems (record_id, kind, origin, problem) VALUES (?, ?, ?, ?)",
            [record.id, record.kind, record.origin, problem[:2000]],
        )


def project(db: Database, record: Any) -> None:
    """Apply one stored record to every shared projection (the LogStore projector)."""
    found = db.conn.execute("SELECT pos, received_at FROM records WHERE id = ?", [record.id]).fetchone()
    pos, received_at = found if found else (None, None)
    _problem(db, record, directory.project(db, record, received_at=received_at))
    counters.project(db, record)
    kind = record.kind
    if kind.startswith(cases.PREFIX):
        _problem(db, record, cases.project(db, record, pos=pos))
        scans.project(db, record)
    elif kind in (scans.ARCHIVED, scans.EXPIRED):
        _problem(db, record, scans.project(db, record))
    elif kind == retention.KIND:
        _problem(db, record, retention.project(db, record))
    elif kind == "sync.rebased":
        _problem(db, record, cases.project_rebased(db, record))
    elif kind == catalogue.KIND:
        _problem(db, record, catalogue.project(db, record))
    elif kind == calendar.KIND:
        problem = calendar.project(db, record)
        _problem(db, record, problem)
        if problem is None:
            cases.refold_for_calendar(db, record.body["year"])
    elif kind == "staff.account":
        if record.origin != "C":
            _problem(db, record, "staff.account: only central manages staff accounts")
        else:
            try:
                accounts.project(db, record.body)
            except accounts.AccountError as err:
                _problem(db, record, f"staff.account: {err}")


def register_all(log: LogStore) -> None:
    """Create the tables if needed and register `project` on `log` (once; repeated calls are no-ops).

    If the file's projections were made by another PROJECTION_VERSION (an upgrade), or never made
    although the log holds records (a log from before these tables existed), they are rebuilt
    from the log now, before the app serves anything.
    """
    ensure_schema(log.db)
    if log in _registered:
        return
    log.register_projector(project)
    _registered.add(log)
    row = log.db.execute("SELECT value FROM projection_meta WHERE name = 'version'").fetchone()
    if row is None or row[0] != str(PROJECTION_VERSION):
        if log.count():
            rebuild(log)
        else:
            _set_version(log.db)


def _set_version(db: Database) -> None:
    db.execute("INSERT INTO projection_meta (name, value) VALUES ('version', ?)"
               " ON CONFLICT (name) DO UPDATE SET value = excluded.value", [str(PROJECTION_VERSION)])


def reset(db: Database) -> None:
    """Empty every shared projection (counters and the case search-hash key are kept)."""
    for module in (catalogue, calendar, directory, counters, cases, scans, retention):
        module.reset(db)
    db.conn.execute("DELETE FROM staff")
    db.conn.execute("DELETE FROM projection_problems")


def rebuild(log: LogStore, *, also_reset: Callable[[Database], None] | None = None) -> int:
    """Drop the projections and replay the whole log through every registered projector, in one
    transaction; returns how many records were replayed. `also_reset(db)` empties an app's own
    projections (those it registered itself) in the same transaction."""
    register_all(log)

    def reset_all(db: Database) -> None:
        reset(db)
        if also_reset is not None:
            also_reset(db)

    with log.transaction():
        replayed = log.rebuild_projections(reset_all)
        _set_version(log.db)
        return replayed


def problems(db: Database) -> list[dict[str, str]]:
    """Records kept in the log that a projection could not use: `{"record_id", "kind", "origin",
    "problem"}` (English, for administrators)."""
    return [
        {"record_id": r, "kind": k, "origin": o, "problem": p}
        for r, k, o, p in db.execute(
            "SELECT record_id, kind, origin, problem FROM projection_problems ORDER BY kind, record_id")
    ]
