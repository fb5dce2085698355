"""The SMS outbox: messages to applicants wait here until the gateway has taken them.

Local state, not records: a text message is a notification about records that already exist,
and what matters for supervision (the case was received, needs supplements, is ready, is
overdue) is in those records. Each message has a `dedupe` key (case + reason), so rebuilding
projections or a resent record never texts an applicant twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from store.db import migrate


def _create(db: Database) -> None:
    db.execute(
        "CREATE TABLE sms_outbox (id INTEGER PRIMARY KEY, dedupe TEXT NOT NULL UNIQUE, case_number TEXT NOT NULL,"
        " phone TEXT NOT NULL, text TEXT NOT NULL, reason TEXT NOT NULL, created_at REAL NOT NULL,"
        " attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',"
        " next_try REAL NOT NULL, sent_at REAL)")
    db.execute("CREATE INDEX sms_outbox_waiting ON sms_outbox (sent_at, next_try)")


def _index_phone(db: Database) -> None:
    # SMS replies (central.sms_replies) look up the texts a phone was sent
    db.execute("CREATE INDEX sms_outbox_phone ON sms_outbox (phone, reason, sent_at)")


MIGRATIONS = [_create, _index_phone]


def ensure_schema(db: Database) -> None:
    migrate(db, "central_sms", MIGRATIONS)


def enqueue(db: Database, *, dedupe: str, case: str, phone: str, text: str, reason: str, now: float) -> bool:
    cursor = db.execute(
        "INSERT OR IGNORE INTO sms_outbox (dedupe, case_number, phone, text, reason, created_at, next_try)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)", [dedupe, case, phone, text, reason, now, now])
    return cursor.rowcount > 0


@dataclass(frozen=True)
class Message:
    id: int
    case_number: str
    phone: str
    text: str
    reason: str
    created_at: float
    attempts: int
    last_error: str
    next_try: float
    sent_at: float | None


_SELECT = ("SELECT id, case_number, phone, text, reason, created_at, attempts, last_error, next_try, sent_at"
           " FROM sms_outbox")


def due(db: Database, now: float, limit: int = 100) -> list[Message]:
    return [Message(*r) for r in db.execute(f"{_SELECT} WHERE sent_at IS NULL AND next_try <= ? ORDER BY id LIMIT ?",
                                            [now, limit])]


def mark_sent(db: Database, message_id: int, now: float) -> None:
    db.execute("UPDATE sms_outbox SET sent_at = ?, attempts = attempts + 1, last_error = '' WHERE id = ?",
               [now, message_id])


def mark_failed(db: Database, message_id: int, error: str, next_try: float) -> None:
    db.execute("UPDATE sms_outbox SET attempts = attempts + 1, last_error = ?, next_try = ? WHERE id = ?",
               [error[:300], next_try, message_id])


def retry_now(db: Database, now: float) -> None:
    db.execute("UPDATE sms_outbox SET next_try = ? WHERE sent_at IS NULL AND next_try > ?", [now, now])


def sent_to(db: Database, phone: str, reason: str, *, since: float = 0.0, limit: int = 1) -> list[Message]:
    """Messages of `reason` the gateway took for `phone` at or after `since`, newest first."""
    return [Message(*r) for r in db.execute(
        f"{_SELECT} WHERE phone = ? AND reason = ? AND sent_at IS NOT NULL AND sent_at >= ?"
        " ORDER BY sent_at DESC, id DESC LIMIT ?", [phone, reason, since, limit])]


def recent(db: Database, limit: int = 100) -> list[Message]:
    return [Message(*r) for r in db.execute(f"{_SELECT} ORDER BY id DESC LIMIT ?", [limit])]


def counts(db: Database) -> tuple[int, int]:
    """(waiting, sent)."""
    row = db.execute("SELECT sum(sent_at IS NULL), sum(sent_at IS NOT NULL) FROM sms_outbox").fetchone()
    return int(row[0] or 0), int(row[1] or 0)


# --- retention (casework.retention `sms_days`, applied by central.retention_job) ---------------------

def sent_with_numbers(db: Database, *, before: float) -> int:
    """Messages sent before `before` whose phone number and text are still held in clear."""
    return int(db.execute("SELECT count(*) FROM sms_outbox WHERE sent_at IS NOT NULL AND sent_at < ?"
                          " AND (phone NOT LIKE '%*%' OR text <> '')", [before]).fetchone()[0])


def forget_sent_numbers(db: Database, *, before: float) -> int:
    """Mask the phone number and blank the text of those messages: the outbox then shows only that the
    case's applicant was told (reason, when), which is all supervision needs. Returns how many."""
    from casework.identity import mask_phone

    rows = db.execute("SELECT id, phone FROM sms_outbox WHERE sent_at IS NOT NULL AND sent_at < ?"
                      " AND (phone NOT LIKE '%*%' OR text <> '')", [before]).fetchall()
    for message_id, phone in rows:
        db.execute("UPDATE sms_outbox SET phone = ?, text = '' WHERE id = ?",
                   [phone if "*" in phone else mask_phone(phone), message_id])
    return len(rows)
