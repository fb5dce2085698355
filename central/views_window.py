"""The window workstation: a clerk's queue, intake, and the window's own steps of a case.

The queue puts service-card cases first (green channel), then the earliest due date. Every
button signs one record through `Central.act`, which runs the same checks the fold runs, so a
refused step never becomes a record and the clerk sees why in their language.

A case opens on the shared case page (web.casepage, at `/case/<number>`, also answering at the
window's old addresses `/window/case/<number>...`); the window's own parts of it are panels
(central.case_panels) whose forms post here: fees, joint opinions, the tolerated gap, finishing on
the spot. A refused form shows that page again with its errors (web.casepage.render_page).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext

from casework.case_state import CaseState
from casework.cases import item_snapshot
from casework.fees import FeeInput, assess_case
from casework.identity import parse_credit_code, parse_mobile, parse_resident_id
from casework.messages import RuleError
from casework.numbering import parse_card_number, parse_case_number
from central import board_store, card_store
from central.case_panels import GAP_COMMITMENT
from central.pages import (
    central_of,
    current_window,
    place_label,
    staff_name,
    status_name,
    windows_of,
)
from central.routing import target_for
from store.directory import list_nodes
from sync.canonical import nfc
from web.auth import current_staff, roles_required
from web.case_actions import ActionContext, FormErrors, due_date
from web.casepage import render_page
from web.settings import store_db

bp = Blueprint("window", __name__, url_prefix="/window", template_folder="templates", static_folder="static",
               static_url_path="/static/central")
CLERKS = ("window_clerk", "card_clerk")
UNMASKERS = (*CLERKS, "supervisor")  # as the shared case page (central.app.CASE_ROLES)


def _need_window() -> str:
    window = current_window()
    if window is None:
        abort(redirect(url_for("window.choose", next=request.full_path)))
    return window


@bp.route("/choose", methods=["GET", "POST"])
@roles_required(*CLERKS)
def choose() -> Any:
    options = windows_of(current_staff())
    if request.method == "POST":
        code = request.form.get("window", "")
        if code in {c for c, _ in options}:
            session["window"] = code
            return redirect(url_for("window.queue"))
        flash(gettext("Choose one of your windows."), "error")
    return render_template("central/window_choose.html", options=options)


@bp.get("/")
@roles_required(*CLERKS)
def queue() -> str:
    window = _need_window()
    db = store_db()
    page = max(1, request.args.get("page", 1, type=int))
    rows = board_store.queue(db, f"window:{window}", limit=50, offset=(page - 1) * 50)
    central = central_of()
    today = central.today()
    soon = central.calendar().add_working_days(today, central.config.due_soon_days, allow_provisional=True).date
    return render_template(
        "central/window_queue.html", window=window, window_name=place_label(f"window:{window}"), rows=rows,
        total=board_store.queue_count(db, f"window:{window}"), page=page, today=today, soon=soon,
        joint=board_store.joint_requests(db, window), status_name=status_name,
        items=[i for i in central.catalogue().items if i.window == window])


@bp.get("/find")
@roles_required(*CLERKS, "supervisor", "inspector", "cashier")
def find() -> Response:
    """A case number or a service-card number typed (or scanned) at any window brings it up."""
    text = request.args.get("q", "")
    try:
        return redirect(url_for("window.case", number=parse_case_number(text).text))
    except RuleError:
        pass
    try:
        return redirect(url_for("card.project", card=parse_card_number(text).text))
    except RuleError as err:
        flash(err.translated(gettext), "error")
    return redirect(request.referrer or url_for("window.queue"))


# --- intake ---------------------------------------------------------------------------------------

def _applicant(form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    kind = form.get("applicant_type", "person")
    name = nfc(form.get("name", "").strip())
    if not name:
        errors["name"] = gettext("Enter the applicant's name.")
    applicant: dict[str, Any] = {"type": "organisation" if kind == "organisation" else "person", "name": name}
    number = form.get("id_number", "").strip()
    try:
        if applicant["type"] == "person":
            applicant.update(id_type="resident_id", id_number=parse_resident_id(number).number)
        else:
            applicant.update(id_type="credit_code", id_number=parse_credit_code(number))
    except RuleError as err:
        errors["id_number"] = err.translated(gettext)
    phone = form.get("phone", "").strip()
    if phone:
        try:
            applicant["phone"] = parse_mobile(phone)
        except RuleError as err:
            errors["phone"] = err.translated(gettext)
    return applicant, errors


@bp.route("/intake", methods=["GET", "POST"])
@roles_required(*CLERKS)
def intake() -> Any:
    window = _need_window()
    central = central_of()
    catalogue = central.catalogue()
    code = request.values.get("item", "")
    if not catalogue.has_item(code):
        flash(gettext("Choose a service item first."), "warning")
        return redirect(url_for("guide.index"))
    item = catalogue.item(code)
    card = request.values.get("card", "").strip()
    project = None
    errors: dict[str, str] = {}
    if card:
        try:
            card = parse_card_number(card).text
            project = card_store.get(store_db(), card)
            if project is None:
                errors["card"] = gettext("No project holds this service card.")
        except RuleError as err:
            errors["card"] = err.translated(gettext)
    if request.method == "POST":
        applicant, more = _applicant(request.form)
        errors.update(more)
        provided = [m.name for m in item.materials if m.name in request.form.getlist("materials")]
        if not errors:
            number = central.next_number("case")
            try:
                central.act(number, "case.received", window=window, staff=staff_name(), item=item_snapshot(item),
                            applicant=applicant, materials=provided, card=card or None)
            except RuleError as err:
                errors["_rule"] = err.translated(gettext)
            else:
                flash(gettext("Case %(number)s received.", number=number), "success")
                return redirect(url_for("window.case", number=number))
    return render_template("central/window_intake.html", item=item, card=card, project=project, errors=errors, field_errors={k: v for k, v in errors.items() if k != "_rule"},
                           values=request.form if request.method == "POST" else {"card": card},
                           window=window)


# --- the case ----------------------------------------------------------------------------------

def _state(number: str) -> CaseState:
    state = central_of().fold(number, store_db())
    if state is None:
        abort(404)
    return state


def forward_targets(state: CaseState, window: str) -> list[tuple[str, str]]:
    """Where a window may send a case: the routed place first (the town of the village that took a
    town item in, or the item's own window), then the place that received it, every town centre,
    every other window (reassignment)."""
    central = central_of()
    catalogue = central.catalogue()
    received = state.received_at or ""
    suggested = target_for(catalogue, state.item, central.towns(), received.removeprefix("node:"))
    targets = [(f"window:{w.code}", f"{w.code} {w.name}") for w in catalogue.windows
               if w.code != window and w.kind in ("department", "combined")]
    towns = [(f"node:{n.node}", f"{n.node} {n.name}") for n in list_nodes(store_db(), tier="town")
             if n.status == "active"]
    origin = [(received, place_label(received))] if received.startswith("node:") else []
    ordered = [(suggested, f"{place_label(suggested)} ({gettext('routed')})"), *origin, *towns, *targets]
    seen: set[str] = {f"window:{window}"}
    result = []
    for place, label in ordered:
        if place not in seen:
            seen.add(place)
            result.append((place, label))
    return result


def _context(state: CaseState, window: str) -> ActionContext:
    central = central_of()
    return ActionContext(state=state, place=f"window:{window}", calendar=central.calendar(),
                         now=central.now(), staff=current_staff(),
                         forward_targets=forward_targets(state, window))


def _shared(endpoint: str, **args: str) -> Any:
    """The shared case page's view (web.casepage, registered as `case`) answering at the window's
    address, so bookmarks and links to /window/case/... keep working; its own role check runs too."""
    return current_app.view_functions[endpoint](**args)


def _refused(number: str, panel: str, errors: dict[str, str]) -> Any:
    """The case page again, the refused form unfolded with its errors and what was typed."""
    return render_page(number, errors=errors, open_panel=panel, status=400)


@bp.get("/case/<number>")
@roles_required(*CLERKS, "supervisor", "inspector", "cashier")
def case(number: str) -> Any:
    return _shared("case.show", number=number)


@bp.post("/case/<number>/unmask")
@roles_required(*UNMASKERS)
def unmask(number: str) -> Any:
    """One ID or phone number in full for this page view, with a reason, recorded first (web.access_log)."""
    return _shared("case.unmask", number=number)


@bp.post("/case/<number>/act/<action>")
@roles_required(*CLERKS)
def act(number: str, action: str) -> Any:
    """A step at the clerk's window: finishing an immediate case on the spot and accepting with a
    tolerated gap are the window's own; every other step is the shared page's (`case.act`)."""
    window = _need_window()
    if action == "finish_now":
        return _finish_now(number, window)
    if action == "accepted" and (request.form.get("tolerated_gap") or request.form.getlist("gap")):
        return _accept_with_gap(number, window)
    return _shared("case.act", number=number, action=action)


def _accept_with_gap(number: str, window: str) -> Any:
    """容缺受理: accepted with minor materials missing, on the applicant's signed commitment."""
    state = _state(number)
    try:
        fields = _gap_fields(state, _context(state, window))
        central_of().act(number, "case.accepted", window=window, staff=staff_name(), **fields)
    except FormErrors as err:
        return _refused(number, "tolerated_gap", err.errors)
    except RuleError as err:
        return _refused(number, "tolerated_gap", {"_rule": err.translated(gettext)})
    flash(gettext("Recorded: %(what)s.", what=gettext("Accept with a tolerated gap")), "success")
    return redirect(url_for("window.case", number=number))


def _gap_fields(state: CaseState, ctx: ActionContext) -> dict[str, Any]:
    """The accepted record's fields for a tolerated gap; FormErrors naming what is wrong."""
    due, _ = due_date(ctx)
    gap = [g for g in request.form.getlist("gap") if g in state.materials_missing]
    if not gap:
        raise FormErrors({"gap": gettext("Tick the materials the applicant will bring later.")})
    deadline = request.form.get("gap_deadline", "").strip() or due
    signed_by = request.form.get("gap_signed_by", "").strip()
    if not signed_by:
        raise FormErrors({"gap_signed_by": gettext("Enter who signed the commitment.")})
    try:
        if dt.date.fromisoformat(deadline) > dt.date.fromisoformat(due):
            raise FormErrors({"gap_deadline": gettext("The deadline may not be later than the due date, %(date)s.",
                                                      date=due)})
    except ValueError:
        raise FormErrors({"gap_deadline": gettext("Enter a date like 2026-03-01.")}) from None
    return {"due_date": due, "gap": gap, "commitment": {
        "signed_by": nfc(signed_by), "deadline": deadline,
        "text": nfc(request.form.get("gap_text", "").strip() or GAP_COMMITMENT)}}


def _finish_now(number: str, window: str) -> Any:
    """An immediate case: finished, licence issued (if a number is given) and delivered, at once."""
    central = central_of()
    state = _state(number)
    licence = request.form.get("licence_number", "").strip()
    steps: list[tuple[str, dict[str, Any]]] = [("case.finished", {"outcome": "granted"})]
    if licence:
        steps.append(("case.licence_issued", {"licence": {"number": nfc(licence)}}))
    steps.append(("case.delivered", {"method": "on_the_spot", "recipient": state.applicant.get("name")}))
    try:
        central.act_many(number, steps, window=window, staff=staff_name())
    except RuleError as err:
        return _refused(number, "finish_now", {"_rule": err.translated(gettext)})
    flash(gettext("Recorded: %(what)s.", what=gettext("Finish on the spot")), "success")
    if request.form.get("evaluate") == "1":
        return redirect(url_for("case.evaluate", number=number))
    return redirect(url_for("window.case", number=number))


@bp.post("/case/<number>/fees")
@roles_required(*CLERKS)
def fees(number: str) -> Any:
    """The payment notice: every fee computed by the system from the fee standards (no free amounts)."""
    window = _need_window()
    central = central_of()
    state = _state(number)
    catalogue = central.catalogue()
    inputs = []
    errors: dict[str, str] = {}
    for code in state.item.get("fees") or []:
        if request.form.get(f"use_{code}") != "1":
            continue
        try:
            quantity = int(request.form.get(f"qty_{code}", "1") or 1)
            base_yuan = request.form.get(f"base_{code}", "").strip()
            base_fen = round(float(base_yuan) * 100) if base_yuan else 0
        except ValueError:
            errors[f"qty_{code}"] = gettext("Enter whole numbers and amounts in yuan.")
            continue
        exemption = request.form.get(f"exempt_{code}", "") or None
        inputs.append(FeeInput(code, quantity=max(quantity, 0), base_fen=max(base_fen, 0), exemption=exemption))
    if not inputs and not errors:
        errors["fees"] = gettext("Tick at least one fee.")
    if not errors:
        try:
            assessment = assess_case(catalogue.fees, inputs)
            central.act(number, "case.fee_assessed", window=window, staff=staff_name(),
                        lines=[line.to_data() for line in assessment.lines], notice=central.next_number("payment"),
                        inputs=[i.to_data() for i in inputs])
        except RuleError as err:
            errors["fees"] = err.translated(gettext)
    if errors:
        return _refused(number, "fees", errors)
    flash(gettext("Payment notice issued; the applicant pays at the settlement centre."), "success")
    return redirect(url_for("window.case", number=number))


@bp.post("/case/<number>/joint")
@roles_required(*CLERKS)
def joint(number: str) -> Any:
    """联办: the holder asks other windows for their opinion; each answers with its own note."""
    window = _need_window()
    central = central_of()
    _state(number)
    try:
        if request.form.get("mode") == "request":
            asked = [w for w in request.form.getlist("windows") if w != window]
            if not asked:
                raise FormErrors({"windows": gettext("Choose the windows to ask.")})
            central.act(number, "case.note_added", window=window, staff=staff_name(), joint_request=asked,
                        text="请求联办意见：" + "、".join(asked))
        else:
            text = nfc(request.form.get("opinion", "").strip())
            if not text:
                raise FormErrors({"opinion": gettext("Write the opinion.")})
            central.act(number, "case.note_added", window=window, staff=staff_name(), joint_opinion=window,
                        text=f"联办意见（{window}）：{text}")
    except FormErrors as err:
        return _refused(number, "joint", err.errors)
    except RuleError as err:
        return _refused(number, "joint", {"_rule": err.translated(gettext)})
    flash(gettext("Recorded."), "success")
    return redirect(url_for("window.case", number=number))


@bp.get("/case/<number>/notice/<kind>")
@roles_required(*CLERKS, "cashier", "supervisor")
def notice(number: str, kind: str) -> Any:
    return _shared("case.notice", number=number, kind=kind)


@bp.get("/case/<number>/scan/<sha256>")
@roles_required(*CLERKS, "supervisor", "inspector")
def scan(number: str, sha256: str) -> Any:
    """A material's scan as the node uploaded it (only scans named by this case's records)."""
    return _shared("case.scan", number=number, sha256=sha256)


@bp.post("/enquiry")
@roles_required(*CLERKS)
def enquiry() -> Response:
    """首问负责制: the first clerk asked records the enquiry and owns it until handed on."""
    window = _need_window()
    topic = nfc(request.form.get("topic", "").strip())
    if not topic:
        flash(gettext("Write what the enquiry is about."), "error")
        return redirect(url_for("window.queue"))
    handed = request.form.get("handed_to", "").strip()
    central_of().sign("enquiry.recorded", {
        "window": window, "staff": staff_name(), "topic": topic[:500],
        "applicant": nfc(request.form.get("applicant", "").strip())[:100],
        **({"handed_to": handed} if handed else {})})
    flash(gettext("Enquiry recorded: you are its first contact."), "success")
    return redirect(url_for("window.queue"))
