"""Taking in an application (收件): applicant, proxy, materials with scans, and the outcome.

The clerk picks the item (from the guide, or by search here), fills in one form, and the rules
decide the outcome; the clerk never chooses a status by hand:
- a required material missing -> received + supplement notice listing EVERY missing material
  (one-time notification), the case waits here;
- only materials that may follow later missing, the applicant signs a commitment, and this tier
  decides the item -> accepted with the gap (容缺受理) + promise notice;
- complete and decided here: an immediate item is accepted, finished and delivered on the spot
  (delivery notice, then the applicant rates the service); a promised item is accepted and
  promised (promise notice with the due date in working days);
- complete but decided by a higher tier -> received + forwarded there, with a receipt that says
  where it went.
All the records of one intake are stored in ONE transaction: a failure leaves nothing half-done.

A refused form keeps everything: typed fields come back as typed, and every file is stored as a
blob the moment it arrives (its sha256 rides along in a hidden field), so the clerk never has to
scan a page twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext

from casework.case_events import item_snapshot
from casework.cases import Event, check_event, fold, new_event_body
from casework.catalogue import ServiceItem
from casework.identity import normalise_text, parse_credit_code, parse_mobile, parse_resident_id
from casework.messages import RuleError
from node.cases_source import forward_targets, save_upload
from node.views.common import CLERK_ROLES, db, node, now
from store.counters import next_case_number
from sync.canonical import nfc
from web.auth import current_staff, roles_required
from web.case_actions import FormErrors

bp = Blueprint("intake", __name__, url_prefix="/intake")
TIER_ORDER = {"village": 0, "town": 1, "city": 2}


def _catalogue() -> Any:
    cat = node().catalogue(db())
    if cat is None:  # before the first sync: say so, with the way out
        abort(Response(render_template("guide/unavailable.html", sync_url=url_for("syncpage.index")), 503))
    return cat


def decides_here(item: ServiceItem | dict[str, Any]) -> bool:
    tier = item["handle_tier"] if isinstance(item, dict) else item.handle_tier
    return TIER_ORDER[node().config.case_tier] >= TIER_ORDER.get(tier, 2)


@bp.get("/")
@roles_required(*CLERK_ROLES)
def start() -> str:
    cat = _catalogue()
    tier = node().config.case_tier
    q = request.args.get("q", "").strip()[:100]
    items = cat.search(q, tier=tier) if q else cat.items_receivable_at(tier)
    depts = {d.code: d.name for d in cat.departments}
    return render_template("node/intake_start.html", items=items, q=q, depts=depts, decides_here=decides_here)


def _item_or_404(code: str) -> ServiceItem:
    cat = _catalogue()
    if not cat.has_item(code):
        abort(404)
    item = cat.item(code)
    if not item.receivable_at(node().config.case_tier):
        abort(404)
    return item


def _form_page(item: ServiceItem, values: Any, errors: dict[str, str], kept: dict[str, str],
               status: int = 200) -> tuple[str, int]:
    calendar = node().calendar(db())
    due = calendar.add_working_days(now().replace(tzinfo=None), item.promised_limit_days, allow_provisional=True)
    return render_template("node/intake_form.html", item=item, values=values, errors=errors, kept=kept,
                           decides_here=decides_here(item), due=due), status


@bp.get("/new")
@roles_required(*CLERK_ROLES)
def form() -> Any:
    code = request.args.get("item", "")
    if not code:
        return redirect(url_for("intake.start"))
    item = _item_or_404(code)
    return _form_page(item, {"applicant_type": "person"}, {}, {})[0]


def _text(name: str, limit: int = 200) -> str:
    return normalise_text(request.form.get(name, ""))[:limit]


def _applicant(errors: dict[str, str]) -> dict[str, Any]:
    kind = request.form.get("applicant_type", "person")
    kind = kind if kind in ("person", "organisation") else "person"
    name = _text("name")
    if not name:
        errors["name"] = gettext("Enter the applicant's name.")
    applicant: dict[str, Any] = {"type": kind, "name": name}
    id_text = _text("id_number", 64)
    try:
        if kind == "person":
            if not id_text:
                errors["id_number"] = gettext("Enter the resident ID number.")
            else:
                applicant.update(id_type="resident_id", id_number=parse_resident_id(id_text).number)
        else:
            if not id_text:
                errors["id_number"] = gettext("Enter the unified social credit code.")
            else:
                applicant.update(id_type="credit_code", id_number=parse_credit_code(id_text))
    except RuleError as err:
        errors["id_number"] = err.translated(gettext)
    phone = _text("phone", 32)
    if phone:
        try:
            applicant["phone"] = parse_mobile(phone)
        except RuleError as err:
            errors["phone"] = err.translated(gettext)
    elif kind == "organisation":
        errors["phone"] = gettext("Enter a contact phone number.")
    if kind == "organisation":
        contact = _text("contact")
        if not contact:
            errors["contact"] = gettext("Enter the contact person.")
        applicant["contact"] = contact
    address = _text("address")
    if address:
        applicant["address"] = address
    return applicant


def _proxy(errors: dict[str, str], kept: dict[str, str]) -> dict[str, Any] | None:
    if request.form.get("proxy") != "1":
        return None
    proxy: dict[str, Any] = {"name": _text("proxy_name")}
    if not proxy["name"]:
        errors["proxy_name"] = gettext("Enter the proxy's name.")
    if _text("proxy_id", 64):
        try:
            proxy["id_number"] = parse_resident_id(_text("proxy_id", 64)).number
        except RuleError as err:
            errors["proxy_id"] = err.translated(gettext)
    if _text("proxy_phone", 32):
        try:
            proxy["phone"] = parse_mobile(_text("proxy_phone", 32))
        except RuleError as err:
            errors["proxy_phone"] = err.translated(gettext)
    authorisation = _text("authorisation")
    scan = kept.get("authorisation_scan")
    if scan:
        authorisation = f"{authorisation} sha256:{scan}".strip() if authorisation else f"sha256:{scan}"
    if not authorisation:
        errors["authorisation"] = gettext("Record the applicant's authorisation (describe it or attach a scan).")
    proxy["authorisation"] = authorisation[:200]
    return proxy


def _uploads(item: ServiceItem, errors: dict[str, str]) -> dict[str, str]:
    """Store every file that came with the form at once; earlier ones ride in hidden `kept_*`."""
    kept = {k[5:]: v for k, v in request.form.items() if k.startswith("kept_") and len(v) == 64
            and all(c in "0123456789abcdef" for c in v) and node().blobs.has(v)}
    names = [f"scan_{i}" for i in range(len(item.materials))] + ["authorisation_scan"]
    for name in names:
        upload = request.files.get(name)
        if upload is None or not upload.filename:
            continue
        try:
            kept[name] = save_upload(node(), upload)
        except FormErrors as err:
            errors[name] = err.errors.get("scan", "")
    return kept


class _Builder:
    """Appends the records of one intake, each checked against the state the previous ones made."""

    def __init__(self, number: str, calendar: Any, place: str) -> None:
        self.number, self.calendar, self.place = number, calendar, place
        self.events: list[Event] = []
        self.state = fold([], calendar=calendar)
        staff = current_staff()
        self.by = {"username": staff.username, "name": staff.display_name} if staff else None

    def add(self, kind: str, **fields: Any) -> None:
        body = new_event_body(kind, case=self.number, after=list(self.state.heads), by=self.by, **fields)
        body = nfc(body)
        check_event(self.state, self.place, kind, body, calendar=self.calendar,
                    time=now().replace(tzinfo=None))
        record = node().append(kind, body)
        self.events.append(Event(record.id, record.origin, record.seq, record.kind, record.body, record.time))
        self.state = fold(self.events, calendar=self.calendar)


@bp.post("/new")
@roles_required(*CLERK_ROLES)
def submit() -> Any:
    item = _item_or_404(request.form.get("item", ""))
    errors: dict[str, str] = {}
    kept = _uploads(item, errors)
    applicant = _applicant(errors)
    proxy = _proxy(errors, kept)
    provided = []
    for i, material in enumerate(item.materials):
        if request.form.get(f"have_{i}") == "1" or f"scan_{i}" in kept:
            provided.append(material.name)
    missing = [m.name for m in item.materials if m.required and m.name not in provided]
    here = decides_here(item)
    gap = [item.materials[i].name for i in range(len(item.materials))
           if request.form.get(f"gap_{i}") == "1" and item.materials[i].gap_allowed
           and item.materials[i].name in missing] if here else []
    use_gap = bool(gap) and set(gap) == set(missing)
    calendar = node().calendar(db())
    moment = now().replace(tzinfo=None)
    due = calendar.add_working_days(moment, item.promised_limit_days, allow_provisional=True).date
    commitment = None
    if use_gap:
        signed_by = _text("commitment_signed_by") or applicant.get("name", "")
        try:
            deadline = dt.date.fromisoformat(request.form.get("commitment_deadline", ""))
        except ValueError:
            errors["commitment_deadline"] = gettext("Enter the date by which the missing material will be brought.")
            deadline = None
        if deadline is not None and deadline > due:
            errors["commitment_deadline"] = gettext("The deadline must not be after the due date %(due)s.",
                                                    due=due.isoformat())
        if deadline is not None and deadline < moment.date():
            errors["commitment_deadline"] = gettext("The deadline cannot be in the past.")
        if request.form.get("commitment_signed") != "1":
            errors["commitment_signed"] = gettext("The applicant must sign the commitment.")
        if deadline is not None:
            commitment = {"signed_by": signed_by, "deadline": deadline.isoformat(),
                          "text": f"本人承诺于{deadline.year}年{deadline.month}月{deadline.day}日前补交："
                                  f"{'、'.join(gap)}；逾期未补交的，本件终止办理。"}
    targets: list[tuple[str, str]] = []
    if not here and not missing:
        targets = _targets_for(item)
        if not targets:
            errors["_rule"] = gettext("This item is decided at a higher tier, and no place to forward it to is "
                                      "known here. Ask the city administrator.")
    if errors:
        return _form_page(item, request.form, errors, kept, status=400)

    place = node().config.place
    materials_at_receipt = list(provided)
    try:
        with node().log.transaction() as database:
            number = next_case_number(database, node().config.node_id, moment.date()).text
            b = _Builder(number, calendar, place)
            b.add("case.received", item=item_snapshot(item), applicant=applicant, proxy=proxy,
                  materials=materials_at_receipt or None, note=_text("note", 2000) or None)
            for i, material in enumerate(item.materials):
                sha = kept.get(f"scan_{i}")
                if sha:
                    b.add("case.material_added", material=material.name, sha256=sha)
            if proxy and kept.get("authorisation_scan"):
                b.add("case.material_added", material="代办授权委托书", sha256=kept["authorisation_scan"])
            if missing and not use_gap:
                b.add("case.supplement_requested", missing=list(b.state.materials_missing))
                outcome, notice = "supplement", "supplement"
            elif not here:
                b.add("case.forwarded", to=targets[0][0])
                outcome, notice = "forwarded", "receipt"
            elif use_gap:
                b.add("case.accepted", due_date=due.isoformat(), gap=gap, commitment=commitment)
                b.add("case.promised", due_date=due.isoformat())
                outcome, notice = "gap", "promise"
            elif item.kind == "immediate":
                b.add("case.accepted", due_date=due.isoformat())
                b.add("case.finished", outcome="granted")
                b.add("case.delivered", method="on_the_spot", recipient=(proxy or applicant)["name"])
                outcome, notice = "immediate", "delivery"
            else:
                b.add("case.accepted", due_date=due.isoformat())
                b.add("case.promised", due_date=due.isoformat())
                outcome, notice = "promised", "promise"
    except RuleError as err:
        errors["_rule"] = err.translated(gettext)
        return _form_page(item, request.form, errors, kept, status=400)
    return redirect(url_for("intake.done", number=number, outcome=outcome, notice=notice))


def _targets_for(item: ServiceItem) -> list[tuple[str, str]]:
    from casework.case_state import CaseState

    state = CaseState(item=item_snapshot(item))
    return forward_targets(node(), db(), state)


@bp.get("/done/<number>")
@roles_required(*CLERK_ROLES)
def done(number: str) -> str:
    outcome = request.args.get("outcome", "")
    notice = request.args.get("notice", "receipt")
    return render_template("node/intake_done.html", number=number, outcome=outcome, notice=notice)
