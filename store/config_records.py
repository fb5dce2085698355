"""Bodies of the configuration records central signs: catalogue versions, calendar years, staff.

Configuration is records (DESIGN.md): central appends them to its own log and nodes pull them.
These builders make the bodies the projections in this package read, checked before signing so
that central never publishes something every node would then refuse:

    logstore.append(CATALOGUE_PUBLISHED, catalogue_body(catalogue, next_catalogue_version(db)))
    logstore.append(CALENDAR_YEAR, calendar_year_body(year_dict))
    logstore.append(STAFF_ACCOUNT, staff_account_body(username="zhangsan", display_name="张三",
                    password_hash=web.passwords.hash_password(...), roles=["village_clerk"],
                    places=["V000123"], version=next_staff_version(db, "zhangsan")))

Password hashing belongs to web/passwords.py: this module takes the finished hash.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from sqlite_utils import Database

from casework.calendar import parse_year
from casework.catalogue import Catalogue
from store import accounts
from store.catalogue import current_version

CATALOGUE_PUBLISHED = "catalogue.published"
CALENDAR_YEAR = "calendar.year"
STAFF_ACCOUNT = "staff.account"


def _nfc(value: Any) -> Any:
    """Every text in a body in NFC (records require it), lists and dicts walked."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list | tuple):
        return [_nfc(v) for v in value]
    if isinstance(value, Mapping):
        return {_nfc(k): _nfc(v) for k, v in value.items()}
    return value


def catalogue_body(catalogue: Catalogue, version: int) -> dict[str, Any]:
    """`{"version": version, "data": catalogue.to_data()}`; version is an integer >= 1 and must
    exceed the current one (see `next_catalogue_version`)."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError("a catalogue version is an integer >= 1")
    return {"version": version, "data": _nfc(catalogue.to_data())}


def next_catalogue_version(db: Database) -> int:
    """The version number the next published catalogue takes."""
    return (current_version(db) or 0) + 1


def calendar_year_body(year: Mapping[str, Any]) -> dict[str, Any]:
    """One year's calendar dict, checked (`casework.calendar.parse_year` raises CalendarDataError)
    and in its canonical form (sorted dates)."""
    return _nfc(parse_year(year).to_data())


def staff_account_body(*, username: str, display_name: str, password_hash: str, roles: Iterable[str],
                       places: Iterable[str], version: int, active: bool = True) -> dict[str, Any]:
    """A checked `staff.account` body (raises store.accounts.AccountError listing every problem)."""
    body = _nfc({
        "username": accounts.normalize_username(username),
        "display_name": display_name.strip(),
        "password_hash": password_hash,
        "roles": list(roles),
        "places": list(places),
        "active": active,
        "version": version,
    })
    accounts.parse(body)
    return body


def next_staff_version(db: Database, username: str) -> int:
    """The version the next change of `username`'s account takes (1 for a new account)."""
    found = accounts.find(db, username)
    return found.version + 1 if found else 1
