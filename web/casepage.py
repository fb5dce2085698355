"""The case page both apps show: timeline, scans, notices, actions for the holder, conflicts.

An app registers it with a `CaseSource`, the few things only the app knows:

    app.register_blueprint(case_blueprint(CaseSource(
        load=lambda number: ...,          # LoadedCase (state + timeline) or None
        append=lambda kind, body: ...,    # sign and store one record (the app's log)
        place=lambda: "node:V000101",     # the acting place: a node, or `window:<code>` at central
        calendar=..., catalogue=..., blob=..., save_blob=..., forward_targets=..., place_names=...,
    ), roles=("village_clerk", "town_clerk")))

Everything else (which actions the place may take, what a notice says, whether a record's
signature holds) is decided by casework and sync, so a village PC and a city window show the same
case the same way. Endpoints: `case.show`, `case.act` (POST), `case.notice`, `case.scan`,
`case.evaluate` (the applicant's rating screen, GET/POST), `case.unmask` (POST: one number shown in
full for one page view, with a reason).

What only one app does on a case (central's window: fees, joint opinions, the tolerated gap,
finishing on the spot) comes in as PANELS: `CaseSource.panels(view)` returns `Panel`s, each with
an id, a title, a template, its context and its slot (where it goes on the page). The header,
facts, materials, notices, actions, timeline and unmasking stay this module's, so a fix to any of
them is made once for both apps. An app's own POST routes answer a refused form with
`render_page(number, errors=..., open_panel=...)`: the same page, what was typed kept.

Personal data (web.access_log): ID and phone numbers are masked; printing a notice, opening a scan
and showing a number in full each sign an `access.logged` record first, and show nothing if it
cannot be written. The app must have called `web.access_log.init_access_log`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from markupsafe import Markup

from casework import notices as casework_notices
from casework.cases import CaseState, Status, allowed_actions
from casework.messages import RuleError
from web import access_log
from web.auth import current_staff, roles_required
from web.case_actions import (
    CHANNEL_NAMES,
    DELIVERY_NAMES,
    LABELS,
    LEVEL_NAMES,
    PAUSE_NAMES,
    ActionContext,
    FormErrors,
    build,
    due_date,
    evaluation_fields,
    offered,
)
from web.notices import render_notice

CHINA = dt.timezone(dt.timedelta(hours=8))

STATUS_NAMES: dict[str, Any] = {
    "none": lazy_gettext("Not received"),
    "received": lazy_gettext("Received"),
    "waiting_supplement": lazy_gettext("Waiting for supplements"),
    "accepted": lazy_gettext("Accepted"),
    "promised": lazy_gettext("Promised"),
    "paused": lazy_gettext("Clock paused"),
    "forwarded": lazy_gettext("Forwarded"),
    "finished": lazy_gettext("Finished"),
    "licence_issued": lazy_gettext("Licence issued"),
    "delivered": lazy_gettext("Delivered"),
    "refused": lazy_gettext("Refused"),
    "returned": lazy_gettext("Returned"),
    "withdrawn": lazy_gettext("Withdrawn"),
}
KIND_NAMES: dict[str, Any] = {
    "received": lazy_gettext("Application received"),
    "supplement_requested": lazy_gettext("Supplement notice issued"),
    "supplemented": lazy_gettext("Materials supplied"),
    "accepted": lazy_gettext("Accepted"),
    "refused": lazy_gettext("Refused"),
    "returned": lazy_gettext("Returned"),
    "promised": lazy_gettext("Promise notice issued"),
    "clock_paused": lazy_gettext("Clock paused"),
    "clock_resumed": lazy_gettext("Clock resumed"),
    "forwarded": lazy_gettext("Forwarded"),
    "handover_accepted": lazy_gettext("Taken over"),
    "finished": lazy_gettext("Finished"),
    "licence_issued": lazy_gettext("Licence issued"),
    "delivered": lazy_gettext("Delivered"),
    "withdrawn": lazy_gettext("Withdrawn"),
    "evaluated": lazy_gettext("Evaluated"),
    "fee_assessed": lazy_gettext("Fees assessed"),
    "fee_paid": lazy_gettext("Fee paid"),
    "fee_refunded": lazy_gettext("Fee refunded"),
    "note_added": lazy_gettext("Note"),
    "material_added": lazy_gettext("Material added"),
}
NOTICE_NAMES: dict[str, Any] = {
    "receipt": lazy_gettext("Receipt"),
    "supplement": lazy_gettext("Supplement notice"),
    "promise": lazy_gettext("Promise notice"),
    "delivery": lazy_gettext("Delivery notice"),
    "payment": lazy_gettext("Payment notice"),
    "return": lazy_gettext("Return notice"),
    "refusal": lazy_gettext("Refusal notice"),
}


def status_name(code: str) -> str:
    return str(STATUS_NAMES.get(str(code), code))


def kind_name(kind: str) -> str:
    return str(KIND_NAMES.get(kind.removeprefix("case."), kind))


@dataclass(frozen=True)
class TimelineEntry:
    """One record of the case as the timeline shows it."""

    id: str
    kind: str
    origin: str
    seq: int
    place: str
    time: str                    # the origin's clock (information only)
    verified: bool               # the signature checks against the directory's key for its origin
    receipted_at: str | None     # central's time on the receipt covering it, when known
    body: Mapping[str, Any]
    applied: bool = True         # False: kept but not applied (a conflict or pending)
    conflict: str = ""           # why not applied, in the user's language

    @property
    def by(self) -> str:
        """The member of staff who made the record: the node's `by` {username, name}, or central's
        `staff` (a username)."""
        if not isinstance(self.body, Mapping):
            return ""
        who = self.body.get("by")
        if isinstance(who, Mapping):
            return str(who.get("name") or who.get("username") or "")
        staff = self.body.get("staff")
        return staff if isinstance(staff, str) else ""


@dataclass
class LoadedCase:
    state: CaseState
    records: list[TimelineEntry]


@dataclass
class CaseSource:
    """What the app provides to the case pages (see the module docstring)."""

    load: Callable[[str], LoadedCase | None]
    append: Callable[[str, dict[str, Any]], Any]
    place: Callable[[], str]
    calendar: Callable[[], Any]
    catalogue: Callable[[], Any] = lambda: None
    blob: Callable[[str], bytes | None] = lambda sha: None
    save_blob: Callable[[Any], str] | None = None
    forward_targets: Callable[[CaseState], list[tuple[str, str]]] = lambda state: []
    place_names: Callable[[], Mapping[str, str]] = lambda: {}
    now: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(CHINA))
    list_endpoint: str | None = None
    scan_state: Callable[[str], str] = lambda sha: "here"
    """Where a scan is: "here" (shown), "archived" (dropped here after the city archived it) or
    "missing" (not arrived yet, or not readable on this PC)."""
    panels: Callable[[CaseView], Sequence[Panel]] = lambda view: ()
    """The app's own parts of the page (see `Panel`); a node has none."""
    required: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Fields the app requires of a shared action beyond casework's rules: action -> {field: message
    in the user's language}. Central asks a window for the reason it reassigns or forwards a case."""


Slot = Literal["header", "facts", "materials", "actions", "timeline"]
SLOTS: tuple[str, ...] = get_args(Slot)
"""Where a panel goes: `header` (tags beside the status), `facts` (rows of the application's facts:
the template writes `<dt>`/`<dd>`), `materials` (below the materials, under the panel's title),
`actions` (after the shared actions: a form the clerk unfolds, or with `fold=False` a short note),
`timeline` (below the timeline)."""
_PANEL_ID = re.compile(r"[a-z][a-z0-9_]*\Z")


@dataclass(frozen=True)
class Panel:
    """One part of the case page that only one app shows (the app's `CaseSource.panels` gives them).

    The template is rendered with the page's `state`, `bp` (this blueprint's name, for `url_for`),
    `panel`, `is_open` (its form was the one refused), `errors` (that form's, else empty) and
    `values` (what was typed), then the names in `context`. It is shown only when the app returns
    it, so the app decides who sees it (a cashier sees the fees, not the form to assess them)."""

    id: str
    title: str
    template: str
    slot: Slot
    context: Mapping[str, Any] = field(default_factory=dict)
    fold: bool = True
    """In the actions: folded like the shared action forms (`<details id="action-<id>">`)."""
    prints: tuple[str, ...] = ()
    """Notice kinds the panel prints itself (central's fees print each payment notice), left out of
    the page's own list of notices so that no notice is offered twice."""

    def __post_init__(self) -> None:
        if self.slot not in SLOTS:
            raise ValueError(f"panel {self.id!r}: slot {self.slot!r} is not one of {SLOTS}")
        if not _PANEL_ID.match(self.id):
            raise ValueError(f"panel id {self.id!r}: lower-case letters, digits and _ (it is an HTML id)")


@dataclass(frozen=True)
class CaseView:
    """What the page knows when it asks the app for its panels: the case, where the signed-in member
    of staff acts, the shared actions offered to them, and which form was refused (if any)."""

    state: CaseState
    place: str
    actions: tuple[str, ...]
    staff: Any = None
    open: str = ""
    errors: Mapping[str, str] = field(default_factory=dict)

    def may(self, *roles: str) -> bool:
        """The signed-in member of staff holds one of `roles`."""
        return bool(self.staff is not None and self.staff.has_role(*roles))


def place_label(place: str, names: Mapping[str, str], catalogue: Any) -> str:
    return casework_notices.place_name(place, names=names, catalogue=catalogue)


@dataclass(frozen=True)
class CaseRoles:
    """Who may do what on the case pages. Each app writes it once, from its permission table
    (docs/permissions.md), because the page is the same code at a village and at a city window
    while the people differ: a cashier reads a case to take its fee but never acts on it, an
    inspector reads scans to check a case but never prints a notice with the applicant's data, an
    administrator manages accounts and reads no case at all."""

    read: tuple[str, ...]
    act: tuple[str, ...]
    notice: tuple[str, ...]
    scan: tuple[str, ...]
    evaluate: tuple[str, ...]
    unmask: tuple[str, ...] = ()
    """May show an ID or phone number in full (with a reason), on cases their place has handled."""
    unmask_any: tuple[str, ...] = ()
    """Of those, who may do so on any case they can read (a supervisor acts for the whole centre)."""

    @classmethod
    def every(cls, roles: Sequence[str]) -> CaseRoles:
        """The same roles for every page (a test app)."""
        return cls(*(tuple(roles),) * 6)


EXTENSION = "web.casepage"


def render_page(number: str, *, errors: Mapping[str, str] | None = None, open_panel: str = "",
                status: int = 400, blueprint: str = "case") -> tuple[str, int]:
    """The case page again after an app's own form was refused (central's fees, joint opinions, ...):
    the errors shown at the panel `open_panel`, unfolded, with what was typed (request.form) kept."""
    page = current_app.extensions[EXTENSION][blueprint]
    return page(number, form_errors=errors or {}, open_action=open_panel, status=status)


def case_blueprint(source: CaseSource, *, roles: Sequence[str] | CaseRoles, name: str = "case",
                   url_prefix: str = "/case") -> Blueprint:
    """The case pages as a blueprint; each page needs one of the roles `roles` gives it."""
    bp = Blueprint(name, __name__, url_prefix=url_prefix)
    allowed = roles if isinstance(roles, CaseRoles) else CaseRoles.every(roles)
    guard = roles_required(*allowed.read)
    act_guard = roles_required(*allowed.act)
    notice_guard = roles_required(*allowed.notice)
    scan_guard = roles_required(*allowed.scan)
    evaluate_guard = roles_required(*allowed.evaluate)
    unmask_guard = roles_required(*allowed.unmask) if allowed.unmask else roles_required("-nobody-")

    def may(which: tuple[str, ...]) -> bool:
        staff = current_staff()
        return bool(staff and staff.has_role(*which))

    def load(number: str) -> LoadedCase:
        loaded = source.load(number)
        if loaded is None or loaded.state.number is None:
            abort(404)
        return loaded

    def context(state: CaseState) -> ActionContext:
        return ActionContext(state=state, place=source.place(), calendar=source.calendar(), now=source.now(),
                             staff=current_staff(), forward_targets=source.forward_targets(state),
                             save_blob=source.save_blob)

    def may_unmask(state: CaseState) -> bool:
        return access_log.may_unmask(state, source.place(), roles=allowed.unmask, any_case=allowed.unmask_any)

    def panels(view: CaseView, values: Mapping[str, Any]) -> dict[str, list[tuple[Panel, Markup]]]:
        """The app's panels, each rendered with its template, grouped by slot."""
        placed: dict[str, list[tuple[Panel, Markup]]] = {slot: [] for slot in SLOTS}
        for panel in source.panels(view):
            is_open = view.open == panel.id
            html = render_template(panel.template, state=view.state, bp=name, panel=panel, is_open=is_open,
                                   errors=view.errors if is_open else {}, values=values if is_open else {},
                                   **panel.context)
            placed[panel.slot].append((panel, Markup(html)))
        return placed

    def page(number: str, *, form_errors: Mapping[str, str] | None = None, open_action: str | None = None,
             status: int = 200, revealed: Mapping[str, str] | None = None,
             unmask_errors: Mapping[str, str] | None = None) -> tuple[str, int]:
        loaded = load(number)
        state = loaded.state
        place = source.place()
        actions = offered(state, place, allowed_actions(state, place)) if may(allowed.act) else []
        names = source.place_names()
        catalogue = source.catalogue()
        ctx = context(state)
        due_preview = None
        if "promised" in actions or "accepted" in actions:
            try:
                due_preview = due_date(ctx)
            except RuleError:
                due_preview = None
        values = request.form if request.method == "POST" else {}
        view = CaseView(state=state, place=place, actions=tuple(actions), staff=current_staff(),
                        open=open_action or "", errors=form_errors or {})
        placed = panels(view, values)
        printed_by_panels = {kind for slot in placed.values() for panel, _html in slot for kind in panel.prints}
        return render_template(
            "case/page.html", state=state, records=loaded.records, actions=actions, labels=LABELS,
            place=place, place_label=lambda p: place_label(p, names, catalogue), status_name=status_name,
            kind_name=kind_name, notice_names=NOTICE_NAMES,
            notices=[k for k in casework_notices.available(state) if k not in printed_by_panels],
            forward_targets=ctx.forward_targets, pause_names=PAUSE_NAMES, delivery_names=DELIVERY_NAMES,
            channel_names=CHANNEL_NAMES, level_names=LEVEL_NAMES, errors=form_errors or {},
            values=values, open_action=open_action, panels=placed, required=source.required,
            due_preview=due_preview, bp=name, list_endpoint=source.list_endpoint,
            Status=Status, conflicts=[(c, c.translated(gettext)) for c in state.conflicts],
            may_notice=may(allowed.notice), may_scan=may(allowed.scan), may_evaluate=may(allowed.evaluate),
            may_unmask=may_unmask(state), revealed=revealed or {}, unmask_errors=unmask_errors or {},
            unmask_values=request.form if unmask_errors else {}, unmask_open=request.form.get("field", "")
            if unmask_errors else "", reasons=access_log.reason_choices(), scan_state=source.scan_state,
            masked_id=access_log.masked_id,
        ), status

    @bp.record_once
    def _register(setup: Any) -> None:  # render_page() finds this blueprint's page by its name
        setup.app.extensions.setdefault(EXTENSION, {})[name] = page

    @bp.get("/<number>")
    @guard
    def show(number: str) -> Any:
        return page(number)[0]

    @bp.post("/<number>/act/<action>")
    @act_guard
    def act(number: str, action: str) -> Any:
        loaded = load(number)
        state = loaded.state
        place = source.place()
        if action not in offered(state, place, allowed_actions(state, place)):
            return page(number, form_errors={"_rule": gettext("This action is not open to %(place)s now.",
                                                              place=place)}, open_action=action, status=409)
        try:
            missing = {f: str(message) for f, message in source.required.get(action, {}).items()
                       if not (request.form.get(f) or "").strip()}
            if missing:
                raise FormErrors(missing)
            kind, body = build(action, request.form, request.files, context(state))
            source.append(kind, body)
        except FormErrors as err:
            return page(number, form_errors=err.errors, open_action=action, status=400)
        except RuleError as err:  # the app's own check at signing (a change that came in meanwhile)
            return page(number, form_errors={"_rule": err.translated(gettext)}, open_action=action, status=400)
        flash(gettext("Saved: %(what)s.", what=kind_name(action)), "success")
        follow = {"supplement_requested": "supplement", "promised": "promise", "delivered": "delivery",
                  "refused": "refusal", "returned": "return"}.get(action)
        if follow:
            return redirect(url_for(f"{name}.notice", number=number, kind=follow))
        if action == "finished" and request.form.get("evaluate") == "1":
            return redirect(url_for(f"{name}.evaluate", number=number))
        return redirect(url_for(f"{name}.show", number=number))

    @bp.get("/<number>/notice/<kind>")
    @notice_guard
    def notice(number: str, kind: str) -> Any:
        loaded = load(number)
        options = {"assessment": request.args["assessment"]} \
            if kind == "payment" and request.args.get("assessment") else {}
        try:
            content = casework_notices.notice(kind, loaded.state, names=source.place_names(),
                                              catalogue=source.catalogue(), **options)
        except RuleError as err:  # not due yet (or no such notice): say so on the case page
            flash(err.translated(gettext), "error")
            return redirect(url_for(f"{name}.show", number=number))
        access_log.record_print(kind, loaded.state, **options)  # first: nothing printed unrecorded
        return render_notice(content, back_url=url_for(f"{name}.show", number=number))

    @bp.get("/<number>/scan/<sha256>")
    @scan_guard
    def scan(number: str, sha256: str) -> Any:
        loaded = load(number)
        if not any(s.get("sha256") == sha256 for s in loaded.state.material_scans):
            abort(404)
        data = source.blob(sha256)
        if data is None:
            abort(404, gettext("The scan is not on this computer: it has been archived at the city.")
                  if source.scan_state(sha256) == "archived" else
                  gettext("The scan has not reached this computer yet: it comes with the next sync."))
        access_log.record_scan(loaded.state, sha256)  # a scan is sensitive personal data: recorded first
        mimetype = "application/pdf" if data[:4] == b"%PDF" else (
            "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg")
        return Response(data, mimetype=mimetype, headers={"Cache-Control": "no-store"})

    @bp.post("/<number>/unmask")
    @unmask_guard
    def unmask(number: str) -> Any:
        state = load(number).state
        try:
            revealed = access_log.unmask(state, request.form, permitted=may_unmask(state))
        except access_log.UnmaskRefusedError as err:
            return page(number, unmask_errors=err.errors, status=400)
        return page(number, revealed=revealed)[0]

    @bp.route("/<number>/evaluate", methods=["GET", "POST"])
    @evaluate_guard
    def evaluate(number: str) -> Any:
        loaded = load(number)
        errors: Mapping[str, str] = {}
        if request.method == "POST":
            try:
                fields = evaluation_fields(request.form)
                kind, body = build("evaluated", request.form, None, context(loaded.state))
                del fields
                source.append(kind, body)
            except FormErrors as err:
                errors = err.errors
            else:
                return render_template("case/evaluated.html", number=number, bp=name)
        return render_template("case/evaluate.html", state=loaded.state, errors=errors,
                               values=request.form if request.method == "POST" else {},
                               level_names=LEVEL_NAMES, channel_names=CHANNEL_NAMES, bp=name), \
            400 if errors else 200

    return bp
