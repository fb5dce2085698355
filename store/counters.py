"""Per-origin, per-day counters for case, service-card and payment-notice numbers.

A number (casework.numbering) is place + day + that place's counter for the day + a check
character, made offline. Two cases must never share a number, even when:
- two clerks at one town centre press "receive" at the same moment (two waitress threads): the
  counter is taken by one atomic SQL upsert, inside the caller's transaction when there is one;
- the app restarts: the counter is a table row, not memory;
- a village PC is restored from last week's backup: the counters table in the backup is old, but
  the node then gets its own later records back from central (recovery), and this module's
  projector raises each counter to the highest number it finds in the log. So a counter is never
  below a number already in the log, and `rebuild` derives the counters from the log.

Numbers are found in record bodies: `body["case"]` of `case.received` (case numbers),
`body["card"]` of `card.*` records (service cards, issued at central's card window), and
`body["notice"]` of `case.fee_assessed` (payment notices). Unreadable values are ignored here:
they are not numbers this app could ever hand out.

Use, in the same transaction as the record the number goes into, so that a failed save leaves
at most an unused number (a gap is harmless, a duplicate is not):

    with logstore.transaction() as db:
        number = next_case_number(db, "T0101", today)          # SerialNumber; .text is stored
        logstore.append("case.received", {"case": number.text, ...})
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlite_utils import Database

from casework.messages import RuleError
from casework.numbering import (
    SerialNumber,
    card_number,
    case_number,
    parse_card_number,
    parse_case_number,
    parse_payment_notice_number,
    payment_notice_number,
)
from store.db import migrate

_MAKERS: dict[str, Callable[[str, dt.date, int], SerialNumber]] = {
    "case": case_number, "card": card_number, "payment": payment_notice_number,
}


def _create_tables(db: Database) -> None:
    db.execute(
        "CREATE TABLE number_counters ("
        " kind TEXT NOT NULL,"            # case | card | payment
        " origin TEXT NOT NULL,"
        " day TEXT NOT NULL,"             # ISO date the number carries
        " value INTEGER NOT NULL,"        # the highest counter used (or found in the log)
        " PRIMARY KEY (kind, origin, day)) WITHOUT ROWID"
    )


MIGRATIONS = [_create_tables]


def ensure_schema(db: Database) -> None:
    """Create or upgrade the counters table; cheap when current."""
    migrate(db, "counters", MIGRATIONS)


def reset(db: Database) -> None:
    """Before a rebuild. Counters are deliberately NOT emptied: a number handed out whose record
    was never saved must not come back either; the replay then raises them to the log's numbers."""


def _raise_to(db: Database, number: SerialNumber) -> None:
    db.conn.execute(
        "INSERT INTO number_counters (kind, origin, day, value) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (kind, origin, day) DO UPDATE SET value = max(value, excluded.value)",
        [number.kind, number.origin, number.day.isoformat(), number.counter],
    )


def _found(record: Any) -> SerialNumber | None:
    body = record.body if isinstance(record.body, dict) else {}
    kind = record.kind
    try:
        if kind == "case.received" and isinstance(body.get("case"), str):
            return parse_case_number(body["case"])
        if kind.startswith("card.") and isinstance(body.get("card"), str):
            return parse_card_number(body["card"])
        if kind == "case.fee_assessed" and isinstance(body.get("notice"), str):
            return parse_payment_notice_number(body["notice"])
    except RuleError:
        return None
    return None


def project(db: Database, record: Any) -> str | None:
    """Raise the counter of any number the record carries to at least that number."""
    number = _found(record)
    if number is not None:
        _raise_to(db, number)
    return None


def next_number(db: Database, kind: str, origin: str, day: dt.date) -> SerialNumber:
    """The next unused number of `kind` (case | card | payment) for `origin` on `day`.

    One atomic statement: safe with concurrent writers; inside the caller's transaction when one
    is open (then a rollback returns the number too). Raises RuleError
    `numbering.counter_out_of_range` when the day's counter is exhausted, `numbering.bad_origin`
    for a malformed origin.
    """
    make = _MAKERS[kind]
    make(origin, day, 1)  # validates origin and day before anything is written
    with db.atomic():
        value = db.conn.execute(
            "INSERT INTO number_counters (kind, origin, day, value) VALUES (?, ?, ?, 1)"
            " ON CONFLICT (kind, origin, day) DO UPDATE SET value = value + 1 RETURNING value",
            [kind, origin, day.isoformat()],
        ).fetchone()[0]
        return make(origin, day, value)


def next_case_number(db: Database, origin: str, day: dt.date) -> SerialNumber:
    """The next case number of `origin` for `day` (see `next_number`)."""
    return next_number(db, "case", origin, day)


def next_card_number(db: Database, origin: str, day: dt.date) -> SerialNumber:
    """The next service-card number (一卡通) of `origin` for `day`."""
    return next_number(db, "card", origin, day)


def next_payment_notice_number(db: Database, origin: str, day: dt.date) -> SerialNumber:
    """The next payment-notice number (缴款通知单) of `origin` for `day`."""
    return next_number(db, "payment", origin, day)


def current_value(db: Database, kind: str, origin: str, day: dt.date) -> int:
    """The highest counter used for `kind`, `origin`, `day` (0 if none): for tests and screens."""
    row = db.execute(
        "SELECT value FROM number_counters WHERE kind = ? AND origin = ? AND day = ?",
        [kind, origin, day.isoformat()],
    ).fetchone()
    return int(row[0]) if row else 0
