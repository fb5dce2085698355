"""The daily reconciliation: the day's money added up four ways and checked against the records.

The settlement projection gives the sums per window, department, method and cashier; the same
day's `case.fee_paid` / `case.fee_refunded` records are then read straight from the log and added
up again. The day balances when every grouping's total equals the records' total, to the fen, and
every record has its projection entry (nothing taken that the screens do not show).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlite_utils import Database

from central import settlement_store
from central.runtime import Central, china_day


@dataclass
class Reconciliation:
    day: str
    groups: dict[str, list[tuple[str, int, int, int]]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)      # grouping -> net fen
    records_paid: int = 0
    records_refunded: int = 0
    records_count: int = 0
    entries_count: int = 0
    missing: list[str] = field(default_factory=list)          # record ids with no projection entry

    @property
    def records_net(self) -> int:
        return self.records_paid - self.records_refunded

    @property
    def balanced(self) -> bool:
        return (not self.missing and self.records_count == self.entries_count
                and all(total == self.records_net for total in self.totals.values()))


def reconcile(central: Central, db: Database, day: str) -> Reconciliation:
    result = Reconciliation(day)
    for group in ("window", "department", "method", "cashier"):
        rows = settlement_store.sums_on(db, day, group)
        result.groups[group] = rows
        result.totals[group] = sum(r[3] for r in rows)
    entries = {e["record_id"] for e in settlement_store.entries_on(db, day)}
    result.entries_count = len(entries)
    rows = db.execute("SELECT id, kind, raw FROM records WHERE kind IN ('case.fee_paid', 'case.fee_refunded')"
                      " AND id NOT IN (SELECT id FROM quarantine)").fetchall()
    for rid, kind, raw in rows:
        envelope = json.loads(raw)
        if china_day(envelope["time"]) != day:
            continue
        amount = int(envelope["body"]["amount_fen"])
        if rid not in entries:
            # a record the fold refused (a conflict) is not money taken; anything else is a gap
            if settlement_store.entry(db, rid) is None and _applied(central, envelope["body"]["case"], rid):
                result.missing.append(rid)
            continue
        result.records_count += 1
        if kind == "case.fee_paid":
            result.records_paid += amount
        else:
            result.records_refunded += amount
    return result


def _applied(central: Central, case: str, record_id: str) -> bool:
    state = central.fold(case)
    return state is not None and any(step.event.id == record_id for step in state.timeline)
