"""SMS replies from applicants (ratings by text message), as central's local state.

Local state, not records, like the outbox (central.sms_store): what matters for supervision, the
rating, becomes a signed `case.evaluated` record; this table keeps what the gateway posted, so that a
reply posted twice (the gateway retries) has its effect once, and so that a bad rating waiting for
its reason can be finished when the reason arrives. Phone numbers are kept only as keyed hashes
(store.cases.keyed_hash: the key is in this file, so the hash is useless elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from store.db import migrate


def _create(db: Database) -> None:
    db.execute(
        "CREATE TABLE sms_replies (id TEXT PRIMARY KEY, received_at REAL NOT NULL, phone_hash TEXT NOT NULL,"
        " case_number TEXT NOT NULL DEFAULT '', level INTEGER, text TEXT NOT NULL, outcome TEXT NOT NULL,"
        " record_id TEXT NOT NULL DEFAULT '', waiting INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID")
    db.execute("CREATE INDEX sms_replies_waiting ON sms_replies (phone_hash, received_at) WHERE waiting = 1")
    db.execute("CREATE INDEX sms_replies_received ON sms_replies (received_at)")


MIGRATIONS = [_create]


def ensure_schema(db: Database) -> None:
    migrate(db, "central_sms_replies", MIGRATIONS)


@dataclass(frozen=True)
class Reply:
    id: str
    received_at: float
    phone_hash: str
    case_number: str
    level: int | None
    text: str
    outcome: str
    record_id: str
    waiting: bool


_SELECT = ("SELECT id, received_at, phone_hash, case_number, level, text, outcome, record_id, waiting"
           " FROM sms_replies")


def _reply(row: tuple) -> Reply:
    return Reply(*row[:8], bool(row[8]))


def get(db: Database, reply_id: str) -> Reply | None:
    row = db.execute(f"{_SELECT} WHERE id = ?", [reply_id]).fetchone()
    return _reply(row) if row else None


def add(db: Database, *, reply_id: str, received_at: float, phone_hash: str, text: str, outcome: str,
        case: str = "", level: int | None = None, record_id: str = "", waiting: bool = False) -> bool:
    """Keep one reply; False if a reply with this gateway id is already held (nothing changes)."""
    cursor = db.execute(
        "INSERT OR IGNORE INTO sms_replies (id, received_at, phone_hash, case_number, level, text, outcome,"
        " record_id, waiting) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [reply_id, received_at, phone_hash, case, level, text[:500], outcome, record_id, int(waiting)])
    return cursor.rowcount > 0


def waiting_for(db: Database, phone_hash: str, *, since: float) -> Reply | None:
    """The newest bad rating from this phone still waiting for its reason (asked at or after `since`)."""
    row = db.execute(f"{_SELECT} WHERE waiting = 1 AND phone_hash = ? AND received_at >= ?"
                     " ORDER BY received_at DESC LIMIT 1", [phone_hash, since]).fetchone()
    return _reply(row) if row else None


def waiting_before(db: Database, before: float) -> list[Reply]:
    """Bad ratings whose reason was asked before `before` and never came."""
    return [_reply(r) for r in db.execute(f"{_SELECT} WHERE waiting = 1 AND received_at < ? ORDER BY received_at",
                                          [before])]


def close(db: Database, reply_id: str, *, outcome: str | None = None, record_id: str = "",
          level: int | None = None) -> None:
    """The rating `reply_id` waited for is settled (signed as `record_id`, or superseded)."""
    db.execute("UPDATE sms_replies SET waiting = 0, outcome = COALESCE(?, outcome), level = COALESCE(?, level),"
               " record_id = CASE WHEN ? != '' THEN ? ELSE record_id END WHERE id = ?",
               [outcome, level, record_id, record_id, reply_id])


def recent(db: Database, limit: int = 100) -> list[Reply]:
    return [_reply(r) for r in db.execute(f"{_SELECT} ORDER BY received_at DESC LIMIT ?", [limit])]


def counts(db: Database, since: float) -> dict[str, int]:
    """Replies received at or after `since`, by outcome."""
    return {outcome: n for outcome, n in db.execute(
        "SELECT outcome, count(*) FROM sms_replies WHERE received_at >= ? GROUP BY 1", [since])}
