"""The retention policy as a projection of central's `retention.policy` records (casework.retention).

Every version is kept (the admin page shows who changed what, when); `current(db)` is the highest
valid version, or the defaults when central has published none yet. Only origin `C` counts. A
body `parse_policy` refuses is not stored (the record stays in the log, store.projections lists
the problem) and never stops sync: the previous version keeps applying.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from casework.retention import DEFAULT, KIND, PolicyError, RetentionPolicy, parse_policy
from store.db import migrate


def _create(db: Database) -> None:
    db.execute("CREATE TABLE retention_policies (version INTEGER PRIMARY KEY, record_id TEXT NOT NULL,"
               " seq INTEGER NOT NULL, time TEXT NOT NULL, body TEXT NOT NULL)")


MIGRATIONS = [_create]


def ensure_schema(db: Database) -> None:
    migrate(db, "retention", MIGRATIONS)


def reset(db: Database) -> None:
    db.conn.execute("DELETE FROM retention_policies")


def project(db: Database, record: Any) -> str | None:
    """Store one published version; the problem (English) if the record cannot be used."""
    if record.origin != "C":
        return f"{KIND}: only central publishes the retention policy"
    try:
        policy = parse_policy(record.body)
    except PolicyError as err:
        return f"{KIND}: " + "; ".join(f"{k}: {e.english()}" for k, e in err.problems.items())
    db.conn.execute(
        "INSERT INTO retention_policies (version, record_id, seq, time, body) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (version) DO UPDATE SET record_id = excluded.record_id, seq = excluded.seq,"
        " time = excluded.time, body = excluded.body WHERE excluded.seq > retention_policies.seq",
        [policy.version, record.id, record.seq, record.time, json.dumps(policy.to_body(), sort_keys=True)])
    return None


@dataclass(frozen=True)
class PolicyVersion:
    policy: RetentionPolicy
    record_id: str
    time: str


def history(db: Database) -> list[PolicyVersion]:
    """Every published version, newest first."""
    return [PolicyVersion(parse_policy(json.loads(body)), record_id, time) for body, record_id, time in db.execute(
        "SELECT body, record_id, time FROM retention_policies ORDER BY version DESC")]


def current(db: Database) -> RetentionPolicy:
    """The policy in force: the highest published version, else the defaults (version 0)."""
    row = db.execute("SELECT body FROM retention_policies ORDER BY version DESC LIMIT 1").fetchone()
    return parse_policy(json.loads(row[0])) if row else DEFAULT


def next_version(db: Database) -> int:
    row = db.execute("SELECT max(version) FROM retention_policies").fetchone()
    return int(row[0] or 0) + 1
