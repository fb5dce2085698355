"""Corrections after publishing: `/assessment/<quarter>/correction...`, `/awards/<year>/correction...`.

A published quarter and a decided year are final (central.assessment_store, awards_store), and
these pages do not reopen them. They file a CORRECTION: a supervisor names what was wrong (an
entry that should not have counted, a wrong number of occurrences, a missed deduction or bonus
deed; for a year, the awarded lists as the meeting now decides them), why, and the evidence; a
second supervisor, not the one who filed it, approves or rejects it (the filer may withdraw it
while it waits). Approval signs the figures as corrected; from then on every page, the public
bulletin and the awards show them as corrected, the published figures kept beside them and the
correction listed with its date and reason. Records: central.correction_records.

Who (docs/permissions.md): supervisors file and decide; inspectors and the administrator read.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from casework.assessment import Scorecard
from central import (
    assessment_corrections,
    assessment_scores,
    assessment_store,
    award_corrections,
    correction_store,
    scorecard_store,
)
from central import assessment_records as records
from central import correction_records as kinds
from central.correction_store import Correction
from central.pages import central_of, staff_name
from central.quarters import Quarter
from central.views_assessment import OP_NAMES, OUTCOME_NAMES, SOURCE_NAMES, collect_evidence, form_day
from central.views_awards import LIST_NAMES, load_year, rule_errors
from sync.canonical import nfc
from web.auth import current_staff, roles_required
from web.settings import store_db

bp = Blueprint("corrections", __name__)
READERS = ("supervisor", "inspector", "admin")
FILERS = ("supervisor",)
def _me() -> str:
    staff = current_staff()
    return staff.username if staff else ""


def _may_file() -> bool:
    staff = current_staff()
    return bool(staff and staff.has_role(*FILERS))


def _quarter(text: str) -> Quarter:
    try:
        return Quarter.parse(text)
    except ValueError:
        abort(404)


def _year(text: str) -> int:
    if not text.isdigit() or len(text) != 4:
        abort(404)
    return int(text)


def _correction(scope: str, subject: str, correction: str) -> Correction:
    found = correction_store.get(store_db(), correction)
    if found is None or (found.scope, found.subject) != (scope, subject):
        abort(404)
    return found


def _card(quarter: Quarter) -> Scorecard:
    from casework.assessment import packaged

    found = scorecard_store.for_quarter(store_db(), quarter.text)
    return found.card if found is not None else packaged()


# --- the list ------------------------------------------------------------------------------------------

@bp.get("/assessment/corrections")
@roles_required(*READERS)
def index() -> str:
    db = store_db()
    return render_template("corrections/index.html", waiting=correction_store.pending(db),
                           decided=correction_store.recent(db), op_names=OP_NAMES, outcome_names=OUTCOME_NAMES,
                           me=_me(), may_decide=_may_file(), this_quarter=Quarter.of(central_of().today()))


# --- a quarter -----------------------------------------------------------------------------------------

def _unit_entries(q: Quarter, unit: str) -> list[assessment_store.Entry]:
    """The unit's entries as they stand (approved corrections applied)."""
    db = store_db()
    done = [c for c in correction_store.approved(db, "quarter", q.text) if c.unit == unit]
    return assessment_scores.apply_changes(assessment_store.entries(db, q.text, unit), done)


def _published_units(published: assessment_store.Published) -> list[tuple[str, str]]:
    return [(u["unit"], f"{u['unit']} {u.get('name') or ''}".strip())
            for u in sorted(published.body["units"], key=lambda u: u["unit"])]


def _quarter_form(q: Quarter, published: assessment_store.Published, *, errors: dict[str, Any] | None = None,
                  kept: list[Any] | None = None, status: int = 200) -> tuple[str, int]:
    values = request.form if request.method == "POST" else {
        "unit": request.args.get("unit", ""), "op": request.args.get("op", ""), "entry": request.args.get("entry", ""),
        "f_count": "1", "f_checked_on": "", "b_awarded_on": ""}
    unit = values.get("unit", "")
    entries = assessment_corrections.correctable(_unit_entries(q, unit)) if unit else []
    card = _card(q)
    from central import evidence

    return render_template(
        "corrections/quarter_form.html", quarter=q, published=published, unit_options=_published_units(published),
        values=values, errors=errors or {}, kept=kept or [], entries=entries, card=card, op_names=OP_NAMES,
        label=assessment_corrections.entry_label, source_options=[(s, SOURCE_NAMES[s]) for s in records.SOURCES],
        max_files=evidence.MAX_FILES, max_mb=evidence.MAX_UPLOAD_BYTES // (1024 * 1024),
        this_quarter=Quarter.of(central_of().today())), status


def _text(name: str, errors: dict[str, Any], *, required: bool, limit: int, message: str = "") -> str:
    value = nfc(request.form.get(name, "").strip())
    if required and not value:
        errors[name] = message or gettext("Required.")
    elif len(value) > limit:
        errors[name] = gettext("At most %(n)s characters.", n=limit)
    return value


def _count(name: str, errors: dict[str, Any]) -> int:
    try:
        value = int(request.form.get(name, ""))
        if not 1 <= value <= 99:
            raise ValueError
    except ValueError:
        errors[name] = gettext("Occurrences: a whole number from 1 to 99.")
        return 0
    return value


def _day(name: str, q: Quarter, errors: dict[str, Any]) -> str:
    return form_day(name, q.first, central_of().today(), errors,
                    gettext("The date must be between %(first)s and today.", first=q.first.isoformat()))


def _change_from_form(q: Quarter, unit: str, card: Scorecard, errors: dict[str, Any]) -> dict[str, Any]:
    """The change the form describes, checked against the unit's entries and the quarter's scorecard."""
    op = request.form.get("op", "")
    if op not in kinds.OPS:
        errors["op"] = gettext("Choose what was wrong.")
        return {}
    if op in ("withdraw", "count"):
        entries = {e.id: e for e in assessment_corrections.correctable(_unit_entries(q, unit))}
        entry = entries.get(request.form.get("entry", ""))
        if entry is None:
            errors["entry"] = gettext("Choose the entry that is wrong.")
            return {"op": op}
        if op == "withdraw":
            return {"op": op, "entry": entry.id}
        if entry.kind != "finding":
            errors["entry"] = gettext("Only an inspector's finding has a number of occurrences to correct.")
            return {"op": op}
        count = _count("new_count", errors)
        if count and count == entry.count:
            errors["new_count"] = gettext("The finding already counts %(n)s occurrence(s).", n=count)
        return {"op": op, "entry": entry.id, "count": count}
    if op == "add_finding":
        clause = request.form.get("f_clause", "").strip()
        if card.deduction(clause) is None:
            errors["f_clause"] = gettext("Choose the clause of the scorecard the finding falls under.")
        count = _count("f_count", errors)
        source = request.form.get("f_source", "")
        if source not in records.SOURCES:
            errors["f_source"] = gettext("Choose where the finding comes from.")
        day = _day("f_checked_on", q, errors)
        text = _text("f_text", errors, required=True, limit=records.MAX_TEXT, message=gettext("Write what was found."))
        return {"op": op, "clause": clause, "count": count, "source": source, "checked_on": day, "text": text}
    clause = request.form.get("b_clause", "").strip()
    if card.bonus(clause) is None:
        errors["b_clause"] = gettext("Choose the bonus clause the deed earns.")
    deed = assessment_scores.normal_deed(_text("b_deed", errors, required=True, limit=records.MAX_SHORT,
                                               message=gettext("Name the deed (what was praised, by whom, when).")))
    day = _day("b_awarded_on", q, errors)
    text = _text("b_text", errors, required=False, limit=records.MAX_TEXT)
    if deed and any(e.active and e.kind == "bonus" and e.clause == clause and assessment_scores.normal_deed(e.deed) == deed
                    for e in _unit_entries(q, unit)):
        errors["b_deed"] = gettext("This deed is already recorded under this clause for this sub-centre.")
    return {"op": op, "clause": clause, "deed": deed, "awarded_on": day, "text": text}


def _same_pending(db: Any, scope: str, subject: str, unit: str, change: dict[str, Any]) -> bool:
    return any(c.pending and c.unit == unit and (c.change == change or (
        change.get("entry") and c.change.get("entry") == change.get("entry")))
        for c in correction_store.of_subject(db, scope, subject))


@bp.route("/assessment/<quarter>/correction", methods=["GET", "POST"])
@roles_required(*FILERS)
def quarter_new(quarter: str) -> Any:
    q = _quarter(quarter)
    db = store_db()
    published = assessment_store.published(db, q.text)
    if published is None:
        flash(gettext("%(quarter)s is not published: until it is, record, withdraw or decide entries as usual.",
                      quarter=q.text), "warning")
        return redirect(url_for("assessment.overview", quarter=q.text))
    if request.method == "GET" or request.form.get("action") == "choose":
        return _quarter_form(q, published)
    errors: dict[str, Any] = {}
    unit = request.form.get("unit", "")
    if unit not in {code for code, _name in _published_units(published)}:
        errors["unit"] = gettext("Choose the sub-centre.")
        change: dict[str, Any] = {}
    else:
        change = _change_from_form(q, unit, _card(q), errors)
    reason = _text("reason", errors, required=True, limit=records.MAX_TEXT,
                   message=gettext("Say why the published figures are wrong."))
    items = collect_evidence(errors)
    if not errors and _same_pending(db, "quarter", q.text, unit, change):
        errors["op"] = gettext("A correction of this is already waiting for approval.")
    if errors:
        return _quarter_form(q, published, errors=errors, kept=items, status=400)
    with records.SIGNING:
        record = central_of().sign(kinds.QUARTER_FILED, kinds.check(kinds.QUARTER_FILED, {
            "quarter": q.text, "unit": unit, "change": change, "reason": reason,
            "evidence": [e.to_body() for e in items], "staff": staff_name()}))
    flash(gettext("Correction filed. Another supervisor approves it; until then the published figures stand."),
          "success")
    return redirect(url_for("corrections.quarter_show", quarter=q.text, correction=record.id))


def _entries_by_id(q: Quarter, unit: str) -> dict[str, assessment_store.Entry]:
    """Every entry of the unit a correction may name, as recorded (and those corrections added)."""
    found = {e.id: e for e in _unit_entries(q, unit)}
    found.update({e.id: e for e in assessment_store.entries(store_db(), q.text, unit)})
    return found


@bp.get("/assessment/<quarter>/correction/<correction>")
@roles_required(*READERS)
def quarter_show(quarter: str, correction: str) -> str:
    q = _quarter(quarter)
    c = _correction("quarter", q.text, correction)
    db = store_db()
    card = _card(q)
    return render_template(
        "corrections/quarter.html", quarter=q, c=c, effect=assessment_corrections.effect(db, c, card), card=card,
        parts={p.code: p.name for p in card.parts}, entries=_entries_by_id(q, c.unit), op_names=OP_NAMES,
        outcome_names=OUTCOME_NAMES, source_names=SOURCE_NAMES, label=assessment_corrections.entry_label,
        me=_me(), may_decide=_may_file(), errors={}, this_quarter=Quarter.of(central_of().today()),
        unit_name=next((str(u.get("name") or "") for u in assessment_corrections.current_units(db, q.text) or []
                        if u["unit"] == c.unit), ""))


def _decision(scope: str, subject: str, c: Correction, back: str) -> tuple[str, str] | Response:
    """The outcome and note asked for, or a redirect back with the reason it cannot be taken."""
    decision = request.form.get("decision", "")
    note = nfc(request.form.get("note", "").strip())[:records.MAX_TEXT]
    mine = c.staff == _me()
    if not c.pending:
        flash(gettext("This correction is already decided."), "warning")
        return redirect(back)
    if decision == "withdraw" and not mine:
        abort(403)  # only the filer withdraws
    if decision in ("approve", "reject") and mine:
        flash(gettext("You filed this correction: another supervisor approves or rejects it."), "error")
        return redirect(back)
    if decision not in ("approve", "reject", "withdraw"):
        flash(gettext("Choose to approve or reject the correction."), "error")
        return redirect(back)
    if decision != "approve" and not note:
        flash(gettext("Give the reason for rejecting or withdrawing the correction."), "error")
        return redirect(back)
    return {"approve": "approved", "reject": "rejected", "withdraw": "withdrawn"}[decision], note


@bp.post("/assessment/<quarter>/correction/<correction>/decide")
@roles_required(*FILERS)
def quarter_decide(quarter: str, correction: str) -> Response:
    q = _quarter(quarter)
    back = url_for("corrections.quarter_show", quarter=q.text, correction=correction)
    with records.SIGNING:
        c = _correction("quarter", q.text, correction)
        taken = _decision("quarter", q.text, c, back)
        if isinstance(taken, Response):
            return taken
        outcome, note = taken
        body: dict[str, Any] = {"correction": c.id, "quarter": q.text, "outcome": outcome, "note": note,
                                "staff": staff_name()}
        if outcome == "approved":
            entry = c.change.get("entry")
            if entry and entry not in {e.id for e in assessment_corrections.correctable(_unit_entries(q, c.unit))}:
                flash(gettext("The entry this correction names no longer counts (another correction was approved "
                              "meanwhile): reject it, or let the filer withdraw it."), "error")
                return redirect(back)
            effect = assessment_corrections.effect(store_db(), c, _card(q))
            body["units"] = effect.after
        central_of().sign(kinds.QUARTER_DECIDED, kinds.check(kinds.QUARTER_DECIDED, body))
    flash({"approved": gettext("Correction approved: the quarter is shown as corrected, on the public bulletin too."),
           "rejected": gettext("Correction rejected: the figures stand."),
           "withdrawn": gettext("Correction withdrawn.")}[outcome], "success")
    return redirect(back)


# --- a year's awards -----------------------------------------------------------------------------------------

def _year_form(y: Any, decision: award_corrections.YearDecision, *, errors: dict[str, Any] | None = None,
               kept: list[Any] | None = None, status: int = 200) -> tuple[str, int]:
    from central import evidence

    if request.method == "POST":
        chosen = {key: request.form.getlist(key) for key in ("collectives", "directors")}
        chosen["awards"] = {n["id"]: request.form.get(f"award-{n['id']}", "")
                            for n in decision.decided.body.get("nominations", [])}
        values = request.form
    else:
        current = decision.current
        chosen = {"collectives": current["collectives"], "directors": current["directors"],
                  "awards": {n["id"]: ("model" if n["id"] in current["models"] else
                                       "individual" if n["id"] in current["individuals"] else "")
                             for n in decision.decided.body.get("nominations", [])}}
        values = {}
    return render_template(
        "corrections/year_form.html", y=y, d=decision, body=decision.decided.body, chosen=chosen, values=values,
        errors=errors or {}, kept=kept or [], max_files=evidence.MAX_FILES,
        max_mb=evidence.MAX_UPLOAD_BYTES // (1024 * 1024), list_names=LIST_NAMES), status


def _year_decision(year: int) -> award_corrections.YearDecision | None:
    return award_corrections.year_decision(store_db(), year)


@bp.route("/awards/<year>/correction", methods=["GET", "POST"])
@roles_required(*FILERS)
def year_new(year: str) -> Any:
    y = load_year(_year(year))
    decision = _year_decision(y.year)
    if decision is None:
        flash(gettext("The awards of %(year)s are not decided yet: there is nothing to correct.", year=y.year),
              "warning")
        return redirect(url_for("awards.year", year=str(y.year)))
    if request.method == "GET":
        return _year_form(y, decision)
    errors: dict[str, Any] = {}
    form = request.form
    ids = [n["id"] for n in decision.decided.body.get("nominations", [])]
    amended = {"collectives": [u for u in form.getlist("collectives")],
               "models": [i for i in ids if form.get(f"award-{i}") == "model"],
               "individuals": [i for i in ids if form.get(f"award-{i}") == "individual"],
               "directors": [d for d in form.getlist("directors")]}
    units = {s["unit"] for s in decision.decided.body.get("standings", [])} | set(y.names)
    problems = award_corrections.check_amended(amended, decision.decided.body, units, rule_errors)
    if problems:
        errors["amended"] = problems
    if not problems and amended == decision.current and not decision.review:
        errors["amended"] = gettext("Nothing changes: these are the awards as they stand.")
    reason = _text("reason", errors, required=True, limit=records.MAX_TEXT,
                   message=gettext("Say why the decision changes (e.g. the meeting that reviewed it)."))
    items = collect_evidence(errors)
    if not errors and any(c.pending for c in decision.corrections):
        errors["amended"] = gettext("A correction of this decision is already waiting for approval.")
    if errors:
        return _year_form(y, decision, errors=errors, kept=items, status=400)
    with records.SIGNING:
        record = central_of().sign(kinds.YEAR_FILED, kinds.check(kinds.YEAR_FILED, {
            "year": y.year, "amended": amended, "reason": reason, "evidence": [e.to_body() for e in items],
            "staff": staff_name()}))
    flash(gettext("Correction filed. Another supervisor approves it; until then the decision stands."), "success")
    return redirect(url_for("corrections.year_show", year=str(y.year), correction=record.id))


@bp.get("/awards/<year>/correction/<correction>")
@roles_required(*READERS)
def year_show(year: str, correction: str) -> str:
    y = load_year(_year(year))
    c = _correction("year", str(y.year), correction)
    decision = _year_decision(y.year)
    if decision is None:
        abort(404)
    # before: the awards as they stood when it was decided (or stand now, while it waits)
    until = c.decided_pos if c.decided_pos is not None else 1 << 62
    prior = [a for a in decision.approved if a.id != c.id and (a.decided_pos or 0) < until]
    before = {k: list(v) for k, v in prior[-1].result.items()} if prior else decision.original
    nominees = {n["id"]: n for n in decision.decided.body.get("nominations", [])}
    return render_template("corrections/year.html", y=y, c=c, d=decision, before=before, after=c.change,
                           nominees=nominees, list_names=LIST_NAMES, outcome_names=OUTCOME_NAMES, me=_me(),
                           may_decide=_may_file())


@bp.post("/awards/<year>/correction/<correction>/decide")
@roles_required(*FILERS)
def year_decide(year: str, correction: str) -> Response:
    y = _year(year)
    back = url_for("corrections.year_show", year=str(y), correction=correction)
    with records.SIGNING:
        c = _correction("year", str(y), correction)
        taken = _decision("year", str(y), c, back)
        if isinstance(taken, Response):
            return taken
        outcome, note = taken
        body: dict[str, Any] = {"correction": c.id, "year": y, "outcome": outcome, "note": note,
                                "staff": staff_name()}
        if outcome == "approved":
            body["decision"] = c.change
        central_of().sign(kinds.YEAR_DECIDED, kinds.check(kinds.YEAR_DECIDED, body))
    flash({"approved": gettext("Correction approved: the awards are shown as corrected."),
           "rejected": gettext("Correction rejected: the decision stands."),
           "withdrawn": gettext("Correction withdrawn.")}[outcome], "success")
    return redirect(back)
