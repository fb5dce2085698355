"""Scorecard versions: a projection of central's `assessment.scorecard` records.

Why central keeps a table of its own: every assessment page asks which scorecard a quarter is
scored with, and the record log has no index by kind; the versions are few, so one small table
(rebuilt by `Central.rebuild` from the log, identical) answers at once. Only central reads them:
the record is never routed to a node.

A version's body (central.scorecard_records builds and checks it):
    {"version": 2, "from": "2027-Q1", "data": Scorecard.to_data(), "note": "why", "staff": "li"}

Which version scores a quarter (`for_quarter`):
- a published quarter: the version its `assessment.published` record names (`scorecard.version`);
  one published before versions were records names none, and gets the rule below;
- otherwise the highest version whose `from` is at or before the quarter: a later version
  supersedes earlier ones from its quarter on. Version 1 is the packaged scorecard, signed on the
  first start of a central (or of one upgraded to this release) and in force `from` FROM_THE_START,
  so every quarter has a version.

Rules the projection keeps, so a record slipping past the page changes nothing: only origin `C`
counts; a body `parse_scorecard` refuses is skipped; version numbers go up by one; a version after
the first may not take effect for a quarter already published (that quarter stays as published; a
correction is the way to change its figures). A skipped record is logged, never raised.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from casework.assessment import AssessmentError, Scorecard, parse_scorecard
from central.projecting import apply_or_log
from central.quarters import Quarter
from store.db import migrate
from sync.envelope import Record

log = logging.getLogger(__name__)

KIND = "assessment.scorecard"
FROM_THE_START = "2000-Q1"
"""The `from` of the first version: in force for every quarter until a later version's."""

_parsed: dict[str, Scorecard] = {}
_parsed_lock = threading.Lock()


def _create(db: Database) -> None:
    db.execute(
        "CREATE TABLE assessment_scorecards (version INTEGER PRIMARY KEY, record_id TEXT NOT NULL,"
        " from_quarter TEXT NOT NULL, data TEXT NOT NULL, note TEXT NOT NULL, staff TEXT NOT NULL,"
        " time TEXT NOT NULL)")


MIGRATIONS = [_create]


def ensure_schema(db: Database) -> None:
    migrate(db, "central_scorecards", MIGRATIONS)


def reset(db: Database) -> None:
    db.execute("DELETE FROM assessment_scorecards")


def problems(body: Any) -> list[str]:
    """What is wrong with a scorecard version's body (English, for logs); [] when well formed."""
    if not isinstance(body, dict):
        return ["body: must be an object"]
    out: list[str] = []
    version = body.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        out.append("version: an integer >= 1 is required")
    try:
        Quarter.parse(body.get("from"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        out.append("from: a quarter YYYY-Qn is required")
    for key in ("note", "staff"):
        if not isinstance(body.get(key), str) or not body[key].strip():
            out.append(f"{key}: text is required")
    try:
        parse_scorecard(body.get("data") if isinstance(body.get("data"), dict) else {})
    except AssessmentError as err:
        out.append("data: " + "; ".join(err.problems))
    return out


def latest_published(db: Database) -> str | None:
    row = db.execute("SELECT max(quarter) FROM assessment_published").fetchone()
    return row[0] if row and row[0] else None


def current_version(db: Database) -> int:
    row = db.execute("SELECT max(version) FROM assessment_scorecards").fetchone()
    return int(row[0] or 0)


def project(db: Database, record: Record) -> None:
    """Apply one record of any kind (cheap for the others); never raises."""
    if record.kind != KIND or record.origin != "C":
        return
    apply_or_log(db, record, _apply, log)


def _apply(db: Database, record: Record) -> str | None:
    body = record.body
    found = problems(body)
    if found:
        return "; ".join(found)
    version = body["version"]
    if version != current_version(db) + 1:
        return f"version {version} does not follow version {current_version(db)}"
    published = latest_published(db)
    if version > 1 and published is not None and body["from"] <= published:
        return f"{body['from']} is at or before {published}, already published"
    db.execute("INSERT INTO assessment_scorecards (version, record_id, from_quarter, data, note, staff, time)"
               " VALUES (?, ?, ?, ?, ?, ?, ?)",
               [version, record.id, body["from"], json.dumps(body["data"], ensure_ascii=False, sort_keys=True),
                body["note"], body["staff"], record.time])
    return None


# --- reads --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScorecardVersion:
    version: int
    record_id: str
    from_quarter: str
    card: Scorecard
    note: str
    staff: str
    time: str

    @property
    def from_the_start(self) -> bool:
        return self.from_quarter == FROM_THE_START


def _card(record_id: str, data: str) -> Scorecard:
    """The parsed scorecard of a version, once per process (a record id names its bytes)."""
    with _parsed_lock:
        found = _parsed.get(record_id)
    if found is None:
        found = parse_scorecard(json.loads(data))
        with _parsed_lock:
            _parsed[record_id] = found
    return found


_COLUMNS = "version, record_id, from_quarter, data, note, staff, time"


def _row(row: tuple[Any, ...]) -> ScorecardVersion:
    version, record_id, from_quarter, data, note, staff, time = row
    return ScorecardVersion(version, record_id, from_quarter, _card(record_id, data), note, staff, time)


def versions(db: Database) -> list[ScorecardVersion]:
    """Every version held, oldest first."""
    return [_row(r) for r in db.execute(f"SELECT {_COLUMNS} FROM assessment_scorecards ORDER BY version")]


def get(db: Database, version: int) -> ScorecardVersion | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM assessment_scorecards WHERE version = ?", [version]).fetchone()
    return _row(row) if row else None


def in_force(db: Database, quarter: str) -> ScorecardVersion | None:
    """The version the rule gives for `quarter` (module docstring); None before any version exists."""
    row = db.execute(f"SELECT {_COLUMNS} FROM assessment_scorecards WHERE from_quarter <= ?"
                     " ORDER BY version DESC LIMIT 1", [quarter]).fetchone()
    if row is None:  # (only if version 1 were not from the start: the first version, never none)
        row = db.execute(f"SELECT {_COLUMNS} FROM assessment_scorecards ORDER BY version LIMIT 1").fetchone()
    return _row(row) if row else None


def published_version(body: dict[str, Any]) -> int | None:
    """The scorecard version an `assessment.published` body names, if it names one."""
    card = body.get("scorecard")
    version = card.get("version") if isinstance(card, dict) else None
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def for_quarter(db: Database, quarter: str) -> ScorecardVersion | None:
    """The version a quarter is (or was, once published) scored with."""
    row = db.execute("SELECT body FROM assessment_published WHERE quarter = ?", [quarter]).fetchone()
    if row is not None:
        named = published_version(json.loads(row[0]))
        found = get(db, named) if named is not None else None
        if found is not None:
            return found
    return in_force(db, quarter)


@dataclass(frozen=True)
class Span:
    """The quarters a version governs by the rule: `first` up to `last` (None: open-ended), or none
    at all when a later version took effect from the same quarter or before (`superseded`)."""

    first: str
    last: str | None
    superseded: bool


def spans(all_versions: list[ScorecardVersion]) -> dict[int, Span]:
    out: dict[int, Span] = {}
    for v in all_versions:
        later = [w.from_quarter for w in all_versions if w.version > v.version]
        end = min(later) if later else None
        if end is not None and end <= v.from_quarter:
            out[v.version] = Span(v.from_quarter, None, True)
        else:
            out[v.version] = Span(v.from_quarter, Quarter.parse(end).previous().text if end else None, False)
    return out


def quarters_published_with(db: Database) -> dict[int, list[str]]:
    """version -> the published quarters scored with it, oldest first."""
    out: dict[int, list[str]] = {}
    for (quarter,) in db.execute("SELECT quarter FROM assessment_published ORDER BY quarter").fetchall():
        found = for_quarter(db, quarter)
        if found is not None:
            out.setdefault(found.version, []).append(quarter)
    return out
