"""The applicant's rating on the public status page and the supervisor's bad-review pages, in real
Chromium against central served by waitress. Screenshots: test-artifacts/test_reviews_browser/."""

from __future__ import annotations

import datetime as dt

import pytest
from centralkit import CHINA, PASSWORD

from casework.cases import item_snapshot

pytestmark = pytest.mark.browser
PHONE = "13812345678"


def _finished(central, clock, day: dt.date, *, level: int | None = None) -> str:
    clock.now = dt.datetime(day.year, day.month, day.day, 9, 0, tzinfo=CHINA)
    item = central.catalogue().item("BDC001")
    number = central.next_number("case")
    central.act(number, "case.received", window="W52", staff="wang", item=item_snapshot(item),
                applicant={"type": "person", "name": "王小明", "phone": PHONE}, materials=[m.name for m in item.materials])
    central.act(number, "case.accepted", window="W52", staff="wang", due_date="2026-12-10")
    central.act(number, "case.finished", window="W52", staff="wang", outcome="granted")
    if level is not None:
        central.act(number, "case.evaluated", window="W52", staff="wang", level=level, channel="counter",
                    real_name=False, **({"reason": "材料清单与实际要求不一致"} if level <= 2 else {}))
    return number


def test_applicant_rates_on_the_status_page_and_the_supervisor_follows_it_up(page, app, clock, central_url,
                                                                               artifacts):
    central = app.extensions["central"]
    for level in (5, 5, 4, 5, 1):  # earlier ratings of the window: one anonymous bad one
        _finished(central, clock, dt.date(2026, 11, 16), level=level)
    number = _finished(central, clock, dt.date(2026, 11, 25))
    clock.now = dt.datetime(2026, 11, 26, 10, 0, tzinfo=CHINA)
    page.set_default_timeout(8000)

    page.goto(f"{central_url}/status?case={number}")
    page.fill("#phone4", "5678")
    with page.expect_navigation():
        page.click("main form[action$='/status'] button[type=submit]")
    assert page.locator("#rate-form").count() == 1 and "王小明" not in page.content()
    page.screenshot(path=str(artifacts / "status-rate-form.png"), full_page=True)
    page.check("input[name=level][value='2']")
    with page.expect_navigation():
        page.click("#rate-submit")
    assert page.locator("#reason-error").count() == 1
    assert page.locator("input[name=level][value='2']").is_checked()  # what was chosen is kept
    page.screenshot(path=str(artifacts / "status-rate-needs-reason.png"), full_page=True)
    page.fill("#reason", "窗口人员解释不耐心，让我跑了两趟")
    page.check("input[name=real_name]")
    with page.expect_navigation():
        page.click("#rate-submit")
    assert page.locator("#rating-thanks").count() == 1 and PHONE not in page.content()
    page.screenshot(path=str(artifacts / "status-rated.png"), full_page=True)

    page.goto(central_url + "/login")
    page.fill("#username", "li")
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    with page.expect_navigation():
        page.click("nav a[href='/reviews/']")
    assert page.locator("#reviews tbody tr[data-review]").count() == 2
    clock.now = dt.datetime(2026, 11, 24, 10, 0, tzinfo=CHINA)  # the older bad review is now overdue
    page.reload()
    assert page.locator("#reviews tr.light-red").count() == 1
    clock.now = dt.datetime(2026, 11, 26, 10, 0, tzinfo=CHINA)
    page.reload()
    page.screenshot(path=str(artifacts / "reviews-list.png"), full_page=True)
    with page.expect_navigation():
        page.click(f"#reviews a:text('{number}')")
    assert page.locator("#review-status").inner_text() and page.locator("#do-callback").count() == 1
    with page.expect_navigation():
        page.click("#show-phone")
    assert PHONE in page.locator("#review-phone").inner_text()
    page.click("#do-callback summary")
    page.select_option("#reached", "1")
    page.fill("#note", "已致电申请人，了解到材料清单说明不清，已致歉")
    with page.expect_navigation():
        page.click("#do-callback button[type=submit]")
    assert "已致电申请人" in page.locator("#review-timeline").inner_text()
    page.screenshot(path=str(artifacts / "review-page.png"), full_page=True)

    with page.expect_navigation():
        page.click("main a[href='/reviews/satisfaction']")
    assert page.locator("#sat-window tr.light-red").count() == 1
    page.screenshot(path=str(artifacts / "satisfaction.png"), full_page=True)
