"""The window workstation's panels on the one shared case page (central.case_panels, web.casepage):
the fees, the tolerated gap, finishing on the spot, joint opinions, the service card and the record
chain appear for the clerk at the window holding the case and for nobody who may not use them; a
refused panel form shows the page again, unfolded, with what was typed; the old window addresses
answer with the same page.

Real central app (a data folder made by `bianmin central init`), real SQLite, Flask's test client
with real CSRF tokens (centralkit.Clerk)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from centralkit import PASSWORD, Clerk

from central import settlement_store
from central.admin_records import sign_staff

ID = "11010519491231002X"
FORMS = ("action-fees", "action-finish_now", "action-joint", "action-tolerated_gap")


def _intake(clerk: Clerk, item: str, materials: list[str], *, applicant: str = "person", card: str = "") -> str:
    number = "11010519491231002X" if applicant == "person" else "91350100M000100Y43"
    response = clerk.post(f"/window/intake?item={item}", {
        "applicant_type": applicant, "name": "王小明", "id_number": number, "phone": "13812345678",
        "materials": materials, "card": card})
    assert response.status_code == 302, response.text[:2000]
    return response.headers["Location"].rsplit("/", 1)[1]


def _ids(html: str) -> set[str]:
    return set(re.findall(r'id="((?:action|panel)-[a-z_]+)"', html))


@pytest.fixture
def immediate(app):
    """GA005 (临时居民身份证签发): an immediate item with a pre-fee, taken in at W06 by wang."""
    central = app.extensions["central"]
    wang = Clerk(app, "wang")
    assert wang.post("/window/choose", {"window": "W06"}).status_code == 302
    number = _intake(wang, "GA005", [m.name for m in central.catalogue().item("GA005").materials])
    return wang, number


def test_the_clerk_at_the_holding_window_gets_the_window_panels_on_the_shared_page(app, immediate):
    central = app.extensions["central"]
    wang, number = immediate
    page = wang.get(f"/case/{number}").text
    assert {"panel-fees", "action-fees", "action-joint", "panel-record_chain"} <= _ids(page)
    assert "action-finish_now" not in _ids(page)          # not before it is accepted
    assert "action-accepted" in _ids(page) and "action-note_added" in _ids(page)   # the shared actions
    assert wang.get(f"/window/case/{number}").text.count('id="panel-fees"') == 1  # the old address: same page

    assert wang.post(f"/window/case/{number}/fees", {"use_F0203": "1"}).status_code == 302
    [notice] = settlement_store.notices_of_case(central.log.db, number)
    page = wang.get(f"/case/{number}").text
    assert notice.number in page and f"assessment={notice.assessment}" in page
    # the payment notice is printed from the fees (each notice by its own number), not twice
    assert f'/case/{number}/notice/payment"' not in page
    assert "前置收费未缴" in page                              # the shared header tells the pre-fee is owed
    assert Clerk(app, "qian").post(f"/settlement/notice/{notice.assessment}/pay", {"method": "cash"}
                                   ).status_code == 302
    assert wang.post(f"/case/{number}/act/accepted", {}).status_code == 302
    page = wang.get(f"/case/{number}").text
    assert "action-finish_now" in _ids(page)
    assert wang.post(f"/window/case/{number}/act/finish_now", {"licence_number": "LS-7"}).status_code == 302
    state = central.fold(number)
    assert state.status.value == "delivered" and state.licence["number"] == "LS-7"
    page = wang.get(f"/case/{number}").text
    assert not {"action-fees", "action-finish_now", "action-joint"} & _ids(page)   # a closed case
    assert "LS-7" in page and "panel-fees" in _ids(page)


def test_roles_that_may_not_use_the_window_forms_do_not_get_them(app, immediate):
    central = app.extensions["central"]
    wang, number = immediate
    wang.post(f"/window/case/{number}/fees", {"use_F0203": "1"})
    [notice] = settlement_store.notices_of_case(central.log.db, number)
    printed = f"/case/{number}/notice/payment?assessment={notice.assessment}"
    settle = f"/settlement/notice/{notice.assessment}"
    for username, may_print, may_settle in (("qian", True, True), ("li", True, True), ("xun", False, False)):
        page = Clerk(app, username).get(f"/case/{number}")
        assert page.status_code == 200
        ids = _ids(page.text)
        assert "panel-fees" in ids and notice.number in page.text, username   # every reader sees the fees
        assert not set(FORMS) & ids, (username, ids)
        assert (printed in page.text.replace("&amp;", "&")) is may_print, username
        assert (settle in page.text) is may_settle, username
    # a clerk at another window, not asked for an opinion: reads the case, gets none of its forms
    zhao = Clerk(app, "zhao")
    ids = _ids(zhao.get(f"/case/{number}").text)
    assert "panel-fees" in ids and not set(FORMS) & ids
    # asked for a joint opinion, that window gets the opinion form, and only that
    assert wang.post(f"/window/case/{number}/joint", {"mode": "request", "windows": "W53"}).status_code == 302
    page = zhao.get(f"/case/{number}").text
    assert set(FORMS) & _ids(page) == {"action-joint"}
    assert 'name="opinion"' in page and 'value="request"' not in page
    # and the forms' own routes refuse the others whatever the page shows
    assert Clerk(app, "qian").post(f"/window/case/{number}/fees", {"use_F0203": "1"}).status_code == 403
    assert Clerk(app, "li").post(f"/window/case/{number}/act/finish_now", {}).status_code == 403
    assert len(settlement_store.notices_of_case(central.log.db, number)) == 1


def test_a_clerk_with_several_windows_is_asked_to_choose_one_first(app, immediate):
    _wang, number = immediate
    wang = Clerk(app, "wang")                              # a new session: W52 or W06 not chosen yet
    page = wang.get(f"/case/{number}").text
    ids = _ids(page)
    assert "panel-choose_window" in ids and not set(FORMS) & ids
    assert "/window/choose" in page
    assert wang.post(f"/window/case/{number}/fees", {"use_F0203": "1"}).headers["Location"].startswith(
        "/window/choose")


def test_a_refused_fee_form_comes_back_open_with_what_was_typed(app, immediate):
    central = app.extensions["central"]
    wang, number = immediate
    refused = wang.post(f"/window/case/{number}/fees", {"exempt_F0203": ""})   # nothing ticked
    assert refused.status_code == 400
    assert re.search(r'<details class="action" open id="action-fees">', refused.text)
    assert "请至少勾选一项收费" in refused.text
    assert 'name="use_F0203" value="1" checked' not in refused.text            # unticked as sent
    assert settlement_store.notices_of_case(central.log.db, number) == []


def test_forwarding_from_a_window_needs_a_reason_on_either_address(app, immediate):
    central = app.extensions["central"]
    wang, number = immediate
    for path in (f"/case/{number}/act/forwarded", f"/window/case/{number}/act/forwarded"):
        refused = wang.post(path, {"to": "window:W52"})
        assert refused.status_code == 400 and 'id="action-forwarded"' in refused.text
        assert re.search(r'<textarea id="note" name="note" rows="2" required', refused.text)
    assert central.fold(number).pending_handover is None
    assert wang.post(f"/case/{number}/act/forwarded", {"to": "window:W52", "note": "属不动产窗口"}
                     ).status_code == 302
    assert central.fold(number).pending_handover == "window:W52"


def test_tolerated_gap_on_the_shared_page(app):
    central = app.extensions["central"]
    sign_staff(central, "gao", roles=["window_clerk"], places=["W24"], password=PASSWORD)
    gao = Clerk(app, "gao")
    item = central.catalogue().item("ZJJ001")
    gap = next(m.name for m in item.materials if m.gap_allowed)
    number = _intake(gao, "ZJJ001", [m.name for m in item.materials if m.name != gap], applicant="organisation")
    page = gao.get(f"/case/{number}").text
    assert "action-tolerated_gap" in _ids(page) and f'name="gap" value="{gap}" checked' in page
    assert "action-tolerated_gap" not in _ids(Clerk(app, "li").get(f"/case/{number}").text)

    late = (central.today() + dt.timedelta(days=90)).isoformat()
    refused = gao.post(f"/window/case/{number}/act/accepted", {
        "tolerated_gap": "1", "gap": gap, "gap_signed_by": "张经理", "gap_deadline": late})
    assert refused.status_code == 400 and 'open id="action-tolerated_gap"' in refused.text
    assert f'value="{late}"' in refused.text and 'value="张经理"' in refused.text   # nothing typed is lost
    refused = gao.post(f"/window/case/{number}/act/accepted", {"tolerated_gap": "1", "gap_signed_by": "张经理"})
    assert refused.status_code == 400 and f'name="gap" value="{gap}">' in refused.text  # none ticked, as sent
    assert central.fold(number).status.value == "received"

    deadline = (central.today() + dt.timedelta(days=3)).isoformat()
    assert gao.post(f"/window/case/{number}/act/accepted", {
        "tolerated_gap": "1", "gap": gap, "gap_signed_by": "张经理", "gap_deadline": deadline}).status_code == 302
    state = central.fold(number)
    assert state.status.value == "accepted" and state.gap.materials == (gap,) and state.gap.deadline.isoformat() == deadline
    page = gao.get(f"/case/{number}").text
    assert "action-tolerated_gap" not in _ids(page) and "张经理" in page      # the gap is among the facts


def test_a_card_case_shows_its_green_channel_and_project(app):
    central = app.extensions["central"]
    card = central.next_number("card")
    central.sign("card.registered", {"card": card, "staff": "ka", "items": [], "project": {
        "name": "产业园一期", "type": central.catalogue().project_types[0].code, "investment_fen": 10**9,
        "owner": "某公司", "contact": "", "phone": "", "address": ""}})
    wang = Clerk(app, "wang")
    wang.post("/window/choose", {"window": "W52"})
    item = central.catalogue().item("BDC001")
    number = _intake(wang, "BDC001", [m.name for m in item.materials], applicant="organisation", card=card)
    for username in ("wang", "qian", "xun"):
        page = (wang if username == "wang" else Clerk(app, username)).get(f"/case/{number}").text
        assert f'href="/card/{card}"' in page and "产业园一期" in page, username


def test_a_payment_notice_prints_by_its_assessment_and_is_recorded(app, immediate):
    central = app.extensions["central"]
    wang, number = immediate
    wang.post(f"/window/case/{number}/fees", {"use_F0203": "1"})
    wang.post(f"/window/case/{number}/fees", {"use_F0203": "1"})      # a second notice for the same case
    first, second = settlement_store.notices_of_case(central.log.db, number)
    for path in (f"/case/{number}/notice/payment?assessment={first.assessment}",
                 f"/window/case/{number}/notice/payment?assessment={first.assessment}"):
        sheet = wang.get(path)
        assert sheet.status_code == 200 and first.number in sheet.text and second.number not in sheet.text
    accesses = [r.body for r, _at in central.records_of_kind("access.logged", origin=None)]
    assert [a["what"] for a in accesses] == [{"notice": "payment", "assessment": first.assessment}] * 2
    # a notice not due yet is said on the case page, and nothing is recorded
    answer = wang.get(f"/case/{number}/notice/delivery")
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/case/{number}")
    assert len(central.records_of_kind("access.logged", origin=None)) == 2
