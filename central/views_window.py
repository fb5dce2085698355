"""The window workstation: a clerk's queue, intake, and every step of a case at a central window.

The queue puts service-card cases first (green channel), then the earliest due date. Every
button signs one record through `Central.act`, which runs the same checks the fold runs, so a
refused step never becomes a record and the clerk sees why in their language.
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

from casework import notices as notice_content
from casework.case_state import CaseState
from casework.cases import allowed_actions, item_snapshot
from casework.fees import FeeInput, assess_case
from casework.identity import parse_credit_code, parse_mobile, parse_resident_id
from casework.messages import RuleError
from casework.numbering import parse_card_number, parse_case_number
from central import board_store, card_store, settlement_store
from central.pages import (
    central_of,
    current_window,
    kind_name,
    place_label,
    staff_name,
    status_name,
    windows_of,
)
from central.routing import target_for
from store.directory import list_nodes
from sync.canonical import nfc
from web import access_log
from web.auth import current_staff, roles_required
from web.case_actions import (
    DELIVERY_NAMES,
    LABELS,
    PAUSE_NAMES,
    ActionContext,
    FormErrors,
    build,
    due_date,
    offered,
)
from web.notices import render_notice
from web.settings import store_db

bp = Blueprint("window", __name__, url_prefix="/window", template_folder="templates", static_folder="static",
               static_url_path="/static/central")
CLERKS = ("window_clerk", "card_clerk")
UNMASKERS = (*CLERKS, "supervisor")  # as the shared case page (central.app.CASE_ROLES)


def _may_unmask(state: CaseState, window: str) -> bool:
    return access_log.may_unmask(state, f"window:{window}" if window else "central", roles=UNMASKERS,
                                 any_case=("supervisor",))


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


def _render_case(state: CaseState, window: str, *, errors: dict[str, str] | None = None, open_action: str = "",
                 values: Any = None, status: int = 200, revealed: dict[str, str] | None = None,
                 unmask_errors: dict[str, str] | None = None) -> tuple[str, int]:
    central = central_of()
    place = f"window:{window}"
    actions = offered(state, place, allowed_actions(state, place))
    ctx = _context(state, window)
    catalogue = central.catalogue()
    fees = []
    for code in state.item.get("fees") or []:
        try:
            fees.append(catalogue.fee(code))
        except KeyError:
            continue
    db = store_db()
    project = card_store.get(db, state.card) if state.card else None
    may_assess = bool(fees) and not state.closed and (state.holder == place or state.pending_handover == place)
    row = board_store.get(db, state.number or "")
    return render_template(
        "central/window_case.html", state=state, window=window, actions=actions, labels=LABELS,
        pause_names=PAUSE_NAMES, delivery_names=DELIVERY_NAMES, forward_targets=ctx.forward_targets,
        due_preview=due_date(ctx), errors=errors or {}, open_action=open_action, values=values or {},
        notices=notice_content.available(state), notice_titles=notice_content.TITLES, fees=fees,
        may_assess=may_assess, notices_paid=settlement_store.notices_of_case(db, state.number or ""),
        project=project, place_label=place_label, status_name=status_name, kind_name=kind_name,
        joint_windows=[(w.code, f"{w.code} {w.name}") for w in catalogue.windows
                       if w.kind in ("department", "combined") and w.code != window],
        joint_open=(row.joint.split() if row else []), is_holder=state.holder == place,
        may_unmask=_may_unmask(state, window), revealed=revealed or {}, unmask_errors=unmask_errors or {},
        unmask_values=request.form if unmask_errors else {},
        unmask_open=request.form.get("field", "") if unmask_errors else "", reasons=access_log.reason_choices(),
        masked_id=access_log.masked_id,
    ), status


@bp.get("/case/<number>")
@roles_required(*CLERKS, "supervisor", "inspector", "cashier")
def case(number: str) -> Any:
    window = current_window() or ""
    return _render_case(_state(number), window)


@bp.post("/case/<number>/unmask")
@roles_required(*UNMASKERS)
def unmask(number: str) -> Any:
    """One ID or phone number in full for this page view, with a reason, recorded first (web.access_log)."""
    window = current_window() or ""
    state = _state(number)
    try:
        revealed = access_log.unmask(state, request.form, permitted=_may_unmask(state, window))
    except access_log.UnmaskRefusedError as err:
        return _render_case(state, window, unmask_errors=err.errors, status=400)
    return _render_case(state, window, revealed=revealed)


@bp.post("/case/<number>/act/<action>")
@roles_required(*CLERKS)
def act(number: str, action: str) -> Any:
    window = _need_window()
    central = central_of()
    state = _state(number)
    place = f"window:{window}"
    if action not in offered(state, place, allowed_actions(state, place)) and action != "finish_now":
        abort(403)
    try:
        if action == "accepted" and request.form.getlist("gap"):
            fields = _gap_fields(state, _context(state, window))
            central.act(number, "case.accepted", window=window, staff=staff_name(), **fields)
        elif action == "forwarded" and not request.form.get("note", "").strip():
            raise FormErrors({"note": gettext("Say why the case is reassigned or forwarded.")})
        elif action == "finish_now":
            _finish_now(state, window)
        else:
            kind, body = build(action, request.form, request.files, _context(state, window))
            fields = {k: v for k, v in body.items() if k not in ("case", "after", "by")}
            central.act(number, kind, window=window, staff=staff_name(), **fields)
    except FormErrors as err:
        return _render_case(state, window, errors=err.errors, open_action=action, values=request.form, status=400)
    except RuleError as err:
        return _render_case(state, window, errors={"_rule": err.translated(gettext)}, open_action=action,
                            values=request.form, status=400)
    flash(gettext("Recorded: %(what)s.", what=LABELS.get(action, gettext("Finish on the spot"))), "success")
    return redirect(url_for("window.case", number=number))


def _gap_fields(state: CaseState, ctx: ActionContext) -> dict[str, Any]:
    """容缺受理: accepted with minor materials missing, on the applicant's signed commitment."""
    due, _ = due_date(ctx)
    gap = [g for g in request.form.getlist("gap") if g in state.materials_missing]
    deadline = request.form.get("gap_deadline", "").strip() or due
    signed_by = request.form.get("gap_signed_by", "").strip()
    if not signed_by:
        raise FormErrors({"gap_signed_by": gettext("Enter who signed the commitment.")})
    try:
        dt.date.fromisoformat(deadline)
    except ValueError:
        raise FormErrors({"gap_deadline": gettext("Enter a date like 2026-03-01.")}) from None
    return {"due_date": due, "gap": gap, "commitment": {
        "signed_by": nfc(signed_by), "deadline": deadline,
        "text": nfc(request.form.get("gap_text", "").strip() or "本人承诺在期限内补齐所缺材料，逾期未补齐的，本申请终止办理。")}}


def _finish_now(state: CaseState, window: str) -> None:
    """An immediate case: finished, licence issued (if a number is given) and delivered, at once."""
    central = central_of()
    licence = request.form.get("licence_number", "").strip()
    steps: list[tuple[str, dict[str, Any]]] = [("case.finished", {"outcome": "granted"})]
    if licence:
        steps.append(("case.licence_issued", {"licence": {"number": nfc(licence)}}))
    steps.append(("case.delivered", {"method": "on_the_spot", "recipient": state.applicant.get("name")}))
    central.act_many(state.number or "", steps, window=window, staff=staff_name())


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
        return _render_case(state, window, errors=errors, open_action="fees", values=request.form, status=400)
    flash(gettext("Payment notice issued; the applicant pays at the settlement centre."), "success")
    return redirect(url_for("window.case", number=number))


@bp.post("/case/<number>/joint")
@roles_required(*CLERKS)
def joint(number: str) -> Any:
    """联办: the holder asks other windows for their opinion; each answers with its own note."""
    window = _need_window()
    central = central_of()
    state = _state(number)
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
        return _render_case(state, window, errors=err.errors, open_action="joint", values=request.form, status=400)
    except RuleError as err:
        return _render_case(state, window, errors={"_rule": err.translated(gettext)}, status=400)
    flash(gettext("Recorded."), "success")
    return redirect(url_for("window.case", number=number))


@bp.get("/case/<number>/notice/<kind>")
@roles_required(*CLERKS, "cashier", "supervisor")
def notice(number: str, kind: str) -> Any:
    central = central_of()
    state = _state(number)
    options: dict[str, Any] = {"catalogue": central.catalogue()}
    if kind == "payment" and request.args.get("assessment"):
        options["assessment"] = request.args["assessment"]
    try:
        content = notice_content.notice(kind, state, **options)
    except RuleError as err:
        flash(err.translated(gettext), "error")
        return redirect(url_for("window.case", number=number))
    access_log.record_print(kind, state, assessment=options.get("assessment"))  # first: nothing printed unrecorded
    return render_notice(content, back_url=url_for("window.case", number=number))


@bp.get("/case/<number>/scan/<sha256>")
@roles_required(*CLERKS, "supervisor", "inspector")
def scan(number: str, sha256: str) -> Any:
    """A material's scan as the node uploaded it (only scans named by this case's records)."""
    state = _state(number)
    if not any(s.get("sha256") == sha256 for s in state.material_scans):
        abort(404)
    blobs = current_app.extensions["central_blobs"]
    if not blobs.has(sha256):
        abort(404, gettext("The scan has not reached the city yet; it arrives with the node's next sync."))
    data = blobs.read(sha256)
    access_log.record_scan(state, sha256)  # sensitive personal data: recorded before it is shown
    mimetype = "application/pdf" if data[:4] == b"%PDF" else (
        "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg")
    return Response(data, mimetype=mimetype, headers={"Cache-Control": "no-store"})


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
