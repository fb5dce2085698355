"""Properties of the fold that no list of examples can show: order never matters, nothing crashes,
and the events the rules call commutative really commute."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework.calendar import WorkCalendar
from casework.case_events import KINDS
from casework.cases import Event, fold

CASE = "320682-20260302-0001"
ITEM = {
    "code": "JS-001", "name": "建设工程规划许可证核发", "kind": "promised", "handle_tier": "town",
    "promised_limit_days": 10, "legal_limit_days": 20,
    "materials": [{"name": "申请表", "required": True}, {"name": "土地证明", "required": True},
                  {"name": "设计方案", "required": True, "gap_allowed": True}],
}
RECEIVED = {"case": CASE, "after": [], "item": ITEM, "materials": ["申请表", "土地证明"],
            "applicant": {"type": "person", "name": "王秀英"}}
ORIGINS = ["V101001", "T0101", "C", "S01"]
WINDOWS = [None, "W12", "JS01"]
PLACES = ["node:V101001", "node:T0101", "window:W12", "window:W03"]
MATERIALS = ["申请表", "土地证明", "设计方案", "其他"]
STRANGE_TIMES = ["0001-01-01T00:00:00", "9999-12-31T23:59:59", "1970-01-01T08:00:00", "2026-03-02T01:00:00Z",
                 "2031-02-30T10:00:00", "", "yesterday"]
CALENDAR = WorkCalendar.packaged()
# every kind, with the steps that move a case forward more often than those that end it
WEIGHTED_KINDS = [*sorted(KINDS), *["accepted"] * 4, *["promised", "clock_paused", "clock_resumed", "finished",
                                                       "handover_accepted", "material_added"] * 2]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def make(origin: str, seq: int, kind: str, body: Any, time: str = "2026-03-02T10:00:00") -> Event:
    raw = json.dumps([origin, seq, kind, body, time], sort_keys=True, default=repr, ensure_ascii=False)
    return Event(hashlib.sha256(raw.encode()).hexdigest(), origin, seq, kind, body, time)


def plausible_body(draw: Any, kind: str, after: list[str], window: str | None,
                   conflicts: tuple[str, ...] = ()) -> dict[str, Any]:
    """A body that is often valid and sometimes not, so every rule gets exercised."""
    body: dict[str, Any] = {"case": CASE, "after": after}
    if window:
        body["window"] = window
    pick = draw(st.sampled_from(MATERIALS))
    fields = {
        "supplement_requested": {"missing": [pick, "设计方案"]},
        "supplemented": {"materials": [pick]},
        "accepted": draw(st.sampled_from([{}, {"gap": ["设计方案"], "due_date": "2026-03-16", "commitment": {
            "signed_by": "王", "text": "后补", "deadline": "2026-03-10"}}])),
        "refused": {"reason": "不符合条件"}, "returned": {"reason": "退件"}, "withdrawn": {},
        "promised": {"due_date": draw(st.sampled_from(["2026-03-16", "2026-05-30"]))},
        "clock_paused": {"reason": "hearing"}, "clock_resumed": {},
        "forwarded": {"to": draw(st.sampled_from(PLACES))}, "handover_accepted": {},
        "finished": {}, "licence_issued": {"licence": {"number": "L-1"}},
        "delivered": {"method": "on_the_spot"},
        "evaluated": {"level": draw(st.integers(0, 6)), "reason": draw(st.sampled_from([None, "慢"]))},
        "fee_assessed": {"lines": [{"fee": "F1", "name": "费", "amount_fen": draw(st.integers(0, 500)),
                                    "pre_fee": draw(st.booleans())}]},
        "fee_paid": {"assessment": draw(st.sampled_from(after or ["ab"])), "amount_fen": draw(st.integers(0, 500))},
        "fee_refunded": {"assessment": draw(st.sampled_from(after or ["ab"])), "amount_fen": 100, "reason": "退"},
        "note_added": {"text": "备注", "settles": draw(st.sampled_from([None, list(conflicts[:1]) or None]))},
        "material_added": {"material": pick},
    }.get(kind, {})
    body.update({k: v for k, v in fields.items() if v is not None})
    return body


garbage = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.floats(allow_nan=True),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)


def _with_ancestors(picked: list[Event], events: list[Event]) -> list[Event]:
    """What a place holds: some events and everything they had seen (sync delivers in order)."""
    by_id = {e.id: e for e in events}
    todo, seen = list(picked), {e.id: e for e in picked}
    while todo:
        body = todo.pop().body
        for parent in body.get("after") or () if isinstance(body, dict) and isinstance(body.get("after"), list) else ():
            if isinstance(parent, str) and parent in by_id and parent not in seen:
                seen[parent] = by_id[parent]
                todo.append(by_id[parent])
    return list(seen.values())


@st.composite
def histories(draw: Any, *, with_garbage: bool = False) -> list[Event]:
    """Several places acting on partial views of the same case, as an unreliable network allows."""
    first = draw(st.sampled_from(["V101001", "T0101"]))
    tier = draw(st.sampled_from(["village", "town"]))  # a village may decide the item itself, or not
    events = [make(first, 1, "case.received", {**RECEIVED, "item": {**ITEM, "handle_tier": tier}})]
    seqs = {first: 1}
    for _ in range(draw(st.integers(1, 12))):
        origin = draw(st.sampled_from(ORIGINS))
        if with_garbage and draw(st.integers(0, 4)) == 0:
            seqs[origin] = seqs.get(origin, 0) + 1
            kind = draw(st.sampled_from(["case.accepted", "case.x", "nonsense", *sorted("case." + k for k in KINDS)]))
            body = draw(garbage | st.fixed_dictionaries({"case": st.just(CASE), "after": garbage}))
            events.append(make(origin, seqs[origin], kind, body, draw(st.sampled_from(["", "1970-01-01T00:00:00",
                                                                                         "garbage"]))))
            continue
        picked = draw(st.lists(st.sampled_from(events), unique_by=lambda e: e.id, min_size=1))
        view = fold(_with_ancestors(picked, events))
        kind = draw(st.sampled_from(WEIGHTED_KINDS))
        # most of the time a place that may act does (the holder, or the named next holder)
        actor = view.pending_handover if kind == "handover_accepted" else view.holder
        if actor and draw(st.integers(0, 3)):
            origin = "C" if actor.startswith("window:") else actor.split(":", 1)[1]
        seqs[origin] = seqs.get(origin, 0) + 1
        if origin == "C":
            window = actor.split(":", 1)[1] if actor and actor.startswith("window:") else draw(st.sampled_from(WINDOWS))
        else:
            window = None
        body = plausible_body(draw, kind, list(view.heads), window, tuple(c.event_id for c in view.conflicts))
        day, hour = draw(st.integers(2, 27)), draw(st.integers(8, 18))
        time = f"2026-03-{day:02d}T{hour:02d}:00:00" if not with_garbage else draw(st.sampled_from(
            [f"2026-03-{day:02d}T{hour:02d}:00:00", *STRANGE_TIMES]))
        events.append(make(origin, seqs[origin], "case." + kind, body, time))
    return events


@SETTINGS
@given(histories(), st.randoms(use_true_random=False))
def test_any_arrival_order_gives_the_same_state(events: list[Event], random: Any) -> None:
    expected = fold(events)
    shuffled = list(events)
    random.shuffle(shuffled)
    assert fold(shuffled) == expected
    assert fold(shuffled + shuffled[: len(shuffled) // 2]) == expected  # resends change nothing
    assert "unreadable_event" not in [c.code for c in expected.conflicts]
    # central's copies carry its receipt stamp; mixing them with a node's copies changes nothing
    stamped = [replace(e, received_time="2026-03-28T09:00:00") for e in shuffled[::2]]
    assert fold(stamped + shuffled) == fold(shuffled + stamped) == fold(shuffled + stamped + shuffled)
    # a node that holds only some of the events: the same for it whatever the order, too
    part = shuffled[: random.randint(1, len(shuffled))]
    assert fold(part) == fold(list(reversed(part)))


@SETTINGS
@given(histories(with_garbage=True), st.randoms(use_true_random=False))
def test_garbage_never_raises_and_every_event_is_accounted_for(events: list[Event], random: Any) -> None:
    state = fold(events, calendar=CALENDAR)
    shuffled = list(events)
    random.shuffle(shuffled)
    assert fold(shuffled, calendar=CALENDAR) == state
    assert fold(shuffled) == fold(events)
    accounted = ([s.event.id for s in state.timeline] + [c.event_id for c in state.conflicts]
                 + [p.event_id for p in state.pending])
    assert sorted(accounted) == sorted({e.id for e in events})  # nothing silently dropped
    assert "unreadable_event" not in [c.code for c in state.conflicts]


@SETTINGS
@given(
    st.lists(
        st.tuples(st.sampled_from(ORIGINS), st.sampled_from(["note", "material", "evaluation"]),
                  st.sampled_from(MATERIALS), st.integers(1, 5)),
        min_size=1, max_size=6,
    ),
    st.randoms(use_true_random=False),
)
def test_notes_materials_and_evaluations_commute(ops: list[tuple[str, str, str, int]], random: Any) -> None:
    """The same additions made in two different causal orders (each author had seen the previous
    ones, in a different sequence) give the same case."""
    base = [make("V101001", 1, "case.received", RECEIVED)]
    base.append(make("V101001", 2, "case.forwarded", {"case": CASE, "after": [base[0].id], "to": "node:T0101"}))

    def build(order: list[int]) -> Any:
        events = list(base)
        for n, index in enumerate(order):
            origin, what, material, level = ops[index]
            body: dict[str, Any] = {"case": CASE, "after": [events[-1].id]}
            if origin == "C":
                body["window"] = "W12"
            if what == "note":
                kind, body["text"] = "case.note_added", f"备注{index}"
            elif what == "material":
                kind, body["material"] = "case.material_added", material
            else:
                kind, body["level"], body["reason"] = "case.evaluated", level, "原因"
            # the same event content whatever the order, except where it is placed
            events.append(make(origin, 100 + index, kind, body, f"2026-03-0{2 + n % 7}T10:00:00"))
        return fold(events)

    order = list(range(len(ops)))
    other = list(order)
    random.shuffle(other)
    a, b = build(order), build(other)
    assert a.conflicts == b.conflicts == ()
    for name in ("status", "holder", "pending_handover", "materials_provided", "materials_missing"):
        assert getattr(a, name) == getattr(b, name), name
    assert sorted(n.text for n in a.notes) == sorted(n.text for n in b.notes)
    assert sorted((e.level, e.place) for e in a.evaluations) == sorted((e.level, e.place) for e in b.evaluations)
    assert a.bad_review == b.bad_review
