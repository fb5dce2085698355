"""Corrections to published quarters and decided award years: a projection of central's correction records.

Why central keeps a table of its own: the quarter's pages, the public bulletin and the awards page
show every correction of what they show, and the approver's list shows those awaiting a decision;
the record log has no index by kind. One row per filed correction, with its outcome once decided
(central.correction_records has the bodies). Rebuilt by `Central.rebuild` from the log, identical.

Rules the projection keeps, so that a record slipping past a page changes nothing: only origin `C`
counts; a correction is filed only for a quarter already published (a year already decided) and,
for an entry, one of that quarter's entries of the unit named; a correction is decided once; the
filer may withdraw it but not approve or reject it, anyone else (the pages: another supervisor)
approves or rejects. A record that breaks them or is malformed is skipped with a warning in the
log, never raised (sync must not stall).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from central import correction_records as records
from central.evidence import Evidence
from central.projecting import apply_or_log
from store.db import migrate
from sync.envelope import Record

log = logging.getLogger(__name__)


def _create(db: Database) -> None:
    db.execute(
        "CREATE TABLE assessment_corrections (id TEXT PRIMARY KEY, pos INTEGER NOT NULL, scope TEXT NOT NULL,"
        " subject TEXT NOT NULL, unit TEXT NOT NULL, change TEXT NOT NULL, reason TEXT NOT NULL,"
        " evidence TEXT NOT NULL, staff TEXT NOT NULL, time TEXT NOT NULL, outcome TEXT, decided_id TEXT,"
        " decided_pos INTEGER, decided_staff TEXT, decided_time TEXT, note TEXT, result TEXT)")
    db.execute("CREATE INDEX assessment_corrections_subject ON assessment_corrections (scope, subject, pos)")


MIGRATIONS = [_create]


def ensure_schema(db: Database) -> None:
    migrate(db, "central_corrections", MIGRATIONS)


def reset(db: Database) -> None:
    db.execute("DELETE FROM assessment_corrections")


def _pos(db: Database, record_id: str) -> int:
    row = db.execute("SELECT pos FROM records WHERE id = ?", [record_id]).fetchone()
    return int(row[0]) if row else 0


def _entry_of(db: Database, entry: str, quarter: str, unit: str) -> bool:
    """Whether `entry` is one of the quarter's entries of `unit`: recorded before publication, or
    added by an approved correction (a correction can itself be corrected)."""
    return db.execute(
        "SELECT 1 FROM assessment_entries WHERE id = ? AND quarter = ? AND unit = ? UNION ALL"
        " SELECT 1 FROM assessment_corrections WHERE id = ? AND scope = 'quarter' AND subject = ? AND unit = ?"
        " AND outcome = 'approved' AND json_extract(change, '$.op') IN ('add_finding', 'add_bonus')",
        [entry, quarter, unit, entry, quarter, unit]).fetchone() is not None


def project(db: Database, record: Record) -> None:
    """Apply one record of any kind (cheap for the others); never raises."""
    if record.kind not in records.KINDS or record.origin != "C":
        return
    apply_or_log(db, record, _apply, log)


def _apply(db: Database, record: Record) -> str | None:
    body = record.body
    found = records.problems(record.kind, body)
    if found:
        return "; ".join(found)
    quarterly = record.kind in (records.QUARTER_FILED, records.QUARTER_DECIDED)
    scope, subject = ("quarter", body["quarter"]) if quarterly else ("year", str(body["year"]))
    if record.kind in records.FILED:
        if quarterly:
            if db.execute("SELECT 1 FROM assessment_published WHERE quarter = ?", [subject]).fetchone() is None:
                return f"{subject} is not published: it is not corrected, it is still being scored"
            entry = body["change"].get("entry")
            if entry is not None and not _entry_of(db, entry, subject, body["unit"]):
                return "the entry is unknown, or of another quarter or unit"
            change, unit = body["change"], body["unit"]
        else:
            if db.execute("SELECT 1 FROM awards_decisions WHERE year = ?", [body["year"]]).fetchone() is None:
                return f"the awards of {subject} are not decided"
            change, unit = body["amended"], ""
        db.execute(
            "INSERT OR IGNORE INTO assessment_corrections (id, pos, scope, subject, unit, change, reason, evidence,"
            " staff, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [record.id, _pos(db, record.id), scope, subject, unit, json.dumps(change, ensure_ascii=False,
                                                                              sort_keys=True),
             body["reason"], json.dumps(body["evidence"], ensure_ascii=False), body["staff"], record.time])
        return None
    row = db.execute("SELECT scope, subject, staff, outcome FROM assessment_corrections WHERE id = ?",
                     [body["correction"]]).fetchone()
    if row is None or (row[0], row[1]) != (scope, subject):
        return "the correction is unknown, or of another quarter or year"
    if row[3] is not None:
        return "the correction is already decided"
    outcome = body["outcome"]
    if (outcome == "withdrawn") != (body["staff"] == row[2]):
        return "only the filer withdraws a correction, and only someone else approves or rejects it"
    result = body.get("units") if quarterly else body.get("decision")
    db.execute("UPDATE assessment_corrections SET outcome = ?, decided_id = ?, decided_pos = ?, decided_staff = ?,"
               " decided_time = ?, note = ?, result = ? WHERE id = ?",
               [outcome, record.id, _pos(db, record.id), body["staff"], record.time, body["note"],
                json.dumps(result, ensure_ascii=False, sort_keys=True) if outcome == "approved" else None,
                body["correction"]])
    return None


# --- reads --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Correction:
    id: str
    pos: int
    scope: str  # quarter | year
    subject: str  # "2026-Q3" | "2026"
    unit: str  # the sub-centre of a quarter's correction; "" for a year
    change: dict[str, Any] = field(hash=False, compare=False)  # the change (quarter) or the amended lists (year)
    reason: str = ""
    evidence: tuple[Evidence, ...] = ()
    staff: str = ""
    time: str = ""
    outcome: str | None = None  # None: pending
    decided_id: str | None = None
    decided_pos: int | None = None
    decided_staff: str | None = None
    decided_time: str | None = None
    note: str | None = None
    result: Any = field(default=None, hash=False, compare=False)  # figures / decision as corrected (approved)

    @property
    def pending(self) -> bool:
        return self.outcome is None

    @property
    def approved(self) -> bool:
        return self.outcome == "approved"

    @property
    def op(self) -> str:
        return str(self.change.get("op", "")) if self.scope == "quarter" else "amend"


_COLUMNS = ("id, pos, scope, subject, unit, change, reason, evidence, staff, time, outcome, decided_id, decided_pos,"
            " decided_staff, decided_time, note, result")


def _row(row: tuple[Any, ...]) -> Correction:
    (cid, pos, scope, subject, unit, change, reason, evidence, staff, time, outcome, decided_id, decided_pos,
     decided_staff, decided_time, note, result) = row
    items = tuple(e for e in (Evidence.from_body(x) for x in json.loads(evidence)) if e is not None)
    return Correction(cid, pos, scope, subject, unit, json.loads(change), reason, items, staff, time, outcome,
                      decided_id, decided_pos, decided_staff, decided_time, note,
                      json.loads(result) if result else None)


def of_subject(db: Database, scope: str, subject: str) -> list[Correction]:
    """Every correction of a quarter or year, in the order filed."""
    return [_row(r) for r in db.execute(f"SELECT {_COLUMNS} FROM assessment_corrections WHERE scope = ? AND"
                                        " subject = ? ORDER BY pos", [scope, subject])]


def approved(db: Database, scope: str, subject: str) -> list[Correction]:
    """The approved corrections of a quarter or year, in the order approved (the last holds the figures)."""
    return [_row(r) for r in db.execute(f"SELECT {_COLUMNS} FROM assessment_corrections WHERE scope = ? AND"
                                        " subject = ? AND outcome = 'approved' ORDER BY decided_pos",
                                        [scope, subject])]


def get(db: Database, correction: str) -> Correction | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM assessment_corrections WHERE id = ?", [correction]).fetchone()
    return _row(row) if row else None


def pending(db: Database) -> list[Correction]:
    """Every correction awaiting a decision, oldest first (the approver's list)."""
    return [_row(r) for r in db.execute(f"SELECT {_COLUMNS} FROM assessment_corrections WHERE outcome IS NULL"
                                        " ORDER BY pos")]


def recent(db: Database, limit: int = 50) -> list[Correction]:
    """The latest decided corrections, newest first."""
    return [_row(r) for r in db.execute(f"SELECT {_COLUMNS} FROM assessment_corrections WHERE outcome IS NOT NULL"
                                        " ORDER BY decided_pos DESC LIMIT ?", [limit])]


def corrected_subjects(db: Database, scope: str) -> dict[str, str]:
    """subject -> time of its last approved correction, for the lists that mark corrected ones."""
    return {s: t for s, t in db.execute("SELECT subject, max(decided_time) FROM assessment_corrections"
                                        " WHERE scope = ? AND outcome = 'approved' GROUP BY subject", [scope])}


def evidence_named(db: Database, sha256: str) -> Evidence | None:
    """The evidence entry naming this blob, if a correction names it (what may be served)."""
    pattern = f'%"sha256": "{sha256}"%'
    for (evidence,) in db.execute("SELECT evidence FROM assessment_corrections WHERE evidence LIKE ? LIMIT 5",
                                  [pattern]):
        for item in json.loads(evidence):
            found = Evidence.from_body(item)
            if found is not None and found.sha256 == sha256:
                return found
    return None
