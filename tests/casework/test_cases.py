"""The case lifecycle: realistic sequences folded into state, and the conflicts the rules produce."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import pytest

from casework.calendar import WorkCalendar
from casework.cases import Event, Status, allowed_actions, check_event, fold, new_event_body
from casework.messages import RuleError

CASE = "320682-20260302-0001"
VILLAGE, TOWN, WINDOW = "V101001", "T0101", "W12"

PROMISED_ITEM = {
    "code": "JS-001", "name": "建设工程规划许可证核发", "department": "D05", "window": WINDOW,
    "kind": "promised", "handle_tier": "city", "promised_limit_days": 10, "legal_limit_days": 20,
    "materials": [
        {"name": "申请表", "required": True},
        {"name": "土地证明", "required": True},
        {"name": "设计方案", "required": True, "gap_allowed": True},
        {"name": "委托书", "required": False},
    ],
    "fees": [],
}
IMMEDIATE_ITEM = {
    "code": "MZ-003", "name": "老年优待证办理", "department": "D01", "window": "W03",
    "kind": "immediate", "handle_tier": "village", "promised_limit_days": 0, "legal_limit_days": 5,
    "materials": [{"name": "身份证", "required": True}, {"name": "照片", "required": True}],
}
PERSON = {"type": "person", "name": "王秀英", "id_type": "resident_id", "id_number": "320682195003151234",
          "phone": "13812345678"}


class Desk:
    """Makes events as places would: per-origin seq, ids as content hashes, `after` = the heads
    of the author's current view (which the test controls through `view`)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.seqs: dict[str, int] = {}

    def add(self, origin: str, kind: str, time: str, *, after: Any = None, window: str | None = None,
            case: str = CASE, **fields: Any) -> Event:
        if after is None:
            after = fold(self.events).heads if kind != "received" else []
        body = new_event_body(kind, case=case, after=after, window=window, **fields)
        self.seqs[origin] = self.seqs.get(origin, 0) + 1
        raw = json.dumps([origin, self.seqs[origin], kind, body, time], sort_keys=True, ensure_ascii=False)
        event = Event(hashlib.sha256(raw.encode()).hexdigest(), origin, self.seqs[origin], f"case.{kind}", body, time)
        self.events.append(event)
        return event

    def raw(self, origin: str, kind: str, body: Any, time: str = "2026-03-02T10:00:00") -> Event:
        """An event without the builder's checks, as a buggy or hostile node could send it."""
        self.seqs[origin] = self.seqs.get(origin, 0) + 1
        raw = json.dumps([origin, self.seqs[origin], kind, body, time], sort_keys=True, default=repr)
        event = Event(hashlib.sha256(raw.encode()).hexdigest(), origin, self.seqs[origin], kind, body, time)
        self.events.append(event)
        return event

    def fold(self, **kw: Any) -> Any:
        return fold(self.events, **kw)


@pytest.fixture(scope="module")
def calendar() -> WorkCalendar:
    return WorkCalendar.packaged()


def received(desk: Desk, origin: str = "C", *, item: dict[str, Any] = PROMISED_ITEM, window: str | None = WINDOW,
             materials: list[str] | None = None, time: str = "2026-03-02T10:00:00", **kw: Any) -> Event:
    if origin != "C":
        window = None
    return desk.add(origin, "received", time, window=window, item=item, applicant=PERSON,
                    materials=materials if materials is not None else ["申请表", "土地证明", "设计方案"], **kw)


def codes(state: Any) -> list[str]:
    return [c.code for c in state.conflicts]


# -- realistic sequences --------------------------------------------------------------------

def test_immediate_case_finished_on_the_spot_at_a_village(calendar: WorkCalendar) -> None:
    desk = Desk()
    received(desk, VILLAGE, item=IMMEDIATE_ITEM, materials=["身份证", "照片"])
    desk.add(VILLAGE, "accepted", "2026-03-02T10:05:00")
    desk.add(VILLAGE, "finished", "2026-03-02T10:20:00")
    desk.add(VILLAGE, "licence_issued", "2026-03-02T10:21:00", licence={"number": "LY2026-0001"})
    desk.add(VILLAGE, "delivered", "2026-03-02T10:22:00", method="on_the_spot", recipient="王秀英")
    state = desk.fold(calendar=calendar)
    assert state.conflicts == () and state.pending == ()
    assert state.status is Status.DELIVERED and state.closed
    assert state.holder == f"node:{VILLAGE}"
    assert state.due_date == dt.date(2026, 3, 2) and not state.due_provisional  # due the same day
    assert state.licence == {"number": "LY2026-0001"}
    assert [s.event.kind for s in state.timeline] == ["case.received", "case.accepted", "case.finished",
                                                     "case.licence_issued", "case.delivered"]
    assert len(state.timeline) == 5 and state.heads == (desk.events[-1].id,)


def test_promised_case_pause_extends_the_due_date(calendar: WorkCalendar) -> None:
    desk = Desk()
    received(desk)
    desk.add("C", "accepted", "2026-03-02T10:00:00", window=WINDOW)
    state = desk.fold(calendar=calendar)
    # 10 working days after Monday 2 March 2026 (start day not counted): Monday 16 March
    assert state.due_date == dt.date(2026, 3, 16)
    desk.add("C", "promised", "2026-03-02T10:10:00", window=WINDOW, due_date="2026-03-16")
    desk.add("C", "clock_paused", "2026-03-04T09:00:00", window=WINDOW, reason="expert_review")
    paused = desk.fold(calendar=calendar)
    assert paused.status is Status.PAUSED and paused.paused_since == dt.date(2026, 3, 4)
    assert allowed_actions(paused, f"window:{WINDOW}")[:1] == ["case.clock_resumed"]
    desk.add("C", "clock_resumed", "2026-03-09T09:00:00", window=WINDOW)  # Thu..Mon: 3 working days
    state = desk.fold(calendar=calendar)
    assert state.status is Status.PROMISED
    assert state.paused_days == 3
    assert state.due_date == dt.date(2026, 3, 19)
    assert state.conflicts == ()


def test_computed_due_date_without_promise_also_skips_the_pause(calendar: WorkCalendar) -> None:
    desk = Desk()
    received(desk)
    desk.add("C", "accepted", "2026-03-02T17:30:00", window=WINDOW)  # after 17:00: counts from 3 March
    assert desk.fold(calendar=calendar).due_date == dt.date(2026, 3, 17)
    desk.add("C", "clock_paused", "2026-03-04T09:00:00", window=WINDOW, reason="hearing")
    desk.add("C", "clock_resumed", "2026-03-06T09:00:00", window=WINDOW)  # Thu, Fri
    state = desk.fold(calendar=calendar)
    assert state.paused_days == 2 and state.due_date == dt.date(2026, 3, 19)


def test_due_date_without_a_calendar_is_marked_provisional() -> None:
    desk = Desk()
    received(desk)
    desk.add("C", "accepted", "2026-09-30T10:00:00", window=WINDOW)
    state = desk.fold()
    assert state.due_provisional
    # weekends only: the National Day holidays are not known without the calendar
    assert state.due_date == dt.date(2026, 10, 14)
    assert desk.fold(calendar=WorkCalendar.packaged()).due_date > dt.date(2026, 10, 14)


def test_incomplete_then_supplement_then_accepted(calendar: WorkCalendar) -> None:
    desk = Desk()
    received(desk, materials=["申请表"])
    state = desk.fold()
    assert state.materials_missing == ("土地证明", "设计方案")
    with pytest.raises(RuleError) as err:  # a notice that leaves a missing material out
        check_event(state, f"window:{WINDOW}", "case.supplement_requested",
                    new_event_body("supplement_requested", case=CASE, after=state.heads, window=WINDOW,
                                   missing=["土地证明"]))
    assert err.value.code == "incomplete_notice"
    desk.add("C", "supplement_requested", "2026-03-02T10:30:00", window=WINDOW, missing=["土地证明", "设计方案"])
    state = desk.fold()
    assert state.status is Status.WAITING_SUPPLEMENT
    assert state.supplement_requested == ("土地证明", "设计方案")
    desk.add("C", "supplemented", "2026-03-05T09:00:00", window=WINDOW, materials=["土地证明"])
    assert desk.fold().status is Status.WAITING_SUPPLEMENT
    desk.add("C", "supplemented", "2026-03-05T09:05:00", window=WINDOW, materials=["设计方案"])
    state = desk.fold()
    assert state.status is Status.RECEIVED and state.materials_missing == ()
    desk.add("C", "accepted", "2026-03-05T09:10:00", window=WINDOW)
    assert desk.fold().status is Status.ACCEPTED and desk.fold().conflicts == ()


def test_one_time_notification_refuses_a_second_notice_with_new_materials() -> None:
    desk = Desk()
    received(desk, materials=["申请表", "设计方案"])
    desk.add("C", "supplement_requested", "2026-03-02T10:30:00", window=WINDOW, missing=["土地证明"])
    desk.add("C", "supplement_requested", "2026-03-03T10:30:00", window=WINDOW, missing=["土地证明", "设计方案"])
    state = desk.fold()
    assert codes(state) == ["piecemeal_notice"]
    assert state.supplement_notices == 1
    # asking again for what the first notice named (a copy found defective) is allowed
    desk.add("C", "supplemented", "2026-03-04T10:00:00", window=WINDOW, materials=["土地证明"])
    desk.add("C", "supplement_requested", "2026-03-04T10:30:00", window=WINDOW, missing=["土地证明"])
    state = desk.fold()
    assert codes(state) == ["piecemeal_notice"] and state.supplement_notices == 2
    assert state.materials_missing == ("土地证明",)


def test_tolerated_gap_acceptance_and_its_commitment(calendar: WorkCalendar) -> None:
    desk = Desk()
    received(desk, materials=["申请表", "土地证明"])
    commitment = {"signed_by": "王秀英", "text": "承诺于2026年3月10日前补交设计方案", "deadline": "2026-03-10"}
    with pytest.raises(RuleError) as err:
        new_event_body("accepted", case=CASE, after="ab", gap=["设计方案"], due_date="2026-03-16",
                       commitment={**commitment, "deadline": "2026-03-20"})
    assert err.value.code == "gap_deadline_after_due"
    with pytest.raises(RuleError) as err:
        new_event_body("accepted", case=CASE, after="ab", gap=["设计方案"], due_date="2026-03-16")
    assert err.value.code == "gap_without_commitment"
    desk.add("C", "accepted", "2026-03-02T11:00:00", window=WINDOW, gap=["设计方案"], due_date="2026-03-16",
             commitment=commitment)
    state = desk.fold(calendar=calendar)
    assert state.status is Status.ACCEPTED and state.conflicts == ()
    assert state.gap is not None and state.gap.deadline == dt.date(2026, 3, 10)
    assert state.due_date == dt.date(2026, 3, 16)
    desk.add("C", "finished", "2026-03-06T11:00:00", window=WINDOW)  # the gap is still open
    assert codes(desk.fold()) == ["gap_not_supplied"]
    desk.add("C", "material_added", "2026-03-07T09:00:00", window=WINDOW, material="设计方案")
    desk.add("C", "finished", "2026-03-09T11:00:00", window=WINDOW)
    state = desk.fold()
    assert state.status is Status.FINISHED and codes(state) == ["gap_not_supplied"]


def test_gap_only_for_materials_the_item_allows() -> None:
    desk = Desk()
    received(desk, materials=["申请表", "设计方案"])
    desk.add("C", "accepted", "2026-03-02T11:00:00", window=WINDOW, gap=["土地证明"], due_date="2026-03-16",
             commitment={"signed_by": "王秀英", "text": "后补", "deadline": "2026-03-10"})
    desk.add("C", "accepted", "2026-03-02T11:01:00", window=WINDOW)
    state = desk.fold()
    assert sorted(codes(state)) == ["gap_not_allowed", "materials_missing"]
    assert state.status is Status.RECEIVED


def test_forwarded_village_to_town_to_central_window(calendar: WorkCalendar) -> None:
    desk = Desk()
    proxy = {"name": "李主任", "phone": "13900001111", "authorisation": "委托书"}
    received(desk, VILLAGE, proxy=proxy, materials=["申请表", "土地证明", "设计方案", "委托书"])
    village, town, window = f"node:{VILLAGE}", f"node:{TOWN}", f"window:{WINDOW}"
    state = desk.fold()
    assert "case.accepted" not in allowed_actions(state, village)  # a city item: the village only receives
    assert "case.forwarded" in allowed_actions(state, village)
    desk.add(VILLAGE, "accepted", "2026-03-02T10:10:00")
    assert codes(desk.fold()) == ["tier_too_low"]
    desk.add(VILLAGE, "forwarded", "2026-03-02T10:15:00", to=town)
    state = desk.fold()
    assert state.status is Status.FORWARDED and state.pending_handover == town and state.holder == village
    assert allowed_actions(state, town) == ["case.handover_accepted", "case.material_added", "case.note_added",
                                            "case.evaluated"]
    assert "case.handover_accepted" not in allowed_actions(state, window)
    desk.add("C", "handover_accepted", "2026-03-02T12:00:00", window=WINDOW)  # not the one named
    desk.add(TOWN, "handover_accepted", "2026-03-03T09:00:00")
    desk.add(TOWN, "forwarded", "2026-03-03T09:30:00", to=window)
    desk.add("C", "handover_accepted", "2026-03-03T14:00:00", window=WINDOW)
    desk.add("C", "accepted", "2026-03-03T14:05:00", window=WINDOW)
    state = desk.fold(calendar=calendar)
    assert codes(state) == ["tier_too_low", "not_next_holder"]
    assert state.holders == (village, town, window) and state.holder == window
    assert state.status is Status.ACCEPTED and state.proxy == proxy
    assert state.received_at == village and state.forwarded_to == (town, window)
    assert state.due_date == dt.date(2026, 3, 17)
    # the result goes back to the village for delivery
    desk.add("C", "finished", "2026-03-10T10:00:00", window=WINDOW)
    desk.add("C", "licence_issued", "2026-03-10T10:01:00", window=WINDOW, licence={"number": "建字第2026-17号"})
    desk.add("C", "forwarded", "2026-03-10T10:02:00", window=WINDOW, to=village)
    desk.add(VILLAGE, "handover_accepted", "1970-01-01T08:00:00")  # a village PC whose clock was reset
    desk.add(VILLAGE, "delivered", "1970-01-01T08:05:00", method="village", recipient="王秀英")
    state = desk.fold(calendar=calendar)
    assert state.status is Status.DELIVERED and state.holder == village
    assert state.timeline[-1].clock_corrected and state.timeline[-1].time == dt.datetime(2026, 3, 10, 10, 2)


def test_refusal_and_return_need_reasons() -> None:
    for kind in ("refused", "returned", "fee_refunded"):
        with pytest.raises(RuleError) as err:
            new_event_body(kind, case=CASE, after="ab", assessment="ab", amount_fen=1)
        assert err.value.code == "reason_required"
    desk = Desk()
    received(desk)
    desk.raw("C", "case.refused", {"case": CASE, "after": [desk.events[0].id], "window": WINDOW})
    desk.add("C", "refused", "2026-03-02T11:00:00", window=WINDOW, reason="申请事项不属于本机关职权范围")
    state = desk.fold()
    assert codes(state) == ["reason_required"]
    assert state.status is Status.REFUSED and state.reason == "申请事项不属于本机关职权范围"
    assert allowed_actions(state, f"window:{WINDOW}") == ["case.material_added", "case.note_added", "case.evaluated"]


def test_withdrawal_closes_the_case() -> None:
    desk = Desk()
    received(desk)
    desk.add("C", "accepted", "2026-03-02T11:00:00", window=WINDOW)
    desk.add("C", "withdrawn", "2026-03-03T11:00:00", window=WINDOW, reason="申请人主动撤回")
    desk.add("C", "finished", "2026-03-04T11:00:00", window=WINDOW)
    state = desk.fold()
    assert state.status is Status.WITHDRAWN and codes(state) == ["wrong_status"]


def test_fees_assessed_paid_refunded() -> None:
    desk = Desk()
    received(desk)
    lines = [
        {"fee": "F0101", "name": "不动产登记费（住宅）", "amount_fen": 8000, "pre_fee": False, "kind": "fixed"},
        {"fee": "F0301", "name": "工本费", "amount_fen": 1000, "pre_fee": True, "kind": "per_unit", "quantity": 1},
    ]
    assessed = desk.add("C", "fee_assessed", "2026-03-02T10:10:00", window=WINDOW, lines=lines)
    state = desk.fold()
    assert state.assessed_fen == 9000 and state.outstanding_fen == 9000 and state.pre_fee_unpaid
    desk.add("C", "accepted", "2026-03-02T10:11:00", window=WINDOW)
    assert codes(desk.fold()) == ["pre_fee_unpaid"]
    desk.add(VILLAGE, "fee_paid", "2026-03-02T10:12:00", assessment=assessed.id, amount_fen=9000)
    desk.add("C", "fee_paid", "2026-03-02T10:13:00", window="JS01", assessment=assessed.id, amount_fen=8000)
    desk.add("C", "fee_paid", "2026-03-02T10:14:00", window="JS01", assessment=assessed.id, amount_fen=9000,
             receipt="JS-0001")
    desk.add("C", "accepted", "2026-03-02T10:20:00", window=WINDOW)
    state = desk.fold()
    assert codes(state) == ["pre_fee_unpaid", "not_settlement", "wrong_amount"]
    assert state.paid_fen == 9000 and state.outstanding_fen == 0 and not state.pre_fee_unpaid
    assert state.status is Status.ACCEPTED
    desk.add("C", "withdrawn", "2026-03-03T10:00:00", window=WINDOW, reason="申请人撤回")
    desk.add("C", "fee_refunded", "2026-03-03T10:10:00", window="JS01", assessment=assessed.id, amount_fen=9001,
             reason="撤回申请")
    desk.add("C", "fee_refunded", "2026-03-03T10:11:00", window="JS01", assessment=assessed.id, amount_fen=8000,
             reason="撤回申请，退还登记费")
    state = desk.fold()
    assert codes(state)[-1] == "refund_exceeds_payment"
    assert (state.assessed_fen, state.paid_fen, state.refunded_fen, state.balance_fen) == (9000, 9000, 8000, 1000)


def test_bad_review_needs_a_reason_and_is_flagged() -> None:
    with pytest.raises(RuleError) as err:
        new_event_body("evaluated", case=CASE, after="ab", level=2)
    assert err.value.code == "bad_review_without_reason"
    for level in (0, 6, True, "5"):
        with pytest.raises(RuleError) as err:
            new_event_body("evaluated", case=CASE, after="ab", level=level)
        assert err.value.code == "bad_evaluation_level"
    desk = Desk()
    received(desk, VILLAGE, item=IMMEDIATE_ITEM, materials=["身份证", "照片"])
    desk.add(VILLAGE, "evaluated", "2026-03-02T10:30:00", level=1, reason="等候时间太长", channel="paper",
             real_name=True)
    desk.add("C", "evaluated", "2026-03-05T10:30:00", level=5, channel="sms")
    state = desk.fold()
    assert state.bad_review and len(state.evaluations) == 2
    assert [e.level for e in state.evaluations if e.bad] == [1]


def test_notes_and_materials_from_anyone() -> None:
    desk = Desk()
    received(desk, materials=["申请表"])
    desk.add(TOWN, "note_added", "2026-03-02T11:00:00", text="申请人电话改为13900002222")
    desk.add(VILLAGE, "material_added", "2026-03-02T11:05:00", material="土地证明", sha256="a" * 64)
    state = desk.fold()
    assert state.conflicts == ()
    assert state.notes[0].text.startswith("申请人电话") and state.notes[0].place == f"node:{TOWN}"
    assert state.materials_missing == ("设计方案",) and state.material_scans[0]["sha256"] == "a" * 64


# -- conflicts ------------------------------------------------------------------------------

def test_non_holder_status_change_is_a_conflict_not_an_exception() -> None:
    desk = Desk()
    received(desk)
    desk.add(TOWN, "accepted", "2026-03-02T11:00:00")
    desk.add("C", "accepted", "2026-03-02T11:00:00", window="W99")
    state = desk.fold()
    assert codes(state) == ["not_holder", "not_holder"]
    assert state.status is Status.RECEIVED
    assert state.conflicts[0].english() == "Only the case's holder window:W12 may change its status, not node:T0101."
    assert "case.accepted" not in allowed_actions(state, f"node:{TOWN}")
    assert "case.accepted" in allowed_actions(state, f"window:{WINDOW}")


def test_concurrent_status_changes_keep_one_and_flag_the_other() -> None:
    desk = Desk()
    first = received(desk)
    # two clerks at the same window, each on a PC that has only seen the receipt
    a = desk.add("C", "accepted", "2026-03-02T11:00:00", window=WINDOW, after=[first.id])
    b = desk.add("C", "refused", "2026-03-02T11:00:30", window=WINDOW, after=[first.id], reason="不符合条件")
    state = desk.fold()
    winner, loser = sorted([a, b], key=lambda e: e.id)
    assert [c.event_id for c in state.conflicts] == [loser.id]
    assert codes(state) == ["concurrent_change"]
    assert state.last_status_event == winner.id
    assert set(state.heads) == {a.id, b.id}
    # a later change that had seen both is fine
    desk.add("C", "note_added", "2026-03-02T11:05:00", window=WINDOW, text="两位同事同时操作，已核实")
    assert len(desk.fold().conflicts) == 1


def test_status_change_that_had_not_seen_a_note_is_not_a_conflict() -> None:
    desk = Desk()
    first = received(desk)
    desk.add(TOWN, "note_added", "2026-03-02T11:00:00", text="村里来电询问进度", after=[first.id])
    desk.add("C", "accepted", "2026-03-02T11:00:00", window=WINDOW, after=[first.id])
    state = desk.fold()
    assert state.conflicts == () and state.status is Status.ACCEPTED


def test_unknown_parent_is_pending_until_it_arrives() -> None:
    desk = Desk()
    received(desk)
    accepted = desk.add("C", "accepted", "2026-03-02T11:00:00", window=WINDOW)
    promised = desk.add("C", "promised", "2026-03-02T11:01:00", window=WINDOW, due_date="2026-03-16")
    note = desk.add(TOWN, "note_added", "2026-03-02T11:02:00", text="已电话告知")
    without = fold([e for e in desk.events if e is not accepted])
    assert without.status is Status.RECEIVED and without.conflicts == ()
    assert [(p.event_id, p.waiting_for) for p in without.pending] == sorted(
        [(promised.id, (accepted.id,)), (note.id, (promised.id,))])
    assert fold(desk.events).status is Status.PROMISED and fold(desk.events).pending == ()


def test_events_for_another_case_and_a_second_receipt_are_conflicts() -> None:
    desk = Desk()
    first = received(desk)
    desk.add("C", "note_added", "2026-03-02T11:00:00", window=WINDOW, text="x", case="OTHER-1", after=[first.id])
    received(desk, time="2026-03-02T10:00:01")
    assert sorted(codes(desk.fold())) == ["already_received", "wrong_case"]


def test_resent_events_change_nothing_and_forged_duplicates_are_flagged() -> None:
    desk = Desk()
    received(desk)
    desk.add("C", "accepted", "2026-03-02T11:00:00", window=WINDOW)
    once = desk.fold()
    assert fold(desk.events * 3) == once
    forged = Event(desk.events[1].id, "V999999", 1, "case.refused", {"case": CASE}, "2026-03-02T11:00:00")
    state = fold([*desk.events, forged])
    assert codes(state) == ["duplicate_id"]
    assert fold([forged, *desk.events]) == state


def test_garbage_never_raises() -> None:
    desk = Desk()
    received(desk)
    parent = [desk.events[0].id]
    for kind, body in [
        ("case.accepted", None), ("case.accepted", []), ("case.nonsense", {"case": CASE, "after": parent}),
        ("other.thing", {"case": CASE}), ("case.evaluated", {"case": CASE, "after": parent, "level": 9.5}),
        ("case.forwarded", {"case": CASE, "after": parent, "to": "node:../etc"}),
        ("case.accepted", {"case": CASE, "after": "not hex!"}),
        ("case.received", {"case": CASE, "after": [], "item": {"materials": "x"}}),
        ("case.clock_resumed", {"case": CASE, "after": parent}),
    ]:
        desk.raw("C", kind, body)
    desk.events.append(Event("ff", "X1", 1, "case.note_added", {"case": CASE, "after": parent, "text": "x"}))
    desk.events.append("not an event")  # type: ignore[arg-type]
    state = desk.fold()
    assert len(state.conflicts) == 11 and state.status is Status.RECEIVED
    assert "unreadable_event" not in codes(state)


def test_builder_refuses_bad_input() -> None:
    with pytest.raises(RuleError) as err:
        new_event_body("received", case=CASE, after=None, item=PROMISED_ITEM, applicant=PERSON,
                       proxy={"name": "李主任"})
    assert err.value.code == "proxy_without_authorisation"
    with pytest.raises(RuleError) as err:
        new_event_body("forwarded", case=CASE, after="ab", to="central")
    assert err.value.code == "bad_forward_target"
    with pytest.raises(RuleError) as err:
        new_event_body("promised", case=CASE, after="ab", due_date="2026-02-30")
    assert err.value.code == "malformed_body"
    with pytest.raises(RuleError) as err:
        new_event_body("accepted", case=CASE, after=None)
    assert err.value.code == "bad_parent"


def test_promise_beyond_the_legal_limit_is_a_conflict(calendar: WorkCalendar) -> None:
    desk = Desk()
    received(desk)
    desk.add("C", "accepted", "2026-03-02T10:00:00", window=WINDOW)
    desk.add("C", "promised", "2026-04-30T10:00:00", window=WINDOW, due_date="2026-04-30")
    assert codes(desk.fold(calendar=calendar)) == ["promise_beyond_legal_limit"]


def test_gap_overdue_until_the_material_comes() -> None:
    desk = Desk()
    received(desk, materials=["申请表", "土地证明"])
    desk.add("C", "accepted", "2026-03-02T11:00:00", window=WINDOW, gap=["设计方案"], due_date="2026-03-16",
             commitment={"signed_by": "王秀英", "text": "后补", "deadline": "2026-03-10"})
    state = desk.fold()
    assert not state.gap_overdue(dt.date(2026, 3, 10)) and state.gap_overdue(dt.date(2026, 3, 11))
    desk.add(VILLAGE, "material_added", "2026-03-09T11:00:00", material="设计方案")
    assert not desk.fold().gap_overdue(dt.date(2026, 3, 11))


def test_settlement_centre_sees_payment_actions_only_when_something_is_due() -> None:
    desk = Desk()
    received(desk)
    settlement = "window:W70"
    assert "case.fee_paid" not in allowed_actions(desk.fold(), settlement)
    assessed = desk.add("C", "fee_assessed", "2026-03-02T10:10:00", window=WINDOW,
                        lines=[{"fee": "F0101", "name": "登记费", "amount_fen": 8000, "pre_fee": False}])
    state = desk.fold()
    assert "case.fee_paid" in allowed_actions(state, settlement)
    assert "case.fee_paid" not in allowed_actions(state, f"node:{TOWN}")
    assert "case.accepted" not in allowed_actions(state, settlement)  # not the holder
    desk.add("C", "fee_paid", "2026-03-02T10:20:00", window="W70", assessment=assessed.id, amount_fen=8000)
    actions = allowed_actions(desk.fold(), settlement)
    assert "case.fee_paid" not in actions and "case.fee_refunded" in actions


def test_times_are_clamped_by_causality_and_central_receipt() -> None:
    desk = Desk()
    received(desk, VILLAGE, item=IMMEDIATE_ITEM, materials=["身份证", "照片"])
    accepted = desk.add(VILLAGE, "accepted", "2031-01-01T09:00:00")  # a PC clock years ahead
    late = Event.from_dict({"id": accepted.id, "origin": VILLAGE, "seq": accepted.seq, "kind": accepted.kind,
                            "body": accepted.body, "origin_time": accepted.origin_time,
                            "received_time": "2026-03-02T12:00:00+08:00"})
    state = fold([desk.events[0], late], calendar=WorkCalendar.packaged())
    step = state.timeline[-1]
    assert step.time == dt.datetime(2026, 3, 2, 12, 0) and step.clock_corrected and not step.clock_doubtful
    assert state.due_date == dt.date(2026, 3, 2) and not state.due_provisional
    reset = fold([Event("ab", VILLAGE, 1, "case.received", desk.events[0].body, "1970-01-01T00:00:00")])
    assert reset.timeline[0].clock_doubtful


def test_a_person_settles_a_conflict_with_a_note() -> None:
    desk = Desk()
    first = received(desk)
    desk.add(TOWN, "accepted", "2026-03-02T11:00:00", after=[first.id])
    stray = desk.fold().conflicts[0]
    assert desk.fold().open_conflicts == (stray,)
    desk.add(TOWN, "note_added", "2026-03-02T11:10:00", text="我来处理", settles=[stray.event_id])
    desk.add("C", "note_added", "2026-03-02T11:20:00", window=WINDOW, text="已核实", settles=["ab"])
    settle = desk.add("C", "note_added", "2026-03-02T11:30:00", window=WINDOW, text="镇中心误操作，已核实，不予采用",
                      settles=[stray.event_id])
    state = desk.fold()
    assert codes(state) == ["not_holder", "not_settler", "unknown_conflict"]
    assert state.conflicts[0].settled_by == settle.id
    assert [c.code for c in state.open_conflicts] == ["not_settler", "unknown_conflict"]
    assert state.status is Status.RECEIVED  # settling never applies the stray event


def test_deadlines_may_not_lie_before_the_event() -> None:
    desk = Desk()
    received(desk, materials=["申请表"])
    desk.add("C", "supplement_requested", "2026-03-05T10:00:00", window=WINDOW, missing=["土地证明", "设计方案"],
             deadline="2026-03-04")
    state = desk.fold()
    assert codes(state) == ["deadline_past"]
    body = new_event_body("supplement_requested", case=CASE, after=state.heads, window=WINDOW,
                          missing=["土地证明", "设计方案"], deadline="2026-03-09")
    check_event(state, f"window:{WINDOW}", "case.supplement_requested", body, time=dt.datetime(2026, 3, 5, 10))
    with pytest.raises(RuleError) as err:
        check_event(state, f"window:{WINDOW}", "case.supplement_requested", body, time=dt.datetime(2026, 3, 10, 10))
    assert err.value.code == "deadline_past"


@pytest.mark.parametrize("accepted_at", ["9999-12-31T10:00:00", "1970-01-01T08:00:00"])
def test_absurd_clocks_leave_the_due_date_provisional_not_an_exception(accepted_at: str,
                                                                        calendar: WorkCalendar) -> None:
    desk = Desk()
    received(desk, VILLAGE, item=IMMEDIATE_ITEM, materials=["身份证", "照片"], time="0001-01-01T00:00:00")
    desk.add(VILLAGE, "accepted", accepted_at)
    state = desk.fold(calendar=calendar)
    assert state.status is Status.ACCEPTED and state.clock_doubtful and state.due_provisional


def test_a_pause_spanning_centuries_is_not_counted(calendar: WorkCalendar) -> None:
    desk = Desk()
    received(desk)
    desk.add("C", "accepted", "2026-03-02T10:00:00", window=WINDOW)
    desk.add("C", "clock_paused", "2026-03-03T10:00:00", window=WINDOW, reason="test")
    desk.add("C", "clock_resumed", "2999-03-03T10:00:00", window=WINDOW)
    state = desk.fold(calendar=calendar)
    assert state.status is Status.ACCEPTED and state.paused_days == 0
    assert state.clock_doubtful and state.due_provisional and state.due_date == dt.date(2026, 3, 16)


def test_an_item_is_taken_in_only_where_the_catalogue_allows() -> None:
    desk = Desk()
    received(desk, VILLAGE, item={**PROMISED_ITEM, "receive_tiers": ["town", "city"]})
    state = desk.fold()
    assert codes(state) == ["not_receivable_here"] and state.status is Status.NONE
    desk = Desk()
    received(desk, TOWN, item={**PROMISED_ITEM, "receive_tiers": ["town", "city"]})
    assert desk.fold().status is Status.RECEIVED


def test_a_copy_with_centrals_receipt_stamp_is_the_same_event() -> None:
    desk = Desk()
    received(desk, VILLAGE)
    accepted = desk.add(VILLAGE, "note_added", "2026-03-02T10:05:00", text="已电话联系")
    stamped = Event(accepted.id, accepted.origin, accepted.seq, accepted.kind, accepted.body, accepted.origin_time,
                    received_time="2026-03-02T10:06:00")
    one, other = fold([*desk.events, stamped]), fold([stamped, *desk.events])
    assert one == other and one.conflicts == ()
    assert one.timeline[-1].event.received_time == "2026-03-02T10:06:00"
