"""The bodies of the configuration records central signs: staff accounts, catalogue versions,
holiday years, node placement. One place builds each, so the CLI and the administration pages
sign exactly the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from casework.catalogue import Catalogue
from central.runtime import Central
from store import accounts
from store.config_records import calendar_year_body, catalogue_body, staff_account_body
from sync.canonical import nfc
from web.passwords import MIN_PASSWORD_LENGTH, hash_password


class AdminError(ValueError):
    """An administrator's request that cannot be signed; the message is English (translated on screen)."""


def sign_staff(central: Central, username: str, *, display_name: str | None = None, roles: Sequence[str] | None = None,
               places: Sequence[str] | None = None, password: str | None = None, active: bool | None = None,
               staff: str = "") -> dict[str, Any]:
    """Create or change a staff account: a new `staff.account` record with the next version."""
    username = accounts.normalize_username(username)
    if not username or len(username) > 64 or not all(c.isalnum() or c in "._-" for c in username):
        raise AdminError("A username is 1-64 letters, digits, dots, dashes or underscores.")
    with central.log._lock:
        current = accounts.find(central.log.db, username)
    if current is None and not password:
        raise AdminError("A new account needs a password.")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise AdminError(f"A password has at least {MIN_PASSWORD_LENGTH} characters.")
    roles = list(roles) if roles is not None else list(current.roles if current else [])
    unknown = sorted(set(roles) - set(accounts.ROLES))
    if unknown or not roles:
        raise AdminError("Choose at least one known role.")
    try:
        body: dict[str, Any] = staff_account_body(
            username=username,
            display_name=(display_name or (current.display_name if current else username)),
            password_hash=hash_password(password) if password else current.password_hash,  # type: ignore[union-attr]
            roles=roles,
            places=list(places) if places is not None else list(current.places if current else ["*"]),
            version=(current.version + 1) if current else 1,
            active=active if active is not None else (current.active if current else True))
    except accounts.AccountError as err:
        raise AdminError("; ".join(err.problems)) from err
    if staff:
        body["changed_by"] = staff
    central.sign("staff.account", body)
    return body


def publish_catalogue(central: Central, catalogue: Catalogue, *, note: str = "", staff: str = "") -> int:
    """Sign the next catalogue version; nodes pull it and work from it offline."""
    version = central.catalogue_version() + 1
    body = catalogue_body(catalogue, version)
    if note:
        body["note"] = nfc(note)
    if staff:
        body["staff"] = staff
    central.sign("catalogue.published", body)
    return version


def publish_year(central: Central, year: dict[str, Any]) -> None:
    central.sign("calendar.year", calendar_year_body(year))  # CalendarDataError lists every problem


def place_node(central: Central, node: str, *, name: str, town: str | None = None) -> None:
    """Record which town centre a village room belongs to (routing of town items)."""
    body: dict[str, Any] = {"node": node, "name": nfc(name)}
    if town:
        body["town"] = town
    central.sign("directory.placed", body)
