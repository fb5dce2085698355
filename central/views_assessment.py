"""The quarterly assessment of the sub-centres (分中心季度考核) at central: `/assessment/...`.

Who does what (docs/permissions.md): inspectors (行风监督员) record findings and bonus deeds with
their evidence; the supervisor may too, and confirms or dismisses the system's proposals, withdraws
entries and publishes the quarter; the administrator reads. Every step is a record central signs
(central.assessment_records); the pages read central.assessment_store and compute scores with
casework.assessment through central.assessment_scores.

A published quarter is frozen: the views refuse any further finding, bonus, decision or withdrawal
for it with a message saying so, and the projection would skip one anyway. A form that cannot be
taken is shown again with everything typed, and with the evidence already uploaded kept (its
blobs are stored; the form carries their names), so an inspector never uploads a photo twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from casework import assessment as rules
from casework.assessment import Scorecard
from central import assessment_records as records
from central import assessment_scores, assessment_store, correction_store, evidence, scorecard_store
from central.pages import central_of, staff_name
from central.quarters import Quarter
from sync.canonical import nfc
from web.auth import current_staff, roles_required
from web.charts import bar_chart
from web.settings import store_db

bp = Blueprint("assessment", __name__, url_prefix="/assessment")
READERS = ("supervisor", "inspector", "admin")
RECORDERS = ("inspector", "supervisor")
DECIDERS = ("supervisor",)
LATE_DAYS = 31
"""A check may be dated up to this many days after its quarter (the quarter-end inspection often
falls in the first days of the next quarter), never in the future."""
_UPLOADS = "assessment_uploads"
_SIGNING = records.SIGNING  # one check-then-sign at a time: "not yet published" must still hold when signed

SOURCE_NAMES = {
    "quarter_end": _l("Quarter-end check"),
    "monthly_random": _l("Monthly random check"),
    "undercover": _l("Undercover visit"),
    "open_visit": _l("Open visit"),
    "system": _l("The system's records"),
}
OP_NAMES = {  # what a correction of a published quarter puts right (central.correction_records)
    "withdraw": _l("An entry should not have counted"),
    "count": _l("The number of occurrences was wrong"),
    "add_finding": _l("A deduction was missed"),
    "add_bonus": _l("A bonus deed was missed"),
}
OUTCOME_NAMES = {"approved": _l("Approved"), "rejected": _l("Rejected"), "withdrawn": _l("Withdrawn by the filer"),
                 None: _l("Waiting for approval")}
FEE_REASONS = {
    "paid_at_node": _l("fee taken at the counter, not at the settlement centre"),
    "refunded_at_node": _l("fee refunded at the counter, not at the settlement centre"),
    "unlisted_fee": _l("a fee the item does not list"),
    "not_standard": _l("amount not as the fee standard gives"),
    "refunded": _l("fee refunded by the settlement centre"),
    "card": _l("supervision card for an unauthorised fee"),
}


def scorecard_version(quarter: Quarter) -> scorecard_store.ScorecardVersion | None:
    """The signed scorecard version the quarter is scored with (central.scorecard_store's rule)."""
    return scorecard_store.for_quarter(store_db(), quarter.text)


def scorecard(quarter: Quarter) -> Scorecard:
    found = scorecard_version(quarter)
    return found.card if found is not None else rules.packaged()  # (none only before the first start)


def _quarter(text: str) -> Quarter:
    try:
        return Quarter.parse(text)
    except ValueError:
        abort(404)


def _board(quarter: Quarter, only: str | None = None) -> assessment_scores.QuarterBoard:
    central = central_of()
    return assessment_scores.board(store_db(), quarter, scorecard=scorecard(quarter), today=central.today(),
                                   calendar=central.calendar(), only=only)


def _blobs() -> Any:
    return current_app.extensions["central_blobs"]


def _frozen_message(published: assessment_store.Published) -> str:
    from central.pages import china_time

    return gettext("%(quarter)s was published on %(time)s; its scores are final and nothing more can be "
                   "recorded for it.", quarter=published.quarter, time=china_time(published.time))


def _common(quarter: Quarter) -> dict[str, Any]:
    """What every assessment page shows around its content."""
    staff = current_staff()
    return {"quarter": quarter, "card": scorecard(quarter), "card_version": scorecard_version(quarter),
            "source_names": SOURCE_NAMES, "fee_reasons": FEE_REASONS,
            "pending_corrections": len(correction_store.pending(store_db())), "op_names": OP_NAMES,
            "outcome_names": OUTCOME_NAMES,
            "may_record": bool(staff and staff.has_role(*RECORDERS)),
            "may_decide": bool(staff and staff.has_role(*DECIDERS)), "this_quarter": Quarter.of(central_of().today()),
            "frozen_quarter": assessment_store.is_published(store_db(), quarter.text)}


# --- reading --------------------------------------------------------------------------------------

@bp.get("/")
@roles_required(*READERS)
def index() -> Response:
    return redirect(url_for("assessment.overview", quarter=Quarter.of(central_of().today()).text))


@bp.get("/<quarter>")
@roles_required(*READERS)
def overview(quarter: str) -> str:
    q = _quarter(quarter)
    board = _board(q)
    today = central_of().today()
    chart = bar_chart([f"{b.unit.code} {b.unit.name}" for b in board.units], [b.score.total for b in board.units],
                      title=gettext("Total score"), width=720) if board.units else ""
    blockers = _publish_blockers(board, today)
    return render_template("assessment/overview.html", board=board, chart=chart, blockers=blockers, **_common(q))


def _publish_blockers(board: assessment_scores.QuarterBoard, today: dt.date) -> list[str]:
    if board.published is not None:
        return []
    found = []
    if today < board.quarter.last:
        found.append(gettext("A quarter is published once it has ended: from %(day)s.",
                             day=board.quarter.last.isoformat()))
    if board.open_proposals:
        found.append(gettext("%(n)s proposals from the system's records are still open: confirm or dismiss "
                             "each of them first.", n=board.open_proposals))
    if not board.units:
        found.append(gettext("No sub-centre is enrolled: there is nothing to publish."))
    return found


def _unit_or_404(board: assessment_scores.QuarterBoard, unit: str) -> assessment_scores.UnitBoard:
    found = board.unit(unit)
    if found is None:
        abort(404)
    return found


def _unit_page(q: Quarter, unit: str, *, errors: dict[str, Any] | None = None, form_clause: str = "",
               status: int = 200) -> tuple[str, int]:
    board = _board(q, only=unit)
    found = _unit_or_404(board, unit)
    return render_template("assessment/unit.html", board=board, u=found, errors=errors or {},
                           form_clause=form_clause, values=request.form if errors else {},
                           **_common(q)), status


@bp.get("/<quarter>/unit/<unit>")
@roles_required(*READERS)
def unit(quarter: str, unit: str) -> tuple[str, int]:
    return _unit_page(_quarter(quarter), unit)


@bp.get("/evidence/<sha256>")
@roles_required(*READERS)
def evidence_file(sha256: str) -> Response:
    """A piece of evidence named by an assessment record: photos shown, documents downloaded."""
    db = store_db()
    found = assessment_store.evidence_named(db, sha256) or correction_store.evidence_named(db, sha256)
    if found is None or not _blobs().has(sha256):
        abort(404)
    data = _blobs().read(sha256)
    kind = evidence.mimetype_of(data, found.name)
    response = send_file(_blobs().open(sha256), mimetype=kind, as_attachment=not found.is_image,
                         download_name=found.name, max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response


# --- recording findings and bonus deeds --------------------------------------------------------------

def _allowed_uploads() -> list[str]:
    return list(session.get(_UPLOADS, []))


def _remember_uploads(kept: list[evidence.Evidence]) -> None:
    shas = [*_allowed_uploads(), *(e.sha256 for e in kept)]
    session[_UPLOADS] = list(dict.fromkeys(shas))[-40:]


def collect_evidence(errors: dict[str, Any]) -> list[evidence.Evidence]:
    """Evidence kept from an earlier attempt plus this request's uploads; problems into `errors`."""
    blobs = _blobs()
    kept = evidence.kept_evidence(blobs, request.form.getlist("kept"), _allowed_uploads())
    new, problems = evidence.store_uploads(blobs, request.files.getlist("evidence"))
    _remember_uploads(new)
    items = list({e.sha256: e for e in [*kept, *new]}.values())
    if problems:
        errors["evidence"] = [p.translated(gettext) for p in problems]
    elif not items:
        errors["evidence"] = gettext("Attach at least one photo or document as evidence.")
    elif len(items) > evidence.MAX_FILES:
        errors["evidence"] = gettext("At most %(n)s files can be attached to one entry.", n=evidence.MAX_FILES)
    return items


def form_day(name: str, first: dt.date, latest: dt.date, errors: dict[str, Any], out_of_range: str) -> str:
    """The form's date field `name`, checked to lie in [first, latest]; what was typed if it is not
    a date (kept for the form). Shared with the correction forms, which allow other ranges."""
    text = request.form.get(name, "").strip()
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        errors[name] = gettext("Give the date as YYYY-MM-DD.")
        return text
    if not first <= day <= latest:
        errors[name] = out_of_range
    return day.isoformat()


def _check_day(name: str, q: Quarter, errors: dict[str, Any]) -> str:
    latest = min(central_of().today(), q.last + dt.timedelta(days=LATE_DAYS))
    return form_day(name, q.first, latest, errors, gettext(
        "The date must be between %(first)s and %(last)s (in the quarter or the month after it, and not in the "
        "future).", first=q.first.isoformat(), last=latest.isoformat()))


def _check_unit(errors: dict[str, Any]) -> str:
    code = request.form.get("unit", "").strip()
    if assessment_scores.unit_name(store_db(), code) is None:
        errors["unit"] = gettext("Choose the sub-centre.")
    return code


def _text(name: str, errors: dict[str, Any], *, required: bool, limit: int, message: str) -> str:
    value = nfc(request.form.get(name, "").strip())
    if required and not value:
        errors[name] = message
    elif len(value) > limit:
        errors[name] = gettext("At most %(n)s characters.", n=limit)
    return value


def _default_day(q: Quarter) -> str:
    today = central_of().today()
    return (today if q.contains(today) else min(q.last, today)).isoformat()


def _form(template: str, q: Quarter, *, errors: dict[str, Any] | None = None, kept: list[Any] | None = None,
          refused: str = "", status: int = 200) -> tuple[str, int]:
    db = store_db()
    published = assessment_store.published(db, q.text)
    values = request.form if request.method == "POST" else {
        "unit": request.args.get("unit", ""), "deed": request.args.get("deed", ""), "count": "1",
        "checked_on": _default_day(q), "awarded_on": _default_day(q), "clause": request.args.get("clause", "")}
    unit_options = [(u.code, f"{u.code} {u.name}") for u in assessment_scores.units(db)]
    return render_template(template, unit_options=unit_options, values=values, errors=errors or {},
                           kept=kept or [], frozen=_frozen_message(published) if published else "",
                           max_files=evidence.MAX_FILES, max_mb=evidence.MAX_UPLOAD_BYTES // (1024 * 1024),
                           source_options=[(s, SOURCE_NAMES[s]) for s in records.SOURCES], refused=refused,
                           **_common(q)), status


def _sign_entry(q: Quarter, kind: str, body: dict[str, Any]) -> str | None:
    """Sign unless the quarter was published meanwhile; the refusal message, or None when signed."""
    central = central_of()
    with _SIGNING:
        published = assessment_store.published(store_db(), q.text)
        if published is not None:
            return _frozen_message(published)
        central.sign(kind, records.check(kind, body))
    return None


@bp.route("/<quarter>/finding", methods=["GET", "POST"])
@roles_required(*RECORDERS)
def finding(quarter: str) -> Any:
    q = _quarter(quarter)
    if request.method == "GET":
        return _form("assessment/finding.html", q)
    errors: dict[str, Any] = {}
    code = _check_unit(errors)
    clause = request.form.get("clause", "").strip()
    if scorecard(q).deduction(clause) is None:
        errors["clause"] = gettext("Choose the clause of the scorecard the finding falls under.")
    try:
        count = int(request.form.get("count", ""))
        if not 1 <= count <= 99:
            raise ValueError
    except ValueError:
        count = 0
        errors["count"] = gettext("Occurrences: a whole number from 1 to 99.")
    source = request.form.get("source", "")
    if source not in records.SOURCES:
        errors["source"] = gettext("Choose where the finding comes from.")
    day = _check_day("checked_on", q, errors)
    text = _text("text", errors, required=True, limit=records.MAX_TEXT,
                 message=gettext("Write what was found."))
    items = collect_evidence(errors)
    if errors:
        return _form("assessment/finding.html", q, errors=errors, kept=items, status=400)
    refused = _sign_entry(q, records.FINDING, {
        "unit": code, "quarter": q.text, "clause": clause, "count": count, "source": source, "checked_on": day,
        "text": text, "evidence": [e.to_body() for e in items], "staff": staff_name()})
    if refused:
        return _form("assessment/finding.html", q, kept=items, refused=refused, status=409)
    flash(gettext("Finding recorded."), "success")
    return redirect(url_for("assessment.unit", quarter=q.text, unit=code))


@bp.route("/<quarter>/bonus", methods=["GET", "POST"])
@roles_required(*RECORDERS)
def bonus(quarter: str) -> Any:
    q = _quarter(quarter)
    if request.method == "GET":
        return _form("assessment/bonus.html", q)
    errors: dict[str, Any] = {}
    code = _check_unit(errors)
    clause = request.form.get("clause", "").strip()
    if scorecard(q).bonus(clause) is None:
        errors["clause"] = gettext("Choose the bonus clause the deed earns.")
    deed = assessment_scores.normal_deed(_text("deed", errors, required=True, limit=records.MAX_SHORT,
                                               message=gettext("Name the deed (what was praised, by whom, when).")))
    day = _check_day("awarded_on", q, errors)
    text = _text("text", errors, required=False, limit=records.MAX_TEXT, message="")
    items = collect_evidence(errors)
    if not errors:
        same = [e for e in assessment_store.entries(store_db(), q.text, code)
                if e.active and e.kind == "bonus" and e.clause == clause
                and assessment_scores.normal_deed(e.deed) == deed]
        if same:
            errors["deed"] = gettext("This deed is already recorded under this clause for this sub-centre.")
    if errors:
        return _form("assessment/bonus.html", q, errors=errors, kept=items, status=400)
    refused = _sign_entry(q, records.BONUS, {
        "unit": code, "quarter": q.text, "clause": clause, "deed": deed, "awarded_on": day, "text": text,
        "evidence": [e.to_body() for e in items], "staff": staff_name()})
    if refused:
        return _form("assessment/bonus.html", q, kept=items, refused=refused, status=409)
    flash(gettext("Bonus deed recorded."), "success")
    return redirect(url_for("assessment.unit", quarter=q.text, unit=code))


# --- decisions ----------------------------------------------------------------------------------------

@bp.post("/<quarter>/withdraw/<entry>")
@roles_required(*RECORDERS)
def withdraw(quarter: str, entry: str) -> Any:
    q = _quarter(quarter)
    found = assessment_store.get_entry(store_db(), entry)
    if found is None or found.quarter != q.text:
        abort(404)
    staff = current_staff()
    assert staff is not None
    if not staff.has_role(*DECIDERS) and (found.staff != staff.username or found.kind not in ("finding", "bonus")):
        abort(403)  # an inspector withdraws only what they recorded themselves
    back = url_for("assessment.unit", quarter=q.text, unit=found.unit)
    if not found.active:
        flash(gettext("This entry was already withdrawn."), "warning")
        return redirect(back)
    reason = nfc(request.form.get("reason", "").strip())
    if not reason or len(reason) > records.MAX_TEXT:
        return _unit_page(q, found.unit, errors={f"withdraw-{entry}": gettext("Give the reason for withdrawing.")},
                          status=400)
    refused = _sign_entry(q, records.WITHDRAWN, {"entry": entry, "unit": found.unit, "quarter": q.text,
                                                 "reason": reason, "staff": staff_name()})
    flash(refused or gettext("Withdrawn; it no longer counts."), "error" if refused else "success")
    return redirect(back)


@bp.post("/<quarter>/unit/<unit>/proposal/<clause>")
@roles_required(*DECIDERS)
def decide(quarter: str, unit: str, clause: str) -> Any:
    """Confirm the system's proposal for the refs ticked (the others left out, with a note), or dismiss it."""
    q = _quarter(quarter)
    board = _board(q, only=unit)
    found = _unit_or_404(board, unit)
    back = url_for("assessment.unit", quarter=q.text, unit=unit)
    if board.published is not None:
        flash(_frozen_message(board.published), "error")
        return redirect(back)
    proposal = next((p for p in found.proposals if p.clause == clause), None)
    if proposal is None:
        flash(gettext("There is no open proposal for this clause any more: it was decided meanwhile."), "warning")
        return redirect(back)
    open_refs = [r.ref for r in proposal.refs]
    chosen = [r for r in request.form.getlist("refs") if r in open_refs]
    note = nfc(request.form.get("note", "").strip())[:records.MAX_TEXT]
    errors: dict[str, str] = {}
    if request.form.get("decision") == "dismiss":
        if not note:
            errors[f"note-{clause}"] = gettext("Give the reason for dismissing the proposal.")
        kind, body = records.DISMISSED, {"refs": open_refs, "reason": note}
    else:
        left_out = [r for r in open_refs if r not in chosen]
        if not chosen:
            errors[f"note-{clause}"] = gettext("Tick at least one item to confirm, or dismiss the proposal.")
        elif left_out and not note:
            errors[f"note-{clause}"] = gettext("Say why the unticked items are left out.")
        kind, body = records.CONFIRMED, {"refs": chosen, "left_out": left_out, "note": note}
    if errors:
        return _unit_page(q, unit, errors=errors, form_clause=clause, status=400)
    refused = _sign_entry(q, kind, {"unit": unit, "quarter": q.text, "clause": clause, "facts": proposal.facts(),
                                    "staff": staff_name(), **body})
    if refused:
        flash(refused, "error")
    else:
        flash(gettext("Proposal confirmed: it counts in the score.") if kind == records.CONFIRMED
              else gettext("Proposal dismissed."), "success")
    return redirect(back)


@bp.post("/<quarter>/publish")
@roles_required(*DECIDERS)
def publish(quarter: str) -> Any:
    q = _quarter(quarter)
    central = central_of()
    back = url_for("assessment.overview", quarter=q.text)
    with _SIGNING:
        board = _board(q)
        if board.published is not None:
            flash(_frozen_message(board.published), "warning")
            return redirect(back)
        blockers = _publish_blockers(board, central.today())
        if blockers:
            for message in blockers:
                flash(message, "error")
            return redirect(back)
        used = scorecard_version(q)
        central.sign(records.PUBLISHED, records.check(records.PUBLISHED, assessment_scores.publication(
            board, scorecard(q), staff_name(), version=used.version if used else 0,
            record_id=used.record_id if used else "")))
    flash(gettext("%(quarter)s published: the bulletin is public and the scores are final.", quarter=q.text),
          "success")
    return redirect(back)
