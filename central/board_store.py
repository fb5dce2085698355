"""The supervision board's projection: one row per case in the city, as central last folded it.

Why central keeps its own table instead of only store's: the board and the window queues must
answer over a million cases in well under 200 ms, so they need columns and indexes no node needs
(the queue a case stands in, green-channel first, open cases only) and a row per case that is a
pure function of the fold (casework.cases.fold), rebuilt from the log like every projection.

`board_events` lists which records belong to which case, so a case is folded again from exactly
its own records whenever one arrives (the fold is order-independent: any arrival order gives the
same row).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from store.db import migrate


def _create(db: Database) -> None:
    db.execute(
        "CREATE TABLE board_cases ("
        " number TEXT PRIMARY KEY,"
        " item_code TEXT NOT NULL, item_name TEXT NOT NULL, item_kind TEXT NOT NULL,"
        " department TEXT NOT NULL, window TEXT NOT NULL,"
        " holder TEXT NOT NULL, queue TEXT NOT NULL,"  # queue: the next holder while forwarded
        " status TEXT NOT NULL, open INTEGER NOT NULL, green INTEGER NOT NULL,"
        " node TEXT NOT NULL,"  # the node that received it ('' when taken in at a central window)
        " received_day TEXT NOT NULL, due_sort TEXT NOT NULL,"  # due_sort '9999-12-31' without a due date
        " card TEXT, applicant TEXT NOT NULL, phone TEXT,"
        " conflicts INTEGER NOT NULL, outstanding_fen INTEGER NOT NULL, pre_fee_unpaid INTEGER NOT NULL,"
        " joint TEXT NOT NULL,"  # windows asked for a joint opinion and not yet answered, ' W07 W12 '
        " updated_at TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX board_queue ON board_cases (queue, open, green DESC, due_sort)")
    db.execute("CREATE INDEX board_open ON board_cases (open, department, window, node, status, due_sort)")
    db.execute("CREATE INDEX board_card ON board_cases (card) WHERE card IS NOT NULL")
    db.execute("CREATE INDEX board_due ON board_cases (open, due_sort)")
    db.execute(
        "CREATE TABLE board_events (case_number TEXT NOT NULL, record_id TEXT NOT NULL,"
        " PRIMARY KEY (case_number, record_id)) WITHOUT ROWID"
    )


def _board_indexes(db: Database) -> None:
    """The node tally and the joint-opinion list stay fast with a million cases (bench/central_board.py)."""
    db.execute("CREATE INDEX board_node ON board_cases (open, node, status, due_sort)")
    db.execute("CREATE INDEX board_joint ON board_cases (open) WHERE joint != ''")


def _received_index(db: Database) -> None:
    """The board's chart of cases received per day counts a month of cases from this index alone
    (received_day, then node: at a service point or at a city window), never the table."""
    db.execute("CREATE INDEX board_received ON board_cases (received_day, node)")


MIGRATIONS = [_create, _board_indexes, _received_index]


def ensure_schema(db: Database) -> None:
    migrate(db, "central_board", MIGRATIONS)


def reset(db: Database) -> None:
    db.execute("DELETE FROM board_cases")
    db.execute("DELETE FROM board_events")


def add_event(db: Database, case: str, record_id: str) -> None:
    db.execute("INSERT OR IGNORE INTO board_events (case_number, record_id) VALUES (?, ?)", [case, record_id])


def event_rows(db: Database, case: str) -> list[tuple[Any, ...]]:
    """(id, origin, seq, kind, raw, sig, origin_time, received_at) of the case's records."""
    return db.execute(
        "SELECT r.id, r.origin, r.seq, r.kind, r.raw, r.sig, r.origin_time, r.received_at"
        " FROM board_events e JOIN records r ON r.id = e.record_id WHERE e.case_number = ?"
        " ORDER BY r.pos", [case]).fetchall()


BOARD_COLUMNS = (
    "number", "item_code", "item_name", "item_kind", "department", "window", "holder", "queue", "status",
    "open", "green", "node", "received_day", "due_sort", "card", "applicant", "phone", "conflicts",
    "outstanding_fen", "pre_fee_unpaid", "joint", "updated_at",
)
NO_DUE = "9999-12-31"


def upsert(db: Database, row: dict[str, Any]) -> None:
    marks = ", ".join("?" for _ in BOARD_COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in BOARD_COLUMNS[1:])
    db.execute(
        f"INSERT INTO board_cases ({', '.join(BOARD_COLUMNS)}) VALUES ({marks})"
        f" ON CONFLICT (number) DO UPDATE SET {updates}",
        [row[c] for c in BOARD_COLUMNS])


def insert_many(db: Database, rows: Iterable[Sequence[Any]]) -> None:
    """Bulk load (the benchmark): rows in BOARD_COLUMNS order."""
    marks = ", ".join("?" for _ in BOARD_COLUMNS)
    db.conn.executemany(f"INSERT INTO board_cases ({', '.join(BOARD_COLUMNS)}) VALUES ({marks})", rows)


# --- reading ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class CaseRow:
    number: str
    item_code: str
    item_name: str
    item_kind: str
    department: str
    window: str
    holder: str
    queue: str
    status: str
    open: int
    green: int
    node: str
    received_day: str
    due_sort: str
    card: str | None
    applicant: str
    phone: str | None
    conflicts: int
    outstanding_fen: int
    pre_fee_unpaid: int
    joint: str
    updated_at: str

    @property
    def due_date(self) -> str | None:
        return None if self.due_sort == NO_DUE else self.due_sort

    def light(self, today: dt.date, soon: dt.date) -> str:
        """red (overdue), yellow (due by `soon`), or '' (on time / no due date / closed)."""
        if not self.open or self.due_date is None or self.status == "paused":
            return ""
        if self.due_sort < today.isoformat():
            return "red"
        if self.due_sort <= soon.isoformat():
            return "yellow"
        return ""


_SELECT = f"SELECT {', '.join(BOARD_COLUMNS)} FROM board_cases"


def get(db: Database, number: str) -> CaseRow | None:
    row = db.execute(f"{_SELECT} WHERE number = ?", [number]).fetchone()
    return CaseRow(*row) if row else None


def queue(db: Database, place: str, *, limit: int = 100, offset: int = 0) -> list[CaseRow]:
    """A window's (or node's) queue: green channel (service card) first, then by due date."""
    rows = db.execute(
        f"{_SELECT} WHERE queue = ? AND open = 1 ORDER BY green DESC, due_sort, number LIMIT ? OFFSET ?",
        [place, limit, offset]).fetchall()
    return [CaseRow(*r) for r in rows]


def queue_count(db: Database, place: str) -> int:
    return db.execute("SELECT count(*) FROM board_cases WHERE queue = ? AND open = 1", [place]).fetchone()[0]


def joint_requests(db: Database, window: str, *, limit: int = 50) -> list[CaseRow]:
    """Open cases held elsewhere that ask this window for its joint opinion."""
    rows = db.execute(f"{_SELECT} WHERE joint != '' AND open = 1 AND joint LIKE ? ORDER BY due_sort LIMIT ?",
                      [f"% {window} %", limit]).fetchall()
    return [CaseRow(*r) for r in rows]


def by_card(db: Database, card: str) -> list[CaseRow]:
    rows = db.execute(f"{_SELECT} WHERE card = ? ORDER BY received_day, number", [card]).fetchall()
    return [CaseRow(*r) for r in rows]


@dataclass(frozen=True)
class Tally:
    """Open cases of one group on the board."""

    key: str
    open: int = 0
    overdue: int = 0
    due_soon: int = 0
    paused: int = 0
    waiting: int = 0


def tallies(db: Database, group: str, today: dt.date, soon: dt.date) -> list[Tally]:
    """Open cases per department, window or node, with the board's colours counted."""
    if group not in ("department", "window", "node"):
        raise ValueError(group)
    t, s = today.isoformat(), soon.isoformat()
    rows = db.execute(
        f"SELECT {group}, count(*),"
        " sum(status != 'paused' AND due_sort < ?),"
        " sum(status != 'paused' AND due_sort >= ? AND due_sort <= ?),"
        " sum(status = 'paused'), sum(status = 'waiting_supplement')"
        f" FROM board_cases INDEXED BY board_open WHERE open = 1 GROUP BY {group} ORDER BY {group}",
        [t, t, s]).fetchall()
    return [Tally(str(r[0]), r[1], r[2] or 0, r[3] or 0, r[4] or 0, r[5] or 0) for r in rows]


_COUNTS = ("count(*), sum(status != 'paused' AND due_sort < :t),"
           " sum(status != 'paused' AND due_sort >= :t AND due_sort <= :s),"
           " sum(status = 'paused'), sum(status = 'waiting_supplement')")


def tallies_all(db: Database, today: dt.date, soon: dt.date) -> dict[str, list[Tally]]:
    """The board's three tables (per department, window, node) in two index-only scans of the
    open cases: (department, window) follows the covering index board_open and node board_node,
    so SQLite never sorts. With a million cases the board costs these two scans of the open ones."""
    args = {"t": today.isoformat(), "s": soon.isoformat()}
    sums: dict[str, dict[str, list[int]]] = {"department": {}, "window": {}}
    for department, window, *counts in db.execute(
            f"SELECT department, window, {_COUNTS} FROM board_cases INDEXED BY board_open WHERE open = 1"
            " GROUP BY department, window", args):
        for group, key in (("department", department), ("window", window)):
            acc = sums[group].setdefault(str(key), [0, 0, 0, 0, 0])
            for i, value in enumerate(counts):
                acc[i] += value or 0
    result = {group: [Tally(key, *acc) for key, acc in sorted(found.items())] for group, found in sums.items()}
    result["node"] = [Tally(str(r[0]), *(v or 0 for v in r[1:])) for r in db.execute(
        f"SELECT node, {_COUNTS} FROM board_cases INDEXED BY board_node WHERE open = 1 GROUP BY node", args)]
    return result


def received_per_day(db: Database, first: dt.date, last: dt.date) -> dict[str, tuple[int, int]]:
    """Cases received on each day from `first` to `last` (inclusive, ISO day -> (at service points,
    at city windows)); open or closed alike. A range scan of the index board_received."""
    counts: dict[str, tuple[int, int]] = {}
    for day, at_node, n in db.execute(
            "SELECT received_day, node != '', count(*) FROM board_cases INDEXED BY board_received"
            " WHERE received_day >= ? AND received_day <= ? GROUP BY received_day, node != ''",
            [first.isoformat(), last.isoformat()]):
        nodes, windows = counts.get(day, (0, 0))
        counts[day] = (nodes + n, windows) if at_node else (nodes, windows + n)
    return counts


def total(tallies_: Sequence[Tally]) -> Tally:
    return Tally("", *(sum(getattr(x, f) for x in tallies_) for f in ("open", "overdue", "due_soon", "paused",
                                                                       "waiting")))


def listing(db: Database, *, light: str = "", status: str = "", department: str = "", window: str = "",
            node: str = "", today: dt.date, soon: dt.date, limit: int = 50, offset: int = 0) -> list[CaseRow]:
    """Open cases for the board's list, most urgent first, filtered by colour, status or group."""
    where, args = ["open = 1"], []
    if light == "red":
        where += ["status != 'paused'", "due_sort < ?"]
        args.append(today.isoformat())
    elif light == "yellow":
        where += ["status != 'paused'", "due_sort >= ?", "due_sort <= ?"]
        args += [today.isoformat(), soon.isoformat()]
    if status:
        where.append("status = ?")
        args.append(status)
    for name, value in (("department", department), ("window", window), ("node", node)):
        if value:
            where.append(f"{name} = ?")
            args.append(value)
    rows = db.execute(f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY due_sort, number LIMIT ? OFFSET ?",
                      [*args, limit, offset]).fetchall()
    return [CaseRow(*r) for r in rows]


def search(db: Database, text: str, *, limit: int = 50) -> list[CaseRow]:
    """By case number (exact or prefix) or card number."""
    text = text.strip().upper()
    rows = db.execute(f"{_SELECT} WHERE number >= ? AND number < ? OR card = ? ORDER BY number LIMIT ?",
                      [text, text + "\uffff", text, limit]).fetchall()
    return [CaseRow(*r) for r in rows]


def overdue_open(db: Database, today: dt.date, *, limit: int = 10_000) -> list[CaseRow]:
    rows = db.execute(f"{_SELECT} INDEXED BY board_due WHERE open = 1 AND status != 'paused' AND due_sort < ?"
                      " ORDER BY due_sort LIMIT ?", [today.isoformat(), limit]).fetchall()
    return [CaseRow(*r) for r in rows]


def count_central_cases_on(db: Database, prefix: str) -> int:
    """How many case numbers start with `prefix` (central's per-day counter: `C-261125-`)."""
    return db.execute("SELECT count(*) FROM board_cases WHERE number >= ? AND number < ?",
                      [prefix, prefix + "\uffff"]).fetchone()[0]
