"""Small things every central page needs: the Central, the clerk's window, names of places."""

from __future__ import annotations

import datetime as dt

from flask import current_app, session
from flask_babel import gettext

from central.runtime import CHINA, Central
from store.accounts import StaffAccount
from web.auth import current_staff
from web.casepage import kind_name, status_name  # noqa: F401  (the names both apps show)


def central_of() -> Central:
    """The Central of the app handling this request."""
    return current_app.extensions["central"]


def staff_name() -> str:
    staff = current_staff()
    return staff.username if staff else ""


def windows_of(staff: StaffAccount | None) -> list[tuple[str, str]]:
    """(code, name) of the counters a clerk may work at: the windows in their places, or all."""
    if staff is None:
        return []
    catalogue = central_of().catalogue()
    return [(w.code, f"{w.code} {w.name}") for w in catalogue.windows
            if staff.acts_for(w.code) and w.kind in ("department", "combined", "card")]


def current_window() -> str | None:
    """The window this clerk works at in this session (chosen once, remembered in the session)."""
    staff = current_staff()
    choices = [code for code, _ in windows_of(staff)]
    chosen = session.get("window")
    if chosen in choices:
        return chosen
    if len(choices) == 1:
        session["window"] = choices[0]
        return choices[0]
    return None


def acting_place() -> str:
    """Where the signed-in member of staff acts: their window (`window:W06`), else the centre as a whole."""
    window = current_window()
    return f"window:{window}" if window else "central"


def place_label(place: str | None) -> str:
    """A place code as people say it: `window:W05` -> `W05 市场监管局窗口`, `node:V000123` -> its name."""
    if not place:
        return ""
    if place == "central":
        return gettext("City centre")
    kind, _, code = place.partition(":")
    if kind == "window":
        try:
            return f"{code} {central_of().catalogue().window(code).name}"
        except KeyError:
            return code
    if kind == "node":
        from store.directory import node_name

        central = central_of()
        with central.log._lock:
            return f"{code} {node_name(central.log.db, code)}" if node_name(central.log.db, code) != code else code
    return place




def china_time(value: str | None) -> str:
    """An ISO time with an offset (a record's clock, central's receipt stamp in UTC) as China time,
    `2026-11-25 13:12`; text that is not a time is shown as it is."""
    if not value:
        return ""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(CHINA)
    return parsed.strftime("%Y-%m-%d %H:%M")
