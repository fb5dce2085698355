"""Monthly reports the service points submit (`report.monthly` records), and whether they came in time.

A sub-centre signs its month's report at its own PC (node/monthly_report.py) and sync brings the
record here. This module keeps central's projection of those records, one row per record:

    report_submissions (record_id, pos, node, month, version, signer, counted, problem, detail,
                        body, origin_time, received_at)

It is central's own table (like board_store or card_store, SQL beside its projection) because only
central holds every node's reports and the receipt times that judge them; it is rebuilt from the
log by `Central.rebuild()`. A record counts only if it is signed by the node it names and its body
passes casework.monthly_report's checks; any other is kept with `counted = 0` and the reason
(`wrong_signer` or `invalid`), so a supervisor sees an attempt to report for someone else rather
than nothing. The projector never raises: a body too broken to name a node and month is skipped.

Timeliness is computed when asked, never stored: it depends on the holiday calendar (which central
may correct) and on the setting `monthly_report_due_workday` (central.toml). A month's report is
judged by when central FIRST received a counted version of it (`received_at`, central's own clock:
the legal time); a correction (version 2, 3...) supersedes the figures but not the arrival.
Central records the setting here when it opens (`configure`), so `late_or_missing`, which the
quarterly assessment calls with only a database, judges by the same day the page shows.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from casework import monthly_report as mr
from casework.calendar import WorkCalendar
from store.db import migrate
from store.directory import NodeRow
from sync.envelope import Record

log = logging.getLogger(__name__)
KIND = mr.KIND
WRONG_SIGNER, INVALID = "wrong_signer", "invalid"


def _create(db: Database) -> None:
    db.execute(
        "CREATE TABLE report_submissions (record_id TEXT PRIMARY KEY, pos INTEGER NOT NULL, node TEXT NOT NULL,"
        " month TEXT NOT NULL, version INTEGER NOT NULL, signer TEXT NOT NULL, counted INTEGER NOT NULL,"
        " problem TEXT NOT NULL, detail TEXT NOT NULL, body TEXT NOT NULL, origin_time TEXT NOT NULL,"
        " received_at TEXT NOT NULL)")
    db.execute("CREATE INDEX report_submissions_month ON report_submissions (month, node, pos)")
    db.execute("CREATE INDEX report_submissions_node ON report_submissions (node, month, pos)")
    db.execute("CREATE TABLE report_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)")


MIGRATIONS = [_create]


def ensure_schema(db: Database) -> None:
    migrate(db, "central_report_submissions", MIGRATIONS)


def reset(db: Database) -> None:
    """Empty the projection before a rebuild (the settings row is central's, not a projection)."""
    db.execute("DELETE FROM report_submissions")


def configure(db: Database, due_workday: int) -> None:
    """Record central.toml's `monthly_report_due_workday` (checked: 1-15; RuleError otherwise)."""
    mr.check_due_workday(due_workday)
    db.execute("INSERT INTO report_settings (name, value) VALUES ('due_workday', ?)"
               " ON CONFLICT (name) DO UPDATE SET value = excluded.value", [str(due_workday)])


def configured_due_workday(db: Database) -> int:
    """The due working day central was configured with (default 5 before it ever opened)."""
    row = db.execute("SELECT value FROM report_settings WHERE name = 'due_workday'").fetchone()
    return int(row[0]) if row else mr.DEFAULT_DUE_WORKDAY


# --- the projector --------------------------------------------------------------------------------

def project(db: Database, record: Record) -> None:
    """One stored `report.monthly` record (any origin) into the table; never raises."""
    body = record.body
    node = body.get("node") if isinstance(body, dict) else None
    month = body.get("month") if isinstance(body, dict) else None
    try:
        mr.parse_month(month if isinstance(month, str) else "")
    except ValueError:
        month = None
    if not isinstance(node, str) or not node or len(node) > 16 or month is None:
        log.warning("report.monthly %s from %s names no node or month: skipped", record.id[:12], record.origin)
        return
    problem, detail = "", ""
    if record.origin != node:
        problem, detail = WRONG_SIGNER, f"signed by {record.origin}, not by {node} which it names"
    else:
        found = mr.problems_of(body)
        if found:
            problem, detail = INVALID, "; ".join(p.error.english() for p in found)[:1000]
    version = body.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or not 0 < version < 2**31:
        version = 0
    row = db.execute("SELECT pos, received_at FROM records WHERE id = ?", [record.id]).fetchone()
    if row is None:
        return
    db.execute(
        "INSERT OR IGNORE INTO report_submissions (record_id, pos, node, month, version, signer, counted, problem,"
        " detail, body, origin_time, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [record.id, row[0], node, month, version, record.origin, int(not problem), problem, detail,
         json.dumps(body, ensure_ascii=False, sort_keys=True), record.time, row[1]])


# --- reading --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Submission:
    """One `report.monthly` record as central holds it."""

    record_id: str
    pos: int
    node: str
    month: str
    version: int
    signer: str
    counted: bool
    problem: str
    detail: str
    body: dict[str, Any]
    origin_time: str
    received_at: str

    @property
    def received(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.received_at)


_COLUMNS = ("record_id, pos, node, month, version, signer, counted, problem, detail, body, origin_time,"
            " received_at")


def _row(row: tuple[Any, ...]) -> Submission:
    values = list(row)
    values[6] = bool(values[6])
    values[9] = json.loads(values[9])
    return Submission(*values)


def of_month(db: Database, month: str) -> list[Submission]:
    """Every report record naming `month`, in the order central received them."""
    return [_row(r) for r in db.execute(
        f"SELECT {_COLUMNS} FROM report_submissions WHERE month = ? ORDER BY pos", [month])]


def of_node(db: Database, node: str, month: str | None = None) -> list[Submission]:
    """Every report record naming `node` (for one month, or all), in the order central received them."""
    sql = f"SELECT {_COLUMNS} FROM report_submissions WHERE node = ?"
    args: list[Any] = [node]
    if month is not None:
        sql += " AND month = ?"
        args.append(month)
    return [_row(r) for r in db.execute(sql + " ORDER BY pos", args)]


def get(db: Database, record_id: str) -> Submission | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM report_submissions WHERE record_id = ?", [record_id]).fetchone()
    return _row(row) if row else None


def joined_on(db: Database) -> dict[str, dt.date]:
    """node -> the day central first enrolled it (a node owes no report for months before it joined)."""
    found: dict[str, dt.date] = {}
    for raw, received in db.execute(
            "SELECT raw, received_at FROM records WHERE kind = 'node.enrolled' AND origin = 'C' ORDER BY pos"):
        try:
            node = json.loads(raw)["body"]["node"]
            day = mr.received_day(dt.datetime.fromisoformat(received))
        except (KeyError, TypeError, ValueError):
            continue
        if isinstance(node, str) and node not in found:
            found[node] = day
    return found


@dataclass(frozen=True)
class MonthStatus:
    """Where one service point's report for one month stands."""

    node: str
    name: str
    timeliness: mr.Timeliness
    versions: list[Submission] = field(default_factory=list)    # counted ones, in arrival order
    refused: list[Submission] = field(default_factory=list)     # naming this node, not counted

    @property
    def first(self) -> Submission | None:
        return self.versions[0] if self.versions else None

    @property
    def current(self) -> Submission | None:
        """The version that stands: the highest version number, the latest to arrive among equals."""
        return max(self.versions, key=lambda s: (s.version, s.pos)) if self.versions else None

    @property
    def corrected(self) -> bool:
        return len(self.versions) > 1


def _status(node: str, name: str, month: str, subs: list[Submission], *, calendar: WorkCalendar, today: dt.date,
            workday: int, joined: dt.date | None) -> MonthStatus:
    counted = [s for s in subs if s.counted]
    first = counted[0].received if counted else None
    judged = mr.timeliness(calendar, month, first_received=first, today=today, workday=workday, joined=joined)
    return MonthStatus(node, name, judged, counted, [s for s in subs if not s.counted])


def month_statuses(db: Database, month: str, nodes: Iterable[NodeRow], *, calendar: WorkCalendar,
                   today: dt.date) -> list[MonthStatus]:
    """The status of `month`'s report for each of `nodes` (the directory's rows), in their order."""
    workday = configured_due_workday(db)
    joined = joined_on(db)
    by_node: dict[str, list[Submission]] = {}
    for sub in of_month(db, month):
        by_node.setdefault(sub.node, []).append(sub)
    return [_status(n.node, n.name, month, by_node.get(n.node, []), calendar=calendar, today=today,
                    workday=workday, joined=joined.get(n.node)) for n in nodes]


def late_or_missing(db: Database, node: str, first: dt.date, last: dt.date, *, today: dt.date,
                    calendar: WorkCalendar, due_workday: int | None = None) -> list[str]:
    """The months (YYYY-MM) whose report from `node` was due on a day in [first, last] and arrived
    late, or has not arrived although its due day has passed (before `today`). For the quarterly
    assessment (scorecard clause K03); `due_workday` defaults to central's setting."""
    workday = due_workday if due_workday is not None else configured_due_workday(db)
    joined = joined_on(db).get(node)
    found = []
    for month in mr.months_due_within(first, last, calendar, workday):
        subs = of_node(db, node, month)
        if _status(node, node, month, subs, calendar=calendar, today=today, workday=workday,
                   joined=joined).timeliness.counts_against:
            found.append(month)
    return found
