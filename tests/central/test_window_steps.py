"""The window's other steps: tolerated-gap acceptance, pausing the clock, joint opinions,
reassignment with a reason, enquiries and finding a project by its card number at any window."""

from __future__ import annotations

import datetime as dt

import pytest
from centralkit import PASSWORD, Clerk

from central import board_store
from central.admin_records import sign_staff


@pytest.fixture
def gao(app):
    sign_staff(app.extensions["central"], "gao", roles=["window_clerk"], places=["W24", "W25"], password=PASSWORD)
    clerk = Clerk(app, "gao")
    clerk.post("/window/choose", {"window": "W24"})
    return clerk


def _intake(clerk: Clerk, item, *, leave_out: tuple[str, ...] = (), card: str = "") -> str:
    response = clerk.post(f"/window/intake?item={item.code}", {
        "applicant_type": "organisation", "name": "如皋某建设有限公司", "id_number": "91350100M000100Y43",
        "phone": "13912345678", "card": card,
        "materials": [m.name for m in item.materials if m.name not in leave_out]})
    assert response.status_code == 302, response.text[:2000]
    return response.headers["Location"].rsplit("/", 1)[1]


def test_tolerated_gap_acceptance_then_the_material_before_finishing(app, gao):
    central = app.extensions["central"]
    item = central.catalogue().item("ZJJ001")
    gap = next(m.name for m in item.materials if m.gap_allowed)
    number = _intake(gao, item, leave_out=(gap,))
    # without a signed commitment the gap is refused, and nothing is signed
    assert gao.post(f"/window/case/{number}/act/accepted", {"gap": gap}).status_code == 400
    deadline = (central.today() + dt.timedelta(days=3)).isoformat()
    assert gao.post(f"/window/case/{number}/act/accepted",
                    {"gap": gap, "gap_signed_by": "张经理", "gap_deadline": deadline}).status_code == 302
    state = central.fold(number)
    assert state.status.value == "accepted" and state.gap.materials == (gap,) and state.gap.signed_by == "张经理"
    assert gao.post(f"/window/case/{number}/act/finished", {"outcome": "granted"}).status_code == 400
    assert gao.post(f"/window/case/{number}/act/material_added", {"material": gap}).status_code == 302
    assert gao.post(f"/window/case/{number}/act/finished", {"outcome": "granted"}).status_code == 302


def test_pausing_the_clock_moves_the_due_date(app, gao, clock):
    central = app.extensions["central"]
    number = _intake(gao, central.catalogue().item("ZJJ001"))
    gao.post(f"/window/case/{number}/act/accepted", {})
    due = central.fold(number).due_date
    assert gao.post(f"/window/case/{number}/act/clock_paused", {"reason": "expert_review"}).status_code == 302
    assert board_store.get(central.log.db, number).status == "paused"
    clock.now += dt.timedelta(days=7)  # a week of expert review (5 working days)
    assert gao.post(f"/window/case/{number}/act/clock_resumed", {"note": "专家评审结束"}).status_code == 302
    state = central.fold(number)
    assert state.paused_days == 5 and state.due_date > due


def test_joint_opinion_and_reassignment_with_a_reason(app, gao):
    central = app.extensions["central"]
    number = _intake(gao, central.catalogue().item("ZJJ001"))
    gao.post(f"/window/case/{number}/joint", {"mode": "request", "windows": "W25"})
    assert [r.number for r in board_store.joint_requests(central.log.db, "W25")] == [number]
    gao.post("/window/choose", {"window": "W25"})
    assert number in gao.get("/window/").text  # listed under the joint opinions asked of W25
    gao.post(f"/window/case/{number}/joint", {"mode": "opinion", "opinion": "同意，消防设计已审查"})
    assert board_store.joint_requests(central.log.db, "W25") == []

    gao.post("/window/choose", {"window": "W24"})
    assert gao.post(f"/window/case/{number}/act/forwarded", {"to": "window:W25"}).status_code == 400
    assert gao.post(f"/window/case/{number}/act/forwarded",
                    {"to": "window:W25", "note": "属施工许可窗口受理"}).status_code == 302
    row = board_store.get(central.log.db, number)
    assert row.queue == "window:W25" and row.holder == "window:W24"
    gao.post("/window/choose", {"window": "W25"})
    assert gao.post(f"/window/case/{number}/act/handover_accepted", {}).status_code == 302
    assert central.fold(number).holder == "window:W25"


def test_enquiry_is_recorded_with_its_first_contact(app, gao):
    central = app.extensions["central"]
    gao.post("/window/enquiry", {"topic": "施工许可需要哪些材料", "applicant": "李先生", "handed_to": "W25"},
             page="/window/")
    record, _at = central.records_of_kind("enquiry.recorded")[-1]
    assert record.body["staff"] == "gao" and record.body["window"] == "W24" and record.body["handed_to"] == "W25"


def test_a_card_number_at_any_window_brings_the_project_up(app, gao):
    central = app.extensions["central"]
    card = central.next_number("card")
    central.sign("card.registered", {"card": card, "staff": "ka", "items": [], "project": {
        "name": "产业园一期", "type": central.catalogue().project_types[0].code, "investment_fen": 10**9,
        "owner": "某公司", "contact": "", "phone": "", "address": ""}})
    answer = gao.get(f"/window/find?q={card.replace('-', ' ').lower()}")
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/card/{card}")
    number = _intake(gao, central.catalogue().item("ZJJ001"), card=card)
    assert central.fold(number).card == card and board_store.get(central.log.db, number).green == 1
    assert number in gao.get(f"/card/{card}").text
