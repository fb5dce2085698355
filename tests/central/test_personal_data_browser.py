"""Personal data in real Chromium against a real central served by waitress: a window clerk shows an ID in
full with a reason (refused first without one, the form kept), the supervisor reviews who looked at
whose data, and the administrator's retention page refuses logs kept under six months.

Screenshots go to test-artifacts/test_personal_data_browser/ for a person to look at."""

from __future__ import annotations

import pytest
from centralkit import PASSWORD

pytestmark = pytest.mark.browser
ID = "11010519491231002X"


def _login(page, url: str, username: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    page.set_default_timeout(8000)
    page.goto(url + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def _logout(page) -> None:  # type: ignore[no-untyped-def]
    page.click(".logout-form button")
    page.wait_for_load_state()


def test_unmask_with_a_reason_then_the_access_review(page, central_url, app, artifacts) -> None:  # type: ignore[no-untyped-def]
    central = app.extensions["central"]
    _login(page, central_url, "wang")
    page.select_option("#window", "W06")
    page.click("main button[type=submit]")
    page.goto(central_url + "/window/intake?item=GA005")
    page.fill("#name", "王小明")
    page.fill("#id_number", ID)
    page.fill("#phone", "13812345678")
    for box in page.locator("input[name=materials]").all():
        box.check()
    page.click("#intake-form button[type=submit]")
    page.wait_for_load_state()
    number = page.locator("h1").inner_text().split()[0]
    assert ID not in page.content() and "110105********002X" in page.inner_text("#number-id")

    page.click("#number-id summary")
    page.select_option("#reason-id", "other")             # "other" needs the reason written
    page.click("#number-id button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#reason-text-id-error").is_visible() and ID not in page.content()
    assert page.input_value("#reason-id") == "other"      # what was chosen is kept
    page.screenshot(path=artifacts / "unmask_refused.png", full_page=True)
    page.fill("#reason-text-id", "申请人要求核对证件号码")
    page.click("#number-id button[type=submit]")
    page.wait_for_load_state()
    assert page.inner_text("#number-id .revealed") == ID
    page.screenshot(path=artifacts / "unmask_shown.png")
    page.reload()              # reloading resends the form: shown again, so recorded again
    assert page.inner_text("#number-id .revealed") == ID
    page.goto(central_url + f"/window/case/{number}")       # any other view is masked again
    assert ID not in page.content()
    page.goto(central_url + f"/window/case/{number}/notice/receipt")
    _logout(page)

    _login(page, central_url, "li")
    page.goto(central_url + "/supervision/access")
    rows = page.locator("#access-rows tbody tr")
    assert rows.count() == 3 and "申请人要求核对证件号码" in page.inner_text("#access-rows")
    page.screenshot(path=artifacts / "access_review.png", full_page=True)
    page.select_option("#action", "print_notice")
    page.click(".access-filter button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#access-rows tbody tr").count() == 1 and "action=print_notice" in page.url
    with page.expect_download() as download:
        page.click("text=导出 Excel")
    assert download.value.suggested_filename.startswith("access-")
    assert [r.body["action"] for r, _ in central.records_of_kind("access.logged")][-1] == "export"
    page.goto(central_url + f"/case/{number}")
    page.click("#number-phone summary")
    page.select_option("#reason-phone", "supervision")
    page.click("#number-phone button[type=submit]")
    page.wait_for_load_state()
    assert page.inner_text("#number-phone .revealed") == "13812345678"
    _logout(page)

    _login(page, central_url, "admin", "admin-pass-1")
    page.goto(central_url + "/admin/retention")
    page.fill("#ops_log_days", "90")
    page.fill("#note", "试图缩短日志保存期")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#ops_log_days-error").is_visible() and page.input_value("#ops_log_days") == "90"
    assert page.input_value("#note") == "试图缩短日志保存期"
    page.screenshot(path=artifacts / "retention_refused.png", full_page=True)
    page.fill("#ops_log_days", "365")
    page.fill("#sms_days", "15")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert "第 1 版已发布" in page.content()
    page.screenshot(path=artifacts / "retention_published.png", full_page=True)
