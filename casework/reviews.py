"""Bad reviews (差评) and what must follow them: call-back, rectification, appeal (GB/T 39734-2020).

A `case.evaluated` of level 1 or 2 is a bad review. The national standard asks that a real-name bad
review be called back (回访) and put right (整改) within a set number of working days, and that the
unit rated may appeal (申诉) a review it thinks unfounded; an upheld appeal takes the review out of
the satisfaction rate. Central keeps that story as records it signs, one per step, each naming the
case and the evaluation (the `case.evaluated` record's id):

- `review.called_back` {case, evaluation, staff, reached: bool, note}: someone phoned the applicant.
  Only for a real-name review (an anonymous one has no one to call). `reached` false records an
  attempt; more calls may follow, also after rectification (telling the applicant what was done).
- `review.rectified` {case, evaluation, measures, staff}: what was changed. Once. A real-name review
  needs at least one call-back first (reached or not: an applicant who never answers cannot block
  the rectification), and a pending appeal must be decided first.
- `review.appealed` {case, evaluation, reason, staff, unit?}: the unit disputes the review. Once per
  review, before rectification. `unit` names the place appealed for when a supervisor records a
  node's appeal (nodes have no page at central).
- `review.appeal_decided` {case, evaluation, upheld: bool, reason, staff}: only on a pending appeal.
  Upheld: the review is closed and no longer counts. Rejected: the workflow goes on where it was.

This module is the rules only (pure, like the rest of casework): what a body must hold
(`check_body`), which step may follow which (`apply`, `allowed`), and the status people see. Who may
sign which step (roles, windows) is central's business; the due date is computed by central from its
working-day calendar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from casework.messages import N_, RuleError

CALLED_BACK = "review.called_back"
RECTIFIED = "review.rectified"
APPEALED = "review.appealed"
APPEAL_DECIDED = "review.appeal_decided"
KINDS = (CALLED_BACK, RECTIFIED, APPEALED, APPEAL_DECIDED)

BAD_LEVELS = (1, 2)
SATISFIED_LEVELS = (4, 5)
DEFAULT_RECTIFY_DAYS = 5
TARGET_PCT = 95
"""The satisfaction target (DOMAIN.md: >= 95 %): a unit below it is highlighted, and the quarterly
assessment proposes a deduction (casework.assessment)."""

#: Statuses of a bad review, in the order a list shows open ones first.
STATUSES = ("awaiting_callback", "called_back", "awaiting_rectification", "appealed", "rectified", "upheld")
STATUS_MSGIDS = {
    "awaiting_callback": N_("Awaiting call-back"),
    "called_back": N_("Called back, awaiting rectification"),
    "awaiting_rectification": N_("Awaiting rectification"),
    "appealed": N_("Appealed, awaiting decision"),
    "rectified": N_("Rectified"),
    "upheld": N_("Appeal upheld"),
}
FINAL = frozenset({"rectified", "upheld"})
APPEAL_STATES = ("", "pending", "upheld", "rejected")
_LIMITS = {"note": 1000, "measures": 2000, "reason": 1000, "staff": 64, "unit": 64, "case": 64}


def is_bad(level: int) -> bool:
    return level in BAD_LEVELS


def is_satisfied(level: int) -> bool:
    return level in SATISFIED_LEVELS


def satisfaction_pct(satisfied: int, counted: int) -> float | None:
    """Satisfied ratings as a share of the ratings that count, to one decimal; None with no ratings."""
    return round(100 * satisfied / counted, 1) if counted > 0 else None


@dataclass(frozen=True)
class Review:
    """Where one bad review stands. `appeal` is '' (none), pending, upheld or rejected."""

    real_name: bool
    callbacks: int = 0
    reached: bool = False
    rectified_on: dt.date | None = None
    appeal: str = ""
    appealed_by: str = ""

    @property
    def status(self) -> str:
        if self.appeal == "upheld":
            return "upheld"
        if self.appeal == "pending":
            return "appealed"
        if self.rectified_on is not None:
            return "rectified"
        if self.reached:
            return "called_back"
        return "awaiting_callback" if self.real_name else "awaiting_rectification"

    @property
    def final(self) -> bool:
        return self.status in FINAL

    @property
    def counts(self) -> bool:
        """False once an appeal is upheld: the review no longer counts against satisfaction."""
        return self.appeal != "upheld"

    def overdue(self, due: dt.date | None, today: dt.date) -> bool:
        """Still open after its due date (a pending appeal does not stop the clock)."""
        return due is not None and not self.final and today > due

    def late(self, due: dt.date | None, today: dt.date) -> bool:
        """Not put right by its due date: open past it, or rectified after it; never once upheld.
        What the quarterly assessment deducts for."""
        if due is None or not self.counts:
            return False
        if self.rectified_on is not None:
            return self.rectified_on > due
        return today > due


def _fail(code: str, msgid: str, **params: Any) -> RuleError:
    return RuleError(code, msgid, **params)


def _text(body: Mapping[str, Any], name: str, *, required: bool) -> None:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _fail("review.malformed", N_("The field %(field)s is required."), field=name)
        return
    if not isinstance(value, str) or len(value) > _LIMITS.get(name, 200):
        raise _fail("review.malformed", N_("The field %(field)s must be text of at most %(limit)s characters."),
                    field=name, limit=_LIMITS.get(name, 200))


def check_body(kind: str, body: Any) -> None:
    """Raise RuleError unless `body` is a well-formed body of review record `kind`."""
    if kind not in KINDS:
        raise _fail("review.unknown_kind", N_("%(kind)s is not a kind of review record."), kind=str(kind)[:40])
    if not isinstance(body, Mapping):
        raise _fail("review.malformed", N_("A review record's body must be a table of fields."))
    for name in ("case", "staff"):
        _text(body, name, required=True)
    evaluation = body.get("evaluation")
    if not isinstance(evaluation, str) or len(evaluation) != 64 or any(c not in "0123456789abcdef" for c in evaluation):
        raise _fail("review.malformed", N_("The field %(field)s must name a record by its id."), field="evaluation")
    if kind == CALLED_BACK:
        if not isinstance(body.get("reached"), bool):
            raise _fail("review.malformed", N_("The field %(field)s must be true or false."), field="reached")
        _text(body, "note", required=False)
    elif kind == RECTIFIED:
        _text(body, "measures", required=True)
    elif kind == APPEALED:
        _text(body, "reason", required=True)
        _text(body, "unit", required=False)
    elif kind == APPEAL_DECIDED:
        if not isinstance(body.get("upheld"), bool):
            raise _fail("review.malformed", N_("The field %(field)s must be true or false."), field="upheld")
        _text(body, "reason", required=True)


def apply(review: Review, kind: str, body: Mapping[str, Any], *, day: dt.date) -> Review:
    """The review after step `kind` (signed on `day`); RuleError if that step may not follow now.
    Central checks with it before signing, and its projection skips a record it refuses."""
    check_body(kind, body)
    if review.appeal == "upheld":
        raise _fail("review.closed", N_("The appeal against this review was upheld; it is closed."))
    if kind == CALLED_BACK:
        if not review.real_name:
            raise _fail("review.anonymous", N_("An anonymous review cannot be called back."))
        return replace(review, callbacks=review.callbacks + 1, reached=review.reached or body["reached"])
    if kind == RECTIFIED:
        if review.rectified_on is not None:
            raise _fail("review.already_rectified", N_("The rectification of this review is already recorded."))
        if review.appeal == "pending":
            raise _fail("review.appeal_pending", N_("The appeal must be decided before the rectification."))
        if review.real_name and review.callbacks == 0:
            raise _fail("review.call_first", N_("Call the applicant back before recording the rectification."))
        return replace(review, rectified_on=day)
    if kind == APPEALED:
        if review.appeal:
            raise _fail("review.appealed_once", N_("A review can be appealed only once."))
        if review.rectified_on is not None:
            raise _fail("review.rectified", N_("A rectified review can no longer be appealed."))
        return replace(review, appeal="pending", appealed_by=str(body["staff"]))
    # APPEAL_DECIDED
    if review.appeal != "pending":
        raise _fail("review.no_appeal", N_("There is no appeal waiting for a decision."))
    if body["staff"] == review.appealed_by:
        raise _fail("review.same_person", N_("The appeal must be decided by someone other than who recorded it."))
    return replace(review, appeal="upheld" if body["upheld"] else "rejected")


def allowed(review: Review) -> list[str]:
    """The kinds that may follow now (who may sign them is the app's business)."""
    probe = {"case": "x", "staff": "\x00", "evaluation": "0" * 64, "reached": True, "note": None,
             "measures": "x", "reason": "x", "upheld": True}
    result = []
    for kind in KINDS:
        try:
            apply(review, kind, probe, day=dt.date(2000, 1, 1))
        except RuleError:
            continue
        result.append(kind)
    return result
