"""The quarterly assessment's tables: a projection of central's `assessment.*` records, plus the
fee events of the case records that the system's proposals read.

Why central keeps its own tables here: the quarter's pages list every finding, bonus and decision
of eleven sub-centres with their evidence and must answer at once, and the proposals need the fee
events of a unit's cases in a quarter. The record log has no index by kind, and at a million
cases scanning it per page is out of the question; so the projector notes, as records arrive, the
few fee events an assessment may question (`assessment_fee_marks`), and the pages read those.

Tables (rebuilt by `Central.rebuild` from the log, identical):
- `assessment_entries`: one row per finding, bonus or proposal decision (kind finding | bonus |
  confirmed | dismissed), with its evidence / refs as JSON and, once withdrawn, the withdrawal.
- `assessment_published`: one row per published quarter: the signed scores, as the record has them.
- `assessment_fee_marks`: fee events of cases (see `FEE_MARKS`), by unit and day.

Rules the projection keeps (so that a record slipping past a page changes nothing): only records
signed by central count; nothing is added to, withdrawn from or decided for a published quarter;
the first publication of a quarter stands. A record that breaks them, or whose body is malformed,
is skipped with a warning in the log, never raised (sync must not stall).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from central import assessment_records as records
from central.evidence import Evidence
from central.quarters import day_of
from store.cases import get_case_row
from store.db import migrate
from sync.envelope import Record

log = logging.getLogger(__name__)

ENTRY_KINDS = {records.FINDING: "finding", records.BONUS: "bonus", records.CONFIRMED: "confirmed", records.DISMISSED: "dismissed"}

FEE_MARKS = {
    "paid_at_node": "a fee taken at a service point, not at the settlement centre",
    "refunded_at_node": "a fee refunded at a service point, not at the settlement centre",
    "assessed_at_node": "a payment notice issued at a service point (checked against the fee standards)",
    "refunded": "a fee refunded by the settlement centre (wrongly assessed or taken)",
    "card": "a supervision card for an unauthorised fee",
}
"""What the projector notes for the proposals of clause H02 (fee irregularities); the rule that
turns them into proposals is central.assessment_facts'."""


def _create(db: Database) -> None:
    db.execute(
        "CREATE TABLE assessment_entries (id TEXT PRIMARY KEY, pos INTEGER NOT NULL, kind TEXT NOT NULL,"
        " unit TEXT NOT NULL, quarter TEXT NOT NULL, clause TEXT NOT NULL, count INTEGER NOT NULL,"
        " source TEXT NOT NULL, day TEXT NOT NULL, deed TEXT NOT NULL, text TEXT NOT NULL,"
        " evidence TEXT NOT NULL, refs TEXT NOT NULL, left_out TEXT NOT NULL, facts TEXT NOT NULL,"
        " staff TEXT NOT NULL, time TEXT NOT NULL, withdrawn_by TEXT, withdrawn_reason TEXT,"
        " withdrawn_staff TEXT, withdrawn_time TEXT)")
    db.execute("CREATE INDEX assessment_entries_quarter ON assessment_entries (quarter, unit, pos)")
    db.execute(
        "CREATE TABLE assessment_published (quarter TEXT PRIMARY KEY, record_id TEXT NOT NULL,"
        " body TEXT NOT NULL, staff TEXT NOT NULL, time TEXT NOT NULL)")
    db.execute(
        "CREATE TABLE assessment_fee_marks (record_id TEXT NOT NULL, unit TEXT NOT NULL, day TEXT NOT NULL,"
        " case_number TEXT NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL, PRIMARY KEY (record_id, kind))")
    db.execute("CREATE INDEX assessment_fee_marks_unit ON assessment_fee_marks (unit, day)")


MIGRATIONS = [_create]


def ensure_schema(db: Database) -> None:
    migrate(db, "central_assessment", MIGRATIONS)


def reset(db: Database) -> None:
    for table in ("assessment_entries", "assessment_published", "assessment_fee_marks"):
        db.execute(f"DELETE FROM {table}")


# --- the projector ------------------------------------------------------------------------------

def _pos(db: Database, record_id: str) -> int:
    row = db.execute("SELECT pos FROM records WHERE id = ?", [record_id]).fetchone()
    return int(row[0]) if row else 0


def is_published(db: Database, quarter: str) -> bool:
    return db.execute("SELECT 1 FROM assessment_published WHERE quarter = ?", [quarter]).fetchone() is not None


def project(db: Database, record: Record) -> None:
    """Apply one record of any kind (cheap for the kinds this module ignores); never raises."""
    kind = record.kind
    try:
        if kind.startswith("case.fee_"):
            _fee_event(db, record)
        elif record.origin != "C":
            return
        elif kind == "supervision.card":
            _card(db, record)
        elif kind in records.KINDS and kind.startswith("assessment."):
            problem = _assessment(db, record)
            if problem:
                log.warning("%s %s not projected: %s", kind, record.id[:12], problem)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        log.warning("%s %s not projected (%s)", kind, record.id[:12], type(err).__name__)


def _assessment(db: Database, record: Record) -> str | None:
    body = record.body
    found = records.problems(record.kind, body)
    if found:
        return "; ".join(found)
    quarter = body["quarter"]
    if record.kind == records.PUBLISHED:
        db.execute("INSERT OR IGNORE INTO assessment_published (quarter, record_id, body, staff, time)"
                   " VALUES (?, ?, ?, ?, ?)",
                   [quarter, record.id, json.dumps(body, ensure_ascii=False, sort_keys=True), body["staff"],
                    record.time])
        return None
    if is_published(db, quarter):
        return f"{quarter} is published; its assessment is final"
    if record.kind == records.WITHDRAWN:
        row = db.execute("SELECT quarter, unit, withdrawn_by FROM assessment_entries WHERE id = ?",
                         [body["entry"]]).fetchone()
        if row is None or (row[0], row[1]) != (quarter, body["unit"]) or row[2] is not None:
            return "the entry is unknown, of another unit or quarter, or already withdrawn"
        db.execute("UPDATE assessment_entries SET withdrawn_by = ?, withdrawn_reason = ?, withdrawn_staff = ?,"
                   " withdrawn_time = ? WHERE id = ?",
                   [record.id, body["reason"], body["staff"], record.time, body["entry"]])
        return None
    entry_kind = ENTRY_KINDS[record.kind]
    day = body.get("checked_on") or body.get("awarded_on") or day_of(record.time)
    refs = body.get("refs", [])
    text = body.get("text") or body.get("reason") or body.get("note") or ""
    db.execute(
        "INSERT OR IGNORE INTO assessment_entries (id, pos, kind, unit, quarter, clause, count, source, day, deed,"
        " text, evidence, refs, left_out, facts, staff, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [record.id, _pos(db, record.id), entry_kind, body["unit"], quarter, body["clause"],
         body.get("count", len(refs) if entry_kind == "confirmed" else 1),
         body.get("source", "system" if entry_kind in ("confirmed", "dismissed") else ""), day,
         body.get("deed", ""), text, json.dumps(body.get("evidence", []), ensure_ascii=False),
         json.dumps(refs, ensure_ascii=False), json.dumps(body.get("left_out", []), ensure_ascii=False),
         json.dumps(body.get("facts", {}), ensure_ascii=False, sort_keys=True), body["staff"], record.time])
    return None


def _mark(db: Database, record: Record, unit: str, case: str, kind: str, detail: Any) -> None:
    db.execute("INSERT OR IGNORE INTO assessment_fee_marks (record_id, unit, day, case_number, kind, detail)"
               " VALUES (?, ?, ?, ?, ?, ?)",
               [record.id, unit, day_of(record.time), case, kind, json.dumps(detail, ensure_ascii=False)])


def _case_origin(db: Database, case: str) -> str | None:
    row = get_case_row(db, case)
    return row.origin if row is not None else None


def _fee_event(db: Database, record: Record) -> None:
    body = record.body
    case = body.get("case") if isinstance(body, dict) else None
    if not isinstance(case, str) or not case:
        return
    if record.origin != "C":
        kind = {"case.fee_paid": "paid_at_node", "case.fee_refunded": "refunded_at_node",
                "case.fee_assessed": "assessed_at_node"}.get(record.kind)
        if kind == "assessed_at_node":
            _mark(db, record, record.origin, case, kind, {"lines": body.get("lines", [])})
        elif kind:
            _mark(db, record, record.origin, case, kind, {"amount_fen": body.get("amount_fen")})
    elif record.kind == "case.fee_refunded":
        origin = _case_origin(db, case)
        if origin and origin != "C":
            _mark(db, record, origin, case, "refunded",
                  {"amount_fen": body.get("amount_fen"), "reason": str(body.get("reason", ""))[:500]})


def _card(db: Database, record: Record) -> None:
    body = record.body
    if not isinstance(body, dict) or body.get("reason") != "unauthorised_fee" or not isinstance(body.get("case"), str):
        return  # central.supervision_cards issues overdue cards today; a fee card counts as soon as one exists
    origin = _case_origin(db, body["case"])
    if origin and origin != "C":
        _mark(db, record, origin, body["case"], "card", {"colour": body.get("colour")})


# --- reads ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    """A finding, bonus or proposal decision as the quarter's pages show it."""

    id: str
    kind: str  # finding | bonus | confirmed | dismissed
    unit: str
    quarter: str
    clause: str
    count: int
    source: str
    day: str
    deed: str
    text: str
    evidence: tuple[Evidence, ...]
    refs: tuple[str, ...]
    left_out: tuple[str, ...]
    facts: dict[str, Any] = field(hash=False, compare=False)
    staff: str = ""
    time: str = ""
    withdrawn_by: str | None = None
    withdrawn_reason: str | None = None
    withdrawn_staff: str | None = None
    withdrawn_time: str | None = None
    corrected_by: str | None = None  # the approved correction that changed or added it (never stored here)

    @property
    def active(self) -> bool:
        return self.withdrawn_by is None


_COLUMNS = ("id, kind, unit, quarter, clause, count, source, day, deed, text, evidence, refs, left_out, facts,"
            " staff, time, withdrawn_by, withdrawn_reason, withdrawn_staff, withdrawn_time")


def _entry(row: tuple[Any, ...]) -> Entry:
    (rid, kind, unit, quarter, clause, count, source, day, deed, text, evidence, refs, left_out, facts, staff,
     time, w_by, w_reason, w_staff, w_time) = row
    items = tuple(e for e in (Evidence.from_body(x) for x in json.loads(evidence)) if e is not None)
    return Entry(rid, kind, unit, quarter, clause, count, source, day, deed, text, items,
                 tuple(json.loads(refs)), tuple(json.loads(left_out)), json.loads(facts), staff, time,
                 w_by, w_reason, w_staff, w_time)


def entries(db: Database, quarter: str, unit: str | None = None) -> list[Entry]:
    """Every entry of the quarter (of one unit), withdrawn ones included, in the order recorded."""
    sql = f"SELECT {_COLUMNS} FROM assessment_entries WHERE quarter = ?"
    args: list[Any] = [quarter]
    if unit is not None:
        sql += " AND unit = ?"
        args.append(unit)
    return [_entry(r) for r in db.execute(sql + " ORDER BY pos", args)]


def get_entry(db: Database, entry_id: str) -> Entry | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM assessment_entries WHERE id = ?", [entry_id]).fetchone()
    return _entry(row) if row else None


def evidence_named(db: Database, sha256: str) -> Evidence | None:
    """The evidence entry naming this blob, if any assessment record names it (what may be served)."""
    pattern = f'%"sha256": "{sha256}"%'
    for (evidence,) in db.execute("SELECT evidence FROM assessment_entries WHERE evidence LIKE ? LIMIT 5", [pattern]):
        for item in json.loads(evidence):
            found = Evidence.from_body(item)
            if found is not None and found.sha256 == sha256:
                return found
    return None


@dataclass(frozen=True)
class Published:
    quarter: str
    record_id: str
    body: dict[str, Any]
    staff: str
    time: str


def published(db: Database, quarter: str) -> Published | None:
    row = db.execute("SELECT quarter, record_id, body, staff, time FROM assessment_published WHERE quarter = ?",
                     [quarter]).fetchone()
    return Published(row[0], row[1], json.loads(row[2]), row[3], row[4]) if row else None


def published_quarters(db: Database) -> list[Published]:
    """Every published quarter, newest first."""
    return [Published(r[0], r[1], json.loads(r[2]), r[3], r[4]) for r in db.execute(
        "SELECT quarter, record_id, body, staff, time FROM assessment_published ORDER BY quarter DESC")]


@dataclass(frozen=True)
class FeeMark:
    record_id: str
    case: str
    kind: str
    day: str
    detail: dict[str, Any]


def fee_marks(db: Database, unit: str, first: str, last: str) -> list[FeeMark]:
    """Fee events noted for `unit` with a day in [first, last] (ISO dates), oldest first."""
    return [FeeMark(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in db.execute(
        "SELECT record_id, case_number, kind, day, detail FROM assessment_fee_marks"
        " WHERE unit = ? AND day >= ? AND day <= ? ORDER BY day, case_number", [unit, first, last])]


# --- reads of the cases projection for the proposals ----------------------------------------------

@dataclass(frozen=True)
class OverdueCase:
    number: str
    due_date: str
    finished_at: str | None  # None: still open


def overdue_cases(db: Database, unit: str, first: str, last: str, today: str) -> list[OverdueCase]:
    """Cases received at `unit` and still held by it, whose due date fell in [first, last] and had
    passed by `today`, finished after it or still open (see central.assessment_facts)."""
    rows = db.execute(
        "SELECT number, due_date, finished_at FROM cases WHERE origin = ? AND holder = ?"
        " AND due_date >= ? AND due_date <= ? AND due_date < ?"
        " AND (late = 1 OR (running = 1 AND finished_at IS NULL)) ORDER BY due_date, number",
        [unit, f"node:{unit}", first, last, today]).fetchall()
    return [OverdueCase(n, d, f) for n, d, f in rows]


def ratings(db: Database, unit: str, first: str, last: str,
            unfounded: Callable[[list[str]], set[str]] = lambda cases: set()) -> tuple[int, int, list[tuple[str, int]]]:
    """(satisfied, rated, [(case, level) rated 3 or lower]) over the cases received at `unit` and
    finished in [first, last] that were rated: the monthly report's definition (level 4-5 satisfied).
    A case whose bad review was found `unfounded` (an appeal upheld) counts as not rated."""
    rows = db.execute(
        "SELECT number, evaluation_level FROM cases WHERE origin = ? AND evaluation_level IS NOT NULL"
        " AND substr(finished_at, 1, 10) >= ? AND substr(finished_at, 1, 10) <= ? ORDER BY number",
        [unit, first, last]).fetchall()
    dropped = unfounded([n for n, level in rows if level <= 2])
    rows = [(n, level) for n, level in rows if n not in dropped]
    satisfied = sum(1 for _n, level in rows if level >= 4)
    return satisfied, len(rows), [(n, level) for n, level in rows if level < 4]
