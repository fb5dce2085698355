"""Scorecard versions and corrections in real Chromium against a real central served by waitress: the
supervisor revises a clause through the form (check, then sign), files a correction of the published quarter
with its evidence, a second supervisor approves it, and the public bulletin shows the quarter as corrected
on one A4 page; after a corrected quarter the awards page asks for a review of the year's decision.

Screenshots go to test-artifacts/test_corrections_browser/ for a person to look at.
"""

from __future__ import annotations

import re
import subprocess

import pytest
from assessmentkit import Q3, photo
from centralkit import sign_in, sign_out
from correctionkit import (
    ADMIN_PASSWORD,
    decide,
    decide_year,
    file_correction,
    published_q3,
    second_supervisor,
)
from test_awards_pages import year  # noqa: F401  (the fixture: four published quarters of 2026)

from central import assessment_store, correction_store, scorecard_store

pytestmark = pytest.mark.browser


_login, _logout = sign_in, sign_out   # the shared real-form sign-in (centralkit)


def _fits(page) -> None:
    """Nothing wider than the 1366 px screen (no sideways scrolling)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366, width


def test_revise_the_scorecard_then_correct_a_published_quarter(page, browser, central_url, app, artifacts, tmp_path):
    q3 = published_q3(app)
    central = q3["central"]
    slip = tmp_path / "请假审批单.png"
    slip.write_bytes(photo("#2e86c1", (900, 640)))

    _login(page, central_url, "li")
    page.goto(central_url + "/assessment/scorecards/")
    page.screenshot(path=artifacts / "versions_one.png", full_page=True)
    page.click("#new-version")
    page.wait_for_load_state()
    _fits(page)
    page.fill("#p0c0_points", "2")
    page.fill("#p0c0_cap", "8")
    page.fill("#p2c3_code", "I04")  # a new clause in an empty row of 服务创新
    page.fill("#p2c3_text", "创新举措未报中心备案")
    page.fill("#p2c3_points", "abc")  # refused beside its field, everything kept
    page.fill("#note", "如政服〔2026〕18号：修订分中心管理考核办法")
    page.click("#check-button")
    page.wait_for_load_state()
    assert page.locator("#p2c3_points-error").is_visible()
    assert page.input_value("#p2c3_text") == "创新举措未报中心备案" and page.input_value("#p0c0_points") == "2"
    page.screenshot(path=artifacts / "revision_refused.png", full_page=True)
    page.fill("#p2c3_points", "2")
    page.fill("#p2c3_cap", "4")
    page.click("#check-button")
    page.wait_for_load_state()
    changes = page.locator("#check-changes tbody tr")
    assert changes.count() == 3  # R01 points, R01 cap, I04 added
    page.screenshot(path=artifacts / "revision_checked.png", full_page=True)
    page.click("#sign-button")
    page.wait_for_load_state()
    assert re.search(r"/assessment/scorecards/2$", page.url)
    assert scorecard_store.get(central.log.db, 2).card.deduction("I04").cap == 4
    page.screenshot(path=artifacts / "version_two.png", full_page=True)
    _fits(page)

    # the published quarter: correct S01's finding, with the leave slip as evidence
    entry = q3["entries"]["S01"]
    page.goto(central_url + f"/assessment/{Q3}/unit/S01")
    page.click(f"#entry-{entry.id[:16]} a.correct-entry")
    page.wait_for_load_state()
    assert page.input_value("#entry") == entry.id and page.is_checked("#op-withdraw")
    page.fill("#reason", "经复核，当日两名工作人员已按规定请假，撤销该项扣分")
    page.set_input_files("#evidence", str(slip))
    page.screenshot(path=artifacts / "correction_form.png", full_page=True)
    page.click("#file-button")
    page.wait_for_load_state()
    assert page.locator("#withdraw-button").count() == 1 and page.locator("#approve-button").count() == 0
    assert page.locator("#effect-S01").count() == 1
    page.screenshot(path=artifacts / "correction_pending.png", full_page=True)
    _logout(page)

    _login(page, central_url, "admin", ADMIN_PASSWORD)
    page.goto(central_url + "/assessment/corrections")
    page.screenshot(path=artifacts / "corrections_waiting.png", full_page=True)
    page.click("#waiting a.button")
    page.wait_for_load_state()
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#approve-button")
    page.wait_for_load_state()
    (c,) = correction_store.of_subject(central.log.db, "quarter", Q3)
    assert c.approved and c.decided_staff == "admin"
    page.goto(page.url.split("?")[0] + "?lang=en")
    assert "Approved" in page.locator(".correction-state").first.inner_text()
    page.screenshot(path=artifacts / "correction_approved_en.png", full_page=True)
    page.goto(central_url + f"/assessment/{Q3}?lang=zh")
    page.goto(central_url + f"/assessment/{Q3}")
    assert page.locator("#corrected-state").is_visible()
    assert page.locator("#unit-S01 del.was").count() >= 2
    page.screenshot(path=artifacts / "quarter_corrected.png", full_page=True)
    _fits(page)

    public = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN").new_page()
    public.goto(central_url + f"/bulletin/{Q3}")
    note = public.locator("p.correction-note")
    assert note.count() == 1 and "撤销该项扣分" in note.inner_text() and "更正" in note.inner_text()
    assert public.locator("#bulletin-table tr.corrected").count() >= 1
    public.screenshot(path=artifacts / "bulletin_corrected.png", full_page=True)
    pdf = artifacts / "bulletin_corrected.pdf"
    public.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M), info
    public.goto(central_url + f"/bulletin/{Q3}?lang=en")
    assert "Correction" in public.locator("p.correction-note").inner_text()
    public.context.close()


def test_the_awards_ask_for_review_after_a_quarter_is_corrected(page, central_url, app, year, artifacts,  # noqa: F811
                                                               tmp_path):
    li, central = year["li"], year["central"]
    decide_year(app, li)
    s03 = assessment_store.entries(central.log.db, "2026-Q4", "S03")[0]
    path = file_correction(li, "2026-Q4", unit="S03", op="withdraw", entry=s03.id,
                           reason="复核：迟到系考勤机故障").headers["Location"]
    assert decide(second_supervisor(app), path).status_code == 302
    _login(page, central_url, "li")
    page.goto(central_url + "/awards/2026")
    assert page.locator("#review-needed").is_visible()
    assert page.locator("#standings-compare tr.changed").count() >= 1
    page.screenshot(path=artifacts / "awards_review_needed.png", full_page=True)
    _fits(page)
    page.click("#new-year-correction")
    page.wait_for_load_state()
    page.uncheck("#collectives input[value=S02]")
    page.check("#collectives input[value=S03]")
    page.fill("#reason", "主任办公会复核：第四季度考核更正后，先进集体改授S03")
    minutes = tmp_path / "主任办公会纪要.png"
    minutes.write_bytes(photo("#7d3c98", (700, 900)))
    page.set_input_files("#evidence", str(minutes))
    page.screenshot(path=artifacts / "awards_correction_form.png", full_page=True)
    page.click("#file-button")
    page.wait_for_load_state()
    assert page.locator("#lists-compare tr.changed").count() == 1
    page.screenshot(path=artifacts / "awards_correction_pending.png", full_page=True)
    assert decide(second_supervisor(app), page.url.split(central_url, 1)[1]).status_code == 302
    page.goto(central_url + "/awards/2026/result")
    assert "S03" not in page.locator("#result-collectives").inner_text()  # names, not codes
    assert page.locator("#corrections-note").is_visible()
    page.screenshot(path=artifacts / "awards_result_corrected.png", full_page=True)
    pdf = artifacts / "awards_result_corrected.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M), info
    page.goto(central_url + "/awards/2026?lang=en")
    assert page.locator("#as-corrected").is_visible() and page.locator("#review-needed").count() == 0
    page.screenshot(path=artifacts / "awards_as_corrected_en.png", full_page=True)
