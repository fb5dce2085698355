"""The working-day calendar as a projection of central's `calendar.year` records.

Central signs one `calendar.year` record per year it publishes or corrects; the body is exactly
the year dict of docs/contracts.md (`{"year", "holidays", "workdays", "names", "source"}`, built
by `store.config_records.calendar_year_body`). This module keeps the latest such record per year
and answers `work_calendar(db)`: the packaged years (casework/data/calendar, so a node that has
not pulled yet still counts real working days) with every published year laid over them.

Only records of origin `C` count: a node cannot move the city's holidays. A later record for the
same year (higher central seq) replaces an earlier one. A malformed body is not used (the record
stays in the log and store.projections lists its problem for a person); it does not stop sync.

Reads are cached per process by a stamp: the id of the highest-seq calendar record held. Central's
records form one gap-free chain, so that id fixes the whole set of calendar records before it:
two files with the same stamp hold the same calendar, and the cache is shared safely.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from sqlite_utils import Database

from casework.calendar import CalendarDataError, WorkCalendar, parse_year
from casework.messages import RuleError
from store.db import migrate

KIND = "calendar.year"

_CACHE_SIZE = 8
_cache: OrderedDict[str | None, WorkCalendar] = OrderedDict()
_lock = threading.Lock()


def _create_tables(db: Database) -> None:
    db.execute(
        "CREATE TABLE calendar_years ("
        " year INTEGER PRIMARY KEY,"
        " record_id TEXT NOT NULL,"
        " seq INTEGER NOT NULL,"          # central's seq: the later record for a year wins
        " data TEXT NOT NULL)"            # the body, JSON (sorted keys)
    )


MIGRATIONS = [_create_tables]


def ensure_schema(db: Database) -> None:
    """Create or upgrade the calendar table; cheap when current."""
    migrate(db, "calendar", MIGRATIONS)


def reset(db: Database) -> None:
    """Empty the projection (before a rebuild from the log)."""
    db.conn.execute("DELETE FROM calendar_years")


def project(db: Database, record: Any) -> str | None:
    """Apply one `calendar.year` record; returns a problem text if it cannot be used.

    Returns None for records of other kinds and for records it applied.
    """
    if record.kind != KIND:
        return None
    if record.origin != "C":
        return "calendar.year: only central publishes the calendar"
    body = record.body
    year = body.get("year") if isinstance(body, dict) else None
    if isinstance(year, bool) or not isinstance(year, int):
        return "calendar.year: the body has no year"
    try:
        parse_year(body)
    except CalendarDataError as err:
        return f"calendar.year {year}: " + "; ".join(p.english() for p in err.problems)
    except (RuleError, TypeError, ValueError, AttributeError, KeyError) as err:
        return f"calendar.year {year}: unreadable ({type(err).__name__}: {err})"
    db.conn.execute(
        "INSERT INTO calendar_years (year, record_id, seq, data) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (year) DO UPDATE SET record_id = excluded.record_id, seq = excluded.seq,"
        "  data = excluded.data"
        " WHERE excluded.seq > calendar_years.seq",
        [year, record.id, record.seq, json.dumps(body, sort_keys=True, ensure_ascii=False)],
    )
    return None


def stamp(db: Database) -> str | None:
    """The id of the highest-seq calendar record held (None: none): changes when the calendar does."""
    row = db.execute("SELECT record_id FROM calendar_years ORDER BY seq DESC LIMIT 1").fetchone()
    return row[0] if row else None


def work_calendar(db: Database) -> WorkCalendar:
    """The calendar this file knows: packaged years, overlaid with every valid published year."""
    key = stamp(db)
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    calendar = WorkCalendar.packaged()
    for (data,) in db.execute("SELECT data FROM calendar_years ORDER BY year"):
        calendar = calendar.with_year(json.loads(data))
    with _lock:
        _cache[key] = calendar
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return calendar


def published_years(db: Database) -> list[dict[str, Any]]:
    """Every year central has published and this file uses, for the administration screen:
    `{"year", "record_id", "seq"}` by year."""
    return [
        {"year": y, "record_id": r, "seq": s}
        for y, r, s in db.execute("SELECT year, record_id, seq FROM calendar_years ORDER BY year")
    ]
