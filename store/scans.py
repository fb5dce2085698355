"""Which scans belong to which case, and which of them the city has archived.

Both apps keep these two tables, projected from the records:
- `case_scans` (sha256, case): every scan a case's records name: a material's scan
  (`case.material_added` `sha256`) and the villager's authorisation for proxy handling
  (`case.received` `proxy.authorisation` "... sha256:<hex>");
- `scan_archive` (sha256, case, record): the scans of `scans.archived` records central signed once a
  case had ended, its retention delay had passed and central held every one of its scans. A node
  deletes its copies of exactly these (after asking central's blob status once more) and signs
  `scans.dropped`; the case page then says "archived at the city".
Central reads them to find the ended cases whose scans are due for archiving.

The migration that creates the tables also fills them from the records already in the file, so an
upgraded node or central knows its old cases' scans at once, without a full rebuild.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlite_utils import Database

from store.db import migrate

ARCHIVED = "scans.archived"
DROPPED = "scans.dropped"
EXPIRED = "scans.expired"
CLOSED_STATUSES = ("delivered", "refused", "returned", "withdrawn")
_SHA = re.compile(r"^[0-9a-f]{64}$")
_REF = re.compile(r"sha256:([0-9a-f]{64})")


def _create(db: Database) -> None:
    db.execute("CREATE TABLE case_scans (sha256 TEXT NOT NULL, case_number TEXT NOT NULL,"
               " PRIMARY KEY (sha256, case_number))")
    db.execute("CREATE INDEX case_scans_case ON case_scans (case_number)")
    db.execute("CREATE TABLE scan_archive (sha256 TEXT NOT NULL, case_number TEXT NOT NULL,"
               " record_id TEXT NOT NULL, time TEXT NOT NULL, PRIMARY KEY (sha256, case_number))")
    db.execute("CREATE INDEX scan_archive_case ON scan_archive (case_number)")
    db.execute("CREATE TABLE scan_expired (sha256 TEXT NOT NULL, case_number TEXT NOT NULL,"
               " record_id TEXT NOT NULL, PRIMARY KEY (sha256, case_number))")


def _backfill(db: Database) -> None:
    """Fill the new tables from the records already stored (an upgrade)."""
    if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'records'").fetchone():
        return
    for rid, origin, kind, raw, time in db.execute(
            "SELECT id, origin, kind, raw, origin_time FROM records WHERE kind IN"
            " ('case.material_added', 'case.received', ?, ?) ORDER BY pos", [ARCHIVED, EXPIRED]).fetchall():
        try:
            body = json.loads(raw)["body"]
        except (ValueError, KeyError, TypeError):
            continue
        _apply(db, _Row(rid, origin, kind, body, time))


class _Row:
    def __init__(self, rid: str, origin: str, kind: str, body: Any, time: str) -> None:
        self.id, self.origin, self.kind, self.body, self.time = rid, origin, kind, body, time


MIGRATIONS = [_create, _backfill]


def ensure_schema(db: Database) -> None:
    migrate(db, "scans", MIGRATIONS)


def reset(db: Database) -> None:
    for table in ("case_scans", "scan_archive", "scan_expired"):
        db.conn.execute(f"DELETE FROM {table}")


def named_scans(kind: str, body: Any) -> list[str]:
    """The scans a case record names (see the module docstring)."""
    if not isinstance(body, Mapping):
        return []
    if kind == "case.material_added":
        sha = body.get("sha256")
        return [sha] if isinstance(sha, str) and _SHA.match(sha) else []
    if kind == "case.received":
        proxy = body.get("proxy")
        text = proxy.get("authorisation") if isinstance(proxy, Mapping) else None
        return _REF.findall(text) if isinstance(text, str) else []
    return []


def _listed(body: Mapping[str, Any]) -> tuple[str, list[str]] | None:
    case, scans = body.get("case"), body.get("scans")
    if not isinstance(case, str) or not case or not isinstance(scans, list):
        return None
    return case, [s for s in scans if isinstance(s, str) and _SHA.match(s)]


def _apply(db: Database, record: Any) -> str | None:
    kind, body = record.kind, record.body
    if kind.startswith("case."):
        case = body.get("case") if isinstance(body, Mapping) else None
        for sha in named_scans(kind, body):
            if isinstance(case, str) and case:
                db.conn.execute("INSERT OR IGNORE INTO case_scans (sha256, case_number) VALUES (?, ?)", [sha, case])
        return None
    if kind not in (ARCHIVED, EXPIRED):
        return None
    if record.origin != "C":
        return f"{kind}: only central archives or expires scans"
    listed = _listed(body) if isinstance(body, Mapping) else None
    if listed is None:
        return f"{kind}: the body names no case and scans"
    case, scans = listed
    table = "scan_archive" if kind == ARCHIVED else "scan_expired"
    for sha in scans:
        if kind == ARCHIVED:
            db.conn.execute("INSERT OR IGNORE INTO scan_archive (sha256, case_number, record_id, time)"
                            " VALUES (?, ?, ?, ?)", [sha, case, record.id, record.time])
        else:
            db.conn.execute(f"INSERT OR IGNORE INTO {table} (sha256, case_number, record_id) VALUES (?, ?, ?)",
                            [sha, case, record.id])
    return None


def project(db: Database, record: Any) -> str | None:
    """The projector's part for scans (case records, `scans.archived`, `scans.expired`)."""
    return _apply(db, record)


# --- reading ---------------------------------------------------------------------------------------

def scans_of(db: Database, case: str) -> list[str]:
    return [r[0] for r in db.execute("SELECT sha256 FROM case_scans WHERE case_number = ? ORDER BY sha256", [case])]


def is_archived(db: Database, sha256: str) -> bool:
    return db.execute("SELECT 1 FROM scan_archive WHERE sha256 = ? LIMIT 1", [sha256]).fetchone() is not None


def is_expired(db: Database, sha256: str) -> bool:
    return db.execute("SELECT 1 FROM scan_expired WHERE sha256 = ? LIMIT 1", [sha256]).fetchone() is not None


def needed_elsewhere(db: Database, sha256: str) -> bool:
    """Does a case whose archive does not cover this scan still name it? (The same file can serve
    two cases: content addressing.) Such a scan is kept until every case naming it is archived."""
    return db.execute(
        "SELECT 1 FROM case_scans s WHERE s.sha256 = ? AND NOT EXISTS (SELECT 1 FROM scan_archive a"
        " WHERE a.sha256 = s.sha256 AND a.case_number = s.case_number) LIMIT 1", [sha256]).fetchone() is not None


def archived(db: Database) -> dict[str, list[tuple[str, str]]]:
    """case -> [(sha256, archive record id)] of every archived scan."""
    found: dict[str, list[tuple[str, str]]] = {}
    for sha, case, rid in db.execute("SELECT sha256, case_number, record_id FROM scan_archive ORDER BY case_number"):
        found.setdefault(case, []).append((sha, rid))
    return found


def archive_candidates(db: Database, *, ended_before: str) -> list[tuple[str, list[str]]]:
    """Ended cases (closed before `ended_before`, an ISO time) with scans not yet archived: (case, scans)."""
    found: dict[str, list[str]] = {}
    marks = ", ".join("?" for _ in CLOSED_STATUSES)
    for case, sha in db.execute(
            "SELECT s.case_number, s.sha256 FROM case_scans s JOIN cases c ON c.number = s.case_number"
            f" WHERE c.status IN ({marks}) AND c.closed_at IS NOT NULL AND c.closed_at <> '' AND c.closed_at < ?"
            " AND NOT EXISTS (SELECT 1 FROM scan_archive a WHERE a.sha256 = s.sha256"
            " AND a.case_number = s.case_number) ORDER BY s.case_number, s.sha256",
            [*CLOSED_STATUSES, ended_before]):
        found.setdefault(case, []).append(sha)
    return list(found.items())


def expiry_candidates(db: Database, *, ended_before: str) -> list[tuple[str, list[str]]]:
    """Archived scans of cases that ended before `ended_before` and are not yet expired: (case, scans)."""
    found: dict[str, list[str]] = {}
    marks = ", ".join("?" for _ in CLOSED_STATUSES)
    for case, sha in db.execute(
            "SELECT a.case_number, a.sha256 FROM scan_archive a JOIN cases c ON c.number = a.case_number"
            f" WHERE c.status IN ({marks}) AND c.closed_at IS NOT NULL AND c.closed_at <> '' AND c.closed_at < ?"
            " AND NOT EXISTS (SELECT 1 FROM scan_expired x WHERE x.sha256 = a.sha256"
            " AND x.case_number = a.case_number) ORDER BY a.case_number, a.sha256",
            [*CLOSED_STATUSES, ended_before]):
        found.setdefault(case, []).append(sha)
    return list(found.items())


def expired(db: Database) -> list[str]:
    return [r[0] for r in db.execute("SELECT DISTINCT sha256 FROM scan_expired")]


def held_by(db: Database, names: Iterable[str]) -> dict[str, list[str]]:
    """case -> the given scans it names (for a node's own blobs)."""
    found: dict[str, list[str]] = {}
    for sha in names:
        for (case,) in db.execute("SELECT case_number FROM case_scans WHERE sha256 = ?", [sha]):
            found.setdefault(case, []).append(sha)
    return found
