"""The monthly case report (月度办件报表): per node, department, window or item, from the `cases` projection.

Both apps hold the same `cases` projection (store.cases), so this one module answers central's
city-wide report and a service point's own report (`node=`) with the same definitions: a
sub-centre's submitted figures and central's recomputation of them can only differ when the two
hold different records, which is what central's check of submitted reports looks for.

Every figure is a count over the projection's rows, which are folds of the signed records, so a
report can always be recomputed from the record log. For month M (``YYYY-MM``):

- received: cases received in M; accepted: accepted in M; finished: finished (办结) in M;
- on_time_pct: of those finished in M, the share finished on or before their due date (None if none);
- overdue: finished in M after their due date, plus cases still running whose due date passed before
  the end of M (or before today, for the current month);
- returned / refused: cases closed in M as 退件 / 不予受理;
- fees_fen: net fees (paid minus refunded) of the cases received in M, in fen;
- satisfaction_pct: of the cases finished in M that were evaluated, the share rated 4 or 5.

"node" means the service point that received the case (the `origin` column: a case a village
forwarded to its town counts in the village's report, wherever it was finished).

The open-case part of `overdue` reads each case's state as it is now, not as it was on the last day
of M: a past month's figure can drop when a late case is finished afterwards (it then counts in the
month it finished, as late). Fees count by case, not by day of payment (settlement reconciles days).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from casework.calendar import CHINA_TIME as CHINA
from casework.monthly_report import FIGURES
from casework.monthly_report import parse_month as parse_month
from casework.reviews import satisfaction_pct
from store.cases import rows_as_at
from store.db import Database

GROUPS = {"node": "origin", "department": "department", "window": "window", "item": "item_code"}


@dataclass(frozen=True)
class MonthlyRow:
    """One line of the monthly report: a node, department, window or item (`key`), or the total (key "").
    Its fields after `key` are casework.monthly_report.FIGURES, in that order."""

    key: str
    received: int = 0
    accepted: int = 0
    finished: int = 0
    on_time: int = 0
    overdue: int = 0
    returned: int = 0
    refused: int = 0
    fees_fen: int = 0
    evaluated: int = 0
    satisfied: int = 0

    @property
    def on_time_pct(self) -> float | None:
        return round(100 * self.on_time / self.finished, 1) if self.finished else None

    @property
    def satisfaction_pct(self) -> float | None:
        return satisfaction_pct(self.satisfied, self.evaluated)

    def figures(self) -> dict[str, int]:
        """The row as a report record's `figures` (whole numbers, money in fen)."""
        return {name: int(getattr(self, name)) for name in FIGURES}

    @classmethod
    def from_figures(cls, key: str, figures: dict[str, int]) -> MonthlyRow:
        return cls(key, *(int(figures.get(name) or 0) for name in FIGURES))


def monthly(db: Database, month: str, group: str, *, today: dt.date, node: str | None = None,
            table: str = "cases") -> list[MonthlyRow]:
    """The report's lines grouped by `group` (node, department, window or item), most received first;
    only the cases received at `node` when it is given. `table` is `cases`, or a temporary copy of
    its rows as they stood at some moment (node_month_as_signed)."""
    column = GROUPS[group]
    first, nxt = parse_month(month)
    as_of = min(nxt, today).isoformat()
    m = first.isoformat()[:7]
    only = " AND origin = :node" if node is not None else ""
    sql = f"""
        SELECT COALESCE({column}, ''),
          SUM(substr(received_date, 1, 7) = :m),
          SUM(substr(accepted_at, 1, 7) = :m),
          SUM(substr(finished_at, 1, 7) = :m),
          SUM(substr(finished_at, 1, 7) = :m AND NOT late),
          SUM((substr(finished_at, 1, 7) = :m AND late)
              OR (running AND finished_at IS NULL AND due_date IS NOT NULL AND due_date < :as_of)),
          SUM(status = 'returned' AND substr(closed_at, 1, 7) = :m),
          SUM(status = 'refused' AND substr(closed_at, 1, 7) = :m),
          SUM(CASE WHEN substr(received_date, 1, 7) = :m THEN paid_fen - refunded_fen ELSE 0 END),
          SUM(substr(finished_at, 1, 7) = :m AND evaluation_level IS NOT NULL),
          SUM(substr(finished_at, 1, 7) = :m AND evaluation_level >= 4)
        FROM {table}
        WHERE (substr(received_date, 1, 7) = :m OR substr(accepted_at, 1, 7) = :m
           OR substr(finished_at, 1, 7) = :m OR substr(closed_at, 1, 7) = :m
           OR (running AND finished_at IS NULL AND due_date < :as_of)){only}
        GROUP BY 1"""
    rows = [MonthlyRow(str(r[0]), *(int(v or 0) for v in r[1:]))
            for r in db.execute(sql, {"m": m, "as_of": as_of, "node": node}).fetchall()]
    return sorted(rows, key=lambda r: (-r.received, r.key))


def total(rows: list[MonthlyRow]) -> MonthlyRow:
    """The sum of report lines (the whole city when the lines are one grouping)."""
    return MonthlyRow("", *(sum(getattr(r, f) for r in rows) for f in FIGURES))


def node_month(db: Database, node: str, month: str, *, today: dt.date) -> MonthlyRow:
    """One service point's figures for `month` (its line of the by-node report; zeros if none)."""
    rows = monthly(db, month, "node", today=today, node=node)
    return next((r for r in rows if r.key == node), MonthlyRow(node))


def _instant(text: str | None) -> dt.datetime | None:
    """An ISO time as an aware datetime (naive ones are China time, as the fold writes them)."""
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA)


def node_month_as_signed(db: Database, node: str, month: str, *, record_id: str) -> MonthlyRow | None:
    """`node`'s figures for `month` recomputed from only what it held when it signed report
    `record_id` (None if this file does not hold that record).

    Comparing a submitted report with this tells a real discrepancy (the node counted records
    wrongly, or central holds records of the time the node did not) from change since signing (a
    rating given later, a late case finished later), which calls for a corrected version, not
    for suspicion. What the node held: its own records before the report in its chain (exact),
    and others' records (a citizen's rating at central, a window's action) that reached this file
    by the earlier of the report's own clock and its arrival here (the node cannot have held
    what reached central after the report did; its clock only makes the bound tighter).

    The cases that can matter are the node's received before the month ended and not finished
    or closed before it began. Their rows are copied into a temporary table and only the few
    with a record from after the signing are folded again without it, so the report's one query
    runs over rows as they stood, at the cost of the cases that changed, not of the month.
    """
    row = db.execute("SELECT origin, seq, origin_time, received_at FROM records WHERE id = ?",
                     [record_id]).fetchone()
    if row is None:
        return None
    origin, seq, origin_time, received_at = row
    times = [t for t in (_instant(origin_time), _instant(received_at)) if t is not None]
    if not times:
        return None
    cutoff = min(times)
    first, nxt = parse_month(month)
    relevant = ("origin = :node AND received_date < :nxt AND (finished_at IS NULL OR finished_at >= :first)"
                " AND (closed_at IS NULL OR closed_at >= :first)")
    args = {"node": node, "nxt": nxt.isoformat(), "first": first.isoformat(), "origin": origin, "seq": seq,
            "cutoff": cutoff.astimezone(dt.UTC).isoformat(timespec="microseconds")}
    later: dict[str, set[str]] = {}   # case -> its records made after the signing
    for number, rid in db.execute(
            f"SELECT e.case_number, r.id FROM (SELECT number FROM cases WHERE {relevant}) c"
            " JOIN case_events e ON e.case_number = c.number JOIN records r ON r.pos = e.pos"
            " WHERE (r.origin = :origin AND r.seq >= :seq) OR (r.origin != :origin AND r.received_at > :cutoff)",
            args).fetchall():
        later.setdefault(number, set()).add(rid)
    conn = db.conn
    conn.execute("DROP TABLE IF EXISTS temp.cases_as_signed")
    conn.execute(f"CREATE TEMP TABLE cases_as_signed AS SELECT * FROM main.cases WHERE {relevant}", args)
    try:
        for number, after in later.items():
            conn.execute("DELETE FROM temp.cases_as_signed WHERE number = ?", [number])
            for values in rows_as_at(db, [number], lambda e, after=after: e.id not in after):
                columns = list(values)
                conn.execute(f"INSERT INTO temp.cases_as_signed ({', '.join(columns)}) VALUES"
                             f" ({', '.join('?' for _ in columns)})",
                             [int(v) if isinstance(v, bool) else v for v in values.values()])
        lines = monthly(db, month, "node", today=cutoff.astimezone(CHINA).date(), node=node,
                        table="temp.cases_as_signed")
    finally:
        conn.execute("DROP TABLE IF EXISTS temp.cases_as_signed")
    return next((r for r in lines if r.key == node), MonthlyRow(node))
