"""The case lifecycle as a fold of signed events into state.

A case is the set of its `case.*` records (casework.case_events documents every kind's body).
`fold(events)` turns that set into a `CaseState`; the rules of who may do what are in
casework.case_rules. This module answers one hard question: in what order to apply events that
come from many places, over unreliable links, with clocks nobody can trust.

Why not by time: a village PC's clock may say 1970, and two places' clocks never agree. Why not by
arrival: a village that syncs once a week delivers its records late, and every node receives the
same records in a different order; the state must still come out the same everywhere.

So every event says what its author had seen: `body["after"]` lists the heads of the author's
view (`CaseState.heads`). That makes the events a causal DAG, rooted at `case.received`, and:
- the fold orders the DAG topologically, breaking ties by event id (Kahn's algorithm with the
  smallest ready id first). The order is a function of the SET of events, so any arrival order,
  on any node, gives the same state; resending an event (same id) changes nothing.
- a status change is applied only if its author had seen the latest applied status change (it is
  among the event's ancestors). Otherwise two places changed the status without knowing of each
  other (two PCs of one village room, a restored backup, a hand-over racing a local change): the
  one ordered later is a `concurrent_change` conflict. Notes, materials, evaluations and fees do
  not change the status and commute, so they are never concurrency conflicts.
- an event whose `after` names an event not (yet) in the set is `pending`: held, shown, not
  applied, and applied by a later fold once the missing event arrives. So is everything after it.
- an event that breaks a rule (not the holder, a wrong status, a malformed body, a refusal
  without reason...) is a `conflict`: kept with its rule code and an English msgid for people,
  and not applied. Nothing is dropped silently and nothing raises: a fold of garbage is a state
  full of conflicts. A person settles one with a note (`settles`), which marks it settled and
  still does not apply it: the holder re-does what should be done, as a new event.

Times: the origin's clock is information only; the fold uses it for dates (acceptance, pauses)
but never for order, and clamps it so that an event is never earlier than what its author had
seen nor later than central received it (`received_time`). A clamped time is flagged on the
timeline (`Step.clock_corrected`) for a person to see.
"""

from __future__ import annotations

import datetime as dt
import heapq
import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from casework.calendar import WorkCalendar
from casework.case_events import (
    KINDS,
    PREFIX,
    STATUS_KINDS,
    Event,
    check_body,
    item_snapshot,
    kind_name,
    new_event_body,
    parents,
    place_of,
)
from casework.case_rules import (
    NO_CALENDAR,
    allowed_actions,
    apply,
    check_actor,
    check_against_state,
    check_event,
    check_holder,
    settle_due_date,
)
from casework.case_state import CLOSED, CaseState, Conflict, Pending, Status, Step
from casework.messages import N_, RuleError

__all__ = [
    "CLOSED", "KINDS", "STATUS_KINDS", "CaseState", "Conflict", "Event", "Pending", "Status", "Step",
    "allowed_actions", "check_event", "fold", "item_snapshot", "new_event_body", "place_of",
]

CHINA = dt.timezone(dt.timedelta(hours=8))


def _parse_time(value: Any) -> dt.datetime | None:
    """An ISO time as naive China local time (the time the centre's rules are written in)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(CHINA).replace(tzinfo=None)
    return parsed


def _identity(event: Event) -> str:
    """A deterministic text of everything the author signed, to choose between two that share an
    id. Central's receipt stamp is not part of it: a node's copy may lack it."""
    return json.dumps([event.origin, event.seq, event.kind, event.body, event.origin_time],
                      sort_keys=True, default=repr, ensure_ascii=False)


def _stamped(a: Event, b: Event) -> Event:
    """One copy of an event known twice, keeping central's receipt stamp if either copy has it."""
    stamps = sorted(t for t in (a.received_time, b.received_time) if isinstance(t, str))
    return replace(a, received_time=stamps[0] if stamps else a.received_time)


def _conflict(event: Any, err: RuleError) -> Conflict:
    return Conflict(
        event_id=str(getattr(event, "id", "?"))[:128], kind=str(getattr(event, "kind", "?"))[:80],
        origin=str(getattr(event, "origin", "?"))[:40], code=err.code, msgid=err.msgid, params=dict(err.params),
    )


def _unique(events: Iterable[Any], conflicts: list[Conflict]) -> dict[str, Event]:
    """One event per id. Real ids are hashes of the record, so the same id twice is a resend and
    harmless; two different events claiming one id cannot both be the record: the one with the
    smaller identity text is kept (deterministic) and the other shown as a conflict."""
    by_id: dict[str, Event] = {}
    rejected: list[Event] = []
    for event in events:
        if not isinstance(event, Event) or not isinstance(event.id, str) or not event.id:
            conflicts.append(_conflict(event, RuleError("malformed_event", N_("This is not a readable case event."))))
            continue
        other = by_id.get(event.id)
        if other is None or other == event:
            by_id[event.id] = event
            continue
        if _identity(other) == _identity(event):
            by_id[event.id] = _stamped(other, event)
            continue
        keep, drop = sorted((other, event), key=_identity)
        by_id[event.id] = keep
        rejected.append(drop)
    seen = set()
    for drop in sorted(rejected, key=_identity):
        if _identity(drop) not in seen:
            seen.add(_identity(drop))
            conflicts.append(_conflict(drop, RuleError(
                "duplicate_id", N_("Two different events carry the same id; one of them is not genuine."))))
    return by_id


def _parents_of(event: Event) -> tuple[str, ...]:
    try:
        return parents(event.body) if isinstance(event.body, Mapping) else ()
    except RuleError:
        return ()  # applied as a root and refused there as malformed


def fold(events: Iterable[Event], *, calendar: WorkCalendar | None = None, catalogue: Any = None) -> CaseState:
    """The state of one case from the set of its events, in any order, duplicates allowed.

    `calendar` (casework.calendar.WorkCalendar) counts the due date in working days; without one
    (or beyond the years it knows) the count assumes weekends only and `due_provisional` is set.
    `catalogue` is accepted for the contract's signature and not needed: every case carries the
    snapshot of its item from the day it was received.
    """
    del catalogue
    conflicts: list[Conflict] = []
    by_id = _unique(events, conflicts)
    links = {eid: _parents_of(e) for eid, e in by_id.items()}

    # Held back: events waiting for an event not in the set, and everything after them.
    followers: dict[str, list[str]] = {}
    for eid, ps in links.items():
        for p in ps:
            followers.setdefault(p, []).append(eid)
    todo = [eid for eid, ps in links.items() if any(p not in by_id for p in ps)]
    held = set(todo)
    while todo:
        for child in followers.get(todo.pop(), ()):
            if child not in held:
                held.add(child)
                todo.append(child)
    waiting = {eid: tuple(p for p in links[eid] if p not in by_id or p in held) for eid in held}

    # Kahn's algorithm, smallest id first: a total order that depends only on the set.
    ready_links = {eid: ps for eid, ps in links.items() if eid not in waiting}
    children: dict[str, list[str]] = {eid: [] for eid in ready_links}
    indegree = {eid: len(ps) for eid, ps in ready_links.items()}
    for eid, ps in ready_links.items():
        for p in ps:
            children[p].append(eid)
    heap = [eid for eid, n in indegree.items() if n == 0]
    heapq.heapify(heap)
    order: list[str] = []
    while heap:
        eid = heapq.heappop(heap)
        order.append(eid)
        for child in children[eid]:
            indegree[child] -= 1
            if indegree[child] == 0:
                heapq.heappush(heap, child)
    for eid in sorted(set(ready_links) - set(order)):
        conflicts.append(_conflict(by_id[eid], RuleError(
            "causal_cycle", N_("The event's earlier events refer back to it; its order cannot be known."))))

    real_calendar = calendar is not None
    cal = calendar if calendar is not None else NO_CALENDAR
    state = CaseState(conflicts=tuple(conflicts))  # kept on the state as they come: notes settle them
    position: dict[str, int] = {}
    ancestors: dict[str, int] = {}  # bitsets over positions: who each event had seen
    times: dict[str, dt.datetime | None] = {}
    timeline: list[Step] = []
    for index, eid in enumerate(order):
        event = by_id[eid]
        position[eid] = index
        seen = 0
        for p in ready_links[eid]:
            seen |= ancestors[p] | (1 << position[p])
        ancestors[eid] = seen
        step = _step(event, ready_links[eid], times)
        times[eid] = step.time
        try:
            _judge(state, event, step, seen, position, cal)
        except RuleError as err:
            state.conflicts = (*state.conflicts, _conflict(event, err))
            continue
        except Exception as exc:  # a rule bug must not stop the other events: shown, not hidden
            state.conflicts = (*state.conflicts, _conflict(event, RuleError(
                "unreadable_event", N_("The event could not be read (%(error)s)."), error=type(exc).__name__)))
            continue
        timeline.append(step)

    settle_due_date(state, cal, not real_calendar)
    pointed_at = {p for eid in order for p in ready_links[eid]}
    state.heads = tuple(sorted(eid for eid in order if eid not in pointed_at))
    state.timeline = tuple(timeline)
    state.pending = tuple(
        Pending(eid, str(by_id[eid].kind)[:80], str(by_id[eid].origin)[:40], blockers)
        for eid, blockers in sorted(waiting.items())
    )
    return state


def _step(event: Event, ps: tuple[str, ...], times: Mapping[str, dt.datetime | None]) -> Step:
    """The event with its acting place and a time no earlier than what it had seen."""
    try:
        place = place_of(event.origin, event.body)
    except RuleError:
        place = "?"
    own = _parse_time(event.origin_time)
    floor = max((t for p in ps if (t := times.get(p)) is not None), default=None)
    ceiling = _parse_time(event.received_time)
    time = own
    if time is None or (floor is not None and time < floor):
        time = floor
    if ceiling is not None and (time is None or time > ceiling):
        time = ceiling if floor is None or ceiling >= floor else floor
    return Step(event, place, time, clock_corrected=time != own)


def _judge(state: CaseState, event: Event, step: Step, seen: int, position: Mapping[str, int],
           calendar: WorkCalendar) -> None:
    """Check one event against the state it follows and apply it, or raise RuleError."""
    if not isinstance(event.kind, str) or not event.kind.startswith(PREFIX):
        raise RuleError("unknown_kind", N_("%(kind)s is not a kind of case event."), kind=str(event.kind)[:60])
    name = kind_name(event.kind)
    body = check_body(name, event.body)
    place = place_of(event.origin, body)
    if state.number is not None and body["case"] != state.number:
        raise RuleError("wrong_case", N_("The event is for case %(other)s, not %(case)s."),
                        other=str(body["case"])[:40], case=state.number)
    # who acts is judged before when: a non-holder is refused as such, however the race fell out
    check_holder(state, place, name)
    last = state.last_status_event
    if name in STATUS_KINDS and name != "received" and last is not None and not (seen >> position[last]) & 1:
        raise RuleError("concurrent_change", N_("The status was changed without knowing of an earlier change "
                                                "(%(other)s) made elsewhere."), other=last[:12])
    check_actor(state, place, name)
    check_against_state(state, place, name, body, calendar, step.time)
    apply(state, step, name, body, calendar)
