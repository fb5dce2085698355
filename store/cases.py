"""Cases as a projection of `case.*` records: one row per case for lists, boards and search.

The truth about a case is its signed records; `casework.cases.fold` turns them into a CaseState.
Folding for every line of a list would be far too slow at central (a million cases), so every
stored `case.*` record re-folds ITS case (all of the case's events, read back from the log through
the `case_events` index this module keeps) and rewrites that case's row in `cases`, in the same
transaction as the record. The row is a cache: `rebuild` recomputes it identically from the log,
and `get_case_state` always folds afresh (with the current calendar) for the case page.

Tables
- `case_events (case, pos, record_id)`: the log positions of each case's records (`pos` is the
  log's `records.pos`), so a case's events are one index range away.
- `cases`: one row per case number, columns in `CaseRow` (status, holder, item, department,
  window, dates, money, applicant display name with MASKED id and phone, flags, counts).
  The plain ID number never enters this table: for exact search by ID (or mobile) it keeps a
  keyed hash (HMAC-SHA256) of the normalised number, with a random key per database file
  (`case_settings`), so a copied table cannot be matched against a list of ID numbers.
- `case_tallies (field, value, n)`: counts per status / department / window / node / holder, and
  of open cases per department / window / node / holder (`open.<field>`), maintained with every
  row change, so home screens and the supervision board never count a million rows.

Reading
- `list_cases(db, *, status=None, holder=None, place=None, window=None, department=None,
  node=None, search=None, due_before=None, overdue=None, card=None, order=None, limit=50,
  offset=0, today=None) -> CasePage` (unpacks as `rows, total`; `page.exact` is False when the
  total was capped at `COUNT_CAP` + 1, i.e. "more than COUNT_CAP").
- `get_case_state(db, number) -> CaseState | None`, `case_events(db, number) -> list[Record]`,
  `get_case_row(db, number) -> CaseRow | None`, `find_case_number(db, typed) -> str | None`.
- `counts_by(db, field, **filters) -> dict[str, int]` (field: status, department, window, node,
  holder, item, received_by) and `board_counts(db, *, today=None, soon_days=3, **filters)`.

Overdue is never stored (it changes at midnight, not with a record): it is `due_date < today`
for a case whose clock runs (the stored `running` flag: open, with a due date, not paused; so
accepted, promised, forwarded after acceptance), computed in each query. `late` (finished after
its due date) is stored. Dates are ISO text, times naive China time (as the fold gives them).

Speed (bench/store_cases.py): every list is one index range in its order plus a capped count;
pages read ids first and then only their rows, so a deep page does not sort whole rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from sqlite_utils import Database

from casework.cases import CaseState, Event, Status, fold
from casework.identity import mask_credit_code, mask_id, mask_phone, normalise, normalise_text
from casework.numbering import normalise as normalise_number
from store.calendar import work_calendar
from store.db import migrate
from sync.envelope import Record, parse_record

PREFIX = "case."
CHINA = dt.timezone(dt.timedelta(hours=8))
COUNT_CAP = 10_000
"""Totals of filtered lists are counted up to this many rows; more is reported as COUNT_CAP + 1."""

OPEN_STATUSES = (Status.RECEIVED, Status.WAITING_SUPPLEMENT, Status.ACCEPTED, Status.PROMISED,
                 Status.PAUSED, Status.FORWARDED)
"""Cases still being worked on (not finished, not closed)."""

TALLIED = {"status": "status", "department": "department", "window": "window", "node": "origin",
           "holder": "holder"}
"""Fields whose counts are maintained (counts_by without filters reads them)."""

GROUPABLE = {**TALLIED, "item": "item_code", "received_by": "received_by", "kind": "item_kind"}

ORDERS = {
    "due": "due_date ASC, id ASC",
    "received": "received_at DESC, id DESC",
    "number": "number ASC",
    "recent": "last_event_at DESC, id DESC",
}

_MAX_TEXT = "\U0010ffff"  # sorts after every other character: the end of a prefix range
_ID_LIKE = re.compile(r"^(\d{17}[\dX]|\d{15}|[0-9A-HJ-NPQRTUWXY]{18})$")
_MOBILE = re.compile(r"^1\d{10}$")
_NUMBER_LIKE = re.compile(r"^[TVSC]\d")
_CARD_LIKE = re.compile(r"^K[TVSC]?\d")


@dataclass(frozen=True)
class CaseRow:
    """One case as lists show it (the `cases` row). Dates are ISO text; times naive China time."""

    id: int
    number: str
    number_key: str
    item_code: str | None
    item_name: str | None
    item_kind: str | None
    department: str | None
    window: str | None
    status: str
    open: bool
    running: bool            # the due-date clock runs: open, a due date, not paused (may become overdue)
    holder: str | None
    pending_holder: str | None
    received_by: str | None
    origin: str | None
    received_at: str | None
    received_date: str | None
    accepted_at: str | None
    due_date: str | None
    due_provisional: bool
    finished_at: str | None
    closed_at: str | None
    late: bool
    paused: bool
    waiting_supplement: bool
    applicant_type: str | None
    applicant_name: str | None
    id_masked: str | None
    phone_masked: str | None
    id_hash: str | None
    phone_hash: str | None
    proxy: bool
    card: str | None
    assessed_fen: int
    paid_fen: int
    refunded_fen: int
    balance_fen: int
    outstanding_fen: int
    pre_fee_unpaid: bool
    evaluation_level: int | None
    bad_review: bool
    conflicts: int
    pending: int
    events: int
    last_event_at: str | None
    overdue: bool = False  # computed at query time, not stored


_STORED = [f.name for f in fields(CaseRow) if f.name != "overdue"]
_BOOLS = {f.name for f in fields(CaseRow) if f.type == "bool" and f.name != "overdue"}


class CasePage(tuple):
    """`(rows, total)` of a list query; `.exact` is False when `total` is COUNT_CAP + 1 ("more")."""

    exact: bool

    def __new__(cls, rows: list[CaseRow], total: int, exact: bool = True) -> CasePage:
        page = super().__new__(cls, (rows, total))
        page.exact = exact
        return page

    @property
    def rows(self) -> list[CaseRow]:
        return self[0]

    @property
    def total(self) -> int:
        return self[1]


# --- schema -------------------------------------------------------------------------------------

def _create_tables(db: Database) -> None:
    db.execute(
        "CREATE TABLE case_events ("
        " case_number TEXT NOT NULL,"
        " pos INTEGER NOT NULL,"          # the log's records.pos
        " record_id TEXT NOT NULL,"
        " PRIMARY KEY (case_number, pos)) WITHOUT ROWID"
    )
    # Frozen with this step: a new CaseRow field needs its own step (ALTER TABLE ... ADD COLUMN) and
    # a PROJECTION_VERSION bump in store.projections, which refills it from the log.
    db.execute(
        "CREATE TABLE cases (id INTEGER PRIMARY KEY,"
        " number TEXT NOT NULL, number_key TEXT NOT NULL, item_code TEXT, item_name TEXT, item_kind TEXT,"
        " department TEXT, window TEXT, status TEXT NOT NULL, open INTEGER NOT NULL, running INTEGER NOT NULL,"
        " holder TEXT, pending_holder TEXT, received_by TEXT, origin TEXT, received_at TEXT, received_date TEXT,"
        " accepted_at TEXT, due_date TEXT, due_provisional INTEGER NOT NULL, finished_at TEXT, closed_at TEXT,"
        " late INTEGER NOT NULL, paused INTEGER NOT NULL, waiting_supplement INTEGER NOT NULL,"
        " applicant_type TEXT, applicant_name TEXT, id_masked TEXT, phone_masked TEXT, id_hash TEXT,"
        " phone_hash TEXT, proxy INTEGER NOT NULL, card TEXT, assessed_fen INTEGER NOT NULL,"
        " paid_fen INTEGER NOT NULL, refunded_fen INTEGER NOT NULL, balance_fen INTEGER NOT NULL,"
        " outstanding_fen INTEGER NOT NULL, pre_fee_unpaid INTEGER NOT NULL, evaluation_level INTEGER,"
        " bad_review INTEGER NOT NULL, conflicts INTEGER NOT NULL, pending INTEGER NOT NULL,"
        " events INTEGER NOT NULL, last_event_at TEXT, UNIQUE (number))"
    )
    for name, cols in [
        ("status_due", "status, due_date"),
        ("open_due", "open, due_date"),
        ("running_due", "running, due_date"),
        ("holder_due", "holder, open, due_date"),
        ("department_due", "department, open, due_date"),
        ("window_due", "window, open, due_date"),
        ("origin_received", "origin, received_at"),
        ("received_by", "received_by, received_at"),
        ("received", "received_at"),
        ("received_date", "received_date"),
        ("number_key", "number_key"),
        ("applicant_name", "applicant_name"),
        ("recent", "last_event_at"),
    ]:
        db.execute(f"CREATE INDEX cases_{name} ON cases ({cols})")
    for name, cols, where in [
        ("pending_holder", "pending_holder", "pending_holder IS NOT NULL"),
        ("id_hash", "id_hash", "id_hash IS NOT NULL"),
        ("phone_hash", "phone_hash", "phone_hash IS NOT NULL"),
        ("card", "card, received_at", "card IS NOT NULL"),
        ("conflicts", "conflicts", "conflicts > 0"),
        ("pre_fee", "due_date", "pre_fee_unpaid = 1"),
        ("bad_review", "received_at", "bad_review = 1"),
        ("late", "finished_at", "late = 1"),
    ]:
        db.execute(f"CREATE INDEX cases_{name} ON cases ({cols}) WHERE {where}")
    db.execute(
        "CREATE TABLE case_tallies (field TEXT NOT NULL, value TEXT NOT NULL, n INTEGER NOT NULL,"
        " PRIMARY KEY (field, value)) WITHOUT ROWID"
    )
    db.execute("CREATE TABLE case_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO case_settings VALUES ('hash_key', ?)", [secrets.token_hex(32)])


def _create_rebased(db: Database) -> None:
    db.execute("CREATE TABLE case_rebased (old_id TEXT PRIMARY KEY, new_id TEXT NOT NULL) WITHOUT ROWID")


MIGRATIONS = [_create_tables, _create_rebased]


def ensure_schema(db: Database) -> None:
    """Create or upgrade the case tables; cheap when current."""
    migrate(db, "cases", MIGRATIONS)


def reset(db: Database) -> None:
    """Empty the projection before a rebuild (the hash key in case_settings is kept)."""
    for table in ("case_events", "cases", "case_tallies", "case_rebased"):
        db.conn.execute(f"DELETE FROM {table}")


# --- hashing for exact search -------------------------------------------------------------------

def _hash_key(db: Database) -> bytes:
    row = db.conn.execute("SELECT value FROM case_settings WHERE name = 'hash_key'").fetchone()
    return bytes.fromhex(row[0])


def keyed_hash(db: Database, value: str) -> str:
    """The search hash of an ID or phone number as this file stores it (normalised first)."""
    return hmac.new(_hash_key(db), normalise(value).encode(), hashlib.sha256).hexdigest()[:32]


# --- the projector ------------------------------------------------------------------------------

def _is_central(db: Database) -> bool:
    row = db.conn.execute("SELECT value FROM meta WHERE name = 'origin'").fetchone()
    return bool(row) and row[0] == "C"


_REFERENCES = ("after", "settles")   # lists of event ids in case bodies
_REFERENCE = ("assessment",)         # single event ids


def _references(body: Any) -> set[str]:
    if not isinstance(body, dict):
        return set()
    found = {body[k] for k in _REFERENCE if isinstance(body.get(k), str)}
    for key in _REFERENCES:
        value = body.get(key)
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, list):
            found.update(v for v in value if isinstance(v, str))
    return found


def _renamed(body: dict[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    body = dict(body)
    for key in _REFERENCE:
        if isinstance(body.get(key), str):
            body[key] = mapping.get(body[key], body[key])
    for key in _REFERENCES:
        value = body.get(key)
        if isinstance(value, str):
            body[key] = mapping.get(value, value)
        elif isinstance(value, list):
            body[key] = [mapping.get(v, v) if isinstance(v, str) else v for v in value]
    return body


def _load_events(db: Database, number: str, central: bool) -> list[Event]:
    """The case's events from the log. An event that names an earlier event by an id this file no
    longer holds, because a recovery rebased it (`sync.rebased`), is read with the new id."""
    rows = db.conn.execute(
        "SELECT r.id, r.origin, r.seq, r.kind, r.raw, r.origin_time, r.received_at"
        " FROM case_events e JOIN records r ON r.pos = e.pos WHERE e.case_number = ? ORDER BY e.pos",
        [number],
    ).fetchall()
    events = [Event(rid, origin, seq, kind, json.loads(raw)["body"], origin_time,
                    received_at if central else None)
              for rid, origin, seq, kind, raw, origin_time, received_at in rows]
    held = {e.id for e in events}
    missing = sorted(set().union(*(_references(e.body) for e in events)) - held)
    if not missing:
        return events
    mapping = dict(db.conn.execute(
        f"SELECT old_id, new_id FROM case_rebased WHERE old_id IN ({', '.join('?' for _ in missing)})", missing))
    if not mapping:
        return events
    return [replace(e, body=_renamed(e.body, mapping)) if _references(e.body) & mapping.keys() else e
            for e in events]


def project_rebased(db: Database, record: Any) -> str | None:
    """A `sync.rebased` record `{"from_seq", "records": [[old id, new id], ...]}`: a recovering node
    re-signed its own records under new ids; events that name the old ids now mean the new ones.
    Only pairs whose new id is a held record of the same origin, and whose old id is not a held
    record, are taken (a node cannot rename anyone else's events). Re-folds the cases concerned."""
    pairs = record.body.get("records") if isinstance(record.body, dict) else None
    if not isinstance(pairs, list):
        return "sync.rebased: records must list [old id, new id] pairs"
    numbers: set[str] = set()
    skipped = 0
    for pair in pairs:
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(i, str) for i in pair)):
            skipped += 1
            continue
        old, new = pair
        target = db.conn.execute("SELECT origin, kind, raw FROM records WHERE id = ?", [new]).fetchone()
        if (target is None or target[0] != record.origin
                or db.conn.execute("SELECT 1 FROM records WHERE id = ?", [old]).fetchone() is not None):
            skipped += 1
            continue
        db.conn.execute("INSERT OR IGNORE INTO case_rebased (old_id, new_id) VALUES (?, ?)", [old, new])
        if target[1].startswith(PREFIX):
            case = json.loads(target[2])["body"].get("case")
            if isinstance(case, str) and db.conn.execute(
                    "SELECT 1 FROM cases WHERE number = ?", [case]).fetchone() is not None:
                numbers.add(case)
    central = _is_central(db)
    for number in sorted(numbers):
        refold(db, number, central=central)
    return f"sync.rebased: {skipped} pair(s) not taken" if skipped else None


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    return value.isoformat()


def _origin_of(place: str | None) -> str | None:
    if place and place.startswith("node:"):
        return place[5:]
    return "C" if place else None


def row_values(db: Database, number: str, state: CaseState, events: int) -> dict[str, Any]:
    """The `cases` columns for a folded state (no `id`)."""
    item = state.item if isinstance(state.item, dict) else {}
    applicant = state.applicant if isinstance(state.applicant, dict) else {}
    id_number = applicant.get("id_number") if isinstance(applicant.get("id_number"), str) else None
    phone = applicant.get("phone") if isinstance(applicant.get("phone"), str) else None
    name = applicant.get("name") if isinstance(applicant.get("name"), str) else None
    if id_number:
        masked_id = mask_credit_code(id_number) if applicant.get("id_type") == "credit_code" else mask_id(id_number)
    else:
        masked_id = None
    due = state.due_date
    finished = state.finished_time
    times = [s.time for s in state.timeline if s.time is not None]
    levels = [e.level for e in state.evaluations]
    status = Status(state.status)
    return {
        "number": number,
        "number_key": normalise_number(number),
        "item_code": item.get("code"),
        "item_name": item.get("name"),
        "item_kind": item.get("kind"),
        "department": item.get("department"),
        "window": item.get("window"),
        "status": status.value,
        "open": status in OPEN_STATUSES,
        "running": status in OPEN_STATUSES and status != Status.PAUSED and due is not None,
        "holder": state.holder,
        "pending_holder": state.pending_handover,
        "received_by": state.received_at,
        "origin": _origin_of(state.received_at),
        "received_at": _iso(state.received_time),
        "received_date": _iso(state.received_time.date()) if state.received_time else None,
        "accepted_at": _iso(state.accepted_time),
        "due_date": _iso(due),
        "due_provisional": bool(state.due_provisional),
        "finished_at": _iso(finished),
        "closed_at": _iso(state.closed_time),
        "late": bool(due is not None and finished is not None and finished.date() > due),
        "paused": status == Status.PAUSED,
        "waiting_supplement": status == Status.WAITING_SUPPLEMENT,
        "applicant_type": applicant.get("type"),
        "applicant_name": normalise_text(name) if name else None,
        "id_masked": masked_id,
        "phone_masked": mask_phone(phone) if phone else None,
        "id_hash": keyed_hash(db, id_number) if id_number else None,
        "phone_hash": keyed_hash(db, phone) if phone else None,
        "proxy": state.proxy is not None,
        "card": state.card,
        "assessed_fen": state.assessed_fen,
        "paid_fen": state.paid_fen,
        "refunded_fen": state.refunded_fen,
        "balance_fen": state.balance_fen,
        "outstanding_fen": state.outstanding_fen,
        "pre_fee_unpaid": state.pre_fee_unpaid,
        "evaluation_level": min(levels) if levels else None,
        "bad_review": state.bad_review,
        "conflicts": len(state.conflicts),
        "pending": len(state.pending),
        "events": events,
        "last_event_at": _iso(max(times)) if times else None,
    }


def _pairs(row: Mapping[str, Any] | None) -> set[tuple[str, str]]:
    """The tallies a row counts in: (field, value) for every tallied field, and ("open.<field>",
    value) for the open cases' counts."""
    if row is None:
        return set()
    pairs = set()
    for field, column in TALLIED.items():
        value = row.get(column)
        if value is not None:
            pairs.add((field, value))
            if row.get("open") and field != "status":
                pairs.add((f"open.{field}", value))
    return pairs


def _tally(db: Database, old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> None:
    before, after = _pairs(old), _pairs(new)
    for field, value in sorted(before - after):
        db.conn.execute("UPDATE case_tallies SET n = n - 1 WHERE field = ? AND value = ?", [field, value])
        db.conn.execute("DELETE FROM case_tallies WHERE field = ? AND value = ? AND n <= 0", [field, value])
    for field, value in sorted(after - before):
        db.conn.execute(
            "INSERT INTO case_tallies (field, value, n) VALUES (?, ?, 1)"
            " ON CONFLICT (field, value) DO UPDATE SET n = n + 1", [field, value])


_TALLY_COLUMNS = [*TALLIED.values(), "open"]


def refold(db: Database, number: str, *, central: bool | None = None) -> None:
    """Fold case `number` from its indexed events and rewrite its row (and the tallies)."""
    if central is None:
        central = _is_central(db)
    events = _load_events(db, number, central)
    state = fold(events, calendar=work_calendar(db))
    values = row_values(db, number, state, len(events))
    old_row = db.conn.execute(
        f"SELECT {', '.join(_TALLY_COLUMNS)} FROM cases WHERE number = ?", [number]).fetchone()
    old = dict(zip(_TALLY_COLUMNS, old_row, strict=True)) if old_row else None
    columns = list(values)
    db.conn.execute(
        f"INSERT INTO cases ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        f" ON CONFLICT (number) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in columns[1:])}",
        [int(v) if isinstance(v, bool) else v for v in values.values()],
    )
    _tally(db, old, values)


def project(db: Database, record: Any, *, pos: int | None = None) -> str | None:
    """Index one `case.*` record under its case and re-fold that case; other kinds are ignored.

    `pos` is the record's position in the log (looked up when not given). A body without a case
    number cannot belong to any case: it is reported (returned), never raised.
    """
    if not record.kind.startswith(PREFIX):
        return None
    body = record.body
    number = body.get("case") if isinstance(body, dict) else None
    if not isinstance(number, str) or not number.strip() or len(number) > 64:
        return f"{record.kind}: the body names no case"
    if pos is None:
        found = db.conn.execute("SELECT pos FROM records WHERE id = ?", [record.id]).fetchone()
        if found is None:
            return f"{record.kind}: not in the log"
        pos = found[0]
    db.conn.execute("INSERT OR IGNORE INTO case_events (case_number, pos, record_id) VALUES (?, ?, ?)",
                    [number, pos, record.id])
    refold(db, number)
    return None


def refold_for_calendar(db: Database, year: int) -> int:
    """After a calendar year is published: re-fold the open cases whose due date it may move (their
    period from acceptance to due date touches that year, or the date is provisional); returns how
    many were re-folded. Closed cases keep the dates they were closed with. Publishing next year
    in December touches few cases; correcting the current year may re-fold most open ones, once."""
    text = f"{year:04d}"
    numbers = [n for (n,) in db.conn.execute(
        "SELECT number FROM cases WHERE open = 1 AND due_date IS NOT NULL AND (due_provisional = 1"
        " OR (substr(due_date, 1, 4) >= ? AND substr(coalesce(accepted_at, due_date), 1, 4) <= ?)) ORDER BY id",
        [text, text])]
    central = _is_central(db)
    for number in numbers:
        refold(db, number, central=central)
    return len(numbers)


# --- reading ------------------------------------------------------------------------------------

def today_in_china() -> dt.date:
    return dt.datetime.now(CHINA).date()


def _row(values: tuple[Any, ...], today: str) -> CaseRow:
    data = dict(zip(_STORED, values, strict=True))
    for name in _BOOLS:
        data[name] = bool(data[name])
    row = CaseRow(**data)
    if row.running and row.due_date is not None and row.due_date < today:
        row = CaseRow(**{**data, "overdue": True})
    return row


_SELECT = f"SELECT {', '.join(_STORED)} FROM cases"
_RUNNING = "running = 1"


def search_token(db: Database, text: str) -> tuple[str, str] | None:
    """For a full ID (or credit code) or mobile number typed in a search box: (token, masked text). The
    token (`#id:<hash>` / `#phone:<hash>`) searches exactly like the number through `list_cases(search=)`,
    so a page can put it in its address instead of the number (no full number in addresses, browser
    history or links); None for any other text."""
    typed = normalise(text)
    if _ID_LIKE.match(typed) and not _NUMBER_LIKE.match(typed):
        masked = mask_credit_code(typed) if not typed[:17].isdigit() else mask_id(typed)
        return f"#id:{keyed_hash(db, typed)}", masked
    if _MOBILE.match(typed):
        return f"#phone:{keyed_hash(db, typed)}", mask_phone(typed)
    return None


def _search(db: Database, text: str, where: list[str], args: list[Any]) -> str:
    """Add the condition `text` means; returns the order its index gives cheaply."""
    if text.startswith(("#id:", "#phone:")):
        column, _, digest = text[1:].partition(":")
        where.append(f"{column}_hash = ?")
        args.append(digest)
        return ORDERS["received"]
    typed = normalise(text)
    if _ID_LIKE.match(typed) and not _NUMBER_LIKE.match(typed):
        where.append("id_hash = ?")
        args.append(keyed_hash(db, typed))
    elif _MOBILE.match(typed):
        where.append("phone_hash = ?")
        args.append(keyed_hash(db, typed))
    elif _CARD_LIKE.match(typed):
        where.append("card = ?")
        args.append(text.strip())
    elif _NUMBER_LIKE.match(typed):
        key = normalise_number(text)
        where.append("number_key >= ? AND number_key < ?")
        args += [key, key + _MAX_TEXT]
        return "number_key ASC, id ASC"
    else:
        name = normalise_text(text)
        where.append("applicant_name >= ? AND applicant_name < ?")
        args += [name, name + _MAX_TEXT]
        return "applicant_name ASC, id ASC"
    return ORDERS["received"]


def _filters(db: Database, *, today: str, status: str | Iterable[str] | None = None, holder: str | None = None,
             place: str | None = None, window: str | None = None, department: str | None = None,
             node: str | None = None, search: str | None = None, due_before: dt.date | str | None = None,
             overdue: bool | None = None, card: str | None = None, item: str | None = None,
             received_by: str | None = None) -> tuple[list[str], list[Any], str | None]:
    """WHERE terms and their arguments for the filters, and the order a search's index gives."""
    where: list[str] = []
    best: str | None = None
    args: list[Any] = []
    if status is not None:
        statuses = [status] if isinstance(status, str) else list(status)
        if statuses == ["open"]:
            where.append("open = 1")
        elif statuses == ["closed"]:
            where.append("open = 0")
        else:
            where.append(f"status IN ({', '.join('?' for _ in statuses)})")
            args += [str(s) for s in statuses]
    for column, value in (("holder", holder), ("window", window), ("department", department), ("origin", node),
                          ("item_code", item), ("received_by", received_by)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    if place is not None:
        where.append("(holder = ? OR pending_holder = ? OR received_by = ?)")
        args += [place, place, place]
    if card is not None:
        where.append("card = ?")
        args.append(card)
    if due_before is not None:
        where.append("due_date < ?")
        args.append(due_before if isinstance(due_before, str) else due_before.isoformat())
    if overdue is True:
        where.append(f"{_RUNNING} AND due_date < ?")
        args.append(today)
    elif overdue is False:
        where.append(f"NOT ({_RUNNING} AND due_date < ?)")
        args.append(today)
    if search is not None and search.strip():
        best = _search(db, search, where, args)
    return where, args, best


def _today(today: dt.date | None) -> str:
    return (today or today_in_china()).isoformat()


def list_cases(db: Database, *, status: str | Iterable[str] | None = None, holder: str | None = None,
               place: str | None = None, window: str | None = None, department: str | None = None,
               node: str | None = None, search: str | None = None, due_before: dt.date | str | None = None,
               overdue: bool | None = None, card: str | None = None, order: str | None = None, limit: int = 50,
               offset: int = 0, today: dt.date | None = None) -> CasePage:
    """One page of cases and the total, filtered; every filter is optional and they combine (AND).

    - `status`: a Status value, a list of them, or `"open"` / `"closed"`;
    - `holder`: a place (`node:T0101`, `window:W12`); `place`: held by, being handed to, or
      received by that place (a node's "my cases"); `node`: received at that origin (`T0101`);
    - `window`, `department`: the item's central window and department codes;
    - `search`: a case number or its beginning (dashes, spaces, case ignored), a service-card
      number, a resident ID or credit code (exact, through the keyed hash), a mobile number
      (exact), or else the beginning of the applicant's name;
    - `due_before` (date), `overdue` (True/False, against `today`, default today in China), `card`;
    - `order`: `due` (soonest first; not-yet-accepted cases, which have no due date, first),
      `received` (newest first), `number`, `recent` (latest event first). Default: `due`, except
      for a search: then the order of what matched (number, name; newest first for ID or phone).
    The total is exact from maintained tallies when at most one tallied field filters, else
    counted up to COUNT_CAP (then `page.exact` is False and `total` is COUNT_CAP + 1).
    """
    if order is not None and order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}")
    day = _today(today)
    filters = {"status": status, "holder": holder, "place": place, "window": window, "department": department,
               "node": node, "search": search, "due_before": due_before, "overdue": overdue, "card": card}
    where, args, best = _filters(db, today=day, **filters)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    sort = ORDERS[order] if order is not None else best or ORDERS["due"]
    # ids first (often from an index alone, and a sort of small entries), then only the page's rows
    ids = [i for (i,) in db.execute(f"SELECT id FROM cases{clause} ORDER BY {sort} LIMIT ? OFFSET ?",
                                    [*args, int(limit), int(offset)])]
    found = {r[0]: r for r in db.execute(f"{_SELECT} WHERE id IN ({', '.join('?' for _ in ids)})", ids)} if ids else {}
    rows = [_row(found[i], day) for i in ids]
    total, exact = _total(db, filters, clause, args)
    return CasePage(rows, total, exact)


def _total(db: Database, filters: Mapping[str, Any], clause: str, args: list[Any]) -> tuple[int, bool]:
    used = {k: v for k, v in filters.items() if v is not None and not (k == "search" and not str(v).strip())}
    if not used:
        row = db.execute("SELECT coalesce(sum(n), 0) FROM case_tallies WHERE field = 'status'").fetchone()
        return int(row[0]), True
    if len(used) == 1:
        (field, value), = used.items()
        if field in TALLIED and isinstance(value, str) and value not in ("open", "closed"):
            row = db.execute("SELECT n FROM case_tallies WHERE field = ? AND value = ?", [field, value]).fetchone()
            return (int(row[0]) if row else 0), True
        if field == "status" and value == "open":
            marks = ", ".join("?" for _ in OPEN_STATUSES)
            row = db.execute(f"SELECT coalesce(sum(n), 0) FROM case_tallies WHERE field = 'status'"
                             f" AND value IN ({marks})", [s.value for s in OPEN_STATUSES]).fetchone()
            return int(row[0]), True
    if len(used) == 2 and used.get("status") == "open":
        (field, value), = ((k, v) for k, v in used.items() if k != "status")
        if field in TALLIED and isinstance(value, str):
            row = db.execute("SELECT n FROM case_tallies WHERE field = ? AND value = ?",
                             [f"open.{field}", value]).fetchone()
            return (int(row[0]) if row else 0), True
    count = db.execute(f"SELECT count(*) FROM (SELECT 1 FROM cases{clause} LIMIT ?)",
                       [*args, COUNT_CAP + 1]).fetchone()[0]
    return int(count), count <= COUNT_CAP


def counts_by(db: Database, field: str, *, today: dt.date | None = None, **filters: Any) -> dict[str, int]:
    """How many cases per value of `field` (status, department, window, node, holder, item,
    received_by, kind), under the same filters as `list_cases`. Without filters, or with only
    `status="open"`, the maintained tallies answer at once (status, department, window, node, holder)."""
    if field not in GROUPABLE:
        raise ValueError(f"field must be one of {', '.join(GROUPABLE)}")
    used = {k: v for k, v in filters.items() if v is not None}
    if field in TALLIED and (not used or (used == {"status": "open"} and field != "status")):
        tally = f"open.{field}" if used else field
        return {v: int(n) for v, n in db.execute(
            "SELECT value, n FROM case_tallies WHERE field = ? AND n > 0 ORDER BY value", [tally])}
    where, args, _ = _filters(db, today=_today(today), **used)
    column = GROUPABLE[field]
    where.append(f"{column} IS NOT NULL")
    return {v: int(n) for v, n in db.execute(
        f"SELECT {column}, count(*) FROM cases WHERE {' AND '.join(where)} GROUP BY {column} ORDER BY {column}",
        args)}


def due_soon_limit(db: Database, today: dt.date, days: int) -> dt.date:
    """The last date that counts as "due soon": `days` working days after `today`."""
    return work_calendar(db).add_working_days(today, days, allow_provisional=True).date


def board_counts(db: Database, *, today: dt.date | None = None, soon_days: int = 3,
                 **filters: Any) -> dict[str, int]:
    """The supervision board's and home screens' numbers, under `list_cases` filters:
    `total`, `open`, `overdue`, `due_soon` (due within `soon_days` working days, not overdue),
    `paused`, `waiting_supplement`, `forwarded`, `conflicts` (cases with any), `pre_fee_unpaid`,
    `bad_review`, `late` (finished after the due date)."""
    day = today or today_in_china()
    used = {k: v for k, v in filters.items() if v is not None}
    where, args, _ = _filters(db, today=day.isoformat(), **used)
    soon = due_soon_limit(db, day, soon_days).isoformat()
    names = ("total", "open", "paused", "waiting_supplement", "forwarded", "overdue", "due_soon", "conflicts",
             "pre_fee_unpaid", "bad_review", "late")
    if used:  # one pass over the filtered rows
        found = db.execute(
            "SELECT count(*), sum(open = 1), sum(status = ?), sum(status = ?), sum(status = ?),"
            f" sum({_RUNNING} AND due_date < ?), sum({_RUNNING} AND due_date >= ? AND due_date <= ?),"
            " sum(conflicts > 0), sum(pre_fee_unpaid = 1), sum(bad_review = 1), sum(late = 1)"
            f" FROM cases WHERE {' AND '.join(where)}",
            [Status.PAUSED.value, Status.WAITING_SUPPLEMENT.value, Status.FORWARDED.value, day.isoformat(),
             day.isoformat(), soon, *args]).fetchone()
        return {name: int(value or 0) for name, value in zip(names, found, strict=True)}
    # no filter: the tallies, and index ranges for the rest
    status = {v: int(n) for v, n in db.execute("SELECT value, n FROM case_tallies WHERE field = 'status'")}
    result = {
        "total": sum(status.values()),
        "open": sum(status.get(s.value, 0) for s in OPEN_STATUSES),
        "paused": status.get(Status.PAUSED.value, 0),
        "waiting_supplement": status.get(Status.WAITING_SUPPLEMENT.value, 0),
        "forwarded": status.get(Status.FORWARDED.value, 0),
    }
    for name, condition, extra in (
        ("overdue", f"{_RUNNING} AND due_date < ?", [day.isoformat()]),
        ("due_soon", f"{_RUNNING} AND due_date >= ? AND due_date <= ?", [day.isoformat(), soon]),
        ("conflicts", "conflicts > 0", []),
        ("pre_fee_unpaid", "pre_fee_unpaid = 1", []),
        ("bad_review", "bad_review = 1", []),
        ("late", "late = 1", []),
    ):
        result[name] = db.execute(f"SELECT count(*) FROM cases WHERE {condition}", extra).fetchone()[0]
    return {name: result[name] for name in names}


def get_case_row(db: Database, number: str, *, today: dt.date | None = None) -> CaseRow | None:
    """The list row of one case, or None."""
    found = db.execute(f"{_SELECT} WHERE number = ?", [number]).fetchone()
    return _row(found, _today(today)) if found else None


def find_case_number(db: Database, typed: str) -> str | None:
    """The stored number a clerk's typing means (dashes, spaces, full-width, case ignored)."""
    found = db.execute("SELECT number FROM cases WHERE number_key = ?", [normalise_number(typed)]).fetchone()
    return found[0] if found else None


def get_case_state(db: Database, number: str) -> CaseState | None:
    """A fresh fold of the case's events with the current calendar (the case page), or None."""
    events = _load_events(db, number, _is_central(db))
    if not events:
        return None
    return fold(events, calendar=work_calendar(db))


def rows_as_at(db: Database, numbers: Iterable[str], held: Callable[[Event], bool]) -> list[dict[str, Any]]:
    """The `cases` rows these cases would have had if only the events `held` accepts existed.

    A report signed at a service point is checked against what that point held when it signed
    (store.reports.node_month_as_signed): folding each case again from that subset of its
    events is exact, since the fold depends on the events alone, and the rows come from the same
    `row_values` as the projection's, so every figure keeps its one definition. Cases with no
    held event are left out.
    """
    central = _is_central(db)
    calendar = work_calendar(db)
    out = []
    for number in numbers:
        events = [e for e in _load_events(db, number, central) if held(e)]
        if events:
            out.append(row_values(db, number, fold(events, calendar=calendar), len(events)))
    return out


def case_events(db: Database, number: str) -> list[Record]:
    """The case's records in the order this file stored them (the timeline, the evidence)."""
    rows = db.execute(
        "SELECT r.raw, r.sig FROM case_events e JOIN records r ON r.pos = e.pos"
        " WHERE e.case_number = ? ORDER BY e.pos", [number]).fetchall()
    return [parse_record(raw, sig) for raw, sig in rows]
