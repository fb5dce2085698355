"""Evaluations (好差评) and the bad-review workflow as central's own tables.

Why central keeps its own tables: satisfaction rates per window, node and department over a period
need every rating with the unit it rates and the day central received it, and the bad-review list
needs each review's due date and where its call-back, rectification and appeal stand. Neither is in
the shared `cases` projection (one row per case, lowest level only), and the rules of the workflow
are central's (nodes never see review records).

Both tables are projections of records, rebuilt by `Central.rebuild()`:
- `review_evaluations`: one row per applied `case.evaluated` (any origin), with the unit rated,
  central's receipt time and, for a bad one (level 1-2), the workflow's columns, folded from central's
  `review.*` records by casework.reviews;
- `review_records`: which review records belong to which evaluation (the review page's timeline).

The unit rated (`rated_unit`) is fixed from the evaluation and the events its author had seen (its
`after` links), never from the time it was projected, so a rebuild or a late backfill gives the same
answer. The due date is `review_rectify_days` working days after central's receipt, on central's
calendar; it is recomputed when a calendar year is published or the setting changes, so it always
equals what a rebuild would compute (`configure`, `recompute_dues`).

A projection never raises on a bad record: a malformed body or a step the workflow does not allow
(two rectifications signed at once) is skipped and logged, as the other projectors do.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from casework import reviews
from casework.calendar import WorkCalendar
from casework.case_state import CaseState
from casework.cases import Event, fold
from casework.messages import RuleError
from store.db import migrate

log = logging.getLogger(__name__)
CHINA = dt.timezone(dt.timedelta(hours=8))
GROUPS = ("window", "node", "department")


def _create(db: Database) -> None:
    db.execute(
        "CREATE TABLE review_evaluations (id TEXT PRIMARY KEY, case_number TEXT NOT NULL, level INTEGER NOT NULL,"
        " reason TEXT NOT NULL, channel TEXT NOT NULL, real_name INTEGER NOT NULL, place TEXT NOT NULL,"
        " unit TEXT NOT NULL, window TEXT NOT NULL, node TEXT NOT NULL, department TEXT NOT NULL,"
        " item_code TEXT NOT NULL, item_name TEXT NOT NULL, received_at TEXT NOT NULL, received_day TEXT NOT NULL,"
        " bad INTEGER NOT NULL, due_date TEXT, due_provisional INTEGER NOT NULL DEFAULT 0, status TEXT,"
        " callbacks INTEGER NOT NULL DEFAULT 0, reached INTEGER NOT NULL DEFAULT 0, rectified_on TEXT,"
        " appeal TEXT NOT NULL DEFAULT '', appealed_by TEXT NOT NULL DEFAULT '', updated_at TEXT) WITHOUT ROWID")
    db.execute("CREATE INDEX review_evaluations_day ON review_evaluations (received_day)")
    db.execute("CREATE INDEX review_evaluations_case ON review_evaluations (case_number)")
    db.execute("CREATE INDEX review_evaluations_bad ON review_evaluations (status, due_date) WHERE bad = 1")
    db.execute("CREATE INDEX review_evaluations_unit ON review_evaluations (unit, received_day)")
    db.execute("CREATE TABLE review_records (evaluation TEXT NOT NULL, record_id TEXT NOT NULL, pos INTEGER NOT NULL,"
               " PRIMARY KEY (evaluation, record_id)) WITHOUT ROWID")
    db.execute("CREATE TABLE review_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    # a file that already holds evaluations (an upgrade) must have them projected: Central does it
    held = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'records'").fetchone()
    if held and db.execute("SELECT 1 FROM records WHERE kind IN ('case.evaluated', 'review.called_back',"
                           " 'review.rectified', 'review.appealed', 'review.appeal_decided') LIMIT 1").fetchone():
        db.execute("INSERT INTO review_settings VALUES ('backfill', '1')")


MIGRATIONS = [_create]


def ensure_schema(db: Database) -> None:
    migrate(db, "central_reviews", MIGRATIONS)


def reset(db: Database) -> None:
    db.execute("DELETE FROM review_evaluations")
    db.execute("DELETE FROM review_records")
    db.execute("DELETE FROM review_settings WHERE name = 'backfill'")


def _setting(db: Database, name: str) -> str | None:
    row = db.execute("SELECT value FROM review_settings WHERE name = ?", [name]).fetchone()
    return row[0] if row else None


def _set(db: Database, name: str, value: str) -> None:
    db.execute("INSERT INTO review_settings (name, value) VALUES (?, ?) ON CONFLICT (name)"
               " DO UPDATE SET value = excluded.value", [name, value])


def needs_backfill(db: Database) -> bool:
    """The tables were created on a file that already held evaluations: Central rebuilds them once."""
    return _setting(db, "backfill") == "1"


def cases_to_backfill(db: Database) -> list[str]:
    rows = db.execute("SELECT DISTINCT json_extract(raw, '$.body.case') FROM records WHERE kind = 'case.evaluated'")
    return [r[0] for r in rows if isinstance(r[0], str)]


def review_records_in_order(db: Database) -> list[tuple[bytes, bytes]]:
    return db.execute("SELECT raw, sig FROM records WHERE origin = 'C' AND kind IN (?, ?, ?, ?) ORDER BY pos",
                      list(reviews.KINDS)).fetchall()


def finish_backfill(db: Database) -> None:
    db.execute("DELETE FROM review_settings WHERE name = 'backfill'")


def configure(db: Database, days: int, calendar: WorkCalendar) -> bool:
    """Remember `review_rectify_days`; when it changed since the last start, every due date is
    recomputed (what a rebuild with the new setting would give). True if it changed."""
    if _setting(db, "rectify_days") == str(days):
        return False
    recompute_dues(db, calendar, days)
    _set(db, "rectify_days", str(days))
    return True


# --- projection ------------------------------------------------------------------------------------

def _parse_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=CHINA)).astimezone(CHINA)


def due_for(received_at: str, calendar: WorkCalendar, days: int) -> tuple[str | None, bool]:
    """(due date, provisional) for a bad review central received at `received_at`."""
    received = _parse_time(received_at)
    if received is None:
        return None, False
    try:
        due = calendar.add_working_days(received.replace(tzinfo=None), days, allow_provisional=True)
    except RuleError:
        return None, False
    return due.date.isoformat(), due.provisional


def recompute_dues(db: Database, calendar: WorkCalendar, days: int) -> int:
    """Every bad review's due date again (a calendar year was published, or the setting changed)."""
    rows = db.execute("SELECT id, received_at FROM review_evaluations WHERE bad = 1").fetchall()
    for rid, received_at in rows:
        due, provisional = due_for(received_at, calendar, days)
        db.execute("UPDATE review_evaluations SET due_date = ?, due_provisional = ? WHERE id = ?",
                   [due, int(provisional), rid])
    return len(rows)


def _seen_by(events: Sequence[Event], event: Event) -> list[Event]:
    """The events the author of `event` had applied: everything its `after` links reach."""
    by_id = {e.id: e for e in events}
    seen: dict[str, Event] = {}
    stack = list(event.body.get("after") or []) if isinstance(event.body, dict) else []
    while stack:
        rid = stack.pop()
        if not isinstance(rid, str) or rid in seen or rid not in by_id:
            continue
        seen[rid] = by_id[rid]
        after = by_id[rid].body.get("after") if isinstance(by_id[rid].body, dict) else None
        stack.extend(after if isinstance(after, list) else [after] if isinstance(after, str) else [])
    return list(seen.values())


def rated_unit(place: str, channel: str, holder_seen: str | None) -> str:
    """The unit a rating counts for.

    - given at a node (its counter screen, its paper forms, its phone calls): that node;
    - given at a central window's counter or on a paper form there: that window;
    - otherwise (the public page, an SMS reply, a call from the centre as a whole): the place that
      held the case when the rating was given, i.e. the one that handled it."""
    if place.startswith("node:"):
        return place
    if place.startswith("window:") and channel in ("counter", "paper"):
        return place
    return holder_seen or place


def project_case(db: Database, state: CaseState, events: Sequence[Event], *, calendar: WorkCalendar,
                 days: int) -> int:
    """Add the case's applied evaluations not yet in the table; returns how many were added."""
    if not state.evaluations or state.number is None:
        return 0
    ids = [e.event_id for e in state.evaluations]
    known = {r[0] for r in db.execute(
        f"SELECT id FROM review_evaluations WHERE id IN ({', '.join('?' for _ in ids)})", ids)}
    new = [e for e in state.evaluations if e.event_id not in known]
    if not new:
        return 0
    by_id = {e.id: e for e in events}
    item = state.item if isinstance(state.item, dict) else {}
    added = 0
    for evaluation in new:
        event = by_id.get(evaluation.event_id)
        if event is None:
            continue
        try:
            seen = fold(_seen_by(events, event), calendar=calendar)
            channel = evaluation.channel or "counter"
            unit = rated_unit(evaluation.place, channel, seen.holder or state.holder)
            received_at = event.received_time or event.origin_time
            received = _parse_time(received_at)
            if received is None:
                log.warning("evaluation %s has no readable time; not counted", event.id[:12])
                continue
            bad = reviews.is_bad(evaluation.level)
            due, provisional = due_for(received_at, calendar, days) if bad else (None, False)
            status = reviews.Review(real_name=evaluation.real_name).status if bad else None
            db.execute(
                "INSERT OR IGNORE INTO review_evaluations (id, case_number, level, reason, channel, real_name,"
                " place, unit, window, node, department, item_code, item_name, received_at, received_day, bad,"
                " due_date, due_provisional, status, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                " ?, ?, ?, ?, ?, ?, ?)",
                [evaluation.event_id, state.number, evaluation.level, evaluation.reason or "", channel,
                 int(evaluation.real_name), evaluation.place, unit,
                 unit.split(":", 1)[1] if unit.startswith("window:") else "",
                 unit.split(":", 1)[1] if unit.startswith("node:") else "",
                 str(item.get("department") or ""), str(item.get("code") or ""), str(item.get("name") or ""),
                 received.isoformat(timespec="seconds"), received.date().isoformat(), int(bad), due,
                 int(provisional), status, received.isoformat(timespec="seconds")])
            added += 1
        except (KeyError, TypeError, ValueError, AttributeError, RuleError) as exc:
            log.warning("evaluation %s not projected (%s)", evaluation.event_id[:12], type(exc).__name__)
    return added


def project_record(db: Database, record: Any, pos: int | None = None) -> bool:
    """Fold one of central's `review.*` records into its review; False (logged) if it is skipped."""
    body = record.body
    evaluation = body.get("evaluation") if isinstance(body, dict) else None
    row = get(db, evaluation) if isinstance(evaluation, str) else None
    if row is None or not row.bad:
        log.warning("%s %s names no bad review held here; skipped", record.kind, record.id[:12])
        return False
    when = _parse_time(record.time) or dt.datetime.now(CHINA)
    try:
        after = reviews.apply(row.review, record.kind, body, day=when.date())
    except RuleError as err:
        log.warning("%s %s skipped: %s", record.kind, record.id[:12], err.code)
        return False
    db.execute(
        "UPDATE review_evaluations SET status = ?, callbacks = ?, reached = ?, rectified_on = ?, appeal = ?,"
        " appealed_by = ?, updated_at = ? WHERE id = ?",
        [after.status, after.callbacks, int(after.reached),
         after.rectified_on.isoformat() if after.rectified_on else None, after.appeal, after.appealed_by,
         when.isoformat(timespec="seconds"), evaluation])
    if pos is None:
        found = db.execute("SELECT pos FROM records WHERE id = ?", [record.id]).fetchone()
        pos = found[0] if found else 0
    db.execute("INSERT OR IGNORE INTO review_records (evaluation, record_id, pos) VALUES (?, ?, ?)",
               [evaluation, record.id, pos])
    return True


# --- reading ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReviewRow:
    """One evaluation; the workflow columns mean something only for a bad one (`bad`)."""

    id: str
    case_number: str
    level: int
    reason: str
    channel: str
    real_name: bool
    place: str
    unit: str
    window: str
    node: str
    department: str
    item_code: str
    item_name: str
    received_at: str
    received_day: str
    bad: bool
    due_date: str | None
    due_provisional: bool
    status: str | None
    callbacks: int
    reached: bool
    rectified_on: str | None
    appeal: str
    appealed_by: str
    updated_at: str | None

    @property
    def review(self) -> reviews.Review:
        return reviews.Review(real_name=self.real_name, callbacks=self.callbacks, reached=self.reached,
                              rectified_on=dt.date.fromisoformat(self.rectified_on) if self.rectified_on else None,
                              appeal=self.appeal, appealed_by=self.appealed_by)

    @property
    def due(self) -> dt.date | None:
        return dt.date.fromisoformat(self.due_date) if self.due_date else None

    def overdue(self, today: dt.date) -> bool:
        return self.bad and self.review.overdue(self.due, today)

    def late(self, today: dt.date) -> bool:
        return self.bad and self.review.late(self.due, today)


_COLUMNS = ("id, case_number, level, reason, channel, real_name, place, unit, window, node, department, item_code,"
            " item_name, received_at, received_day, bad, due_date, due_provisional, status, callbacks, reached,"
            " rectified_on, appeal, appealed_by, updated_at")


def _row(values: Sequence[Any]) -> ReviewRow:
    v = list(values)
    for i in (5, 15, 17, 20):
        v[i] = bool(v[i])
    return ReviewRow(*v)


def get(db: Database, evaluation: str) -> ReviewRow | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM review_evaluations WHERE id = ?", [evaluation]).fetchone()
    return _row(row) if row else None


def of_case(db: Database, case: str) -> list[ReviewRow]:
    return [_row(r) for r in db.execute(
        f"SELECT {_COLUMNS} FROM review_evaluations WHERE case_number = ? ORDER BY received_at, id", [case])]


def record_ids(db: Database, evaluation: str) -> list[str]:
    """The review records of one evaluation, in the order central stored them."""
    return [r[0] for r in db.execute("SELECT record_id FROM review_records WHERE evaluation = ? ORDER BY pos",
                                     [evaluation])]


_OPEN_ORDER = "CASE WHEN status IN ('rectified', 'upheld') THEN 1 ELSE 0 END"


def bad_reviews(db: Database, *, today: dt.date, status: str = "", window: str = "", node: str = "",
                department: str = "", units: Iterable[str] | None = None, limit: int = 100,
                offset: int = 0) -> tuple[list[ReviewRow], int]:
    """Bad reviews, open ones first (earliest due first), then closed ones (newest first), and the
    total matching. `status` is a workflow status, or `open`, `overdue`, `late` (not put right by the
    due date), `rejected` (appeal rejected); `units` limits to those units (a window clerk's windows)."""
    where, args = ["bad = 1"], []
    for column, value in (("window", window), ("node", node), ("department", department)):
        if value:
            where.append(f"{column} = ?")
            args.append(value)
    if units is not None:
        chosen = sorted(set(units))
        if not chosen:
            return [], 0
        where.append(f"unit IN ({', '.join('?' for _ in chosen)})")
        args.extend(chosen)
    day = today.isoformat()
    if status == "open":
        where.append("status NOT IN ('rectified', 'upheld')")
    elif status == "overdue":
        where.append("status NOT IN ('rectified', 'upheld') AND due_date < ?")
        args.append(day)
    elif status == "late":
        where.append("appeal != 'upheld' AND ((rectified_on IS NULL AND due_date < ?) OR rectified_on > due_date)")
        args.append(day)
    elif status == "rejected":
        where.append("appeal = 'rejected'")
    elif status in reviews.STATUSES:
        where.append("status = ?")
        args.append(status)
    clause = " AND ".join(where)
    total = db.execute(f"SELECT count(*) FROM review_evaluations WHERE {clause}", args).fetchone()[0]
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM review_evaluations WHERE {clause} ORDER BY {_OPEN_ORDER},"
        f" CASE WHEN {_OPEN_ORDER} = 0 THEN due_date END, received_at DESC, id LIMIT ? OFFSET ?",
        [*args, limit, offset]).fetchall()
    return [_row(r) for r in rows], int(total)


def open_count(db: Database, *, units: Iterable[str] | None = None) -> int:
    rows, total = bad_reviews(db, today=dt.date.min, status="open", units=units, limit=0)
    del rows
    return total


@dataclass(frozen=True)
class SatisfactionRow:
    """Ratings of one window, node or department (`key`; '' for the total) over a period."""

    key: str
    rated: int = 0
    satisfied: int = 0
    acceptable: int = 0
    bad: int = 0
    upheld: int = 0

    @property
    def counted(self) -> int:
        """Ratings that count: an upheld appeal takes its review out."""
        return self.rated - self.upheld

    @property
    def pct(self) -> float | None:
        return reviews.satisfaction_pct(self.satisfied, self.counted)

    @property
    def below_target(self) -> bool:
        return self.pct is not None and self.pct < reviews.TARGET_PCT


def satisfaction(db: Database, first: dt.date, last: dt.date, group: str) -> list[SatisfactionRow]:
    """Ratings central received from `first` to `last` (inclusive), per window, node or department,
    lowest rate first. Satisfied = level 4-5; the rate is satisfied / (rated - upheld appeals)."""
    if group not in GROUPS:
        raise ValueError(group)
    rows = db.execute(
        f"SELECT {group}, count(*), sum(level >= 4), sum(level = 3), sum(level <= 2),"
        f" sum(level <= 2 AND appeal = 'upheld') FROM review_evaluations"
        f" WHERE received_day >= ? AND received_day <= ? AND {group} != '' GROUP BY 1",
        [first.isoformat(), last.isoformat()]).fetchall()
    found = [SatisfactionRow(str(r[0]), *(int(v or 0) for v in r[1:])) for r in rows]
    return sorted(found, key=lambda r: (r.pct if r.pct is not None else 101.0, -r.rated, r.key))


def satisfaction_total(db: Database, first: dt.date, last: dt.date) -> SatisfactionRow:
    r = db.execute(
        "SELECT count(*), sum(level >= 4), sum(level = 3), sum(level <= 2), sum(level <= 2 AND appeal = 'upheld')"
        " FROM review_evaluations WHERE received_day >= ? AND received_day <= ?",
        [first.isoformat(), last.isoformat()]).fetchone()
    return SatisfactionRow("", *(int(v or 0) for v in r))


def upheld_cases(db: Database, cases: list[str]) -> set[str]:
    """Those of `cases` with a bad review whose appeal was upheld: the review was unfounded, so a
    satisfaction figure over cases must not count the case's rating against its unit."""
    found: set[str] = set()
    for start in range(0, len(cases), 500):
        chunk = cases[start:start + 500]
        marks = ",".join("?" * len(chunk))
        found.update(r[0] for r in db.execute(
            f"SELECT DISTINCT case_number FROM review_evaluations WHERE appeal = 'upheld'"
            f" AND case_number IN ({marks})", chunk))
    return found


def unrectified(db: Database, node: str, first: dt.date, last: dt.date, *, today: dt.date) -> list[str]:
    """Case numbers of the unit's bad reviews received (by central) from `first` to `last` inclusive
    that were not put right by their due date: still open after it, or rectified after it. A review
    whose appeal was upheld is not one. `node` is a node id (`S01`, `T0101`) or a place
    (`node:S01`, `window:W05`). For the quarterly assessment's applicant-evaluation part."""
    unit = node if ":" in node else f"node:{node}"
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM review_evaluations WHERE bad = 1 AND unit = ? AND received_day >= ?"
        " AND received_day <= ? ORDER BY received_at, id", [unit, first.isoformat(), last.isoformat()]).fetchall()
    found: list[str] = []
    for row in map(_row, rows):
        if row.late(today) and row.case_number not in found:
            found.append(row.case_number)
    return found


def dump(db: Database) -> list[str]:
    """Every row of both tables as text, in a fixed order (tests compare a rebuild with this)."""
    out = [json.dumps(r) for r in db.execute("SELECT * FROM review_evaluations ORDER BY id").fetchall()]
    out += [json.dumps(r) for r in db.execute("SELECT * FROM review_records ORDER BY evaluation, record_id")]
    return out
