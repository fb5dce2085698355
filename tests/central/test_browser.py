"""Each role's main flow in real Chromium against a real central served by waitress.

Screenshots go to test-artifacts/test_browser/ for a person to look at.
"""

from __future__ import annotations

import datetime as dt

import pytest
from centralkit import sign_in, sign_out

pytestmark = pytest.mark.browser


_login, _logout = sign_in, sign_out   # the shared real-form sign-in (centralkit)


def test_window_clerk_cashier_and_supervisor(page, central_url, app, artifacts):
    central = app.extensions["central"]
    _login(page, central_url, "wang")
    assert "/window/choose" in page.url
    page.select_option("#window", "W06")
    page.click("main button[type=submit]")
    page.select_option("#item", "GA005")
    page.click("form[action$='/window/intake'] button")
    page.fill("#name", "王小明")
    page.fill("#id_number", "11010519491231002")  # one character short: refused, nothing lost
    page.fill("#phone", "13812345678")
    for box in page.locator("input[name=materials]").all():
        box.check()
    with page.expect_navigation():
        page.click("#intake-form button[type=submit]")
    assert page.locator(".field-error").count() >= 1
    assert page.input_value("#name") == "王小明"
    page.screenshot(path=artifacts / "window_intake_error.png", full_page=True)
    page.fill("#id_number", "11010519491231002X")
    page.click("#intake-form button[type=submit]")
    page.wait_for_load_state()
    number = page.locator("h1").inner_text().split()[0]
    assert number.startswith("C-")
    page.click("#action-fees summary")
    page.click("#action-fees button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".tag.bad").first.is_visible()  # pre-fee unpaid
    page.click("#action-accepted summary")
    with page.expect_navigation():
        page.click("#action-accepted button[type=submit]")
    assert page.locator(".flash-error").count() == 1
    page.screenshot(path=artifacts / "window_case_pre_fee.png", full_page=True)
    page.goto(central_url + "/window/")
    page.screenshot(path=artifacts / "window_queue.png", full_page=True)
    _logout(page)

    _login(page, central_url, "qian")
    page.fill("#q", number)
    page.click("main form[role=search] button[type=submit]")
    page.wait_for_load_state()
    page.select_option("#method", "mobile")
    page.fill("#reference", "WX20261125001")
    page.click("#pay-form button[type=submit]")
    page.wait_for_load_state()
    assert "缴款收据" in page.content()
    page.screenshot(path=artifacts / "settlement_receipt.png", full_page=True)
    page.goto(central_url + "/settlement/reconciliation")
    assert page.locator("#balance.balance-ok").count() == 1
    page.screenshot(path=artifacts / "settlement_reconciliation.png", full_page=True)
    _logout(page)

    _login(page, central_url, "wang")
    page.select_option("#window", "W06")  # a new session: the clerk says again where they sit
    page.click("main button[type=submit]")
    page.goto(central_url + f"/window/case/{number}")
    page.click("#action-accepted summary")
    page.click("#action-accepted button[type=submit]")
    page.wait_for_load_state()
    page.click("details:has(form[action$='/act/finish_now']) summary")
    page.fill("#licence_number", "LS-2026-0001")
    page.locator("form[action$='/act/finish_now'] button").click()
    page.wait_for_load_state()
    assert central.fold(number).status.value == "delivered"
    page.screenshot(path=artifacts / "window_case_done.png", full_page=True)
    page.goto(central_url + f"/window/case/{number}/notice/delivery")
    assert "送达通知书" in page.content()
    page.pdf(path=str(artifacts / "delivery_notice.pdf"), format="A4")
    page.screenshot(path=artifacts / "delivery_notice.png", full_page=True)
    page.goto(central_url + f"/case/{number}")
    assert page.locator(".tag.bad").count() == 0  # every signature verifies
    page.screenshot(path=artifacts / "shared_case_page.png", full_page=True)
    _logout(page)

    _login(page, central_url, "li")
    assert "/supervision/" in page.url
    page.screenshot(path=artifacts / "supervision_board.png", full_page=True)
    page.goto(central_url + f"/supervision/verify/{number}")
    assert page.locator("#verdict.balance-ok").count() == 1
    page.screenshot(path=artifacts / "supervision_verify.png", full_page=True)
    page.goto(central_url + "/supervision/sms")
    page.screenshot(path=artifacts / "supervision_sms.png", full_page=True)


def test_card_clerk_registers_a_project_and_its_cases_go_first(page, central_url, app, clock, artifacts):
    central = app.extensions["central"]
    _login(page, central_url, "ka")
    page.goto(central_url + "/card/")
    page.fill("#name", "如皋高新区智能装备产业园一期")
    page.select_option("#project_type", central.catalogue().project_types[0].code)
    page.fill("#investment_wan", "30")  # below the threshold: refused with the reason
    page.fill("#owner", "江苏某某智能装备有限公司")
    with page.expect_navigation():
        page.click("#card-form button[type=submit]")
    assert page.locator(".error-summary").count() == 1
    page.fill("#investment_wan", "12800")
    page.fill("#phone", "13912345678")
    page.click("#card-form button[type=submit]")
    page.wait_for_load_state()
    card = page.locator(".tag.green").first.inner_text().split()[-1]
    assert card.startswith("KC-")
    page.screenshot(path=artifacts / "card_project.png", full_page=True)
    with page.expect_navigation():
        page.click("a[href$='/guide']")
    assert "导办服务单" in page.content()
    page.screenshot(path=artifacts / "card_guide_sheet.png", full_page=True)

    # a case without card first, then one with the card: the card's case heads the queue
    page.goto(central_url + "/window/choose")
    page.select_option("#window", "W52")
    page.click("main button[type=submit]")
    for with_card in (False, True):
        page.goto(central_url + "/window/intake?item=BDC001" + (f"&card={card}" if with_card else ""))
        page.fill("#name", "李四" if with_card else "张三")
        page.select_option("#applicant_type", "organisation")
        page.fill("#id_number", "91350100M000100Y43")
        for box in page.locator("input[name=materials]").all():
            box.check()
        page.click("#intake-form button[type=submit]")
        page.wait_for_load_state()
        page.click("#action-accepted summary")
        page.click("#action-accepted button[type=submit]")
        page.wait_for_load_state()
    page.goto(central_url + "/window/")
    first = page.locator("#queue tbody tr").first
    assert "green" in first.inner_html()
    page.screenshot(path=artifacts / "window_queue_green.png", full_page=True)
    page.goto(central_url + f"/card/{card}")
    assert page.locator("a[href*='/window/case/']").count() == 1


def test_admin_signs_staff_and_issues_a_node_token(page, central_url, app, artifacts):
    _login(page, central_url, "admin", "admin-pass-1")
    page.goto(central_url + "/admin/staff")
    page.fill("#username", "zhou")
    page.fill("#display_name", "周窗口")
    page.check("input[name=roles][value=window_clerk]")
    page.fill("#places", "W52")
    page.fill("#password", "zhou-pass-123")
    page.click("#staff-form button[type=submit]")
    page.wait_for_load_state()
    assert "周窗口" in page.content()
    page.screenshot(path=artifacts / "admin_staff.png", full_page=True)
    page.goto(central_url + "/admin/nodes")
    page.fill("#node", "V000123")
    page.fill("#name", "丁堰镇皋南村便民服务室")
    page.fill("#town", "T0101")
    page.locator("form:has(#node) button[type=submit]").click()
    page.wait_for_load_state()
    assert len(page.locator("#token").inner_text()) == 24
    page.screenshot(path=artifacts / "admin_nodes.png", full_page=True)
    page.goto(central_url + "/admin/catalogue")
    page.select_option("#item", "BDC001")
    page.fill("#promised_limit_days", "3")
    page.fill("#note", "优化营商环境，压缩时限")
    page.click("#catalogue-form button[type=submit]")
    page.wait_for_load_state()
    assert app.extensions["central"].catalogue().item("BDC001").promised_limit_days == 3
    page.screenshot(path=artifacts / "admin_catalogue.png", full_page=True)
    _logout(page)
    _login(page, central_url, "zhou", "zhou-pass-123")
    assert "/window/" in page.url
    assert dt.date.today()  # the new clerk works at once


def test_inspector_follows_an_overdue_case_to_its_record_chain(page, central_url, app, clock, artifacts):
    from casework.cases import item_snapshot

    central = app.extensions["central"]
    item = central.catalogue().item("BDC002")
    number = central.next_number("case")
    central.act(number, "case.received", window="W53", staff="zhao", item=item_snapshot(item),
                applicant={"type": "person", "name": "赵六"}, materials=[m.name for m in item.materials])
    central.act(number, "case.accepted", window="W53", staff="zhao", due_date="2026-11-27")
    clock.now += dt.timedelta(days=7)
    _login(page, central_url, "xun")
    assert "/supervision/" in page.url
    assert page.inner_text("#kpi-red") == "1"
    page.screenshot(path=artifacts / "inspector_board.png", full_page=True)
    page.click(".kpi.red a")
    page.wait_for_load_state()
    assert page.locator("#cases tr.light-red").count() == 1
    page.click("#cases a:has-text('核验'), #cases a[href*='/verify/']")
    page.wait_for_load_state()
    assert page.locator("#verdict.balance-ok").count() == 1
    page.screenshot(path=artifacts / "inspector_verify.png", full_page=True)
    response = page.goto(central_url + "/supervision/cards")
    assert response.status == 403  # inspectors look; supervisors record the cards
