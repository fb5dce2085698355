"""Who may do what to a case, and what each event does to it.

The fold (casework.cases) orders events; this module judges and applies them one at a time. The
same checks serve an app before it signs (`check_event`, `allowed_actions`) and the fold on
whatever arrives, so a village PC and central can never disagree about what was allowed.

The holder rule (DESIGN.md "Who may change a case"): a case has one holder, a place. Only the
holder appends status changes; `forwarded` names the next holder and only that place's
`handover_accepted` makes it the holder. Decisions (accept, refuse, promise, finish, issue a
licence) also need a place of the item's `handle_tier` or above: a village room may take in a
city item for a villager (proxy handling), but only the city decides it.

Events that never change the status commute, so anyone may add them in any order:
- notes and materials (DESIGN.md: anyone);
- evaluations: any place, at any time (a rating can come late from a paper form, GB/T 39734);
- fee assessments: the holder, or central (which computes and collects every fee, 统一扎口收费);
- payments and refunds: central only (the settlement centre, 结算中心).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from casework.calendar import WorkCalendar
from casework.case_events import KINDS, PREFIX, STATUS_KINDS, TIERS, check_body, tier_of
from casework.case_state import (
    CaseState,
    Evaluation,
    FeeAssessment,
    GapCommitment,
    Note,
    Pause,
    Status,
    Step,
)
from casework.messages import N_, RuleError

S = Status
_WORKING = (S.RECEIVED, S.WAITING_SUPPLEMENT, S.ACCEPTED, S.PROMISED, S.PAUSED)

#: The statuses each status-changing kind may follow.
FROM: dict[str, tuple[Status, ...]] = {
    "received": (S.NONE,),
    "supplement_requested": (S.RECEIVED, S.WAITING_SUPPLEMENT),
    "supplemented": (S.WAITING_SUPPLEMENT,),
    "accepted": (S.RECEIVED, S.WAITING_SUPPLEMENT),
    "refused": (S.RECEIVED, S.WAITING_SUPPLEMENT),
    "returned": _WORKING,
    "promised": (S.ACCEPTED,),
    "clock_paused": (S.ACCEPTED, S.PROMISED),
    "clock_resumed": (S.PAUSED,),
    "forwarded": (S.RECEIVED, S.WAITING_SUPPLEMENT, S.ACCEPTED, S.PROMISED, S.FINISHED, S.LICENCE_ISSUED),
    "handover_accepted": (S.FORWARDED,),
    "finished": (S.ACCEPTED, S.PROMISED),
    "licence_issued": (S.FINISHED,),
    "delivered": (S.FINISHED, S.LICENCE_ISSUED),
    "withdrawn": _WORKING,
}
#: Kinds that decide the application: the place must be of the item's handle tier or above.
DECISIONS = frozenset({"accepted", "refused", "promised", "finished", "licence_issued"})

#: The order in which `allowed_actions` lists actions (roughly the order of a case's life).
ACTION_ORDER = (
    "supplement_requested", "supplemented", "accepted", "promised", "clock_paused", "clock_resumed",
    "finished", "licence_issued", "delivered", "forwarded", "handover_accepted", "refused", "returned",
    "withdrawn", "fee_assessed", "fee_paid", "fee_refunded", "material_added", "note_added", "evaluated",
)

MAX_PAUSE_DAYS = 3660

#: Without calendar data: weekends only, and every date it gives is marked provisional.
NO_CALENDAR = WorkCalendar([])


def _fail(code: str, msgid: str, **params: Any) -> RuleError:
    return RuleError(code, msgid, **params)


def _is_central(place: str) -> bool:
    return place == "central" or place.startswith("window:")


# -- who may act ----------------------------------------------------------------------------

def check_holder(state: CaseState, place: str, name: str) -> None:
    """The holder rule alone: a status change by anyone but the holder (a hand-over by anyone
    but the named next holder) is refused, whatever else is true of it."""
    if name == "handover_accepted":
        if state.status is S.FORWARDED and place != state.pending_handover:
            raise _fail("not_next_holder", N_("Only %(next)s may take over this case, not %(place)s."),
                        next=state.pending_handover or "", place=place)
    elif name in STATUS_KINDS and name != "received" and state.holder is not None and place != state.holder:
        raise _fail("not_holder", N_("Only the case's holder %(holder)s may change its status, not %(place)s."),
                    holder=state.holder, place=place)


def check_actor(state: CaseState, place: str, name: str) -> None:
    """Raise RuleError unless `place` may append `case.<name>` to a case in `state` (body unseen)."""
    if name not in KINDS:
        raise _fail("unknown_kind", N_("%(kind)s is not a kind of case event."), kind=name)
    if name != "received" and state.status is S.NONE:
        raise _fail("not_received", N_("The case has not been received."))
    if name in STATUS_KINDS:
        check_holder(state, place, name)
        if state.status not in FROM[name]:
            code = "already_received" if name == "received" else "wrong_status"
            raise _fail(code, N_("%(kind)s cannot follow a case that is %(status)s."),
                        kind=name, status=state.status.value)
        if name in DECISIONS:
            need = state.item.get("handle_tier")
            need = need if need in TIERS else "city"
            if TIERS.index(tier_of(place)) < TIERS.index(need):
                raise _fail("tier_too_low", N_("This item is decided at the %(tier)s level, not by %(place)s."),
                            tier=need, place=place)
        return
    if name == "fee_assessed" and not (place == state.holder or _is_central(place)):
        raise _fail("not_fee_place", N_("Fees are assessed by the case's holder or by the city centre."))
    if name == "fee_assessed" and state.closed:
        raise _fail("case_closed", N_("No new fees are assessed on a case that is %(status)s."),
                    status=state.status.value)
    if name in ("fee_paid", "fee_refunded") and not _is_central(place):
        raise _fail("not_settlement", N_("Fees are paid and refunded only at the settlement centre."))
    if name == "fee_paid" and all(a.paid for a in state.assessments):
        raise _fail("nothing_to_pay", N_("There is no unpaid fee on this case."))
    if name == "fee_refunded" and not any(a.paid_fen > a.refunded_fen for a in state.assessments):
        raise _fail("nothing_to_refund", N_("Nothing has been paid on this case that could be refunded."))


def allowed_actions(state: CaseState, place: str) -> list[str]:
    """The kinds (`case.<name>`) that `place` may offer now, in the order of a case's life.

    Only the holder sees status changes (and only the named next holder the hand-over); anyone
    sees notes, materials and evaluations once the case exists.
    """
    result = []
    for name in ACTION_ORDER:
        try:
            check_actor(state, place, name)
        except RuleError:
            continue
        result.append(PREFIX + name)
    return result


# -- what the body must agree with ----------------------------------------------------------

def _known(state: CaseState, names: tuple[str, ...]) -> None:
    unknown = [n for n in names if not state.material(n)]
    if unknown:
        raise _fail("unknown_material", N_("%(names)s are not materials of this item."), names="、".join(unknown))


def check_against_state(state: CaseState, place: str, name: str, body: Mapping[str, Any],
                        calendar: WorkCalendar | None = None, time: dt.datetime | None = None) -> None:
    """Raise RuleError if the (well-formed) body contradicts the case as it stands.

    `time` is the event's moment (the fold's clamped time, or an app's now): deadlines set by an
    event may not lie before it."""
    if name == "received":
        receive = body["item"].get("receive_tiers")
        if receive is not None and tier_of(place) not in receive:
            raise _fail("not_receivable_here", N_("This item is not taken in at the %(tier)s level."),
                        tier=tier_of(place))
        return
    if time is not None and not time.year < 2001:  # a reset clock (1970) cannot judge deadlines
        deadline = body.get("deadline") if name == "supplement_requested" else (
            (body.get("commitment") or {}).get("deadline") if name == "accepted" and body.get("gap") else None)
        if deadline and dt.date.fromisoformat(deadline) < time.date():
            raise _fail("deadline_past", N_("The deadline %(deadline)s is already past."), deadline=deadline)
    if name == "supplement_requested":
        missing = tuple(body["missing"])
        _known(state, missing)
        if state.supplement_notices:
            new = [n for n in missing if n not in state.supplement_requested]
            if new:
                raise _fail("piecemeal_notice", N_("All missing materials are told at once: %(names)s were "
                                                   "not in the first supplement notice."), names="、".join(new))
        left_out = [n for n in state.materials_missing if n not in missing]
        if left_out:
            raise _fail("incomplete_notice", N_("The supplement notice must list every missing material; "
                                                "%(names)s are missing from it."), names="、".join(left_out))
    elif name == "supplemented":
        _known(state, tuple(body["materials"]))
    elif name == "accepted":
        if state.pre_fee_unpaid:
            raise _fail("pre_fee_unpaid", N_("A pre-fee must be paid before the case is accepted."))
        gap = tuple(body.get("gap") or ())
        _known(state, gap)
        not_allowed = [n for n in gap if not state.material(n).get("gap_allowed", False)]
        if not_allowed:
            raise _fail("gap_not_allowed", N_("%(names)s may not be missing at acceptance."),
                        names="、".join(not_allowed))
        missing = [n for n in state.materials_missing if n not in gap]
        if missing:
            raise _fail("materials_missing", N_("Materials are missing: %(names)s."), names="、".join(missing))
    elif name == "promised":
        due = dt.date.fromisoformat(body["due_date"])
        if state.accepted_time and due < state.accepted_time.date():
            raise _fail("due_before_acceptance", N_("The promised date is before the acceptance."))
        legal = state.item.get("legal_limit_days") or 0
        if calendar is not None and state.accepted_time and legal:
            latest = calendar.add_working_days(state.accepted_time, legal, allow_provisional=True)
            if not latest.provisional and due > latest.date:
                raise _fail("promise_beyond_legal_limit", N_("The promised date %(due)s is after the legal "
                                                             "limit %(limit)s."),
                            due=due.isoformat(), limit=latest.date.isoformat())
    elif name == "finished":
        if body.get("outcome", "granted") == "granted" and state.gap is not None:
            owed = [n for n in state.gap.materials if n not in state.materials_provided]
            if owed:
                raise _fail("gap_not_supplied", N_("The committed materials %(names)s have not been supplied."),
                            names="、".join(owed))
    elif name == "note_added" and body.get("settles"):
        if place != state.holder and not _is_central(place):
            raise _fail("not_settler", N_("Only the case's holder or the city centre may settle a conflict."))
        unknown = [i for i in body["settles"] if i not in {c.event_id for c in state.conflicts}]
        if unknown:
            raise _fail("unknown_conflict", N_("There is no conflict %(ids)s on this case to settle."),
                        ids=", ".join(i[:12] for i in unknown))
    elif name == "forwarded":
        if body["to"] == place:
            raise _fail("forward_to_self", N_("A case cannot be forwarded to the place that holds it."))
    elif name in ("fee_paid", "fee_refunded"):
        assessment = next((a for a in state.assessments if a.event_id == body["assessment"]), None)
        if assessment is None:
            raise _fail("unknown_assessment", N_("There is no such fee assessment on this case."))
        amount = body["amount_fen"]
        if name == "fee_paid":
            if assessment.paid:
                raise _fail("already_paid", N_("This payment notice has already been paid."))
            if amount != assessment.total_fen:
                raise _fail("wrong_amount", N_("The payment notice is for %(total)s fen, not %(amount)s."),
                            total=assessment.total_fen, amount=amount)
        elif amount > assessment.paid_fen - assessment.refunded_fen:
            raise _fail("refund_exceeds_payment", N_("A refund cannot exceed what was paid (%(paid)s fen)."),
                        paid=assessment.paid_fen - assessment.refunded_fen)


def check_event(state: CaseState, place: str, kind: str, body: Any, *,
                calendar: WorkCalendar | None = None, time: dt.datetime | None = None) -> None:
    """Everything the fold will check of a new event, so an app can refuse before signing."""
    name = kind[len(PREFIX):] if kind.startswith(PREFIX) else kind
    check_body(name, body)
    if state.number is not None and body["case"] != state.number:
        raise _fail("wrong_case", N_("The event is for case %(other)s, not %(case)s."),
                    other=str(body["case"])[:40], case=state.number)
    check_actor(state, place, name)
    check_against_state(state, place, name, body, calendar, time)


# -- applying -------------------------------------------------------------------------------

def _day(time: dt.datetime | None) -> dt.date:
    return time.date() if time else dt.date(1970, 1, 1)


def apply(state: CaseState, step: Step, name: str, body: Mapping[str, Any], calendar: WorkCalendar) -> None:
    """Apply one checked event to `state` in place (the fold's working copy)."""
    place, time, event_id = step.place, step.time, step.event.id
    provided = set(state.materials_provided)
    if name in STATUS_KINDS:
        state.last_status_event = event_id
    if name == "received":
        item = dict(body["item"])
        state.number = body["case"]
        state.item = item
        state.applicant = dict(body["applicant"])
        state.proxy = dict(body["proxy"]) if body.get("proxy") else None
        state.card = body.get("card")
        state.status = S.RECEIVED
        state.holder = state.received_at = place
        state.holders = (place,)
        state.received_time = time
        provided.update(body.get("materials") or ())
    elif name == "supplement_requested":
        if not state.supplement_notices:
            state.supplement_requested = tuple(body["missing"])
        # materials named again were found defective: they count as not provided any more
        provided.difference_update(body["missing"])
        state.supplement_notices += 1
        state.status = S.WAITING_SUPPLEMENT
    elif name == "supplemented":
        provided.update(body["materials"])
    elif name == "accepted":
        state.status = S.ACCEPTED
        state.accepted_time, state.accepted_by = time, place
        state.due_date = dt.date.fromisoformat(body["due_date"]) if body.get("due_date") else None
        if body.get("gap"):
            c = body["commitment"]
            state.gap = GapCommitment(tuple(body["gap"]), c["signed_by"], c["text"],
                                      dt.date.fromisoformat(c["deadline"]))
    elif name in ("refused", "returned", "withdrawn"):
        state.status = {"refused": S.REFUSED, "returned": S.RETURNED, "withdrawn": S.WITHDRAWN}[name]
        state.reason = body.get("reason")
        state.closed_time = time
    elif name == "promised":
        state.status = S.PROMISED
        state.due_date = dt.date.fromisoformat(body["due_date"])
    elif name == "clock_paused":
        state.status_before_pause, state.status = state.status, S.PAUSED
        state.paused_since = _day(time)
        state.pauses = (*state.pauses, Pause(body["reason"], _day(time), None, 0))
    elif name == "clock_resumed":
        start = state.paused_since or _day(time)
        end = max(start, _day(time))
        if (end - start).days > MAX_PAUSE_DAYS:  # no hearing lasts ten years: the clocks are wrong
            days, state.clock_doubtful = 0, True
        else:
            days = calendar.working_days_between(start, end, allow_provisional=True)
        last = state.pauses[-1]
        state.pauses = (*state.pauses[:-1], replace(last, end=end, working_days=days))
        state.status = state.status_before_pause or S.ACCEPTED
        state.status_before_pause = state.paused_since = None
    elif name == "forwarded":
        state.status_before_forward, state.status = state.status, S.FORWARDED
        state.pending_handover = body["to"]
    elif name == "handover_accepted":
        state.holder = place
        state.holders = (*state.holders, place)
        state.pending_handover = None
        state.status = state.status_before_forward or S.RECEIVED
        state.status_before_forward = None
    elif name == "finished":
        state.status = S.FINISHED
        state.outcome = body.get("outcome", "granted")
        if state.outcome == "denied":
            state.reason = body.get("reason")
        state.finished_time = time
    elif name == "licence_issued":
        state.status = S.LICENCE_ISSUED
        state.licence = dict(body["licence"])
    elif name == "delivered":
        state.status = S.DELIVERED
        state.delivery = {"method": body["method"], "recipient": body.get("recipient"), "place": place,
                          "time": time.isoformat(timespec="minutes") if time else None}
        state.closed_time = time
    elif name == "evaluated":
        evaluation = Evaluation(event_id, body["level"], body.get("reason"), body.get("channel"),
                                bool(body.get("real_name", False)), place)
        state.evaluations = tuple(sorted((*state.evaluations, evaluation), key=lambda e: e.event_id))
    elif name == "fee_assessed":
        lines = tuple(dict(line) for line in body["lines"])
        state.assessments = (*state.assessments, FeeAssessment(
            event_id, lines, sum(line["amount_fen"] for line in lines),
            sum(line["amount_fen"] for line in lines if line.get("pre_fee")), place=place,
            date=time.date() if time else None))
    elif name in ("fee_paid", "fee_refunded"):
        amount = body["amount_fen"]
        state.assessments = tuple(
            a if a.event_id != body["assessment"]
            else replace(a, paid=True, paid_fen=a.paid_fen + amount) if name == "fee_paid"
            else replace(a, refunded_fen=a.refunded_fen + amount)
            for a in state.assessments
        )
    elif name == "note_added":
        state.notes = (*state.notes, Note(event_id, place, body["text"],
                                          time.isoformat(timespec="minutes") if time else ""))
        settles = set(body.get("settles") or ())
        state.conflicts = tuple(replace(c, settled_by=event_id) if c.event_id in settles and c.settled_by is None
                                else c for c in state.conflicts)
    elif name == "material_added":
        if state.material(body["material"]):
            provided.add(body["material"])
        scan = {"material": body["material"], "sha256": body.get("sha256"), "place": place, "event": event_id}
        state.material_scans = (*state.material_scans, scan)
    state.materials_provided = tuple(sorted(provided))
    if name == "supplemented" and state.status is S.WAITING_SUPPLEMENT and not state.materials_missing:
        state.status = S.RECEIVED


def limit_days(item: Mapping[str, Any]) -> int:
    """The working days a case of this item has: the promised limit, else the legal one."""
    if item.get("kind") == "immediate":
        return int(item.get("promised_limit_days") or 0)
    return int(item.get("promised_limit_days") or item.get("legal_limit_days") or 0)


def settle_due_date(state: CaseState, calendar: WorkCalendar, provisional_calendar: bool) -> None:
    """The due date: the certified one (promise or acceptance) or the limit counted from the
    acceptance, extended by every finished pause (art. 45). An open pause extends it once it ends.

    A date that rests on a doubtful clock (a PC reset to 1970, or set to year 9999) or on years
    the calendar does not know is marked provisional; one that cannot be counted at all is left
    as certified (or None), never guessed and never an exception."""
    if state.accepted_time is None:
        state.due_date = None
        return
    doubtful = state.clock_doubtful or not 2001 <= state.accepted_time.year <= 2200
    try:
        paused = sum(p.working_days for p in state.pauses)
        if state.due_date is not None:
            due = calendar.add_working_days(state.due_date, paused, allow_provisional=True) if paused else None
            if due is not None:
                state.due_date, state.due_provisional = due.date, due.provisional or provisional_calendar
            else:
                state.due_provisional = provisional_calendar or not calendar.knows(state.due_date)
        else:
            ranges = [(p.start + dt.timedelta(days=1), p.end) for p in state.pauses if p.end and p.working_days]
            due = calendar.add_working_days(state.accepted_time, limit_days(state.item), paused=ranges,
                                            allow_provisional=True)
            state.due_date, state.due_provisional = due.date, due.provisional or provisional_calendar
    except (RuleError, OverflowError, ValueError):
        doubtful = True
    state.due_provisional = state.due_provisional or doubtful
    state.clock_doubtful = doubtful
