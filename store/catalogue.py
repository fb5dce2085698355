"""The service catalogue as a projection of central's `catalogue.published` records.

Central signs one `catalogue.published` record per published version (body built by
`store.config_records.catalogue_body`):

    {"version": 7, "data": Catalogue.to_data()}

Every version is kept (history: a case's receipt shows the rules of its day, an administrator
compares versions); `current_catalogue(db)` is the highest valid version. Only records of origin
`C` count. A body that `Catalogue.from_data` refuses is not stored (the record stays in the log
and store.projections lists the problem for a person) and never stops sync. Two records claiming
the same version (should never happen: central numbers them) resolve to the later central seq.

`current_catalogue` is called on every request that shows an item, and the dict is large, so the
parsed Catalogue is cached per process by the record id of the version (a record id is the hash
of its bytes: the same id is the same catalogue in any file).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from casework.catalogue import Catalogue, CatalogueError
from casework.messages import RuleError
from store.db import migrate

KIND = "catalogue.published"

_CACHE_SIZE = 4
_cache: OrderedDict[str, Catalogue] = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True)
class CatalogueVersion:
    """One published version, as the history screen lists it."""

    version: int
    record_id: str
    seq: int
    items: int
    departments: int


def _create_tables(db: Database) -> None:
    db.execute(
        "CREATE TABLE catalogue_versions ("
        " version INTEGER PRIMARY KEY,"
        " record_id TEXT NOT NULL,"
        " seq INTEGER NOT NULL,"          # central's seq
        " items INTEGER NOT NULL,"
        " departments INTEGER NOT NULL,"
        " data TEXT NOT NULL)"            # Catalogue.to_data(), JSON (sorted keys)
    )


MIGRATIONS = [_create_tables]


def ensure_schema(db: Database) -> None:
    """Create or upgrade the catalogue table; cheap when current."""
    migrate(db, "catalogue", MIGRATIONS)


def reset(db: Database) -> None:
    """Empty the projection (before a rebuild from the log)."""
    db.conn.execute("DELETE FROM catalogue_versions")


def _remember(record_id: str, catalogue: Catalogue) -> None:
    with _lock:
        _cache[record_id] = catalogue
        _cache.move_to_end(record_id)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)


def project(db: Database, record: Any) -> str | None:
    """Apply one `catalogue.published` record; returns a problem text if it cannot be used."""
    if record.kind != KIND:
        return None
    if record.origin != "C":
        return "catalogue.published: only central publishes the catalogue"
    body = record.body
    version = body.get("version") if isinstance(body, dict) else None
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        return "catalogue.published: version must be an integer >= 1"
    data = body.get("data")
    try:
        catalogue = Catalogue.from_data(data)
    except CatalogueError as err:
        return f"catalogue.published {version}: " + "; ".join(str(p) for p in getattr(err, "problems", [err]))
    except (RuleError, KeyError, TypeError, ValueError, AttributeError) as err:
        return f"catalogue.published {version}: unreadable ({type(err).__name__}: {err})"
    db.conn.execute(
        "INSERT INTO catalogue_versions (version, record_id, seq, items, departments, data)"
        " VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (version) DO UPDATE SET record_id = excluded.record_id, seq = excluded.seq,"
        "  items = excluded.items, departments = excluded.departments, data = excluded.data"
        " WHERE excluded.seq > catalogue_versions.seq",
        [version, record.id, record.seq, len(catalogue.items), len(catalogue.departments),
         json.dumps(data, sort_keys=True, ensure_ascii=False)],
    )
    _remember(record.id, catalogue)
    return None


def _load(db: Database, row: tuple[Any, ...] | None) -> Catalogue | None:
    if row is None:
        return None
    version, record_id = row
    with _lock:
        found = _cache.get(record_id)
        if found is not None:
            _cache.move_to_end(record_id)
            return found
    data = db.execute("SELECT data FROM catalogue_versions WHERE version = ?", [version]).fetchone()[0]
    catalogue = Catalogue.from_data(json.loads(data))
    _remember(record_id, catalogue)
    return catalogue


def current_version(db: Database) -> int | None:
    """The number of the catalogue version in use, or None before the first is published."""
    row = db.execute("SELECT max(version) FROM catalogue_versions").fetchone()
    return row[0] if row else None


def current_catalogue(db: Database) -> Catalogue | None:
    """The highest published version, parsed once per process; None before the first arrives."""
    return _load(db, db.execute(
        "SELECT version, record_id FROM catalogue_versions ORDER BY version DESC LIMIT 1").fetchone())


def catalogue_version(db: Database, version: int) -> Catalogue | None:
    """An older (or the current) version by number, or None if this file never held it."""
    return _load(db, db.execute(
        "SELECT version, record_id FROM catalogue_versions WHERE version = ?", [version]).fetchone())


def catalogue_history(db: Database) -> list[CatalogueVersion]:
    """Every version held, newest first."""
    return [CatalogueVersion(*row) for row in db.execute(
        "SELECT version, record_id, seq, items, departments FROM catalogue_versions ORDER BY version DESC")]
