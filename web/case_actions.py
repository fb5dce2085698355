"""What a clerk can do to a case from its page, turned into checked `case.*` record bodies.

Written once for both apps: a node's clerk and a central window clerk see the same actions for the
same state, because the list comes from `casework.cases.allowed_actions(state, place)` (the holder
rule lives there, not here) and every body passes `casework.cases.check_event` before anything is
signed. The app supplies only the acting place and how to append a record (`CaseSource.append`).

Each action reads its fields from the posted form and returns the record's own fields; errors come
back per field (in the user's language), and the page is shown again with what was typed, so a
refused form never loses a clerk's work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext, lazy_gettext

from casework.case_events import DELIVERY_METHODS, EVALUATION_CHANNELS, PAUSE_REASONS
from casework.cases import CaseState, check_event, new_event_body
from casework.messages import RuleError

LABELS: dict[str, Any] = {
    "supplement_requested": lazy_gettext("Issue the supplement notice"),
    "supplemented": lazy_gettext("Record supplied materials"),
    "accepted": lazy_gettext("Accept"),
    "promised": lazy_gettext("Issue the promise notice"),
    "clock_paused": lazy_gettext("Pause the clock"),
    "clock_resumed": lazy_gettext("Resume the clock"),
    "finished": lazy_gettext("Finish"),
    "licence_issued": lazy_gettext("Record the licence issued"),
    "delivered": lazy_gettext("Record delivery"),
    "forwarded": lazy_gettext("Forward"),
    "handover_accepted": lazy_gettext("Take over the case"),
    "refused": lazy_gettext("Refuse"),
    "returned": lazy_gettext("Return"),
    "withdrawn": lazy_gettext("Withdrawn by the applicant"),
    "material_added": lazy_gettext("Add a scan or material"),
    "note_added": lazy_gettext("Add a note"),
    "evaluated": lazy_gettext("Record an evaluation"),
}
"""Actions this page offers (fees are assessed and paid at central's own screens)."""

PAUSE_NAMES = {
    "hearing": lazy_gettext("Hearing"), "test": lazy_gettext("Test"),
    "expert_review": lazy_gettext("Expert review"), "quarantine": lazy_gettext("Quarantine"),
    "appraisal": lazy_gettext("Appraisal"), "other": lazy_gettext("Other lawful reason"),
}
DELIVERY_NAMES = {
    "on_the_spot": lazy_gettext("Handed over on the spot"), "post": lazy_gettext("By post"),
    "village": lazy_gettext("Through the village room"), "electronic": lazy_gettext("Electronically"),
}
CHANNEL_NAMES = {
    "counter": lazy_gettext("On the screen at the counter"), "sms": lazy_gettext("SMS"),
    "web": lazy_gettext("Website"), "paper": lazy_gettext("Paper form"), "phone": lazy_gettext("Phone call"),
}
LEVEL_NAMES = {
    5: lazy_gettext("Very satisfied"), 4: lazy_gettext("Satisfied"), 3: lazy_gettext("Acceptable"),
    2: lazy_gettext("Dissatisfied"), 1: lazy_gettext("Very dissatisfied"),
}


class FormErrors(Exception):  # noqa: N818 - it carries the errors of a form
    """Field name -> message (already translated); shown next to the fields."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = dict(errors)


@dataclass
class ActionContext:
    """Everything an action needs besides the form: the case, who acts, and the calendar."""

    state: CaseState
    place: str
    calendar: Any
    now: dt.datetime
    staff: Any = None
    forward_targets: list[tuple[str, str]] = field(default_factory=list)
    save_blob: Callable[[Any], str] | None = None   # a FileStorage -> sha256 (raises FormErrors)


def offered(state: CaseState, place: str, allowed: list[str]) -> list[str]:
    """The action names to show, in the order casework lists them (kinds without `case.`)."""
    names = [kind.removeprefix("case.") for kind in allowed]
    return [n for n in names if n in LABELS]


def _text(form: Mapping[str, str], name: str) -> str:
    return (form.get(name) or "").strip()


def _date(form: Mapping[str, str], name: str, *, required: bool) -> str | None:
    value = _text(form, name)
    if not value:
        if required:
            raise FormErrors({name: gettext("Enter a date.")})
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise FormErrors({name: gettext("Enter a date like 2026-03-01.")}) from None


def due_date(ctx: ActionContext) -> tuple[str, bool]:
    """The promised date counted from acceptance in working days (and whether it is provisional)."""
    item = ctx.state.item
    days = int(item.get("promised_limit_days") or item.get("legal_limit_days") or 0)
    start = ctx.state.accepted_time or ctx.now.replace(tzinfo=None)
    due = ctx.calendar.add_working_days(start, days, allow_provisional=True)
    return due.date.isoformat(), due.provisional


def _fields(name: str, form: Mapping[str, Any], files: Any, ctx: ActionContext) -> dict[str, Any]:
    """The record's own fields for action `name` from the form; FormErrors for what is wrong."""
    state = ctx.state
    if name == "supplement_requested":
        missing = [m for m in form.getlist("missing")] if hasattr(form, "getlist") else []
        # the one-time notice: every missing material, whatever was ticked
        missing = list(dict.fromkeys([*state.materials_missing, *missing]))
        if not missing:
            raise FormErrors({"missing": gettext("No material is missing.")})
        return {"missing": missing, "deadline": _date(form, "deadline", required=False),
                "note": _text(form, "note") or None}
    if name == "supplemented":
        chosen = list(form.getlist("materials")) if hasattr(form, "getlist") else []
        if not chosen:
            raise FormErrors({"materials": gettext("Tick the materials the applicant brought.")})
        return {"materials": chosen}
    if name == "accepted":
        due, _ = due_date(ctx)
        return {"due_date": due}
    if name == "promised":
        due, _ = due_date(ctx)
        return {"due_date": _date(form, "due_date", required=False) or due}
    if name == "clock_paused":
        reason = _text(form, "reason")
        if reason not in PAUSE_REASONS:
            raise FormErrors({"reason": gettext("Choose why the clock stops.")})
        return {"reason": reason, "note": _text(form, "note") or None}
    if name == "clock_resumed":
        return {"note": _text(form, "note") or None}
    if name == "finished":
        outcome = _text(form, "outcome") or "granted"
        reason = _text(form, "reason")
        if outcome == "denied" and not reason:
            raise FormErrors({"reason": gettext("Give the reason for the denial.")})
        return {"outcome": outcome if outcome in ("granted", "denied") else "granted", "reason": reason or None}
    if name == "licence_issued":
        number = _text(form, "licence_number")
        if not number:
            raise FormErrors({"licence_number": gettext("Enter the licence number.")})
        return {"licence": {"number": number, **({"name": _text(form, "licence_name")}
                                                 if _text(form, "licence_name") else {})}}
    if name == "delivered":
        method = _text(form, "method") or "on_the_spot"
        if method not in DELIVERY_METHODS:
            raise FormErrors({"method": gettext("Choose how the result was delivered.")})
        return {"method": method, "recipient": _text(form, "recipient") or None}
    if name == "forwarded":
        target = _text(form, "to")
        allowed = {place for place, _label in ctx.forward_targets}
        if target not in allowed:
            raise FormErrors({"to": gettext("Choose where the case goes.")})
        return {"to": target, "note": _text(form, "note") or None}
    if name == "handover_accepted":
        return {}
    if name in ("refused", "returned"):
        reason = _text(form, "reason")
        if not reason:
            raise FormErrors({"reason": gettext("A reason must be given.")})
        return {"reason": reason}
    if name == "withdrawn":
        return {"reason": _text(form, "reason") or None}
    if name == "note_added":
        text = _text(form, "text")
        if not text:
            raise FormErrors({"text": gettext("Write the note.")})
        settles = [v for v in form.getlist("settles") if v] if hasattr(form, "getlist") else []
        return {"text": text, "settles": settles or None}
    if name == "material_added":
        material = _text(form, "material")
        if not material:
            raise FormErrors({"material": gettext("Choose or name the material.")})
        upload = files.get("scan") if files else None
        sha = None
        if upload is not None and upload.filename and ctx.save_blob is not None:
            sha = ctx.save_blob(upload)
        return {"material": material, "sha256": sha}
    if name == "evaluated":
        return evaluation_fields(form)
    raise FormErrors({"action": gettext("This action is not offered here.")})


def evaluation_fields(form: Mapping[str, str]) -> dict[str, Any]:
    """An evaluation from a form: level 1-5, a reason for a bad one, the channel, real name."""
    try:
        level = int(_text(form, "level"))
    except ValueError:
        level = 0
    if not 1 <= level <= 5:
        raise FormErrors({"level": gettext("Choose one of the five levels.")})
    reason = _text(form, "reason")
    if level <= 2 and not reason:
        raise FormErrors({"reason": gettext("Please tell us what was wrong, so that it can be put right.")})
    channel = _text(form, "channel") or "counter"
    if channel not in EVALUATION_CHANNELS:
        channel = "counter"
    return {"level": level, "reason": reason or None, "channel": channel,
            "real_name": form.get("real_name") == "1"}


def build(name: str, form: Mapping[str, Any], files: Any, ctx: ActionContext) -> tuple[str, dict[str, Any]]:
    """(kind, body) for action `name`, checked exactly as the fold will check it.

    Raises FormErrors (field -> message) for the form, with rule violations under `_rule`.
    """
    kind = "case." + name
    fields = _fields(name, form, files, ctx)
    if ctx.staff is not None:
        fields["by"] = {"username": ctx.staff.username, "name": ctx.staff.display_name}
    try:
        body = new_event_body(kind, case=ctx.state.number or "", after=list(ctx.state.heads), **fields)
        check_event(ctx.state, ctx.place, kind, body, calendar=ctx.calendar, time=ctx.now.replace(tzinfo=None))
    except RuleError as err:
        raise FormErrors({"_rule": err.translated(gettext)}) from err
    return kind, body
