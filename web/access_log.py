"""Who looked at whose personal data: every unmask, print, scan view and export is a signed record.

PIPL and the national guidance (DOMAIN.md) ask that ID and phone numbers be masked by default and
that every unmask, print and export be logged. A line in an application log can be lost, edited or
read by the wrong people; a signed record cannot be changed, travels to the city with the rest of
the place's records and is kept as long as the records are (for ever: it is evidence). So each
access is a record of kind `access.logged`, signed by the place where it happened (a node through
its log, central through `Central.sign`), written ONCE here and called from every place that
shows, prints or exports personal data, in both apps:

    from web.access_log import record_access, record_export, subject_of
    record_access("print_notice", case=number, what={"notice": "receipt"}, subject=subject_of(state))
    record_export("monthly-2026-11.xlsx", rows=41)          # any XLSX or bundle a person takes away

Each app wires its own signing once: `init_access_log(app, sign=..., place=...)`.

The rule that matters most: the record is written FIRST, and if it cannot be written (a full disk,
writing held after a restore), `AccessNotRecordedError` is raised and the data is not shown: the app
answers 503 with a page saying why. Nothing personal is ever shown unrecorded, and the failure is
never silent.

The record's body (`access_body`), with the data subject only ever masked:
    {"staff": {"username", "name", "roles": [...]}, "action": one of ACTIONS, "place": "node:V000101"
     | "window:W06" | "central", "case"?: number, "what"?: {...}, "subject"?: {"name": "张*三",
     "id": "320682********1234"}, "reason"?: {"code": one of REASONS, "text": "..."}}
`what` says what exactly: `{"field": "applicant"|"proxy"}` for an unmask, `{"notice": kind}` for a
print, `{"scan": first 16 hex digits, "material": name}` for a scan, `{"name": file name, "rows": n}`
for an export. The time is the record's own; central adds its receipt time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, render_template
from flask_babel import gettext, lazy_gettext
from werkzeug.exceptions import Forbidden

from casework.identity import mask_credit_code, mask_id, mask_name
from sync.canonical import nfc
from web.auth import current_staff

KIND = "access.logged"
EXTENSION = "bianmin_access_log"
log = logging.getLogger(__name__)

ACTIONS: dict[str, Any] = {
    "unmask_id": lazy_gettext("ID number shown in full"),
    "unmask_phone": lazy_gettext("Phone number shown in full"),
    "print_notice": lazy_gettext("Notice printed"),
    "view_scan": lazy_gettext("Scan viewed"),
    "export": lazy_gettext("Data exported"),
}
REASONS: dict[str, Any] = {
    "applicant_present": lazy_gettext("The applicant is here and asked to check it"),
    "verify_identity": lazy_gettext("Checking it against the identity document"),
    "contact_applicant": lazy_gettext("Contacting the applicant about this case"),
    "department_system": lazy_gettext("Entering the case in a department's system"),
    "supervision": lazy_gettext("Supervision, complaint or audit"),
    "other": lazy_gettext("Other (write the reason)"),
}
REASON_TEXT_MAX = 200
UNMASK_FIELDS: dict[str, tuple[str, str, str]] = {
    # form value -> (whose, which key of that person, action)
    "id": ("applicant", "id_number", "unmask_id"),
    "phone": ("applicant", "phone", "unmask_phone"),
    "proxy_id": ("proxy", "id_number", "unmask_id"),
    "proxy_phone": ("proxy", "phone", "unmask_phone"),
}


class AccessNotRecordedError(RuntimeError):
    """The access record could not be written, so the data must not be shown."""


@dataclass(frozen=True)
class AccessLog:
    """What an app gives: `sign(kind, body)` signs and stores one record of this place (raising on
    any failure), `place()` is the acting place (`node:<id>`, `window:<code>` or `central`)."""

    sign: Callable[[str, dict[str, Any]], Any]
    place: Callable[[], str]


def init_access_log(app: Flask, *, sign: Callable[[str, dict[str, Any]], Any], place: Callable[[], str]) -> None:
    """Wire this app's signing; also the 503 page shown when an access could not be recorded."""
    app.extensions[EXTENSION] = AccessLog(sign, place)

    @app.errorhandler(AccessNotRecordedError)
    def _not_recorded(_error: AccessNotRecordedError) -> tuple[str, int]:
        return render_template(
            "error.html", status=503, title=gettext("Not shown: the access could not be recorded"),
            message=gettext("Personal data is shown, printed or exported only after the access is recorded, and "
                            "the record could not be written just now, so nothing was shown. Try again in a moment; "
                            "if it keeps happening, tell your administrator (the service point may be waiting for "
                            "its first sync after a restore, or its disk may be full).")), 503


# --- the body ---------------------------------------------------------------------------------------

def masked_id(person: Mapping[str, Any] | None) -> str:
    """A person's ID or an organisation's credit code, masked the way its kind is masked."""
    if not isinstance(person, Mapping) or not person.get("id_number"):
        return ""
    number = str(person["id_number"])
    return mask_credit_code(number) if person.get("id_type") == "credit_code" else mask_id(number)


def subject_of(state: Any) -> dict[str, str]:
    """The data subject of a case (its applicant), masked: what an access record may name."""
    applicant = getattr(state, "applicant", None) or {}
    subject = {"name": mask_name(str(applicant.get("name", ""))) if applicant.get("name") else "",
               "id": masked_id(applicant)}
    return {k: v for k, v in subject.items() if v}


def _masked(value: str, mask: Callable[[str], str]) -> str:
    return value if not value or "*" in value else mask(value)


def _staff_of(staff: Any) -> dict[str, Any]:
    if staff is None:
        return {"username": "", "name": "", "roles": []}
    return {"username": staff.username, "name": staff.display_name, "roles": list(staff.roles)}


def access_body(action: str, *, staff: Mapping[str, Any], place: str, case: str | None = None,
                what: Mapping[str, Any] | None = None, subject: Mapping[str, str] | None = None,
                reason: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The record body (see the module docstring); ValueError for an action this module does not know."""
    if action not in ACTIONS:
        raise ValueError(f"unknown access action {action!r}")
    body: dict[str, Any] = {"staff": dict(staff), "action": action, "place": place}
    if case:
        body["case"] = case
    if what:
        body["what"] = {str(k): v for k, v in what.items() if v is not None}
    if subject:
        # masked again here, whatever the caller passed: an access record never holds a number in clear
        shown = {"name": _masked(subject.get("name", ""), mask_name), "id": _masked(subject.get("id", ""), mask_id)}
        body["subject"] = {k: v for k, v in shown.items() if v}
    if reason:
        body["reason"] = {"code": reason.get("code", ""), "text": reason.get("text", "")}
    return nfc(body)


# --- recording ------------------------------------------------------------------------------------

def record_access(action: str, *, case: str | None = None, what: Mapping[str, Any] | None = None,
                  subject: Mapping[str, str] | None = None, reason: Mapping[str, str] | None = None) -> Any:
    """Sign one access record for the signed-in member of staff at this app's place, BEFORE the data
    is shown; returns the record. Raises AccessNotRecordedError (the app answers 503) if it cannot."""
    wired: AccessLog | None = current_app.extensions.get(EXTENSION)
    if wired is None:
        raise AccessNotRecordedError("this app has no access log wired (init_access_log)")
    try:
        body = access_body(action, staff=_staff_of(current_staff()), place=wired.place(), case=case, what=what,
                           subject=subject, reason=reason)
        return wired.sign(KIND, body)
    except Exception as err:  # any failure to record means the data is not shown
        log.error("access record not written (%s): %s refused", type(err).__name__, action)
        raise AccessNotRecordedError(str(type(err).__name__)) from err


def record_export(name: str, rows: int, **what: Any) -> Any:
    """One call for any export a person takes away (an XLSX, a USB bundle): its file name and how many
    rows (or records) it holds, plus anything else worth knowing (the filter, the month)."""
    return record_access("export", what={"name": name, "rows": int(rows), **what})


def record_print(kind: str, state: Any, **what: Any) -> Any:
    """A printed notice of a case (receipt, supplement, payment, ...)."""
    return record_access("print_notice", case=getattr(state, "number", None), what={"notice": kind, **what},
                         subject=subject_of(state))


def record_scan(state: Any, sha256: str) -> Any:
    """A scan of a case opened on screen."""
    material = next((str(s.get("material", "")) for s in getattr(state, "material_scans", ())
                     if s.get("sha256") == sha256), "")
    return record_access("view_scan", case=getattr(state, "number", None),
                         what={"scan": sha256[:16], "material": material or None}, subject=subject_of(state))


# --- unmasking on a case page ---------------------------------------------------------------------

class UnmaskRefusedError(ValueError):
    """The form is not complete: `errors` maps field names to messages in the user's language."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


def handles(state: Any, place: str) -> bool:
    """Has `place` had this case in hand (received, held, is named to hold it, or acted on it)? A clerk
    unmasks only the cases of their own desk: reading a case is wider than needing its numbers."""
    if not place or place == "central":
        return False
    places = {getattr(state, "holder", None), getattr(state, "pending_handover", None),
              getattr(state, "received_at", None), *getattr(state, "holders", ())}
    places.update(step.place for step in getattr(state, "timeline", ()))
    return place in places


def may_unmask(state: Any, place: str, *, roles: tuple[str, ...], any_case: tuple[str, ...] = ()) -> bool:
    """May the signed-in member of staff show this case's numbers in full? They need one of `roles`,
    and either one of `any_case` (a supervisor) or a place that `handles` the case."""
    staff = current_staff()
    if staff is None or not roles or not staff.has_role(*roles):
        return False
    return bool(any_case and staff.has_role(*any_case)) or handles(state, place)


def unmask(state: Any, form: Mapping[str, str], *, permitted: bool) -> dict[str, str]:
    """Check an unmask form, write its access record, and return {field: the number in clear} for this
    one page view. UnmaskRefusedError lists what to fix (the caller keeps what was typed); a field the
    case does not have is refused too. The form is checked before `permitted` (may_unmask) so that a
    refusal never depends on what the person may not see; then Forbidden (403) if not permitted."""
    field = form.get("field", "")
    errors: dict[str, str] = {}
    if field not in UNMASK_FIELDS:
        raise UnmaskRefusedError({"field": gettext("Choose which number to show.")})
    whose, key, action = UNMASK_FIELDS[field]
    person = getattr(state, whose, None) or {}
    value = person.get(key) if isinstance(person, Mapping) else None
    if not value:
        raise UnmaskRefusedError({"field": gettext("This case has no such number.")})
    code = form.get("reason", "")
    text = nfc(form.get("reason_text", "").strip())
    if code not in REASONS:
        errors["reason"] = gettext("Choose why the number must be shown in full.")
    elif code == "other" and not text:
        errors["reason_text"] = gettext("Write the reason.")
    if len(text) > REASON_TEXT_MAX:
        errors["reason_text"] = gettext("Keep the reason under %(n)s characters.", n=REASON_TEXT_MAX)
    if errors:
        raise UnmaskRefusedError(errors)
    if not permitted:
        raise Forbidden()
    record_access(action, case=getattr(state, "number", None), what={"field": whose},
                  subject=subject_of(state), reason={"code": code, "text": text})
    return {field: str(value)}


def reason_choices() -> list[tuple[str, str]]:
    return [(code, str(label)) for code, label in REASONS.items()]


def action_name(code: str) -> str:
    label = ACTIONS.get(code)
    return str(label) if label is not None else code


def reason_name(code: str) -> str:
    label = REASONS.get(code)
    return str(label) if label is not None else code


__all__ = [
    "ACTIONS",
    "KIND",
    "REASONS",
    "UNMASK_FIELDS",
    "AccessNotRecordedError",
    "UnmaskRefusedError",
    "access_body",
    "action_name",
    "handles",
    "init_access_log",
    "masked_id",
    "may_unmask",
    "reason_choices",
    "reason_name",
    "record_access",
    "record_export",
    "record_print",
    "record_scan",
    "subject_of",
    "unmask",
]
