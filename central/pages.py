"""Small things every central page needs: the Central, the clerk's window, names of places."""

from __future__ import annotations

from flask import current_app, session
from flask_babel import gettext, lazy_gettext

from central.runtime import Central
from store.accounts import StaffAccount
from web.auth import current_staff


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


STATUS_NAMES = {
    "none": lazy_gettext("Not received"), "received": lazy_gettext("Received"),
    "waiting_supplement": lazy_gettext("Waiting for supplements"), "accepted": lazy_gettext("Accepted"),
    "promised": lazy_gettext("Promised"), "paused": lazy_gettext("Clock paused"),
    "forwarded": lazy_gettext("Forwarded"), "finished": lazy_gettext("Finished"),
    "licence_issued": lazy_gettext("Licence issued"), "delivered": lazy_gettext("Delivered"),
    "refused": lazy_gettext("Refused"), "returned": lazy_gettext("Returned"), "withdrawn": lazy_gettext("Withdrawn"),
}


def status_name(code: str) -> str:
    name = STATUS_NAMES.get(code)
    return str(name) if name is not None else code


KIND_NAMES = {
    "case.received": lazy_gettext("Received"), "case.supplement_requested": lazy_gettext("Supplement notice"),
    "case.supplemented": lazy_gettext("Materials supplied"), "case.accepted": lazy_gettext("Accepted"),
    "case.refused": lazy_gettext("Refused"), "case.returned": lazy_gettext("Returned"),
    "case.promised": lazy_gettext("Promise notice"), "case.clock_paused": lazy_gettext("Clock paused"),
    "case.clock_resumed": lazy_gettext("Clock resumed"), "case.forwarded": lazy_gettext("Forwarded"),
    "case.handover_accepted": lazy_gettext("Taken over"), "case.finished": lazy_gettext("Finished"),
    "case.licence_issued": lazy_gettext("Licence issued"), "case.delivered": lazy_gettext("Delivered"),
    "case.withdrawn": lazy_gettext("Withdrawn"), "case.evaluated": lazy_gettext("Evaluated"),
    "case.fee_assessed": lazy_gettext("Payment notice issued"), "case.fee_paid": lazy_gettext("Fee paid"),
    "case.fee_refunded": lazy_gettext("Fee refunded"), "case.note_added": lazy_gettext("Note"),
    "case.material_added": lazy_gettext("Material added"),
}


def kind_name(kind: str) -> str:
    name = KIND_NAMES.get(kind)
    return str(name) if name is not None else kind
