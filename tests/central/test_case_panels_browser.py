"""A window case through fees and finishing on the spot on the one case page, in real Chromium against a
real central served by waitress, at 1366x768; the cashier reaches the payment from the same page.

Screenshots (and the print preview) go to test-artifacts/test_case_panels_browser/ for a person to look at.
"""

from __future__ import annotations

import re

import pytest
from centralkit import PASSWORD, sign_in, sign_out

from central import settlement_store

pytestmark = pytest.mark.browser


def _pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


def test_fees_and_finishing_on_the_spot_on_the_unified_page(page, central_url, app, artifacts):
    central = app.extensions["central"]
    sign_in(page, central_url, "wang")
    page.select_option("#window", "W06")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    page.goto(central_url + "/window/intake?item=GA005")   # 临时居民身份证签发: immediate, with a pre-fee
    page.fill("#name", "王小明")
    page.fill("#id_number", "11010519491231002X")
    page.fill("#phone", "13812345678")
    for box in page.locator("input[name=materials]").all():
        box.check()
    with page.expect_navigation():
        page.click("#intake-form button[type=submit]")
    number = page.inner_text("h1 .case-number").strip()
    # the shared page: shared header, facts, materials, actions, timeline, and the window's panels
    for part in ("#facts-h", "#actions-h", "#timeline-h", "#panel-fees", "#action-joint", "#panel-record_chain"):
        assert page.locator(part).count() == 1, part
    assert page.locator("#action-finish_now").count() == 0

    # the fee form: nothing ticked is refused, the form comes back open as it was sent
    page.click("#action-fees summary")
    page.uncheck("input[name=use_F0203]")
    with page.expect_navigation():
        page.click("#action-fees button[type=submit]")
    assert page.locator("#action-fees[open] .field-error").is_visible()
    assert not page.is_checked("input[name=use_F0203]")
    page.screenshot(path=artifacts / "fees_refused.png")
    page.check("input[name=use_F0203]")
    with page.expect_navigation():
        page.click("#action-fees button[type=submit]")
    assert page.locator(".flash-success").count() == 1
    assert page.locator("#payment-notices tbody tr").count() == 1
    assert page.locator(".case-head .tag.bad").is_visible()          # pre-fee unpaid, in the shared header
    page.screenshot(path=artifacts / "fees_issued.png")
    page.screenshot(path=artifacts / "fees_issued_full.png", full_page=True)
    # the payment notice, printed from the fees panel, on one A4 sheet
    with page.expect_navigation():
        page.click("#payment-notices a:has-text('打印')")
    assert "缴款通知单" in page.content()
    [notice] = settlement_store.notices_of_case(central.log.db, number)
    assert notice.number in page.content()
    assert _pdf_pages(page.pdf(path=str(artifacts / "payment_notice.pdf"), format="A4")) == 1
    sign_out(page)

    # the cashier opens the same case page and goes from its fees to the settlement centre
    sign_in(page, central_url, "qian")
    page.goto(central_url + f"/case/{number}")
    assert page.locator("#action-fees, #action-finish_now, #action-joint").count() == 0
    page.screenshot(path=artifacts / "cashier_case.png")
    with page.expect_navigation():
        page.click("#payment-notices a:has-text('结算中心')")
    page.select_option("#method", "cash")
    with page.expect_navigation():
        page.click("#pay-form button[type=submit]")
    assert "缴款收据" in page.content()
    sign_out(page)

    # back at the window: accept, then finish on the spot with the licence, on the unified page
    sign_in(page, central_url, "wang")
    page.select_option("#window", "W06")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    page.goto(central_url + f"/window/case/{number}")                 # an old bookmark: the same page
    assert page.locator("#panel-fees .tag.ok").count() == 1           # paid
    page.click("#action-accepted summary")
    with page.expect_navigation():
        page.click("#action-accepted button[type=submit]")
    assert central.fold(number).status.value == "accepted"
    page.click("#action-finish_now summary")
    page.fill("#action-finish_now input[name=licence_number]", "临证-2026-0001")
    page.uncheck("#action-finish_now input[name=evaluate]")
    page.screenshot(path=artifacts / "finish_now_open.png")
    with page.expect_navigation():
        page.click("#action-finish_now button[type=submit]")
    state = central.fold(number)
    assert state.status.value == "delivered" and state.licence["number"] == "临证-2026-0001"
    assert "临证-2026-0001" in page.inner_text("#facts-h + dl")
    assert page.locator("#action-finish_now, #action-fees").count() == 0
    page.screenshot(path=artifacts / "finished_on_the_spot.png")
    page.screenshot(path=artifacts / "finished_on_the_spot_full.png", full_page=True)

    # the case page printed from the browser: no forms or buttons, on A4
    page.emulate_media(media="print")
    assert not page.locator(".case-actions").is_visible()
    assert not page.locator(".notice-links").is_visible() and not page.locator("#panel-record_chain a").is_visible()
    page.screenshot(path=artifacts / "finished_print_preview.png", full_page=True)
    assert _pdf_pages(page.pdf(path=str(artifacts / "finished_case.pdf"), format="A4")) == 1
    page.emulate_media(media="screen")


def test_accepting_with_a_tolerated_gap_on_the_unified_page(page, central_url, app, artifacts):
    from central.admin_records import sign_staff

    central = app.extensions["central"]
    sign_staff(central, "gao", roles=["window_clerk"], places=["W24"], password=PASSWORD)
    item = central.catalogue().item("ZJJ001")                 # 建筑工程施工许可: one material may come later
    gap = next(m.name for m in item.materials if m.gap_allowed)
    sign_in(page, central_url, "gao")
    page.goto(central_url + "/window/intake?item=ZJJ001")
    page.select_option("#applicant_type", "organisation")
    page.fill("#name", "如皋某建设有限公司")
    page.fill("#id_number", "91350100M000100Y43")
    for box in page.locator("input[name=materials]").all():
        if box.get_attribute("value") != gap:
            box.check()
    with page.expect_navigation():
        page.click("#intake-form button[type=submit]")
    number = page.inner_text("h1 .case-number").strip()
    page.click("#action-tolerated_gap summary")
    assert page.is_checked(f"#action-tolerated_gap input[name=gap][value='{gap}']")
    with page.expect_navigation():                            # who signed the commitment is required
        page.evaluate("document.querySelector('#action-tolerated_gap form').noValidate = true")
        page.click("#action-tolerated_gap button[type=submit]")
    assert page.locator("#action-tolerated_gap[open] #gap_signed_by-error").is_visible()
    page.screenshot(path=artifacts / "tolerated_gap_refused.png")
    page.fill("#gap_signed_by", "张经理")
    with page.expect_navigation():
        page.click("#action-tolerated_gap button[type=submit]")
    state = central.fold(number)
    assert state.status.value == "accepted" and state.gap.materials == (gap,) and state.gap.signed_by == "张经理"
    assert page.locator("#action-tolerated_gap").count() == 0 and "张经理" in page.inner_text("#facts-h + dl")
    page.screenshot(path=artifacts / "tolerated_gap_accepted.png")
