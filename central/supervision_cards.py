"""Yellow and red cards (红黄牌) for overdue cases, as signed records.

A yellow card when a case passes its due date, a red card when it is still open after the
supervision grace period (working days). Each card is a `supervision.card` record, issued once per
case and colour, so the record of who was late, and when it was noticed, cannot be lost or
quietly withdrawn.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlite_utils import Database

from central import board_store
from central.runtime import Central
from sync.envelope import Record


def issued(central: Central) -> dict[tuple[str, str], Record]:
    return {(r.body["case"], r.body["colour"]): r for r, _at in central.records_of_kind("supervision.card")}


def due_cards(central: Central, db: Database, today: dt.date) -> list[tuple[board_store.CaseRow, str, int]]:
    """(case, colour, working days overdue) for every card that should exist and does not yet."""
    have = issued(central)
    calendar = central.calendar()
    wanted = []
    for row in board_store.overdue_open(db, today):
        if row.due_date is None:
            continue
        late = calendar.working_days_between(dt.date.fromisoformat(row.due_date), today, allow_provisional=True)
        for colour in ("yellow", "red"):
            if colour == "red" and late <= central.config.red_card_grace_days:
                continue
            if (row.number, colour) not in have:
                wanted.append((row, colour, late))
    return wanted


def issue(central: Central, cards: Iterable[tuple[board_store.CaseRow, str, int]], staff: str) -> int:
    items = [("supervision.card", {"case": row.number, "colour": colour, "due_date": row.due_date,
                                   "late_days": late, "holder": row.holder, "window": row.window,
                                   "department": row.department, "reason": "overdue", "staff": staff})
             for row, colour, late in cards]
    if items:
        central.sign_many(items)
    return len(items)
