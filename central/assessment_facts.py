"""What the records say about one sub-centre's quarter: the `facts` behind the system's proposals.

"Rules into the machine, the machine manages people": the assessment does not wait for an
inspector to notice a late case or a fee taken at the counter; the records already say so. This
module reads them (through central.assessment_store and the cases projection) into
`casework.assessment.SystemFacts`, with the detail a supervisor needs to check each ref before
confirming it (casework refuses unconfirmed proposals). The definitions, unit U, quarter Q:

- overdue cases (clause H01): cases received at U and still held by U (a case handed to a city
  window and late there is the window's, not U's), whose due date fell in Q and had passed by
  today, and that were finished after it or are still open. Each late case counts once, in the
  quarter its promised date was missed.
- fee irregularities (clause H02), one ref per case, from fee events in Q:
  * a `case.fee_paid` / `case.fee_refunded` record signed by U itself: money taken or paid back
    at the counter, outside the settlement centre (unified fee collection, 统一扎口收费);
  * a `case.fee_assessed` signed by U with a line the item does not list (an unauthorised fee)
    or an amount other than its fee standard gives for the line's own quantity, base and exemption
    (not lower-bound charging). Checked against every catalogue version central has published, so
    a standard revised since is not held against U;
  * a `case.fee_refunded` by the settlement centre on a case received at U (a fee assessed or
    taken wrongly: its reason is shown, the supervisor judges);
  * a `supervision.card` for an unauthorised fee (reason `unauthorised_fee`) on a case of U.
- satisfaction (clause E01): ratings of the cases received at U and finished in Q, level 4-5
  satisfied (the monthly report's definition), a case whose bad review was upheld on appeal not
  counted (central.reviews_store.upheld_cases); below 95 % proposes the deduction.
- late monthly reports (clause K03): `central.report_submissions.late_or_missing`.
- unrectified bad reviews (clause E02): `central.reviews_store.unrectified`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlite_utils import Database

from casework.assessment import SystemFacts
from casework.calendar import WorkCalendar
from casework.catalogue import Catalogue
from casework.messages import RuleError
from central import assessment_store
from central.quarters import Quarter
from central.report_submissions import late_or_missing
from central.reviews_store import unrectified as unrectified_reviews
from central.reviews_store import upheld_cases
from store.cases import get_case_state
from store.catalogue import catalogue_history, catalogue_version


@dataclass(frozen=True)
class FeeCase:
    number: str
    reasons: tuple[str, ...]  # assessment_store.FEE_MARKS keys, plus unlisted_fee | not_standard
    details: tuple[str, ...] = ()  # fee codes, refund reasons, as recorded


@dataclass(frozen=True)
class UnitFacts:
    """The facts of one unit's quarter, with what each ref rests on."""

    unit: str
    quarter: str
    overdue: tuple[assessment_store.OverdueCase, ...] = ()
    fees: tuple[FeeCase, ...] = ()
    late_months: tuple[str, ...] = ()
    unrectified: tuple[str, ...] = ()
    satisfied: int = 0
    rated: int = 0
    low_rated: tuple[tuple[str, int], ...] = ()

    def system(self) -> SystemFacts:
        return SystemFacts(
            overdue_cases=tuple(c.number for c in self.overdue), fee_irregularities=tuple(f.number for f in self.fees),
            late_monthly_reports=self.late_months, satisfied=self.satisfied, rated=self.rated,
            unrectified_bad_reviews=self.unrectified)


def _catalogues(db: Database) -> list[Catalogue]:
    found = []
    for version in catalogue_history(db):
        catalogue = catalogue_version(db, version.version)
        if catalogue is not None:
            found.append(catalogue)
    return found


def _line_problems(line: object, listed: set[str], catalogues: list[Catalogue]) -> tuple[str, str] | None:
    """(reason, fee code) when a payment-notice line is not what the standards allow, else None."""
    if not isinstance(line, dict) or not isinstance(line.get("fee"), str):
        return "not_standard", "?"
    code = line["fee"]
    if code not in listed:
        return "unlisted_fee", code
    for catalogue in catalogues:
        try:
            standard = catalogue.fee(code)
            if standard.assess(int(line.get("quantity") or 1), int(line.get("base_fen") or 0),
                               line.get("exemption") or None) == line.get("amount_fen"):
                return None
        except (KeyError, RuleError, TypeError, ValueError):
            continue
    return "not_standard", code


def fee_cases(db: Database, unit: str, quarter: Quarter) -> list[FeeCase]:
    """The cases of `unit` with a fee irregularity in `quarter` (see the module docstring)."""
    reasons: dict[str, list[str]] = {}
    details: dict[str, list[str]] = {}
    catalogues: list[Catalogue] | None = None
    for mark in assessment_store.fee_marks(db, unit, quarter.first.isoformat(), quarter.last.isoformat()):
        found: list[tuple[str, str]] = []
        if mark.kind == "assessed_at_node":
            if catalogues is None:
                catalogues = _catalogues(db)
            state = get_case_state(db, mark.case)
            listed = {str(c) for c in (state.item.get("fees") or [])} if state is not None else set()
            for line in mark.detail.get("lines") or []:
                problem = _line_problems(line, listed, catalogues)
                if problem:
                    found.append(problem)
        elif mark.kind == "refunded":
            found.append(("refunded", str(mark.detail.get("reason", ""))))
        else:
            found.append((mark.kind, ""))
        for reason, detail in found:
            reasons.setdefault(mark.case, [])
            if reason not in reasons[mark.case]:
                reasons[mark.case].append(reason)
            if detail and detail not in details.setdefault(mark.case, []):
                details[mark.case].append(detail)
    return [FeeCase(n, tuple(r), tuple(details.get(n, []))) for n, r in sorted(reasons.items())]


def facts(db: Database, unit: str, quarter: Quarter, *, today: dt.date, calendar: WorkCalendar) -> UnitFacts:
    """Everything the system can say about `unit` in `quarter`, as of `today`."""
    first, last = quarter.first, quarter.last
    satisfied, rated, low = assessment_store.ratings(db, unit, first.isoformat(), last.isoformat(),
                                                    unfounded=lambda cases: upheld_cases(db, cases))
    late_months = late_or_missing(db, unit, first, last, today=today, calendar=calendar)
    unrectified = unrectified_reviews(db, unit, first, last, today=today)
    return UnitFacts(
        unit=unit, quarter=quarter.text,
        overdue=tuple(assessment_store.overdue_cases(db, unit, first.isoformat(), last.isoformat(),
                                                     today.isoformat())),
        fees=tuple(fee_cases(db, unit, quarter)), late_months=tuple(sorted(late_months)),
        unrectified=tuple(sorted(unrectified)), satisfied=satisfied, rated=rated, low_rated=tuple(low))
