"""The settlement centre's projection: payment notices, payments, refunds and refund requests.

Every fen is a signed record (`case.fee_assessed`, `case.fee_paid`, `case.fee_refunded`,
`settlement.refund_requested`); these tables only index them by day, window, department, method
and notice number so the cashier's screens and the daily reconciliation are quick. The
reconciliation itself adds the same entries three ways (per window, per department, per method)
and compares each sum with the sum of the records, to the fen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from store.db import migrate


def _create(db: Database) -> None:
    db.execute(
        "CREATE TABLE settlement_notices (assessment TEXT PRIMARY KEY, case_number TEXT NOT NULL,"
        " number TEXT NOT NULL UNIQUE, window TEXT NOT NULL, department TEXT NOT NULL,"
        " total_fen INTEGER NOT NULL, pre_fee_fen INTEGER NOT NULL, day TEXT NOT NULL, lines TEXT NOT NULL,"
        " paid_fen INTEGER NOT NULL DEFAULT 0, refunded_fen INTEGER NOT NULL DEFAULT 0)")
    db.execute("CREATE INDEX settlement_notices_case ON settlement_notices (case_number)")
    db.execute("CREATE INDEX settlement_notices_unpaid ON settlement_notices (paid_fen, day)")
    db.execute(
        "CREATE TABLE settlement_entries (record_id TEXT PRIMARY KEY, case_number TEXT NOT NULL,"
        " assessment TEXT NOT NULL, kind TEXT NOT NULL, amount_fen INTEGER NOT NULL, method TEXT NOT NULL,"
        " reference TEXT NOT NULL, receipt TEXT NOT NULL, window TEXT NOT NULL, department TEXT NOT NULL,"
        " cashier TEXT NOT NULL, approved_by TEXT NOT NULL, day TEXT NOT NULL, time TEXT NOT NULL)")
    db.execute("CREATE INDEX settlement_entries_day ON settlement_entries (day, window)")
    db.execute(
        "CREATE TABLE settlement_refund_requests (request TEXT PRIMARY KEY, case_number TEXT NOT NULL,"
        " assessment TEXT NOT NULL, amount_fen INTEGER NOT NULL, reason TEXT NOT NULL,"
        " requested_by TEXT NOT NULL, day TEXT NOT NULL, refund_record TEXT, approved_by TEXT)")


MIGRATIONS = [_create]


def ensure_schema(db: Database) -> None:
    migrate(db, "central_settlement", MIGRATIONS)


def reset(db: Database) -> None:
    for table in ("settlement_notices", "settlement_entries", "settlement_refund_requests"):
        db.execute(f"DELETE FROM {table}")


def add_notice(db: Database, *, assessment: str, case: str, number: str, window: str, department: str,
               total_fen: int, pre_fee_fen: int, day: str, lines: str) -> None:
    db.execute("INSERT OR IGNORE INTO settlement_notices (assessment, case_number, number, window, department,"
               " total_fen, pre_fee_fen, day, lines) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
               [assessment, case, number, window, department, total_fen, pre_fee_fen, day, lines])


def add_entry(db: Database, *, record_id: str, case: str, assessment: str, kind: str, amount_fen: int,
              method: str, reference: str, receipt: str, cashier: str, approved_by: str, day: str,
              time: str) -> None:
    notice = db.execute("SELECT window, department FROM settlement_notices WHERE assessment = ?",
                        [assessment]).fetchone()
    window, department = notice if notice else ("?", "?")
    cursor = db.execute(
        "INSERT OR IGNORE INTO settlement_entries (record_id, case_number, assessment, kind, amount_fen, method,"
        " reference, receipt, window, department, cashier, approved_by, day, time)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [record_id, case, assessment, kind, amount_fen, method, reference, receipt, window, department,
         cashier, approved_by, day, time])
    if cursor.rowcount:
        column = "paid_fen" if kind == "paid" else "refunded_fen"
        db.execute(f"UPDATE settlement_notices SET {column} = {column} + ? WHERE assessment = ?",
                   [amount_fen, assessment])


def add_refund_request(db: Database, *, request: str, case: str, assessment: str, amount_fen: int, reason: str,
                       requested_by: str, day: str) -> None:
    db.execute("INSERT OR IGNORE INTO settlement_refund_requests (request, case_number, assessment, amount_fen,"
               " reason, requested_by, day) VALUES (?, ?, ?, ?, ?, ?, ?)",
               [request, case, assessment, amount_fen, reason, requested_by, day])


def close_refund_request(db: Database, request: str, refund_record: str, approved_by: str) -> None:
    db.execute("UPDATE settlement_refund_requests SET refund_record = ?, approved_by = ? WHERE request = ?",
               [refund_record, approved_by, request])


# --- reading ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Notice:
    assessment: str
    case_number: str
    number: str
    window: str
    department: str
    total_fen: int
    pre_fee_fen: int
    day: str
    lines: str
    paid_fen: int
    refunded_fen: int


_NOTICE = ("SELECT assessment, case_number, number, window, department, total_fen, pre_fee_fen, day, lines,"
           " paid_fen, refunded_fen FROM settlement_notices")


def notice_by_number(db: Database, number: str) -> Notice | None:
    row = db.execute(f"{_NOTICE} WHERE number = ?", [number]).fetchone()
    return Notice(*row) if row else None


def notice(db: Database, assessment: str) -> Notice | None:
    row = db.execute(f"{_NOTICE} WHERE assessment = ?", [assessment]).fetchone()
    return Notice(*row) if row else None


def notices_of_case(db: Database, case: str) -> list[Notice]:
    return [Notice(*r) for r in db.execute(f"{_NOTICE} WHERE case_number = ? ORDER BY day, number", [case])]


def unpaid_notices(db: Database, *, limit: int = 100) -> list[Notice]:
    return [Notice(*r) for r in db.execute(f"{_NOTICE} WHERE paid_fen = 0 AND total_fen > 0"
                                           " ORDER BY day DESC, number LIMIT ?", [limit])]


def count_notices_on(db: Database, prefix: str) -> int:
    return db.execute("SELECT count(*) FROM settlement_notices WHERE number >= ? AND number < ?",
                      [prefix, prefix + "\uffff"]).fetchone()[0]


def entries_on(db: Database, day: str) -> list[dict[str, Any]]:
    cols = ["record_id", "case_number", "assessment", "kind", "amount_fen", "method", "reference", "receipt",
            "window", "department", "cashier", "approved_by", "day", "time"]
    rows = db.execute(f"SELECT {', '.join(cols)} FROM settlement_entries WHERE day = ? ORDER BY time, record_id",
                      [day]).fetchall()
    return [dict(zip(cols, r, strict=True)) for r in rows]


def sums_on(db: Database, day: str, group: str) -> list[tuple[str, int, int, int]]:
    """(key, paid, refunded, net) in fen per window, department or method for `day`."""
    if group not in ("window", "department", "method", "cashier"):
        raise ValueError(group)
    rows = db.execute(
        f"SELECT {group}, sum(CASE WHEN kind = 'paid' THEN amount_fen ELSE 0 END),"
        " sum(CASE WHEN kind = 'refunded' THEN amount_fen ELSE 0 END)"
        f" FROM settlement_entries WHERE day = ? GROUP BY {group} ORDER BY {group}", [day]).fetchall()
    return [(r[0], r[1], r[2], r[1] - r[2]) for r in rows]


@dataclass(frozen=True)
class RefundRequest:
    request: str
    case_number: str
    assessment: str
    amount_fen: int
    reason: str
    requested_by: str
    day: str
    refund_record: str | None
    approved_by: str | None


_REQ = ("SELECT request, case_number, assessment, amount_fen, reason, requested_by, day, refund_record,"
        " approved_by FROM settlement_refund_requests")


def open_refund_requests(db: Database) -> list[RefundRequest]:
    return [RefundRequest(*r) for r in db.execute(f"{_REQ} WHERE refund_record IS NULL ORDER BY day, request")]


def refund_request(db: Database, request: str) -> RefundRequest | None:
    row = db.execute(f"{_REQ} WHERE request = ?", [request]).fetchone()
    return RefundRequest(*row) if row else None


_ENTRY_COLS = ["record_id", "case_number", "assessment", "kind", "amount_fen", "method", "reference", "receipt",
               "window", "department", "cashier", "approved_by", "day", "time"]


def entry(db: Database, record_id: str) -> dict[str, Any] | None:
    row = db.execute(f"SELECT {', '.join(_ENTRY_COLS)} FROM settlement_entries WHERE record_id = ?",
                     [record_id]).fetchone()
    return dict(zip(_ENTRY_COLS, row, strict=True)) if row else None


def entries_of_assessment(db: Database, assessment: str) -> list[dict[str, Any]]:
    rows = db.execute(f"SELECT {', '.join(_ENTRY_COLS)} FROM settlement_entries WHERE assessment = ?"
                      " ORDER BY time, record_id", [assessment]).fetchall()
    return [dict(zip(_ENTRY_COLS, r, strict=True)) for r in rows]
