"""The annual awards' tables: a projection of central's `awards.*` records.

Why central keeps its own tables here: the awards page lists every sub-centre's nominees and the
year's decision next to the standings; the record log has no index by kind. Rebuilt by
`Central.rebuild` from the log.

- `awards_nominations`: one row per `awards.nominated`, with its withdrawal once withdrawn.
- `awards_decisions`: the director's meeting's decision of a year (`awards.decided`), the first
  one standing; nominations and withdrawals for a decided year are skipped, as are records not
  signed by central or with malformed bodies (logged, never raised: sync must not stall).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from central import assessment_records as records
from central.projecting import apply_or_log
from store.db import migrate
from sync.envelope import Record

log = logging.getLogger(__name__)


def _create(db: Database) -> None:
    db.execute(
        "CREATE TABLE awards_nominations (id TEXT PRIMARY KEY, pos INTEGER NOT NULL, year INTEGER NOT NULL,"
        " unit TEXT NOT NULL, name TEXT NOT NULL, window TEXT NOT NULL, reason TEXT NOT NULL, review TEXT NOT NULL,"
        " staff TEXT NOT NULL, time TEXT NOT NULL, withdrawn_by TEXT, withdrawn_reason TEXT, withdrawn_staff TEXT)")
    db.execute("CREATE INDEX awards_nominations_year ON awards_nominations (year, unit, pos)")
    db.execute(
        "CREATE TABLE awards_decisions (year INTEGER PRIMARY KEY, record_id TEXT NOT NULL, body TEXT NOT NULL,"
        " staff TEXT NOT NULL, time TEXT NOT NULL)")


MIGRATIONS = [_create]


def ensure_schema(db: Database) -> None:
    migrate(db, "central_awards", MIGRATIONS)


def reset(db: Database) -> None:
    for table in ("awards_nominations", "awards_decisions"):
        db.execute(f"DELETE FROM {table}")


def is_decided(db: Database, year: int) -> bool:
    return db.execute("SELECT 1 FROM awards_decisions WHERE year = ?", [year]).fetchone() is not None


def project(db: Database, record: Record) -> None:
    """Apply one record of any kind (cheap for the kinds this module ignores); never raises."""
    if record.origin != "C" or record.kind not in records.KINDS or not record.kind.startswith("awards."):
        return  # (awards.correction_* are central.correction_store's)
    apply_or_log(db, record, _apply, log)


def _apply(db: Database, record: Record) -> str | None:
    body = record.body
    found = records.problems(record.kind, body)
    if found:
        return "; ".join(found)
    year = body["year"]
    if record.kind == records.DECIDED:
        db.execute("INSERT OR IGNORE INTO awards_decisions (year, record_id, body, staff, time) VALUES (?, ?, ?, ?, ?)",
                   [year, record.id, json.dumps(body, ensure_ascii=False, sort_keys=True), body["staff"],
                    record.time])
        return None
    if is_decided(db, year):
        return f"the awards of {year} are decided"
    if record.kind == records.NOMINATED:
        pos = db.execute("SELECT pos FROM records WHERE id = ?", [record.id]).fetchone()
        db.execute("INSERT OR IGNORE INTO awards_nominations (id, pos, year, unit, name, window, reason, review,"
                   " staff, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [record.id, pos[0] if pos else 0, year, body["unit"], body["name"], body["window"],
                    body["reason"], body.get("review", ""), body["staff"], record.time])
        return None
    row = db.execute("SELECT year, withdrawn_by FROM awards_nominations WHERE id = ?",
                     [body["nomination"]]).fetchone()
    if row is None or row[0] != year or row[1] is not None:
        return "the nomination is unknown, of another year, or already withdrawn"
    db.execute("UPDATE awards_nominations SET withdrawn_by = ?, withdrawn_reason = ?, withdrawn_staff = ?"
               " WHERE id = ?", [record.id, body["reason"], body["staff"], body["nomination"]])
    return None


@dataclass(frozen=True)
class Nominee:
    id: str
    year: int
    unit: str
    name: str
    window: str
    reason: str
    review: str
    staff: str
    time: str
    withdrawn_by: str | None
    withdrawn_reason: str | None
    withdrawn_staff: str | None

    @property
    def active(self) -> bool:
        return self.withdrawn_by is None

    def snapshot(self) -> dict[str, Any]:
        """What a decision record keeps of the nominee it chose from."""
        return {"id": self.id, "unit": self.unit, "name": self.name, "window": self.window, "reason": self.reason,
                "review": self.review}


def nominations(db: Database, year: int) -> list[Nominee]:
    """Every nomination of the year, withdrawn ones included, by unit then in the order recorded."""
    return [Nominee(*r) for r in db.execute(
        "SELECT id, year, unit, name, window, reason, review, staff, time, withdrawn_by, withdrawn_reason,"
        " withdrawn_staff FROM awards_nominations WHERE year = ? ORDER BY unit, pos", [year])]


@dataclass(frozen=True)
class Decided:
    year: int
    record_id: str
    body: dict[str, Any]
    staff: str
    time: str


def decision(db: Database, year: int) -> Decided | None:
    row = db.execute("SELECT year, record_id, body, staff, time FROM awards_decisions WHERE year = ?",
                     [year]).fetchone()
    return Decided(row[0], row[1], json.loads(row[2]), row[3], row[4]) if row else None
