"""Who looked at whose personal data, city-wide: the `access.logged` records of every place, as a table.

Central's own table (SQL here, beside the board's, rather than in store/): only central reads every
place's access records, to let a supervisor filter a year of them by person, place, action, case
and date in a fraction of a second; nodes keep theirs as records only. It is a projection like
the others (rebuilt by `Central.rebuild()`), fed by `project()` from every origin: each place
signs its own accesses, so a node's record counts for that node. The place is taken from the
signer, never from the body, for a node (a village cannot write "window:W06"); central's own say
which window or "central". The subject is stored as signed, i.e. masked; a body carrying a number
in clear (a faulty or hostile node) is masked again here, so this table never holds one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from casework.identity import mask_id, mask_name
from store.db import migrate

ACTIONS = ("unmask_id", "unmask_phone", "print_notice", "view_scan", "export")


def _create(db: Database) -> None:
    db.execute(
        "CREATE TABLE access_log (record_id TEXT PRIMARY KEY, origin TEXT NOT NULL, seq INTEGER NOT NULL,"
        " place TEXT NOT NULL, time TEXT NOT NULL, day TEXT NOT NULL, received_at TEXT NOT NULL DEFAULT '',"
        " username TEXT NOT NULL, staff_name TEXT NOT NULL, roles TEXT NOT NULL, action TEXT NOT NULL,"
        " case_number TEXT NOT NULL DEFAULT '', what TEXT NOT NULL DEFAULT '{}', subject_name TEXT NOT NULL DEFAULT '',"
        " subject_id TEXT NOT NULL DEFAULT '', reason_code TEXT NOT NULL DEFAULT '',"
        " reason_text TEXT NOT NULL DEFAULT '', rows INTEGER NOT NULL DEFAULT 0)")
    db.execute("CREATE INDEX access_log_day ON access_log (day, time)")
    db.execute("CREATE INDEX access_log_staff ON access_log (username, day)")
    db.execute("CREATE INDEX access_log_case ON access_log (case_number)")
    db.execute("CREATE INDEX access_log_place ON access_log (place, day)")


MIGRATIONS = [_create]


def ensure_schema(db: Database) -> None:
    migrate(db, "central_access", MIGRATIONS)


def reset(db: Database) -> None:
    db.conn.execute("DELETE FROM access_log")


def _text(value: Any, limit: int = 200) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _masked(value: str, mask: Any) -> str:
    return value if not value or "*" in value else mask(value)


def project(db: Database, record: Any, *, day: str, received_at: str | None) -> bool:
    """Store one access record; False (and nothing stored) for a body this table cannot use. Never
    raises for a bad body: sync must not stall on it (the record itself stays in the log)."""
    body = record.body
    if not isinstance(body, Mapping) or body.get("action") not in ACTIONS:
        return False
    staff = body.get("staff") if isinstance(body.get("staff"), Mapping) else {}
    if not _text(staff.get("username")):
        return False
    if record.origin == "C":
        place = _text(body.get("place"), 40)
        place = place if place.startswith("window:") or place == "central" else "central"
    else:
        place = f"node:{record.origin}"
    what = body.get("what") if isinstance(body.get("what"), Mapping) else {}
    subject = body.get("subject") if isinstance(body.get("subject"), Mapping) else {}
    reason = body.get("reason") if isinstance(body.get("reason"), Mapping) else {}
    roles = [r for r in staff.get("roles") or [] if isinstance(r, str)]
    rows = what.get("rows")
    db.conn.execute(
        "INSERT OR REPLACE INTO access_log (record_id, origin, seq, place, time, day, received_at, username,"
        " staff_name, roles, action, case_number, what, subject_name, subject_id, reason_code, reason_text, rows)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [record.id, record.origin, record.seq, place, record.time, day, received_at or "",
         _text(staff.get("username"), 64), _text(staff.get("name"), 64), " ".join(roles), body["action"],
         _text(body.get("case"), 64), json.dumps(what, ensure_ascii=False, sort_keys=True)[:1000],
         _masked(_text(subject.get("name"), 64), mask_name), _masked(_text(subject.get("id"), 40), mask_id),
         _text(reason.get("code"), 40), _text(reason.get("text")), rows if isinstance(rows, int) else 0])
    return True


@dataclass(frozen=True)
class Filter:
    """What the supervisor asked for; empty fields do not filter. Dates are China-time days (the
    record's own clock, which is what the person at the counter saw)."""

    staff: str = ""
    place: str = ""
    action: str = ""
    case: str = ""
    subject: str = ""
    date_from: str = ""
    date_to: str = ""

    def where(self) -> tuple[str, list[Any]]:
        clauses, args = [], []
        if self.staff:
            clauses.append("(username = ? OR staff_name = ?)")
            args += [self.staff, self.staff]
        if self.place:
            clauses.append("place = ?")
            args.append(self.place)
        if self.action:
            clauses.append("action = ?")
            args.append(self.action)
        if self.case:
            clauses.append("case_number = ?")
            args.append(self.case)
        if self.subject:
            clauses.append("(subject_name LIKE ? ESCAPE '\\' OR subject_id LIKE ? ESCAPE '\\')")
            pattern = "%" + self.subject.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            args += [pattern, pattern]
        if self.date_from:
            clauses.append("day >= ?")
            args.append(self.date_from)
        if self.date_to:
            clauses.append("day <= ?")
            args.append(self.date_to)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


@dataclass(frozen=True)
class Access:
    record_id: str
    origin: str
    place: str
    time: str
    received_at: str
    username: str
    staff_name: str
    roles: str
    action: str
    case_number: str
    what: dict[str, Any]
    subject_name: str
    subject_id: str
    reason_code: str
    reason_text: str
    rows: int


_COLUMNS = ("record_id, origin, place, time, received_at, username, staff_name, roles, action, case_number, what,"
            " subject_name, subject_id, reason_code, reason_text, rows")


def _access(row: tuple[Any, ...]) -> Access:
    values = list(row)
    try:
        values[10] = json.loads(values[10])
    except ValueError:
        values[10] = {}
    return Access(*values)


def search(db: Database, where: Filter, *, limit: int = 50, offset: int = 0) -> tuple[list[Access], int]:
    """The matching accesses, newest first, and how many match in all."""
    sql, args = where.where()
    total = db.execute(f"SELECT count(*) FROM access_log{sql}", args).fetchone()[0]
    rows = db.execute(f"SELECT {_COLUMNS} FROM access_log{sql} ORDER BY day DESC, time DESC, record_id"
                      " LIMIT ? OFFSET ?", [*args, limit, offset]).fetchall()
    return [_access(r) for r in rows], total


@dataclass(frozen=True)
class StaffCount:
    username: str
    staff_name: str
    places: str
    total: int
    by_action: dict[str, int]
    unusual: bool = False


UNUSUAL_FACTOR = 3
UNUSUAL_FLOOR = 20


def counts(db: Database, where: Filter) -> list[StaffCount]:
    """Accesses per member of staff under the filter, most first. A count stands out (`unusual`) when it
    is at least UNUSUAL_FLOOR and UNUSUAL_FACTOR times the median of everyone in the list: one clerk
    opening three times the scans of their colleagues is worth a question, whatever the absolute level."""
    sql, args = where.where()
    found: dict[str, dict[str, Any]] = {}
    for username, name, place, action, n in db.execute(
            f"SELECT username, max(staff_name), group_concat(DISTINCT place), action, count(*) FROM access_log{sql}"
            " GROUP BY username, action", args):
        entry = found.setdefault(username, {"name": name, "places": set(), "by": {}})
        entry["places"].update((place or "").split(","))
        entry["by"][action] = n
    rows = [StaffCount(u, e["name"], ", ".join(sorted(p for p in e["places"] if p)), sum(e["by"].values()), e["by"])
            for u, e in found.items()]
    rows.sort(key=lambda r: (-r.total, r.username))
    if rows:
        totals = sorted(r.total for r in rows)
        median = totals[len(totals) // 2] if len(totals) % 2 else (totals[len(totals) // 2 - 1] + totals[len(totals) // 2]) / 2
        rows = [StaffCount(r.username, r.staff_name, r.places, r.total, r.by_action,
                           len(rows) > 1 and r.total >= UNUSUAL_FLOOR and r.total >= UNUSUAL_FACTOR * median)
                for r in rows]
    return rows


def places(db: Database) -> list[str]:
    return [r[0] for r in db.execute("SELECT DISTINCT place FROM access_log ORDER BY place")]


def staff(db: Database) -> list[tuple[str, str]]:
    return [(u, n) for u, n in db.execute(
        "SELECT username, max(staff_name) FROM access_log GROUP BY username ORDER BY username")]
