"""Staff accounts as a projection of `staff.account` records, and login-failure counters.

Central signs one `staff.account` record per change of an account; nodes pull them and log staff
in from this table while offline. The body of such a record:

    {"username": "zhangsan", "display_name": "张三", "password_hash": "scrypt:32768:8:1$...",
     "roles": ["village_clerk"], "places": ["V000123"], "active": true, "version": 3}

`version` increases with every change central makes. Records may arrive in any order (a USB
bundle after a network sync), so `project` keeps the highest version and ignores older ones:
replaying the whole log in any order gives the same table.

Failure counters are local state, not records: they protect this machine's login form and mean
nothing elsewhere.
"""

from __future__ import annotations

import json
import time
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from store.db import migrate

ROLES = (
    "village_clerk",
    "town_clerk",
    "node_admin",
    "window_clerk",
    "card_clerk",
    "cashier",
    "supervisor",
    "inspector",
    "admin",
)
"""Every role a staff account may hold (DOMAIN.md); web/ gives their names on screen."""

ALL_PLACES = "*"
"""In `places`: the account may act for every place (central's administrators)."""


class AccountError(ValueError):
    """A `staff.account` body is malformed; `problems` lists what is wrong with it."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class StaffAccount:
    """One member of staff as this machine knows them."""

    username: str
    display_name: str
    password_hash: str
    roles: tuple[str, ...]
    places: tuple[str, ...]
    active: bool
    version: int

    def has_role(self, *roles: str) -> bool:
        """True if the account holds any of `roles`."""
        return any(role in self.roles for role in roles)

    def acts_for(self, place: str) -> bool:
        """True if the account may act for `place` (a node id or a window)."""
        return ALL_PLACES in self.places or place in self.places


def normalize_username(username: str) -> str:
    """The one spelling of a username: NFC, stripped, lower case.

    Counters and look-ups use it, so "ZhangSan " and "zhangsan" are the same account and cannot
    be used to get around a lockout.
    """
    return unicodedata.normalize("NFC", username).strip().lower()


def _create_tables(db: Database) -> None:
    db.execute(
        "CREATE TABLE staff ("
        " username TEXT PRIMARY KEY,"
        " display_name TEXT NOT NULL,"
        " password_hash TEXT NOT NULL,"
        " roles TEXT NOT NULL,"  # JSON list
        " places TEXT NOT NULL,"  # JSON list
        " active INTEGER NOT NULL,"
        " version INTEGER NOT NULL)"
    )
    db.execute(
        "CREATE TABLE login_failures ("
        " key TEXT PRIMARY KEY,"  # 'user:<username>' or 'addr:<client address>'
        " failures INTEGER NOT NULL,"
        " window_start REAL NOT NULL,"
        " locked_until REAL)"
    )


MIGRATIONS = [_create_tables]


def ensure_schema(db: Database) -> None:
    """Create or upgrade the account tables; cheap when they are current."""
    migrate(db, "accounts", MIGRATIONS)


def parse(body: Mapping[str, Any]) -> StaffAccount:
    """Check a `staff.account` body and turn it into a StaffAccount; raises AccountError."""
    problems: list[str] = []

    def text(name: str) -> str:
        value = body.get(name)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{name}: must be a non-empty string")
            return ""
        return value

    def strings(name: str) -> tuple[str, ...]:
        value = body.get(name)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            problems.append(f"{name}: must be a list of non-empty strings")
            return ()
        return tuple(value)

    username = normalize_username(text("username"))
    display_name = text("display_name").strip()
    password_hash = text("password_hash")
    roles = strings("roles")
    places = strings("places")
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        problems.append(f"roles: unknown role(s) {', '.join(unknown)}")
    active = body.get("active")
    if not isinstance(active, bool):
        problems.append("active: must be true or false")
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.append("version: must be an integer >= 1")
    if problems:
        raise AccountError(problems)
    return StaffAccount(
        username=username,
        display_name=display_name,
        password_hash=password_hash,
        roles=roles,
        places=places,
        active=bool(active),
        version=int(version),  # type: ignore[arg-type]
    )


def project(db: Database, body: Mapping[str, Any]) -> bool:
    """Apply one `staff.account` record body; True if it changed the table.

    An older or equal version than the one stored is ignored, so replays and out-of-order
    arrivals are harmless. Raises AccountError for a malformed body (nothing is written).
    """
    account = parse(body)
    with db.atomic():
        cursor = db.execute(
            "INSERT INTO staff (username, display_name, password_hash, roles, places, active, version)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (username) DO UPDATE SET"
            "  display_name = excluded.display_name, password_hash = excluded.password_hash,"
            "  roles = excluded.roles, places = excluded.places, active = excluded.active,"
            "  version = excluded.version"
            " WHERE excluded.version > staff.version",
            [
                account.username,
                account.display_name,
                account.password_hash,
                json.dumps(list(account.roles)),
                json.dumps(list(account.places)),
                int(account.active),
                account.version,
            ],
        )
        return cursor.rowcount > 0


def _from_row(row: tuple[Any, ...]) -> StaffAccount:
    username, display_name, password_hash, roles, places, active, version = row
    return StaffAccount(
        username=username,
        display_name=display_name,
        password_hash=password_hash,
        roles=tuple(json.loads(roles)),
        places=tuple(json.loads(places)),
        active=bool(active),
        version=int(version),
    )


_COLUMNS = "username, display_name, password_hash, roles, places, active, version"


def find(db: Database, username: str) -> StaffAccount | None:
    """The account called `username` (any case, surrounding spaces ignored), or None."""
    row = db.execute(
        f"SELECT {_COLUMNS} FROM staff WHERE username = ?", [normalize_username(username)]
    ).fetchone()
    return _from_row(row) if row else None


def all_accounts(db: Database) -> list[StaffAccount]:
    """Every account, active or not, by username."""
    return [_from_row(r) for r in db.execute(f"SELECT {_COLUMNS} FROM staff ORDER BY username")]


# --- login-failure counters -------------------------------------------------------------------


@dataclass(frozen=True)
class LockoutPolicy:
    """How many failures within `window_seconds` lock a key, and for how long.

    Failures older than the window are forgotten, so a clerk who mistypes once a day is never
    locked out. A client address gets a larger allowance than a username: several clerks may share
    one PC, and the address limit is there to stop one machine trying many usernames.
    """

    max_failures: int = 5
    lock_seconds: float = 15 * 60
    window_seconds: float = 15 * 60
    max_failures_per_address: int = 20


def failure_keys(username: str, address: str | None) -> list[str]:
    """The counters a login attempt touches: its username, and its client address if known."""
    keys = [f"user:{normalize_username(username)}"]
    if address:
        keys.append(f"addr:{address}")
    return keys


def _limit(key: str, policy: LockoutPolicy) -> int:
    return policy.max_failures_per_address if key.startswith("addr:") else policy.max_failures


def locked_until(db: Database, keys: Iterable[str], *, now: float | None = None) -> float | None:
    """The latest time (epoch seconds) until which any of `keys` is locked, or None if none is."""
    now = time.time() if now is None else now
    keys = list(keys)
    if not keys:
        return None
    marks = ", ".join("?" for _ in keys)
    row = db.execute(
        f"SELECT MAX(locked_until) FROM login_failures WHERE key IN ({marks}) AND locked_until > ?",
        [*keys, now],
    ).fetchone()
    return float(row[0]) if row and row[0] is not None else None


def record_failure(
    db: Database, keys: Iterable[str], policy: LockoutPolicy, *, now: float | None = None
) -> float | None:
    """Count one failed login against each key; returns the lock's end if this locked any key.

    A key that is already locked is not counted again, so hammering a locked account does not
    push its lock further into the future (which would let anyone keep a clerk out for good).
    """
    now = time.time() if now is None else now
    until: float | None = None
    with db.atomic():
        for key in keys:
            row = db.execute(
                "SELECT failures, window_start, locked_until FROM login_failures WHERE key = ?", [key]
            ).fetchone()
            failures, window_start, locked = (row[0], row[1], row[2]) if row else (0, now, None)
            if locked is not None and locked > now:
                until = max(until or 0.0, locked)
                continue
            if now - window_start > policy.window_seconds or locked is not None:
                failures, window_start = 0, now
            failures += 1
            locked = None
            if failures >= _limit(key, policy):
                locked = now + policy.lock_seconds
                failures = 0
                until = max(until or 0.0, locked)
            db.execute(
                "INSERT INTO login_failures (key, failures, window_start, locked_until)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,"
                " window_start = excluded.window_start, locked_until = excluded.locked_until",
                [key, failures, window_start, locked],
            )
    return until


def clear_failures(db: Database, keys: Iterable[str]) -> None:
    """Forget the failures counted against `keys` (after a successful login)."""
    keys = list(keys)
    if keys:
        marks = ", ".join("?" for _ in keys)
        db.execute(f"DELETE FROM login_failures WHERE key IN ({marks})", keys)


def current_locks(db: Database, *, now: float | None = None) -> list[tuple[str, float]]:
    """Keys locked now and until when, soonest first: for an administrator's page, who may lift
    one early with `clear_failures` (e.g. after checking by phone that it was the clerk)."""
    now = time.time() if now is None else now
    return [
        (key, float(until))
        for key, until in db.execute(
            "SELECT key, locked_until FROM login_failures WHERE locked_until > ? ORDER BY locked_until",
            [now],
        )
    ]


def stale_failures(db: Database, *, before: float, now: float | None = None) -> int:
    """How many failure counters were last started before `before` and lock nothing now (retention)."""
    now = time.time() if now is None else now
    return int(db.execute(
        "SELECT count(*) FROM login_failures WHERE window_start < ? AND (locked_until IS NULL OR locked_until <= ?)",
        [before, now]).fetchone()[0])


def forget_failures(db: Database, *, before: float, now: float | None = None) -> int:
    """Delete those counters (usernames and client addresses are personal data: kept no longer than the
    retention policy says); a lock still running is never lifted this way. Returns how many."""
    now = time.time() if now is None else now
    cursor = db.execute(
        "DELETE FROM login_failures WHERE window_start < ? AND (locked_until IS NULL OR locked_until <= ?)",
        [before, now])
    return int(cursor.rowcount or 0)
