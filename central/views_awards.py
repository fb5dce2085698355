"""The annual awards (年终评先) at central: `/awards/<year>`.

- Advanced collectives (先进集体, 3): from the cumulative ranks of the year's PUBLISHED quarters,
  by casework.awards.advanced_collectives; units tied across the cut line are flagged and the
  meeting fills the open places from them.
- Nominations: each sub-centre nominates 1-2 window staff (with their window, their deeds and the
  department head's preliminary review, 部门分管领导初审), entered here by the supervisor.
- The director's meeting (主任办公会议) decides the 5 window service models (窗口服务标兵), the 5
  advanced window individuals (窗口服务先进个人) from the nominees, the 3 excellent sub-centre
  directors (优秀分中心主任) from the year's results and the department's opinion, and any places
  left open by ties. The decision is recorded once, as an `awards.decided` record holding who
  decided, when, the minutes' reference and every input the meeting had (standings, nominees,
  director inputs), so that a later reader sees what it decided from. It can be taken once the
  year's fourth quarter is published.

Supervisors enter and decide; inspectors and the administrator read.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from casework import awards as rules
from casework.assessment import AssessmentError, QuarterScore, Ranked
from central import (
    assessment_corrections,
    assessment_scores,
    assessment_store,
    award_corrections,
    awards_store,
)
from central import assessment_records as records
from central.pages import central_of, staff_name
from central.quarters import year_quarters
from central.views_assessment import OUTCOME_NAMES
from sync.canonical import nfc
from web.auth import current_staff, roles_required
from web.settings import store_db

bp = Blueprint("awards", __name__, url_prefix="/awards")
READERS = ("supervisor", "inspector", "admin")
DECIDERS = ("supervisor",)
_YEAR = re.compile(r"^\d{4}$")
AWARD_CHOICES = ("", "model", "individual")
LIST_NAMES = {"collectives": _l("Advanced collectives"), "models": _l("Window service models"),
              "individuals": _l("Advanced window individuals"), "directors": _l("Excellent sub-centre directors")}
"""The awarded lists of a decision, as a correction names them (central.award_corrections)."""


def _year(text: str) -> int:
    if not _YEAR.match(text) or not 2000 <= int(text) <= 2999:
        abort(404)
    return int(text)


@dataclass
class Year:
    """The year as the page needs it: published quarters, standings, nominees, decision."""

    year: int
    published: list[assessment_store.Published]
    names: dict[str, str]
    quarter_ranks: dict[str, dict[str, tuple[int, int]]]  # unit -> quarter -> (rank, total)
    collectives: rules.Collectives | None
    problem: str
    nominees: list[awards_store.Nominee]
    decided: awards_store.Decided | None
    units: list[assessment_scores.Unit] = field(default_factory=list)
    decision: award_corrections.YearDecision | None = None  # the decision as corrected, and any review it needs

    @property
    def quarters(self) -> list[str]:
        return [p.quarter for p in self.published]

    @property
    def year_over(self) -> bool:
        return f"{self.year}-Q4" in self.quarters

    @property
    def active(self) -> list[awards_store.Nominee]:
        return [n for n in self.nominees if n.active]

    def nominees_of(self, unit: str) -> list[awards_store.Nominee]:
        return [n for n in self.active if n.unit == unit]

    def results_text(self, unit: str) -> str:
        """The year's results of a unit, as the decision record keeps them (in Chinese, like notices)."""
        ranks = self.quarter_ranks.get(unit, {})
        parts = [f"{q}第{r}名（{t}分）" for q, (r, t) in sorted(ranks.items())]
        standing = next((s for s in self.collectives.standings if s.unit == unit), None) if self.collectives else None
        if standing is not None:
            parts.append(f"名次合计{standing.rank_sum}，总分合计{standing.total_sum}，年度第{standing.place}位")
        return "；".join(parts)


def load_year(year: int) -> Year:
    db = store_db()
    published = [p for p in (assessment_store.published(db, q.text) for q in year_quarters(year)) if p is not None]
    names: dict[str, str] = {}
    quarter_ranks: dict[str, dict[str, tuple[int, int]]] = {}
    rankings: list[list[Ranked]] = []
    for p in published:
        ranking = []
        for u in assessment_corrections.current_units(db, p.quarter) or p.body["units"]:  # as corrected
            names[u["unit"]] = str(u.get("name") or u["unit"])
            quarter_ranks.setdefault(u["unit"], {})[p.quarter] = (u["rank"], u["total"])
            ranking.append(Ranked(u["rank"], QuarterScore(u["unit"], dict(u["parts"]), (), u["bonus"], (), u["total"])))
        rankings.append(ranking)
    collectives, problem = None, ""
    if rankings:
        try:
            collectives = rules.advanced_collectives(rankings)
        except AssessmentError as err:
            problem = "; ".join(e.translated(gettext) for e in err.errors)
    units = assessment_scores.units(db)
    for u in units:
        names.setdefault(u.code, u.name)
    return Year(year, published, names, quarter_ranks, collectives, problem, awards_store.nominations(db, year),
                awards_store.decision(db, year), units, award_corrections.year_decision(db, year))


def _render(y: Year, *, errors: dict[str, Any] | None = None, form: str = "", status: int = 200) -> tuple[str, int]:
    staff = current_staff()
    today = central_of().today()
    return render_template(
        "awards/year.html", y=y, errors=errors or {}, form=form, values=request.form if errors else {},
        list_names=LIST_NAMES, outcome_names=OUTCOME_NAMES,
        nominee_names={n["id"]: n for n in y.decided.body.get("nominations", [])} if y.decided else {},
        may_decide=bool(staff and staff.has_role(*DECIDERS)), today=today, rules=rules,
        unit_options=[(u.code, f"{u.code} {u.name}") for u in y.units],
        default_day=today.isoformat()), status


@bp.get("/")
@roles_required(*READERS)
def index() -> Response:
    today = central_of().today()
    year = today.year if today.month > 1 else today.year - 1  # January: the meeting on last year's awards
    return redirect(url_for("awards.year", year=str(year)))


@bp.get("/<year>")
@roles_required(*READERS)
def year(year: str) -> tuple[str, int]:
    return _render(load_year(_year(year)))


@bp.post("/<year>/nominate")
@roles_required(*DECIDERS)
def nominate(year: str) -> Any:
    y = load_year(_year(year))
    if y.decided is not None:
        flash(gettext("The awards of %(year)s are decided; nominations are closed.", year=y.year), "error")
        return redirect(url_for("awards.year", year=str(y.year)))
    errors: dict[str, str] = {}
    unit = request.form.get("unit", "").strip()
    if unit not in {u.code for u in y.units}:
        errors["unit"] = gettext("Choose the sub-centre.")
    values = {}
    for name, limit, message in (("name", records.MAX_SHORT, gettext("Write the nominee's name.")),
                                 ("window", records.MAX_SHORT, gettext("Write the nominee's window.")),
                                 ("reason", records.MAX_TEXT, gettext("Write the nominee's deeds.")),
                                 ("review", records.MAX_TEXT, "")):
        values[name] = " ".join(nfc(request.form.get(name, "")).split()) if name in ("name", "window") else \
            nfc(request.form.get(name, "").strip())
        if message and not values[name]:
            errors[name] = message
        elif len(values[name]) > limit:
            errors[name] = gettext("At most %(n)s characters.", n=limit)
    if "unit" not in errors:
        high = rules.NOMINATIONS_PER_UNIT[1]
        already = y.nominees_of(unit)
        if len(already) >= high:
            errors["unit"] = gettext("%(unit)s has already nominated %(n)s people, the most a sub-centre may.",
                                     unit=y.names.get(unit, unit), n=high)
        elif any(n.name == values["name"] for n in already):
            errors["name"] = gettext("%(name)s is already nominated by this sub-centre.", name=values["name"])
    if errors:
        return _render(y, errors=errors, form="nominate", status=400)
    central_of().sign(records.NOMINATED, records.check(records.NOMINATED, {
        "year": y.year, "unit": unit, **values, "staff": staff_name()}))
    flash(gettext("Nomination recorded."), "success")
    return redirect(url_for("awards.year", year=str(y.year)) + "#nominations")


@bp.post("/<year>/nomination/<nomination>/withdraw")
@roles_required(*DECIDERS)
def withdraw(year: str, nomination: str) -> Any:
    y = load_year(_year(year))
    found = next((n for n in y.nominees if n.id == nomination), None)
    if found is None:
        abort(404)
    back = url_for("awards.year", year=str(y.year)) + "#nominations"
    if y.decided is not None or not found.active:
        flash(gettext("This nomination can no longer be withdrawn."), "warning")
        return redirect(back)
    reason = nfc(request.form.get("reason", "").strip())
    if not reason:
        return _render(y, errors={f"withdraw-{nomination}": gettext("Give the reason for withdrawing.")},
                       form="withdraw", status=400)
    central_of().sign(records.NOMINATION_WITHDRAWN, records.check(records.NOMINATION_WITHDRAWN, {
        "year": y.year, "nomination": nomination, "reason": reason[:records.MAX_TEXT], "staff": staff_name()}))
    flash(gettext("Nomination withdrawn."), "success")
    return redirect(back)


# casework.awards names the award in its messages' `title` parameter, in English: shown translated
TITLES = {"window service models": _l("window service models"),
          "advanced window individuals": _l("advanced window individuals"),
          "excellent sub-centre directors": _l("excellent sub-centre directors")}


def rule_errors(err: AssessmentError) -> list[str]:
    out = []
    for e in err.errors:
        params = {k: (str(TITLES[v]) if k == "title" and v in TITLES else v) for k, v in e.params.items()}
        out.append(gettext(e.msgid) % params if params else gettext(e.msgid))
    return out


@bp.post("/<year>/decide")
@roles_required(*DECIDERS)
def decide(year: str) -> Any:
    y = load_year(_year(year))
    back = url_for("awards.year", year=str(y.year))
    if y.decided is not None:
        flash(gettext("The awards of %(year)s are already decided.", year=y.year), "warning")
        return redirect(back)
    if not y.year_over or y.collectives is None:
        flash(gettext("The awards are decided once the year's fourth quarter is published."), "error")
        return redirect(back)
    form = request.form
    errors: dict[str, Any] = {}
    decided_by = nfc(form.get("decided_by", "").strip())
    minutes_ref = nfc(form.get("minutes_ref", "").strip())
    if not decided_by:
        errors["decided_by"] = gettext("Name the meeting or body that decided.")
    if not minutes_ref:
        errors["minutes_ref"] = gettext("Give the reference of the minutes the decision is written in.")
    today = central_of().today()
    try:
        decided_on = dt.date.fromisoformat(form.get("decided_on", "").strip())
        if not dt.date(y.year, 10, 1) <= decided_on <= today:
            errors["decided_on"] = gettext("The date of the meeting: from %(first)s up to today.",
                                           first=dt.date(y.year, 10, 1).isoformat())
    except ValueError:
        decided_on = today
        errors["decided_on"] = gettext("Give the date as YYYY-MM-DD.")
    collectives = y.collectives
    filled = [u for u in form.getlist("fill") if u in collectives.for_meeting]
    if collectives.open_places and len(filled) != collectives.open_places:
        errors["fill"] = gettext("Choose %(n)s of the tied sub-centres for the places left open.",
                                 n=collectives.open_places)
    decision = rules.Decision(decided_by, decided_on, minutes_ref)
    by_id = {n.id: n for n in y.active}
    choices = {nid: form.get(f"award-{nid}", "") for nid in by_id}
    models = [nid for nid, c in choices.items() if c == "model"]
    individuals = [nid for nid, c in choices.items() if c == "individual"]
    nominations = [rules.Nomination(n.unit, n.id, n.name, n.window, n.reason) for n in y.active]
    try:
        rules.record_window_awards(nominations, models, individuals, decision)
    except AssessmentError as err:
        errors["window_awards"] = rule_errors(err)
    inputs: list[rules.DirectorInput] = []
    for u in y.units:
        director = " ".join(nfc(form.get(f"director-{u.code}", "")).split())
        if director:
            inputs.append(rules.DirectorInput(u.code, director, nfc(form.get(f"results-{u.code}", "").strip()),
                                              nfc(form.get(f"opinion-{u.code}", "").strip())))
    chosen_units = form.getlist("director_chosen")
    chosen = [i.director for i in inputs if i.unit in chosen_units]
    if len(chosen) != len([c for c in chosen_units if c in {u.code for u in y.units}]):
        errors["directors"] = [gettext("Write the name of every director chosen.")]
    try:
        rules.record_director_awards(inputs, chosen, decision)
    except AssessmentError as err:
        errors.setdefault("directors", []).extend(rule_errors(err))
    if errors:
        return _render(y, errors=errors, form="decide", status=400)
    body = {
        "year": y.year, "decided_by": decided_by, "decided_on": decided_on.isoformat(), "minutes_ref": minutes_ref,
        "quarters": y.quarters,
        "standings": [{"unit": s.unit, "name": y.names.get(s.unit, s.unit), "rank_sum": s.rank_sum,
                       "total_sum": s.total_sum, "quarters": s.quarters, "place": s.place}
                      for s in collectives.standings],
        "collectives": {"chosen": list(collectives.chosen), "for_meeting": list(collectives.for_meeting),
                        "open_places": collectives.open_places, "filled": filled,
                        "awarded": [*collectives.chosen, *filled]},
        "nominations": [n.snapshot() for n in y.active],
        "models": models, "individuals": individuals,
        "directors": {"inputs": [{"unit": i.unit, "director": i.director, "year_results": i.year_results,
                                  "department_opinion": i.department_opinion} for i in inputs],
                      "chosen": chosen},
        "staff": staff_name(),
    }
    central_of().sign(records.DECIDED, records.check(records.DECIDED, body))
    flash(gettext("The decision of the director's meeting is recorded."), "success")
    return redirect(url_for("awards.result", year=str(y.year)))


@bp.get("/<year>/result")
@roles_required(*READERS)
def result(year: str) -> Any:
    y = load_year(_year(year))
    if y.decided is None:
        flash(gettext("The awards of %(year)s are not decided yet.", year=y.year), "warning")
        return redirect(url_for("awards.year", year=str(y.year)))
    body = y.decided.body
    nominees = {n["id"]: n for n in body.get("nominations", [])}
    names = {s["unit"]: s["name"] for s in body.get("standings", [])} | y.names
    return render_template("awards/result.html", y=y, body=body, nominees=nominees, names=names, d=y.decision,
                           current=y.decision.current if y.decision else {}, list_names=LIST_NAMES)
